"""Streaming shard I/O: JSONL (plain, .gz, .zst) and Parquet documents, compressed raw input, atomic writes.

Reading never loads a whole file: JSONL is read line by line from a decompressing stream (at most one
128 KiB buffer per read, so a zstd bomb stays small) and Parquet batch by batch. A malformed line (bad
JSON, invalid UTF-8, missing ``text``), a line over the size limit or a truncated compressed stream
does not stop the run: it comes out as a document already marked rejected, with the reason and line
number, and the runner writes it to ``rejected/``. Writes go to a temporary name and are renamed
into place only when complete, so a killed run never leaves a half-written shard under its real name.
Gzip output has a zero mtime so that identical content gives identical bytes.
"""

from __future__ import annotations

import bz2
import contextlib
import errno
import gzip
import io
import itertools
import lzma
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple

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
LINE_TOO_LONG = "line_too_long"
IO_STAGE = "io"

# Per-line (per-record) size limit: a line longer than this is rejected, not held. 16 MiB is far above
# any real article or source file (the longest enwiki article is ~1.5 MB of wikitext) and small enough
# that one worker never needs more than a few copies of it. $KNOWFORGE_MAX_LINE_BYTES overrides it.
MAX_LINE_BYTES = 16 << 20
MAX_LINE_ENV = "KNOWFORGE_MAX_LINE_BYTES"
OVERSIZE_KEPT_BYTES = 4096  # the head of an oversize line kept in its rejected placeholder
TEMP_MARK = ".knowforge-tmp-"  # + PID: see temp_path
_TEMP_NAME = re.compile(re.escape(TEMP_MARK) + r"\d+$")
READ_BUFFER = 1 << 17  # decompressed bytes per read: one zstd block, so a bomb never expands further

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
        and not is_temporary(path)
        and path.name.endswith(SHARD_SUFFIXES)
    )


def list_shards(directory: Path) -> list[Path]:
    """The shard files directly inside ``directory``, sorted by name."""
    return sorted(p for p in directory.iterdir() if is_shard(p))


class _ZstdFrameWalker:
    """Follows the frame and block headers of a zstd stream (RFC 8878, section 3) as its bytes go by.

    zstandard's ``stream_reader`` returns a quiet EOF on a stream cut mid-frame, which would lose a
    dump's tail silently. The walker reads only headers (3 bytes per block of up to 128 KiB of output)
    and skips block contents by arithmetic, so it costs nothing next to decompression and copies no
    buffer; at the end ``complete`` tells a stream that ends on a frame boundary from a cut one.
    """

    MAGIC = 0xFD2FB528
    SKIPPABLE = 0x184D2A50  # 0x184D2A50..0x184D2A5F: skippable frames (4-byte size, then data)

    def __init__(self) -> None:
        self._state = "magic"
        self._need = 4  # header bytes the current state needs
        self._head = b""  # header bytes gathered across a chunk boundary (at most 14)
        self._skip = 0  # content bytes to pass over before the next header
        self._checksum = False
        self.error: zstandard.ZstdError | None = None

    @property
    def complete(self) -> bool:
        """True when the bytes seen so far end exactly after a whole frame (or are empty)."""
        return self.error is None and self._state == "magic" and not self._head and not self._skip

    def feed(self, data: bytes) -> None:
        """Account for the next compressed bytes; a bad header is kept in ``error`` and ends the walk."""
        if self.error is not None:
            return
        try:
            self._walk(data)
        except zstandard.ZstdError as err:
            self.error = err

    def _walk(self, data: bytes) -> None:
        pos, size = 0, len(data)
        while True:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                if self._skip:
                    return
            want = self._need - len(self._head)
            if size - pos < want:
                self._head += data[pos:]
                return
            head = self._head + data[pos : pos + want]
            pos += want
            self._head = b""
            self._advance(head)

    def _advance(self, head: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(head, "little")
            if magic == self.MAGIC:
                self._state, self._need = "descriptor", 1
            elif magic & 0xFFFFFFF0 == self.SKIPPABLE:
                self._state, self._need = "skip_size", 4
            else:
                raise zstandard.ZstdError(f"not a zstd frame (magic {magic:#010x})")
        elif state == "skip_size":
            self._skip = int.from_bytes(head, "little")
            self._state, self._need = "magic", 4
        elif state == "descriptor":
            fhd = head[0]
            single_segment = (fhd >> 5) & 1
            fcs_size = (1 if single_segment else 0, 2, 4, 8)[fhd >> 6]
            self._checksum = bool(fhd & 0x04)
            self._state, self._need = "frame_header", (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 3] + fcs_size
        elif state == "frame_header":
            self._state, self._need = "block", 3
        elif state == "block":
            header = int.from_bytes(head, "little")
            block_type, block_size = (header >> 1) & 3, header >> 3
            if block_type == 3:
                raise zstandard.ZstdError("reserved zstd block type")
            self._skip = 1 if block_type == 1 else block_size  # an RLE block stores one byte
            if header & 1:  # last block of the frame
                self._state, self._need = ("checksum", 4) if self._checksum else ("magic", 4)
        else:  # checksum
            self._state, self._need = "magic", 4


class _WalkedSource:
    """The compressed file as zstandard reads it, shown to a frame walker on the way."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.walker = _ZstdFrameWalker()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self.walker.feed(data)
        return data

    def close(self) -> None:
        self._raw.close()


class _CheckedRaw(io.RawIOBase):
    """A decompressed stream as a raw reader that bounds every read and notices a cut or corrupt stream.

    Each ``readinto`` asks the decompressor for at most the caller's buffer (``readinto1`` on gzip,
    bz2 and xz files; zstandard's ``stream_reader`` for zstd), so a bomb never expands past one
    buffer. A stream error is kept in ``error``: ``strict`` readers raise it, the line reader ends
    cleanly instead, so the bytes of a cut last line are still returned and can be kept.
    """

    def __init__(self, stream: Any, *, walker: _ZstdFrameWalker | None = None, strict: bool = True) -> None:
        self._stream = stream
        self._readinto = getattr(stream, "readinto1", None) or stream.readinto
        self._walker = walker
        self._strict = strict
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.error is not None:
            return self._fail()
        try:
            n = self._readinto(buffer)
        except _STREAM_ERRORS as err:
            self.error = err
            return self._fail()
        if not n and self._walker is not None and not self._walker.complete:
            self.error = self._walker.error or EOFError("zstd stream ended in the middle of a frame")
            return self._fail()
        return n

    def _fail(self) -> int:
        if self._strict:
            raise self.error  # type: ignore[misc]
        return 0

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def _decompressed(path: Path, *, strict: bool) -> _CheckedRaw:
    name = path.name
    if name.endswith(".zst"):
        source = _WalkedSource(open(path, "rb"))  # noqa: SIM115 - closed with the reader
        reader = zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True, closefd=True)
        return _CheckedRaw(reader, walker=source.walker, strict=strict)
    if name.endswith(".gz"):
        stream: Any = gzip.open(path, "rb")
    elif name.endswith(".bz2"):
        stream = bz2.open(path, "rb")
    elif name.endswith(".xz"):
        stream = lzma.open(path, "rb")
    else:
        stream = open(path, "rb")  # noqa: SIM115 - closed with the reader
    return _CheckedRaw(stream, strict=strict)


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for streaming binary reads, decompressing .gz, .bz2, .zst or .xz by suffix.

    A truncated or corrupt compressed stream raises (EOFError, ``zstandard.ZstdError`` or OSError)
    once the complete data before the damage has been read.
    """
    if not path.name.endswith((".gz", ".bz2", ".zst", ".xz")):
        return open(path, "rb")  # noqa: SIM115 - caller closes
    return io.BufferedReader(_decompressed(path, strict=True), buffer_size=READ_BUFFER)


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
    raw = _decompressed(path, strict=False) if compressed else open(path, "rb", buffering=0)  # noqa: SIM115
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
        yield _parse_line(path, lineno, line, require_id)


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
            yield _parse_line(path, row, line, require_id)


def read_docs(path: Path, *, require_id: bool = True, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Stream the documents of a shard in any supported format (see ``SHARD_SUFFIXES``)."""
    if path.name.endswith(".parquet"):
        return read_parquet(path, require_id=require_id, limit=limit)
    return read_jsonl(path, require_id=require_id, limit=limit)


def temp_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed to ``path``.

    ``part-00000.jsonl.zst.knowforge-tmp-4242``: the marker says whose it is and the PID which process
    wrote it, so a run can remove every temporary a killed run left (:func:`remove_temporaries`) and
    never mistake someone else's file for one.
    """
    return path.with_name(f"{path.name}{TEMP_MARK}{os.getpid()}")


def is_temporary(path: Path) -> bool:
    """True for a name made by :func:`temp_path`."""
    return _TEMP_NAME.search(path.name) is not None


def remove_temporaries(root: Path) -> list[Path]:
    """Delete every temporary of ours under ``root`` (recursively) and return what was deleted.

    Only safe while holding ``root``'s lock (``corpus.lock``): then no live writer owns them.
    Subdirectories with a lock file of their own are other outputs and are left alone.
    """
    from corpus.lock import LOCK_NAME  # corpus.lock imports this module for temp_path

    removed: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = [d for d in subdirs if not (here / d / LOCK_NAME).exists()]
        for name in files:
            if _TEMP_NAME.search(name):
                with contextlib.suppress(FileNotFoundError):
                    (here / name).unlink()
                    removed.append(here / name)
    return removed


class OutputWriteError(OSError):
    """Writing an output failed; the message names the file and the cause in words ("disk full").

    ``errno`` and ``filename`` are those of the error it replaces; the message is the one line.
    """

    def __str__(self) -> str:
        return str(self.args[0])


_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.EROFS: "read-only file system"}
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's message for a short fwrite
FULL_BELOW_BYTES = 1 << 20  # free space under which a short write without an errno is taken for a full disk


def write_error(path: Path, err: OSError) -> OutputWriteError:
    """``err`` (raised while writing ``path``) as one line naming the path and the cause.

    numpy's ``tofile``/``save`` report a full disk as a bare ``OSError("83200 requested and 74736
    written")`` with no errno; then the free space of the file system decides whether it was full.
    """
    cause = _CAUSES.get(err.errno) if err.errno is not None else None
    if cause is None and err.errno is None:
        try:
            fs = os.statvfs(path.parent)
            full = fs.f_bavail * fs.f_frsize < FULL_BELOW_BYTES
        except OSError:
            full = False
        cause = f"disk full ({err})" if full else f"short write ({err})"
    if cause is None:
        cause = err.strerror or str(err)
    if is_temporary(path):
        path = path.with_name(_TEMP_NAME.sub("", path.name))
    made = OutputWriteError(f"cannot write {path}: {cause}")
    made.errno, made.filename = err.errno, str(path)
    return made


def _is_write_failure(err: OSError, ours: tuple[Path, ...]) -> bool:
    """Whether ``err``, raised inside an atomic write of ``ours``, is about writing them (not reading input)."""
    if isinstance(err, OutputWriteError):
        return False  # already says which file and why
    if err.filename is not None and Path(err.filename) not in ours:
        return False  # about another file: an input that could not be read, say
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
        return True
    if err.errno in (errno.EACCES, errno.EPERM):
        return err.filename is not None
    return err.errno is None and _SHORT_WRITE.search(str(err)) is not None


@contextlib.contextmanager
def naming_write_errors(path: Path, *also: Path) -> Iterator[None]:
    """Turn a failure to write ``path`` (or ``also``: its temporary) in the block into ``OutputWriteError``.

    For a writer that fills several files at once (pack's merge: ``.bin`` and ``.idx``), so the error
    names the one that failed, not whichever ``atomic_path`` is innermost. Temporary names are shown
    as the real name they stand for.
    """
    try:
        yield
    except OSError as err:
        if _is_write_failure(err, (path, *also)):
            raise write_error(path, err) from err
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    A failure to write it (full disk, read-only file system, no permission, numpy's short write)
    comes out as :class:`OutputWriteError` naming ``path``; other errors pass through unchanged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(path, err) from err
    tmp = temp_path(path)
    try:
        with naming_write_errors(path, tmp, path.parent):
            yield tmp
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, then rename).

    A path that is neither a file nor a directory (a device such as /dev/stdout or /dev/full, a FIFO) is
    written in place: renaming over it would replace the device with a file (as root, even in /dev).
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        path.write_bytes(data)
        return
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
