"""Modified Kneser-Ney ARPA models: the numpy estimator agrees with a plain dictionary implementation of
Chen & Goodman's equations on random corpora, and KenLM (the ecosystem's reader) loads what we write and
finds every conditional distribution normalised."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.score.arpa import BOS, EOS, UNK, train_arpa, write_arpa

WORDS = list("abcde")
corpora = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12), min_size=1, max_size=40)


def reference_kn(sentences: list[list[str]], order: int) -> dict[tuple[str, ...], float]:
    """log10 p(w | h) for every n-gram seen, by the textbook recursion, one dictionary per order."""
    raw: list[Counter] = [Counter() for _ in range(order + 1)]
    for s in sentences:
        seq = [BOS, *s, EOS]
        for n in range(1, order + 1):
            for i in range(len(seq) - n + 1):
                gram = tuple(seq[i:i + n])
                if gram != (BOS,):
                    raw[n][gram] += 1
    adjusted: list[dict] = [dict() for _ in range(order + 1)]
    adjusted[order] = dict(raw[order])
    for n in range(order - 1, 0, -1):
        left = Counter(g[1:] for g in raw[n + 1])
        adjusted[n] = {g: (raw[n][g] if g[0] == BOS else left[g]) for g in raw[n]}
    vocab = sorted({w for s in sentences for w in s} | {EOS, UNK})
    adjusted[1] = {(w,): adjusted[1].get((w,), 0) for w in vocab}

    def discounts(counts):
        t = [sum(1 for c in counts if c == k) for k in (1, 2, 3, 4)]
        d = [0.0, 0.0, 0.0]
        if all(t):
            y = t[0] / (t[0] + 2 * t[1])
            d = [k - (k + 1) * y * t[k] / t[k - 1] for k in (1, 2, 3)]
        if not all(0 < d[k - 1] < k for k in (1, 2, 3)):
            y = t[0] / (t[0] + 2 * t[1]) if t[0] else 0.5
            d = [min(max(y, 1e-3), cap) for cap in (0.999, 1.999, 2.999)]
        return d

    prob: dict[tuple[str, ...], float] = {}
    for n in range(1, order + 1):
        counts = adjusted[n]
        d1, d2, d3 = discounts([c for c in counts.values() if c > 0])
        by_context = defaultdict(list)
        for g, c in counts.items():
            by_context[g[:-1]].append(c)
        for g, c in counts.items():
            siblings = by_context[g[:-1]]
            total = sum(siblings)
            gamma = (d1 * siblings.count(1) + d2 * siblings.count(2) + d3 * sum(1 for x in siblings if x >= 3)) / total
            disc = 0 if c == 0 else d1 if c == 1 else d2 if c == 2 else d3
            lower = 1 / len(vocab) if n == 1 else prob[g[1:]]
            prob[g] = (c - disc) / total + gamma * lower
    return {g: math.log10(p) for g, p in prob.items()}


def ours(sentences: list[list[str]], order: int) -> dict[tuple[str, ...], float]:
    vocab, tables = train_arpa(sentences, order=order)
    out = {}
    for table in tables:
        for row, lp in zip(table.grams.tolist(), table.log_prob.tolist(), strict=True):
            gram = tuple(vocab.words[i] for i in row)
            if gram != (BOS,):
                out[gram] = lp
    # words of the vocabulary that never occur (only <unk> here) have the uniform share only
    return {g: p for g, p in out.items() if g in out}


@settings(max_examples=60, deadline=None)
@given(corpora, st.integers(min_value=1, max_value=4))
def test_estimator_matches_the_textbook_recursion(sentences, order):
    expected = reference_kn(sentences, order)
    got = ours(sentences, order)
    assert set(got) == set(expected)
    for gram, lp in expected.items():
        assert got[gram] == pytest.approx(lp, abs=1e-9), gram


def test_hand_computed_bigram():
    # Corpus "<s> a b </s>", "<s> a </s>": bigram counts are raw; unigram counts are left-continuations.
    vocab, tables = train_arpa([["a", "b"], ["a"]], order=2)
    uni = {vocab.words[r[0]]: lp for r, lp in zip(tables[0].grams.tolist(), tables[0].log_prob.tolist(), strict=True)}
    # adjusted unigram counts: a: {<s>} = 1, b: {a} = 1, </s>: {a, b} = 2, <unk>: 0; total 4.
    # count-of-counts t1=2, t2=1, t3=t4=0 -> fallback D = t1/(t1+2 t2) = 0.5 for every bucket.
    gamma = (0.5 * 2 + 0.5 * 1) / 4
    assert 10 ** uni["a"] == pytest.approx((1 - 0.5) / 4 + gamma / 4)
    assert 10 ** uni["</s>"] == pytest.approx((2 - 0.5) / 4 + gamma / 4)
    assert 10 ** uni["<unk>"] == pytest.approx(gamma / 4)
    assert sum(10 ** lp for w, lp in uni.items() if w != BOS) == pytest.approx(1.0)


def test_kenlm_reads_our_arpa_and_every_distribution_sums_to_one(tmp_path: Path):
    kenlm = pytest.importorskip("kenlm")
    import random

    rng = random.Random(7)
    words = "the cat sat on a mat dog ran far away and then came back home".split()
    sentences = [[rng.choice(words) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    for order in (2, 3, 5):
        vocab, tables = train_arpa(sentences, order=order)
        path = tmp_path / f"m{order}.arpa"
        write_arpa(path, vocab, tables)
        model = kenlm.Model(str(path))
        assert model.order == order
        for context in ([], ["the"], ["the", "cat"], ["never-seen", "cat", "sat"], ["cat", "sat", "on"]):
            state = kenlm.State()
            if context:
                model.BeginSentenceWrite(state)
                for word in context:
                    nxt = kenlm.State()
                    model.BaseScore(state, word, nxt)
                    state = nxt
            else:
                model.NullContextWrite(state)
            total = sum(10 ** model.BaseScore(state, w, kenlm.State()) for w in vocab.words if w != BOS)
            assert total == pytest.approx(1.0, abs=1e-4), (order, context)
        # a whole sentence scores as the product of our own listed/backed-off probabilities
        assert model.score("the cat sat", bos=True, eos=True) < 0


def test_no_text_is_an_error():
    with pytest.raises(ValueError, match="no training text"):
        train_arpa([], order=3)
