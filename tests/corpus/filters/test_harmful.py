"""Harmful filter: obfuscation is undone, word boundaries hold, density and distinct bounds decide."""

from __future__ import annotations

import random
import unicodedata

import pytest

from corpus.filters.harmful import (
    HARM_DRUGS,
    HARM_GAMBLING,
    HARM_PORN,
    HarmfulFilter,
    blocked_domain,
    build_matcher,
    normalise,
)
from corpus.text import nfkc

SPAM_ZH = "真人荷官在线发牌，百家乐、老虎机、六合彩应有尽有，注册送彩金。"


@pytest.mark.parametrize(
    "text",
    [
        SPAM_ZH,
        "真人荷官線上發牌，百家樂、老虎機、六合彩應有盡有，註冊送彩金。",  # Traditional characters
        "真 人 荷 官 在线发牌，百.家.乐、老*虎*机、六-合-彩，注册送彩金。",  # separators between characters
        "真人荷官在线发牌，百家乐、老虎机、六合彩应有尽有，注册送彩金！！",  # full-width punctuation
    ],
)
def test_obfuscated_chinese_is_caught(text: str) -> None:
    assert HarmfulFilter().keep({"text": text, "meta": {}}).reason == HARM_GAMBLING


@pytest.mark.parametrize(
    "text",
    [
        "Free ｐｏｒｎ, ｘｘｘ videos and ｎｕｄｅ pics.",  # full-width Latin letters
        "Free p o r n, x.x.x videos and n-u-d-e pics.",  # spaced and dotted letters
        "Free PORN, XXX videos and NUDE pics.",  # case
    ],
)
def test_obfuscated_english_is_caught(text: str) -> None:
    assert HarmfulFilter().keep({"text": text, "meta": {}}).reason == HARM_PORN


def test_normalise_examples() -> None:
    assert normalise("線上賭場") == "线上赌场"
    assert normalise("ＣＡＳＩＮＯ") == "casino"
    assert normalise("c a s i n o, v.i.a.g.r.a") == "casino, viagra"
    assert normalise("a cat and a dog") == "a cat and a dog"  # single letters among words stay apart


def test_latin_terms_need_word_boundaries() -> None:
    # "sussex", "essex", "pornography" contain listed terms only as substrings (porn / sex are listed or not).
    text = "Sussex and Essex classes met in Middlesex; the class assessed pornographic law as a topic."
    scores = HarmfulFilter().score(text)
    assert scores["porn_hits"] == 0


def test_one_or_two_terms_are_not_enough() -> None:
    news = "警方破获一起网络赌博案件，抓获嫌疑人二十名，涉案赌博网站已被关闭。" * 3
    verdict = HarmfulFilter().keep({"text": news, "meta": {}})
    assert verdict.keep
    assert HarmfulFilter(min_distinct=2, min_per_1k_chars=1).keep({"text": news, "meta": {}}).reason == HARM_GAMBLING


def test_category_can_be_switched_off() -> None:
    assert HarmfulFilter(thresholds={"gambling": None}).keep({"text": SPAM_ZH, "meta": {}}).keep


def test_reject_value_names_the_terms() -> None:
    verdict = HarmfulFilter().keep({"text": SPAM_ZH, "meta": {}})
    assert {"百家乐", "老虎机", "六合彩"} <= set(verdict.value["terms"])
    assert verdict.threshold == {"min_distinct": 3, "min_per_1k_chars": 2.0}


def test_domain_blocklist_covers_subdomains() -> None:
    domains = frozenset({"spam-casino.example"})
    assert blocked_domain("https://a.b.spam-casino.example/x?y=1", domains) == "spam-casino.example"
    assert blocked_domain("spam-casino.example", domains) == "spam-casino.example"
    assert blocked_domain("https://notspam-casino.example/", domains) is None


def test_matcher_with_ten_thousand_terms_counts_each_hit() -> None:
    terms = [f"term{i:05d}" for i in range(10_000)]
    matcher = build_matcher({"test": terms})
    text = " ".join(terms[::1000]) + " term00000 xterm00001 term000010"
    found = matcher.count(normalise(text))["test"]
    assert found["term00000"] == 2 and len(found) == 10  # the two glued variants do not count


def _terms(lang: str) -> list[tuple[str, str]]:
    from pathlib import Path

    from corpus.filters.harmful import read_lines

    root = Path(__file__).resolve().parents[3] / "configs" / "wordlists" / "harmful"
    return [(path.name.split(".")[0], term) for path in sorted(root.glob(f"*.{lang}.txt")) for term in read_lines(path)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_article_that_names_any_listed_term_once_is_kept(lang: str) -> None:
    from collections import Counter

    from corpus.filters.stage import FilterStep

    body = {
        "zh": "长江是中国第一大河，全长约六千三百公里，发源于青藏高原。沿江各地近年推进生态保护，实行十年禁渔。"
              "记者在报道中提到了“{term}”一词，警方表示将依法处理相关问题。专家认为，治理需要多方协作。",
        "en": "The river is the longest in the country and has shaped its history for thousands of years. "
              "In a report on the case, the police said the word \"{term}\" had appeared in messages, and "
              "that investigators were working with the courts. Experts said that prevention needs patience.",
    }[lang]
    docs = [{"id": f"{cat}:{i}", "text": body.format(term=term), "source": "web", "meta": {"lang": lang}}
            for i, (cat, term) in enumerate(_terms(lang))]
    assert len(docs) > 100
    step = FilterStep(config=f"configs/filters/{lang}.yaml")
    dropped = [(d["id"], d["meta"]["reject"]["reason"]) for d in step(iter(docs), Counter())
               if d["meta"].get("reject", {}).get("reason", "").startswith("harm_")]
    assert dropped == []


# Full-width and compatibility forms, composed and combining letters, Hangul, "…", astral and lone
# surrogate code points: characters whose NFKC depends on their neighbours are among them.
_NFKC_ALPHABET = list("，。：！？（）ｐｏｒｎ１２　…℃½ﬁ①㎡ｶﾞéeÅ가각ᄀ ᅡᆨ中國abc") + ["\u0301", "\u0308", "\u0327",
                                                                       "\U0001d400", "\U0001f600", "\ud800"]


def test_nfkc_equals_unicodedata_on_random_mixes():
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(_NFKC_ALPHABET) for _ in range(rng.randint(0, 30)))
        assert nfkc(text) == unicodedata.normalize("NFKC", text), ascii(text)


def test_hashtag_entries_of_the_shipped_ads_list_are_read() -> None:
    """`#ad` and `#sponsored` are entries of harmful/ads.en.txt; a reader cutting at any `#` lost them."""
    from corpus.filters.harmful import read_lines
    from corpus.resources import shipped

    entries = read_lines(shipped("configs/wordlists/harmful/ads.en.txt"))
    assert "#ad" in entries and "#sponsored" in entries
    assert not any(entry.startswith("# ") for entry in entries)  # the header comment is not an entry


# Letters, digits, both kinds of gap, gaps too long or mixed, newlines (no gap), the Unicode spaces
# [^\S\n] takes, uppercase (not in [a-z0-9]), CJK and an astral character (the regex path).
_SPACING_PIECES = ["a", "7", "a", "b", " ", " ", ".", "ab", "  ", "   ", "..", "-", "*", "·", "_", ". ", "\n", "\t",
                   "\u3000", "\xa0", "X", "中", ",", "\U0001f600"]


def test_spaced_latin_test_equals_the_regex_on_random_texts():
    from corpus.filters import harmful

    rng = random.Random(9)
    hits = 0
    for _ in range(20000):
        # a single letter between every two pieces, so that chains of three are common
        text = "a".join(rng.choice(_SPACING_PIECES) for _ in range(rng.randint(0, 8)))
        expected = harmful._SPACED_LATIN.search(text) is not None
        hits += expected
        assert harmful.has_spaced_latin(text) == expected, ascii(text)
    assert 1000 < hits < 19000  # both answers are well represented
    long_text = "an ordinary sentence, " * 100
    assert normalise(long_text + "c a s i n o") == normalise(long_text) + "casino"


DRUG_FACTS = ("Seizures at the border are mostly methamphetamine and fentanyl; heroin and cocaine follow, "
              "and marijuana seizures have fallen since several states legalised it. ")


def test_drug_names_without_a_sale_are_kept() -> None:
    """A fact-check dense in substance names (the check set's real case: five names, 4.4 hits per 1,000
    characters) is news, not drug spam: drugs needs a drugs_trade term."""
    verdict = HarmfulFilter().keep({"text": DRUG_FACTS * 3, "meta": {}})
    assert verdict.keep


def test_drug_names_beside_a_sale_are_dropped_and_say_why() -> None:
    verdict = HarmfulFilter().keep({"text": DRUG_FACTS * 3 + "Stealth shipping, cash on delivery.", "meta": {}})
    assert verdict.reason == HARM_DRUGS
    assert verdict.value["drugs_trade_terms"] == ["stealth shipping", "cash on delivery"]
    assert verdict.threshold["needs"] == "drugs_trade"
    zh = HarmfulFilter().keep({"text": "出售冰毒、摇头丸、k粉，海洛因现货，货到付款，隐蔽发货。", "meta": {}})
    assert zh.reason == HARM_DRUGS


def test_selling_words_alone_drop_nothing() -> None:
    """drugs_trade is context: a shop page full of "for sale", "order now", "worldwide shipping" is not
    drug spam (its own density would pass the default bounds)."""
    shop = "Vintage lamps for sale. Order now, buy online, worldwide shipping and discreet packaging. " * 3
    scores = HarmfulFilter().score(shop)
    assert scores["drugs_trade_distinct"] >= 3
    assert HarmfulFilter().keep({"text": shop, "meta": {}}).keep


def test_switching_needs_off_restores_names_alone(tmp_path) -> None:
    assert HarmfulFilter(needs={}).keep({"text": DRUG_FACTS * 3, "meta": {}}).reason == HARM_DRUGS


def test_needs_naming_a_missing_list_is_an_error(tmp_path) -> None:
    (tmp_path / "drugs.en.txt").write_text("heroin\ncocaine\n", encoding="utf-8")
    with pytest.raises(ValueError, match="drugs_trade"):
        HarmfulFilter(wordlists=str(tmp_path))
    assert HarmfulFilter(wordlists=str(tmp_path), needs={}).keep({"text": "heroin", "meta": {}}).keep
