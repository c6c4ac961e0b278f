"""The promo filter's fast paths give what their plain definitions give, on random texts (hypothesis).

Kept apart from test_promo.py (the filter's behaviour, and its word lists' owner's file): these only pin
speed-ups to the patterns they replace (the RE2 pre-passes of score_batch: test_batch.py and below).
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus.filters import promo
from corpus.filters.base import batch_contains

# Pieces that make every alternative of the price pattern and its look-ahead likely: currency signs,
# ASCII and other decimal digits, separators, the units and the "million"/"亿" the look-ahead refuses.
_PRICE_PIECES = ["$", "¥", "￥", "€", "£", "1", "0", "42", "٣", "７", ",", ".", " ", "\u3000", "\u2009", "\n", "%", "off",
                 " off", "% off", "%off", "offer", "元", "块钱", "块", "million", "bn", "亿", "万", "a", "x", "价"]
price_texts = st.lists(st.sampled_from(_PRICE_PIECES), max_size=24).map("".join)


@settings(max_examples=3000, deadline=None)
@given(price_texts)
@example("$3 billion, $4, 5元, 6 块钱, 20% off, €7, 8€")
@example("$5元 and 10 % offx 3.5.6元")
@example("5% off")
def test_count_prices_equals_the_plain_pattern(text: str) -> None:
    assert promo.count_prices(text) == len(promo._PRICE.findall(text))
    # The one-class pattern finds the very same matches, not only as many.
    assert promo._PRICE_ONE_CLASS.findall(text) == promo._PRICE.findall(text)


def test_count_prices_takes_both_paths_on_real_shapes() -> None:
    assert promo.count_prices("only $129.99 today, was $229.99; $3 billion in sales") == 2  # currency-only path
    assert promo.count_prices("售价199元，立减20元，再享10% off") == 3  # one-class path


@settings(max_examples=3000, deadline=None)
@given(price_texts)
@example("$ 5")
@example("3,000.5 元")
def test_price_candidates_match_wherever_the_price_pattern_does(text: str) -> None:
    """The batch's RE2 pre-pass (score_batch) may only skip texts where _PRICE finds nothing."""
    (*_, prices) = promo._candidate_patterns()
    (found,) = batch_contains([text], prices)
    assert found or not promo._PRICE.search(text)
