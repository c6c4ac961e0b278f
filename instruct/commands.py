"""The ``knowforge instruct`` commands, generated from the spine's step tables.

Each step (``instruct.spine.STEPS``, ``instruct.llm_steps.LLM_STEPS``, ``instruct.sft_steps.SFT_STEPS``)
is an options dataclass whose field metadata declares its options, a function of it, and the lines to
print; here each becomes a command (``corpus.options.options_command``) that runs the step, prints its
lines and turns the step's errors into the exit codes the CLI always had.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from corpus.options import Command, options_command
from corpus.steps import ConfigError
from instruct.llm_errors import LLMSetupError
from instruct.llm_steps import LLM_STEPS, EmptyInputError, unfinished_message
from instruct.sft_steps import SFT_STEPS
from instruct.spine import STEPS, Step

# Errors a step raises for a setting that cannot work (no key, a tokenizer that cannot serve the
# template): one "Error:" line, exit 1, as before; bad ratios are a usage error (exit 2). An empty input
# is a mistake in the options found before any request: exit 2 too.
RUN_ERRORS: dict[str, tuple[tuple[type[Exception], ...], type[click.ClickException]]] = {
    "translate": ((LLMSetupError, ValueError), click.ClickException),
    "generate": ((LLMSetupError, ValueError), click.ClickException),
    "tokenize": ((ValueError, FileNotFoundError), click.ClickException),
    "split": ((ValueError,), click.BadParameter),
}


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

    return options_command(name, step.options, run, step.help)


COMMANDS: list[Command] = [_command(name, step) for table in (STEPS, LLM_STEPS, SFT_STEPS)
                           for name, step in table.items()]
