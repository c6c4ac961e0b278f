"""The one checked builder behind every name table: a name and YAML/CLI options -> an instance.

Steps and readers (``corpus/steps.py``) and document filters (``corpus/filters/registry.py``) are
keyword-only dataclasses looked up by name; ``build`` checks the options against the constructor's
fields, so an unknown or misspelt key fails with one line, and raises one error type, ``ConfigError``.
A YAML list for a field annotated ``tuple[...]`` is passed as a tuple, so stages never convert their own
fields. It imports nothing of ours, so any table can use it without an import circle.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any


class ConfigError(ValueError):
    """A pipeline or step configuration the user must fix; the message is one line saying what."""


def build(kind: str, table: dict[str, type], name: str, options: dict[str, Any]) -> Any:
    """Construct ``table[name]`` (a ``kind`` such as ``step``, ``reader``, ``filter``) from checked options.

    Fields marked ``internal`` in their metadata are set by the runner, not by users, so they are
    not options. A constructor's own TypeError/ValueError comes back as a ConfigError naming the entry.
    """
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}")
    cls = table[name]
    known = {f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"{kind} {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(sorted(known)) or '(no options)'}"
        )
    try:
        return cls(**as_declared(cls, options))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{kind} {name!r}: {err}") from None


def tuple_fields(cls: type) -> set[str]:
    """The fields of dataclass ``cls`` annotated ``tuple[...]``, also as ``tuple[...] | None``.

    A union with another sequence type (``tuple[str, ...] | list[str]``) is not one: it takes either.
    """
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that cannot be resolved: nothing is known to be a tuple
        return set()
    found = set()
    for name, annotation in hints.items():
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
        if annotation is tuple or typing.get_origin(annotation) is tuple:
            found.add(name)
    return found


def as_declared(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with each list given for a ``tuple[...]`` field of ``cls`` made a tuple (YAML has none).

    The elements are left as given, and a list fingerprints as the tuple does (``corpus.fingerprint``),
    so this changes neither what a stage does nor which shards a rerun redoes; it keeps stage options
    hashable and frozen without the stage rewriting its own fields after construction.
    """
    wanted = tuple_fields(cls) & {key for key, value in options.items() if isinstance(value, list)}
    return {key: tuple(value) if key in wanted else value for key, value in options.items()}
