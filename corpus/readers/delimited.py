"""CSV and TSV files as spreadsheets, pandas and Python's ``csv`` module write them (RFC 4180): a row a document.

The header row names the columns: ``text_field`` holds the text, ``id_field`` a stable id, and the other
columns go to ``meta`` (declared string keys such as ``title``, ``url``, ``lang`` as they are, the rest in
``meta.extra``). Quoted fields may hold delimiters, doubled quotes and newlines; a UTF-8 BOM (Excel's "CSV
UTF-8") is dropped; ``encoding`` reads GBK-era exports (``gb18030``). A row that does not fit the header or
does not decode is rejected with its line number and raw lines. Values stay strings: CSV has no types.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from corpus.readers.jsonl import _FieldPicker, discover_files
from corpus.schema import META, STR
from corpus.shards import (
    BAD_UTF8,
    LINE_TOO_LONG,
    OVERSIZE_KEPT_BYTES,
    malformed_doc,
    max_line_bytes,
    open_binary,
)

CSV_SUFFIXES = tuple(f"{kind}{zip_}" for kind in (".csv", ".tsv") for zip_ in ("", ".gz", ".zst", ".bz2", ".xz"))
BAD_ROW = "csv_bad_row"  # a row with another number of fields than the header, or that csv cannot parse
BAD_ENCODING = "bad_encoding"  # bytes that are not text in a non-UTF-8 ``encoding`` (UTF-8: bad_utf8, as jsonl)
BLANK_LINES = "csv_blank_lines"  # counter: blank lines between rows, skipped as pandas does


@dataclass(frozen=True, kw_only=True)
class CsvReader(_FieldPicker):
    """One document per data row of a ``.csv`` or ``.tsv`` file (plain or compressed) with a header row."""

    name: ClassVar[str] = "csv"
    delimiter: str | None = None  # None: a tab in .tsv files, a comma otherwise
    encoding: str = "utf-8"  # any Python codec; gb18030 reads GB2312/GBK files too

    def __post_init__(self) -> None:
        # Checked here so that a bad value fails when the pipeline is built, not inside a worker.
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ValueError(f"delimiter must be one character, got {self.delimiter!r}")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {self.encoding!r}") from None

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        return discover_files(paths, CSV_SUFFIXES)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        limit = max_line_bytes() if self.max_line_bytes is None else self.max_line_bytes
        utf8 = codecs.lookup(self.encoding).name == "utf-8"
        # csv refuses a field longer than field_size_limit() characters, 131,072 by default: shorter than
        # a long article. The limit is process-wide, so it is raised to ours for this file and put back.
        previous = csv.field_size_limit(limit)
        try:
            with open_binary(path) as raw:
                # Undecodable bytes become lone surrogates (surrogateescape), so one bad row is rejected
                # on its own instead of ending the file; newline="" lets csv see newlines inside quotes.
                text = io.TextIOWrapper(raw, encoding="utf-8-sig" if utf8 else self.encoding,
                                        errors="surrogateescape", newline="")
                yield from self._rows(path, text, counters, limit, BAD_UTF8 if utf8 else BAD_ENCODING)
        finally:
            csv.field_size_limit(previous)

    def _rows(self, path: Path, text: Iterator[str], counters: Counter, limit: int,
              bad_bytes: str) -> Iterator[dict[str, Any]]:
        lines: list[str] = []  # the physical lines of the row being parsed: its placeholder keeps them

        def consumed() -> Iterator[str]:
            for line in text:
                lines.append(line)
                yield line

        delimiter = self.delimiter or ("\t" if ".tsv" in path.name else ",")
        rows = csv.reader(consumed(), delimiter=delimiter)
        header: list[str] | None = None
        while True:
            start = rows.line_num + 1  # the row's first line, 1-based, as an editor shows it
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as err:
                raw = _raw_bytes(lines)
                # After an oversize field csv resumes at the next line, which may lie inside that field.
                reason = LINE_TOO_LONG if "field limit" in str(err) else BAD_ROW
                yield malformed_doc(path, start, reason, raw[:OVERSIZE_KEPT_BYTES], error=str(err))
                continue
            raw = _raw_bytes(lines)
            if not row:
                counters[BLANK_LINES] += 1
                continue
            if header is None:
                header = row
                continue
            if any("\udc80" <= ch <= "\udcff" for field in row for ch in field):
                yield malformed_doc(path, start, bad_bytes, raw, error=f"not valid {self.encoding}")
            elif len(raw) > limit:
                yield malformed_doc(path, start, LINE_TOO_LONG, raw[:OVERSIZE_KEPT_BYTES], bytes=len(raw), limit=limit)
            elif len(row) != len(header):
                yield malformed_doc(path, start, BAD_ROW, raw, error=f"{len(row)} fields, the header has {len(header)}")
            else:
                yield self.to_doc(self._record(dict(zip(header, row, strict=True))), path, start, raw)

    def _record(self, record: dict[str, str]) -> dict[str, Any]:
        """Columns named like a declared key of another type (``page_id`` is an int) or ``meta`` go to
        ``meta.extra``, since a CSV value is always a string and the schema would refuse it."""
        keys = {self.text_field, self.id_field}
        moved = {k: record.pop(k) for k in list(record)
                 if k not in keys and (k == "meta" or (k in META and META[k] != STR))}
        if moved:
            record["extra"] = moved  # gather_extra merges this dict with the undeclared columns
        return record


def _raw_bytes(lines: list[str]) -> bytes:
    """The consumed lines as UTF-8 (undecodable bytes restored as they were); the buffer is emptied."""
    raw = "".join(lines).encode("utf-8", "surrogateescape")
    lines.clear()
    return raw
