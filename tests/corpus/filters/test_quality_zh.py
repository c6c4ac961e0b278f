"""quality_zh's one-pass character classes count what its three regexes count."""

from __future__ import annotations

import random

from corpus.filters import quality_zh
from corpus.filters.quality_zh import class_counts

# CJK (and Extension B, astral), ASCII and Arabic-Indic and mathematical digits, full-width digits,
# allowed and special punctuation, symbols, lone surrogates, U+FFFF.
_ALPHABET = list("中文㐀豈１２3٣abc，。！?~@#$%^&*()【】—…·★☆→\t_") + [
    "\U00020000", "\U0001d7ce", "\ud800", "\udfff", "\uffff"]


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
