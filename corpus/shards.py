"""Streaming shard I/O: JSONL (plain, .gz, .zst) and Parquet documents, compressed raw input, atomic writes.

Reading never loads a whole file: JSONL is read line by line from a decompressing stream and Parquet
batch by batch. A malformed line (bad JSON, invalid UTF-8, missing ``text``) or a truncated compressed
stream does not stop the run: it comes out as a document already marked rejected, with the reason and
line number, and the runner writes it to ``rejected/``. Writes go to a temporary name and are renamed
into place only when complete, so a killed run never leaves a half-written shard under its real name.
Gzip output has a zero mtime so that identical content gives identical bytes.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson
import zstandard

from corpus.records import reject
from corpus.schema import arrow_schema, without_nulls

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
IO_STAGE = "io"

# Errors raised by the decompressors when a stream ends early or is corrupt (bz2 and gzip raise
# OSError subclasses for corrupt data).
_STREAM_ERRORS = (EOFError, zstandard.ZstdError, OSError, lzma.LZMAError)


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
        and ".tmp-" not in path.name
        and path.name.endswith(SHARD_SUFFIXES)
    )


def list_shards(directory: Path) -> list[Path]:
    """The shard files directly inside ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if is_shard(p))


class _ZstdRaw(io.RawIOBase):
    """A raw zstd reader that, unlike zstandard's stream_reader, reports a stream cut mid-frame.

    zstandard's reader returns a quiet EOF on truncated input, which would lose the tail silently;
    here a source that ends inside a frame raises EOFError like gzip, bz2 and lzma do.
    """

    CHUNK = 1 << 17

    def __init__(self, source: IO[bytes]):
        self._source = source
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj = self._dctx.decompressobj()
        self._pending = b""
        self._in_frame = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = self._source.read(self.CHUNK)
            if not chunk:
                if self._in_frame:
                    raise EOFError("zstd stream ended in the middle of a frame")
                return 0
            while chunk:
                self._in_frame = True
                self._pending += self._dobj.decompress(chunk)
                if not self._dobj.eof:
                    break
                chunk = self._dobj.unused_data  # concatenated frames: start the next one
                self._dobj = self._dctx.decompressobj()
                self._in_frame = False
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        self._source.close()
        super().close()


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for streaming binary reads, decompressing .gz, .bz2, .zst or .xz by suffix."""
    name = path.name
    if name.endswith(".gz"):
        return gzip.open(path, "rb")
    if name.endswith(".bz2"):
        return bz2.open(path, "rb")
    if name.endswith(".xz"):
        return lzma.open(path, "rb")
    if name.endswith(".zst"):
        return io.BufferedReader(_ZstdRaw(open(path, "rb")))  # noqa: SIM115 - closed with the reader
    return open(path, "rb")  # noqa: SIM115 - caller closes


def open_text(path: Path) -> IO[str]:
    """Open ``path`` (optionally compressed) as UTF-8 text; invalid bytes raise, as for any strict read."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="")


def malformed_doc(path: Path, lineno: int, reason: str, raw: bytes | str, **details: Any) -> dict[str, Any]:
    """A rejected placeholder document for unreadable input, keeping the raw line so nothing is lost."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    doc = {"id": f"{shard_name(path)}:{lineno}", "text": text, "source": "", "meta": {}}
    return reject(doc, stage=IO_STAGE, reason=reason, file=str(path), line=lineno, **details)


def _parse_line(path: Path, lineno: int, line: bytes, require_id: bool) -> dict[str, Any]:
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


def iter_json_lines(path: Path) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line_number, raw_line)`` for non-blank lines; ``(n, None)`` once if the stream is truncated."""
    lineno = 0
    try:
        with open_binary(path) as stream:
            for lineno, line in enumerate(stream, start=1):  # noqa: B007 - lineno used after the loop
                if line.strip():
                    yield lineno, line.rstrip(b"\r\n")
    except io.UnsupportedOperation:
        raise
    except _STREAM_ERRORS:
        yield lineno + 1, None


def read_jsonl(path: Path, *, require_id: bool = True) -> Iterator[dict[str, Any]]:
    """Stream documents from a JSONL shard; malformed lines come out marked rejected (see module doc)."""
    for lineno, line in iter_json_lines(path):
        if line is None:
            yield malformed_doc(path, lineno, TRUNCATED_STREAM, "", error="compressed stream ended early")
            return
        yield _parse_line(path, lineno, line, require_id)


def read_parquet(path: Path, *, require_id: bool = True) -> Iterator[dict[str, Any]]:
    """Stream documents from a Parquet shard, one record batch at a time; ``meta`` may be a JSON string."""
    import pyarrow.parquet as pq

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
            yield _parse_line(path, row, line, require_id)


def read_docs(path: Path, *, require_id: bool = True) -> Iterator[dict[str, Any]]:
    """Stream the documents of a shard in any supported format (see ``SHARD_SUFFIXES``)."""
    if path.name.endswith(".parquet"):
        return read_parquet(path, require_id=require_id)
    return read_jsonl(path, require_id=require_id)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


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
        except BaseException:
            if exc_type is None:
                raise
        if skip:
            self._atomic.__exit__(_NothingWritten, _NothingWritten(), None)  # deletes the temporary
            self.path.unlink(missing_ok=True)
            return False
        return self._atomic.__exit__(exc_type, exc, tb) or False


class _NothingWritten(Exception):
    """Thrown into ``atomic_path`` to discard the temporary of a shard left empty."""
