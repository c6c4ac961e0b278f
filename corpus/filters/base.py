"""The filter contract: what a document filter is, what it answers, and the helpers every filter shares.

A filter is a small frozen keyword-only dataclass with a ``name``, a pure ``score(text) -> dict`` and a
``decide(scores, doc) -> Verdict`` (datatrove's filter/writer split, data-juicer's stats-then-decide).
Everything else lives once, elsewhere: the table of filter names (``registry.py``), the YAML routes
(``route.py``) and the stage that counts, times and rejects (``stage.py``). This module imports no filter.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np

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

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """``[self.score(view) for view in views]``: the stage scores a batch of documents with this call.
        A filter may override it to measure the whole batch at once; the scores must be the same."""
        return [self.score(view) for view in views]

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


def _code_point_ranges(pattern: re.Pattern, start: int, stop: int) -> list[tuple[int, int]]:
    """Inclusive ranges of the code points in ``[start, stop)`` where ``pattern`` (runs of one class) matches."""
    every = np.arange(start, stop, dtype="<u4").tobytes().decode("utf-32-le")  # 5 ms, where a join of chr takes 100
    return [(start + m.start(), start + m.end() - 1) for m in pattern.finditer(every)]


@functools.lru_cache(maxsize=16)
def re2_class(python_class: str) -> str:
    r"""The characters Python's ``re`` matches with ``python_class`` (one character: ``r"\d"``,
    ``r"[^\S\n]"``), as the inside of an RE2 character class (``\x{30}-\x{39}\x{660}-...``).

    RE2's ``\d`` and ``\s`` are ASCII and its Unicode tables are not Python's, so a class is spelt out from
    what ``re`` itself matches over every code point (surrogates left out: they cannot be UTF-8 encoded);
    a pattern built from these classes matches exactly where its Python twin does. ~30 ms a class, once.
    """
    runs = re.compile(f"(?:{python_class})+")
    ranges = _code_point_ranges(runs, 0, 0xD800) + _code_point_ranges(runs, 0xE000, 0x110000)
    return "".join(f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges)


def batch_contains(texts: Sequence[str], pattern: str) -> list[bool]:
    """Per text, whether the RE2 ``pattern`` matches somewhere in it: one ``pyarrow.compute`` call (C++,
    linear time, ~1.5 ns a byte) for a whole batch, where ``re`` costs a call per text and often tens of
    ns a character. Filters use it to skip an exact Python pass that cannot match: the pattern must match
    wherever that pass would (build its classes with :func:`re2_class`). A text holding a lone surrogate
    cannot be UTF-8 encoded for pyarrow and answers True, so the exact pass decides it."""
    import pyarrow.compute as pc

    array, encodable = _arrow_strings(texts)
    found = pc.match_substring_regex(array, pattern).to_pylist()
    if encodable is None:
        return found
    return [hit or not ok for hit, ok in zip(found, encodable, strict=True)]


def batch_count(texts: Sequence[str], pattern: str, python: re.Pattern) -> list[int]:
    """Per text, ``len(python.findall(text))`` from one ``pyarrow.compute`` RE2 count of ``pattern`` over the
    batch (non-overlapping matches, as ``findall``'s): ``pattern`` must be ``python`` spelt for RE2 (no
    lookaround, classes from :func:`re2_class`), so that both find the same matches. A text pyarrow cannot
    encode (a lone surrogate) is counted by ``python`` itself."""
    import pyarrow.compute as pc

    array, encodable = _arrow_strings(texts)
    found = pc.count_substring_regex(array, pattern).to_pylist()
    if encodable is None:
        return found
    return [n if ok else len(python.findall(t)) for t, n, ok in zip(texts, found, encodable, strict=True)]


def _arrow_strings(texts: Sequence[str]) -> tuple[Any, list[bool] | None]:
    """``texts`` as a pyarrow string array, and None; or, when some text cannot be UTF-8 encoded (a lone
    surrogate), the array with those texts blank and which texts were encodable, for the caller to
    answer the blank ones in Python."""
    import pyarrow as pa

    try:
        return pa.array(texts, type=pa.string()), None
    except UnicodeEncodeError:
        encodable = [_encodes(text) for text in texts]
        blanked = [text if ok else "" for text, ok in zip(texts, encodable, strict=True)]
        return pa.array(blanked, type=pa.string()), encodable


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
