"""Greedy packing of a document's tokens into samples of at most ``max_tokens``, cut at sentence ends.

Follows KnowLM's rule (whole sentences, fewest samples, each as long as possible) without its backward
overlap step; over-long sentences are cut at clause punctuation, then at any token, and counted.
``pack_stream`` optionally packs consecutive documents' pieces together (``--pack-docs``).

Why greedy gives the fewest samples. Cut points are token indices 0 = c_0 < ... < c_m = n (sentence
ends). A sample [s, e) is *feasible* if e - s + lead(s) + tail(e) <= max, where lead(s) = 1 if a BOS
goes before it (s = 0 in ``doc`` mode, always in ``sample`` mode) and tail(e) likewise for EOS.
Feasibility is monotone in the start: if [s, e) is feasible and s <= s' < e then [s', e) is feasible
(fewer tokens; lead(s') <= lead(s) because lead is 1 only at s = 0 or everywhere). Greedy always takes
the furthest feasible e. Stays-ahead: let o_1 < o_2 < ... be the ends of any valid segmentation and
g_1 < g_2 < ... greedy's. By induction g_k >= o_k: if o_{k+1} <= g_k, then g_{k+1} > g_k >= o_{k+1};
otherwise [o_k, o_{k+1}) is feasible and g_k >= o_k, so [g_k, o_{k+1}) is feasible and greedy's
furthest choice gives g_{k+1} >= o_{k+1}. So greedy reaches n in no more samples than any segmentation.
(``tests/corpus/pack/test_greedy.py`` checks this against a dynamic program.) When no sentence end is
feasible the sentence itself is too long, every segmentation must cut inside it, and we cut as late as
possible at a clause end, else at the last token that fits ("forced" splits, counted by kind).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

BosEos = Literal["doc", "sample", "none"]
BOS_EOS_MODES: tuple[str, ...] = ("doc", "sample", "none")
T = TypeVar("T")

# How a sample ended: at a sentence end (or the document's end), or forced inside a sentence.
CUT_SENTENCE = "sentence"
CUT_CLAUSE = "clause"
CUT_TOKEN = "token"


@dataclass(frozen=True, kw_only=True, slots=True)
class Specials:
    """Where BOS/EOS go. ``doc``: BOS before a document's first token, EOS after its last (KnowLM);
    ``sample``: both around every sample; ``none``: neither (EOS at a document's end is forced on when
    documents are packed together, so they stay separated)."""

    bos_doc: bool
    eos_doc: bool
    every_sample: bool

    @classmethod
    def from_mode(cls, mode: str, *, pack_docs: bool = False) -> Specials:
        if mode not in BOS_EOS_MODES:
            raise ValueError(f"bos_eos must be one of {', '.join(BOS_EOS_MODES)}, got {mode!r}")
        return cls(bos_doc=mode == "doc", eos_doc=mode == "doc" or pack_docs, every_sample=mode == "sample")

    def lead(self, start: int) -> int:
        """BOS tokens before a sample starting at token ``start``."""
        return int(self.every_sample or (self.bos_doc and start == 0))

    def tail(self, end: int, n: int) -> int:
        """EOS tokens after a sample ending at token ``end`` of a document of ``n`` tokens."""
        return int(self.every_sample or (self.eos_doc and end == n))


@dataclass(frozen=True, slots=True)
class Piece:
    """Tokens ``[start, end)`` of one document, with ``lead`` BOS and ``tail`` EOS around them."""

    start: int
    end: int
    lead: int
    tail: int
    cut: str  # CUT_SENTENCE / CUT_CLAUSE / CUT_TOKEN: how this piece's end was chosen

    @property
    def length(self) -> int:
        return self.end - self.start + self.lead + self.tail


def plan_document(
    n: int,
    sentence_cuts: np.ndarray,
    clause_cuts: np.ndarray | Callable[[], np.ndarray],
    *,
    max_tokens: int,
    specials: Specials,
) -> list[Piece]:
    """Split a document of ``n`` tokens into greedy pieces of at most ``max_tokens`` tokens (with specials).

    ``sentence_cuts`` and ``clause_cuts`` are sorted token indices where a sentence / clause ends (values
    outside ``(0, n)`` are ignored); ``clause_cuts`` may be a function, called once, the first time an
    over-long sentence needs it. Returns pieces covering ``[0, n)`` in order.
    """
    if max_tokens < 3:
        raise ValueError("max_tokens must be at least 3 (room for BOS, one token and EOS)")
    pieces: list[Piece] = []
    s = 0
    while s < n:
        lead = specials.lead(s)
        end_tail = specials.tail(n, n)
        if n - s + lead + end_tail <= max_tokens:
            pieces.append(Piece(s, n, lead, end_tail, CUT_SENTENCE))
            break
        mid_tail = specials.tail(n - 1, n)  # any end before n
        limit = min(s + max_tokens - lead - mid_tail, n - 1)  # furthest feasible end < n
        end, cut = _furthest(sentence_cuts, s, limit), CUT_SENTENCE
        if end is None:
            if callable(clause_cuts):
                clause_cuts = clause_cuts()
            end, cut = _furthest(clause_cuts, s, limit), CUT_CLAUSE
        if end is None:
            end, cut = limit, CUT_TOKEN
        pieces.append(Piece(s, end, lead, mid_tail, cut))
        s = end
    return pieces


def _furthest(cuts: np.ndarray, start: int, limit: int) -> int | None:
    """Largest cut c with start < c <= limit, or None."""
    i = int(np.searchsorted(cuts, limit, side="right")) - 1
    if i >= 0 and cuts[i] > start:
        return int(cuts[i])
    return None


def pack_stream(items: Iterable[tuple[int, T]], max_tokens: int) -> Iterator[list[T]]:
    """Group consecutive ``(length, item)`` pairs (each length <= ``max_tokens``) into samples, streaming.

    Next-fit in order: an item joins the current sample while the sum stays within ``max_tokens``. By
    the same stays-ahead argument as above this gives the fewest samples among groupings that keep items
    whole and in order. Memory: one sample's items.
    """
    group: list[T] = []
    total = 0
    for length, item in items:
        if group and total + length > max_tokens:
            yield group
            group, total = [], 0
        group.append(item)
        total += length
    if group:
        yield group
