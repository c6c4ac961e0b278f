"""Stream JSON records from a bare array, a ``{"RECORDS": [...]}`` wrapper or JSON lines, by content.

WuDao and Baike files are hundreds of MB of one JSON array, so arrays are parsed incrementally with
ijson (yajl2 C backend) instead of ``json.load``. A parse error inside an array ends that file (a JSON
array cannot be resynchronised safely): every earlier record is kept and the error becomes one
rejected placeholder. JSON lines go through :func:`corpus.shards.iter_json_lines`, line by line.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import ijson
import orjson

from corpus.shards import BAD_JSON, TRUNCATED_STREAM, Unreadable, iter_json_lines, malformed_doc, open_binary

RECORDS_WRAPPER = re.compile(rb'^\s*\{\s*"RECORDS"\s*:\s*\[')
JSON_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".json.bz2", ".jsonl.bz2", ".json.zst",
                 ".jsonl.zst", ".json.xz", ".jsonl.xz")
SNIFF_BYTES = 4096


def sniff_layout(path: Path) -> str:
    """``array``, ``records`` (the ``{"RECORDS": [...]}`` wrapper) or ``lines``, from the first bytes."""
    with open_binary(path) as stream:
        head = stream.read(SNIFF_BYTES).lstrip(b"\xef\xbb\xbf")
    if RECORDS_WRAPPER.match(head):
        return "records"
    if head.lstrip().startswith(b"["):
        return "array"
    return "lines"


def _ends_closed(path: Path) -> bool:
    """Whether an uncompressed JSON file's last non-blank byte closes an array or object."""
    if not path.name.endswith((".json", ".jsonl")):
        return True  # compressed: truncation shows up as EOFError from the decompressor instead
    with open(path, "rb") as handle:
        handle.seek(max(path.stat().st_size - 64, 0))
        return handle.read().rstrip().endswith((b"]", b"}"))


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, dict[str, Any] | None]]:
    """``(record number, record, None)`` for each JSON object, or ``(n, None, rejected doc)`` for a
    malformed line / a broken array tail (reason ``bad_json`` or ``truncated_stream``)."""
    layout = sniff_layout(path)
    if layout == "lines":
        for lineno, line in iter_json_lines(path):
            if isinstance(line, Unreadable):  # a cut stream (keeps the cut line) or an oversize line
                yield lineno, None, line.doc(path, lineno)
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                yield lineno, None, malformed_doc(path, lineno, BAD_JSON, line, error=str(err))
                continue
            if isinstance(record, dict):
                yield lineno, record, None
            else:
                yield lineno, None, malformed_doc(path, lineno, BAD_JSON, line, error="not a JSON object")
        return
    prefix = "RECORDS.item" if layout == "records" else "item"
    number = 0
    with open_binary(path) as stream:
        try:
            for record in ijson.items(stream, prefix, use_float=True):
                number += 1
                if isinstance(record, dict):
                    yield number, record, None
                else:
                    yield number, None, malformed_doc(path, number, BAD_JSON, orjson.dumps(record),
                                                      error="not a JSON object")
        except (ijson.JSONError, EOFError, OSError) as err:
            # yajl reports a cut file as "premature EOF" (or, cut inside a character, invalid UTF-8);
            # a cut .gz/.bz2 raises EOFError. A file that does not end in ] or } was cut.
            cut = isinstance(err, EOFError) or "premature eof" in str(err).lower() or not _ends_closed(path)
            yield number + 1, None, malformed_doc(
                path, number + 1, TRUNCATED_STREAM if cut else BAD_JSON, "",
                error=f"{type(err).__name__}: {err}; {number} records before it were read",
            )


@dataclass(frozen=True, kw_only=True)
class JsonRecordReader:
    """The part every reader of JSON record files shares (WuDao, Baike): it finds the files and streams
    their records in file order, malformed ones coming out rejected; a subclass says what one record
    becomes in :meth:`document`."""

    name: ClassVar[str] = "json-records"
    source_name: str | None = None
    lang: str = "zh"

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """JSON / JSON-lines files named in ``paths`` or found under directories, sorted."""
        from corpus.readers.jsonl import discover_files  # jsonl's reader imports this module

        return discover_files([Path(p) for p in paths], JSON_SUFFIXES)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        """Documents of ``path`` in file order; malformed records come out rejected."""
        source = self.source_name or self.name
        for number, record, bad in iter_records(Path(path)):
            yield bad if bad is not None else self.document(Path(path), number, record, source, counters)

    def document(self, path: Path, number: int, record: dict[str, Any], source: str,
                 counters: Counter) -> dict[str, Any]:
        """The document of record ``number`` of ``path``, or a rejected placeholder (``malformed_doc``)."""
        raise NotImplementedError
