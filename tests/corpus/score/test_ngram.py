"""The character n-gram model: a proper distribution, lower perplexity on fluent than shuffled text,
lossless save/load, and the language guess."""

from __future__ import annotations

import math

import pytest

from corpus.score.ngram import PerplexityModels, guess_lang, train_model, train_models, units

TEXT = "The quick brown fox jumps over the lazy dog. The lazy dog sleeps in the sun all day long."


@pytest.mark.parametrize("context", ["", "t", "th", "the ", "zzzz", "dog. "])
def test_probabilities_sum_to_one(context):
    """Witten-Bell interpolation down to a uniform base: P(.|h) over the vocabulary plus the unknown
    symbol sums to 1 for seen, partly seen and unseen contexts ("" is the start-of-document context)."""
    model = train_model([TEXT], lang="en", order=5)
    base = model.log_prob_stream(context)[0] if context else 0.0
    outcomes = sorted(set(units(TEXT, "en"))) + ["\u2603"]  # every seen character, then an unknown one
    total = sum(math.exp(model.log_prob_stream(context + w)[0] - base) for w in outcomes)
    assert total == pytest.approx(1.0, abs=1e-9)


def test_fluent_text_beats_shuffled_text():
    model = train_model([TEXT * 3], lang="en")
    shuffled = " ".join(sorted(TEXT.split(), key=lambda w: w[::-1]))
    assert model.perplexity("The lazy fox jumps over the brown dog.") < model.perplexity(shuffled[:40])


def test_the_lookup_tables_are_built_once_per_model_and_are_not_a_field():
    model = train_model([TEXT], lang="en", order=3)
    first = model.perplexity("the dog")
    tables = model._tables
    assert model.perplexity("the dog") == first and model._tables is tables  # reused, not rebuilt per call
    followers = model.counts[1]["t"]
    assert tables[1]["t"] == (sum(followers.values()), len(followers), followers)
    assert model == train_model([TEXT], lang="en", order=3)  # the cache is outside the compared fields


def test_save_load_round_trip(tmp_path):
    models = train_models([("en", TEXT), ("zh", "今天天气很好，我们去公园散步。")], min_count=1)
    path = tmp_path / "m.json.gz"
    models.save(path)
    again = PerplexityModels.load(path)
    for lang, text in (("en", "the dog"), ("zh", "天气很好")):
        assert again.perplexity(text, lang) == models.perplexity(text, lang)
    assert again.perplexity("x", "fr") is None
    models.save(tmp_path / "m2.json.gz")
    assert (tmp_path / "m2.json.gz").read_bytes() == path.read_bytes()


def test_units_and_lang():
    assert units("Hello  World 2024\n", "en") == "hello world 0000"
    assert units("今天 2024年\n好", "zh") == "今天0000年好"
    assert guess_lang("今天天气很好，我们去 park 散步。") == "zh"
    assert guess_lang("The weather is fine 今天.") == "en"
