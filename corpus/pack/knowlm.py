"""KnowLM's own packed layout (``pretrain/preprocess.py`` in zjunlp/KnowLM), so its trainer reads our output.

``PREFIX.bin``: all token ids back to back as little-endian uint16 (vocabulary must be below 65,536).
``PREFIX.idx``: N little-endian uint64 start offsets (in tokens, not bytes), then N uint16 lengths;
file size 10·N bytes, and start[i] + len[i] == start[i+1]. Example: samples [5, 6, 7], [8] →
.idx = 00..00 (8 bytes: 0) 03 00..00 (8 bytes: 3) 03 00 01 00. KnowLM has no document boundaries.
Left out: its ``.dis`` (``torch.save`` of per-type counts) and ``.tmp`` stats files, which need torch.
"""

from __future__ import annotations

import shutil
from array import array
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_ID = 65535  # uint16 tokens and lengths


class KnowLMWriter:
    """Stream samples into ``.bin`` and write the ``.idx`` on close (same interface as the Megatron writer)."""

    def __init__(self, bin_file: str | Path, idx_file: str | Path, vocab_size: int) -> None:
        if vocab_size > MAX_ID + 1:
            raise ValueError(f"--format knowlm stores uint16 ids; vocabulary {vocab_size} is too large")
        self.idx_file = Path(idx_file)
        self._bin: BinaryIO = open(bin_file, "wb")
        self._lengths = array("H")  # uint16

    def add_sequence(self, tokens: np.ndarray) -> None:
        if len(tokens) > MAX_ID:
            raise ValueError(f"--format knowlm stores uint16 lengths; a sample of {len(tokens)} tokens is too long")
        self._bin.write(np.ascontiguousarray(tokens, dtype="<u2").data)
        self._lengths.append(len(tokens))

    def add_documents(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append several samples at once: ``tokens`` back to back, ``lengths`` each."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.size and int(lengths.max()) > MAX_ID:
            raise ValueError(f"--format knowlm stores uint16 lengths; a sample of {int(lengths.max())} tokens "
                             "is too long")
        self._bin.write(np.ascontiguousarray(tokens, dtype="<u2").data)
        self._lengths.frombytes(lengths.astype("<u2").tobytes())

    def end_document(self) -> None:
        """KnowLM's layout has no documents; kept for the common writer interface."""

    def close(self) -> None:
        self._bin.close()
        write_index(self.idx_file, np.frombuffer(self._lengths, dtype=np.uint16))

    def __enter__(self) -> KnowLMWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._bin.close()


def write_index(path: Path, lengths: np.ndarray) -> None:
    """Write N uint64 starts (exclusive cumulative sum of ``lengths``) then N uint16 lengths."""
    lengths = np.asarray(lengths, dtype="<u2")
    starts = np.zeros(lengths.size, dtype="<u8")
    np.cumsum(lengths[:-1], dtype=np.uint64, out=starts[1:])
    with open(path, "wb") as f:
        f.write(starts.tobytes())
        f.write(lengths.tobytes())


def read_index(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(starts uint64, lengths uint16) of a KnowLM ``.idx``; checks that samples are contiguous."""
    raw = Path(path).read_bytes()
    if len(raw) % 10:
        raise ValueError(f"{path}: size {len(raw)} is not a multiple of 10 bytes")
    n = len(raw) // 10
    starts = np.frombuffer(raw, dtype="<u8", count=n)
    lengths = np.frombuffer(raw, dtype="<u2", count=n, offset=8 * n)
    if n > 1 and np.any(starts[1:] != starts[:-1] + lengths[:-1]):
        raise ValueError(f"{path}: samples are not contiguous")
    return starts, lengths


def read_samples(prefix: str | Path) -> list[np.ndarray]:
    """Every sample of ``PREFIX.bin/.idx`` (small files: tests and ``inspect``)."""
    starts, lengths = read_index(f"{prefix}.idx")
    tokens = np.fromfile(f"{prefix}.bin", dtype="<u2")
    return [tokens[int(s) : int(s) + int(n)] for s, n in zip(starts, lengths, strict=True)]


def merge(prefixes: list[str | Path], out_bin: str | Path, out_idx: str | Path) -> None:
    """Concatenate pairs like KnowLM's ``--mode merge`` (starts shifted by the tokens before)."""
    lengths = []
    with open(out_bin, "wb") as out:
        for prefix in prefixes:
            lengths.append(np.array(read_index(f"{prefix}.idx")[1]))
            with open(f"{prefix}.bin", "rb") as part:
                shutil.copyfileobj(part, out, length=1 << 22)
    write_index(Path(out_idx), np.concatenate(lengths) if lengths else np.zeros(0, dtype="<u2"))
