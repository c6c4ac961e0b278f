"""The default clean + filter on real documents labelled by hand (../shared/quality/dev.jsonl).

The documents are not copied into the repository (their licences vary); the test skips without them.
It locks the figures reached (see benchmarks/RESULTS.md, issue 16) so a change that loses good text
or lets more junk through fails here.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.filters.evaluate import judge, load_labelled, rates

DEV = Path(__file__).resolve().parents[4] / "shared" / "quality" / "dev.jsonl"
# (keep-recall, drop-recall) reached per language; keep-recall is the 0.95 target. Session 5
# (zh: trading calls, platform-profile phrases, URLs that end at Chinese text): zh 0.978 / 0.904. Session 4
# (clean_little_prose, injected readings, sign-in labels, casino-app brands): zh 0.978 / 0.865, en
# 0.972 / 0.818; session 3 (promo) zh 0.978 / 0.808, en 0.972 / 0.750; before both 0.984 / 0.615, 0.972 / 0.659.
# Session 5, en (widget counters, pagination, search-result listings, 48-character menu entries,
# share buttons): en 0.972 / 0.909. Session 6 (qzh6: SEO-spam rules, the article rule of clean's page
# rules, top n-gram bounds on 4/6/8 characters): zh 0.984 / 0.904, en 0.972 / 0.909.
FLOORS = {"zh": (0.97, 0.90), "en": (0.97, 0.90)}


@pytest.fixture(scope="module")
def outcomes():
    if not DEV.exists():
        pytest.skip(f"{DEV} not present")
    return judge(load_labelled(DEV))


@pytest.mark.parametrize("lang", sorted(FLOORS))
def test_keep_and_drop_recall_per_language(outcomes, lang):
    got = rates([o for o in outcomes if o["lang"] == lang])
    keep_floor, drop_floor = FLOORS[lang]
    assert got["keep_recall"] >= keep_floor, got
    assert got["drop_recall"] >= drop_floor, got


def test_no_good_document_is_dropped_for_naming_a_harmful_term(outcomes):
    lost = [(o["id"], o["reason"]) for o in outcomes if o["label"] == "keep" and (o["reason"] or "").startswith("harm_")]
    assert lost == []


def test_the_promo_rule_costs_at_most_one_good_document_per_language(outcomes):
    lost = [(o["lang"], o["id"]) for o in outcomes if o["label"] == "keep" and o["reason"] == "promo_commercial"]
    assert max(Counter(lang for lang, _ in lost).values(), default=0) <= 1, lost


def test_no_good_document_is_dropped_as_seo_spam(outcomes):
    # The four kinds (casino brands, betting tips, keyword stuffing, code lists) are shapes of spam pages;
    # a keep page of dev.jsonl that one of them takes means the rule reaches ordinary text.
    lost = [(o["id"], o["reason"]) for o in outcomes if o["label"] == "keep" and o["doc"]["meta"].get("reject", {})
            .get("filter") == "seo_spam"]
    assert lost == []


def test_every_drop_carries_filter_reason_value_and_threshold(outcomes):
    for o in outcomes:
        if not o["kept"]:
            reject = o["doc"]["meta"]["reject"]
            assert {"stage", "reason", "value", "threshold"} <= set(reject), reject
            assert reject["stage"] == "clean" or reject["filter"]


def test_the_little_prose_rule_costs_at_most_one_good_document_per_language(outcomes):
    lost = [(o["lang"], o["id"]) for o in outcomes if o["label"] == "keep" and o["reason"] == "clean_little_prose"]
    assert max(Counter(lang for lang, _ in lost).values(), default=0) <= 1, lost
