"""The one table of IE dataset readers, and ``convert``: dataset → IE-records JSONL + rejected + stats.

Each reader yields IE records or :class:`Rejected` items; counting and writing the rejected file
happens once, here. Output is plain JSONL written atomically through ``instruct.io``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic
from instruct.ie.ace05 import read_dygiepp, read_oneie
from instruct.ie.casie import read_casie
from instruct.ie.conll import read_conll
from instruct.ie.duee import read_duee
from instruct.ie.duie import read_duie
from instruct.ie.iepile import read_iepile
from instruct.ie.instructie import read_instructie
from instruct.ie.peoples_daily import read_peoples_daily
from instruct.ie.record import REASON_BAD_JSON, IERecord, RecordError, from_dict, to_dict
from instruct.io import Rejected, iter_json_lines, sidecar_path, write_jsonl

Reader = Callable[[Path], Iterator[IERecord | Rejected]]

READERS: MappingProxyType[str, Reader] = MappingProxyType({
    "conll03": read_conll,
    "peoples_daily": read_peoples_daily,
    "duie": read_duie,
    "duee": read_duee,
    "casie": read_casie,
    "ace05": read_dygiepp,
    "oneie": read_oneie,
    "instructie": read_instructie,
    "iepile": read_iepile,
})


def rejected_path(output: Path) -> Path:
    """The rejected file beside ``output``: ``name.rejected.jsonl``."""
    return sidecar_path(output, ".rejected.jsonl")


def stats_path(output: Path) -> Path:
    """The counts file beside ``output``: ``name.stats.json``."""
    return sidecar_path(output, ".stats.json")


def input_files(path: Path, fmt: str) -> list[Path]:
    """The files a reader gets: the file itself, or for a directory its data files in name order."""
    path = Path(path)
    if not path.is_dir() or fmt == "casie":
        return [path]
    return sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                  and "schema" not in p.name)


def convert(fmt: str, inputs: Path, output: Path) -> dict[str, Any]:
    """Convert dataset files of format ``fmt`` into IE records at ``output``; returns the counts."""
    if fmt not in READERS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(READERS)}")
    reasons: Counter[str] = Counter()
    rejected: list[dict[str, Any]] = []
    counts = Counter()

    def records() -> Iterator[dict[str, Any]]:
        for file in input_files(inputs, fmt):
            for item in READERS[fmt](file):
                if isinstance(item, Rejected):
                    reasons[item.reason] += 1
                    rejected.append(item.to_dict())
                    continue
                counts["records"] += 1
                counts["entities"] += len(item.entities)
                counts["relations"] += len(item.relations)
                counts["events"] += len(item.events)
                yield to_dict(item)

    write_jsonl(output, records())
    write_jsonl(rejected_path(output), rejected)
    stats = {"format": fmt, **counts, "rejected": sum(reasons.values()), "reasons": dict(reasons)}
    write_bytes_atomic(stats_path(output), orjson.dumps(stats, option=orjson.OPT_INDENT_2))
    return stats


def read_records(path: Path) -> Iterator[IERecord | Rejected]:
    """Read an IE-records JSONL file back; a bad line is a Rejected."""
    for where, obj in iter_json_lines(path, reason=REASON_BAD_JSON):
        if isinstance(obj, Rejected):
            yield obj
            continue
        try:
            yield from_dict(obj)
        except RecordError as err:
            yield Rejected(reason=err.reason, detail=err.detail, where=where, raw=obj)
