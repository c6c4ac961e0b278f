"""Megatron-LM indexed dataset (``MMIDIDX``) writer, reader and merge, byte-compatible with megatron-core.

Same files as ``megatron.core.datasets.indexed_dataset.IndexedDatasetBuilder`` writes and
``IndexedDataset`` reads (version 1, no multimodal ``sequence_modes``), written with plain numpy.
The ``.bin`` is streamed; only the index (12 bytes per sequence, 8 per document) is held in memory.

``PREFIX.idx``, all little-endian::

    offset         size        field
    0              9           magic b"MMIDIDX\\x00\\x00"
    9              8           uint64 version = 1
    17             1           uint8 dtype code of the tokens in .bin
                               (1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 6 float64, 7 float32, 8 uint16)
    18             8           uint64 S = number of sequences
    26             8           uint64 D+1 = number of document_indices entries
    34             4*S         int32 sequence_lengths[S]   (tokens)
    34+4S          8*S         int64 sequence_pointers[S]  (byte offset of each sequence in .bin)
    34+12S         8*(D+1)     int64 document_indices[D+1] (sequence index where each document starts;
                                                             first 0, last S)

``PREFIX.bin``: the tokens of all sequences back to back in that dtype, no header. The dtype is uint16
when the vocabulary has fewer than 65,500 ids, else int32 (megatron-core's ``DType.optimal_dtype``).
Worked example: sequences [5, 6, 7] and [8] as one document, uint16 → .bin = 05 00 06 00 07 00 08 00,
lengths [3, 1], pointers [0, 6], document_indices [0, 2].
"""

from __future__ import annotations

import shutil
import struct
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from corpus.shards import naming_write_errors

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
DTYPE_CODES: dict[type, int] = {
    np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5, np.float64: 6, np.float32: 7, np.uint16: 8,
}
CODE_DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}
_HEADER = struct.Struct("<9sQB")  # magic, version, dtype code: 18 bytes
_COUNTS = struct.Struct("<QQ")  # S, D+1: 16 bytes


def dtype_for_vocab(vocab_size: int) -> type:
    """uint16 below 65,500 ids (as megatron-core chooses), else int32."""
    return np.uint16 if vocab_size < 65500 else np.int32


def bin_path(prefix: str | Path) -> Path:
    return Path(f"{prefix}.bin")


def idx_path(prefix: str | Path) -> Path:
    return Path(f"{prefix}.idx")


def write_index(
    path: Path, dtype: type, sequence_lengths: np.ndarray, document_indices: np.ndarray
) -> None:
    """Write a ``.idx`` file (layout in the module docstring); pointers are derived from the lengths."""
    lengths = np.asarray(sequence_lengths, dtype=np.int32)
    docs = np.asarray(document_indices, dtype=np.int64)
    if docs.size == 0 or docs[0] != 0 or docs[-1] != lengths.size or np.any(np.diff(docs) < 0):
        raise ValueError("document_indices must start at 0, end at the sequence count and not decrease")
    pointers = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1].astype(np.int64) * np.dtype(dtype).itemsize, out=pointers[1:])
    with open(path, "wb") as f:
        f.write(_HEADER.pack(MAGIC, VERSION, DTYPE_CODES[dtype]))
        f.write(_COUNTS.pack(lengths.size, docs.size))
        f.write(lengths.tobytes())
        f.write(pointers.tobytes())
        f.write(docs.tobytes())


@dataclass(frozen=True)
class Index:
    """A parsed ``.idx``: dtype and the three arrays (memory-mapped views of the file)."""

    dtype: type
    sequence_lengths: np.ndarray  # (S,) int32
    sequence_pointers: np.ndarray  # (S,) int64 bytes
    document_indices: np.ndarray  # (D+1,) int64


def read_index(path: str | Path) -> Index:
    """Parse a ``.idx`` file; raises ValueError on a wrong magic, version or size."""
    buf = np.memmap(path, dtype=np.uint8, mode="r")
    if buf.size < _HEADER.size + _COUNTS.size:
        raise ValueError(f"{path}: too short for an MMIDIDX index")
    magic, version, code = _HEADER.unpack_from(buf, 0)
    if magic != MAGIC or version != VERSION or code not in CODE_DTYPES:
        raise ValueError(f"{path}: not a version-1 MMIDIDX index (magic {magic!r}, version {version})")
    s, d1 = _COUNTS.unpack_from(buf, _HEADER.size)
    off = _HEADER.size + _COUNTS.size
    if buf.size != off + 12 * s + 8 * d1:
        raise ValueError(f"{path}: size {buf.size} does not match {s} sequences and {d1 - 1} documents")
    lengths = np.frombuffer(buf, dtype=np.int32, count=s, offset=off)
    pointers = np.frombuffer(buf, dtype=np.int64, count=s, offset=off + 4 * s)
    docs = np.frombuffer(buf, dtype=np.int64, count=d1, offset=off + 12 * s)
    return Index(CODE_DTYPES[code], lengths, pointers, docs)


class IndexedDatasetWriter:
    """Stream sequences into ``PREFIX.bin`` and write ``PREFIX.idx`` on close.

    Use as a context manager; ``add_sequence`` appends one sample, ``end_document`` closes the current
    document (sequences added since the last call). Paths may be temporary names (see ``atomic_path``).
    """

    def __init__(self, bin_file: str | Path, idx_file: str | Path, dtype: type) -> None:
        self.dtype = dtype
        self.idx_file = Path(idx_file)
        self._bin: BinaryIO = open(bin_file, "wb")
        self._lengths = array("i")  # int32, compact: 4 bytes per sequence
        self._docs = array("q", [0])  # int64

    def add_sequence(self, tokens: np.ndarray) -> None:
        self._bin.write(np.ascontiguousarray(tokens, dtype=self.dtype).data)
        self._lengths.append(len(tokens))

    def add_documents(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append several one-sequence documents at once: ``tokens`` back to back, ``lengths`` each."""
        self.end_document()
        self._bin.write(np.ascontiguousarray(tokens, dtype=self.dtype).data)
        first = len(self._lengths)
        self._lengths.frombytes(np.asarray(lengths, dtype=np.int32).tobytes())
        self._docs.extend(range(first + 1, first + 1 + len(lengths)))

    def end_document(self) -> None:
        if self._docs[-1] != len(self._lengths):
            self._docs.append(len(self._lengths))

    def close(self) -> None:
        self.end_document()
        self._bin.close()
        write_index(self.idx_file, self.dtype, np.frombuffer(self._lengths, dtype=np.int32),
                    np.frombuffer(self._docs, dtype=np.int64))

    def __enter__(self) -> IndexedDatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._bin.close()


class IndexedDatasetReader:
    """Random access to sequences and documents of ``PREFIX.bin/.idx``; the ``.bin`` is memory-mapped."""

    def __init__(self, prefix: str | Path) -> None:
        self.prefix = str(prefix)
        self.index = read_index(idx_path(prefix))
        size = bin_path(prefix).stat().st_size
        self.tokens = (np.memmap(bin_path(prefix), dtype=self.index.dtype, mode="r") if size
                       else np.zeros(0, dtype=self.index.dtype))

    def __len__(self) -> int:
        return int(self.index.sequence_lengths.size)

    def __getitem__(self, i: int) -> np.ndarray:
        start = int(self.index.sequence_pointers[i]) // np.dtype(self.index.dtype).itemsize
        return np.asarray(self.tokens[start : start + int(self.index.sequence_lengths[i])])

    @property
    def document_count(self) -> int:
        return int(self.index.document_indices.size) - 1

    def document(self, d: int) -> list[np.ndarray]:
        """The sequences of document ``d``."""
        lo, hi = self.index.document_indices[d], self.index.document_indices[d + 1]
        return [self[i] for i in range(int(lo), int(hi))]


def merge(prefixes: list[str | Path], out_bin: str | Path, out_idx: str | Path) -> None:
    """Concatenate several pairs into one, like ``IndexedDatasetBuilder.add_index`` (same result bytes).

    The ``.bin`` files are copied in order; lengths are concatenated and document indices shifted by the
    number of sequences before each part. All parts must share one dtype. The ``.idx`` is streamed too:
    the counts come from the parts' headers, then each of its three arrays is written part by part, so
    memory is one part's index (12 B a sequence of the largest shard), not the merged corpus's.
    """
    dtype, total_seqs, total_docs = None, 0, 0
    for prefix in prefixes:  # headers only: the totals the merged header needs, and one dtype
        index = read_index(idx_path(prefix))
        if dtype is not None and index.dtype != dtype:
            raise ValueError(f"{prefix}: dtype {index.dtype.__name__} differs from {dtype.__name__}")
        dtype = index.dtype
        docs = index.document_indices
        if docs[0] != 0 or docs[-1] != index.sequence_lengths.size or np.any(np.diff(docs) < 0):
            raise ValueError(f"{prefix}: document_indices must start at 0, end at the sequence count and "
                             "not decrease")
        total_seqs += index.sequence_lengths.size
        total_docs += docs.size - 1
        del index, docs  # the part's map is closed before the next one is opened
    if dtype is None:
        raise ValueError("merge needs at least one input prefix")
    # The .bin is written while the .idx's temporary is open too: name the file that failed.
    with naming_write_errors(Path(out_bin)), open(out_bin, "wb") as out:
        for prefix in prefixes:
            with open(bin_path(prefix), "rb") as part:
                shutil.copyfileobj(part, out, length=1 << 22)
    itemsize = np.dtype(dtype).itemsize
    with open(out_idx, "wb") as f:
        f.write(_HEADER.pack(MAGIC, VERSION, DTYPE_CODES[dtype]))
        f.write(_COUNTS.pack(total_seqs, total_docs + 1))
        for prefix in prefixes:  # sequence_lengths[S], as they are
            f.write(read_index(idx_path(prefix)).sequence_lengths.tobytes())
        pointer = 0  # byte offset of the next part's first sequence in the merged .bin
        for prefix in prefixes:  # sequence_pointers[S]: a running sum of lengths x itemsize, as write_index does
            lengths = read_index(idx_path(prefix)).sequence_lengths
            ends = np.cumsum(lengths, dtype=np.int64) * itemsize + pointer
            f.write(np.concatenate((np.array([pointer], dtype=np.int64), ends[:-1])).tobytes() if lengths.size else b"")
            pointer = int(ends[-1]) if lengths.size else pointer
        f.write(np.zeros(1, dtype=np.int64).tobytes())  # document_indices[D+1]: the first 0, then each
        seen = 0  # part's starts shifted by the sequences before it
        for prefix in prefixes:
            index = read_index(idx_path(prefix))
            f.write((index.document_indices[1:] + seen).astype(np.int64).tobytes())
            seen += index.sequence_lengths.size
