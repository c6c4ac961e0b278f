"""The ``knowforge`` command line: the groups, chaining, error lines; the commands are generated.

Every command comes from a table beside the library it drives (``corpus/commands.py``,
``instruct/commands.py``, ``kg2instruction/commands.py``), its options from the fields of the library
dataclasses it sets (``corpus/options.py``). The ``instruct`` and ``kg2instruction`` tables are imported
when one of their commands is looked up, so ``knowforge --help`` stays fast. ``knowforge corpus`` is a
chained group: each stage can run alone with ``-i/-o`` or feed the next stage through a work directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from corpus import __version__
from corpus.commands import CHAIN_OPTIONS, DEFAULT_WORKERS
from corpus.errors import error_line
from corpus.options import Command, Opt, params

DEBUG_ENV = "KNOWFORGE_DEBUG"  # set to 1 (or pass --debug) to see tracebacks instead of one line

PARAMS_KEY = "knowforge.params"  # ctx.meta: the parameters of every command invoked, for error messages
OUTPUT_PARAMS = ("output", "output_path", "output_dir", "model_out", "out_prefix", "work_dir")


class _RecordedCommand(click.Command):
    """A command that leaves its parameters in ``ctx.meta`` (shared by the whole context chain), so an
    OS error without a file name (ENOSPC on a write) can still name the output being written."""

    def invoke(self, ctx: click.Context):
        ctx.meta.setdefault(PARAMS_KEY, []).append(ctx.params)
        return super().invoke(ctx)


class _Group(click.Group):
    """Groups whose commands record their parameters (see ``_RecordedCommand``), generated from the
    command tables named in ``tables`` (``"module:ATTR"``) when a command is first looked up."""

    command_class = _RecordedCommand
    group_class = type  # subgroups are of the same class

    def __init__(self, *args, tables: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tables = list(tables)

    def load(self) -> None:
        """Generate the commands of the tables not loaded yet."""
        from importlib import import_module

        from corpus.options import add_commands

        while self.tables:
            module, _, attr = self.tables.pop(0).partition(":")
            add_commands(self, getattr(import_module(module), attr))

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self.load()
        return super().get_command(ctx, cmd_name)


def _outputs(ctx: click.Context) -> list[str]:
    values = [params.get(name) for params in ctx.meta.get(PARAMS_KEY, []) for name in OUTPUT_PARAMS]
    return [str(v) for v in values if v]


class SetupError(click.ClickException):
    """A mistake in the options, paths or YAML, found before any work: one ``Error:`` line, exit 2 (usage)."""

    exit_code = 2


class KnowforgeGroup(_Group):
    """The top-level group: a user's mistake or an OS error ends in one line, not a traceback.

    Click's own errors keep their exit code (2 for usage); a ConfigError is a usage error (2); any
    other exception is a runtime error (1). ``--debug`` or KNOWFORGE_DEBUG=1 re-raises instead.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Click's ``main``, but a usage error is one line too: ``Error: ... (see CMD --help)``, exit 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as err:
            where = f" (see '{err.ctx.command_path} --help')" if err.ctx is not None else ""
            click.echo(f"Error: {' '.join(err.format_message().split())}{where}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        # Without standalone mode click returns the exit code of a ctx.exit() (e.g. --help) as an int.
        sys.exit(result if isinstance(result, int) else 0)

    group_class = _Group  # the handler wraps the whole run once, here

    def invoke(self, ctx: click.Context):
        from corpus.steps import ConfigError

        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            if ctx.params.get("debug") or os.environ.get(DEBUG_ENV):
                raise
            if isinstance(err, BrokenPipeError):
                raise  # `knowforge ... | head`: click exits quietly
            if isinstance(err, ConfigError):
                raise SetupError(" ".join(str(err).split())) from None
            line = error_line(err)
            if isinstance(err, OSError) and err.filename is None and _outputs(ctx):
                line = f"writing {' / '.join(_outputs(ctx))}: {line}"  # a write error names no file
            click.echo(f"Error: {line}  (--debug shows the traceback)", err=True)
            ctx.exit(1)


@click.group(cls=KnowforgeGroup, tables=("corpus.commands:PIPELINE_COMMANDS",),
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="knowforge")
@click.option("--debug", is_flag=True, help=f"Show a traceback on errors (or set {DEBUG_ENV}=1).")
def main(debug: bool) -> None:
    """knowforge: pretraining corpora and instruction data for Chinese-English knowledge LLMs.

    \b
    Start here:
      knowforge demo -o out/demo            run the whole pipeline on data_samples/
      knowforge corpus --help               pretraining-corpus stages (chainable)
      knowforge instruct --help             IE instructions, translation, SFT data
      knowforge run configs/pretrain_zh.yaml   run a pipeline written in YAML
    """


# ----------------------------------------------------------------------------------------------
# corpus: chained stages
# ----------------------------------------------------------------------------------------------


class ChainGroup(_Group):
    """``knowforge corpus``: run options (``--workers``, ``--force``, ``--quiet``) also work after a stage
    name, where users put them (``corpus clean -i DIR --force``); they apply to the whole chain."""

    RUN_FLAGS = ("--force", "--quiet", "--no-fuse")
    RUN_OPTIONS = ("--workers",)  # take a value
    # The group's options that take a value: what follows one is its value, not a stage name (-w clean).
    VALUE_OPTIONS = tuple(flag for p in params(CHAIN_OPTIONS) if not p.is_flag for flag in p.click_option().opts)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        self.load()
        first, i = len(args), 0
        while i < len(args):  # the first stage name that is not the value of a group option
            if args[i] in self.commands:
                first = i
                break
            i += 2 if args[i] in self.VALUE_OPTIONS else 1
        head, tail, moved = list(args[:first]), [], []
        rest = iter(args[first:])
        for arg in rest:
            if arg in self.RUN_FLAGS:
                moved.append(arg)
            elif arg in self.RUN_OPTIONS:
                moved.extend([arg, next(rest, "")])
            elif arg.split("=", 1)[0] in self.RUN_OPTIONS and "=" in arg:
                moved.append(arg)
            else:
                tail.append(arg)
        return super().parse_args(ctx, head + moved + tail)


@main.group(chain=True, cls=ChainGroup, tables=("corpus.commands:CORPUS_COMMANDS",),
            params=[p.click_option() for p in params(CHAIN_OPTIONS)])
def corpus(work_dir: Path, workers: int, force: bool, quiet: bool, no_fuse: bool, engine: str,
           ray_address: str | None) -> None:
    """Pretraining-corpus stages. Chain them in one command, e.g.

    \b
      knowforge corpus -w work read --source jsonl -i raw/ clean dedup-exact stats

    Each stage reads a directory of shards and writes one with the same shard names, plus
    rejected/ (every dropped document and why), _stats/, _done/ and _manifest.json.
    A rerun skips shards already done with the same settings, so a killed run resumes where it
    stopped; shards made with other options or inputs are redone, and the run says so.
    --workers, --force, --quiet and --no-fuse may also follow a stage name.
    """


@corpus.result_callback()
def _run_corpus_chain(calls, work_dir: Path, workers: int, force: bool, quiet: bool, no_fuse: bool, engine: str,
                      ray_address: str | None) -> None:
    from corpus.pipeline import ConfigError, run_pipeline, summary_table

    stages = [call for call in calls if call is not None]
    if not stages:  # only standalone commands (report, inspect, merge, score-train): they printed already
        return
    try:
        reports = run_pipeline(stages, work_dir=work_dir, workers=workers, force=force, progress=not quiet,
                               engine=engine, ray_address=ray_address, fuse=not no_fuse)
    except ConfigError as err:
        raise SetupError(str(err)) from None
    click.echo(summary_table(reports))


@main.group(tables=("corpus.commands:TOKENIZER_COMMANDS",))
def tokenizer() -> None:
    """Train or extend SentencePiece tokenizers for Chinese-English corpora."""


@main.group(tables=("instruct.commands:COMMANDS",))
def instruct() -> None:
    """Instruction data: IE datasets to instructions, translation with an LLM, SFT files."""


@main.group(tables=("kg2instruction.commands:COMMANDS",))
def kg2instruction() -> None:
    """KG2Instruction: Wikidata triples matched onto Chinese and English Wikipedia as IE instruction data."""


# ----------------------------------------------------------------------------------------------
# pipelines
# ----------------------------------------------------------------------------------------------

def demo(output: Path, workers: int, force: bool, quiet: bool) -> None:
    """Run configs/demo.yaml on data_samples/ (offline, no API key) and print what each stage did.

    Then build IE instructions, KG2Instruction records and SFT data from the samples.
    """
    from corpus.demo import run_demo
    from instruct.demo import run_ie_demo
    from instruct.sft.demo import run_sft_demo
    from kg2instruction.demo import run_kg_demo

    if quiet:
        import datasets

        datasets.disable_progress_bars()
    output = output.resolve()
    run_demo(output, workers=workers, force=force, progress=not quiet, echo=click.echo)
    click.echo("\nIE datasets to instructions (data_samples/ie)")
    run_ie_demo(output / "ie", click.echo)
    run_kg_demo(output / "kg2instruction", click.echo, workers=workers)
    click.echo("\nSFT data: selection and tokenisation with prompt masking (data_samples/instruct)")
    run_sft_demo(output / "sft", click.echo)
    click.echo(f"\nEverything is under {output}. Translation and generation need an LLM endpoint: "
               "see docs/translation.md and docs/generation.md.")


DEMO = Command("demo", demo, {
    "output": Opt("Directory for every stage's output.", flags=("-o", "--output"), default=Path("out/demo"),
                  type=click.Path(file_okay=False, path_type=Path)),
    "workers": Opt("", type=click.IntRange(min=1), default=DEFAULT_WORKERS),
    "force": Opt("Redo everything instead of resuming.", type=bool, default=False),
    "quiet": Opt("No progress bars.", type=bool, default=False),
})
main.add_command(DEMO.click_command(main.command_class))


if __name__ == "__main__":
    sys.exit(main())
