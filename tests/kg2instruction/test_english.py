"""English KG2Instruction end to end: real enwiki pages (enwiki-sample, gensim's test dump) and our own
enwiki-format pages, with Wikidata entities in the real dump format (data_samples/wikidata/make_sample.py).
The expected triples were read off the sentences by hand."""

from pathlib import Path

import orjson
import pytest

from kg2instruction.build import SPLITS, run_build
from kg2instruction.schema import load_schema, schema_path

REPO = Path(__file__).resolve().parents[2]
WIKIDATA = REPO / "data_samples" / "wikidata" / "wikidata-sample.json.bz2"
ENWIKI = REPO / "data_samples" / "wiki" / "enwiki-sample.xml.bz2"
ENWIKI_KG = REPO / "data_samples" / "wiki" / "enwiki-kg-sample.xml.bz2"
ZHWIKI = REPO / "data_samples" / "wiki" / "zhwiki-sample.xml.bz2"

# InstructIE's English schema (wiki_cate_schema_en, ../shared/reference §2.3): every relation name we emit
# must be spelled as one of these.
INSTRUCTIE_EN = {
    "Person": "place of birth, date of birth, country of citizenship, occupation, work, achievement, ancestral home, "
              "position, spouse, parent, alternative name, affiliated organization, date of death, sibling, place of death",
    "Geographic_Location": "located in, alternative name, population, capital, area, achievement, length, width, elevation",
    "Building": "located in, alternative name, achievement, event, creation time, width, length, creator, height, area, "
                "named after",
    "Works": "author, publication date, alternative name, country of origin, based on, cast member, publisher, "
             "achievement, performer, director, producer, screenwriter, tracklist, composer, lyricist, "
             "production company, box office, publishing platform",
    "Creature": "distribution, parent taxon, length, main food source, alternative name, taxon name, weight, width, height",
    "Artificial_Object": "alternative name, brand, production date, made from material, country of origin, has use, "
                         "manufacturer, discoverer or inventor",
    "Natural_Science": "alternative name, properties, composition, product, has use, country of origin, "
                       "discoverer or inventor, causes",
    "Organization": "located in, alternative name, has subsidiary, date of incorporation, product, achievement, member, "
                    "founded by, dissolution time, event",
    "Transport": "located in, inception, connecting line, date of official opening, pass, area, alternative name, "
                 "length, width, achievement, class of station",
    "Event": "participant, scene, occurrence time, alternative name, sponsor, casualties, has cause, has effect, "
             "organizer, award received, winner",
    "Astronomy": "alternative name, of, time of discovery or invention, discoverer or inventor, name after, "
                 "absolute magnitude, diameter, mass",
    "Medicine": "symptoms, alternative name, affected body part, possible consequences, etiology",
}


def _records(out: Path, lang: str) -> list[dict]:
    return [orjson.loads(line) for split, _ in SPLITS
            for line in (out / "instructie" / f"{split}_{lang}.json").read_bytes().splitlines()]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("kg-en")
    _, summary = run_build(wikidata=[WIKIDATA], wiki=[ENWIKI, ENWIKI_KG], output=out, langs=("en",), progress=False)
    return out, summary, _records(out, "en")


def _triples(records, text_start):
    (record,) = [r for r in records if r["text"].startswith(text_start)]
    return {(t["head"], t["relation"], t["tail"]) for t in record["relation"]}, record


def test_english_schema_spells_instructie_names():
    schema = load_schema(schema_path("en"))
    assert schema.lang == "en" and set(schema.relations) == set(INSTRUCTIE_EN)
    for topic, rules in schema.relations.items():
        allowed = {name.strip() for name in INSTRUCTIE_EN[topic].split(",")}
        assert set(rules) <= allowed, (topic, set(rules) - allowed)
    zh = load_schema(schema_path("zh"))
    assert sorted(schema.topics.values()) == sorted(zh.topic_names_en[t] for t in zh.topics.values())


def test_output_is_named_and_shaped_like_instructie(built):
    out, summary, records = built
    assert {p.name for p in (out / "instructie").iterdir()} == {"train_en.json", "valid_en.json", "test_en.json"}
    assert records and all(set(r) == {"id", "cate", "text", "relation"} for r in records)
    for r in records:
        assert r["cate"] in INSTRUCTIE_EN
        for t in r["relation"]:
            assert set(t) == {"head", "head_type", "relation", "tail", "tail_type"}
            assert t["head"] in r["text"] and t["tail"] in r["text"]
    assert sum(summary["records_per_split"].values()) == len(records)


def test_real_enwiki_person_page(built):
    _, _, records = built
    triples, record = _triples(records, "Andre Kirk Agassi (/ˈɑːndreɪ ˈæɡəsi/; born April 29, 1970)")  # IPA rendered
    assert record["cate"] == "Person"
    assert triples == {
        ("Andre Kirk Agassi", "date of birth", "April 29, 1970"),  # P569, rendered "April 29, 1970"
        ("Andre Kirk Agassi", "occupation", "tennis player"),  # P106
        ("Andre Kirk Agassi", "alternative name", "Agassi"),  # two names of Q7407 in one paragraph
    }
    triples, _ = _triples(records, "Andre Agassi was born in Las Vegas")
    assert ("Andre Agassi", "place of birth", "Las Vegas") in triples  # cue "born" in the sentence
    assert ("Andre Agassi", "parent", 'Emmanuel "Mike" Agassi') in triples  # the link anchor's text
    # "US Open" and "Andre Agassi Charitable Foundation" are other names: no US, no Agassi mention inside.
    assert not any(t["tail"] == "US" for r in records for t in r["relation"])


def test_real_enwiki_place_and_work_pages(built):
    _, _, records = built
    triples, record = _triples(records, "Andorra is the sixth-smallest nation in Europe")
    assert record["cate"] == "Geographic_Location"
    assert triples == {
        ("Andorra", "area", "468 km2"),  # P2046 +468 Q712226
        ("Andorra", "capital", "Andorra la Vella"),  # "Its capital ...": a sentence about the page subject
        ("Andorra", "located in", "Europe"),
        ("Andorra la Vella", "elevation", "1,023 metres"),
        ("Andorra la Vella", "located in", "Andorra"),
    }
    triples, record = _triples(records, "Animal Farm is an allegorical")
    assert record["cate"] == "Works"
    assert triples == {("Animal Farm", "author", "George Orwell"), ("Animal Farm", "publication date", "17 August 1945")}


def test_hand_written_pages_follow_the_rules(built):
    _, summary, records = built
    # The Adams paragraph names him only as "Adams", not a Wikidata name of Q42: nothing is made of it.
    assert not [r for r in records if r["text"].startswith("Adams was born in Cambridge")]
    triples, _ = _triples(records, "The United Kingdom of Great Britain and Northern Ireland")
    assert ("England", "located in", "United Kingdom of Great Britain and Northern Ireland") in triples
    assert ("London", "located in", "England") not in triples  # listed as the UK's capital, not placed in England
    triples, _ = _triples(records, "Nineteen Eighty-Four (also published as 1984)")
    assert ("Nineteen Eighty-Four", "author", "George Orwell") in triples  # cue "novel by"
    assert ("Nineteen Eighty-Four", "alternative name", "1984") not in triples  # digits are not names
    for key in ("triple_third_entity_attribute", "triple_not_in_one_sentence", "triple_no_cue_word",
                "mention_inside_longer_name"):
        assert summary["counters"][key] > 0, key


def test_both_languages_in_one_run(tmp_path):
    _, summary = run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI, ENWIKI_KG], output=tmp_path, langs=("zh", "en"),
                           progress=False)
    zh, en = _records(tmp_path, "zh"), _records(tmp_path, "en")
    assert zh and en
    assert {r["cate"] for r in zh} <= {"人物", "地理地区", "组织", "作品"}
    assert {r["cate"] for r in en} <= set(INSTRUCTIE_EN)
    assert summary["dropped"].get("page_lang_not_selected", 0) == 0
    _, only_en = run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI], output=tmp_path / "en-only", langs=("en",),
                           progress=False)
    assert only_en["dropped"]["page_lang_not_selected"] == 7  # every zhwiki page, counted with its reason
