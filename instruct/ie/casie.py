"""CASIE cybersecurity events (Satyapanich et al., AAAI 2020) → IE records, one per annotation file.

A file holds ``content`` and ``cyberevent.hopper[].events[]`` (hoppers group coreferent events); each
event has a ``nugget`` (trigger) and ``argument``s with character offsets and ``role.type``. The event
type is the ``subtype`` (Databreach, Phishing, Ransom, DiscoverVulnerability, PatchVulnerability).
Some released files have offsets shifted by a few characters: a mention is re-anchored at its nearest
occurrence within ``REPAIR_WINDOW`` characters (counted in meta), else the file is rejected.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from instruct.ie.record import (
    REASON_BAD_FIELD,
    REASON_BAD_JSON,
    REASON_MISSING_FIELD,
    REASON_OFFSET_MISMATCH,
    Argument,
    Event,
    IERecord,
    RecordError,
    validate,
)
from instruct.io import Rejected

SOURCE = "casie"
REPAIR_WINDOW = 40  # characters; the shifted offsets seen in CASIE are a handful of characters off


def _anchor(text: str, obj: Mapping[str, Any], repairs: list[int]) -> tuple[str, tuple[int, int]]:
    """Return (mention, span) for a nugget/argument, repairing a slightly shifted offset."""
    try:
        mention, start, end = obj["text"], int(obj["startOffset"]), int(obj["endOffset"])
    except (KeyError, TypeError, ValueError) as err:
        raise RecordError(REASON_MISSING_FIELD, f"annotation without text/startOffset/endOffset: {err}") from None
    if text[start:end] == mention:
        return mention, (start, end)
    lo = max(0, start - REPAIR_WINDOW)
    hits = []
    at = text.find(mention, lo)
    while 0 <= at <= start + REPAIR_WINDOW:
        hits.append(at)
        at = text.find(mention, at + 1)
    if not hits:
        raise RecordError(REASON_OFFSET_MISMATCH, f"{mention!r} not at {start}:{end} nor within {REPAIR_WINDOW} chars")
    best = min(hits, key=lambda h: abs(h - start))
    repairs.append(best - start)
    return mention, (best, best + len(mention))


def convert_casie(doc: Any, *, name: str, source: str = SOURCE) -> IERecord:
    """One CASIE annotation object → an IE record (events only; CASIE has no separate NER layer)."""
    if not isinstance(doc, Mapping):
        raise RecordError(REASON_BAD_FIELD, "file is not a JSON object")
    text = doc.get("content")
    if not isinstance(text, str):
        raise RecordError(REASON_MISSING_FIELD, "missing 'content'")
    # The released content ends with a stray "</text>" tag; cutting a suffix keeps every offset valid.
    body = text.rstrip()
    if body.endswith("</text>"):
        text = body[: -len("</text>")].rstrip()
    repairs: list[int] = []
    events = []
    realis = []
    for hopper in (doc.get("cyberevent") or {}).get("hopper") or ():
        for ev in hopper.get("events") or ():
            if "nugget" not in ev or "subtype" not in ev:
                raise RecordError(REASON_MISSING_FIELD, "event without nugget or subtype")
            trigger, tspan = _anchor(text, ev["nugget"], repairs)
            args = []
            for arg in ev.get("argument") or ():
                role = (arg.get("role") or {}).get("type")
                if not role:
                    raise RecordError(REASON_MISSING_FIELD, "argument without role.type")
                mention, span = _anchor(text, arg, repairs)
                args.append(Argument(mention=mention, role=role, span=span))
            events.append(Event(type=ev["subtype"], trigger=trigger, trigger_span=tspan, arguments=tuple(args)))
            realis.append(ev.get("realis", ""))
    meta = {"file": name, "realis": realis, "offset_repairs": len(repairs)}
    return validate(IERecord(id=f"{source}:{Path(name).stem}", text=text, language="en", source=source,
                             events=tuple(events), meta=meta))


def read_casie(path: Path, *, source: str = SOURCE) -> Iterator[IERecord | Rejected]:
    """Yield one IE record per CASIE annotation file; ``path`` is a file or a directory of ``*.json``."""
    files = sorted(Path(path).glob("*.json")) if Path(path).is_dir() else [Path(path)]
    for file in files:
        try:
            doc = orjson.loads(file.read_bytes())
        except orjson.JSONDecodeError as err:
            yield Rejected(reason=REASON_BAD_JSON, detail=str(err), where=file.name)
            continue
        try:
            yield convert_casie(doc, name=file.name, source=source)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=file.name, raw=doc.get("sourcefile"))
