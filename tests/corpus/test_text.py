"""corpus.text: the script variants match the copies they replaced, one normaliser, one OpenCC loader, is_code."""

import re
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus import text as T

# Every code point but the surrogates, as one string: a regex over it checks a variant exhaustively.
ALL_CHARS = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)

# Each variant against the pattern its callers had before corpus/text.py (copied here as they were).
OLD_PATTERNS = {
    "han_basic": r"[\u4e00-\u9fff]",  # harmful, kg2instruction/render
    "han_ext_a_basic": r"[\u4e00-\u9fff\u3400-\u4dbf]",  # instruct/ie/record.has_cjk
    "han": r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]",  # clean, filters, ngram, tokenizer, instruct checks
    "han_contiguous": r"[\u3400-\u9fff]",  # instruct token estimates
    "east_asian": "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]",  # sft select
    "east_asian_all_planes": r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
                             r"\U00020000-\U0003134f]",  # dedup shingles
    "cjk_and_fullwidth": r"[\u3000-\u9fff\uff00-\uffef]",  # instruct/build/answers
    "kana": r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9d]",  # langid
    "zh_fullwidth_punct": r"[\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff60]",  # clean
}


def test_every_variant_is_pinned_and_documented():
    assert sorted(s.name for s in T.SCRIPTS) == sorted(OLD_PATTERNS)
    assert all(len(s.doc) > 40 for s in T.SCRIPTS)


@pytest.mark.parametrize("script", T.SCRIPTS, ids=lambda s: s.name)
def test_variant_matches_exactly_the_characters_of_the_copy_it_replaced(script):
    assert script.regex.findall(ALL_CHARS) == re.findall(OLD_PATTERNS[script.name], ALL_CHARS)
    for lo, hi in script.ranges:  # contains() agrees with the regex at every range edge
        for cp in (lo - 1, lo, hi, hi + 1):
            assert script.contains(chr(cp)) == bool(script.regex.fullmatch(chr(cp)))


@given(st.text(max_size=60))
def test_count_and_search_agree_with_contains(text):
    for script in T.SCRIPTS:
        assert script.count(text) == sum(map(script.contains, text))
        assert script.search(text) == any(map(script.contains, text))


# The normalisers the API replaced, as they were written in clean, dedup/exact, dedup/shingle, harmful.
def old_clean_nfkc_keep_zh_punct(text):
    parts = re.split(r"([\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff60]+)", text)
    return "".join(part if i % 2 else unicodedata.normalize("NFKC", part) for i, part in enumerate(parts))


def old_exact_normalise(text):
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).lower()).strip()


def old_shingle_normalize(text):
    folded = re.sub(r"[\W_]+", " ", text)
    if not unicodedata.is_normalized("NFKC", folded):
        folded = re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", folded))
    return folded.lower().strip()


# Text that exercises the differences: full-width forms, CJK punctuation, combining marks, odd case maps.
TRICKY = st.text(alphabet=st.sampled_from("aZ İßﬁ\u0301e\t\n\u3000，。！（）ＡＢ１２_-.·你好國語𠮷ｶﬀ"), max_size=40)


@settings(max_examples=300)
@given(st.one_of(TRICKY, st.text(max_size=40)))
def test_normalize_equals_each_replaced_normaliser(text):
    assert T.normalize(text) == unicodedata.normalize("NFKC", text)
    assert T.normalize(text, keep_zh_punct=True) == old_clean_nfkc_keep_zh_punct(text)
    assert T.normalize(text, case="lower", fold="space") == old_exact_normalise(text)
    assert T.normalize(text, case="lower", fold="punct") == old_shingle_normalize(text)
    assert T.normalize(text, case="casefold") == unicodedata.normalize("NFKC", text).casefold()


@pytest.mark.parametrize("kwargs,text,expected", [
    ({}, "ＡＢＣ１２３，ﬁ", "ABC123,fi"),
    ({"keep_zh_punct": True}, "ＡＢＣ１２３，（好）", "ABC123，（好）"),
    ({"case": "lower", "fold": "space"}, "  Ｈello\u3000 WORLD\n", "hello world"),
    ({"case": "lower", "fold": "punct"}, "  ＨＥＬＬＯ，　Ｗｏｒｌｄ！！ ", "hello world"),
    ({"case": "lower", "fold": "punct"}, "e\u0301_x", "e x"),  # folded before NFKC: the mark goes
    ({"case": "casefold"}, "STRASSE Straße", "strasse strasse"),
])
def test_normalize_examples(kwargs, text, expected):
    assert T.normalize(text, **kwargs) == expected


def test_opencc_converter_is_loaded_once_per_config():
    pytest.importorskip("opencc")
    t2s = T.opencc_converter("t2s")
    assert t2s is T.opencc_converter("t2s")
    assert t2s("線上賭場") == "线上赌场"
    assert T.opencc_converter("s2t")("线上赌场") == "線上賭場"


@pytest.mark.parametrize("doc,expected", [
    ({"source": "code", "meta": {}}, True),
    ({"source": "stack", "meta": {"lang": "en"}}, True),
    ({"source": "web", "meta": {"lang": "code"}}, True),
    ({"source": "leetcode", "meta": {"lang": "en", "language": "Python"}}, True),
    ({"source": "web", "meta": {"kind": "code"}}, True),
    ({"source": "jsonl", "meta": {"lang": "Python"}}, True),
    ({"source": "jsonl", "meta": {"path": "src/Main.JAVA"}}, True),
    ({"source": "jsonl", "meta": {"filename": "a.ipynb"}}, True),
    ({"source": "wiki", "meta": {"lang": "zh"}}, False),
    ({"source": "baike", "meta": {"kind": "qa", "lang": "zh"}}, False),
    ({"source": "jsonl"}, False),
    ({"source": "jsonl", "meta": None}, False),
])
def test_is_code(doc, expected):
    assert T.is_code(doc) is expected
