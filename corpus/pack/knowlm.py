"""KnowLM's own packed layout (``pretrain/preprocess.py`` of zjunlp/KnowLM @ 0f00ad8), so its trainer reads our output.

``PREFIX.bin``: all token ids back to back as little-endian uint16 (vocabulary must be below 65,536).
``PREFIX.idx``: N little-endian uint64 start offsets (in tokens, not bytes), then N uint16 lengths;
file size 10·N bytes, and start[i] + len[i] == start[i+1]. Example: samples [5, 6, 7], [8] →
.idx = 00..00 (8 bytes: 0) 03 00..00 (8 bytes: 3) 03 00 01 00. KnowLM has no document boundaries.
``PREFIX.dis``: ``torch.save`` of a list of per-type sample counts (``[N]`` for one file; after a typed
merge one count per type, in the order the types first occur), which every KnowLM reader loads.
``PREFIX.tmp``: ``torch.save`` of ``[BOS-only, EOS-only, neither, both]`` sample counts (``write`` mode only).
Both are written through ``torch`` (the ``[megatron]`` extra) under their final file name, because
``torch.save`` names the archive inside the zip after the file: the bytes then equal KnowLM's own.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from array import array
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_ID = 65535  # uint16 tokens and lengths
DIS, TMP = ".dis", ".tmp"


def require_torch() -> None:
    """Raise a one-line setup error when torch (needed for ``.dis``/``.tmp``) is not installed."""
    if importlib.util.find_spec("torch") is None:
        raise ValueError("--format knowlm writes KnowLM's .dis/.tmp with torch.save: "
                         "pip install 'knowforge[megatron]' (or torch)")


def save_list(path: str | Path, values: list[int]) -> None:
    """``torch.save(values, path)`` atomically, as KnowLM does, into a file of exactly that name.

    The archive name inside the zip is the file's stem, so the temporary file lives in a temporary
    directory under the same name and is renamed into place afterwards.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.tmp-") as tmp:
        staged = Path(tmp) / path.name
        torch.save([int(v) for v in values], str(staged))
        os.replace(staged, path)


def load_list(path: str | Path) -> list[int]:
    """The list in a ``.dis``/``.tmp`` file (``torch.load``, as KnowLM's readers do)."""
    import torch

    return list(torch.load(str(path)))


def bos_eos_statistic(tokens: np.ndarray, lengths: np.ndarray, bos_id: int | None, eos_id: int | None
                      ) -> np.ndarray:
    """KnowLM's 4-element ``.tmp`` stat over samples: [starts with BOS only, ends with EOS only, neither, both].

    KnowLM tests the literal ids 1 and 2 (LLaMA's BOS/EOS); we test the tokenizer's, which are those for
    LLaMA-style models. (Its EOS-only test reads ``target[0] != -1 and target[-1] == 2``: always true
    on the first half, so it means "ends with EOS and does not start with BOS", as here.)
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    lengths = lengths[lengths > 0]
    if lengths.size == 0:
        return np.zeros(4, dtype=np.int64)
    ends = np.cumsum(lengths)
    first, last = tokens[ends - lengths], tokens[ends - 1]
    bos = first == bos_id if bos_id is not None else np.zeros(lengths.size, bool)
    eos = last == eos_id if eos_id is not None else np.zeros(lengths.size, bool)
    return np.array([np.sum(bos & ~eos), np.sum(~bos & eos), np.sum(~bos & ~eos), np.sum(bos & eos)])


class KnowLMWriter:
    """Stream samples into ``.bin``; write ``.idx`` on close, and ``.dis``/``.tmp`` next to ``stem``.

    Same interface as the Megatron writer. ``bin_file``/``idx_file`` may be temporary names (the pack
    stage renames them); ``stem`` is the final prefix, where ``.dis`` and ``.tmp`` go.
    """

    def __init__(self, bin_file: str | Path, idx_file: str | Path, vocab_size: int, *, stem: str | Path,
                 bos_id: int | None = None, eos_id: int | None = None) -> None:
        if vocab_size > MAX_ID + 1:
            raise ValueError(f"--format knowlm stores uint16 ids; vocabulary {vocab_size} is too large")
        require_torch()
        self.idx_file = Path(idx_file)
        self.stem = Path(stem)
        self.bos_id, self.eos_id = bos_id, eos_id
        self._bin: BinaryIO = open(bin_file, "wb")
        self._lengths = array("H")  # uint16
        self._stat = np.zeros(4, dtype=np.int64)

    def add_sequence(self, tokens: np.ndarray) -> None:
        if len(tokens) > MAX_ID:
            raise ValueError(f"--format knowlm stores uint16 lengths; a sample of {len(tokens)} tokens is too long")
        self.add_documents(tokens, np.array([len(tokens)]))

    def add_documents(self, tokens: np.ndarray, lengths: np.ndarray) -> None:
        """Append several samples at once: ``tokens`` back to back, ``lengths`` each."""
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.size and int(lengths.max()) > MAX_ID:
            raise ValueError(f"--format knowlm stores uint16 lengths; a sample of {int(lengths.max())} tokens "
                             "is too long")
        tokens = np.ascontiguousarray(tokens, dtype="<u2")
        self._bin.write(tokens.data)
        self._lengths.frombytes(lengths.astype("<u2").tobytes())
        self._stat += bos_eos_statistic(tokens, lengths, self.bos_id, self.eos_id)

    def end_document(self) -> None:
        """KnowLM's layout has no documents; kept for the common writer interface."""

    def close(self) -> None:
        self._bin.close()
        write_index(self.idx_file, np.frombuffer(self._lengths, dtype=np.uint16))
        save_list(f"{self.stem}{DIS}", [len(self._lengths)])
        save_list(f"{self.stem}{TMP}", self._stat.tolist())

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


def group_by_type(prefixes: list[str | Path], types: list | None) -> list[tuple[object, list[str | Path]]]:
    """KnowLM's ``--merge_path_type``: inputs grouped by type, types in first-occurrence order, inputs
    in their given order within a type; no types means one group (``[0, 0, 1]`` → [(0, [a, b]), (1, [c])])."""
    if types is None:
        return [(None, list(prefixes))]
    if len(types) != len(prefixes):
        raise ValueError(f"{len(types)} types for {len(prefixes)} inputs: give one type per input")
    groups: dict[object, list[str | Path]] = {}
    for prefix, kind in zip(prefixes, types, strict=True):
        groups.setdefault(kind, []).append(prefix)
    return list(groups.items())


def merge(prefixes: list[str | Path], out_bin: str | Path, out_idx: str | Path, *, types: list | None = None,
          out_stem: str | Path | None = None) -> list[int]:
    """KnowLM's ``--mode merge``: concatenate pairs group by group, starts shifted by the tokens before.

    Each input's ``.dis`` must exist and hold one count equal to its sample count (KnowLM asserts ``len == 1``:
    a typed merge of typed merges is not its format). Writes ``out_stem.dis`` (one count per type,
    ``[N]`` without types) when ``out_stem`` is given; returns those counts.
    """
    groups = group_by_type(prefixes, types)
    order, counts = [], []  # the inputs in merged order; samples per type
    with open(out_bin, "wb") as out:
        for _, members in groups:
            count = 0
            for prefix in members:
                samples = read_index(f"{prefix}.idx")[1].size
                dis = Path(f"{prefix}{DIS}")
                if not dis.exists():  # KnowLM's merge loads every input's .dis
                    raise FileNotFoundError(f"no {dis} (is {prefix} a --format knowlm output prefix?)")
                if load_list(dis) != [samples]:
                    raise ValueError(f"{dis} holds {load_list(dis)}, expected [{samples}]: KnowLM merges "
                                     "only single-type inputs whose .dis matches their .idx")
                order.append(prefix)
                count += samples
                with open(f"{prefix}.bin", "rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 22)
            counts.append(count)
    # The .idx of the concatenation (write_index's bytes), written one input at a time: all starts, then
    # all lengths, so memory is one input's index, not 10 B a sample of the merged corpus.
    with open(out_idx, "wb") as f:
        start = 0
        for prefix in order:
            lengths = read_index(f"{prefix}.idx")[1]
            ends = np.cumsum(lengths, dtype=np.uint64) + np.uint64(start)
            f.write(np.concatenate((np.array([start], dtype=np.uint64), ends[:-1])).astype("<u8").tobytes()
                    if lengths.size else b"")
            start = int(ends[-1]) if lengths.size else start
        for prefix in order:
            f.write(read_index(f"{prefix}.idx")[1].astype("<u2").tobytes())
    if out_stem is not None:
        save_list(f"{out_stem}{DIS}", counts)  # without types: one group, [N]
    return counts
