"""quality_zh's one-pass character classes (a text, a batch) count what its three regexes count."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.filters import quality_zh
from corpus.filters.quality_zh import class_counts
from corpus.filters.view import TextView

# CJK (and Extension B, astral), ASCII and Arabic-Indic and mathematical digits, full-width digits,
# allowed and special punctuation, symbols, lone surrogates, U+FFFF.
_ALPHABET = list("中文㐀豈１２3٣abc，。！?~@#$%^&*()【】—…·★☆→\t_") + [
    "\U00020000", "\U0001d7ce", "\ud800", "\udfff", "\uffff"]
_BMP_ALPHABET = [c for c in _ALPHABET if len(c.encode("utf-16-le", "surrogatepass")) == 2]


def _by_regex(text: str) -> tuple[int, int, int]:
    return tuple(quality_zh._count(runs, text) for runs in (quality_zh._CJK_RUNS, quality_zh._DIGIT_RUNS,
                                                            quality_zh._SPECIAL_RUNS))


def test_class_counts_equal_the_regexes_on_random_mixes():
    rng = random.Random(5)
    for _ in range(5000):
        text = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 30)))
        assert class_counts(text) == _by_regex(text), ascii(text)


def test_class_counts_equal_the_regexes_on_every_bmp_character():
    every = "".join(map(chr, range(0x10000)))
    assert class_counts(every) == _by_regex(every)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_BMP_ALPHABET), max_size=30), max_size=12), st.booleans())
def test_a_batch_counts_what_each_text_counts(texts, astral):
    # class_counts_many over the joined texts (empty texts, lone surrogates, U+FFFF), and the text-by-text
    # fallback when an astral character is anywhere in the batch.
    if astral:
        texts = [*texts, "中\U00020000文"]
    assert quality_zh.class_counts_many(texts) == [_by_regex(text) for text in texts]


def test_the_filter_scores_a_batch_as_it_scores_each_text():
    rng = random.Random(9)
    # Clause marks in runs (the batch counts them with RE2), and a lone surrogate (counted by the regex).
    pieces = _ALPHABET + ["\n", "。\n", "登录", "，，", "、", "~～", "……", "!?", "；"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 300))) for _ in range(30)] + ["你好，\ud800。"]
    flt = quality_zh.ZhQualityFilter()
    assert flt.score_batch([TextView(text) for text in texts]) == [flt.score(text) for text in texts]
