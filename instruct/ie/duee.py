"""DuEE 1.0 (Baidu event extraction) → IE records, and its event schema → :class:`Schema`.

Lines are ``{"text", "id", "event_list": [{"event_type", "trigger", "trigger_start_index", "class",
"arguments": [{"argument_start_index", "role", "argument", "alias"}]}]}``; offsets are checked against
the text. Test lines have no event_list. The schema file has one ``{"event_type", "role_list": [{"role"}]}`` per line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_MISSING_FIELD,
    Argument,
    Event,
    IERecord,
    RecordError,
    dedup,
    json_object,
    validate,
)
from instruct.ie.schema import Schema
from instruct.io import Rejected, iter_json_records

SOURCE = "duee"


def _span(start: Any, mention: str, what: str) -> tuple[int, int] | None:
    if start is None:
        return None
    if not isinstance(start, int):
        raise RecordError(REASON_BAD_FIELD, f"{what} start index {start!r} is not an integer")
    return (start, start + len(mention))


def convert_duee(obj: Any, *, source: str = SOURCE) -> IERecord:
    """One DuEE line (parsed) → an IE record; raises RecordError on a missing field or a wrong offset."""
    json_object(obj)
    for key in ("text", "id"):
        if key not in obj:
            raise RecordError(REASON_MISSING_FIELD, f"missing {key!r}")
    events = []
    for ev in obj.get("event_list") or ():
        for key in ("event_type", "trigger"):
            if key not in ev:
                raise RecordError(REASON_MISSING_FIELD, f"event without {key!r}")
        args = []
        for arg in ev.get("arguments") or ():
            if "argument" not in arg or "role" not in arg:
                raise RecordError(REASON_MISSING_FIELD, "argument without 'argument' or 'role'")
            args.append(Argument(mention=arg["argument"], role=arg["role"],
                                 span=_span(arg.get("argument_start_index"), arg["argument"], "argument")))
        events.append(Event(type=ev["event_type"], trigger=ev["trigger"],
                            trigger_span=_span(ev.get("trigger_start_index"), ev["trigger"], "trigger"),
                            arguments=dedup(args)))
    return validate(IERecord(id=f"{source}:{obj['id']}", text=obj["text"], language="zh", source=source,
                             events=tuple(events)))


def read_duee(path: Path, *, source: str = SOURCE) -> Iterator[IERecord | Rejected]:
    """Yield IE records from a DuEE 1.0 JSONL file."""
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        try:
            yield convert_duee(obj, source=source)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)


def read_duee_schema(path: Path) -> Schema:
    """DuEE's ``duee_event_schema.json`` → an EE schema (types, all roles, type → roles), file order."""
    types: list[str] = []
    roles: list[str] = []
    type_roles: dict[str, tuple[str, ...]] = {}
    for where, obj in iter_json_records(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            raise ValueError(f"{where}: {obj.detail}")
        own = tuple(r["role"] for r in obj.get("role_list", ()))
        types.append(obj["event_type"])
        roles.extend(own)
        type_roles[obj["event_type"]] = own
    return Schema(types=dedup(types), roles=dedup(roles), type_roles=type_roles)
