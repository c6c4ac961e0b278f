"""The precision rules of distant supervision, each triggered by name on a tiny inline paragraph, with
the KB of the shipped Wikidata sample (real statements: Q42 P27 Q145, Q25169 P495 Q145, Q84 P131 Q21 ...)."""

from collections import Counter
from pathlib import Path

import pytest

from kg2instruction.distant import (
    NO_CUE,
    PAIR_NOT_IN_ONE_SENTENCE,
    THIRD_ENTITY_ATTRIBUTE,
    EntityTyper,
    constrain,
    raw_triples,
)
from kg2instruction.kb import KnowledgeBase, build_kb
from kg2instruction.link import Mention
from kg2instruction.schema import load_schema, schema_path

WIKIDATA = Path(__file__).resolve().parents[2] / "data_samples" / "wikidata" / "wikidata-sample.json.bz2"
NAMES = {"亚当斯": "Q42", "银河便车指南": "Q25169", "英国": "Q145", "英格兰": "Q21", "伦敦": "Q84", "剑桥": "Q350",
         "Agassi": "Q7407", "Steffi Graf": "Q54545", "Graf": "Q54545", "Las Vegas": "Q23768"}


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kb") / "kb.sqlite"
    value_props = load_schema(schema_path("zh")).value_properties() | load_schema(schema_path("en")).value_properties()
    build_kb([WIKIDATA], path, value_props=value_props, progress=False)
    return path


def _mentions(text: str) -> list[Mention]:
    found, taken = [], []
    for name in sorted(NAMES, key=len, reverse=True):
        start = text.find(name)
        while start >= 0:
            end = start + len(name)
            if not any(s < end and start < e for s, e in taken):
                found.append(Mention(name, NAMES[name], start, end))
                taken.append((start, end))
            start = text.find(name, end)
    return sorted(found, key=lambda m: m.start)


def _label(kb_path: Path, lang: str, text: str, page_qid: str, topic: str) -> tuple[set, Counter]:
    kb, schema = KnowledgeBase(kb_path, lang), load_schema(schema_path(lang))
    counters: Counter = Counter()
    mentions = _mentions(text)
    candidates = raw_triples(mentions, text, kb, schema.value_properties(), counters, page_qid=page_qid,
                             pronouns=schema.subject_pronouns, lang=lang)
    relations = constrain(topic, mentions, candidates, schema, EntityTyper(kb, schema), counters)
    return {(r["head"], r["relation"], r["tail"]) for r in relations}, counters


def test_third_entity_right_by_the_tail_holds_it(kb_path):
    # 英国 modifies 作家亚当斯: it is the author's country (Q42 P27), not the book's (Q25169 P495).
    triples, counters = _label(kb_path, "zh", "《银河便车指南》是英国作家亚当斯创作的小说。", "Q25169", "作品")
    assert triples == {("银河便车指南", "作者", "亚当斯")}
    assert counters[THIRD_ENTITY_ATTRIBUTE] >= 1
    # Said of the book itself, the same fact is kept.
    triples, counters = _label(kb_path, "zh", "《银河便车指南》是英国的小说，作者是亚当斯。", "Q25169", "作品")
    assert ("银河便车指南", "产地", "英国") in triples


def test_parts_listed_by_the_subject_are_not_related_to_each_other(kb_path):
    # The UK lists England and London; the sentence does not say London (Q84 P131 Q21) is in England.
    triples, counters = _label(kb_path, "zh", "英国由英格兰等组成，首都是伦敦。", "Q145", "地理地区")
    assert ("伦敦", "位于", "英格兰") not in triples and counters[THIRD_ENTITY_ATTRIBUTE] >= 1
    assert ("英国", "行政中心", "伦敦") in triples
    # Written as one phrase, the same pair is carried: "英格兰伦敦".
    triples, _ = _label(kb_path, "zh", "英国的首都是英格兰伦敦。", "Q145", "地理地区")
    assert ("伦敦", "位于", "英格兰") in triples


def test_a_pair_needs_one_sentence_or_a_pronoun_for_the_page_subject(kb_path):
    triples, counters = _label(kb_path, "zh", "亚当斯写了很多书。英国是一个岛国。", "Q42", "人物")
    assert not any(t[1] == "国籍" for t in triples) and counters[PAIR_NOT_IN_ONE_SENTENCE] == 1
    triples, counters = _label(kb_path, "zh", "亚当斯写了很多书。他生于剑桥。", "Q42", "人物")
    assert ("亚当斯", "出生地点", "剑桥") in triples and counters[PAIR_NOT_IN_ONE_SENTENCE] == 0


def test_cue_words(kb_path):
    triples, counters = _label(kb_path, "en", "Agassi and Graf formed a company in Las Vegas.", "Q7407", "Person")
    # spouse both ways (each has a P26 statement) without "married", place of birth without "born"
    assert triples == set() and counters[NO_CUE] == 3
    triples, _ = _label(kb_path, "en", "Agassi was born in Las Vegas. He married Steffi Graf in 2001.", "Q7407",
                        "Person")
    assert triples == {("Agassi", "place of birth", "Las Vegas"), ("Agassi", "spouse", "Steffi Graf"),
                       ("Steffi Graf", "spouse", "Agassi")}
