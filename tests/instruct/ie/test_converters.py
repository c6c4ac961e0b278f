"""Every IE converter on the own-format samples in data_samples/ie: counts, offsets, rejections."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from instruct.ie.ace05 import read_dygiepp, read_oneie
from instruct.ie.casie import read_casie
from instruct.ie.conll import bio_spans, read_conll
from instruct.ie.convert import convert
from instruct.ie.duee import read_duee, read_duee_schema
from instruct.ie.duie import read_duie, read_duie_schema
from instruct.ie.iepile import read_iepile
from instruct.ie.instructie import read_instructie
from instruct.ie.peoples_daily import read_peoples_daily
from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_BAD_TAG,
    REASON_MISSING_FIELD,
    REASON_OFFSET_MISMATCH,
    IERecord,
)
from instruct.io import Rejected

SAMPLES = Path(__file__).resolve().parents[3] / "data_samples" / "ie"


def split(items):
    records = [x for x in items if isinstance(x, IERecord)]
    rejected = [x for x in items if isinstance(x, Rejected)]
    return records, rejected


def assert_offsets(record: IERecord) -> None:
    for e in record.entities:
        if e.span:
            assert record.text[e.span[0]:e.span[1]] == e.mention
    for r in record.relations:
        for mention, span in ((r.head, r.head_span), (r.tail, r.tail_span)):
            if span:
                assert record.text[span[0]:span[1]] == mention
    for ev in record.events:
        if ev.trigger_span:
            assert record.text[ev.trigger_span[0]:ev.trigger_span[1]] == ev.trigger
        for a in ev.arguments:
            if a.span:
                assert record.text[a.span[0]:a.span[1]] == a.mention


def test_bio_iob1_and_iob2_agree():
    assert bio_spans(["I-PER", "I-PER", "B-PER", "O", "I-LOC"]) == [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    assert bio_spans(["B-PER", "I-PER", "B-PER", "O", "B-LOC"]) == [(0, 2, "PER"), (2, 3, "PER"), (4, 5, "LOC")]
    assert bio_spans(["B-ORG", "I-LOC"]) == [(0, 1, "ORG"), (1, 2, "LOC")]


def test_conll_iob1_iob2_same_spans():
    iob1, bad1 = split(list(read_conll(SAMPLES / "conll03/sample.iob1.txt")))
    iob2, bad2 = split(list(read_conll(SAMPLES / "conll03/sample.iob2.txt")))
    assert not bad1 and not bad2
    assert [r.text for r in iob1] == [r.text for r in iob2]
    assert [r.entities for r in iob1] == [r.entities for r in iob2]
    # 4 sentences, 12 entities; "Brazil Argentina" stays two LOC entities (the IOB1 B- case)
    assert len(iob1) == 4 and sum(len(r.entities) for r in iob1) == 12
    talks = iob1[3]
    assert [(e.mention, e.type) for e in talks.entities][:2] == [("Brazil", "LOC"), ("Argentina", "LOC")]
    assert [r.id.split(":")[2] for r in iob1] == ["1", "1", "1", "2"]  # -DOCSTART- starts document 2
    for r in iob1:
        assert_offsets(r)


def test_conll_bad_tag_rejected(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_text("EU NNP B-NP X-ORG\nrejects VBZ B-VP O\n\nGood NNP B-NP B-PER\n", encoding="utf-8")
    records, rejected = split(list(read_conll(f)))
    assert [r.reason for r in rejected] == [REASON_BAD_TAG]
    assert [r.text for r in records] == ["Good"]


def test_peoples_daily():
    records, rejected = split(list(read_peoples_daily(SAMPLES / "peoples_daily/sample.txt")))
    assert not rejected and len(records) == 3
    assert [(e.mention, e.type) for e in records[0].entities][:4] == [
        ("新华社", "ORG"), ("北京", "LOC"), ("国务院", "ORG"), ("李明", "PER")]
    assert sum(len(r.entities) for r in records) == 10
    for r in records:
        assert_offsets(r)


def test_duie_nary_and_rejects():
    records, rejected = split(list(read_duie(SAMPLES / "duie/train.jsonl")))
    raw = [orjson.loads(line) for line in (SAMPLES / "duie/train.jsonl").read_bytes().splitlines()]
    assert len(records) + len(rejected) == len(raw)
    assert sum(len(r.relations) for r in records) == sum(len(x["spo_list"]) for x in raw[:-1])
    assert [r.reason for r in rejected] == [REASON_MISSING_FIELD]
    play = [rel for r in records for rel in r.relations if rel.relation == "饰演"][0]
    assert (play.head, play.tail, play.qualifiers) == ("周小禾", "沈清", (("inWork", "长河落日"),))
    schema = read_duie_schema(SAMPLES / "duie/duie_schema.json")
    assert "人物_饰演_娱乐人物" not in schema.types and "娱乐人物_饰演_人物" in schema.types
    assert schema.roles[0] == "作者"


def test_duie_schema_pretty_array(tmp_path):
    f = tmp_path / "schema.json"
    f.write_text('[\n  {"object_type": {"@value": "人物"}, "predicate": "父亲", "subject_type": "人物"}\n]\n',
                 encoding="utf-8")
    assert read_duie_schema(f).types == ("人物_父亲_人物",)


def test_duee_offsets_and_schema():
    records, rejected = split(list(read_duee(SAMPLES / "duee/train.jsonl")))
    assert len(records) == 4 and [r.reason for r in rejected] == [REASON_OFFSET_MISMATCH]
    assert sum(len(r.events) for r in records) == 4
    assert sum(len(ev.arguments) for r in records for ev in r.events) == 10
    for r in records:
        assert_offsets(r)
    schema = read_duee_schema(SAMPLES / "duee/duee_event_schema.json")
    assert schema.type_roles["组织关系-裁员"] == ("时间", "裁员方", "裁员人数")


def test_casie_nested_events_and_offset_repair():
    records, rejected = split(list(read_casie(SAMPLES / "casie")))
    assert not rejected and len(records) == 1
    rec = records[0]
    assert not rec.text.endswith("</text>")
    assert [ev.type for ev in rec.events] == ["Phishing", "Databreach", "PatchVulnerability"]
    assert sum(len(ev.arguments) for ev in rec.events) == 11
    assert rec.meta["offset_repairs"] == 1  # the sample's shifted "Monday"
    assert_offsets(rec)


def test_casie_unrepairable_offset(tmp_path):
    doc = {"content": "Hackers stole data.", "cyberevent": {"hopper": [{"events": [
        {"nugget": {"startOffset": 8, "endOffset": 13, "text": "stole"}, "subtype": "Databreach",
         "argument": [{"startOffset": 0, "endOffset": 7, "text": "Crooks!", "role": {"type": "Attacker"}}]}]}]}}
    (tmp_path / "a.json").write_bytes(orjson.dumps(doc))
    (tmp_path / "b.json").write_text("{broken", encoding="utf-8")
    _, rejected = split(list(read_casie(tmp_path)))
    assert sorted(r.reason for r in rejected) == sorted([REASON_OFFSET_MISMATCH, REASON_BAD_JSON])


def test_ace05_dygiepp_document_indices():
    records, rejected = split(list(read_dygiepp(SAMPLES / "ace05/dygiepp.jsonl")))
    doc = orjson.loads((SAMPLES / "ace05/dygiepp.jsonl").read_bytes())
    assert not rejected and len(records) == len(doc["sentences"])
    assert sum(len(r.entities) for r in records) == sum(len(s) for s in doc["ner"])
    assert sum(len(r.relations) for r in records) == sum(len(s) for s in doc["relations"])
    third = records[2]
    assert [(r.head, r.relation, r.tail, r.head_type) for r in third.relations][0] == (
        "Maria Lopez", "GEN-AFF", "Madrid", "PER")
    assert third.events[0].trigger == "joined"
    for r in records:
        assert_offsets(r)


def test_ace05_oneie():
    records, rejected = split(list(read_oneie(SAMPLES / "ace05/oneie.jsonl")))
    assert not rejected and len(records) == 2
    rel = records[1].relations[0]
    assert (rel.head, rel.relation, rel.tail, rel.tail_type) == ("Tom Hale", "ORG-AFF", "Orbix", "ORG")
    ev = records[1].events[0]
    assert ev.trigger == "hired" and [a.role for a in ev.arguments] == ["Entity", "Person", "Position"]
    for r in records:
        assert_offsets(r)


def test_instructie():
    records, rejected = split(list(read_instructie(SAMPLES / "instructie/sample.jsonl")))
    assert not rejected and [r.language for r in records] == ["zh", "zh", "en", "en"]
    assert records[0].meta["cate"] == "人物" and len(records[0].relations) == 4
    assert records[2].relations[0].head_type == "architectural structure"


def test_iepile_rows_merge_chunks_and_raw():
    records, rejected = split(list(read_iepile(SAMPLES / "iepile/RE/train.json")))
    assert [r.reason for r in rejected] == [REASON_BAD_JSON]
    assert len(records) == 2
    assert {(r.head, r.relation, r.tail) for r in records[0].relations} == {
        ("归途", "主演", "高岩"), ("归途", "导演", "孙立平")}
    ee, _ = split(list(read_iepile(SAMPLES / "iepile/EE/sample.json")))
    assert [len(r.events) for r in ee] == [1, 2]


@pytest.mark.parametrize("fmt,path", [("duie", "duie"), ("casie", "casie"), ("conll03", "conll03/sample.iob2.txt")])
def test_convert_writes_rejected_and_stats(tmp_path, fmt, path):
    out = tmp_path / "records.jsonl"
    stats = convert(fmt, SAMPLES / path, out)
    lines = out.read_bytes().splitlines()
    assert len(lines) == stats["records"]
    rejected = (tmp_path / "records.rejected.jsonl").read_bytes().splitlines()
    assert len(rejected) == stats["rejected"]
    assert orjson.loads((tmp_path / "records.stats.json").read_bytes())["records"] == stats["records"]


@pytest.mark.parametrize("read", [read_duie, read_duee, read_instructie, read_iepile])
def test_json_converters_quarantine_lines_that_are_not_records(tmp_path, read):
    """A line that parses but is not an object, and a line without a text, are rejected with their
    reasons; the good line after them still comes through."""
    path = tmp_path / "mixed.jsonl"
    good = {"text": "周小禾出生于北京。", "id": "1", "spo_list": [], "relation": [], "event_list": [], "entity": []}
    path.write_text("\n".join([orjson.dumps([1, 2]).decode(), orjson.dumps({"id": "2"}).decode(),
                                orjson.dumps(good).decode()]) + "\n", encoding="utf-8")
    records, rejected = split(list(read(path)))
    assert [r.reason for r in rejected] == [REASON_BAD_FIELD, REASON_MISSING_FIELD]
    assert [r.text for r in records] == [good["text"]]
