"""The ``knowforge`` command line: parses options, builds library objects, runs them.

Commands are thin: every one calls into ``corpus``, ``instruct`` or ``kg2instruction``.
Heavy libraries are imported inside the commands so that ``knowforge --help`` stays fast.
``knowforge corpus`` is a chained group: each stage can run alone with ``-i/-o`` or feed the
next stage through a work directory.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

import click

from corpus import __version__
from corpus.steps import READERS

DEFAULT_WORKERS = os.cpu_count() or 1
DEBUG_ENV = "KNOWFORGE_DEBUG"  # set to 1 (or pass --debug) to see tracebacks instead of one line

# Hints for the OS errors a run meets on the way (disk full, permissions, read-only mounts).
OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full: free space or write elsewhere (-o / -w)",
    errno.EDQUOT: "the disk quota is exhausted: free space or write elsewhere (-o / -w)",
    errno.EACCES: "permission denied: choose a directory you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a directory you can write to",
    errno.EROFS: "the file system is read-only: write elsewhere (-o / -w)",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "a directory is where a file was expected",
    errno.ENOTDIR: "a file is where a directory was expected",
}


def _os_error_line(err: OSError) -> str:
    """``PATH: cause (hint)`` for an OS error, e.g. ``out/part-00000.jsonl.zst: No space left on device``."""
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    cause = err.strerror or str(err)
    hint = OS_ERROR_HINTS.get(err.errno or 0)
    text = f"{where}: {cause}" if where else cause
    return f"{text} ({hint})" if hint and hint.lower() != cause.lower() else text


def error_line(err: BaseException) -> str:
    """One line saying what went wrong: the OS error (path and cause) under any wrapper, else the message.

    A stage's failure keeps its stage and shard (StageError's message) and adds the OS cause if any.
    """
    from corpus.runner import StageError

    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError) and cause.errno is not None:
        # "stage pack failed on IN (part-00000): " names where; the OS error says what and why.
        where = str(err).split("): ", 1)[0] + "): " if isinstance(err, StageError) and "): " in str(err) else ""
        return where + _os_error_line(cause)
    text = str(err) or type(err).__name__
    if not isinstance(err, StageError | ValueError) or not str(err):
        text = f"{type(err).__name__}: {text}"
    return " ".join(text.split())


PARAMS_KEY = "knowforge.params"  # ctx.meta: the parameters of every command invoked, for error messages
OUTPUT_PARAMS = ("output", "output_path", "output_dir", "model_out", "out_prefix", "work_dir")


class _RecordedCommand(click.Command):
    """A command that leaves its parameters in ``ctx.meta`` (shared by the whole context chain), so an
    OS error without a file name (ENOSPC on a write) can still name the output being written."""

    def invoke(self, ctx: click.Context):
        ctx.meta.setdefault(PARAMS_KEY, []).append(ctx.params)
        return super().invoke(ctx)


class _Group(click.Group):
    """Groups whose commands record their parameters (see ``_RecordedCommand``)."""

    command_class = _RecordedCommand
    group_class = type  # subgroups are of the same class


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


@click.group(cls=KnowforgeGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


def io_options(func):
    """Add the ``-i/--input`` and ``-o/--output`` options every corpus stage takes."""
    func = click.option(
        "-o",
        "--output",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Output directory. Default: WORK_DIR/NN-STAGE when chained.",
    )(func)
    func = click.option(
        "-i",
        "--input",
        "inputs",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="Input directory of shards (or raw files for `read`); repeatable. "
        "Default: the previous stage's output.",
    )(func)
    return func


def engine_options(func):
    """Add ``--engine local|ray`` and ``--address``, shared by ``knowforge corpus`` and ``knowforge run``."""
    func = click.option(
        "--address", "ray_address", default=None,
        help="--engine ray: 'auto' (a `ray start` cluster) or ray://HOST:10001; default: a local Ray.",
    )(func)
    return click.option(
        "--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
        help="local: --workers processes; ray: a Ray cluster (needs the [ray] extra), same output.",
    )(func)


NO_FUSE_HELP = ("Run each per-document stage (clean, filter, pii, ...) on its own and write its kept documents; "
                "by default consecutive ones share one pass and only the last writes them (same bytes).")


class ChainGroup(_Group):
    """``knowforge corpus``: run options (``--workers``, ``--force``, ``--quiet``) also work after a stage
    name, where users put them (``corpus clean -i DIR --force``); they apply to the whole chain."""

    RUN_FLAGS = ("--force", "--quiet", "--no-fuse")
    RUN_OPTIONS = ("--workers",)  # take a value

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first, i = len(args), 0
        while i < len(args):  # the first stage name that is not the value of a group option (-w clean)
            if args[i] in self.commands:
                first = i
                break
            i += 2 if args[i] in ("-w", "--work-dir", "--workers", "--engine", "--address") else 1
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


@main.group(chain=True, cls=ChainGroup)
@click.option(
    "-w",
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("knowforge-work"),
    show_default=True,
    help="Where chained stages write their outputs (WORK_DIR/01-read, 02-clean, ...).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=DEFAULT_WORKERS,
    show_default=True,
    help="Worker processes; output is byte-identical for any count.",
)
@click.option("--force", is_flag=True, help="Redo shards already marked done in _done/.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--no-fuse", is_flag=True, help=NO_FUSE_HELP)
@engine_options
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


# --- corpus stage commands (foundation) ---


@corpus.command("read")
@io_options
@click.option(
    "--source",
    required=True,
    type=click.Choice(sorted(READERS)),
    help="Input format of the raw files.",
)
@click.option("--text-field", default=None, help="jsonl/parquet: field holding the text (default: text).")
@click.option("--id-field", default=None, help="jsonl/parquet: field holding a stable id (default: id).")
@click.option("--lang", default=None, help="wiki: dump language (zh or en); default from the file name.")
@click.option("--name", "source_name", default=None, help="Value of the `source` field (default: --source).")
@click.option("--namespaces", default=None, help="wiki: comma-separated namespace numbers to read (default: 0).")
@click.option("--keep-redirects", is_flag=True, default=None, help="wiki: emit redirects (text = target title).")
@click.option("--opencc", default=None, help="wiki: OpenCC config (default auto: t2s for zh; 'none' to keep).")
@click.option("--tables", type=click.Choice(["drop", "rows"]), default=None,
              help="wiki: drop tables with their lead-in sentence (default) or keep them as text rows.")
@click.option("--math", type=click.Choice(["latex", "placeholder", "drop"]), default=None,
              help="wiki: <math> as $LaTeX$ (default), as a placeholder, or dropped.")
@click.option("--doocs-lang", type=click.Choice(["en", "zh"]), default=None, help="leetcode: doocs README language.")
@click.option("--solution-ext", default=None, help="leetcode: doocs Solution.<ext> to include (default: py).")
def read_cmd(inputs, output, source, text_field, id_field, lang, source_name, namespaces, keep_redirects, opencc,
             tables, math, doocs_lang, solution_ext):
    """Read raw files into document shards (one output shard per input file)."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_reader

    options = {"text_field": text_field, "id_field": id_field, "lang": lang, "source_name": source_name,
               "keep_redirects": keep_redirects, "opencc": opencc, "tables": tables, "math": math,
               "doocs_lang": doocs_lang,
               "solution_ext": solution_ext,
               "namespaces": tuple(int(n) for n in namespaces.split(",")) if namespaces else None}
    reader = build_reader(source, {k: v for k, v in options.items() if v is not None})
    return StageCall(stage=reader, inputs=list(inputs), output=output)


@corpus.command("clean")
@io_options
@click.option("--opencc", default=None, help="OpenCC conversion for every document, e.g. t2s.")
@click.option("--no-nfkc", is_flag=True, help="Keep full-width forms (no Unicode NFKC).")
@click.option("--keep-markup", is_flag=True, help="Keep leftover HTML tags and entities.")
@click.option("--keep-navigation", is_flag=True, help='Keep navigation lines such as "返回顶部".')
def clean_cmd(inputs, output, opencc, no_nfkc, keep_markup, keep_navigation):
    """Normalise text: widths (Chinese punctuation kept), markup, controls, whitespace; code is never reflowed."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    options = {"opencc": opencc, "nfkc": not no_nfkc, "strip_markup": not keep_markup,
               "drop_navigation": not keep_navigation}
    return StageCall(build_step("clean", options), list(inputs), output)


@corpus.command("dedup-exact")
@io_options
@click.option("--source-priority", multiple=True, help="Source kept first among equal texts; repeatable, in order.")
def dedup_exact_cmd(inputs, output, source_priority):
    """Drop documents whose normalised text was seen before (keeps the first by source priority, shard, line)."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    return StageCall(build_step("dedup-exact", {"source_priority": tuple(source_priority)}), list(inputs), output)


@corpus.command("stats")
@io_options
def stats_cmd(inputs, output):
    """Count documents, characters and bytes per source; passes documents through unchanged."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    return StageCall(build_step("stats", {}), list(inputs), output)


# --- corpus stage commands (sources) ---

# --- corpus stage commands (filters) ---


@corpus.command("filter")
@io_options
@click.option("--config", default="configs/filters/mixed.yaml", show_default=True,
              help="Filter YAML: `filters:` for one chain, or `route:` per zh/en/code (see configs/filters/).")
@click.option("--annotate", is_flag=True, help="Score with every filter into meta.scores; drop nothing.")
def filter_cmd(inputs, output, config, annotate):
    """Quality, language and harmful-content filters; every drop goes to rejected/ with its reason."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    return StageCall(build_step("filter", {"config": config, "annotate": annotate}), list(inputs), output)


@corpus.command("pii")
@io_options
@click.option("--kinds", default="email,id_cn,bank_card,phone,ip", show_default=True,
              help="Comma-separated kinds of personal data to mask.")
def pii_cmd(inputs, output, kinds):
    """Mask emails, phones, Chinese IDs (checksum), bank cards (Luhn) and IPs with <TYPE> placeholders."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    return StageCall(build_step("pii", {"kinds": [k.strip() for k in kinds.split(",") if k.strip()]}),
                     list(inputs), output)


@corpus.command("report")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the HTML page of score histograms. Default: DIRECTORY/_report.html.")
def report_cmd(directory: Path, html_path):
    """Print the drop table of a stage output (or of every stage of a work directory), with thresholds
    and example documents per reason, and write an HTML page of score histograms."""
    from corpus.report import collect, drop_table, is_stage_dir, stage_dirs, write_html

    stages = [directory] if is_stage_dir(directory) or not stage_dirs(directory) else stage_dirs(directory)
    if len(stages) > 1 and html_path is not None:
        raise SetupError(f"{directory} is a work directory of {len(stages)} stages: --html takes one stage's "
                         "directory; without it each stage gets its own _report.html")
    for stage in stages:
        try:
            report = collect(stage)
        except FileNotFoundError as err:  # not a stage directory: the user's mistake, said in one line
            raise SetupError(str(err)) from None
        if stage != directory:
            click.echo(f"== {stage.name}")
        click.echo(drop_table(report))
        click.echo(f"histograms: {write_html(report, html_path or stage / '_report.html')}")


@corpus.command("show")
@click.argument("doc_id")
@click.argument("work_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def show_cmd(doc_id: str, work_dir: Path):
    """Print one document's fate through every stage of WORK_DIR: read, kept, changed, or dropped and why."""
    from corpus.report import document_fate

    try:
        lines = document_fate(work_dir, doc_id)
    except (FileNotFoundError, LookupError) as err:
        raise SetupError(str(err).strip("'\"")) from None
    click.echo("\n".join(lines))

# --- corpus stage commands (dedup) ---


@corpus.command("dedup-lines")
@io_options
@click.option("--min-docs", type=click.IntRange(min=2), default=10, show_default=True,
              help="A line found in at least this many documents is boilerplate.")
@click.option("--min-chars", type=click.IntRange(min=1), default=10, show_default=True,
              help="Shorter lines (normalised) are never removed: headings and list markers recur.")
def dedup_lines_cmd(inputs, output, min_docs, min_chars):
    """Remove lines repeated across many documents (footers, navigation); documents left empty are rejected."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    return StageCall(build_step("dedup-lines", {"min_docs": min_docs, "min_chars": min_chars}), list(inputs), output)


@corpus.command("dedup")
@io_options
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.8,
              show_default=True, help="Jaccard similarity of shingle sets at which documents are duplicates.")
@click.option("--num-perm", type=click.IntRange(min=1), default=128, show_default=True,
              help="MinHash signature length.")
@click.option("--ngram", type=click.IntRange(min=1), default=None,
              help="CJK character n-gram size (default 5, see docs/dedup.md).")
@click.option("--word-ngram", type=click.IntRange(min=1), default=None, help="Word n-gram size for other scripts (default 5).")
@click.option("--bands", type=click.IntRange(min=1), default=None, help="LSH bands (with --rows); default derived.")
@click.option("--rows", type=click.IntRange(min=1), default=None, help="LSH rows per band (with --bands).")
@click.option("--minhash", type=click.Choice(["fast", "classic"]), default="fast", show_default=True,
              help="fast: one-permutation hashing; classic: datasketch-identical k permutations.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Confirm candidates with exact shingle Jaccard; --no-verify uses the MinHash estimate.")
@click.option("--annotate", is_flag=True, help="Only mark duplicates in meta.minhash; reject nothing.")
@click.option("--source-priority", multiple=True, help="Source kept first within a cluster; repeatable, in order.")
def dedup_cmd(inputs, output, threshold, num_perm, ngram, word_ngram, bands, rows, minhash, verify, annotate,
              source_priority):
    """Remove near-duplicate documents with MinHash LSH (Chinese-aware shingles); keeps one per cluster."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    options = {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "word_ngram": word_ngram,
               "bands": bands, "rows": rows, "minhash": minhash, "verify": verify, "annotate": annotate,
               "source_priority": tuple(source_priority)}
    return StageCall(build_step("dedup", {k: v for k, v in options.items() if v is not None}), list(inputs), output)

# --- corpus stage commands (pack) ---

# --- corpus stage commands (scoring) ---


@corpus.command("score")
@io_options
@click.option("--scorer", type=click.Choice(["ppl"]), default="ppl", show_default=True,
              help="ppl: per-character perplexity under our n-gram models (no fastText classifier here).")
@click.option("--model", "model_path", default=None,
              help="Model: a .json.gz from `corpus score-train`, or a directory of KenLM models (<lang>.arpa or "
                   "<lang>.bin, CCNet's <lang>.sp.model beside them; needs the [kenlm] extra). Default: "
                   "data_samples/score/char-ngram.json.gz.")
@click.option("--buckets", default=None,
              help="Comma-separated bucket names, best first (e.g. head,middle,tail): per-language perplexity "
              "quantiles, written to OUT/<bucket>/.")
@click.option("--quantiles", default=None, help="Cut points for the buckets, e.g. 0.3,0.6 (default: equal parts).")
def score_cmd(inputs, output, scorer, model_path, buckets, quantiles):
    """Score documents into meta.scores.ppl and optionally split them into quality buckets."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    options = {"scorer": scorer, "buckets": tuple(b.strip() for b in buckets.split(",")) if buckets else None,
               "quantiles": tuple(float(q) for q in quantiles.split(",")) if quantiles else None}
    if model_path is not None:
        options["model"] = model_path
    return StageCall(build_step("score", options), list(inputs), output)


@corpus.command("score-train")
@click.option("-i", "--input", "inputs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Reference shards (directory or file); repeatable. Language from meta.lang or the script.")
@click.option("-o", "--output", "model_out", required=True, type=click.Path(path_type=Path),
              help="Model to write: a .json.gz file (--format json) or a directory (--format arpa).")
@click.option("--format", "fmt", type=click.Choice(["json", "arpa"]), default="json", show_default=True,
              help="json: pure-Python Witten-Bell character models; arpa: modified Kneser-Ney character models "
                   "as ARPA files, scored with KenLM (the [kenlm] extra), one per language.")
@click.option("--order", "orders", multiple=True, metavar="LANG=N",
              help="N-gram order of a language's model, e.g. --order zh=4 (defaults: json zh=3 en=5, arpa "
                   "zh=4 en=6).")
@click.option("--min-count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Drop n-grams (order >= 3) seen fewer times: a smaller model.")
@click.option("--max-chars", type=click.IntRange(min=1), default=None, help="Training characters per language.")
def score_train_cmd(inputs, model_out, min_count, max_chars, fmt, orders):
    """Train the character n-gram perplexity models on reference text (e.g. Wikipedia shards)."""
    from corpus.score.stage import train_from_shards

    parsed = {}
    for item in orders:
        lang, _, n = item.partition("=")
        if not lang or not n.isdigit() or int(n) < 1:
            raise click.BadParameter(f"{item!r}: expected LANG=N, e.g. zh=4", param_hint="--order")
        parsed[lang] = int(n)
    summary = train_from_shards(list(inputs), model_out, min_count=min_count, max_chars=max_chars, fmt=fmt,
                                orders=parsed)
    for lang, line in summary.items():
        click.echo(f"{lang}: {line}")
    click.echo(f"wrote {model_out}")


@corpus.command("pack")
@io_options
@click.option("--tokenizer", "tokenizer_path", default=None,
              help="SentencePiece .model, tokenizer.json or HF directory (default: the embedded demo model).")
@click.option("--max-tokens", type=click.IntRange(min=3), default=1024, show_default=True,
              help="Most tokens per sample, BOS/EOS included.")
@click.option("--pack-docs", is_flag=True, help="Also fill samples with consecutive short documents (EOS between).")
@click.option("--bos-eos", type=click.Choice(["doc", "sample", "none"]), default="doc", show_default=True,
              help="doc: BOS on a document's first sample, EOS on its last (KnowLM); sample: on every sample.")
@click.option("--min-tokens", type=click.IntRange(min=0), default=0, show_default=True,
              help="Drop samples shorter than this (KnowLM drops <= 20 tokens: use 21).")
@click.option("--format", "fmt", type=click.Choice(["megatron", "knowlm", "hf"]), default="megatron",
              show_default=True, help="Megatron .bin/.idx, KnowLM's .bin/.idx, or Parquet input_ids.")
def pack_cmd(inputs, output, tokenizer_path, max_tokens, pack_docs, bos_eos, min_tokens, fmt):
    """Tokenize and pack documents into samples of complete sentences; merges shards into OUTPUT/merged."""
    from corpus.pipeline import StageCall
    from corpus.steps import build_step

    options = {"max_tokens": max_tokens, "pack_docs": pack_docs, "bos_eos": bos_eos,
               "min_tokens": min_tokens, "format": fmt}
    if tokenizer_path is not None:
        # Absolute when it is a local path, so the manifest names it from anywhere (`inspect --decode`).
        options["tokenizer"] = str(Path(tokenizer_path).resolve()) if Path(tokenizer_path).exists() else tokenizer_path
    return StageCall(build_step("pack", options), list(inputs), output)


@corpus.command("merge")
@click.argument("prefixes", nargs=-1, required=True)
@click.option("-o", "--output", "out_prefix", required=True, help="Output prefix (writes OUT.bin/.idx).")
@click.option("--format", "fmt", type=click.Choice(["megatron", "knowlm", "hf"]), default="megatron",
              show_default=True)
@click.option("--type", "types", multiple=True,
              help="Dataset type of each prefix, in order (KnowLM's --merge_path_type; --format knowlm): "
              "same type = one group in OUT.dis.")
def merge_cmd(prefixes, out_prefix, fmt, types):
    """Merge packed outputs (PREFIX.bin/.idx or PREFIX.parquet) into one, in the order given."""
    from corpus.pack.stage import merge_outputs

    try:
        if types and len(types) != len(prefixes):
            raise ValueError(f"{len(types)} --type for {len(prefixes)} prefixes: give one per prefix")
        counts = merge_outputs(fmt, [Path(p) for p in prefixes], Path(out_prefix), types=list(types) or None)
    except (FileNotFoundError, ValueError) as err:
        raise click.UsageError(str(err)) from None
    click.echo(f"merged {len(prefixes)} into {out_prefix}")
    if types:
        names = list(dict.fromkeys(types))
        click.echo("samples per type (OUT.dis): " + ", ".join(f"{t} {n:,}" for t, n in zip(names, counts, strict=True)))


@corpus.command("inspect")
@click.argument("prefix")
@click.option("--tokenizer", "tokenizer_path", default=None, help="Tokenizer to decode with (default: demo model).")
@click.option("--decode", type=click.IntRange(min=0), default=0, help="Decode and print the first N samples.")
def inspect_cmd(prefix, tokenizer_path, decode):
    """Print sample and token counts, length statistics and decoded samples of a packed output."""
    from corpus.pack.inspect import inspect_summary
    from corpus.pack.stage import DEFAULT_TOKENIZER

    if tokenizer_path is None and decode:
        tokenizer_path = _packed_with(Path(prefix))
    try:
        click.echo(inspect_summary(prefix, tokenizer_path or DEFAULT_TOKENIZER, decode))
    except (FileNotFoundError, ValueError) as err:
        raise click.UsageError(str(err)) from None


def _packed_with(prefix: Path) -> str:
    """The tokenizer the pack stage's manifest beside ``prefix`` records, else the demo model; said aloud."""
    import orjson

    from corpus.pack.stage import DEFAULT_TOKENIZER

    manifest = prefix.parent / "_manifest.json"
    try:
        recorded = orjson.loads(manifest.read_bytes()).get("config", {}).get("tokenizer")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        recorded = None
    if recorded:
        click.echo(f"decoding with {recorded}, the tokenizer {manifest} records", err=True)
        return str(recorded)
    click.echo(f"no --tokenizer and no {manifest}: decoding with the demo model {DEFAULT_TOKENIZER}", err=True)
    return str(DEFAULT_TOKENIZER)


# ----------------------------------------------------------------------------------------------
# tokenizer
# ----------------------------------------------------------------------------------------------


@main.group()
def tokenizer() -> None:
    """Train or extend SentencePiece tokenizers for Chinese-English corpora."""


# --- tokenizer commands ---


@tokenizer.command("train")
@click.option("-i", "--input", "inputs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Shard files, directories of shards, or .txt files; repeatable.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output .model path.")
@click.option("--vocab-size", type=click.IntRange(min=300), default=32000, show_default=True)
@click.option("--model-type", type=click.Choice(["bpe", "unigram"]), default="bpe", show_default=True)
@click.option("--character-coverage", type=float, default=0.9995, show_default=True)
@click.option("--hf-dir", type=click.Path(path_type=Path), default=None,
              help="Also write a Hugging Face directory here (default: OUTPUT without suffix + '-hf').")
def tokenizer_train_cmd(inputs, output, vocab_size, model_type, character_coverage, hf_dir):
    """Train a SentencePiece model (byte fallback, split digits, identity normalisation, LLaMA ids)."""
    from corpus.tokenizers import train

    settings = train.TrainSettings(vocab_size=vocab_size, model_type=model_type,
                                   character_coverage=character_coverage)
    model = train.train_sentencepiece(train.iter_texts(inputs), output, settings)
    hf = train.save_hf_directory(model, hf_dir or output.with_name(output.stem + "-hf"))
    click.echo(f"wrote {model} and {hf}")
    import sentencepiece as spm

    reached = spm.SentencePieceProcessor(model_file=str(model)).get_piece_size()
    if reached < vocab_size:
        # hard_vocab_limit=False lets a small corpus stop early; say so rather than leave a surprise.
        click.echo(f"note: the vocabulary has {reached:,} pieces, fewer than the --vocab-size {vocab_size:,} "
                   "asked: the input has too little text for more (train on more text for the full size)", err=True)
    click.echo(train.compare_report(None, model, train.split_by_language(train.iter_texts(inputs))))


@tokenizer.command("extend")
@click.option("--base", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="SentencePiece .model to extend.")
@click.option("--add-chars", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="File with one new piece (usually one character) per line.")
@click.option("--from-corpus", type=click.Path(exists=True, path_type=Path), default=None,
              help="Add the most frequent CJK characters of this corpus that BASE lacks.")
@click.option("--count", type=click.IntRange(min=1), default=7000, show_default=True,
              help="With --from-corpus: how many characters to add.")
@click.option("--eval", "eval_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Text for the chars/token report (default: --from-corpus).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output .model path.")
@click.option("--hf-dir", type=click.Path(path_type=Path), default=None,
              help="Hugging Face directory (default: OUTPUT without suffix + '-hf').")
def tokenizer_extend_cmd(base, add_chars, from_corpus, count, eval_paths, output, hf_dir):
    """Append pieces to a SentencePiece model (as Chinese-LLaMA did) and report chars/token before/after."""
    from corpus.tokenizers import train

    if (add_chars is None) == (from_corpus is None):
        raise click.UsageError("give exactly one of --add-chars FILE or --from-corpus DIR")
    if add_chars is not None:
        pieces = [line.strip() for line in add_chars.read_text(encoding="utf-8").splitlines()]
    else:
        pieces = train.frequent_new_chars(train.iter_texts([from_corpus]), base, count)
    added = train.extend_model(base, pieces, output)
    hf = train.save_hf_directory(output, hf_dir or output.with_name(output.stem + "-hf"))
    click.echo(f"added {len(added)} pieces; wrote {output} and {hf}")
    sources = list(eval_paths) or ([from_corpus] if from_corpus is not None else [])
    if sources:
        click.echo(train.compare_report(base, output, train.split_by_language(train.iter_texts(sources))))


# ----------------------------------------------------------------------------------------------
# instruct
# ----------------------------------------------------------------------------------------------


@main.group()
def instruct() -> None:
    """Instruction data: IE datasets to instructions, translation with an LLM, SFT files."""


# --- instruct commands (IE) ---

IE_FORMATS = ("conll03", "peoples_daily", "duie", "duee", "casie", "ace05", "oneie", "instructie", "iepile")
IE_TASKS = ("ner", "re", "spo", "ee", "eet", "eea")


@instruct.command("convert")
@click.option("--format", "fmt", required=True, type=click.Choice(IE_FORMATS), help="Dataset layout of the input.")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="Dataset file, or a directory of them (CASIE: a directory of annotation files).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="IE-records JSONL to write.")
def instruct_convert_cmd(fmt: str, input_path: Path, output: Path) -> None:
    """Convert an open IE dataset into IE records (rejected lines go to NAME.rejected.jsonl)."""
    from instruct.ie.convert import convert

    stats = convert(fmt, input_path, output)
    click.echo(f"{fmt}: {stats.get('records', 0)} records, {stats.get('entities', 0)} entities, "
               f"{stats.get('relations', 0)} relations, {stats.get('events', 0)} events, "
               f"{stats['rejected']} rejected {stats['reasons'] or ''} -> {output}")


@instruct.command("build")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="IE-records JSONL (from `instruct convert`).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Instruction file (.json = JSON array, else JSONL).")
@click.option("--task", required=True, type=click.Choice(IE_TASKS))
@click.option("--lang", required=True, type=click.Choice(("zh", "en")))
@click.option("--style", default="knowlm", show_default=True, type=click.Choice(("knowlm", "iepile")))
@click.option("--schema", "schema_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="IEPile 3-line schema.json (default: the labels seen in the input).")
@click.option("--split-num", default=4, show_default=True, type=int, help="Schema items per instruction; -1 = all.")
@click.option("--negatives", default="sampled", show_default=True, type=click.Choice(("sampled", "binomial")),
              help="sampled: positives + hard negatives + split-num random others per text (IEPile's corpus); "
                   "binomial: each other label with probability --neg-schema (IEPile's script default).")
@click.option("--neg-schema", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="binomial: probability of keeping each negative schema slot; sampled: sets how many labels "
                   "a text without positives is shown.")
@click.option("--random-sort", is_flag=True, help="Shuffle schema items instead of sorting them.")
@click.option("--hard-negatives", type=click.Path(exists=True, path_type=Path), default=None,
              help="JSON {label: [similar labels]}: IEPile's hard-negative (cluster) mode.")
@click.option("--split", default="train", show_default=True, type=click.Choice(("train", "test")))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option("--open-rate", default=0.1, show_default=True, type=click.FloatRange(0, 1),
              help="knowlm: share of training records given a schema-less template.")
@click.option("--max-chars", default=512, show_default=True, type=int,
              help="Split longer texts at sentence boundaries; 0 = never.")
@click.option("--label-map", type=click.Path(exists=True, path_type=Path), default=None,
              help="YAML raw label -> shown label (e.g. configs/ie/labels_en.yaml).")
@click.option("--templates", type=click.Path(exists=True, path_type=Path), default=None,
              help="Template file (default configs/ie/templates.yaml).")
@click.option("--output-format", default="alpaca", show_default=True,
              type=click.Choice(("alpaca", "iepile", "sharegpt")))
@click.option("--compare", "compare_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Instruction rows (e.g. IEPile's released train.json) whose all-empty share to print beside ours.")
def instruct_build_cmd(input_path: Path, output: Path, compare_path: Path | None, **options) -> None:
    """Build KnowLM- or IEPile-style instructions from IE records; counts go to NAME.stats.json."""
    from instruct.build.run import BuildConfig, build_file, count_empty

    stats = build_file(input_path, output, BuildConfig(**options))
    click.echo(f"{stats['instructions']} instructions from {stats['records']} records "
               f"({stats['rejected']} rejected) -> {output}")
    line = f"  all-empty answers: {stats['empty_answers']} of {stats['instructions']} ({stats['empty_share']:.1%})"
    if compare_path is not None:
        empty, n = count_empty(compare_path)
        line += f"; {compare_path}: {empty} of {n} ({empty / n if n else 0:.1%})"
    click.echo(line)
    for key in ("per_source", "per_template", "per_format"):
        click.echo(f"  {key}: {stats[key]}")


@instruct.command("evaluate")
@click.option("--pred", "pred_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="Predictions: rows with id + output (or predict), or gold rows with output replaced.")
@click.option("--gold", "gold_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Gold instruction file; default: the prediction rows themselves (they carry label).")
@click.option("--task", required=True, type=click.Choice(IE_TASKS))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report as JSON.")
def instruct_evaluate_cmd(pred_path: Path, gold_path: Path | None, task: str, output: Path | None) -> None:
    """Micro precision/recall/F1 of IE answers, overall, per type and per category."""
    import orjson

    from instruct.evaluate import align, evaluate_rows
    from instruct.formats import read_rows

    preds = read_rows(pred_path)
    gold = read_rows(gold_path) if gold_path else preds
    report = evaluate_rows(task, gold, align(gold, preds))
    for name, s in report["scores"].items():
        click.echo(f"{name:<9} P={s['p']:.4f} R={s['r']:.4f} F1={s['f1']:.4f} (tp {s['tp']}, pred {s['pred']}, "
                   f"gold {s['gold']})")
    click.echo(f"groups {report['groups']}, unparseable answers {report['errors']}, missing {report['missing']}")
    if output:
        output.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))

# --- instruct commands (LLM, translation) ---


def llm_options(func):
    """Options every LLM command shares: endpoint, key, limits, retries, sampling, cache, failures, batch."""
    options = [
        click.option("--model", required=True, help="Model name as the endpoint knows it, e.g. gpt-4o."),
        click.option("--base-url", default=None,
                     help="OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM)."),
        click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
                     help="Environment variable holding the API key (never printed or stored)."),
        click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True),
        click.option("--rpm", type=click.IntRange(min=1), default=None, help="Requests-per-minute limit."),
        click.option("--tpm", type=click.IntRange(min=1), default=None, help="Tokens-per-minute limit (estimated)."),
        click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds per attempt."),
        click.option("--max-attempts", type=click.IntRange(min=1), default=6, show_default=True),
        click.option("--temperature", type=float, default=0.0, show_default=True),
        click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="Completion token limit."),
        click.option("--cache", "cache_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="SQLite response cache (default: OUTPUT_STEM.llm-cache.sqlite beside the output)."),
        click.option("--failures", "failures_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Failed records with reasons (default: OUTPUT_STEM.failures.jsonl)."),
        click.option("--batch", "batch_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Write missing requests to this OpenAI Batch API file instead of sending them."),
        click.option("--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_llm_command(run, format_report, options: dict):
    """Build the LLM config from ``options``, call ``run(llm, api_key, options)``, print the accounting."""
    from instruct.llm import LLMConfig
    from instruct.llm_cost import PriceTable
    from instruct.llm_errors import LLMSetupError, resolve_api_key

    try:
        llm = LLMConfig(model=options["model"], base_url=options["base_url"], concurrency=options["concurrency"],
                        rpm=options["rpm"], tpm=options["tpm"], timeout=options["timeout"],
                        max_attempts=options["max_attempts"], temperature=options["temperature"],
                        max_tokens=options["max_tokens"])
        # Batch mode sends nothing, so it needs no key.
        batch = options["batch_path"]
        api_key = resolve_api_key(options["api_key_env"]) if batch is None else "unused-in-batch-mode"
        report = run(llm, api_key, options)
    except (LLMSetupError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(format_report(report, options["model"], PriceTable.load()))
    if report.deferred:
        click.echo(f"{report.accounting.deferred} requests written to {batch}: submit it to the Batch API, "
                   "then `knowforge instruct batch-ingest` the output and run this command again.")
    if unfinished := report.unfinished():
        # Exit 1 so scripts notice; a rerun sends only what is not in the cache yet.
        click.echo(f"error: {unfinished} failed; {report.failures_path} says which and why "
                   "(rerun to retry them)", err=True)
        sys.exit(1)
    return report


@instruct.command("translate")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Alpaca JSON/JSONL, ShareGPT JSON/JSONL, or generic JSONL (with --fields).")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file, same format as the input (.json: a JSON array, else JSON Lines).")
@click.option("--strategy", type=click.Choice(["translate", "answer"]), default="translate", show_default=True,
              help="translate: every text field; answer: translate the question, let the model answer it.")
@click.option("--source-lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("--target-lang", type=click.Choice(["en", "zh"]), default="zh", show_default=True)
@click.option("--format", "input_format", type=click.Choice(["auto", "alpaca", "sharegpt", "jsonl"]),
              default="auto", show_default=True)
@click.option("--fields", default="", help="Generic JSONL: comma-separated text fields (the question).")
@click.option("--answer-field", default=None, help="Generic JSONL: the answer field (filled by --strategy answer).")
@llm_options
def translate_cmd(input_path, output_path, strategy, source_lang, target_lang, input_format, fields, answer_field,
                  **llm_options) -> None:
    """Translate instruction data with an OpenAI-compatible LLM; resumable: rerun to finish a killed run."""
    from instruct.translate import TranslateConfig, format_report, translate_file

    with open(input_path, "rb") as handle:
        head = handle.read(4096).strip()
    if head in (b"", b"[]"):
        raise SetupError(f"{input_path} holds no records: nothing to translate")

    def run(llm, api_key, options):
        config = TranslateConfig(
            strategy=strategy, source_lang=source_lang, target_lang=target_lang, input_format=input_format,
            fields=tuple(f.strip() for f in fields.split(",") if f.strip()), answer_field=answer_field,
        )
        return translate_file(input_path, output_path, config=config, llm=llm, api_key=api_key,
                              cache_path=options["cache_path"], failures_path=options["failures_path"],
                              batch_path=options["batch_path"], progress=not options["quiet"])

    _run_llm_command(run, format_report, llm_options)


@instruct.command("batch-ingest")
@click.argument("batch_output", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cache", "cache_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The cache the `translate --batch` run used.")
@click.option("--model", default=None, help="Model name, for the cost estimate.")
def batch_ingest_cmd(batch_output: Path, cache_path: Path, model: str | None) -> None:
    """Store an OpenAI Batch API output file in the response cache (then rerun `translate`)."""
    from instruct.llm_cache import ResponseCache, ingest_batch_output
    from instruct.llm_cost import PriceTable

    cache = ResponseCache(cache_path)
    try:
        report = ingest_batch_output(batch_output, cache)
    finally:
        cache.close()
    click.echo(f"stored {report.stored}, errors {report.errors} (sent again on the next run), "
               f"unknown ids {report.unknown}, malformed lines {report.malformed}")
    if model:
        click.echo(report.accounting.summary(model, PriceTable.load()))

# --- instruct commands (SFT) ---


@instruct.command("mix")
@click.option("-c", "--config", "config_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Mix YAML (e.g. configs/sft_mix_knowlm.yaml).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Mixed file (.json array or .jsonl); manifest and provenance are written beside it.")
@click.option("--base-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Directory the config's relative source paths start from (default: current directory).")
@click.option("--total", type=click.IntRange(min=0), default=None, help="Scale the mix to N records.")
@click.option("--seed", type=int, default=None, help="Override the config's seed.")
@click.option("--dataset-name", default=None, help="Also add a LLaMA-Factory dataset_info.json entry of this name.")
def instruct_mix_cmd(config_path, output, base_dir, total, seed, dataset_name):
    """Combine instruction sets by counts or weights, seeded, with a provenance file."""
    import dataclasses

    from instruct.sft.mix import load_mix_config, mix

    config = load_mix_config(config_path, base_dir=base_dir)
    overrides = {k: v for k, v in (("total", total), ("seed", seed)) if v is not None}
    manifest = mix(dataclasses.replace(config, **overrides), output, dataset_name=dataset_name)
    shares = ", ".join(f"{s['name']} {s['taken']} ({s['share']:.2%})" for s in manifest["sources"])
    click.echo(f"mixed {manifest['total']} records into {output}: {shares}")


@instruct.command("select")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Alpaca / ShareGPT / OpenAI file (.json or .jsonl).")
@click.option("-o", "--output", "output_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for kept records, rejected.jsonl, scores.jsonl and _stats.json.")
@click.option("--min-instruction-tokens", type=int, default=2, show_default=True)
@click.option("--max-instruction-tokens", type=int, default=2048, show_default=True)
@click.option("--min-output-tokens", type=int, default=1, show_default=True)
@click.option("--max-output-tokens", type=int, default=4096, show_default=True)
@click.option("--languages", default="zh,en", show_default=True, help="Allowed languages; empty turns the check off.")
@click.option("--min-mtld", type=float, default=10.0, show_default=True)
@click.option("--max-mtld", type=float, default=None)
@click.option("--near-threshold", type=float, default=0.8, show_default=True,
              help="Jaccard for near-duplicate prompts; negative turns it off.")
@click.option("--rouge-threshold", type=float, default=0.7, show_default=True,
              help="ROUGE-L F1 against kept prompts; negative turns it off.")
@click.option("--compare", type=click.Choice(["prompt", "record"]), default="prompt", show_default=True,
              help="What duplicate rules compare; for IE sets use 'record' and --rouge-threshold -1.")
@click.option("--dataset-name", default=None,
              help="Name of the LLaMA-Factory dataset_info.json entry written beside the kept file "
                   "(default: the input file's name up to its first dot).")
def instruct_select_cmd(input_path, output_dir, min_instruction_tokens, max_instruction_tokens, min_output_tokens,
                        max_output_tokens, languages, min_mtld, max_mtld, near_threshold, rouge_threshold, compare,
                        dataset_name):
    """Drop empty, truncated, refused, off-length, off-language, repetitive and duplicate instructions."""
    from instruct.sft.select import SelectSettings, select_file

    settings = SelectSettings(
        min_instruction_tokens=min_instruction_tokens, max_instruction_tokens=max_instruction_tokens,
        min_output_tokens=min_output_tokens, max_output_tokens=max_output_tokens,
        languages=tuple(x.strip() for x in languages.split(",") if x.strip()) or None,
        min_mtld=min_mtld, max_mtld=max_mtld,
        near_threshold=near_threshold if near_threshold >= 0 else None,
        rouge_threshold=rouge_threshold if rouge_threshold >= 0 else None, compare=compare,
    )
    stats = select_file(input_path, output_dir, settings, dataset_name=dataset_name)
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
    click.echo(f"{stats['records']} records: kept {stats['kept']}, rejected {stats['rejected']} ({reasons})")
    click.echo(f"LLaMA-Factory entry {stats['dataset_name']!r} in {output_dir / 'dataset_info.json'}")


@instruct.command("tokenize")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Alpaca / ShareGPT / OpenAI file (.json or .jsonl).")
@click.option("-o", "--output", "output_dir", required=True, type=click.Path(path_type=Path),
              help="Output directory (datasets.save_to_disk), plus rejected.jsonl and _manifest.json.")
@click.option("--tokenizer", "tokenizer_path", required=True, type=click.Path(exists=True, path_type=Path),
              help="SentencePiece .model, tokenizer.json or HF directory (--template chat: an HF directory).")
@click.option("--template", type=click.Choice(["alpaca", "chatglm", "chat"]), default="alpaca", show_default=True)
@click.option("--max-source-len", type=click.IntRange(min=1), default=512, show_default=True)
@click.option("--max-target-len", type=click.IntRange(min=1), default=512, show_default=True)
def instruct_tokenize_cmd(input_path, output_dir, tokenizer_path, template, max_source_len, max_target_len):
    """Tokenise for SFT: input_ids, attention_mask, labels with prompt tokens set to -100."""
    from instruct.sft.tokenize import TokenizeSettings, tokenize_file

    settings = TokenizeSettings(template=template, max_source_len=max_source_len, max_target_len=max_target_len)
    try:
        counts = tokenize_file(input_path, output_dir, tokenizer_path=tokenizer_path, settings=settings)["counts"]
    except (ValueError, FileNotFoundError) as err:  # a tokenizer that cannot serve this template
        raise click.ClickException(str(err)) from None
    click.echo(f"{counts['records']} records: wrote {counts['written']} to {output_dir} "
               f"({counts.get('truncated', 0)} truncated, {counts['records'] - counts['written']} rejected)")


@instruct.command("split")
@click.option("-i", "--input", "input_path", required=True, type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="Instruction file (.json or .jsonl).")
@click.option("-o", "--output", "output_dir", required=True, type=click.Path(path_type=Path))
@click.option("--ratios", default="0.98,0.01,0.01", show_default=True, help="train,dev,test shares.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--by", default="source", show_default=True, help="Record field (dotted path) to stratify by.")
@click.option("--provenance", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A mix's .provenance.jsonl: stratify by the set each record came from instead.")
def instruct_split_cmd(input_path, output_dir, ratios, seed, by, provenance):
    """Split into train/dev/test by seed, stratified by source."""
    from instruct.sft.split import split_file

    try:
        parsed = [float(x) for x in ratios.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected three numbers like 0.98,0.01,0.01, got {ratios!r}") from None
    report = split_file(input_path, output_dir, ratios=parsed, seed=seed, by=by, provenance=provenance)
    click.echo(f"{report['records']} records -> " + ", ".join(f"{k} {v}" for k, v in report["splits"].items()))

# --- instruct commands (generation) ---


@instruct.command("generate")
@click.option("--method", type=click.Choice(["self-qa", "self-instruct", "evol-instruct", "backtranslate"]),
              default="self-qa", show_default=True, help="Prompts: configs/prompts/generate_<method>.<lang>.txt.")
@click.option("-i", "--input", "inputs", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="Corpus shards: a directory of shards or a shard file (.jsonl[.gz|.zst], .parquet); repeatable.")
@click.option("-o", "--output", "output_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output JSON Lines: instruction/input/output plus meta (doc id, passage offsets, scores).")
@click.option("--lang", type=click.Choice(["auto", "zh", "en"]), default="auto", show_default=True,
              help="Prompt language; auto: per passage.")
@click.option("--per-passage", type=click.IntRange(min=1), default=3, show_default=True,
              help="Questions or tasks asked for per passage.")
@click.option("--passage-tokens", type=click.IntRange(min=16), default=512, show_default=True,
              help="Passage budget in estimated tokens (whole sentences).")
@click.option("--max-passages", type=click.IntRange(min=1), default=None)
@click.option("--min-grounding", type=float, default=0.5, show_default=True,
              help="Least share of answer bigrams (zh) / content words (en) found in the passage; 0 disables.")
@click.option("--judge-threshold", type=float, default=None,
              help="Also score each example 1-5 with the same model and keep those >= this.")
@click.option("--select", "select_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Then run the SFT selectors (dedup, near-dup, ROUGE-L diversity, length, refusals) on the "
              "output into this directory, every drop with its reason.")
@llm_options
def generate_cmd(method, inputs, output_path, lang, per_passage, passage_tokens, max_passages, min_grounding,
                 judge_threshold, select_dir, **llm_options) -> None:
    """Generate grounded instruction data from corpus passages with an OpenAI-compatible LLM (resumable)."""
    from instruct.generate import GenerateConfig, format_report, generate_file

    def run(llm, api_key, options):
        config = GenerateConfig(method=method, lang=lang, per_passage=per_passage, max_tokens=passage_tokens,
                                max_passages=max_passages, min_grounding=min_grounding or None,
                                judge_threshold=judge_threshold)
        return generate_file(list(inputs), output_path, config=config, llm=llm, api_key=api_key,
                             cache_path=options["cache_path"], failures_path=options["failures_path"],
                             batch_path=options["batch_path"], progress=not options["quiet"])

    report = _run_llm_command(run, format_report, llm_options)
    if select_dir is not None and not report.deferred:
        from instruct.sft.select import SelectSettings, select_file

        stats = select_file(output_path, select_dir, SelectSettings())
        click.echo(f"selected: {stats['kept']} kept, {stats['rejected']} rejected {stats['by_reason']} "
                   f"-> {select_dir}")


# ----------------------------------------------------------------------------------------------
# kg2instruction
# ----------------------------------------------------------------------------------------------


@main.group()
def kg2instruction() -> None:
    """KG2Instruction: Wikidata triples matched onto Chinese and English Wikipedia as IE instruction data."""


# --- kg2instruction commands ---


@kg2instruction.command("build")
@click.option("--wikidata", "wikidata", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Wikidata JSON dump (latest-all.json[.gz|.bz2]); repeatable.")
@click.option("--wiki", "wiki", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="zhwiki/enwiki pages-articles dump (.xml[.bz2]) or a directory of dumps; repeatable.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Output directory: kb.sqlite, stage directories, instructie/, ie_records/, summary.json.")
@click.option("--lang", type=click.Choice(["zh", "en", "both"]), default="zh", show_default=True,
              help="Which pages to label (the language comes from each dump); outputs are named *_zh / *_en.")
@click.option("--schema", "--schema-zh", "schema_zh", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="zh schema YAML (default: configs/kg2instruction/schema_zh.yaml).")
@click.option("--schema-en", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="en schema YAML (default: configs/kg2instruction/schema_en.yaml).")
@click.option("--max-len", "--max-chars", "max_len", type=click.IntRange(min=16), default=512, show_default=True,
              help="Longest paragraph: characters for zh, words for en (InstructIE's limit).")
@click.option("--nli-cmd", default=None,
              help="Command scoring triples against text over JSON lines (see docs/kg2instruction.md).")
@click.option("--nli-threshold", type=float, default=0.5, show_default=True)
@click.option("--complete-cmd", default=None, help="Command proposing extra triples over JSON lines.")
@click.option("--nli-model", default=None, help="Chat model scoring triples against their paragraph (LLM client).")
@click.option("--complete-model", default=None, help="Chat/IE model (e.g. OneKE) adding triples the graph lacks.")
@click.option("--topic-model", default=None,
              help="Chat model giving a topic to pages the type rules leave as other (zero-shot, 12 topics + other).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint of the models, e.g. http://localhost:8000/v1.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True,
              help="Environment variable holding the API key (never printed or stored).")
@click.option("--llm-concurrency", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--max-attempts", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--llm-timeout", type=float, default=120.0, show_default=True, help="Seconds per attempt.")
@click.option("--workers", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True,
              help="Worker processes for the wiki stages.")
@click.option("--kb-workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes reading the Wikidata dump (byte ranges of a plain or multi-stream .bz2 dump; "
                   "else they parse what the main process decompresses); the main process inserts the rows.")
@click.option("--force", is_flag=True, help="Rebuild the KB and redo every shard.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def kg2instruction_build_cmd(wikidata, wiki, output, lang, schema_zh, schema_en, max_len, nli_cmd, nli_threshold,
                             complete_cmd, nli_model, complete_model, topic_model, base_url, api_key_env,
                             llm_concurrency, max_attempts, llm_timeout, workers, kb_workers, force, quiet):
    """Build InstructIE records from Wikidata triples matched onto zhwiki/enwiki paragraphs (resumable)."""
    from corpus.pipeline import summary_table
    from instruct.llm_errors import LLMSetupError, resolve_api_key
    from kg2instruction.build import run_build
    from kg2instruction.models import ModelSteps

    options = {"max_len": max_len, "nli_cmd": nli_cmd, "nli_threshold": nli_threshold, "complete_cmd": complete_cmd}
    langs = ("zh", "en") if lang == "both" else (lang,)
    try:
        models = None
        if nli_model or complete_model or topic_model:
            models = ModelSteps(api_key=resolve_api_key(api_key_env), base_url=base_url, nli_model=nli_model,
                                complete_model=complete_model, topic_model=topic_model, nli_threshold=nli_threshold,
                                concurrency=llm_concurrency, max_attempts=max_attempts, timeout=llm_timeout)
        reports, summary = run_build(
            wikidata=list(wikidata), wiki=list(wiki), output=output, langs=langs,
            schemas={"zh": schema_zh, "en": schema_en}, workers=workers, force=force, progress=not quiet,
            step_options=options, kb_workers=kb_workers, models=models,
        )
    except (LLMSetupError, ValueError) as err:
        raise click.ClickException(str(err)) from None
    click.echo(summary_table(reports))
    if models is not None:
        m = summary["models"]
        click.echo(f"models: {m['labelled']} paragraphs labelled, rejected {m['rejected']}, failed {m['failed']} "
                   f"(listed in {output}/03-models/_failures.jsonl; rerun to retry them); requests {m['requests']}")
    click.echo(f"records per topic: {summary['records_per_topic']}")
    click.echo(f"records per split: {summary['records_per_split']}  (in {output}/instructie and ie_records)")


# ----------------------------------------------------------------------------------------------
# pipelines
# ----------------------------------------------------------------------------------------------


@main.command("run")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-w", "--work-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Override work_dir.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Override workers.")
@click.option("--force", is_flag=True, help="Redo shards already marked done.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--dry-run", is_flag=True, help="Print the plan (stages, inputs, outputs, options); run nothing.")
@click.option("--no-fuse", is_flag=True, help=NO_FUSE_HELP + " YAML: `fuse: false`.")
@engine_options
def run_cmd(config: Path, work_dir, workers, force, quiet, dry_run, no_fuse, engine, ray_address) -> None:
    """Run a pipeline written in YAML (see configs/ for one per real job), locally or on Ray."""
    from corpus.pack.merge import samples_per_type
    from corpus.pipeline import ConfigError, load_config, plan_text, run_config, summary_table

    try:
        cfg = load_config(config)
        if dry_run:
            click.echo(plan_text(cfg, work_dir=work_dir, workers=workers, engine=engine, fuse=not no_fuse))
            return
        reports = run_config(cfg, work_dir=work_dir, workers=workers, force=force, progress=not quiet,
                             engine=engine, ray_address=ray_address, fuse=not no_fuse)
    except ConfigError as err:
        raise SetupError(str(err)) from None
    click.echo(summary_table(reports))
    for report in reports:  # a typed merge (configs/knowlm.yaml): what KnowLM's trainer will sample from
        if line := samples_per_type(report):
            click.echo(f"samples per type in {report.output}/merged.dis: {line}")


@main.command("demo")
@click.option(
    "-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"), show_default=True,
    help="Directory for every stage's output.",
)
@click.option("--workers", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True)
@click.option("--force", is_flag=True, help="Redo everything instead of resuming.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo_cmd(output: Path, workers: int, force: bool, quiet: bool) -> None:
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


if __name__ == "__main__":
    sys.exit(main())
