"""One document's text and the pieces several filter rules measure, each computed once, on first use.

Before, every filter split the text into lines, words and characters again (the zh chain split it
four times); the stage now builds one :class:`TextView` per document and hands it to each filter of
the chain, so a split is paid once per document. A filter's ``score`` still accepts a plain ``str``.
"""

from __future__ import annotations

import re
from functools import cached_property

_PARAGRAPHS = re.compile(r"\n\s*\n")


class TextView:
    """Lazily computed, shared views of ``text``; read-only, so filters stay pure."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._memo: dict[tuple, object] = {}

    @classmethod
    def of(cls, text: str | TextView) -> TextView:
        """``text`` itself when it is already a view, else a new view of the string."""
        return text if isinstance(text, TextView) else cls(text)

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped."""
        return [line for line in map(str.strip, self.text.split("\n")) if line]

    @cached_property
    def paragraphs(self) -> list[str]:
        """Non-empty blocks between blank lines, stripped."""
        return [p for p in map(str.strip, _PARAGRAPHS.split(self.text)) if p]

    @cached_property
    def words(self) -> list[str]:
        """Whitespace tokens (Gopher's words)."""
        return self.text.split()

    @cached_property
    def chars(self) -> str:
        """The text without any whitespace (the zh rules' characters)."""
        return "".join(self.words)

    @cached_property
    def lower(self) -> str:
        """The text lower-cased."""
        return self.text.lower()

    @cached_property
    def line_kinds(self) -> list[str]:
        """:func:`corpus.filters.lines.line_kinds` of :attr:`lines`."""
        from corpus.filters.lines import line_kinds

        return line_kinds(self.lines)

    def memo(self, key: tuple, compute):
        """``compute()`` once per ``key`` for this text (language ID per prefix length, normalised text)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]
