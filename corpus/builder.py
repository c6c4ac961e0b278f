"""The one checked builder behind every name table: a name and YAML/CLI options -> an instance.

Steps and readers (``corpus/steps.py``) and document filters (``corpus/filters/registry.py``) are
keyword-only dataclasses looked up by name; ``build`` checks the options against the constructor's
fields, so an unknown or misspelt key fails with one line, and raises one error type, ``ConfigError``.
It imports nothing of ours, so any table can use it without an import circle.
"""

from __future__ import annotations

import dataclasses
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
        return cls(**options)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{kind} {name!r}: {err}") from None
