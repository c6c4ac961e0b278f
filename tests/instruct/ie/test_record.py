"""IE record JSON round trip, offset validation, schema file and long-text splitting."""

from __future__ import annotations

import json

import pytest

from instruct.ie.record import (
    REASON_EMPTY_TEXT,
    REASON_OFFSET_MISMATCH,
    REASON_OFFSET_OUT_OF_RANGE,
    Argument,
    Entity,
    Event,
    IERecord,
    RecordError,
    Relation,
    from_dict,
    to_dict,
    validate,
)
from instruct.ie.schema import Schema, read_schema, schema_from_records, split_spo_key, write_schema
from instruct.ie.segment import split_record

TEXT = "Ada Lovelace was born in London. She worked with Charles Babbage."


def record() -> IERecord:
    return IERecord(
        id="t:1", text=TEXT, language="en", source="test",
        entities=(Entity(mention="Ada Lovelace", type="person", span=(0, 12)),
                  Entity(mention="London", type="location", span=(25, 31))),
        relations=(Relation(head="Ada Lovelace", relation="born in", tail="London", head_span=(0, 12),
                            tail_span=(25, 31), qualifiers=(("when", "1815"),)),),
        events=(Event(type="work", trigger="worked", trigger_span=(37, 43),
                      arguments=(Argument(mention="Charles Babbage", role="partner", span=(49, 64)),)),),
        meta={"k": 1},
    )


def test_round_trip():
    rec = record()
    assert from_dict(to_dict(rec)) == rec
    assert validate(rec) is rec


@pytest.mark.parametrize("span,reason", [((1, 13), REASON_OFFSET_MISMATCH), ((60, 99), REASON_OFFSET_OUT_OF_RANGE)])
def test_bad_offsets(span, reason):
    rec = record().replace(entities=(Entity(mention="Ada Lovelace", type="person", span=span),))
    with pytest.raises(RecordError) as err:
        validate(rec)
    assert err.value.reason == reason


def test_empty_text():
    with pytest.raises(RecordError) as err:
        validate(record().replace(text="  "))
    assert err.value.reason == REASON_EMPTY_TEXT


def test_schema_file_round_trip(tmp_path):
    schema = Schema(types=("b", "a"), roles=("r1",), type_roles={"b": ("r1",)})
    write_schema(schema, tmp_path / "schema.json")
    assert (tmp_path / "schema.json").read_text().count("\n") == 3
    assert read_schema(tmp_path / "schema.json") == schema


def test_schema_from_records_and_spo_key():
    rec = record().replace(relations=(Relation(head="a", relation="born_in", tail="b", head_type="human",
                                               tail_type="geo_region"),))
    schema = schema_from_records([rec], "spo")
    assert schema.types == ("human_born_in_geo_region",)
    assert split_spo_key(schema.types[0], schema.roles) == ("human", "born_in", "geo_region")
    assert schema_from_records([record()], "ee").type_roles == {"work": ("partner",)}


def test_split_record_keeps_annotations_consistent():
    pieces = split_record(record(), max_chars=40)
    assert [p.text for p in pieces] == ["Ada Lovelace was born in London.", "She worked with Charles Babbage."]
    first, second = pieces
    assert len(first.entities) == 2 and len(first.relations) == 1 and not first.events
    assert second.events[0].trigger_span == (4, 10) and second.events[0].arguments[0].span == (16, 31)
    for p in pieces:
        validate(p)
    assert split_record(record(), max_chars=1000) == [record()]


def test_split_never_cuts_inside_a_mention():
    text = "Mr. Smith went home. Then he slept."
    rec = IERecord(id="x", text=text, language="en", source="t",
                   entities=(Entity(mention="Mr. Smith", type="person", span=(0, 9)),))
    pieces = split_record(rec, max_chars=12)
    assert pieces[0].text.startswith("Mr. Smith") and pieces[0].entities[0].span == (0, 9)


def test_schema_file_keeps_names_with_line_separators(tmp_path):
    # JSON may hold U+0085 and U+2028 unescaped; str.splitlines() would break the line there.
    schema = Schema(types=("a\u0085b", "c\u2028d"), roles=("r",), type_roles={"a\u0085b": ("r",)})
    (tmp_path / "schema.json").write_text("\n".join(
        json.dumps(part, ensure_ascii=False) for part in (list(schema.types), list(schema.roles),
                                                           {k: list(v) for k, v in schema.type_roles.items()})
    ) + "\n", encoding="utf-8")
    assert read_schema(tmp_path / "schema.json") == schema
