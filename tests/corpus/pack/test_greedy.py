"""Greedy packing: fewest samples (checked against a dynamic program), limits, forced splits, specials."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.pack.greedy import CUT_CLAUSE, CUT_SENTENCE, CUT_TOKEN, Specials, pack_stream, plan_document


def _fewest_by_dp(cuts: list[int], n: int, max_tokens: int, specials: Specials) -> int:
    """Brute force: minimal number of pieces over every segmentation at the cut points (O(m^2) DP)."""
    points = [0, *cuts, n]
    best = [0] + [10**9] * (len(points) - 1)
    for j in range(1, len(points)):
        for i in range(j):
            s, e = points[i], points[j]
            if e - s + specials.lead(s) + specials.tail(e, n) <= max_tokens:
                best[j] = min(best[j], best[i] + 1)
    return best[-1]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=14),
    st.integers(3, 30),
    st.sampled_from(["doc", "sample", "none"]),
    st.booleans(),
)
def test_greedy_matches_the_dp_minimum_when_every_sentence_fits(lengths, max_tokens, mode, pack_docs):
    specials = Specials.from_mode(mode, pack_docs=pack_docs)
    if max(lengths) > max_tokens - 2:  # the claim is for documents whose sentences fit a sample
        lengths = [min(x, max_tokens - 2) for x in lengths]
    ends = np.cumsum(lengths)
    n, cuts = int(ends[-1]), [int(e) for e in ends[:-1]]
    pieces = plan_document(n, np.array(cuts), np.zeros(0, dtype=np.int64), max_tokens=max_tokens,
                           specials=specials)
    assert len(pieces) == _fewest_by_dp(cuts, n, max_tokens, specials)
    assert all(p.cut == CUT_SENTENCE for p in pieces)
    assert all(p.length <= max_tokens for p in pieces)
    assert [p.end for p in pieces[:-1]] == [c for c in cuts if c in {p.end for p in pieces}]
    assert pieces[0].start == 0 and pieces[-1].end == n
    assert all(a.end == b.start for a, b in zip(pieces, pieces[1:], strict=False))


def test_doc_mode_puts_bos_on_first_and_eos_on_last_piece_only():
    pieces = plan_document(10, np.array([3, 6, 8]), np.zeros(0), max_tokens=5, specials=Specials.from_mode("doc"))
    assert [(p.start, p.end, p.lead, p.tail) for p in pieces] == [(0, 3, 1, 0), (3, 8, 0, 0), (8, 10, 0, 1)]


def test_overlong_sentence_splits_at_clause_then_token_and_says_so():
    # one 20-token sentence with a clause end at 7; max 8 tokens, no specials
    pieces = plan_document(20, np.zeros(0), np.array([7]), max_tokens=8, specials=Specials.from_mode("none"))
    assert [(p.start, p.end, p.cut) for p in pieces] == [
        (0, 7, CUT_CLAUSE), (7, 15, CUT_TOKEN), (15, 20, CUT_SENTENCE)]


def test_sentence_end_preferred_over_later_clause_end():
    pieces = plan_document(12, np.array([4, 12]), np.array([6]), max_tokens=8, specials=Specials.from_mode("none"))
    assert [(p.end, p.cut) for p in pieces] == [(4, CUT_SENTENCE), (12, CUT_SENTENCE)]


def test_pack_stream_is_next_fit_in_order():
    groups = list(pack_stream([(3, "a"), (4, "b"), (2, "c"), (6, "d"), (1, "e")], 9))
    assert groups == [["a", "b", "c"], ["d", "e"]]


def test_bad_options_fail_clearly():
    with pytest.raises(ValueError, match="bos_eos"):
        Specials.from_mode("both")
    with pytest.raises(ValueError, match="at least 3"):
        plan_document(5, np.zeros(0), np.zeros(0), max_tokens=2, specials=Specials.from_mode("none"))
