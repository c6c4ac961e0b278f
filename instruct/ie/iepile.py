"""IEPile data → IE records (Gou et al., arXiv 2402.14710; ``zjunlp/IEPile``), from both of its layouts.

Raw source lines (``data/<TASK>/sample.json``): ``{"text", "entity"|"relation"|"event": [...]}``.
Instruction rows (``train.json``/test): ``{"task", "source", "instruction": json{instruction, schema,
input}, "output"|"label"}``; the rows of one text (split over several schema chunks) are merged back
into one record. RE outputs are read with ``subject``/``object`` keys and also ``head``/``tail``
(the converter code's spelling). KG rows are rejected as unknown: no builder here makes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_MISSING_FIELD,
    REASON_UNKNOWN_LABEL,
    Argument,
    Entity,
    Event,
    IERecord,
    RecordError,
    Relation,
    dedup,
    has_cjk,
    json_object,
)
from instruct.io import Rejected, iter_json_records

SOURCE = "iepile"
NAN = "NAN"


def _str(d: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        if isinstance(d.get(key), str):
            return d[key]
    raise RecordError(REASON_MISSING_FIELD, f"{dict(d)!r} has none of {keys}")


def raw_annotations(obj: Mapping[str, Any]) -> tuple[tuple[Entity, ...], tuple[Relation, ...], tuple[Event, ...]]:
    """Annotations of a raw IEPile source line (also the gold ``label`` of test rows)."""
    entities = tuple(Entity(mention=_str(e, "entity"), type=_str(e, "entity_type")) for e in obj.get("entity") or ())
    relations = tuple(
        Relation(head=_str(r, "head", "subject"), relation=_str(r, "relation", "predicate"),
                 tail=_str(r, "tail", "object"), head_type=r.get("head_type") or r.get("subject_type") or "",
                 tail_type=r.get("tail_type") or r.get("object_type") or "")
        for r in obj.get("relation") or ()
    )
    events = tuple(
        Event(type=_str(ev, "event_type"), trigger=ev.get("event_trigger") or "",
              arguments=tuple(Argument(mention=_str(a, "argument"), role=_str(a, "role"))
                              for a in ev.get("arguments") or ()))
        for ev in obj.get("event") or ()
    )
    return dedup(entities), dedup(relations), dedup(events)


def _values(value: Any) -> list[str]:
    """An IEPile argument value: ``"v"``, ``["v1", "v2"]`` or ``"NAN"`` → the real values."""
    items = value if isinstance(value, list) else [value]
    return [v for v in items if isinstance(v, str) and v and v != NAN]


def output_annotations(
    task: str, schema: list[Any], output: Mapping[str, Any]
) -> tuple[list[Entity], list[Relation], list[Event]]:
    """Annotations encoded in one instruction row's ``output`` dict (see DESIGN §3.2 shapes)."""
    entities: list[Entity] = []
    relations: list[Relation] = []
    events: list[Event] = []
    items = {(s.get("predicate") or s.get("event_type")) if isinstance(s, Mapping) else s: s for s in schema}
    for key, found in output.items():
        if not isinstance(found, list):
            raise RecordError(REASON_BAD_FIELD, f"output[{key!r}] is not a list")
        item = items.get(key)
        for val in found:
            if task in ("NER",):
                entities.append(Entity(mention=str(val), type=key))
            elif task in ("RE", "SPO"):
                head_type = item.get("subject_type", "") if isinstance(item, Mapping) else ""
                tail_type = item.get("object_type", "") if isinstance(item, Mapping) else ""
                relations.append(Relation(head=_str(val, "subject", "head"), relation=key,
                                          tail=_str(val, "object", "tail"), head_type=head_type, tail_type=tail_type))
            elif task == "EET":
                events.append(Event(type=key, trigger=str(val)))
            elif task == "EE":
                args = (val.get("arguments") or {}) if isinstance(val, Mapping) else {}
                events.append(Event(type=key, trigger=str(val.get("trigger", "")), arguments=tuple(
                    Argument(mention=m, role=role) for role, v in args.items() for m in _values(v))))
            elif task == "EEA":
                triggers = item.get("trigger") if isinstance(item, Mapping) else None
                trigger = triggers[0] if isinstance(triggers, list) and triggers else ""
                # DeepKE's EEA rows wrap the roles as {"trigger", "arguments"}; IEPile's are bare.
                roles = val.get("arguments", val) if isinstance(val, Mapping) and "arguments" in val else val
                events.append(Event(type=key, trigger=str(trigger), arguments=tuple(
                    Argument(mention=m, role=role) for role, v in (roles or {}).items() for m in _values(v))))
            else:
                raise RecordError(REASON_UNKNOWN_LABEL, f"task {task!r} is not NER, RE, SPO, EE, EET or EEA")
    return entities, relations, events


def read_iepile(path: Path, *, source: str | None = None, language: str | None = None) -> Iterator[IERecord | Rejected]:
    """Yield IE records from an IEPile raw-sample file or instruction-row file (detected per line)."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    default_source = source or Path(path).parent.name or SOURCE
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        try:
            json_object(obj)
            if "instruction" not in obj:
                text = _str(obj, "text")
                ents, rels, evs = raw_annotations(obj)
                src = source or obj.get("source") or default_source
                lang = language or ("zh" if has_cjk(text) else "en")
                rid = obj.get("id") or hashlib.sha256(text.encode()).hexdigest()
                yield IERecord(id=f"{src}:{rid}", text=text, language=lang, source=src,
                               entities=ents, relations=rels, events=evs)
                continue
            try:
                inst = orjson.loads(obj["instruction"])
            except orjson.JSONDecodeError as err:
                raise RecordError(REASON_BAD_JSON, f"instruction is not JSON: {err}") from None
            text = _str(inst, "input")
            src = source or obj.get("source") or default_source
            slot = merged.setdefault((src, text), {"task": obj.get("task", ""), "id": obj.get("id"),
                                                   "entities": [], "relations": [], "events": []})
            if "label" in obj:
                ents, rels, evs = raw_annotations(orjson.loads(obj["label"]))
                slot["entities"], slot["relations"], slot["events"] = list(ents), list(rels), list(evs)
                slot["from_label"] = True
            elif not slot.get("from_label"):
                try:
                    output = orjson.loads(obj["output"])
                except (KeyError, orjson.JSONDecodeError) as err:
                    raise RecordError(REASON_BAD_JSON, f"output missing or not JSON: {err}") from None
                if not isinstance(output, Mapping):
                    raise RecordError(REASON_BAD_FIELD, "output is not a JSON object")
                ents, rels, evs = output_annotations(str(obj.get("task", "")).upper(), inst.get("schema") or [], output)
                slot["entities"] += ents
                slot["relations"] += rels
                slot["events"] += evs
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)
    for (src, text), slot in merged.items():
        rid = slot["id"] or hashlib.sha256(text.encode()).hexdigest()
        yield IERecord(
            id=f"{src}:{rid}", text=text, language=language or ("zh" if has_cjk(text) else "en"), source=src,
            entities=dedup(slot["entities"]), relations=dedup(slot["relations"]), events=dedup(slot["events"]),
            meta={"task": slot["task"]},
        )
