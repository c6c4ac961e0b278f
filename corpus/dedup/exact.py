"""The ``dedup-exact`` stage: drop documents whose normalised text occurred earlier in the corpus.

A global stage in three steps, the pattern every dedup stage follows:
(1) ``prepare`` hashes each shard's normalised texts in parallel into ``OUTPUT/_dedup-exact/<shard>.npz``
(reused on rerun, so a killed run resumes); (2) it sorts all hashes once and keeps the first document of
each hash in (source priority, shard order, position) order, writing per shard the positions to remove
and the id kept;
(3) the per-shard pass (``for_shard`` + ``__call__``) rejects those documents with reason
``exact_duplicate`` and the kept id. Hashes are 64-bit BLAKE2b: at 10^9 documents the chance of any
collision is ~3%, and a collision only costs one document.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from corpus.records import reject, rejection
from corpus.runner import internal, parallel_map
from corpus.shards import atomic_path, read_docs, shard_name
from corpus.text import normalize

EXACT_DUPLICATE = "exact_duplicate"
STATE_DIR = "_dedup-exact"


def normalise(text: str) -> str:
    """NFKC, lower case, and all whitespace runs folded to one space: what 'the same text' means here."""
    return normalize(text, case="lower", fold="space")


def text_hash(text: str) -> int:
    """64-bit hash of the normalised text."""
    return int.from_bytes(hashlib.blake2b(normalise(text).encode("utf-8"), digest_size=8).digest(), "little")


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def hash_shard(shard: Path, state_dir: Path, force: bool) -> Path:
    """Write ``positions``, ``hashes``, ``ids`` and ``sources`` of the valid documents of ``shard``; reuse if
    present (a file from before ``sources`` was kept is rewritten)."""
    out = state_dir / f"{shard_name(shard)}.npz"
    if out.exists() and not force:
        with np.load(out) as done:
            if "sources" in done.files:
                return out
    # Positions count valid documents only: the per-shard pass never sees the malformed ones.
    positions, hashes, ids, sources = [], [], [], []
    valid = (doc for doc in read_docs(shard) if rejection(doc) is None)
    for position, doc in enumerate(valid):
        positions.append(position)
        hashes.append(text_hash(doc["text"]))
        ids.append(doc["id"])
        sources.append(str(doc.get("source") or ""))
    _save_npz(
        out,
        positions=np.asarray(positions, dtype=np.int64),
        hashes=np.asarray(hashes, dtype=np.uint64),
        ids=np.asarray(ids, dtype=str),
        sources=np.asarray(sources, dtype=str),
    )
    return out


def priority_ranks(sources: np.ndarray, priority: tuple[str, ...]) -> np.ndarray:
    """Rank of each document's source in ``priority`` (0 = kept first); unlisted sources rank last, tied."""
    rank = np.full(sources.size, len(priority), dtype=np.int64)
    for i, source in enumerate(priority):
        rank[sources == source] = i
    return rank


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExactDedupStep:
    """Keep the first document of each normalised text: first by ``source_priority``, then shard, position.

    ``source_priority`` (e.g. ``[zhwiki, baike, wudao]``): sources listed first are kept first; sources
    not listed come after them, tied. Empty (the default): first by shard order, then position.
    """

    name: ClassVar[str] = "dedup-exact"
    source_priority: tuple[str, ...] = ()
    state_dir: str | None = internal()  # set by prepare()
    shard: str | None = internal()  # set by for_shard()

    def __post_init__(self) -> None:
        if isinstance(self.source_priority, str) or not all(isinstance(s, str) for s in self.source_priority):
            raise ValueError("source_priority must be a list of source names, e.g. [zhwiki, baike, wudao]")
        object.__setattr__(self, "source_priority", tuple(self.source_priority))

    def prepare(self, shards: list[Path], output: Path, *, workers: int, force: bool, progress: bool):
        state = output / STATE_DIR
        state.mkdir(parents=True, exist_ok=True)
        files = parallel_map(
            partial(hash_shard, state_dir=state, force=force), shards, workers=workers,
            desc="exact hashes", progress=progress,
        )
        loaded = [np.load(f) for f in files]
        hashes = np.concatenate([z["hashes"] for z in loaded]) if loaded else np.empty(0, np.uint64)
        shard_index = np.concatenate([np.full(len(z["hashes"]), i, np.int64) for i, z in enumerate(loaded)])
        position = np.concatenate([z["positions"] for z in loaded])
        rank = priority_ranks(np.concatenate([z["sources"] for z in loaded]) if loaded else np.empty(0, str),
                              self.source_priority)
        # Sort by hash, then source rank, shard, position: the first row of each hash run is the keeper.
        order = np.lexsort((position, shard_index, rank, hashes))
        sorted_hashes = hashes[order]
        first = np.ones(len(order), dtype=bool)
        first[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
        keeper_row = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
        removed_rows = order[~first]
        removed_keepers = keeper_row[~first]
        offsets = np.cumsum([0] + [len(z["hashes"]) for z in loaded])
        all_ids = np.concatenate([z["ids"] for z in loaded]) if loaded else np.empty(0, str)
        for i, shard in enumerate(shards):
            mine = (removed_rows >= offsets[i]) & (removed_rows < offsets[i + 1])
            _save_npz(
                state / f"{shard_name(shard)}.removed.npz",
                positions=position[removed_rows[mine]],
                kept=all_ids[removed_keepers[mine]],
            )
        return dataclasses.replace(self, state_dir=str(state))

    def for_shard(self, name: str):
        return dataclasses.replace(self, shard=name)

    def _removed(self) -> dict[int, str]:
        if self.state_dir is None or self.shard is None:
            raise RuntimeError("dedup-exact runs through the runner, which calls prepare() and for_shard()")
        z = np.load(Path(self.state_dir) / f"{self.shard}.removed.npz")
        return dict(zip(z["positions"].tolist(), z["kept"].tolist(), strict=True))

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        removed = self._removed()
        for position, doc in enumerate(docs):
            if position in removed:
                yield reject(doc, stage=self.name, reason=EXACT_DUPLICATE, kept_id=removed[position])
            else:
                yield doc
