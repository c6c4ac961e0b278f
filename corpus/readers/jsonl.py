"""Readers for generic JSON-lines and Parquet files: pick the text and id fields, keep the rest as meta.

This is how KnowLM-style inputs (``{"content": ..., "title": ...}`` per line) and any dataset exported
as JSONL or Parquet enter the pipeline. Records without a usable text field are rejected with their
line number; records without an id get a stable one from the file name and line number.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson

from corpus.records import new_doc
from corpus.schema import gather_extra
from corpus.shards import (
    BAD_JSON,
    BAD_UTF8,
    LINE_TOO_LONG,
    MISSING_TEXT,
    OVERSIZE_KEPT_BYTES,
    Unreadable,
    iter_json_lines,
    malformed_doc,
    max_line_bytes,
    shard_name,
)

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst", ".jsonl.bz2", ".jsonl.xz")


def discover_files(paths: Sequence[Path], suffixes: tuple[str, ...]) -> list[Path]:
    """Files given directly, plus files under given directories whose names end in ``suffixes``; sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.name.endswith(suffixes) and not p.name.startswith((".", "_"))
            )
        else:
            found.append(path)
    return found


def _scalar_id(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class _FieldPicker:
    text_field: str = "text"
    id_field: str = "id"
    source_name: str | None = None
    lang: str | None = None  # stored as meta.lang, which filters and packing use to pick rules
    # Longer lines (Parquet: rows as JSON) are rejected as line_too_long without being held;
    # None: corpus.shards.max_line_bytes() (16 MiB unless $KNOWFORGE_MAX_LINE_BYTES says otherwise).
    max_line_bytes: int | None = None

    def to_doc(self, record: dict[str, Any], path: Path, lineno: int, raw: bytes) -> dict[str, Any]:
        text = record.get(self.text_field)
        if not isinstance(text, str) or not text.strip():
            return malformed_doc(path, lineno, MISSING_TEXT, raw, field=self.text_field)
        source = self.source_name or self.name  # type: ignore[attr-defined]
        doc_id = _scalar_id(record.get(self.id_field)) or f"{source}:{shard_name(path)}:{lineno}"
        meta = {k: v for k, v in record.items() if k not in {self.text_field, self.id_field, "meta"}}
        if isinstance(record.get("meta"), dict):
            meta.update(record["meta"])
        if self.lang:
            meta["lang"] = self.lang
        return new_doc(doc_id, text, source, gather_extra(meta))


@dataclasses.dataclass(frozen=True, kw_only=True)
class JsonlReader(_FieldPicker):
    """One JSON object per line (plain or compressed); ``text_field`` holds the text."""

    name: ClassVar[str] = "jsonl"

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        return discover_files(paths, JSONL_SUFFIXES)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        for lineno, line in iter_json_lines(path, limit=self.max_line_bytes):
            if isinstance(line, Unreadable):  # a cut stream (keeps the cut line) or an oversize line
                yield line.doc(path, lineno)
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    yield malformed_doc(path, lineno, BAD_UTF8, line, error=str(err))
                    continue
                yield malformed_doc(path, lineno, BAD_JSON, line, error=str(err))
                continue
            if not isinstance(record, dict):
                yield malformed_doc(path, lineno, BAD_JSON, line, error="not a JSON object")
                continue
            yield self.to_doc(record, path, lineno, line)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ParquetReader(_FieldPicker):
    """Parquet files read one record batch at a time; ``text_field`` names the text column."""

    name: ClassVar[str] = "parquet"

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        return discover_files(paths, (".parquet",))

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        import pyarrow.parquet as pq

        limit = max_line_bytes() if self.max_line_bytes is None else self.max_line_bytes
        row = 0
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                row += 1
                raw = orjson.dumps(record, default=str)
                if len(raw) > limit:
                    yield malformed_doc(path, row, LINE_TOO_LONG, raw[:OVERSIZE_KEPT_BYTES], bytes=len(raw), limit=limit)
                    continue
                yield self.to_doc(record, path, row, raw)
