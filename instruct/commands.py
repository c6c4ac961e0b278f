"""The ``knowforge instruct`` commands, generated from the spine's step tables.

Each step (``instruct.spine.STEPS``, ``instruct.llm_steps.LLM_STEPS``, ``instruct.sft_steps.SFT_STEPS``)
is an options dataclass whose field metadata declares its options (read once, by
``instruct.spine.option_specs``), a function of it, and the lines to print; here each becomes a command
that runs the step, prints its lines and turns the step's errors into the exit codes the CLI always had.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from corpus.options import Command, Opt
from corpus.steps import ConfigError
from instruct.llm_errors import LLMSetupError
from instruct.llm_steps import LLM_STEPS, EmptyInputError, unfinished_message
from instruct.sft_steps import SFT_STEPS
from instruct.spine import STEPS, OptionSpec, Step, option_specs

# Errors a step raises for a setting that cannot work (no key, a tokenizer that cannot serve the
# template): one "Error:" line, exit 1, as before; bad ratios are a usage error (exit 2). An empty input
# is a mistake in the options found before any request: exit 2 too.
RUN_ERRORS: dict[str, tuple[tuple[type[Exception], ...], type[click.ClickException]]] = {
    "translate": ((LLMSetupError, ValueError), click.ClickException),
    "generate": ((LLMSetupError, ValueError), click.ClickException),
    "tokenize": ((ValueError, FileNotFoundError), click.ClickException),
    "split": ((ValueError,), click.BadParameter),
}


def _click_type(spec: OptionSpec) -> Any:
    """The click type a spec asks for beyond its value type: path checks or bounds (else from the field)."""
    if spec.path is not None:
        return click.Path(path_type=Path, **spec.path)
    if spec.min is not None or spec.max is not None:
        return (click.FloatRange if spec.type is float else click.IntRange)(min=spec.min, max=spec.max)
    return None


def _opt(spec: OptionSpec) -> Opt:
    # Default and value type come from the field itself (corpus.options reads the dataclass).
    return Opt(spec.help, flags=spec.flags, type=_click_type(spec), choices=spec.choices, required=spec.required,
               multiple=spec.multiple)


def _command(name: str, step: Step) -> Command:
    errors, shown_as = RUN_ERRORS.get(name, ((), click.ClickException))

    def run(options: Any) -> None:
        try:
            result = step.run(options)
        except EmptyInputError as err:
            raise ConfigError(str(err)) from None
        except errors as err:
            raise shown_as(str(err)) from None
        for line in step.lines(options, result):
            click.echo(line)
        report = getattr(result, "report", result)  # generate's result holds its report beside the selection
        if name in LLM_STEPS and (message := unfinished_message(report)):
            # Exit 1 so scripts notice; a rerun sends only what is not in the cache yet.
            click.echo(message, err=True)
            sys.exit(1)

    specs = option_specs(step.options)
    arguments = tuple(click.Argument([s.name], type=_click_type(s)) for s in specs if s.argument)
    return Command(name, run, {s.name: _opt(s) for s in specs if not s.argument}, groups={"options": step.options},
                   arguments=arguments, help=step.help)


COMMANDS: list[Command] = [_command(name, step) for table in (STEPS, LLM_STEPS, SFT_STEPS)
                           for name, step in table.items()]
