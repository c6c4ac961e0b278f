"""Decompressing input streams (.gz, .bz2, .xz, .zst) that bound every read and notice a cut stream.

Each read asks the decompressor for at most one 128 KiB buffer, so a zstd bomb never expands past it.
zstandard returns a quiet EOF on a stream cut mid-frame, so a small walker follows the zstd frame and
block headers (RFC 8878) as the compressed bytes go by and reports a stream that does not end on a
frame boundary. Used by ``corpus.shards`` (shard reading) and by readers of raw dumps.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from pathlib import Path
from typing import IO, Any

import zstandard

READ_BUFFER = 1 << 17  # decompressed bytes per read: one zstd block, so a bomb never expands further

# Errors raised by the decompressors when a stream ends early or is corrupt (bz2 and gzip raise
# OSError subclasses for corrupt data).
_STREAM_ERRORS = (EOFError, zstandard.ZstdError, OSError, lzma.LZMAError)


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


def decompressed(path: Path, *, strict: bool) -> _CheckedRaw:
    """``path`` decompressed by suffix as a bounded raw reader; ``strict=False`` keeps a stream error in
    ``.error`` and ends cleanly instead of raising (see ``_CheckedRaw``)."""
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
    return io.BufferedReader(decompressed(path, strict=True), buffer_size=READ_BUFFER)


def open_text(path: Path) -> IO[str]:
    """Open ``path`` (optionally compressed) as UTF-8 text; invalid bytes raise, as for any strict read."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", newline="")

