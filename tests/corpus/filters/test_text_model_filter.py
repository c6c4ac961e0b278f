"""The opt-in ``text_model`` filter: its verdicts carry reason, value and threshold; its bound; batch = single."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from corpus.builder import ConfigError
from corpus.filters.registry import build_filter
from corpus.filters.stage import FilterStep
from corpus.filters.text_model import TEXT_MODEL_LOW, TextModelFilter
from corpus.filters.view import TextView
from corpus.schema import conform_meta
from corpus.text_model import train, write_model
from tests.corpus.test_text_model import drop_text, keep_text


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(7)
    texts, labels = [], []
    for zh in (True, False):
        for label in (1, 0):
            for _ in range(12):
                texts.append(keep_text(rng, zh) if label else drop_text(rng, zh))
                labels.append(label)
    path = tmp_path_factory.mktemp("text-model") / "model.npz"
    write_model(train(texts, labels, threshold=0.5), path)
    return path


def test_spam_is_dropped_with_reason_value_and_threshold(model_path: Path) -> None:
    flt = build_filter("text_model", {"model": str(model_path)})
    spam = drop_text(random.Random(8), zh=True)
    verdict = flt.keep({"text": spam, "meta": {}})
    assert not verdict.keep and verdict.reason == TEXT_MODEL_LOW
    assert verdict.threshold == 0.5 and 0.0 <= verdict.value < 0.5  # the model's own threshold by default
    assert flt.keep({"text": keep_text(random.Random(8), zh=True), "meta": {}}).keep


def test_bound_from_config_or_off(model_path: Path) -> None:
    spam = {"text": drop_text(random.Random(9), zh=False), "meta": {}}
    prob = TextModelFilter(model=str(model_path)).score(spam["text"])["keep_prob"]
    assert not TextModelFilter(model=str(model_path), min_keep_prob=prob + 0.01).keep(spam).keep
    assert TextModelFilter(model=str(model_path), min_keep_prob=prob).keep(spam).keep  # at the bound: kept
    assert TextModelFilter(model=str(model_path), min_keep_prob=None).keep(spam).keep  # null: scores only


@pytest.mark.parametrize(("options", "message"), [
    ({}, "model"),
    ({"model": "x.npz", "min_keep_prob": "high"}, "min_keep_prob is a probability, 'model' or null"),
    ({"model": "x.npz", "min_keep_prob": 1.5}, "not a probability"),
])
def test_bad_options_are_config_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_filter("text_model", options)


def test_a_missing_model_names_its_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="text model not found: .*nowhere.npz"):
        build_filter("text_model", {"model": str(tmp_path / "nowhere.npz")})


def test_batch_scores_are_the_single_scores(model_path: Path) -> None:
    rng = random.Random(10)
    texts = [keep_text(rng, zh) if i % 2 else drop_text(rng, zh) for zh in (True, False) for i in range(6)] + [""]
    flt = TextModelFilter(model=str(model_path))
    batch = flt.score_batch([TextView(t) for t in texts])
    assert batch == [flt.score(t) for t in texts]
    assert batch[-1]["terms"] == []  # an empty text has no n-grams (and the bias alone decides)


def test_in_the_filter_stage(model_path: Path, tmp_path: Path) -> None:
    config = tmp_path / "filters.yaml"
    config.write_text(f"filters:\n  - text_model: {{model: {model_path}}}\n", encoding="utf-8")
    rng = random.Random(11)
    docs = [{"id": "good", "text": keep_text(rng, zh=False), "source": "web", "meta": {}},
            {"id": "spam", "text": drop_text(rng, zh=False), "source": "web", "meta": {}}]
    counters: Counter = Counter()
    good, spam = FilterStep(config=str(config))(iter(docs), counters)
    assert "reject" not in good["meta"] and good["meta"]["scores"]["text_model"]["keep_prob"] >= 0.5
    reject = spam["meta"]["reject"]
    assert (reject["stage"], reject["filter"], reject["reason"], reject["threshold"]) == \
        ("filter", "text_model", TEXT_MODEL_LOW, 0.5)
    assert reject["value"] == spam["meta"]["scores"]["text_model"]["keep_prob"] < 0.5
    # The score struct is declared in the meta schema (a shard with it is written without a SchemaError).
    conformed = conform_meta(spam["meta"])
    assert conformed["scores"]["text_model"]["keep_prob"] == reject["value"]
    assert conformed["scores"]["text_model"]["terms"] == spam["meta"]["scores"]["text_model"]["terms"]


def test_the_benchmarks_config_appends_the_model_to_the_chains_named(model_path: Path, tmp_path: Path) -> None:
    # benchmarks/filter_quality.py --cv-text and --text-model judge through this config: the default chains,
    # with the model last in the chains given a bound and absent from the others.
    import yaml

    from benchmarks.filter_quality import with_text_model
    from corpus.filters.route import load_plan
    from corpus.filters.stage import DEFAULT_CONFIG

    config = tmp_path / "with-model.yaml"
    config.write_text(yaml.safe_dump(with_text_model(DEFAULT_CONFIG, model_path, {"en": 0.25}), allow_unicode=True),
                      encoding="utf-8")
    plan, default = load_plan(str(config)), load_plan(DEFAULT_CONFIG)
    assert isinstance(plan.chains["en"][-1], TextModelFilter) and plan.chains["en"][-1].min_keep_prob == 0.25
    assert [f.name for f in plan.chains["en"][:-1]] == [f.name for f in default.chains["en"]]
    assert [f.name for f in plan.chains["zh"]] == [f.name for f in default.chains["zh"]]
    assert plan.sources == default.sources
