"""The filter contract: what a document filter is, what it answers, and the helpers every filter shares.

A filter is a small frozen keyword-only dataclass with a ``name``, a pure ``score(text) -> dict`` and a
``decide(scores, doc) -> Verdict`` (datatrove's filter/writer split, data-juicer's stats-then-decide).
Everything else lives once, elsewhere: the table of filter names (``registry.py``), the YAML routes
(``route.py``) and the stage that counts, times and rejects (``stage.py``). This module imports no filter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from corpus.filters.view import TextView
from corpus.resources import resolve

Scores = dict[str, Any]


class Verdict(NamedTuple):
    """A filter's decision: keep, or the named reason plus the measured value and the bound it crossed."""

    keep: bool
    reason: str | None = None
    value: Any = None
    threshold: Any = None


KEEP = Verdict(True)


def first_violation(scores: Scores, rules: list[tuple[str, str, float | None, str]]) -> Verdict:
    """The first rule ``(reason, score_key, bound, "min"|"max")`` that ``scores`` break, else KEEP.

    A bound of None switches its rule off, so every threshold in YAML can be disabled with ``null``.
    """
    for reason, key, bound, kind in rules:
        if bound is None:
            continue
        value = scores[key]
        if (kind == "max" and value > bound) or (kind == "min" and value < bound):
            return Verdict(False, reason, round(float(value), 4), bound)
    return KEEP


class Filter:
    """Behaviour shared by all filters; subclasses are frozen keyword-only dataclasses with a ``name``."""

    name: ClassVar[str]

    def score(self, text: str | TextView) -> Scores:
        """Measure ``text`` (a string, or the stage's shared :class:`TextView` of it); pure, no side effects.
        Override in subclasses."""
        return {}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Turn scores (and, where needed, ``doc["meta"]``) into a verdict. Override in subclasses."""
        return KEEP

    def keep(self, doc: dict[str, Any]) -> Verdict:
        """Score ``doc["text"]`` and decide, in one call (handy in tests and notebooks)."""
        return self.decide(self.score(doc["text"]), doc)


def resolve_path(path: str | Path, base: Path | None = None) -> Path:
    """Find a config or list file: as given, then beside ``base``, then among the shipped ``configs/``."""
    try:
        return resolve(path, base)
    except FileNotFoundError:
        raise FileNotFoundError(f"filter config or list not found: {path}") from None
