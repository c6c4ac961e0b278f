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
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from corpus.records import reject, rejection
from corpus.runner import internal, parallel_map
from corpus.shards import atomic_path, read_docs, shard_name

EXACT_DUPLICATE = "exact_duplicate"
STATE_DIR = "_dedup-exact"
PARTITION_DOCS = 1 << 18  # documents whose hashes are sorted at once: ~110 B each with sort scratch, ~30 MiB

_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """NFKC, lower case, and all whitespace runs folded to one space: what 'the same text' means here."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


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


def removals(files: list[Path], priority: tuple[str, ...]) -> list[dict[str, np.ndarray]]:
    """Per shard (files from :func:`hash_shard`), the ``positions`` to remove and the id ``kept`` for each.

    The keeper of a hash is the first of its documents by (source rank, shard, position). Hashes are
    sorted one partition (``hash % parts``, about PARTITION_DOCS documents) at a time: all copies of a
    text share its hash, hence a partition, so memory is one partition's columns and sort scratch (~110 B
    a document), one shard's arrays and the removed documents, never the whole corpus. Each shard's
    removals are in the order one sort of everything would give, (hash, source rank, position), so the
    files do not depend on ``parts``. The price: every shard's hash file is read once per partition.
    """
    sizes, width = [], 1
    for f in files:
        with np.load(f) as z:
            sizes.append(z["hashes"].size)
            width = max(width, z["ids"].dtype.itemsize // 4)  # ids are written as one array of this width
    parts = max(1, -(-sum(sizes) // PARTITION_DOCS))
    found: list[list[tuple[np.ndarray, ...]]] = [[] for _ in files]
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
        # Sort by hash, then source rank, shard, position: the first row of each hash run is the keeper.
        order = np.lexsort((position, shard, rank, hashes))
        first = np.ones(order.size, dtype=bool)
        first[1:] = hashes[order][1:] != hashes[order][:-1]
        keeper = order[np.maximum.accumulate(np.where(first, np.arange(order.size), 0))][~first]
        removed = order[~first]
        kept_id = np.empty(removed.size, dtype=f"<U{width}")
        for s in np.unique(shard[keeper]):
            with np.load(files[s]) as z:
                mine = shard[keeper] == s
                kept_id[mine] = z["ids"][row[keeper[mine]]]
        for s in np.unique(shard[removed]):
            mine = shard[removed] == s
            found[s].append((hashes[removed[mine]], rank[removed[mine]], position[removed[mine]], kept_id[mine]))
    out = []
    for parts_of_shard in found:
        h, r, pos, kept = (np.concatenate([x[k] for x in parts_of_shard]) if parts_of_shard else empty
                           for k, empty in enumerate((np.empty(0, np.uint64), np.empty(0, np.int64),
                                                      np.empty(0, np.int64), np.empty(0, f"<U{width}"))))
        order = np.lexsort((pos, r, h))
        out.append({"positions": pos[order], "kept": kept[order]})
    return out


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
        for shard, removed in zip(shards, removals(files, self.source_priority), strict=True):
            _save_npz(state / f"{shard_name(shard)}.removed.npz", **removed)
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
