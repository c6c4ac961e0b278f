"""One document's text and the pieces several filter rules measure, each computed once, on first use.

Before, every filter split the text into lines, words and characters again (the zh chain split it
four times); the stage now builds one :class:`TextView` per document and hands it to each filter of
the chain, so a split is paid once per document. A filter's ``score`` still accepts a plain ``str``.
"""

from __future__ import annotations

import functools
import re

import numpy as np

_PARAGRAPHS = re.compile(r"\n\s*\n")
# Bits of :func:`char_bits`: Python's ``\s`` (what ``str.split`` splits on, ``str.isspace``) and a letter
# (``[^\W\d_]``: a word character that is neither a digit nor ``_``).
SPACE, LETTER = 1, 2


@functools.lru_cache(maxsize=1)
def _bit_table() -> np.ndarray:
    """Per BMP code point, its :data:`SPACE` and :data:`LETTER` bits (uint8), from the regexes themselves,
    so a count made with the table and one made with the regex cannot disagree."""
    every = "".join(map(chr, range(0x10000)))  # lone surrogates included: a str may hold them
    table = np.zeros(0x10000, dtype=np.uint8)
    for pattern, bit in ((r"\s", SPACE), (r"[^\W\d_]", LETTER)):
        for match in re.finditer(pattern, every):
            table[match.start()] |= bit
    return table


def code_units(text: str) -> np.ndarray | None:
    """The characters of ``text`` as uint16 code points, or None when one is outside the BMP."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    return units if len(units) == len(text) else None


def char_bits(units: np.ndarray) -> np.ndarray:
    """Per code point of ``units`` (:func:`code_units`), its :data:`SPACE` and :data:`LETTER` bits: one
    numpy gather instead of a regex pass, for the measures that ask "letter or space?" of every character."""
    return _bit_table()[units]


class _lazy:  # lower case: a decorator, standing in for functools.cached_property
    """``functools.cached_property`` without its lock: Python 3.11's takes an RLock on each first access
    (~0.55 us, against ~0.27 here), and the stage makes several views' properties for every document. The
    value is stored in the instance's ``__dict__``, which later reads find first (a non-data descriptor)."""

    def __init__(self, func) -> None:
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __get__(self, view, owner=None):
        if view is None:
            return self
        value = view.__dict__[self.name] = self.func(view)
        return value


class TextView:
    """Lazily computed, shared views of ``text``; read-only, so filters stay pure."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._memo: dict[tuple, object] = {}

    @classmethod
    def of(cls, text: str | TextView) -> TextView:
        """``text`` itself when it is already a view, else a new view of the string."""
        return text if isinstance(text, TextView) else cls(text)

    @_lazy
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return [line for line in map(str.strip, self.text.split("\n")) if line]

    @_lazy
    def paragraphs(self) -> list[str]:
        """Non-empty blocks between blank lines, stripped."""
        return [p for p in map(str.strip, _PARAGRAPHS.split(self.text)) if p]

    @_lazy
    def words(self) -> list[str]:
        """Whitespace tokens (Gopher's words)."""
        return self.text.split()

    @_lazy
    def chars(self) -> str:
        """The text without any whitespace (the zh rules' characters)."""
        return "".join(self.words)

    @_lazy
    def lower(self) -> str:
        """The text lower-cased."""
        return self.text.lower()

    @_lazy
    def bits(self) -> np.ndarray | None:
        """:func:`char_bits` of the text, or None when it has characters outside the BMP."""
        units = code_units(self.text)
        return None if units is None else char_bits(units)

    @_lazy
    def line_kinds(self) -> list[str]:
        """:func:`corpus.filters.lines.line_kinds` of :attr:`lines`."""
        from corpus.filters.lines import line_kinds

        return line_kinds(self.lines)

    def knows(self, key: tuple) -> bool:
        """Whether :meth:`memo` has computed ``key`` for this text already."""
        return key in self._memo

    def memo(self, key: tuple, compute):
        """``compute()`` once per ``key`` for this text (language ID per prefix length, normalised text)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
