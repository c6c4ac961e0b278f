"""Near dedup's clusters: one keeper per cluster and the per-shard ``.clusters.npz`` files, from confirmed
pairs kept on disk, with one component range in memory at a time.

Confirmed pairs are spilled as they are found (``ConfirmedPairs``). Union-find runs over the members
(documents of some confirmed pair) with an int32 parent array: the one structure that follows the
corpus's duplicates, ~20 B a member while it runs. Members are then spilled by the range of their
component's root with their length and priority, each range is read back (its components whole) to
choose keepers and make kept-id and cluster-id strings, the rows are spilled by member shard, and each
shard's file is written from its own rows. Ids are read from the ``docs.npz`` files by row (mapped), only
for keepers and for members tied with their cluster's best.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from corpus.dedup.pairs import append_by_part
from corpus.dedup.unionfind import UnionFind
from corpus.shards import atomic_path, temp_path

CLUSTER_ID_WIDTH = 16  # f"{id_hash(kept id):016x}"
EDGE_CHUNK = 1 << 16  # confirmed pairs read back per union-find batch: 1 MiB of rows, ~3 MiB of scratch
# Members per root range: a range file holds the members whose root is one of ROOT_RANGE consecutive
# members (so every component lies whole in one range; a single component larger than this is read whole).
# A member's root is at or before it, so a range holds about ROOT_RANGE members: 28 B each as read, ~80 B
# of keeper-choice scratch, and its cluster-file row with two id strings (~4 B a character, ~150 B at
# 20-character ids) and their temporaries: ~5 MiB at 1 << 14.
ROOT_RANGE = 1 << 14

_SCORE = np.dtype([("doc", "<i8"), ("similarity", "<f8")])
_MEMBER = np.dtype([("doc", "<i8"), ("root", "<i8"), ("length", "<i8"), ("priority", "<i4")])
_LOCAL = struct.Struct("<4s5H3L2H")  # a ZIP local file header: signature ... name length, extra length


def id_hash(doc_id: str) -> int:
    """64-bit BLAKE2b of a document id: the shard-order-free order of documents inside a bucket."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest(), "little")


def shard_of(offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The shard of each global document number (``offsets``: (shards + 1,) first number of each shard)."""
    return np.searchsorted(offsets, docs, side="right") - 1


def stored_member(path: Path, member: str) -> tuple[int, tuple[int, ...], np.dtype]:
    """(byte offset of the data, shape, dtype) of an uncompressed member of an ``np.savez`` file.

    The member's data starts after its local file header (PKZIP APPNOTE 4.3.7: 30 bytes, then the name
    and an extra field whose lengths are the header's last two uint16) and the ``.npy`` header.
    """
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{member}.npy")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{path}: {member}.npy is compressed; expected np.savez's stored members")
        with z.open(info) as f:
            version = np.lib.format.read_magic(f)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ValueError(f"{path}: {member}.npy has .npy format version {version}")
            shape, fortran, dtype = read_header(f)
            npy_header = f.tell()
        with open(path, "rb") as raw:
            raw.seek(info.header_offset)
            fields = _LOCAL.unpack(raw.read(_LOCAL.size))
    if fortran or dtype.hasobject:
        raise ValueError(f"{path}: {member}.npy is not a plain C-order array")
    return info.header_offset + _LOCAL.size + fields[-2] + fields[-1] + npy_header, shape, dtype


class _Ids:
    """Document ids read by row from each shard's ``docs.npz`` through a read-only map of its ``ids``
    member (located once per shard): indexing reads only the pages of the rows asked for, and nothing of
    the shard's ids is on the Python heap."""

    def __init__(self, files: Sequence[dict[str, Path]], offsets: np.ndarray) -> None:
        self.files, self.offsets = files, offsets
        self.where = [stored_member(f["docs"], "ids") for f in files]
        self.width = max([1] + [dtype.itemsize // 4 for _, _, dtype in self.where])  # the widest id

    def __call__(self, docs: np.ndarray) -> np.ndarray:
        """The ids of ``docs`` (global numbers, any order) as one unicode array."""
        shard = shard_of(self.offsets, docs)
        found: list[tuple[np.ndarray, np.ndarray]] = []
        for s in np.unique(shard).tolist():
            rows = np.flatnonzero(shard == s)
            start, shape, dtype = self.where[s]
            ids = np.memmap(self.files[s]["docs"], dtype=dtype, mode="r", offset=start, shape=shape)
            found.append((rows, np.asarray(ids[docs[rows] - self.offsets[s]])))
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


class ConfirmedPairs:
    """Confirmed pairs (a < b, global document numbers) appended as verification finds them, on disk.

    ``edges``: raw int64 (a, b) rows in the order added; ``scores``: one file per shard of (document,
    similarity) rows, one per end of each pair, so a shard's members and their best similarity come from
    its own file. Temporary names under ``state``, removed on exit (use as a context manager).
    """

    def __init__(self, state: Path, offsets: np.ndarray) -> None:
        self.offsets = offsets
        self.edges = temp_path(state / "confirmed-edges.bin")
        self.scores = [temp_path(state / f"confirmed-scores-{s}.bin") for s in range(offsets.size - 1)]

    def __enter__(self) -> ConfirmedPairs:
        return self

    def __exit__(self, *exc: object) -> None:
        for path in [self.edges, *self.scores]:
            path.unlink(missing_ok=True)

    def add(self, pairs: np.ndarray, similarity: np.ndarray) -> None:
        """Append (P, 2) pairs and their (P,) similarities."""
        if not pairs.shape[0]:
            return
        with open(self.edges, "ab") as f:
            np.ascontiguousarray(pairs, dtype="<i8").tofile(f)
        rows = np.empty(2 * pairs.shape[0], dtype=_SCORE)
        rows["doc"] = pairs.reshape(-1)  # a0, b0, a1, b1, ...
        rows["similarity"] = np.repeat(similarity, 2)
        append_by_part(rows, shard_of(self.offsets, rows["doc"]), self.scores)

    def shard_members(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(members of shard ``s`` ascending, the best similarity of each): one shard's rows in memory."""
        if not self.scores[s].exists():
            return np.empty(0, np.int64), np.empty(0, np.float64)
        rows = np.fromfile(self.scores[s], dtype=_SCORE)
        docs, inverse = np.unique(rows["doc"], return_inverse=True)
        best = np.zeros(docs.size, dtype=np.float64)
        np.maximum.at(best, inverse, rows["similarity"])
        return docs, best

    def edge_chunks(self) -> Iterator[np.ndarray]:
        """The pairs added, (<= EDGE_CHUNK, 2) int64 at a time."""
        if not self.edges.exists():
            return
        with open(self.edges, "rb") as f:
            while (chunk := np.fromfile(f, dtype="<i8", count=2 * EDGE_CHUNK)).size:
                yield chunk.reshape(-1, 2)


def write_clusters(confirmed: ConfirmedPairs, files: Sequence[dict[str, Path]], names: Sequence[str],
                   state: Path) -> Counter:
    """``<name>.clusters.npz`` of every shard (positions, kept, kept_id, cluster_id, size, similarity of
    its members), the bytes one ``choose_keepers`` over all members' id strings wrote before (test_clusters);
    returns the histogram of cluster sizes (size -> clusters of two or more).

    Memory: the members (int64) and their union-find parents (int32) while components are found, then one
    root range of members (``ROOT_RANGE``, components whole), then one shard's rows.
    """
    offsets = confirmed.offsets
    members = np.concatenate([confirmed.shard_members(s)[0] for s in range(len(names))])
    root = _components(members, confirmed)
    ids_of = _Ids(files, offsets)
    row = np.dtype([("doc", "<i8"), ("kept", "?"), ("size", "<i8"), ("kept_id", f"<U{ids_of.width}"),
                    ("cluster_id", f"<U{CLUSTER_ID_WIDTH}")])
    histogram: Counter = Counter()
    width = 1  # the kept-id width: the longest kept id of the corpus
    with _spill(state, "cluster-range", max(1, -(-members.size // ROOT_RANGE))) as ranges, \
            _spill(state, "cluster-rows", len(names)) as out:
        _spill_by_root(members, root, files, offsets, ranges)
        del members, root
        for path in ranges:
            if not path.exists():
                continue
            m = np.fromfile(path, dtype=_MEMBER)
            path.unlink()
            is_kept, keeper = choose_keepers(m["root"], m["length"], m["priority"],
                                             lambda rows: ids_of(m["doc"][rows]))  # noqa: B023
            local_root = np.searchsorted(m["doc"], m["root"])  # a root is a member (its cluster's smallest)
            size = np.bincount(local_root, minlength=m.size)[local_root].astype(np.int64)
            keepers = np.flatnonzero(is_kept)
            kept_ids, cluster_ids = cluster_strings(ids_of(m["doc"][keepers]).tolist())
            width = max(width, int(np.char.str_len(kept_ids).max()))
            histogram.update(size[keepers].tolist())
            rows = np.empty(m.size, dtype=row)
            rows["doc"], rows["kept"], rows["size"] = m["doc"], is_kept, size
            at = np.searchsorted(keepers, keeper)
            rows["kept_id"], rows["cluster_id"] = kept_ids[at], cluster_ids[at]
            append_by_part(rows, shard_of(offsets, m["doc"]), out)
        any_member = bool(histogram)  # (no cluster anywhere: both string columns are <U1)
        for s, name in enumerate(names):
            # Read again rather than kept from the first pass: the bests of every member would be 8 B a
            # member held through the whole step; this is one shard's score file.
            docs, best = confirmed.shard_members(s)
            rows = np.fromfile(out[s], dtype=row) if out[s].exists() else np.empty(0, dtype=row)
            rows = rows[np.argsort(rows["doc"])]
            if not np.array_equal(rows["doc"], docs):
                raise RuntimeError(f"near dedup: shard {name}'s cluster rows do not match its members")
            with atomic_path(state / f"{name}.clusters.npz") as tmp, open(tmp, "wb") as f:
                np.savez(f, positions=docs - offsets[s], kept=np.ascontiguousarray(rows["kept"]),
                         kept_id=rows["kept_id"].astype(f"<U{width}"),
                         cluster_id=rows["cluster_id"].astype(f"<U{CLUSTER_ID_WIDTH if any_member else 1}"),
                         size=np.ascontiguousarray(rows["size"]), similarity=best)
    return histogram


def _components(members: np.ndarray, confirmed: ConfirmedPairs) -> np.ndarray:
    """Each member's component root as a member index (the component's smallest member: compact numbers
    keep the order of document numbers), from the confirmed pairs read back ``EDGE_CHUNK`` at a time."""
    uf = UnionFind(members.size, dtype=np.int32 if members.size < 2**31 else np.int64)
    for chunk in confirmed.edge_chunks():
        local = np.searchsorted(members, chunk)
        uf.union(local[:, 0], local[:, 1])
    return uf.roots()


def _spill_by_root(members: np.ndarray, root: np.ndarray, files: Sequence[dict[str, Path]],
                   offsets: np.ndarray, ranges: Sequence[Path]) -> None:
    """Append each member's (document, root document, length, priority) to the file of its root's range,
    shard by shard (members ascend, so every range file ascends too: ``choose_keepers``'s member order)."""
    lo = np.searchsorted(members, offsets)  # each shard's members are one slice
    for s in np.flatnonzero(lo[1:] > lo[:-1]).tolist():
        part = slice(int(lo[s]), int(lo[s + 1]))
        rows = np.empty(part.stop - part.start, dtype=_MEMBER)
        rows["doc"], rows["root"] = members[part], members[root[part]]
        local = members[part] - offsets[s]
        with np.load(files[s]["docs"]) as z:  # one shard's lengths and priorities (12 B a document)
            rows["length"], rows["priority"] = z["length"][local], z["priority"][local]
        append_by_part(rows, root[part] // ROOT_RANGE, ranges)


@contextlib.contextmanager
def _spill(state: Path, prefix: str, parts: int) -> Iterator[list[Path]]:
    """Temporary spill files ``<prefix>-<part>.bin`` under ``state``, removed afterwards whatever happens."""
    paths = [temp_path(state / f"{prefix}-{p}.bin") for p in range(parts)]
    try:
        yield paths
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
