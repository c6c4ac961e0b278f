"""ACE 2005 (entities, relations, events) → IE records, one per sentence, from two public layouts.

DyGIE++ (``dwadden/dygiepp``): a document per line with ``sentences`` and per-sentence ``ner``
``[start, end, type]``, ``relations`` ``[s1, e1, s2, e2, type]`` and ``events`` ``[[trigger, type],
[start, end, role], ...]``; token indices count over the whole document and ends are inclusive.
OneIE (``oneie`` preprocessing): a sentence per line with ``tokens``, ``entity_mentions``,
``relation_mentions`` (``Arg-1`` → head) and ``event_mentions``, token ends exclusive.
Tokens are joined with single spaces; coreference clusters are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_MISSING_FIELD,
    REASON_OFFSET_OUT_OF_RANGE,
    Argument,
    Entity,
    Event,
    IERecord,
    RecordError,
    Relation,
    validate,
)
from instruct.io import Rejected, iter_json_records

SOURCE = "ace05"


class _Tokens:
    """Tokens joined by spaces, with token index → character offset."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = list(tokens)
        self.starts = []
        pos = 0
        for tok in self.tokens:
            self.starts.append(pos)
            pos += len(tok) + 1
        self.text = " ".join(self.tokens)

    def span(self, first: int, stop: int) -> tuple[str, tuple[int, int]]:
        """Mention and char span of tokens ``first .. stop-1`` (sentence-local, stop exclusive)."""
        if not 0 <= first < stop <= len(self.tokens):
            raise RecordError(REASON_OFFSET_OUT_OF_RANGE,
                              f"token span [{first}, {stop}) outside a sentence of {len(self.tokens)} tokens")
        begin, end = self.starts[first], self.starts[stop - 1] + len(self.tokens[stop - 1])
        return self.text[begin:end], (begin, end)


def _dygiepp_sentence(doc: Mapping[str, Any], i: int, offset: int, source: str) -> IERecord:
    toks = _Tokens(doc["sentences"][i])

    def local(start: int, end: int) -> tuple[str, tuple[int, int]]:
        return toks.span(start - offset, end - offset + 1)  # document-level, end inclusive

    def layer(name: str) -> list[Any]:
        rows = doc.get(name) or []
        return rows[i] if i < len(rows) else []

    entities, types = [], {}
    for start, end, label in layer("ner"):
        mention, span = local(start, end)
        entities.append(Entity(mention=mention, type=label, span=span))
        types[(start, end)] = label
    relations = []
    for s1, e1, s2, e2, label in layer("relations"):
        head, hspan = local(s1, e1)
        tail, tspan = local(s2, e2)
        relations.append(Relation(head=head, relation=label, tail=tail, head_type=types.get((s1, e1), ""),
                                  tail_type=types.get((s2, e2), ""), head_span=hspan, tail_span=tspan))
    events = []
    for ev in layer("events"):
        if not ev or len(ev[0]) not in (2, 3):
            raise RecordError(REASON_BAD_FIELD, f"event {ev!r} does not start with [trigger, type]")
        trig = ev[0]
        trigger, tspan = local(trig[0], trig[0]) if len(trig) == 2 else local(trig[0], trig[1])
        args = []
        for start, end, role in ev[1:]:
            mention, span = local(start, end)
            args.append(Argument(mention=mention, role=role, span=span))
        events.append(Event(type=trig[-1], trigger=trigger, trigger_span=tspan, arguments=tuple(args)))
    return validate(IERecord(
        id=f"{source}:{doc.get('doc_key', '')}:{i}", text=toks.text, language="en", source=source,
        entities=tuple(entities), relations=tuple(relations), events=tuple(events),
        meta={"doc_key": doc.get("doc_key"), "sentence": i},
    ))


def read_dygiepp(path: Path, *, source: str = SOURCE) -> Iterator[IERecord | Rejected]:
    """Yield one IE record per sentence of every DyGIE++ document; a broken sentence is a Rejected."""
    for where, doc in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(doc, Rejected):
            yield doc
            continue
        if not isinstance(doc, Mapping) or not isinstance(doc.get("sentences"), list):
            yield Rejected(reason=REASON_MISSING_FIELD, detail="missing 'sentences'", where=where)
            continue
        offset = 0
        for i, sentence in enumerate(doc["sentences"]):
            try:
                yield _dygiepp_sentence(doc, i, offset, source)
            except (RecordError, TypeError, ValueError) as err:
                reason = err.reason if isinstance(err, RecordError) else REASON_BAD_FIELD
                yield Rejected(reason=reason, detail=str(err), where=f"{where} sentence {i}",
                               raw={"doc_key": doc.get("doc_key"), "sentence": sentence})
            offset += len(sentence)


def convert_oneie(obj: Any, *, source: str = SOURCE) -> IERecord:
    """One OneIE sentence line → an IE record."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("tokens"), list):
        raise RecordError(REASON_MISSING_FIELD, "missing 'tokens'")
    toks = _Tokens(obj["tokens"])
    by_id: dict[str, tuple[str, tuple[int, int], str]] = {}
    entities = []
    for ent in obj.get("entity_mentions") or ():
        mention, span = toks.span(ent["start"], ent["end"])
        by_id[ent["id"]] = (mention, span, ent["entity_type"])
        entities.append(Entity(mention=mention, type=ent["entity_type"], span=span))

    def entity(eid: str) -> tuple[str, tuple[int, int], str]:
        if eid not in by_id:
            raise RecordError(REASON_BAD_FIELD, f"argument refers to unknown entity {eid!r}")
        return by_id[eid]

    relations = []
    for rel in obj.get("relation_mentions") or ():
        roles = {a["role"]: a["entity_id"] for a in rel.get("arguments", ())}
        if "Arg-1" not in roles or "Arg-2" not in roles:
            raise RecordError(REASON_MISSING_FIELD, f"relation {rel.get('id')} without Arg-1 and Arg-2")
        h, hspan, htype = entity(roles["Arg-1"])
        t, tspan, ttype = entity(roles["Arg-2"])
        relations.append(Relation(head=h, relation=rel["relation_type"], tail=t, head_type=htype,
                                  tail_type=ttype, head_span=hspan, tail_span=tspan))
    events = []
    for ev in obj.get("event_mentions") or ():
        trig = ev["trigger"]
        trigger, tspan = toks.span(trig["start"], trig["end"])
        args = []
        for arg in ev.get("arguments") or ():
            mention, span, _ = entity(arg["entity_id"])
            args.append(Argument(mention=mention, role=arg["role"], span=span))
        events.append(Event(type=ev["event_type"], trigger=trigger, trigger_span=tspan, arguments=tuple(args)))
    return validate(IERecord(
        id=f"{source}:{obj.get('sent_id') or obj.get('doc_id', '')}", text=toks.text, language="en",
        source=source, entities=tuple(entities), relations=tuple(relations), events=tuple(events),
        meta={"doc_id": obj.get("doc_id")},
    ))


def read_oneie(path: Path, *, source: str = SOURCE) -> Iterator[IERecord | Rejected]:
    """Yield one IE record per OneIE sentence line."""
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        try:
            yield convert_oneie(obj, source=source)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)
        except (KeyError, TypeError) as err:
            yield Rejected(reason=REASON_MISSING_FIELD, detail=f"missing or bad field {err}", where=where, raw=obj)
