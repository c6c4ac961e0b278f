"""The spine's options dataclasses cover every option the CLI's instruct commands offer, with the same
spelling, default, help text, choices, bounds and path checks, so the CLI can be generated from them."""

from __future__ import annotations

import dataclasses
import typing

import click
import pytest

from instruct.build.answers import FORMATS
from instruct.build.sampling import NEGATIVES
from instruct.formats import OUTPUT_FORMATS
from instruct.ie.convert import READERS
from instruct.ie.schema import TASKS
from instruct.llm_steps import LLM_STEPS
from instruct.sft_steps import SFT_STEPS
from instruct.spine import STEPS, BuildOptions, ConvertOptions, EvaluateOptions

ALL_STEPS = {**STEPS, **LLM_STEPS, **SFT_STEPS}


def flags(f: dataclasses.Field) -> tuple[str, ...]:
    """A field's CLI spellings: its ``flags`` metadata, else ``--field-name``."""
    return f.metadata.get("flags") or (f"--{f.name.replace('_', '-')}",)


def _field_for(options: type, param: click.Option) -> dataclasses.Field:
    matches = [f for f in dataclasses.fields(options) if set(param.opts) & set(flags(f))]
    assert len(matches) == 1, f"{options.__name__}: {param.opts} matches {[f.name for f in matches]}"
    return matches[0]


def _path_settings(f: dataclasses.Field) -> dict[str, bool]:
    given = f.metadata.get("path") or {}
    return {"exists": given.get("exists", False), "dir_okay": given.get("dir_okay", True),
            "file_okay": given.get("file_okay", True)}


def _scalar(param: click.Parameter) -> type:
    """The Python type a click parameter's values have (a flag's is bool)."""
    if isinstance(param, click.Option) and param.is_flag:
        return bool
    if isinstance(param.type, click.Path):
        return param.type.type
    if isinstance(param.type, click.types._NumberRangeBase):
        return param.type._number_class
    return {"integer": int, "float": float, "text": str, "choice": str}[param.type.name]


@pytest.mark.parametrize("name", sorted(ALL_STEPS))
def test_every_cli_option_is_a_field_with_the_same_contract(name):
    from cli import instruct

    command = instruct.get_command(click.Context(instruct), name)  # generated on first lookup
    step = ALL_STEPS[name]
    params = [p for p in command.params if isinstance(p, click.Option)]
    ctx = click.Context(command)
    assert params
    arguments = [p.name for p in command.params if isinstance(p, click.Argument)]
    assert arguments == [f.name for f in dataclasses.fields(step.options) if f.metadata.get("argument")]
    for param in params:
        f = _field_for(step.options, param)
        where = f"{name} {param.opts}"
        assert set(param.opts) == set(flags(f)), where
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        assert param.required == required, where
        if not required:
            assert param.get_default(ctx, call=False) == f.default, where
        if param.help:
            assert f.metadata["help"] == param.help, where
        if isinstance(param.type, click.Choice):
            assert tuple(param.type.choices) == tuple(f.metadata["choices"]), where
        if isinstance(param.type, click.types._NumberRangeBase):
            assert (param.type.min, param.type.max) == (f.metadata.get("min"), f.metadata.get("max")), where
        if isinstance(param.type, click.Path):
            settings = {"exists": param.type.exists, "dir_okay": param.type.dir_okay,
                        "file_okay": param.type.file_okay}
            assert settings == _path_settings(f), where
        hint = typing.get_type_hints(step.options)[f.name]
        assert param.multiple == (typing.get_origin(hint) is tuple), where
        assert _scalar(param) in typing.get_args(hint) + (hint,), where
    if command.help:
        assert step.help == command.help.splitlines()[0]


@pytest.mark.parametrize("name", sorted(ALL_STEPS))
def test_every_field_has_help_and_choices_hold_its_default(name):
    options = ALL_STEPS[name].options
    for f in dataclasses.fields(options):
        assert f.metadata.get("help"), f"{options.__name__}.{f.name} has no help text"
        choices = f.metadata.get("choices")
        if choices is not None and f.default is not dataclasses.MISSING:
            default = f.default if isinstance(f.default, tuple) else (f.default,)
            assert set(default) <= set(choices), f"{options.__name__}.{f.name}"


def test_choices_come_from_the_library_tables():
    meta = {f.name: f.metadata for cls in (ConvertOptions, BuildOptions, EvaluateOptions)
            for f in dataclasses.fields(cls)}
    assert meta["format"]["choices"] == tuple(READERS)
    assert meta["task"]["choices"] == TASKS
    assert meta["negatives"]["choices"] == NEGATIVES
    assert meta["output_format"]["choices"] == OUTPUT_FORMATS
    assert meta["formats"]["choices"] == FORMATS


def test_build_options_split_into_the_build_settings():
    from pathlib import Path

    options = BuildOptions(input=Path("in.jsonl"), output=Path("out.json"), task="re", lang="zh", seed=7)
    config = options.config()
    assert type(config).__name__ == "BuildConfig" and config.seed == 7 and not hasattr(config, "input")
