"""The IE instruction spine: ``convert`` (IE dataset -> IE records) -> ``build`` (records -> instructions)
-> ``evaluate`` (predictions vs gold), each a function of one frozen options dataclass.

An options dataclass is the step's contract: its fields are the options, with their types and defaults,
and their ``metadata`` says how to offer them (the CLI generates its commands from :data:`STEPS`):

* ``help``: the help text; ``choices``: the allowed values, taken from the library's own tables;
* ``flags``: the spellings when not ``--field-name`` (``("-i", "--input")``);
* ``min`` / ``max``: bounds of a number (inclusive); ``path``: click.Path settings (``exists``,
  ``dir_okay``, ``file_okay``) of a ``Path`` field; ``argument``: a positional argument.

A field without a default is required; a ``bool`` is a flag; a ``tuple`` is a repeatable option.
:func:`option_specs` resolves all of that (and the string annotations) into one :class:`OptionSpec` per
field. Printing stays with the caller; ``*_lines`` give the lines the CLI shows.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from instruct.build.manifest import read_manifest
from instruct.build.run import BuildConfig, build_file, count_empty
from instruct.evaluate import align, evaluate_rows
from instruct.formats import read_rows
from instruct.ie import convert as ie_convert
from instruct.ie.schema import TASKS

_IN = {"exists": True}
_OUT_FILE = {"dir_okay": False}


# --- convert ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ConvertOptions:
    """``knowforge instruct convert``: one IE dataset into IE records (``instruct.ie.convert``)."""

    format: str = field(metadata={"help": "Dataset layout of the input.", "choices": tuple(ie_convert.READERS)})
    input: Path = field(metadata={
        "help": "Dataset file, or a directory of them (CASIE: a directory of annotation files).",
        "flags": ("-i", "--input"), "path": _IN})
    output: Path = field(metadata={"help": "IE-records JSONL to write.", "flags": ("-o", "--output"),
                                   "path": _OUT_FILE})


def convert(options: ConvertOptions) -> dict[str, Any]:
    """Convert ``options.input`` into IE records at ``options.output`` (plus rejected and stats files);
    return the counts."""
    return ie_convert.convert(options.format, Path(options.input), Path(options.output))


def convert_lines(options: ConvertOptions, stats: dict[str, Any]) -> list[str]:
    """What ``instruct convert`` prints: the counts in one line."""
    return [f"{options.format}: {stats.get('records', 0)} records, {stats.get('entities', 0)} entities, "
            f"{stats.get('relations', 0)} relations, {stats.get('events', 0)} events, "
            f"{stats['rejected']} rejected {stats['reasons'] or ''} -> {options.output}"]


# --- build --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BuildOptions(BuildConfig):
    """``knowforge instruct build``: the build settings (:class:`BuildConfig`) plus the files."""

    input: Path = field(metadata={"help": "IE-records JSONL (from `instruct convert`).",
                                  "flags": ("-i", "--input"), "path": _IN})
    output: Path = field(metadata={"help": "Instruction file (.json = JSON array, else JSONL).",
                                   "flags": ("-o", "--output"), "path": _OUT_FILE})
    compare: Path | None = field(default=None, metadata={
        "help": "Instruction rows (e.g. IEPile's released train.json) whose all-empty share to print beside ours.",
        "path": {"exists": True, "dir_okay": False}})

    def config(self) -> BuildConfig:
        """The build settings alone (what the output's manifest records)."""
        return BuildConfig(**{f.name: getattr(self, f.name) for f in fields(BuildConfig)})


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    """What ``build`` did: ``stats`` as in ``NAME.stats.json``; ``compare`` = (all-empty rows, rows) of
    the ``--compare`` file, None without one."""

    stats: dict[str, Any]
    compare: tuple[int, int] | None = None


def build(options: BuildOptions) -> BuildResult:
    """Build instructions from ``options.input`` into ``options.output`` with its stats, rejected and
    manifest files; count the all-empty answers of ``options.compare`` too."""
    stats = build_file(Path(options.input), Path(options.output), options.config())
    return BuildResult(stats=stats, compare=count_empty(options.compare) if options.compare else None)


def build_lines(options: BuildOptions, result: BuildResult) -> list[str]:
    """What ``instruct build`` prints: totals, the all-empty share (and the compared file's), counts."""
    stats = result.stats
    empty = f"  all-empty answers: {stats['empty_answers']} of {stats['instructions']} ({stats['empty_share']:.1%})"
    if result.compare is not None:
        n_empty, n = result.compare
        empty += f"; {options.compare}: {n_empty} of {n} ({n_empty / n if n else 0:.1%})"
    return [f"{stats['instructions']} instructions from {stats['records']} records "
            f"({stats['rejected']} rejected) -> {options.output}", empty,
            *(f"  {key}: {stats[key]}" for key in ("per_source", "per_template", "per_format"))]


# --- evaluate -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EvaluateOptions:
    """``knowforge instruct evaluate``: predictions against gold instruction rows."""

    pred: Path = field(metadata={
        "help": "Predictions: rows with id + output (or predict), or gold rows with output replaced.",
        "path": _IN})
    gold: Path | None = field(default=None, metadata={
        "help": "Gold instruction file; default: the prediction rows themselves (they carry label).",
        "path": _IN})
    task: str = field(metadata={"help": "IE task the rows ask for.", "choices": TASKS})
    output: Path | None = field(default=None, metadata={"help": "Write the report as JSON.",
                                                        "flags": ("-o", "--output"), "path": _OUT_FILE})


def recorded_style(path: Path) -> str | None:
    """The instruction style the build manifest of ``path`` records; None without a manifest that
    describes these bytes (then each row's ``meta.style`` or its instruction text decides)."""
    manifest = read_manifest(path)
    return manifest.get("style") if manifest else None


def evaluate(options: EvaluateOptions) -> dict[str, Any]:
    """Score ``options.pred`` against ``options.gold`` (or against the label the prediction rows carry);
    write the report as JSON to ``options.output`` if given; return it.

    The gold file's build manifest, when it has one, gives the instruction style of its rows.
    """
    preds = read_rows(options.pred)
    gold_path = options.gold or options.pred
    gold = read_rows(gold_path) if options.gold else preds
    report = evaluate_rows(options.task, gold, align(gold, preds), style=recorded_style(gold_path))
    if options.output:
        # Written in place, as the CLI always did: a temporary beside it and a rename would replace what
        # the path names (``-o /dev/stdout``, ``/dev/full``) instead of writing to it.
        Path(options.output).write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return report


def evaluate_lines(options: EvaluateOptions, report: dict[str, Any]) -> list[str]:
    """What ``instruct evaluate`` prints: one line per score, then groups, errors and missing answers."""
    lines = [f"{name:<9} P={s['p']:.4f} R={s['r']:.4f} F1={s['f1']:.4f} (tp {s['tp']}, pred {s['pred']}, "
             f"gold {s['gold']})" for name, s in report["scores"].items()]
    return [*lines, f"groups {report['groups']}, unparseable answers {report['errors']}, missing {report['missing']}"]


# --- reading the options ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OptionSpec:
    """One field of an options dataclass as a command-line option, resolved from its annotation and metadata.

    ``type`` is the value type (``str``, ``int``, ``float``, ``bool``, ``Path``): of each value when
    ``multiple``. ``default`` is meaningless when ``required``. ``path`` holds click.Path's ``exists``,
    ``dir_okay``, ``file_okay`` for a ``Path`` field.
    """

    name: str
    flags: tuple[str, ...]
    type: type
    required: bool
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    multiple: bool = False
    optional: bool = False  # the annotation admits None
    min: float | None = None
    max: float | None = None
    path: dict[str, bool] | None = None
    argument: bool = False


def option_specs(options: type) -> list[OptionSpec]:
    """The options of an options dataclass, in field order, ready to turn into click parameters."""
    hints = typing.get_type_hints(options)
    specs = []
    for f in fields(options):
        hint, meta = hints[f.name], f.metadata
        args = typing.get_args(hint)
        optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
        if optional:
            hint = next(a for a in args if a is not type(None))
        multiple = typing.get_origin(hint) is tuple
        value_type = typing.get_args(hint)[0] if multiple else hint
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        path = None
        if value_type is Path:
            given = meta.get("path") or {}
            path = {"exists": given.get("exists", False), "dir_okay": given.get("dir_okay", True),
                    "file_okay": given.get("file_okay", True)}
        specs.append(OptionSpec(
            name=f.name, flags=tuple(meta.get("flags") or (f"--{f.name.replace('_', '-')}",)), type=value_type,
            required=required, default=None if required else f.default, help=meta.get("help", ""),
            choices=tuple(meta["choices"]) if "choices" in meta else None, multiple=multiple, optional=optional,
            min=meta.get("min"), max=meta.get("max"), path=path, argument=bool(meta.get("argument"))))
    return specs


# --- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One spine step: its options dataclass, the function running it, and the lines to print after."""

    options: type
    run: Callable[[Any], Any]
    lines: Callable[[Any, Any], list[str]]
    help: str


STEPS: MappingProxyType[str, Step] = MappingProxyType({
    "convert": Step(ConvertOptions, convert, convert_lines,
                    "Convert an open IE dataset into IE records (rejected lines go to NAME.rejected.jsonl)."),
    "build": Step(BuildOptions, build, build_lines,
                  "Build KnowLM- or IEPile-style instructions from IE records; counts go to NAME.stats.json."),
    "evaluate": Step(EvaluateOptions, evaluate, evaluate_lines,
                     "Micro precision/recall/F1 of IE answers, overall, per type and per category."),
})
