"""Near dedup's clusters: one keeper per cluster and the per-shard ``.clusters.npz`` files, in bounded memory.

What the driver holds for all members (documents in a cluster of two or more) is integer arrays only,
~45 B a member; id strings are read for the members whose keeper is tied on (priority, length), and the
kept-id and cluster-id strings of the files are made one keeper shard at a time and spilled to disk by
the shard of the member that needs them, then written one shard at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from corpus.dedup.pairs import append_by_part
from corpus.shards import atomic_path, temp_path

CLUSTER_ID_WIDTH = 16  # f"{id_hash(kept id):016x}"
ROW_CHUNK = 1 << 16  # members whose strings are made and spilled at once: ~8 MiB of rows at 20-char ids


def id_hash(doc_id: str) -> int:
    """64-bit BLAKE2b of a document id: the shard-order-free order of documents inside a bucket."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


def shard_of(offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The shard of each global document number (``offsets``: (shards + 1,) first number of each shard)."""
    return np.searchsorted(offsets, docs, side="right") - 1


def shard_ids(files: dict[str, Path]) -> np.ndarray:
    """One shard's document ids (``docs.npz``'s ``ids`` member alone, fixed-width unicode)."""
    with np.load(files["docs"]) as z:
        return z["ids"]


def member_ids(files: Sequence[dict[str, Path]], offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The ids of ``docs`` (global numbers, any order), one shard's ids read at a time, as one unicode array."""
    shard = shard_of(offsets, docs)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for s in np.unique(shard).tolist():
        rows = np.flatnonzero(shard == s)
        found.append((rows, shard_ids(files[s])[docs[rows] - offsets[s]]))
    width = max([1] + [ids.dtype.itemsize // 4 for _, ids in found])
    out = np.empty(docs.size, dtype=f"<U{width}")
    for rows, ids in found:
        out[rows] = ids
    return out


def choose_keepers(root: np.ndarray, length: np.ndarray, priority: np.ndarray,
                   ids_of: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Pick one document per cluster: ``(is_kept, keeper)``, (M,) bool and the member index of each
    member's keeper, for members given in ascending document order with their cluster ``root``.

    The keep rule is lowest source-priority rank, then longest text, then smallest id (numpy's unicode
    order), then first in document order: ``np.lexsort((ids, -length, priority, root))``'s first of each
    cluster. ``ids_of(members)`` (indices into the arrays) is called once, for the members tied with
    their cluster's best on (priority, length) in clusters where such a tie exists: usually few.
    """
    m = root.size
    ranked = np.lexsort((-length, priority, root))  # stable: equal keys stay in member order
    sorted_root = root[ranked]
    first = np.ones(m, dtype=bool)  # (not concatenate([True], ...): no members means no keepers)
    first[1:] = sorted_root[1:] != sorted_root[:-1]
    same = np.zeros(m, dtype=bool)  # same (root, priority, length) as the member ranked before
    same[1:] = (~first[1:] & (priority[ranked[1:]] == priority[ranked[:-1]])
                & (length[ranked[1:]] == length[ranked[:-1]]))
    at = np.arange(m)
    start = np.maximum.accumulate(np.where(first, at, 0))  # rank of each cluster's best
    tied = np.maximum.accumulate(np.where(same, 0, at)) == start  # no break since the best: tied with it
    group = np.cumsum(first) - 1  # cluster number, in ascending root order
    best = ranked[first]  # the keeper of each cluster so far, without ids
    contested = np.zeros(int(group[-1]) + 1 if m else 0, dtype=bool)
    contested[group[tied & ~first]] = True
    candidates = np.flatnonzero(tied & contested[group])  # ranks, members in document order per cluster
    if candidates.size:
        ids = ids_of(ranked[candidates])
        winner = candidates[np.lexsort((ids, group[candidates]))]  # stable: the first of equal ids wins
        won = np.ones(winner.size, dtype=bool)
        won[1:] = group[winner[1:]] != group[winner[:-1]]
        best[group[winner[won]]] = ranked[winner[won]]
    keeper = np.empty(m, dtype=np.int64)
    keeper[ranked] = best[group]
    is_kept = np.zeros(m, dtype=bool)
    is_kept[best] = True
    return is_kept, keeper


def cluster_strings(kept: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(kept ids, cluster ids) of clusters whose keepers' ids are ``kept``: unicode arrays of the widths
    the cluster files have always had (the longest kept id; 16 hex digits; ``<U1`` when empty)."""
    return np.array(kept, dtype=str), np.array([f"{id_hash(k):016x}" for k in kept], dtype=str)


@dataclasses.dataclass(frozen=True)
class Clusters:
    """Every document in a cluster of two or more, members in ascending document order: (M,) arrays."""

    offsets: np.ndarray  # (shards + 1,) int64, global number of each shard's first document
    members: np.ndarray  # int64 global document numbers
    best: np.ndarray  # float64, each member's best confirmed similarity
    size: np.ndarray  # int64, its cluster's size
    kept: np.ndarray  # bool
    keeper: np.ndarray  # int64, the member index of its cluster's keeper

    @property
    def n_docs(self) -> int:
        return int(self.offsets[-1])


def write_cluster_files(clusters: Clusters, files: Sequence[dict[str, Path]], names: Sequence[str],
                        state: Path) -> None:
    """``<name>.clusters.npz`` of every shard (positions, kept, kept_id, cluster_id, size, similarity of
    its members), the bytes one ``choose_keepers`` over all members' id strings wrote before.

    Kept and cluster ids go through spill files, one per member shard: each keeper shard's ids are read
    once for the widths (the kept-id width is the longest kept id of the corpus) and once to write the
    strings its clusters' members need; then each shard's rows are read back and written.
    """
    c = clusters
    mine = shard_of(c.offsets, c.members)  # (M,) each member's shard
    keeper_shard = mine[c.keeper]
    kept_shards = np.unique(mine[c.kept]).tolist()
    width = 1
    for t in kept_shards:
        local = c.members[c.kept & (mine == t)] - c.offsets[t]
        width = max(width, int(np.char.str_len(shard_ids(files[t])[local]).max()))
    row = np.dtype([("member", "<i8"), ("kept_id", f"<U{width}"),
                    ("cluster_id", f"<U{CLUSTER_ID_WIDTH if c.members.size else 1}")])
    with _spill(state, len(names)) as paths:
        order = np.argsort(keeper_shard, kind="stable")
        bounds = np.searchsorted(keeper_shard[order], np.arange(len(names) + 1))
        for t in kept_shards:
            keepers = np.flatnonzero(c.kept & (mine == t))  # ascending member indices
            kept_ids, cluster_ids = cluster_strings(shard_ids(files[t])[c.members[keepers] - c.offsets[t]].tolist())
            # the members whose keeper is in shard t, a chunk at a time (one cluster may span the corpus)
            for start in range(int(bounds[t]), int(bounds[t + 1]), ROW_CHUNK):
                users = order[start : min(start + ROW_CHUNK, int(bounds[t + 1]))]
                rows = np.empty(users.size, dtype=row)
                rows["member"] = users
                at = np.searchsorted(keepers, c.keeper[users])
                rows["kept_id"], rows["cluster_id"] = kept_ids[at], cluster_ids[at]
                append_by_part(rows, mine[users], paths)
        lo = np.searchsorted(c.members, c.offsets)  # each shard's members are one slice
        for s, name in enumerate(names):
            rows = np.fromfile(paths[s], dtype=row) if paths[s].exists() else np.empty(0, dtype=row)
            rows = rows[np.argsort(rows["member"])]  # each member once: the slice's order
            part = slice(int(lo[s]), int(lo[s + 1]))
            with atomic_path(state / f"{name}.clusters.npz") as tmp, open(tmp, "wb") as f:
                np.savez(f, positions=c.members[part] - c.offsets[s], kept=c.kept[part],
                         kept_id=np.ascontiguousarray(rows["kept_id"]),
                         cluster_id=np.ascontiguousarray(rows["cluster_id"]), size=c.size[part],
                         similarity=c.best[part])


@contextlib.contextmanager
def _spill(state: Path, shards: int) -> Iterator[list[Path]]:
    """Temporary per-shard row files under ``state``, removed afterwards whatever happens."""
    paths = [temp_path(state / f"cluster-rows-{s}.bin") for s in range(shards)]
    try:
        yield paths
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
