"""DuIE 2.0 (Baidu, LIC 2020 relation extraction) → IE records, and its schema file → :class:`Schema`.

Lines are ``{"text", "spo_list": [{"subject", "subject_type", "predicate", "object": {"@value": ...},
"object_type": {"@value": ...}}]}``; n-ary relations (e.g. 饰演) put extra slots such as ``inWork``
beside ``@value``, kept here as relation qualifiers. DuIE gives no offsets; test lines have no spo_list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_MISSING_FIELD,
    IERecord,
    RecordError,
    Relation,
    dedup,
    text_of,
    validate,
)
from instruct.ie.schema import Schema, spo_key
from instruct.io import Rejected, iter_json_records

SOURCE = "duie"


def _value(slot: Any, what: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``{"@value": v, "inWork": w}`` → (v, (("inWork", w),)); DuIE 1.0 plain strings pass through."""
    if isinstance(slot, str):
        return slot, ()
    if not isinstance(slot, Mapping) or not isinstance(slot.get("@value"), str):
        raise RecordError(REASON_BAD_FIELD, f"{what} must be a string or a dict with '@value'")
    extra = tuple(sorted((str(k), str(v)) for k, v in slot.items() if k != "@value"))
    return slot["@value"], extra


def convert_duie(obj: Any, *, id: str, source: str = SOURCE) -> IERecord:
    """One DuIE line (already parsed) → an IE record; raises RecordError if it is malformed."""
    text = text_of(obj)
    relations = []
    for spo in obj.get("spo_list") or ():
        for key in ("subject", "predicate", "object"):
            if key not in spo:
                raise RecordError(REASON_MISSING_FIELD, f"spo without {key!r}")
        tail, slots = _value(spo["object"], "object")
        tail_type, _ = _value(spo.get("object_type", ""), "object_type")
        relations.append(Relation(
            head=str(spo["subject"]), relation=str(spo["predicate"]), tail=tail,
            head_type=str(spo.get("subject_type", "")), tail_type=tail_type, qualifiers=slots,
        ))
    return validate(IERecord(id=id, text=text, language="zh", source=source, relations=dedup(relations)))


def read_duie(path: Path, *, source: str = SOURCE) -> Iterator[IERecord | Rejected]:
    """Yield IE records from a DuIE 2.0 JSONL file; ids are the sha256 of the text (as IEPile does)."""
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        text = obj.get("text") if isinstance(obj, Mapping) else None
        rid = f"{source}:{hashlib.sha256(str(text).encode()).hexdigest()[:16]}"
        try:
            yield convert_duie(obj, id=rid, source=source)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)


def read_duie_schema(path: Path) -> Schema:
    """DuIE's schema file (JSON lines, or a JSON array) → an SPO schema.

    types = ``subj_pred_objtype`` keys (``@value`` of object_type), roles = predicates, both in file order.
    """
    types: list[str] = []
    roles: list[str] = []
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            raise ValueError(f"{where}: {obj.detail}")
        obj_type, _ = _value(obj["object_type"], "object_type")
        types.append(spo_key(obj["subject_type"], obj["predicate"], obj_type))
        roles.append(obj["predicate"])
    return Schema(types=dedup(types), roles=dedup(roles))
