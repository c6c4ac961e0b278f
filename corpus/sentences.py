"""Lossless sentence and clause boundaries for Chinese, English, code and mixed text.

A rule set (regex + a small abbreviation list), not a trained segmenter: Chinese ends at 。！？；…
with closing quotes/brackets kept; English at . ! ? followed by space and a non-lowercase start, except
after abbreviations, initials and inside decimals; code only between lines. Joining the pieces always
gives the text back. Left out: punkt-style learned abbreviations, quotations spanning sentences.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["auto", "prose", "code"]

# Titles and Latin abbreviations that almost never end a sentence (compared lower-case, without dot).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs cf eg ie al fig figs no nos vol vols pp ed eds gen col lt sgt capt "
    "rev hon mt ft approx dept est jan feb mar apr aug sep sept oct nov dec".split()
)

_CLOSERS = "”’」』）)】》〕\\]\"'"


def _not_after_abbreviation() -> str:
    """Lookbehinds (checked just after a ".") that reject "Dr.", "J." (initial) and "U.S."/"e.g." (dotted).

    Python lookbehinds need a fixed width, so abbreviations are grouped by length.
    """
    by_len: dict[int, list[str]] = {}
    for word in sorted(ABBREVIATIONS):
        by_len.setdefault(len(word), []).append(word)
    parts = [rf"(?<!(?<![A-Za-z])(?i:{'|'.join(words)})\.)" for _, words in sorted(by_len.items())]
    return "".join(parts) + r"(?<!(?<![A-Za-z])[A-Z]\.)(?<!\.[A-Za-z]\.)"


# One regex finds every boundary (its leading character class lets ``re`` scan fast, ~100 MB/s); the
# branch is chosen by lookbehind on the terminator: Chinese marks always end a sentence; . ! ? only
# before whitespace not followed by a lowercase letter ("e.g. the", "'What?' she asked") or at the end,
# and "." not after an abbreviation or initial; a line break always ends one. Trailing closers and
# whitespace stay attached to the sentence.
_PROSE = re.compile(
    rf"[。！？；…!?.\n]"
    rf"(?:(?<=[。！？；…])[。！？；…!?]*[{_CLOSERS}]*\s*"
    rf"|(?<=[.!?]){_not_after_abbreviation()}[.!?]*[{_CLOSERS}]*(?:\s++(?![a-z])|\Z)"
    r"|(?<=\n)\s*)"
)
_CLAUSE = re.compile(rf"[，、：,:;—–]+[{_CLOSERS}]*\s*|\s+")
_FENCE = re.compile(r"^(?:```|~~~)[^\n]*\n", re.M)
_CODE_LINE_HINT = re.compile(r"[;{}]\s*$|^\s*(?:def|class|import|from|return|if|for|while|#include|//|#)\b",
                             re.M)


def _prose_ends(text: str, start: int, stop: int, out: list[int]) -> None:
    out.extend([m.end() for m in _PROSE.finditer(text, start, stop)])


def _code_ends(text: str, start: int, stop: int, out: list[int]) -> None:
    """Preferred code boundaries: after blank lines and before top-level lines (column 0, not a closer)."""
    pos = start
    while pos < stop:
        nl = text.find("\n", pos, stop)
        if nl < 0:
            break
        pos = nl + 1
        if pos >= stop:
            break
        nxt = text[pos]
        if nxt == "\n" or (not nxt.isspace() and nxt not in ")]}"):
            # after a blank line the run of newlines stays on the previous block
            while pos < stop and text[pos] == "\n":
                pos += 1
            if pos < stop:
                out.append(pos)


def looks_like_code(text: str) -> bool:
    """Cheap guess: most lines end in ``; { }`` or start with a keyword/comment, and no Chinese full stop."""
    head = text[:4000]  # a prefix decides: keeps the guess O(1) per document
    lines = head.count("\n") + 1
    if lines < 3 or "。" in head:
        return False
    return len(_CODE_LINE_HINT.findall(head)) * 3 >= lines


def _segments(text: str, kind: Kind) -> list[tuple[int, int, bool]]:
    """(start, stop, is_code) spans: Markdown code fences are code, the rest follows ``kind``."""
    if kind == "code":
        return [(0, len(text), True)]
    fenced = kind == "auto" and ("```" in text or "~~~" in text)  # two scans of the text, done once
    if kind == "auto" and not fenced and looks_like_code(text):
        return [(0, len(text), True)]
    if not fenced:
        return [(0, len(text), False)]
    spans, pos, in_code = [], 0, False
    for m in _FENCE.finditer(text):
        # an opening fence line belongs to the code span; a closing fence line ends it
        cut = m.start() if not in_code else m.end()
        if cut > pos:
            spans.append((pos, cut, in_code))
            pos = cut
        in_code = not in_code
    if pos < len(text):
        spans.append((pos, len(text), in_code))
    return spans


def sentence_ends(text: str, kind: Kind = "auto") -> list[int]:
    """Character offsets where sentences end, strictly increasing, always ending with ``len(text)``.

    ``kind="auto"`` treats fenced Markdown blocks as code and guesses code for the whole text otherwise.
    Whitespace after a sentence belongs to it, so ``text[a:b]`` pieces concatenate back to ``text``.
    """
    out: list[int] = []
    segments = _segments(text, kind)
    for start, stop, is_code in segments:
        (_code_ends if is_code else _prose_ends)(text, start, stop, out)
        out.append(stop)
    if len(segments) == 1 and not segments[0][2]:
        # one prose span: regex matches are non-empty and disjoint, so their ends already increase
        # strictly; only the appended ``len(text)`` may repeat the last one (or be 0 for "")
        if (len(out) > 1 and out[-1] == out[-2]) or out[-1] == 0:
            out.pop()
        return out
    return _strictly_increasing(out, len(text))


def clause_ends(text: str, start: int = 0, stop: int | None = None, kind: Kind = "auto") -> list[int]:
    """Fallback cut points inside an over-long sentence: after commas/colons/dashes or spaces in prose,
    after every line break in code. Character offsets in ``(start, stop)``."""
    stop = len(text) if stop is None else stop
    if kind == "code" or (kind == "auto" and "\n" in text[start:stop] and looks_like_code(text[start:stop])):
        return [i + 1 for i in range(start, stop - 1) if text[i] == "\n"]
    return [m.end() for m in _CLAUSE.finditer(text, start, stop) if start < m.end() < stop]


def _strictly_increasing(ends: list[int], n: int) -> list[int]:
    out: list[int] = []
    for e in ends:
        if 0 < e <= n and (not out or e > out[-1]):
            out.append(e)
    return out


def split_sentences(text: str, kind: Kind = "auto") -> list[str]:
    """The sentences of ``text`` as strings; ``"".join(split_sentences(t)) == t`` for every ``t``."""
    pieces, prev = [], 0
    for end in sentence_ends(text, kind):
        pieces.append(text[prev:end])
        prev = end
    return pieces
