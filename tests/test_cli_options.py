"""Every command's ``--help`` against the fields its options set: name, default and help text, so the
command line cannot drift from the library (issue #21)."""

import dataclasses
import re
import typing

import click
import pytest
from click.testing import CliRunner

import cli
from cli import main
from corpus import commands as corpus_commands
from corpus import stage_options
from corpus.options import MISSING, Opt, Param, check_option_types, field_default, params, user_fields
from corpus.steps import READERS, STEPS, ConfigError
from instruct import commands as instruct_commands
from kg2instruction import commands as kg_commands

TABLES = {
    ("corpus",): corpus_commands.CORPUS_COMMANDS,
    ("tokenizer",): corpus_commands.TOKENIZER_COMMANDS,
    (): [*corpus_commands.PIPELINE_COMMANDS, cli.DEMO],
    ("instruct",): instruct_commands.COMMANDS,
    ("kg2instruction",): kg_commands.COMMANDS,
}
COMMANDS = [(path, command) for path, table in TABLES.items() for command in table]


def _squash(text: str) -> str:
    # --help wraps lines (also after a hyphen): compare without any whitespace.
    return re.sub(r"\s+", "", text)


def _help(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _command(path: tuple[str, ...], name: str) -> tuple[click.Command, click.Context]:
    """The click command as ``knowforge`` builds it, and a context for its help records."""
    group, ctx = main, click.Context(main, info_name="knowforge")
    for part in path:
        group = group.get_command(ctx, part)
        ctx = click.Context(group, info_name=part, parent=ctx)
    command = group.get_command(ctx, name)
    return command, click.Context(command, info_name=name, parent=ctx)


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join([*p, c.name]) for p, c in COMMANDS])
def test_help_shows_every_option_with_its_field_default_and_help(path, command):
    text = _squash(_help(*path, command.name))
    real, ctx = _command(path, command.name)
    shown = {tuple(p.opts + p.secondary_opts) for p in real.get_params(ctx)
             if isinstance(p, click.Option) and "--help" not in p.opts}
    found = command.params()
    # The option set of --help is exactly the declared one.
    assert shown == {tuple(p.click_option().opts + p.click_option().secondary_opts) for p in found}
    for param in found:
        decl, help_text = param.click_option().get_help_record(ctx)
        assert _squash(decl) in text and _squash(param.opt.help) in text, (command.name, param.key)
        default = param.shown_default()
        if default is not None:
            assert _squash(f"default: {default}") in _squash(help_text) and _squash(help_text) in text, param.key
        else:
            assert "[default:" not in help_text, param.key  # a help text may say a default in words


def _field_params():
    for _path, command in COMMANDS:
        for param in command.params():
            group, _, name = param.key.rpartition(".")
            cls = command.groups.get(group) or (next(iter(command.groups.values())) if len(command.groups) == 1
                                                 else None)
            if cls is not None and name in user_fields(cls):
                yield command.name, param, cls, name


FIELD_PARAMS = list(_field_params())


@pytest.mark.parametrize(("command", "param", "cls", "name"), FIELD_PARAMS,
                         ids=[f"{c}:{p.key}" for c, p, _, _ in FIELD_PARAMS])
def test_an_option_that_sets_a_field_defaults_to_that_field(command, param, cls, name):
    """The CLI default is the field's own (or None: 'not given', the field keeps its default)."""
    field = user_fields(cls)[name]
    if param.opt.default is MISSING:
        assert param.default == field_default(field), (command, name)
    else:
        assert param.opt.default is None, f"{command} --{name}: a default of its own would copy the field's"


def test_the_dedup_defaults_are_near_dedup_steps():
    """The issue's example: the dedup options mirrored corpus/dedup/near.py by hand."""
    from corpus.dedup.near import NearDedupStep

    text = _squash(_help("corpus", "dedup"))
    for name in ("threshold", "num_perm", "ngram", "word_ngram", "minhash"):
        value = getattr(NearDedupStep(), name)
        assert _squash(f"default: {value}") in text, name


def test_every_stage_field_is_an_option_or_declared_yaml_only():
    """A new stage field must be offered on the command line or listed in YAML_ONLY: a choice, not a slip."""
    by_name = {c.name: c for c in corpus_commands.STAGES}
    for name, cls in STEPS.items():
        if name not in by_name:
            assert name == "merge"  # runs once over whole pack outputs: YAML only (configs/knowlm.yaml)
            continue
        offered = {p.key.rsplit(".", 1)[-1] for p in by_name[name].params()}
        missing = set(user_fields(cls)) - offered - stage_options.YAML_ONLY.get(name, set())
        assert not missing, (name, missing)
        stale = stage_options.YAML_ONLY.get(name, set()) - set(user_fields(cls))
        assert not stale, (name, stale)


def test_every_read_option_is_a_reader_field_and_every_reader_field_an_option():
    fields = {f for cls in READERS.values() for f in user_fields(cls)}
    offered = {p.key for p in corpus_commands.READ.params()} - {"inputs", "output", "source"}
    assert offered <= fields
    assert fields - offered == stage_options.READ_YAML_ONLY


def test_choices_come_from_the_library_tables():
    from instruct.ie.convert import READERS as IE_READERS

    convert = _help("instruct", "convert")
    assert all(name in convert for name in IE_READERS)  # was a copy, cli.IE_FORMATS
    read = _help("corpus", "read")
    assert all(name in read for name in READERS)


def _choices(command, key: str) -> tuple:
    param = next(p for p in command.params() if p.key == key)
    return tuple(param.click_option().type.choices)


def test_choice_lists_are_the_modules_tables():
    """Each Choice is the table of the module that implements it, so a new value is one edit there."""
    from corpus.readers.leetcode import DOOCS_LANGS
    from corpus.score.stage import MODEL_FORMATS
    from kg2instruction.build import LANG_CHOICES
    from kg2instruction.kb import LANGS

    score_train = next(c for c in corpus_commands.STANDALONE if c.name == "score-train")
    assert _choices(corpus_commands.READ, "doocs_lang") == tuple(DOOCS_LANGS) == ("en", "zh")
    assert _choices(score_train, "fmt") == MODEL_FORMATS == ("json", "arpa")
    assert _choices(kg_commands.BUILD, "lang") == tuple(LANG_CHOICES) == ("zh", "en", "both")
    assert LANG_CHOICES["both"] == LANGS and LANG_CHOICES["en"] == ("en",)


@pytest.mark.parametrize(("step", "options", "needle"), [
    ("dedup", {"minhash": "fastest"}, "minhash must be one of fast, classic"),
    ("pack", {"format": "safetensors"}, "format must be one of megatron, knowlm, hf"),
    ("score", {"scorer": "fasttext"}, "scorer must be one of ppl"),
])
def test_yaml_values_are_checked_against_the_commands_choices(step, options, needle):
    from corpus.pipeline import parse_config

    with pytest.raises(ConfigError, match=needle):
        parse_config({"steps": [{step: options}]})


def test_yaml_reader_values_are_checked_against_reads_choices():
    from corpus.pipeline import parse_config

    with pytest.raises(ConfigError, match="option tables must be one of drop, rows, got 'keep'"):
        parse_config({"steps": [{"read": {"source": "wiki", "input": ["x.xml"], "tables": "keep"}}]})


def test_check_option_types_names_the_type():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Step:
        threshold: float = 0.5
        mode: typing.Literal["a", "b"] = "a"

    with pytest.raises(ConfigError, match="option threshold must be a number, got 'high'"):
        check_option_types("step", "s", Step, {"threshold": "high"})
    check_option_types("step", "s", Step, {"threshold": 1, "mode": "b"})


def test_params_turn_command_line_text_into_field_values():
    @dataclasses.dataclass(frozen=True, kw_only=True)
    class Settings:
        kinds: tuple[str, ...] = ("a", "b")
        nfkc: bool = True
        verify: bool = True
        cut: float | None = 0.5

    found = {p.key: p for p in params({
        "kinds": Opt("k", sep=","),
        "nfkc": Opt("n", flags=("--no-nfkc",), invert=True),
        "verify": Opt("v"),
        "cut": Opt("c", convert=lambda x: x if x >= 0 else None),
    }, {"s": Settings})}
    assert found["kinds"].value(" x, y ,") == ("x", "y")
    assert found["kinds"].shown_default() == "a,b"
    assert found["nfkc"].value(True) is False and found["nfkc"].value(False) is True
    assert found["verify"].click_option().secondary_opts == ["--no-verify"]
    assert found["cut"].value(-1.0) is None
    assert found["cut"].value(None) is MISSING  # not given: the field keeps its default


def test_an_option_without_a_field_needs_a_default_and_a_wrong_group_field_fails():
    @dataclasses.dataclass(frozen=True)
    class Settings:
        size: int = 1

    with pytest.raises(TypeError, match="needs a default"):
        params({"extra": Opt("e")}, {})
    with pytest.raises(TypeError, match="Settings has no field 'colour'"):
        params({"s.colour": Opt("c")}, {"s": Settings})
    assert isinstance(params({"s.size": Opt("s")}, {"s": Settings})[0], Param)


def test_generated_commands_keep_the_group_command_class():
    """Generated commands record their parameters (an OS error without a file name names the output)."""
    group = main.get_command(click.Context(main), "instruct")
    command = group.get_command(click.Context(group), "convert")
    assert isinstance(command, cli._RecordedCommand)


def test_the_corpus_groups_own_options_are_its_table():
    """--workers/--force/--quiet/--no-fuse/--engine/--address on `knowforge corpus` come from CHAIN_OPTIONS."""
    text = _squash(_help("corpus"))
    for param in params(corpus_commands.CHAIN_OPTIONS):
        decl, help_text = param.click_option().get_help_record(click.Context(main))
        assert _squash(decl) in text and _squash(help_text) in text, param.key


@pytest.mark.parametrize(("key", "reader", "default", "phrase"), [
    ("text_field", "jsonl", "text", "(default: text)"), ("id_field", "jsonl", "id", "(default: id)"),
    ("namespaces", "wiki", (0,), "(default: 0)"), ("opencc", "wiki", "auto", "(default auto"),
    ("tables", "wiki", "drop", "drop tables with their lead-in sentence (default)"),
    ("math", "wiki", "latex", "as $LaTeX$ (default)"), ("solution_ext", "leetcode", "py", "(default: py)"),
    ("doocs_lang", "leetcode", "en", "(default: en)"), ("encoding", "csv", "utf-8", "(default: utf-8)"),
])
def test_reads_help_says_the_readers_own_defaults(key, reader, default, phrase):
    """`read` options default to "not given" (each reader keeps its own), so their help says the default
    in words: it must be the reader's."""
    assert field_default(user_fields(READERS[reader])[key]) == default
    assert phrase in corpus_commands.READ.options[key].help


@pytest.mark.parametrize(("command", "key"), [("score", "buckets"), ("score", "quantiles"), ("read", "namespaces")])
def test_an_empty_list_option_means_not_given(command, key):
    """`--buckets ""` was "no buckets" (None), not an empty tuple the stage would reject or read nothing with."""
    spec = next(c for c in corpus_commands.CORPUS_COMMANDS if c.name == command)
    param = next(p for p in spec.params() if p.key == key)
    assert param.value("") is None
