"""Gopher's n-gram repetition measures: the fast ``ngram_fractions`` (and its batch form) equals the plain definition.

The plain definition below is the code the measures had before issue 20 (one joined string per
n-gram, a Counter, a left-to-right scan); random texts over tiny alphabets make ties, overlapping
repeats and long repeated runs common, on both the numpy path (long texts) and the Python path.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.filters import gopher
from corpus.filters.gopher import STOP_WORDS, GopherQualityFilter, ngram_fractions


def plain_top(tokens, n, joiner):
    if len(tokens) < n:
        return 0.0
    counts = Counter(joiner.join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    total = sum(len(t) for t in tokens)
    return min(1.0, count * len(gram.replace(joiner, "")) / total) if total else 0.0


def plain_dup(tokens, n, joiner):
    if len(tokens) < n:
        return 0.0
    seen, dup_chars, i = set(), 0, 0
    while i <= len(tokens) - n:
        gram = joiner.join(tokens[i : i + n])
        if gram in seen:
            dup_chars += sum(len(t) for t in tokens[i : i + n])
            i += n
        else:
            seen.add(gram)
            i += 1
    total = sum(len(t) for t in tokens)
    return dup_chars / total if total else 0.0


def random_tokens(rng: random.Random, words: bool, length: int):
    alphabet = rng.choice([["ab", "c", "dde"], ["the", "of", "a", "cat", "sat"], list("长江大河")])
    if rng.random() < 0.5:  # a repeated run in the middle
        run = [rng.choice(alphabet) for _ in range(rng.randint(1, 30))]
        tokens = [rng.choice(alphabet) for _ in range(length // 3)] + run * 4 + [rng.choice(alphabet)
                                                                               for _ in range(length // 3)]
    else:
        tokens = [rng.choice(alphabet) for _ in range(length)]
    return tokens if words else "".join(t[0] for t in tokens)


@pytest.mark.parametrize("path", ["packed", "packed-survivors", "numpy", "python"])
@pytest.mark.parametrize("words", [True, False])
@pytest.mark.parametrize("length", [0, 1, 3, 9, 40, 300])
def test_fast_measures_equal_the_plain_definition(monkeypatch, path, words, length):
    # Every length through every path: packed 16-bit ids (the default; sizes above 4 with numpy from
    # _NUMPY_MIN_STARTS surviving starts, here for any number), or np.unique for every text
    # (what texts with astral characters or 65,535+ words take), or Counter over slices for every text.
    if path == "packed-survivors":  # sizes above 4 with numpy however few starts survive
        monkeypatch.setattr(gopher, "_NUMPY_MIN_STARTS", 1)
    elif path != "packed":
        monkeypatch.setattr(gopher, "_packed_keys", lambda tokens: None)
    for bound in ("_NUMPY_MIN_CHARS", "_NUMPY_MIN_WORDS"):
        monkeypatch.setattr(gopher, bound, 0 if path == "numpy" else 10**9)
    rng = random.Random(length * 2 + words)
    # Unsorted: scores keep the configured order; Gopher's sizes, and top sizes above 4 as a config may ask.
    for _ in range(15):
        top_ns, dup_ns = rng.choice([((4, 2, 3), (10, 5, 20, 6)), ((2, 6, 9, 13), (5, 8, 21))])
        tokens = random_tokens(rng, words, length)
        joiner = " " if words else ""
        expected = {**{f"top_{n}gram_frac": plain_top(tokens, n, joiner) for n in top_ns},
                    **{f"dup_{n}gram_frac": plain_dup(tokens, n, joiner) for n in dup_ns}}
        got = ngram_fractions(tokens, top_ns, dup_ns)
        assert list(got) == list(expected)
        assert got == expected
        assert all(type(v) is float for v in got.values())


def test_a_cycle_is_one_repeated_ngram():
    text = "abc" * 160  # 480 characters: the numpy path
    scores = ngram_fractions(text, (3,), (5,))
    assert scores["top_3gram_frac"] == 1.0  # "abc" 160 times covers every character
    assert scores["dup_5gram_frac"] == plain_dup(text, 5, "") > 0.9


def test_texts_whose_ids_do_not_fit_16_bits_take_the_other_path():
    assert gopher._packed_keys("长江" * 3) is not None
    assert gopher._packed_keys("a\U0001F600b") is None  # an emoji is two UTF-16 units
    assert gopher._packed_keys("a\uffffb") is None  # U+FFFF is the padding id
    text = "长江😀长江" * 60  # 300 characters with astral ones: np.unique, the same measures
    assert ngram_fractions(text, (2, 3, 4), (10,)) == {
        "top_2gram_frac": plain_top(text, 2, ""), "top_3gram_frac": plain_top(text, 3, ""),
        "top_4gram_frac": plain_top(text, 4, ""), "dup_10gram_frac": plain_dup(text, 10, "")}


# Stop words in every case and inside the stripped punctuation, digits, underscores, dashes, CJK,
# Arabic-Indic digits, the dotted capital I (lower() gives two characters), sigma (lower() depends on
# the neighbours), and whitespace str.split knows (ideographic space, U+001C).
_WORD_PIECES = ["the", "The", "THE", "thé", "of", "(of)", "and,", "1", "12.5", "_", "__x", "—", "...", "  ", " ",
                "\n", "\t", "\u3000", "\x1c", "中文", "٣", "İ", "wİth", "ΣΑΣ", "have!", "with\"", "x", "'to'"]


@pytest.mark.parametrize("astral", [False, True])
def test_alpha_and_stop_words_equal_the_per_word_definition(astral: bool):
    # BMP texts count alphabetic words from the view's character bits; texts with an astral character
    # (a mathematical letter, an emoji, an Extension B ideograph) take the regexes.
    alpha = re.compile(r"[^\W\d_]")
    rng = random.Random(3)
    pieces = _WORD_PIECES + (["\U0001d400", "\U0001f600", "\U00020bb7"] if astral else [])
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        if astral:
            text += "\U0001f600"
        words = text.split()
        scores = GopherQualityFilter().score(text)
        expected_alpha = sum(bool(alpha.search(w)) for w in words) / len(words) if words else 0.0
        assert scores["alpha_words_ratio"] == expected_alpha, ascii(text)
        assert scores["stop_words"] == sum(w.lower().strip(".,;:!?\"'()") in STOP_WORDS for w in words), ascii(text)


def test_packed_keys_are_the_four_ids_from_each_start():
    # Key of start i: ids i..i+3, id i in the high 16 bits, 0xFFFF past the end; words take the index
    # of their first occurrence.
    ids = [ord(c) for c in "长江a\ud800"] + [0xFFFF] * 3
    expected = [ids[i] << 48 | ids[i + 1] << 32 | ids[i + 2] << 16 | ids[i + 3] for i in range(4)]
    assert gopher._packed_keys("长江a\ud800").tolist() == expected
    assert gopher._packed_keys(["to", "be", "or", "not", "to", "be"]).tolist()[4] == 0 << 48 | 1 << 32 | 0xFFFF << 16 | 0xFFFF


# A batch of documents for ngram_fractions_many: tiny alphabets (ties, overlapping repeats, long
# repeated runs), an optional repeated block, and the documents the batch path leaves to
# ngram_fractions (empty, an astral character, U+FFFF), in any order.
# zh.yaml's sizes and Gopher's take two run numbers a size; (2, 3, 4), (10, 20) takes three (the lexsort).
_BATCH_SIZES = [((2, 3, 4), (10, 20)), ((2, 3, 4), (5, 6, 7, 8, 9, 10)), ((4, 2, 3), (10, 5, 20, 6)),
                ((2, 6, 9, 13), (5, 8, 21)), ((4, 6, 8), (10, 20)), ((2, 3), (3, 2)), ((3,), (4, 2)), ((2, 5), ()),
                ((), (6,))]


@st.composite
def _batch(draw, words: bool):
    alphabet = draw(st.sampled_from([["ab", "c", "dde"], ["the", "of", "a", "cat", "sat"], ["长", "江", "大", "河"],
                                     ["x", "yy"]]))
    token = st.sampled_from(alphabet)
    documents = []
    for _ in range(draw(st.integers(0, 8))):
        tokens = draw(st.lists(token, max_size=120))
        if tokens and draw(st.booleans()):
            run = draw(st.lists(token, min_size=1, max_size=30))
            tokens = tokens[: len(tokens) // 2] + run * draw(st.integers(2, 5)) + tokens[len(tokens) // 2 :]
        odd = draw(st.sampled_from(["", "", "", "\U0001f600", "\uffff"]))
        if words:
            documents.append(tokens + ([odd] if odd else []))
        else:
            documents.append("".join(t[0] for t in tokens) + odd)
    return documents


@pytest.mark.parametrize("bound", [100, 10**9])
@pytest.mark.parametrize("words", [True, False])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_batch_measures_what_each_document_measures_alone(words, bound, data):
    # The batch path (one sort for the batch, sizes above 4 from run numbers, one duplicate scan) against
    # ngram_fractions document by document and against the plain definition: the same floats, same order;
    # documents from _BATCH_MAX_TOKENS (100: some of them) are measured alone, beside the batch.
    documents = data.draw(_batch(words))
    top_ns, dup_ns = data.draw(st.sampled_from(_BATCH_SIZES))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gopher, "_BATCH_MAX_TOKENS", bound)
        got = gopher.ngram_fractions_many(documents, top_ns, dup_ns)
    alone = [ngram_fractions(tokens, top_ns, dup_ns) for tokens in documents]
    assert [list(scores.items()) for scores in got] == [list(scores.items()) for scores in alone]
    joiner = " " if words else ""
    for tokens, scores in zip(documents, got, strict=True):
        assert scores == {**{f"top_{n}gram_frac": plain_top(tokens, n, joiner) for n in top_ns},
                          **{f"dup_{n}gram_frac": plain_dup(tokens, n, joiner) for n in dup_ns}}
        assert all(type(v) is float for v in scores.values())


def test_the_filters_score_a_batch_as_they_score_each_document():
    from corpus.filters.quality_zh import ZhQualityFilter
    from corpus.filters.view import TextView

    rng = random.Random(7)
    zh = ["".join(random_tokens(rng, False, rng.choice([0, 5, 60, 400]))) + "。\n" * rng.randint(0, 2) for _ in range(40)]
    en = [" ".join(random_tokens(rng, True, rng.choice([0, 5, 60, 400]))) for _ in range(40)]
    for flt, texts in ((ZhQualityFilter(), zh), (gopher.GopherRepetitionFilter(), en)):
        assert flt.score_batch([TextView(t) for t in texts]) == [flt.score(t) for t in texts]


def test_ngram_violation_takes_top_sizes_then_duplicate_sizes_in_size_order_and_skips_switched_off_bounds():
    scores = {"top_2gram_frac": 0.9, "top_3gram_frac": 0.3, "top_4gram_frac": 0.0, "dup_5gram_frac": 0.5,
              "dup_10gram_frac": 0.9}
    violation = gopher.ngram_violation
    assert violation(scores, {3: 0.2, 2: None}, {10: 0.1}, "top", "dup") == (False, "top", 0.3, 0.2)
    assert violation(scores, {2: None, 3: None}, {10: 0.1, 5: 0.4}, "top", "dup") == (False, "dup", 0.5, 0.4)
    assert violation(scores, {4: 0.1}, {5: None, 10: 0.95}, "top", "dup") is None


# Every whitespace character str.split knows (and pyarrow's utf8_split_whitespace must), in runs and at
# the ends, beside words, stop words in marks and case, and characters lower() maps oddly.
_SPACES = ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1d", "\x1e", "\x1f", " ", "\x85", "\xa0", "\u1680",
           "\u2000", "\u2005", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
_SPLIT_PIECES = _WORD_PIECES + _SPACES + ["\u200b", "\ufeff", "\u212a", "THAT", "tHe", "Ⅰ", "\U0001f600"]


def test_the_whitespace_check_holds_one_piece_of_code_points_at_a_time():
    # Run once in every filter worker: the whole range at once held 2 x 1.1 M token strings (~115 MiB
    # traced), which stayed in each worker's peak RSS.
    import tracemalloc

    import pyarrow as pa
    import pyarrow.compute as pc

    pc.utf8_split_whitespace(pa.array(["a b"])).flatten().to_pylist()  # pyarrow's first call sets itself up
    tracemalloc.start()
    try:
        assert gopher._arrow_splits_as_python.__wrapped__()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"{peak / 2**20:.1f} MiB traced"


def test_pyarrow_splits_on_python_whitespace_and_lower_keeps_it():
    # The premises of arrow_words and stop_words_many, over every code point: pyarrow's whitespace is
    # str.split's; lower() makes and removes no whitespace; a non-ASCII character lower-cases to ASCII
    # only as the Kelvin sign does, to "k" (in no stop word).
    assert gopher._arrow_splits_as_python()
    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    assert all(c.isspace() == any(x.isspace() for x in c.lower()) for c in every)
    assert [c for c in every if not c.isascii() and c.lower().isascii()] == ["\u212a"]
    assert "k" not in "".join(STOP_WORDS)


def test_arrow_words_and_stop_words_equal_str_split_and_the_regex():
    # pyarrow 26 takes a multi-byte whitespace character that ends a full data buffer for part of a word
    # (47 + 4 + 3 + 3 bytes ... of 64: ["b" * 47 + "a\t\x85\u1680"] gave the word "\u1680"); arrow_words
    # ends the buffer with a sentinel.
    for space in ["\u1680", "\u3000", "\x85", "\xa0"]:
        for n in range(0, 140):
            texts = ["x" * (n % 5), "b" * n + "a\t\x85" + space]
            words = gopher.arrow_words(texts)
            assert words.tokens.to_pylist() == [t for text in texts for t in text.split()], (space, n)
    rng = random.Random(12)
    texts = ["", " ", "\u3000\x1c", "a\ud800 the", "the"] + [
        "".join(rng.choice(_SPLIT_PIECES) for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    words = gopher.arrow_words(texts)
    assert words.read == [text != "a\ud800 the" for text in texts]
    tokens, stops = words.tokens.to_pylist(), gopher.stop_words_many(words).tolist()
    ends = words.counts.cumsum().tolist()
    for text, end, n, stop, ok in zip(texts, ends, words.counts.tolist(), stops, words.read, strict=True):
        if ok:
            assert tokens[end - n : end] == text.split(), ascii(text)
            assert words.token_chars[end - n : end].tolist() == [len(t) for t in text.split()]
            assert stop == gopher.stop_words(text.lower()), ascii(text)


@pytest.mark.parametrize(("arrow_max", "alpha_max"), [(6000, 1000), (40, 1000), (6000, 20)])
def test_the_word_table_scores_a_batch_as_each_document_alone(monkeypatch, arrow_max, alpha_max):
    # gopher_quality and gopher_repetition share the word table: one view list, both filters, in the
    # chain's order and each alone; texts from _ARROW_MAX_CHARS (40: many) and from _BATCH_MAX_TOKENS
    # (monkeypatched to 30) words take the views' own words, a lone surrogate str.split; alphabetic words
    # are counted by RE2 below _ALPHA_ARROW_MAX_CHARS (20: few), from the view's bits from there.
    from corpus.filters.view import TextView

    monkeypatch.setattr(gopher, "_ARROW_MAX_CHARS", arrow_max)
    monkeypatch.setattr(gopher, "_ALPHA_ARROW_MAX_CHARS", alpha_max)
    monkeypatch.setattr(gopher, "_BATCH_MAX_TOKENS", 30)
    rng = random.Random(13)
    texts = [" ".join(random_tokens(rng, True, rng.choice([0, 3, 20, 60]))) + rng.choice(["", " the", "\xa0of"])
             for _ in range(60)]
    texts += ["".join(rng.choice(_SPLIT_PIECES) for _ in range(rng.randint(0, 40))) for _ in range(200)]
    texts += ["the \ud800 of the cat the cat the cat", "", "\u3000"]
    quality, repetition = GopherQualityFilter(), gopher.GopherRepetitionFilter()
    alone = [(quality.score(t), repetition.score(t)) for t in texts]
    views = [TextView(t) for t in texts]
    assert list(zip(quality.score_batch(views), repetition.score_batch(views), strict=True)) == alone
    assert list(zip(quality.score_batch([TextView(t) for t in texts]), repetition.score_batch(
        [TextView(t) for t in texts][::-1])[::-1], strict=True)) == alone


def test_word_ids_past_16_bits_take_the_views_words():
    # 70 documents of 985 different words (under _BATCH_MAX_TOKENS): 68,950 distinct ids do not fit the
    # packed keys' 16 bits.
    from corpus.filters.view import TextView

    texts = [" ".join(f"w{d}x{i}" for i in range(985)) + f" the w{d}x1 w{d}x2" for d in range(70)]
    views = [TextView(t) for t in texts]
    top, dup = {2: 0.2, 3: 0.18, 4: 0.16}, {5: 0.15}
    assert gopher.word_ngram_fractions_many(views, top, dup) == [ngram_fractions(t.split(), top, dup) for t in texts]
