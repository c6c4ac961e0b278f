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
import shutil
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from corpus.contract import ShardMap
from corpus.globalstep import CountThenFilter, global_step, valid_docs
from corpus.records import reject
from corpus.shards import atomic_path, shard_name
from corpus.text import normalize

EXACT_DUPLICATE = "exact_duplicate"
STATE_DIR = "_dedup-exact"
SPILL_DIR = "removed-spill"  # under STATE_DIR: each partition's removed documents while deciding
PARTITION_DOCS = 1 << 18  # documents whose hashes are sorted at once: ~110 B each with sort scratch, ~30 MiB


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


def removals(files: list[Path], priority: tuple[str, ...], spill: Path) -> Iterator[dict[str, np.ndarray]]:
    """Per shard (files from :func:`hash_shard`), in order, the ``positions`` to remove and the id ``kept``
    for each.

    The keeper of a hash is the first of its documents by (source rank, shard, position). Hashes are
    sorted one partition (``hash % parts``, about PARTITION_DOCS documents) at a time: all copies of a
    text share its hash, hence a partition, so memory is one partition's columns and sort scratch (~110 B
    a document) and one shard's arrays, never the whole corpus. Each partition's removed documents go to
    ``spill`` (``.npy`` files grouped by shard, read back by memory map), not to memory: at 10 GB the
    removed documents held in the driver grew it by ~40 MiB. Each shard's removals are in the order one
    sort of everything would give, (hash, source rank, position), so the files do not depend on
    ``parts``. The price: every shard's hash file is read once per partition.
    """
    sizes, width = [], 1
    for f in files:
        with np.load(f) as z:
            sizes.append(z["hashes"].size)
            width = max(width, z["ids"].dtype.itemsize // 4)  # ids are written as one array of this width
    parts = max(1, -(-sum(sizes) // PARTITION_DOCS))
    spill.mkdir(parents=True, exist_ok=True)
    bounds: list[np.ndarray] = []  # per partition: where each shard's removed rows start in its files
    for part in range(parts):
        cols: dict[str, list[np.ndarray]] = {"hash": [], "rank": [], "shard": [], "position": [], "row": []}
        for i, f in enumerate(files):
            with np.load(f) as z:
                hashes = z["hashes"]
                rows = np.flatnonzero(hashes % np.uint64(parts) == part) if parts > 1 else np.arange(hashes.size)
                cols["hash"].append(hashes[rows])
                cols["rank"].append(priority_ranks(z["sources"][rows], priority))
                cols["shard"].append(np.full(rows.size, i, np.int64))
                cols["position"].append(z["positions"][rows])
                cols["row"].append(rows)
        hashes, rank, shard, position, row = (np.concatenate(cols[k]) for k in ("hash", "rank", "shard", "position", "row"))
        del cols
        removed, keeper = first_of_each(hashes, rank, shard, position)
        kept_id = np.empty(removed.size, dtype=f"<U{width}")
        for s in np.unique(shard[keeper]):
            with np.load(files[s]) as z:
                mine = shard[keeper] == s
                kept_id[mine] = z["ids"][row[keeper[mine]]]
        removed_shard = shard[removed]
        by_shard = np.argsort(removed_shard, kind="stable")
        bounds.append(np.searchsorted(removed_shard[by_shard], np.arange(len(files) + 1)))
        for name, column in (("hash", hashes[removed]), ("rank", rank[removed]), ("position", position[removed]),
                             ("kept", kept_id)):
            np.save(spill / f"{part}.{name}.npy", column[by_shard])
    # Each shard maps the partition files afresh and drops the maps with its slices copied: maps held for
    # the whole loop would end up with every spilled page resident, the growth this spill removes.
    for s in range(len(files)):
        columns = {name: [] for name in ("hash", "rank", "position", "kept")}
        for part, starts in enumerate(bounds):
            if starts[s] == starts[s + 1]:
                continue
            for name, chunks in columns.items():
                chunks.append(np.array(np.load(spill / f"{part}.{name}.npy", mmap_mode="r")[starts[s]:starts[s + 1]]))
        if columns["hash"]:
            h, r, pos, kept = (np.concatenate(columns[k]) for k in ("hash", "rank", "position", "kept"))
        else:
            h, r, pos, kept = np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, f"<U{width}")
        order = np.lexsort((pos, r, h))
        yield {"positions": pos[order], "kept": kept[order]}


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
            # The spilled partitions are scratch: a killed run redoes this step from the hash files, so a
            # spill it left behind is removed first.
            spill = state / SPILL_DIR
            shutil.rmtree(spill, ignore_errors=True)
            for shard, removed in zip(shards, removals(files, tuple(self.source_priority), spill), strict=True):
                write_removal_list(state, shard_name(shard), removed["positions"], removed["kept"])
            shutil.rmtree(spill, ignore_errors=True)

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
