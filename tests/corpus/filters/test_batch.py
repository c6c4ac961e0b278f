"""Batch scoring: RE2 passes over a batch (pyarrow) give what the per-text Python regexes give.

Each RE2 pattern stands for a Python one (no lookaround in RE2, ASCII ``\\d`` and ``\\s``), so each is
checked against its twin on random texts, and every filter's ``score_batch`` against its ``score``.
"""

from __future__ import annotations

import re
import unicodedata

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corpus import text as text_module
from corpus.filters import harmful, promo
from corpus.filters.base import batch_contains, re2_class
from corpus.filters.registry import build_filter
from corpus.filters.view import TextView


@pytest.mark.parametrize("python_class", [r"\d", r"[^\S\n]", r"[\s\W_]"])
def test_re2_class_holds_what_python_matches_on_every_bmp_and_some_astral_characters(python_class):
    points = [*range(0xD800), *range(0xE000, 0x10000), *range(0x10000, 0x110000, 97)]
    chars = [chr(c) for c in points]
    found = pc.match_substring_regex(pa.array(chars), f"^[{re2_class(python_class)}]$").to_pylist()
    expected = [re.fullmatch(python_class, c) is not None for c in chars]
    assert found == expected
    assert any(expected) and not all(expected)


def test_batch_contains_answers_true_for_a_text_pyarrow_cannot_encode():
    digit = re2_class(r"\d")
    assert batch_contains(["a1", "b", "\ud800", "٣"], f"[{digit}]") == [True, False, True, True]
    assert batch_contains([], "a") == []


# Spaced letters: single letters/digits, both kinds of gap, newlines (not a gap), Han, wide spaces.
_SPACING_PIECES = ["a", "7", "b", " ", " ", ".", "ab", "  ", "   ", "..", "-", "*", "·", "_", ". ", "\n", "\t",
                   "\u3000", "\xa0", "X", "中", ",", "é", "\U0001f600"]
spaced_texts = st.lists(st.sampled_from(_SPACING_PIECES), max_size=20).map("a".join)


@settings(max_examples=3000, deadline=None)
@given(spaced_texts)
@example("c a s i n o")
@example("xa b c")
@example("a b c\n")
def test_spaced_candidates_match_exactly_where_the_regex_does(text):
    (found,) = batch_contains([text], harmful._spaced_candidates())
    assert found == (harmful._SPACED_LATIN.search(text) is not None)


# Texts for the whole normalisation: full-width and Traditional forms, gaps between Han characters.
_NORMALISE_PIECES = [*_SPACING_PIECES, "赌", "博", "賭", "場", "，", " . ", "ＡＢ", "Ｃ", "①", "ﬁ", "STRASSE", "…"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_NORMALISE_PIECES), max_size=30).map("".join), max_size=6))
def test_normalise_many_equals_normalise(texts):
    assert harmful.normalise_many(texts) == [harmful.normalise(text) for text in texts]


# Pieces a step could carry across the join of _fold_many: combining marks (NFKC composes and reorders
# them), Hangul jamo (starters that compose), sigma and dotted I (case), Traditional phrases (OpenCC
# matches phrases), Han at a text's ends (the separator rule), astral characters, the separator itself.
_FOLD_PIECES = [*_NORMALISE_PIECES, "\u0301", "\u0308", "\u0327", "e", "\u1100", "\u1161", "\u11a8", "가", "Σ",
                "ΑΣ", "İ", "ß", "體", "說話", "頭髮", "乾", "\U00020000", "\U0001d400", "\ua4d0", "、", "中", "文"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FOLD_PIECES), max_size=12).map("".join), max_size=10))
@example(["中，", "，文"])  # a gap across the join would be removed
@example(["e", "\u0301x", "\u1100", "\u1161"])  # marks and jamo that would compose across it
def test_fold_many_folds_each_text_as_alone(texts):
    assert harmful._fold_many(texts) == [harmful._fold(text) for text in texts]


# Two-character t2s phrases that OpenCC converts otherwise than their characters (憑藉 -> 凭借, but 藉 alone
# stays 藉): split across two texts of a chunk, a join that OpenCC read as running text would convert the
# second text's character as the phrase's.
_SPLIT_PHRASES = ["憑藉", "深沈", "懷釐", "挨剋", "捏坏", "製坏", "銀鍊"]


@pytest.mark.parametrize("phrase", _SPLIT_PHRASES)
def test_fold_many_does_not_read_a_phrase_across_the_join(phrase):
    texts = [f"文{phrase[0]}", f"{phrase[1]}字", phrase]
    assert harmful._fold(phrase) != harmful._fold(phrase[0]) + harmful._fold(phrase[1])  # the case is real
    assert harmful._fold_many(texts) == [harmful._fold(text) for text in texts]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(st.sampled_from([*_FOLD_PIECES, *_SPLIT_PHRASES, *"憑藉深沈捏坏"]), max_size=12).map("".join),
                max_size=12), st.sampled_from([1, 7, 40, 16_000]))
def test_fold_many_in_chunks_folds_each_text_as_alone(texts, chunk_chars):
    # Several chunks a batch (a chunk ends once it holds chunk_chars characters), ASCII texts beside them.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(harmful, "_FOLD_CHUNK_CHARS", chunk_chars)
        assert harmful._fold_many(texts) == [harmful._fold(text) for text in texts]


# The separator rule: runs of 1-4 separators (spaces, punctuation, newlines, "_"), Han and other
# characters on either side, astral characters (the regex path) and lone surrogates (separators).
_GAP_PIECES = ["中", "文", "賭", "a", "1", "_", " ", "，", ".", "\n", "\u3000", "、", "ꓐ", "\ud800", "\U00020000",
               "\U0001f600", "ー", "가"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_GAP_PIECES), max_size=30).map("".join))
@example("中，文")
@example("中 ，  文")  # four separators: kept
@example("，中，")
def test_drop_han_gaps_removes_what_the_regex_removes(text):
    assert harmful._drop_han_gaps(text) == harmful._CJK_GAP.sub("", text)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(_FOLD_PIECES), max_size=12).map("".join), st.integers(1, 120)),
                max_size=10))
def test_nfkc_many_is_nfkc_of_each_text(pieces):
    # Short texts share one gather, texts from _NFKC_MANY_MAX_CHARS take nfkc alone (a piece repeated).
    texts = [piece * (times if times > 100 else 1) for piece, times in pieces]
    assert text_module.nfkc_many(texts) == [unicodedata.normalize("NFKC", text) for text in texts]


_PHONE_PIECES = ["1", "3", "8", "400", "0", "٣", "７", "(", ")", "-", ".", " ", "\n", "a", "号", "13812345678",
                 "555", "v信", "vx", "薇信", "加", "v", "x", "微"]
contact_texts = st.lists(st.sampled_from(_PHONE_PIECES), max_size=24).map("".join)


@settings(max_examples=3000, deadline=None)
@given(contact_texts)
@example("call 138 1234 5678 now")
@example("(555) 014-2297")
def test_promo_candidates_match_exactly_where_the_python_passes_can_count(text):
    phone_runs, spelt, _ = promo._candidate_patterns()
    (runs,) = batch_contains([text], phone_runs)
    (literal,) = batch_contains([text], spelt)
    assert runs == (promo._PHONE_RUN.search(text) is not None)
    assert literal == any(lit in text for lit in promo._WECHAT_SPELT_LITERALS)


def test_trading_calls_batch_counts_no_target_alone_in_a_text_re2_cannot_read():
    # "目标50" is a call only beside a trade action; a lone surrogate makes RE2 answer "maybe". (OpenCC
    # refuses such a text, so its normalised form is set in the views here, as the harmful filter would.)
    flt = build_filter("trading_calls", {})
    texts = ["目标50，联系微信abcdef1\ud800", "止损50，先看51，微信abcdef1\ud800"]

    def views():
        made = [TextView(text) for text in texts]
        for view in made:
            view.memo(harmful._NORMALISED, lambda text=view.text: text)
        return made

    assert flt.score_batch(views()) == [flt.score(view) for view in views()]
    assert [scores["calls"] for scores in flt.score_batch(views())] == [0, 2]


@pytest.mark.parametrize("name", ["harmful", "promo", "readings", "trading_calls"])
@settings(max_examples=150, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from([*_NORMALISE_PIECES, *_PHONE_PIECES, "casino", "赌博", "您",
                                                  "立即购买", "$19.99", "9折", "免费", "中(zhong)", "做多", "50.6",
                                                  "止损", "薇信1771443606"]),
                               max_size=40).map("".join), min_size=1, max_size=8))
def test_score_batch_equals_score(name, texts):
    flt = build_filter(name, {})
    assert flt.score_batch([TextView(text) for text in texts]) == [flt.score(text) for text in texts]



# Readings: Han (both blocks), brackets of both widths, pinyin letters with tones, upper case (no
# match), runs of letters past 6, a lone surrogate (counted by the Python regex).
_READING_PIECES = ["中", "㐀", "(", ")", "（", "）", "a", "zh", "ā", "ǚ", "ü", "A", "yyyyyy", "x", " ", "\ud800", "文(", "e)"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_READING_PIECES), max_size=16).map("".join), max_size=6))
@example(["中(zhong)文(wen)", "中(zhongg)", "烟(yan)台市(shi)"])
def test_readings_re2_count_equals_the_regex(texts):
    from corpus.filters import readings
    from corpus.filters.base import batch_count

    assert batch_count(texts, readings._READING_RE2, readings._READING) == \
        [len(readings._READING.findall(text)) for text in texts]


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["做", "多", "空", "止", "损", "盈", "入场", "平仓", "1", " ", "\ud800"]),
                         max_size=10).map("".join), max_size=6))
def test_trading_action_pass_finds_exactly_the_texts_with_an_action(texts):
    from corpus.filters import trading

    assert batch_contains(texts, trading._ANY_ACTION) == \
        [any(action in text for action in trading._ACTIONS) or not text.isascii() and "\ud800" in text
         for text in texts]
