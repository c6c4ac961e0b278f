"""Options declared once: click commands and YAML type checks generated from library dataclass fields.

A command-line option is a field of the library dataclass it sets (a stage, a settings or options
record): its type, default and choices come from the field (a ``Literal`` annotation, or a library table).
How it is shown (help text, flag spelling) is an ``Opt``: made from the field's metadata (``instruct``'s
options dataclasses, ``instruct/commands.py``) or, for stages, in a table of their own
(``corpus/stage_options.py``: a stage module's source is part of its shards' fingerprints). Options that set no field (``-i``, ``-o``)
are an ``Opt`` with a default of its own. ``tests/test_cli_options.py`` checks every ``--help`` against this.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click


class _Missing:
    """No value: an option not given, a field without a default (dataclasses.MISSING cannot be a default)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclasses.dataclass(frozen=True)
class Opt:
    """How one option is shown and parsed; everything else comes from the field it sets.

    ``flags``: click declarations (default ``--field-name``); ``invert``: a flag that turns a field that
    defaults to True off (``--no-nfkc`` sets ``nfkc=False``); ``sep``: comma-separated text becomes a
    tuple (``--kinds email,ip``); ``convert``: the parsed value into the field's value (e.g. a negative
    threshold into None). A value of None from the command line is never passed: the field keeps its
    own default (``read``'s options, which apply to some readers only).
    """

    help: str = ""
    flags: tuple[str, ...] = ()
    type: Any = None  # a click type (IntRange, Path, ...); default: from the annotation
    choices: Sequence[str] | None = None  # default: a Literal annotation's values
    default: Any = MISSING  # an option that sets no field, or a CLI default of None ("not given")
    required: bool = False
    multiple: bool = False
    sep: str | None = None
    invert: bool = False
    show_default: bool | None = None  # default: shown unless None, False or empty
    convert: Callable[[Any], Any] | None = None
    metavar: str | None = None


def user_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The fields of a dataclass a user may set: constructor fields not marked ``internal``."""
    return {f.name: f for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}


def field_default(field: dataclasses.Field) -> Any:
    """A field's default value (calling its factory), or MISSING for a required field."""
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return MISSING


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: treat the fields as untyped
        return {}


def _strip_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def literal_choices(annotation: Any) -> tuple | None:
    """The values of a ``Literal[...]`` annotation (also inside ``| None``), else None."""
    annotation = _strip_none(annotation)
    return typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else None


def _click_type(opt: Opt, annotation: Any) -> Any:
    if opt.type is not None:
        return opt.type
    choices = opt.choices or literal_choices(annotation)
    if choices:
        return click.Choice(list(choices))
    if opt.sep is not None:
        return str
    base = _strip_none(annotation)
    if typing.get_origin(base) in (tuple, list) and opt.multiple:
        base = typing.get_args(base)[0] if typing.get_args(base) else str
    if base is Path:
        return click.Path(path_type=Path)
    return base if base in (int, float, str) else None


@dataclasses.dataclass(frozen=True)
class Param:
    """One generated option: the key it sets (``field`` or ``group.field``), its Opt and its CLI default."""

    key: str
    opt: Opt
    default: Any  # what the option's default stands for, as the field holds it
    annotation: Any

    @property
    def name(self) -> str:
        """The click parameter name (a key ``llm.max_tokens`` becomes ``llm__max_tokens``)."""
        return self.key.replace(".", "__").replace("-", "_")

    @property
    def is_flag(self) -> bool:
        """Whether the option is an on/off flag (a bool field, or an own option typed bool)."""
        return _strip_none(self.annotation) is bool and not self.opt.multiple

    def shown_default(self) -> Any:
        """The default as ``--help`` shows it: ``zh,en`` for a separated tuple, nothing for None/False."""
        if self.opt.show_default is False or self.default is MISSING or self.opt.required:
            return None
        value = self.default
        if isinstance(value, tuple | list) and value:
            value = (self.opt.sep or ", ").join(map(str, value))  # click joins a repeatable's with ", "
        if self.is_flag:  # an on/off flag: its help says what it does; --x/--no-x shows the one that is on
            return self.key.rsplit(".", 1)[-1].replace("_", "-") if self.default is True and not self.opt.invert \
                else None
        if value is None or value == () or value == "" or value is False:
            return None
        return value

    def click_option(self) -> click.Option:
        """The click option this parameter generates."""
        opt = self.opt
        decls = list(opt.flags) or ["--" + self.key.rsplit(".", 1)[-1].replace("_", "-")]
        shown = self.shown_default()
        kwargs: dict[str, Any] = {"help": opt.help, "required": opt.required, "metavar": opt.metavar}
        if self.is_flag:
            if self.default is True and not opt.invert:  # its off switch: --verify/--no-verify
                decls = [f"{decls[-1]}/--no-{decls[-1].removeprefix('--')}"]
                kwargs.update(default=True)
            else:  # None: not given, so a field only some classes have is not passed (read --keep-redirects)
                kwargs.update(is_flag=True, default=None if opt.default is None else False)
        else:
            kwargs.update(type=_click_type(opt, self.annotation), multiple=opt.multiple)
            if opt.multiple:  # the field's own tuple (shown as click shows a list), else none
                kwargs["default"] = self.default if isinstance(self.default, tuple | list) else ()
            elif not opt.required:
                kwargs["default"] = shown if opt.sep is not None and shown is not None else (
                    None if self.default is MISSING else self.default)
        kwargs["show_default"] = shown is not None and opt.show_default is not False
        return click.Option([*decls, self.name], **kwargs)

    def value(self, raw: Any) -> Any:
        """The field's value for what the command line gave (MISSING: not given, keep the default)."""
        if raw is None:
            return MISSING
        opt = self.opt
        if opt.invert:
            raw = not raw
        if opt.sep is not None and isinstance(raw, str):
            raw = tuple(part.strip() for part in raw.split(opt.sep) if part.strip())
        elif opt.multiple:
            raw = tuple(raw)
        return opt.convert(raw) if opt.convert is not None else raw


def _group_of(key: str, groups: Mapping[str, type]) -> tuple[str, str]:
    """``group.field`` -> (group, field); a bare field of the only group belongs to it; else ("", key)."""
    group, _, name = key.rpartition(".")
    if not group and len(groups) == 1 and name in user_fields(next(iter(groups.values()))):
        group = next(iter(groups))
    return group, name


def params(options: Mapping[str, Opt], groups: Mapping[str, type] | None = None) -> list[Param]:
    """One Param per option: a key ``group.field`` (or ``field`` with a single group) takes its default
    and annotation from that dataclass field; a key that names no field needs the Opt's own default."""
    groups = dict(groups or {})
    found = []
    for key, opt in options.items():
        group, name = _group_of(key, groups)
        cls = groups.get(group)
        fields = user_fields(cls) if cls is not None else {}
        if name in fields:
            default = opt.default if opt.default is not MISSING else field_default(fields[name])
            found.append(Param(key, opt, default, _hints(cls).get(name, Any)))
        elif group and group in groups:
            raise TypeError(f"option {key!r}: {cls.__name__} has no field {name!r}")
        else:
            if opt.default is MISSING and not opt.required and not opt.multiple and opt.type is not bool:
                raise TypeError(f"option {key!r} sets no field, so its Opt needs a default")
            annotation = bool if opt.type is bool else Any
            found.append(Param(key, opt, opt.default, annotation))
    return found


def collect(found: Sequence[Param], values: Mapping[str, Any], groups: Mapping[str, type] | None = None
            ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Split parsed click values into the command's own options and each group's field values."""
    groups = dict(groups or {})
    own: dict[str, Any] = {}
    fields: dict[str, dict[str, Any]] = {group: {} for group in groups}
    for param in found:
        value = param.value(values.get(param.name))
        group, name = _group_of(param.key, groups)
        if group in groups:
            if value is not MISSING:
                fields[group][name] = value
        else:
            own[param.key] = None if value is MISSING else value
    return own, fields


# --- YAML: the same fields, checked before anything runs -------------------------------------------------


def _type_name(annotation: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", Path: "a path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _matches(value: Any, annotation: Any) -> bool | None:
    """Whether a YAML value fits a field's annotation; None when the annotation is too rich to check."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_matches(value, arg) for arg in typing.get_args(annotation)]
        return True if any(v is True for v in verdicts) else (None if None in verdicts else False)
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation in (str, Path):
        return isinstance(value, str)
    if origin in (tuple, list) or annotation in (tuple, list):
        return isinstance(value, list | tuple)
    if origin is dict or annotation is dict:
        return isinstance(value, dict)
    return None


def check_option_types(kind: str, name: str, cls: type, options: Mapping[str, Any],
                       choices: Mapping[str, Sequence[str]] | None = None) -> None:
    """Reject a YAML option whose value does not fit the field's type or its choices, naming both.

    ``threshold: high`` then fails here with one line, not deep inside the stage with a TypeError;
    ``choices`` are the ones the command line offers for the same field (``minhash: fastest``).
    """
    from corpus.builder import ConfigError

    hints = _hints(cls)
    for key, value in options.items():
        allowed = (choices or {}).get(key)
        if allowed and isinstance(value, str) and value not in allowed:
            raise ConfigError(f"{kind} {name!r}: option {key} must be one of {', '.join(allowed)}, got {value!r}")
        annotation = hints.get(key)
        if annotation is None or _matches(value, annotation) is not False:
            continue
        args = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
        expected = " or ".join(_type_name(a) for a in args)
        if type(None) in typing.get_args(annotation):
            expected += " (or null)"
        raise ConfigError(f"{kind} {name!r}: option {key} must be {expected}, got {value!r}")


# --- commands -----------------------------------------------------------------------------------------------


def construct(group: str, cls: type, fields: Mapping[str, Any]) -> Any:
    """Make a group's dataclass from the fields the command line gave (the rest keep their defaults)."""
    return cls(**fields)


@dataclasses.dataclass(frozen=True)
class Command:
    """A command generated from options: ``run(*arguments, **own options, **{group: instance})``.

    ``groups`` maps a keyword of ``run`` to the dataclass whose fields the ``group.field`` options set
    (with one group, a bare field name works too); ``build`` makes each instance (default: the class
    itself; stages go through ``corpus.steps.build_step``, which names a bad option in one line).
    ``help`` defaults to ``run``'s docstring.
    """

    name: str
    run: Callable[..., Any]
    options: Mapping[str, Opt]
    groups: Mapping[str, type] = dataclasses.field(default_factory=dict)
    arguments: tuple[click.Argument, ...] = ()
    help: str | None = None
    build: Callable[[str, type, Mapping[str, Any]], Any] = construct

    def params(self) -> list[Param]:
        """The generated options, in declaration order."""
        return params(self.options, self.groups)

    def click_command(self, cls: type[click.Command] = click.Command) -> click.Command:
        """The click command: parsing is click's; values go back into fields (see ``Param.value``)."""
        found = self.params()
        names = [a.name for a in self.arguments]

        only = next(iter(self.groups)) if len(self.groups) == 1 else None
        into_fields = [n for n in names if only and n in user_fields(self.groups[only])]

        def callback(**values: Any) -> Any:
            own, fields = collect(found, values, self.groups)
            for name in into_fields:  # an argument that is a field (``batch-ingest BATCH_OUTPUT``)
                fields[only][name] = values[name]
            built = {group: self.build(group, kind, fields[group]) for group, kind in self.groups.items()}
            return self.run(*(values[n] for n in names if n not in into_fields), **own, **built)

        doc = self.help or (self.run.__doc__ or "")
        return cls(self.name, callback=callback, params=[*self.arguments, *(p.click_option() for p in found)],
                   help=doc, short_help=None)


def add_commands(group: click.Group, commands: Sequence[Command]) -> None:
    """Attach generated commands to a click group, with the group's command class."""
    for command in commands:
        group.add_command(command.click_command(group.command_class or click.Command))


def kwarg_default(func: Callable[..., Any], name: str) -> Any:
    """The default of ``func``'s keyword ``name``: an option of a command that calls a plain function
    takes its default from there (``split_file(seed=42)``), not from a copy."""
    import inspect

    default = inspect.signature(func).parameters[name].default
    if default is inspect.Parameter.empty:
        raise TypeError(f"{func.__name__}() has no default for {name!r}")
    return default
