"""Cut documents into passages for instruction generation: whole sentences (``corpus.sentences``) packed
greedily up to a token budget, each passage keeping its character offsets in the document. Tokens are
estimated without a tokenizer (one per CJK character, one per four other characters, as ``instruct.llm``
budgets requests). Left out: overlapping windows and paragraph-aware packing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from corpus.sentences import sentence_ends
from corpus.text import HAN_CONTIGUOUS


def estimate_tokens(text: str) -> int:
    """Tokenizer-free token estimate of ``text`` (CJK characters count one, other characters a quarter)."""
    cjk = HAN_CONTIGUOUS.count(text)
    return cjk + (len(text) - cjk + 3) // 4


@dataclass(frozen=True, kw_only=True)
class Passage:
    """``text == document[start:end]`` after stripping surrounding whitespace (offsets point at the
    stripped text)."""

    doc_id: str
    start: int
    end: int
    text: str


def chunk_text(text: str, *, max_tokens: int = 512, min_chars: int = 40) -> Iterator[tuple[int, int]]:
    """(start, end) character offsets of passages of ``text``: consecutive sentences while the estimate
    stays within ``max_tokens``. A single sentence over the budget is cut at the budget (a hard cut is
    rare in prose and better than an over-long prompt). Passages under ``min_chars`` non-space characters
    are skipped: a heading or a stray line gives the model nothing to ask about."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    bounds = [0, *sentence_ends(text)]
    if bounds[-1] != len(text):
        bounds.append(len(text))
    pieces: list[tuple[int, int]] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        while estimate_tokens(text[a:b]) > max_tokens:  # one sentence above budget: cut it
            cut = a + _prefix_within(text[a:b], max_tokens)
            pieces.append((a, cut))
            a = cut
        if b > a:
            pieces.append((a, b))
    start = end = pieces[0][0] if pieces else 0
    used = 0
    for a, b in pieces:
        cost = estimate_tokens(text[a:b])
        if end > start and used + cost > max_tokens:
            yield from _emit(text, start, end, min_chars)
            start, used = a, 0
        end, used = b, used + cost
    if end > start:
        yield from _emit(text, start, end, min_chars)


def _prefix_within(text: str, max_tokens: int) -> int:
    """Length of the longest prefix of ``text`` whose estimate is within ``max_tokens`` (at least 1)."""
    lo, hi = 1, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _emit(text: str, start: int, end: int, min_chars: int) -> Iterator[tuple[int, int]]:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    stripped = piece.strip()
    if len("".join(stripped.split())) >= min_chars:
        yield start + lead, start + lead + len(stripped)


def passages(doc_id: str, text: str, *, max_tokens: int = 512, min_chars: int = 40) -> list[Passage]:
    """The passages of one document (see :func:`chunk_text`)."""
    return [
        Passage(doc_id=doc_id, start=a, end=b, text=text[a:b])
        for a, b in chunk_text(text, max_tokens=max_tokens, min_chars=min_chars)
    ]
