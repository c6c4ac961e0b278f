"""InstructIE / KG2Instruction lines → IE records (Gui et al., arXiv 2305.11527; HF ``zjunlp/InstructIE``).

Lines are ``{"id", "cate", "text", "relation": [{"head", "head_type", "relation", "tail", "tail_type"}]}``;
newer train files add ``entity``. No offsets are given. ``cate`` (topic) is kept in meta so the
evaluation can break scores down by category. The language is read from the text unless given.
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
    Entity,
    IERecord,
    RecordError,
    Relation,
    dedup,
    has_cjk,
    text_of,
    validate,
)
from instruct.io import Rejected, iter_json_records

SOURCE = "instructie"


def _entity(item: Any) -> Entity:
    """The ``entity`` field appears as ``{"name"|"entity", "type"|"entity_type"}`` or ``[mention, type]``."""
    if isinstance(item, Mapping):
        mention = item.get("name") or item.get("entity") or item.get("mention")
        kind = item.get("type") or item.get("entity_type")
    elif isinstance(item, list | tuple) and len(item) >= 2:
        mention, kind = item[0], item[-1]
    else:
        mention = kind = None
    if not isinstance(mention, str) or not isinstance(kind, str):
        raise RecordError(REASON_BAD_FIELD, f"entity {item!r} has no mention and type")
    return Entity(mention=mention, type=kind)


def convert_instructie(obj: Any, *, source: str = SOURCE, language: str | None = None) -> IERecord:
    """One InstructIE line → an IE record (id = the line's id, else sha256 of the text as upstream)."""
    text = text_of(obj)
    relations = []
    for rel in obj.get("relation") or ():
        if not all(isinstance(rel.get(k), str) for k in ("head", "relation", "tail")):
            raise RecordError(REASON_MISSING_FIELD, f"relation {rel!r} lacks head, relation or tail")
        relations.append(Relation(head=rel["head"], relation=rel["relation"], tail=rel["tail"],
                                  head_type=rel.get("head_type") or "", tail_type=rel.get("tail_type") or ""))
    entities = tuple(_entity(e) for e in obj.get("entity") or ())
    rid = obj.get("id") or hashlib.sha256(text.encode("utf-8")).hexdigest()
    lang = language or ("zh" if has_cjk(text) else "en")
    meta = {"cate": obj["cate"]} if obj.get("cate") else {}
    return validate(IERecord(id=f"{source}:{rid}", text=text, language=lang, source=source,
                             entities=dedup(entities), relations=dedup(relations), meta=meta))


def read_instructie(path: Path, *, source: str = SOURCE, language: str | None = None) -> Iterator[IERecord | Rejected]:
    """Yield IE records from an InstructIE JSONL (or JSON array) file."""
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        try:
            yield convert_instructie(obj, source=source, language=language)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)
