"""Shard files: their names, streaming document reading (JSONL plain, .gz, .zst; Parquet) and the writer.

Reading never loads a whole file: JSONL is read line by line from a decompressing stream
(``corpus.compressed``: at most one 128 KiB buffer per read, so a zstd bomb stays small) and Parquet
batch by batch. A malformed line (bad JSON, invalid UTF-8, missing ``text``), a line over the size
limit or a truncated compressed stream does not stop the run: it comes out as a document already
marked rejected, with the reason and line number, and the runner writes it to ``rejected/``.
``ShardWriter`` writes through ``corpus.atomic``, so a killed run never leaves a half-written shard
under its real name; gzip output has a zero mtime so that identical content gives identical bytes.
The atomic-write and decompression names are importable from here too, where callers always found them.
"""

from __future__ import annotations

import gzip
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson
import zstandard

from corpus.atomic import (
    FULL_BELOW_BYTES,
    TEMP_MARK,
    OutputWriteError,
    atomic_path,
    is_temporary,
    naming_write_errors,
    remove_temporaries,
    temp_path,
    write_bytes_atomic,
    write_error,
)
from corpus.compressed import READ_BUFFER, decompressed, open_binary, open_text
from corpus.records import reject
from corpus.schema import arrow_schema, without_nulls

__all__ = [  # its own names, and those of corpus.atomic and corpus.compressed that callers import from here
    "atomic_path", "BAD_JSON", "BAD_UTF8", "DEFAULT_SUFFIX", "FULL_BELOW_BYTES", "IO_STAGE", "is_shard",
    "is_temporary", "iter_json_lines", "LINE_TOO_LONG", "list_shards", "malformed_doc", "MAX_LINE_BYTES",
    "max_line_bytes", "MAX_LINE_ENV", "MISSING_ID", "MISSING_TEXT", "naming_write_errors", "open_binary",
    "open_text", "OutputWriteError", "OVERSIZE_KEPT_BYTES", "PARQUET_ROWS_PER_GROUP", "parse_line",
    "READ_BUFFER", "read_docs", "read_jsonl", "read_parquet", "remove_temporaries", "shard_name",
    "SHARD_SUFFIXES", "ShardWriter", "TEMP_MARK", "temp_path", "TRUNCATED_STREAM", "Unreadable",
    "write_bytes_atomic", "write_error", "ZSTD_LEVEL",
]

SHARD_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".parquet")
DEFAULT_SUFFIX = ".jsonl.zst"
ZSTD_LEVEL = 3  # zstd's own default: ~5x on text at several hundred MB/s, far from being the bottleneck
PARQUET_ROWS_PER_GROUP = 10_000

# Reasons for input that could not be read as a document.
BAD_JSON = "bad_json"
BAD_UTF8 = "bad_utf8"
MISSING_TEXT = "missing_text"
MISSING_ID = "missing_id"
TRUNCATED_STREAM = "truncated_stream"
LINE_TOO_LONG = "line_too_long"
IO_STAGE = "io"

# Per-line (per-record) size limit: a line longer than this is rejected, not held. 16 MiB is far above
# any real article or source file (the longest enwiki article is ~1.5 MB of wikitext) and small enough
# that one worker never needs more than a few copies of it. $KNOWFORGE_MAX_LINE_BYTES overrides it.
MAX_LINE_BYTES = 16 << 20
MAX_LINE_ENV = "KNOWFORGE_MAX_LINE_BYTES"
OVERSIZE_KEPT_BYTES = 4096  # the head of an oversize line kept in its rejected placeholder


def shard_name(path: Path) -> str:
    """``part-00003`` for ``part-00003.jsonl.zst``: the name without data and compression suffixes."""
    name = path.name
    for suffix in sorted(SHARD_SUFFIXES + (".json", ".gz", ".zst", ".bz2", ".xz"), key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def is_shard(path: Path) -> bool:
    """True for a data shard file (not a hidden, temporary or underscore-prefixed bookkeeping file)."""
    return (
        path.is_file()
        and not path.name.startswith(("_", "."))
        and not is_temporary(path)
        and path.name.endswith(SHARD_SUFFIXES)
    )


def list_shards(directory: Path) -> list[Path]:
    """The shard files directly inside ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if is_shard(p))



def malformed_doc(path: Path, lineno: int, reason: str, raw: bytes | str, **details: Any) -> dict[str, Any]:
    """A rejected placeholder document for unreadable input, keeping the raw line so nothing is lost."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    doc = {"id": f"{shard_name(path)}:{lineno}", "text": text, "source": "", "meta": {}}
    return reject(doc, stage=IO_STAGE, reason=reason, file=str(path), line=lineno, **details)


def parse_line(path: Path, lineno: int, line: bytes, require_id: bool) -> dict[str, Any]:
    """One JSON line as a document, or a rejected placeholder saying why it is not one (line ``lineno``).

    Also how a fused run hands documents from stage to stage (``corpus.fused``), so they are exactly
    what the next stage would read from the shard file."""
    try:
        doc = orjson.loads(line)  # also rejects invalid UTF-8, so good lines are decoded once
    except orjson.JSONDecodeError as err:
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as utf8_err:
            return malformed_doc(path, lineno, BAD_UTF8, line, error=str(utf8_err))
        return malformed_doc(path, lineno, BAD_JSON, line, error=str(err))
    if not isinstance(doc, dict):
        return malformed_doc(path, lineno, BAD_JSON, line, error="not a JSON object")
    if not isinstance(doc.get("text"), str):
        return malformed_doc(path, lineno, MISSING_TEXT, line)
    if require_id and not isinstance(doc.get("id"), str):
        return malformed_doc(path, lineno, MISSING_ID, line)
    # Stages see only the keys a document has: the nulls the schema writes for absent keys are dropped.
    doc["meta"] = without_nulls(doc["meta"]) if isinstance(doc.get("meta"), dict) else {}
    doc.setdefault("source", "")
    return doc


class Unreadable(NamedTuple):
    """What :func:`iter_json_lines` yields instead of a line it cannot give whole.

    ``reason`` is ``TRUNCATED_STREAM`` (always the last item; ``raw`` holds the bytes of the cut last
    line) or ``LINE_TOO_LONG`` (``raw`` holds the line's first ``OVERSIZE_KEPT_BYTES``).
    """

    reason: str
    raw: bytes
    details: dict[str, Any]

    def doc(self, path: Path, lineno: int) -> dict[str, Any]:
        """The rejected placeholder document for this item."""
        return malformed_doc(path, lineno, self.reason, self.raw, **self.details)


def max_line_bytes() -> int:
    """The per-line (per-record) size limit: ``$KNOWFORGE_MAX_LINE_BYTES`` if set, else ``MAX_LINE_BYTES``."""
    value = os.environ.get(MAX_LINE_ENV)
    if value is None:
        return MAX_LINE_BYTES
    try:
        limit = int(value)
    except ValueError:
        raise ValueError(f"{MAX_LINE_ENV}={value!r} is not a whole number of bytes") from None
    if limit < 1:
        raise ValueError(f"{MAX_LINE_ENV}={value!r} must be at least 1")
    return limit


def iter_json_lines(path: Path, *, limit: int | None = None) -> Iterator[tuple[int, bytes | Unreadable]]:
    """Yield ``(line_number, raw_line)`` for non-blank lines, without their line ending.

    A line longer than ``limit`` bytes (default :func:`max_line_bytes`) comes as an ``Unreadable``
    with reason ``LINE_TOO_LONG`` and is skipped without being held; a truncated or corrupt
    compressed stream ends with one ``Unreadable`` (``TRUNCATED_STREAM``) holding the cut line.
    Memory stays within one line plus one read buffer, whatever the compression ratio. Lines are cut
    out of each 128 KiB read with one ``bytes.split`` (C speed per line; Python work per read).
    """
    limit = max_line_bytes() if limit is None else limit
    compressed = path.name.endswith((".gz", ".bz2", ".zst", ".xz"))
    raw = decompressed(path, strict=False) if compressed else open(path, "rb", buffering=0)  # noqa: SIM115
    lineno = 0
    parts: list[bytes] = []  # the unfinished line, in pieces (joined once it ends: no quadratic +=)
    held = 0  # its length so far
    oversize: bytes | None = None  # the head of an unfinished line already over the limit (not held)
    with raw:
        while chunk := raw.read(READ_BUFFER):
            lines = chunk.split(b"\n")
            tail = lines.pop()  # after the last newline: the start of an unfinished line
            if lines and (parts or oversize is not None):  # the unfinished line ends in this chunk
                if oversize is not None:
                    lineno += 1
                    yield lineno, Unreadable(LINE_TOO_LONG, oversize, {"bytes": held + len(lines[0]) + 1,
                                                                       "limit": limit})
                    oversize, parts, held = None, [], 0
                    del lines[0]
                else:
                    parts.append(lines[0])
                    lines[0] = b"".join(parts)
                    parts, held = [], 0
            crlf = b"\r" in chunk or (bool(lines) and lines[0].endswith(b"\r"))  # rare: strip per line only then
            if (lines and not crlf and max(map(len, lines)) <= limit and all(lines)
                    and not any(map(bytes.isspace, lines))):
                # The usual chunk (no blank, oversize or CRLF line): checked and yielded at C speed.
                yield from zip(itertools.count(lineno + 1), lines)
                lineno += len(lines)
                lines = []
            for line in lines:  # the general case, line by line
                lineno += 1
                if len(line) > limit:
                    yield lineno, Unreadable(LINE_TOO_LONG, line[:OVERSIZE_KEPT_BYTES],
                                             {"bytes": len(line) + 1, "limit": limit})
                    continue
                if crlf and line.endswith(b"\r"):
                    line = line[:-1]
                if line and not line.isspace():
                    yield lineno, line
            if tail:
                held += len(tail)
                if oversize is None:
                    parts.append(tail)
                    if held > limit:  # keep only its head from here on
                        oversize, parts = b"".join(parts)[:OVERSIZE_KEPT_BYTES], []
    error = raw.error if compressed else None
    if error is not None:  # cut: the unfinished line's bytes go into the placeholder
        cut = oversize if oversize is not None else b"".join(parts)
        yield lineno + 1, Unreadable(TRUNCATED_STREAM, cut, _cut_details(error))
    elif oversize is not None:  # the last line, without a newline, over the limit
        yield lineno + 1, Unreadable(LINE_TOO_LONG, oversize, {"bytes": held, "limit": limit})
    elif parts:  # the last line, without a newline
        line = b"".join(parts).removesuffix(b"\r")
        if line and not line.isspace():
            yield lineno + 1, line


def _cut_details(error: BaseException) -> dict[str, str]:
    return {"error": f"compressed stream ended early or is corrupt: {type(error).__name__}: {error}"}


def read_jsonl(path: Path, *, require_id: bool = True, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream documents from a JSONL shard; malformed lines come out marked rejected (see module doc)."""
    for lineno, line in iter_json_lines(path, limit=limit):
        if isinstance(line, Unreadable):
            yield line.doc(path, lineno)
            continue
        yield parse_line(path, lineno, line, require_id)


def read_parquet(path: Path, *, require_id: bool = True, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream documents from a Parquet shard, one record batch at a time; ``meta`` may be a JSON string.

    A row whose JSON form is longer than ``limit`` bytes is rejected (``LINE_TOO_LONG``) like a line.
    """
    import pyarrow.parquet as pq

    limit = max_line_bytes() if limit is None else limit
    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
        for doc in batch.to_pylist():
            row += 1
            if isinstance(doc.get("meta"), str):
                try:
                    doc["meta"] = orjson.loads(doc["meta"])
                except orjson.JSONDecodeError:
                    doc["meta"] = {"extra": doc["meta"]}  # kept as text (corpus/schema.py)
            line = orjson.dumps(doc, default=str)
            if len(line) > limit:
                yield malformed_doc(path, row, LINE_TOO_LONG, line[:OVERSIZE_KEPT_BYTES], bytes=len(line), limit=limit)
                continue
            yield parse_line(path, row, line, require_id)


def read_docs(path: Path, *, require_id: bool = True, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream the documents of a shard in any supported format (see ``SHARD_SUFFIXES``)."""
    if path.name.endswith(".parquet"):
        return read_parquet(path, require_id=require_id, limit=limit)
    return read_jsonl(path, require_id=require_id, limit=limit)




class ShardWriter:
    """Write documents to a shard atomically; the format follows the suffix of ``path``.

    Use as a context manager: the file appears under its real name only when the block exits
    without an exception. ``count`` and ``bytes_written`` (uncompressed JSON bytes) are kept.
    ``conform`` (stage outputs: ``corpus.schema.conform_doc``) is applied to every document first; Parquet
    then stores ``meta`` as the declared struct, else as JSON text. With ``write_empty=False`` a shard
    that received no document leaves no file (and removes one an earlier run left): readers such as
    ``datasets`` fail on empty JSONL and Parquet files, so stage outputs list such shards as empty in
    their manifest instead.
    """

    def __init__(
        self,
        path: Path,
        *,
        conform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        write_empty: bool = True,
    ):
        if not path.name.endswith(SHARD_SUFFIXES):
            raise ValueError(f"unsupported shard suffix for {path}; use one of {', '.join(SHARD_SUFFIXES)}")
        self.path = path
        self._conform = conform
        self._write_empty = write_empty
        self.count = 0
        self.bytes_written = 0
        self._atomic = atomic_path(path)
        self._tmp: Path | None = None
        self._stream: IO[bytes] | None = None
        self._raw: IO[bytes] | None = None  # the file under a gzip stream, which does not close it
        self._rows: list[dict[str, Any]] = []
        self._parquet: Any = None

    def __enter__(self) -> ShardWriter:
        self._tmp = self._atomic.__enter__()
        name = self.path.name
        if name.endswith(".jsonl.gz"):
            # No file name and no mtime in the header: the bytes depend on the content only.
            raw = open(self._tmp, "wb")  # noqa: SIM115 - closed in __exit__
            self._raw = raw
            self._stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        elif name.endswith(".jsonl.zst"):
            raw = open(self._tmp, "wb")  # noqa: SIM115 - closed through the zstd writer
            cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True)
            self._stream = cctx.stream_writer(raw, closefd=True)
        elif name.endswith(".jsonl"):
            self._stream = open(self._tmp, "wb")  # noqa: SIM115 - closed in __exit__
        return self

    def write(self, doc: dict[str, Any]) -> None:
        """Append one document."""
        if self._conform is not None:
            doc = self._conform(doc)
        line = orjson.dumps(doc, default=str) + b"\n"
        self.count += 1
        self.bytes_written += len(line)
        if self._stream is not None:
            self._stream.write(line)
            return
        self._rows.append(doc)
        if len(self._rows) >= PARQUET_ROWS_PER_GROUP:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # Conformed meta has one declared struct type; free-form meta travels as a JSON string column.
        typed = self._conform is not None
        rows = [
            {
                "id": d.get("id"),
                "text": d.get("text"),
                "source": d.get("source", ""),
                "meta": d.get("meta", {}) if typed else orjson.dumps(d.get("meta", {}), default=str).decode(),
            }
            for d in self._rows
        ]
        schema = arrow_schema() if typed else pa.schema(
            [("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("meta", pa.string())])
        table = pa.Table.from_pylist(rows, schema=schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._parquet.write_table(table)
        self._rows = []

    def __exit__(self, exc_type, exc, tb) -> bool:
        failure: BaseException | None = None
        skip = exc_type is None and self.count == 0 and not self._write_empty
        try:
            if self._stream is not None:
                self._stream.close()
                if self._raw is not None:
                    self._raw.close()
            elif exc_type is None and not skip:
                if self._rows or self._parquet is None:
                    self._flush_parquet()
                self._parquet.close()
        except BaseException as err:
            failure = err
        if failure is not None and exc_type is None:
            # A failed close (a full disk on the last flush) fails the write like an error in the block:
            # the temporary goes, and the error names the shard (atomic_path raises it, wrapped).
            self._atomic.__exit__(type(failure), failure, failure.__traceback__)
            raise failure
        if skip:
            self._atomic.__exit__(_NothingWritten, _NothingWritten(), None)  # deletes the temporary
            self.path.unlink(missing_ok=True)
            return False
        return self._atomic.__exit__(exc_type, exc, tb) or False


class _NothingWritten(Exception):
    """Thrown into ``atomic_path`` to discard the temporary of a shard left empty."""
