import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.dedup.shingle import hash_shingle, hash_shingles, normalize, shingle_tokens

TEXTS = [
    "Hello, World! 你好，世界。我用Python写代码 2023年",
    "",
    "…！？",
    "a b c d e f g",
    "中文",
    "ＡＢＣ　Ｄ ﬁ and ＴＥＳＴ２０２３",
    "日本語のテキストと한국어 텍스트 mixed with English words here",
    "The quick brown fox jumps over the lazy dog, again and again.",
]


@pytest.mark.parametrize("ngram_cjk,ngram_words", [(5, 5), (1, 1), (3, 2), (9, 7)])
def test_vectorised_hashes_equal_scalar_reference(ngram_cjk, ngram_words):
    batch = hash_shingles(TEXTS, ngram_cjk=ngram_cjk, ngram_words=ngram_words)
    assert batch.offsets.shape == (len(TEXTS) + 1,)
    for d, text in enumerate(TEXTS):
        expected = [hash_shingle(s) for s in shingle_tokens(text, ngram_cjk=ngram_cjk, ngram_words=ngram_words)]
        assert batch.doc(d).tolist() == expected


def test_normalize_folds_width_case_and_punctuation():
    assert normalize("  ＨＥＬＬＯ，　Ｗｏｒｌｄ！！ ") == "hello world"
    assert normalize("你好，世界。") == "你好 世界"


def test_cjk_characters_and_latin_words_shingle_per_script_run():
    tokens = shingle_tokens("我爱北京天安门 the quick brown fox jumps over", ngram_cjk=3, ngram_words=2)
    assert tokens[:2] == [("我", "爱", "北"), ("爱", "北", "京")]
    assert ("the", "quick") in tokens and ("fox", "jumps") in tokens
    # No shingle mixes the two scripts.
    assert all(len({len(t) == 1 and "\u4e00" <= t <= "\u9fff" for t in s}) == 1 for s in tokens)


def test_short_run_gives_one_whole_shingle_and_empty_text_none():
    assert shingle_tokens("中文", ngram_cjk=5) == [("中", "文")]
    assert shingle_tokens("!!!") == []
    assert hash_shingles(["", "!!!"]).hashes.size == 0


def test_batching_does_not_change_hashes():
    many = TEXTS * 3000  # crosses the internal 64k-code-point grouping several times
    batch = hash_shingles(many)
    single = [hash_shingles([t]).hashes for t in TEXTS]
    for d in range(0, len(many), 997):
        assert np.array_equal(batch.doc(d), single[d % len(TEXTS)])


# Characters that exercise every branch of the table path: full-width forms and ligatures (NFKC), Hangul
# jamo that compose, final sigma, dotted I (lower() gives two code points), combining marks, characters
# outside the BMP, Kelvin sign, superscripts, Roman numerals, plus ordinary CJK/Latin/digits/punctuation.
TRICKY = "ＡＢｃ１２ﬁﬀ①Ⅻ²ᄀ\u1161\u11a8가각ΣσςΑİIıKΩ\u0301\u0308e\u3099か𠀀𝐀🙂_-，。！ 　\t\nabcXYZ中文字あア한"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.text(alphabet=TRICKY, max_size=40)), min_size=1, max_size=6))
def test_table_path_equals_reference_normaliser(texts):
    batch = hash_shingles(texts, ngram_cjk=3, ngram_words=2)
    for d, text in enumerate(texts):
        expected = [hash_shingle(s) for s in shingle_tokens(text, ngram_cjk=3, ngram_words=2)]
        assert batch.doc(d).tolist() == expected, text


def test_every_bmp_character_hashes_like_the_reference():
    # Every BMP code point but surrogates, in runs of 97 consecutive characters, once as they are and once
    # with only the characters the table path keeps (so that path sees every such character).
    from corpus.dedup.shingle import _SLOW, _char_tables

    points = [c for c in range(1, 0x10000) if not 0xD800 <= c < 0xE000]
    fast = [c for c in points if _char_tables()[c] != _SLOW]
    texts = ["".join(map(chr, pts[i : i + 97])) for pts in (points, fast) for i in range(0, len(pts), 97)]
    batch = hash_shingles(texts, ngram_cjk=2, ngram_words=2)
    for d, text in enumerate(texts):
        assert batch.doc(d).tolist() == [hash_shingle(s) for s in shingle_tokens(text, ngram_cjk=2, ngram_words=2)]


def test_one_huge_document_is_shingled_in_blocks_exactly():
    # Far past one block (65,536 values / shingles): a CJK run of 150k characters, a 140k-character
    # word (one token spanning several blocks) and a word run of 30k words, against the reference.
    rng = np.random.default_rng(3)
    cjk = "".join(chr(c) for c in rng.integers(0x4E00, 0x4E40, 150_000))
    words = " ".join(rng.choice(["graph", "model", "data", "ΣΑΣ", "ﬁle"], 30_000))
    text = cjk + " " + "x" * 140_000 + "y " + words
    small = "一个 small document 在旁边"
    for texts in ([text], [small, text.replace("ﬁ", "fi").replace("Σ", "s"), small]):  # SLOW path, then table path
        batch = hash_shingles(texts)
        for d, t in enumerate(texts):
            assert batch.doc(d).tolist() == [hash_shingle(s) for s in shingle_tokens(t)]
