"""The IE record: one text with its entities, relations and events, the shape every converter writes.

Follows DESIGN.md "Instruction data": converters go *to* this record, builders go *from* it.
Offsets are Python character offsets, end exclusive, and are optional (DuIE and InstructIE carry none);
when present, :func:`validate` checks that they point at the mention. Coreference and entity ids are
left out: no KnowLM/IEPile instruction uses them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from corpus.text import HAN_EXT_A_BASIC

# Reasons a converter or the record check rejects an input record (written to the rejected file).
REASON_BAD_JSON = "ie_bad_json"
REASON_MISSING_FIELD = "ie_missing_field"
REASON_BAD_FIELD = "ie_bad_field"
REASON_EMPTY_TEXT = "ie_empty_text"
REASON_OFFSET_MISMATCH = "ie_offset_mismatch"
REASON_OFFSET_OUT_OF_RANGE = "ie_offset_out_of_range"
REASON_BAD_TAG = "ie_bad_tag"
REASON_BAD_LINE = "ie_bad_line"
REASON_UNKNOWN_LABEL = "ie_unknown_label"


class RecordError(ValueError):
    """A record that cannot be converted; ``reason`` is one of the ``REASON_*`` constants."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


Span = tuple[int, int] | None


@dataclass(frozen=True, kw_only=True)
class Entity:
    """A typed mention; ``span`` = (start, end) character offsets into the record text, or None."""

    mention: str
    type: str
    span: Span = None


@dataclass(frozen=True, kw_only=True)
class Relation:
    """A (head, relation, tail) triple with optional entity types and spans.

    ``qualifiers`` keeps n-ary slots such as DuIE's ``inWork`` as (slot, value) pairs.
    """

    head: str
    relation: str
    tail: str
    head_type: str = ""
    tail_type: str = ""
    head_span: Span = None
    tail_span: Span = None
    qualifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Argument:
    """An event argument: the mention and the role it plays."""

    mention: str
    role: str
    span: Span = None


@dataclass(frozen=True, kw_only=True)
class Event:
    """An event mention: type, trigger word and arguments."""

    type: str
    trigger: str
    trigger_span: Span = None
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IERecord:
    """One annotated text. ``source`` names the dataset (``duie``, ``conll03``...); ``meta`` is open."""

    id: str
    text: str
    language: str
    source: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    events: tuple[Event, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def replace(self, **changes: Any) -> IERecord:
        """A copy with ``changes`` applied (records are frozen)."""
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------------------------------------
# JSON form: plain dicts, spans as [start, end] lists, absent optional fields left out.
# ---------------------------------------------------------------------------------------------


def _span_out(span: Span) -> list[int] | None:
    return None if span is None else [span[0], span[1]]


def _span_in(value: Any) -> Span:
    if value is None:
        return None
    if not (isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise RecordError(REASON_BAD_FIELD, f"span must be [start, end], got {value!r}")
    return (value[0], value[1])


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, "", [], ())}


def to_dict(record: IERecord) -> dict[str, Any]:
    """The JSON-ready dict of ``record`` (the IE-records JSONL line)."""
    return {
        "id": record.id,
        "text": record.text,
        "language": record.language,
        "source": record.source,
        "entities": [_drop_empty({"mention": e.mention, "type": e.type, "span": _span_out(e.span)})
                     for e in record.entities],
        "relations": [
            _drop_empty({
                "head": r.head, "head_type": r.head_type, "relation": r.relation, "tail": r.tail,
                "tail_type": r.tail_type, "head_span": _span_out(r.head_span),
                "tail_span": _span_out(r.tail_span), "qualifiers": [list(q) for q in r.qualifiers],
            })
            for r in record.relations
        ],
        "events": [
            _drop_empty({
                "type": ev.type, "trigger": ev.trigger, "trigger_span": _span_out(ev.trigger_span),
                "arguments": [_drop_empty({"mention": a.mention, "role": a.role, "span": _span_out(a.span)})
                              for a in ev.arguments],
            })
            for ev in record.events
        ],
        "meta": dict(record.meta),
    }


def json_object(obj: Any) -> Mapping[str, Any]:
    """``obj`` when it is a JSON object (a parsed input line), else RecordError: every IE converter's first check."""
    if not isinstance(obj, Mapping):
        raise RecordError(REASON_BAD_FIELD, "line is not a JSON object")
    return obj


def text_of(obj: Any) -> str:
    """The ``text`` string of a parsed input line; RecordError when the line is not an object or has none."""
    text = json_object(obj).get("text")
    if not isinstance(text, str):
        raise RecordError(REASON_MISSING_FIELD, "missing 'text'")
    return text


def _req(d: Mapping[str, Any], key: str, kind: type = str) -> Any:
    if key not in d:
        raise RecordError(REASON_MISSING_FIELD, f"missing {key!r}")
    value = d[key]
    if not isinstance(value, kind):
        raise RecordError(REASON_BAD_FIELD, f"{key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def from_dict(d: Mapping[str, Any]) -> IERecord:
    """Read an IE-records JSONL line back; raises :class:`RecordError` on a missing or bad field."""
    if not isinstance(d, Mapping):
        raise RecordError(REASON_BAD_FIELD, "record is not a JSON object")
    return IERecord(
        id=str(_req(d, "id", (str, int))),  # type: ignore[arg-type]
        text=_req(d, "text"),
        language=d.get("language") or "",
        source=d.get("source") or "",
        entities=tuple(
            Entity(mention=_req(e, "mention"), type=_req(e, "type"), span=_span_in(e.get("span")))
            for e in d.get("entities") or ()
        ),
        relations=tuple(
            Relation(
                head=_req(r, "head"), relation=_req(r, "relation"), tail=_req(r, "tail"),
                head_type=r.get("head_type") or "", tail_type=r.get("tail_type") or "",
                head_span=_span_in(r.get("head_span")), tail_span=_span_in(r.get("tail_span")),
                qualifiers=tuple((str(k), str(v)) for k, v in r.get("qualifiers") or ()),
            )
            for r in d.get("relations") or ()
        ),
        events=tuple(
            Event(
                type=_req(ev, "type"), trigger=_req(ev, "trigger"),
                trigger_span=_span_in(ev.get("trigger_span")),
                arguments=tuple(
                    Argument(mention=_req(a, "mention"), role=_req(a, "role"), span=_span_in(a.get("span")))
                    for a in ev.get("arguments") or ()
                ),
            )
            for ev in d.get("events") or ()
        ),
        meta=dict(d.get("meta") or {}),
    )


# ---------------------------------------------------------------------------------------------
# Validation and helpers
# ---------------------------------------------------------------------------------------------


def _check_span(text: str, mention: str, span: Span, what: str) -> None:
    if span is None:
        return
    start, end = span
    if not 0 <= start < end <= len(text):
        raise RecordError(REASON_OFFSET_OUT_OF_RANGE, f"{what} {mention!r} span {span} outside text of {len(text)}")
    if text[start:end] != mention:
        raise RecordError(REASON_OFFSET_MISMATCH, f"{what} {mention!r} but text[{start}:{end}] = {text[start:end]!r}")


def validate(record: IERecord) -> IERecord:
    """Return ``record`` if its text is non-empty and every span points at its mention, else raise."""
    if not record.text.strip():
        raise RecordError(REASON_EMPTY_TEXT, f"record {record.id} has no text")
    for e in record.entities:
        _check_span(record.text, e.mention, e.span, "entity")
    for r in record.relations:
        _check_span(record.text, r.head, r.head_span, "head")
        _check_span(record.text, r.tail, r.tail_span, "tail")
    for ev in record.events:
        _check_span(record.text, ev.trigger, ev.trigger_span, "trigger")
        for a in ev.arguments:
            _check_span(record.text, a.mention, a.span, "argument")
    return record


def dedup(items: Iterable[Any]) -> tuple[Any, ...]:
    """Drop repeated annotations, keeping first-seen order (IEPile's ``filter_lable`` does the same)."""
    return tuple(dict.fromkeys(items))


def position(text: str, mention: str, span: Span) -> int:
    """Where a mention sits in ``text``: its span start, else its first occurrence, else len(text).

    Builders order answers by this so an answer reads in text order (the ordering IEPile intends).
    """
    if span is not None:
        return span[0]
    found = text.find(mention)
    return found if found >= 0 else len(text)


def has_cjk(text: str) -> bool:
    """True if ``text`` contains a CJK unified ideograph (used to guess zh vs en)."""
    return HAN_EXT_A_BASIC.search(text)
