"""Line-by-line JSON reading shared by the converters: a bad line becomes a :class:`Rejected`, never a crash.

Plain orjson; instruction-scale files are small, so no sharding or compression here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from instruct.ie.record import REASON_BAD_JSON, Rejected


def iter_json_lines(path: Path) -> Iterator[tuple[str, Any | Rejected]]:
    """Yield (``file:line``, parsed object or Rejected) for every non-blank line of a JSONL file."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{Path(path).name}:{lineno}"
            try:
                yield where, orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                yield where, Rejected(reason=REASON_BAD_JSON, detail=str(err), where=where,
                                      raw=raw.decode("utf-8", "replace").rstrip("\n"))


def iter_json_records(path: Path) -> Iterator[tuple[str, Any | Rejected]]:
    """Like :func:`iter_json_lines`, but also accept a file holding one JSON array (or one object)."""
    head = Path(path).read_bytes()[:4096].lstrip()
    if head.startswith(b"["):
        try:
            data = orjson.loads(Path(path).read_bytes())
        except orjson.JSONDecodeError as err:
            yield Path(path).name, Rejected(reason=REASON_BAD_JSON, detail=str(err), where=Path(path).name)
            return
        for i, obj in enumerate(data):
            yield f"{Path(path).name}[{i}]", obj
        return
    yield from iter_json_lines(path)
