"""The ``dedup-exact`` stage: drop documents whose normalised text occurred earlier in the corpus.

A global stage in three steps, the pattern every dedup stage follows:
(1) ``prepare`` hashes each shard's normalised texts in parallel into ``OUTPUT/_dedup-exact/<shard>.npz``
(reused on rerun, so a killed run resumes); (2) it sorts all hashes once and keeps the first document of
each hash in (source priority, shard order, position) order, writing per shard the positions to remove
and the id kept;
(3) the per-shard pass (``for_shard`` + ``__call__``) rejects those documents with reason
``exact_duplicate`` and the kept id. Steps (1)-(2) are ``corpus.globalstep.global_step``. Hashes are 64-bit BLAKE2b: at 10^9 documents the chance of any
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

from corpus.contract import ShardMap
from corpus.globalstep import CountThenFilter, by_shard, global_step, stacked, valid_docs
from corpus.records import reject
from corpus.shards import atomic_path, shard_name
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
    for position, doc in enumerate(valid_docs(shard)):
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


def write_removal_list(state: Path, name: str, positions: np.ndarray, kept: np.ndarray) -> None:
    """Shard ``name``'s removal list: the positions (among its valid documents) to reject and the id of
    the document kept for each, in any order (the per-shard pass reads them into a dict)."""
    _save_npz(state / f"{name}.removed.npz", positions=positions, kept=kept)


def first_of_each(hashes: np.ndarray, rank: np.ndarray, shard: np.ndarray, position: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(removed, keeper)`` rows: every row but the first of its hash in (source rank, shard, position)
    order, and for each the row kept. Local and Ray (per hash partition) decide with this."""
    order = np.lexsort((position, shard, rank, hashes))
    sorted_hashes = hashes[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_hashes[1:] != sorted_hashes[:-1]
    keeper_row = order[np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))]
    return order[~first], keeper_row[~first]


def priority_ranks(sources: np.ndarray, priority: tuple[str, ...]) -> np.ndarray:
    """Rank of each document's source in ``priority`` (0 = kept first); unlisted sources rank last, tied."""
    rank = np.full(sources.size, len(priority), dtype=np.int64)
    for i, source in enumerate(priority):
        rank[sources == source] = i
    return rank


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExactDedupStep(CountThenFilter):
    """Keep the first document of each normalised text: first by ``source_priority``, then shard, position.

    ``source_priority`` (e.g. ``[zhwiki, baike, wudao]``): sources listed first are kept first; sources
    not listed come after them, tied. Empty (the default): first by shard order, then position.
    """

    name: ClassVar[str] = "dedup-exact"
    source_priority: tuple[str, ...] = ()  # a list from YAML is kept as given: both fingerprint alike

    def __post_init__(self) -> None:
        if isinstance(self.source_priority, str) or not all(isinstance(s, str) for s in self.source_priority):
            raise ValueError("source_priority must be a list of source names, e.g. [zhwiki, baike, wudao]")

    def prepare(self, shards: list[Path], output: Path, *, each: ShardMap, force: bool):
        """Hash every shard (``each``, resumable), keep the first of each hash, write per-shard removal lists."""
        state = output / STATE_DIR

        def decide(files: list[Path]) -> None:
            rows, offsets = stacked(files, ("hashes", "positions", "ids", "sources"))
            shard_index = np.repeat(np.arange(len(files)), np.diff(offsets))
            rank = priority_ranks(rows["sources"], tuple(self.source_priority))
            removed_rows, removed_keepers = first_of_each(rows["hashes"], rank, shard_index, rows["positions"])
            for shard, mine in zip(shards, by_shard(offsets, removed_rows), strict=True):
                write_removal_list(state, shard_name(shard), rows["positions"][removed_rows[mine]],
                                   rows["ids"][removed_keepers[mine]])

        return global_step(self, shards, state=state, each=each, count=partial(hash_shard, state_dir=state, force=force),
                           decide=decide, desc="exact hashes")

    def _removed(self) -> dict[int, str]:
        state, shard = self.bound()
        z = np.load(state / f"{shard}.removed.npz")
        return dict(zip(z["positions"].tolist(), z["kept"].tolist(), strict=True))

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        removed = self._removed()
        # The n-th document given is the n-th valid one of the shard: the position hash_shard recorded.
        for position, doc in enumerate(docs):
            if position in removed:
                yield reject(doc, stage=self.name, reason=EXACT_DUPLICATE, kept_id=removed[position])
            else:
                yield doc
