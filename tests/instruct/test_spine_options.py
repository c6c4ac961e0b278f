"""The spine's options dataclasses cover every option the CLI's instruct commands offer, with the same
spelling, default, help text, choices, bounds and path checks, so the CLI can be generated from them."""

from __future__ import annotations

import dataclasses

import click
import pytest

from instruct.build.answers import FORMATS
from instruct.build.sampling import NEGATIVES
from instruct.formats import OUTPUT_FORMATS
from instruct.ie.convert import READERS
from instruct.ie.schema import TASKS
from instruct.llm_steps import LLM_STEPS, TranslateOptions
from instruct.sft_steps import SFT_STEPS
from instruct.spine import STEPS, BuildOptions, ConvertOptions, EvaluateOptions, OptionSpec, option_specs
from instruct.translate import LANG_NAMES

ALL_STEPS = {**STEPS, **LLM_STEPS, **SFT_STEPS}


def _scalar(param: click.Parameter) -> type:
    """The Python type a click parameter's values have (a flag's is bool)."""
    if isinstance(param, click.Option) and param.is_flag:
        return bool
    if isinstance(param.type, click.Path):
        return param.type.type
    if isinstance(param.type, click.types._NumberRangeBase):
        return param.type._number_class
    return {"integer": int, "float": float, "text": str, "choice": str}[param.type.name]


def _spec_for(options: type, param: click.Parameter) -> OptionSpec:
    specs = option_specs(options)
    if isinstance(param, click.Argument):
        matches = [s for s in specs if s.argument and s.name == param.name]
    else:
        matches = [s for s in specs if not s.argument and set(param.opts) & set(s.flags)]
    assert len(matches) == 1, f"{options.__name__}: {param.opts} matches {[s.name for s in matches]}"
    return matches[0]


@pytest.mark.parametrize("name", sorted(ALL_STEPS))
def test_every_cli_option_is_a_field_with_the_same_contract(name):
    from cli import instruct

    command = instruct.get_command(click.Context(instruct), name)  # generated on first lookup
    step = ALL_STEPS[name]
    ctx = click.Context(command)
    params = [p for p in command.params if p.name != "help"]
    assert params
    for param in params:
        spec = _spec_for(step.options, param)
        where = f"{name} {param.opts}"
        if isinstance(param, click.Option):
            assert set(param.opts) == set(spec.flags), where
            if param.help:
                assert spec.help == param.help, where
        assert param.required == spec.required, where
        if not spec.required:
            assert param.get_default(ctx, call=False) == spec.default, where
        if isinstance(param.type, click.Choice):
            assert tuple(param.type.choices) == spec.choices, where
        if isinstance(param.type, click.types._NumberRangeBase):
            assert (param.type.min, param.type.max) == (spec.min, spec.max), where
        if isinstance(param.type, click.Path):
            settings = {"exists": param.type.exists, "dir_okay": param.type.dir_okay,
                        "file_okay": param.type.file_okay}
            assert settings == spec.path, where
        assert param.multiple == spec.multiple and _scalar(param) is spec.type, where
    if command.help:
        assert step.help == command.help.splitlines()[0]
    # and nothing the CLI lacks is required: a new field can only be an addition
    spelled = {opt for p in params for opt in p.opts}
    assert all(not s.required for s in option_specs(step.options) if not set(s.flags) & spelled and not s.argument)


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
    translate = {f.name: f.metadata for f in dataclasses.fields(TranslateOptions)}
    assert translate["source_lang"]["choices"] == translate["target_lang"]["choices"] == tuple(LANG_NAMES)


def test_build_options_split_into_the_build_settings():
    from pathlib import Path

    options = BuildOptions(input=Path("in.jsonl"), output=Path("out.json"), task="re", lang="zh", seed=7)
    config = options.config()
    assert type(config).__name__ == "BuildConfig" and config.seed == 7 and not hasattr(config, "input")


def test_option_specs_resolve_annotations_and_metadata():
    from pathlib import Path

    from instruct.llm_steps import GenerateOptions
    from instruct.sft_steps import BatchIngestOptions

    build = {s.name: s for s in option_specs(BuildOptions)}
    assert build["schema_path"].flags == ("--schema",) and build["schema_path"].type is Path
    assert build["schema_path"].optional and not build["schema_path"].required
    assert build["schema_path"].path == {"exists": True, "dir_okay": True, "file_okay": True}
    assert build["formats"].multiple and build["formats"].type is str and build["formats"].default == FORMATS
    assert build["random_sort"].type is bool and build["random_sort"].default is False
    assert build["neg_schema"].min == 0.0 and build["neg_schema"].max == 1.0
    assert build["task"].required and build["task"].choices == TASKS
    inputs = next(s for s in option_specs(GenerateOptions) if s.name == "inputs")
    assert inputs.multiple and inputs.required and inputs.type is Path and inputs.flags == ("-i", "--input")
    batch = option_specs(BatchIngestOptions)[0]
    assert batch.argument and batch.path == {"exists": True, "dir_okay": False, "file_okay": True}
