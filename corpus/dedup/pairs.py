"""Candidate pairs of near dedup, found band by band and kept on disk, read back one document range at a time.

Bands are split by ``key % parts`` (datatrove's MinhashDedup spills its buckets the same way); the pairs
each part yields are appended to spill files by the range of their first document and de-duplicated one
range at a time, so no array proportional to the corpus's candidate pairs is ever in memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from corpus.dedup.lsh import bucket_pairs
from corpus.shards import temp_path

# Live documents per band partition in memory: their records (24 B each), the bucket sort's order, keys
# and run numbers, and the part's pairs (up to BUCKET_WINDOW + 1 a document): ~17 MiB RSS at 1 << 17.
# At 1 << 18 this was the near decision's peak once pair ranges were bounded (27-30 MiB above the start on
# scale.py's 5 GB corpus, 17 at 1 << 17, same CPU: RESULTS.md, mem8).
PARTITION_DOCS = 1 << 17
# First documents per pair range. A document is paired with at most BUCKET_WINDOW + 1 others per band and
# few pairs survive more than a few bands: at 1 GB (~1M documents, 10% copies) a range of 65,536 held
# ~150k distinct pairs, ~2.4 MiB, and its raw pairs (one row per band that found it) a few times that.
PAIR_PART_DOCS = 1 << 16
# Raw pair rows (16 B each) read back at once. Candidate pairs are not bounded per document: on the scale
# benchmark's corpus (12 lines from a pool of 2,099 sample lines per document) unrelated documents that
# share their longest lines collide, and pairs per document rose from 0.41 at 0.25 GB to 1.16 at 1 GB,
# most of them in the first ranges (a range's first documents pair with the whole corpus after them).
# A range file above this is split by first document into smaller ranges before it is read (and the split
# reads it this many rows at a time), so what a range costs is bounded in bytes whatever the corpus: raw
# rows 16 B + ~17 B of key and mask each while they are de-duplicated (``unique_pairs``), ~48 B a row
# while a file is split, then ~50 B a distinct pair while they are verified: ~6 MiB at 1 << 17. The cap
# was 1 << 19 (~25 MiB): on scale.py's corpus the first ranges' pairs grow with the corpus and reached
# it between 2 and 5 GB, which was the near decision's growth there (RESULTS.md, mem8). One document
# with more pairs than this (the first member of a huge bucket) is still read whole.
PAIR_READ_ROWS = 1 << 17

_BAND_RECORD = np.dtype([("key", "<u8"), ("order", "<u8"), ("doc", "<i8")])


def shard_docs(files: dict[str, Path], *keys: str) -> dict[str, np.ndarray]:
    """Members ``keys`` of one shard's document facts (``docs.npz``): one shard's worth, never the corpus's
    (and not its id strings, ~4 B a character a document, unless asked for)."""
    with np.load(files["docs"]) as z:
        return {key: z[key] for key in keys}


class PairSpill:
    """Candidate pairs (a < b, global document numbers) appended in any order and duplicates, read back
    unique and ascending one range of ``a`` (``PAIR_PART_DOCS`` documents) at a time.

    Files are ``pairs-<range>.bin`` under ``state`` (raw little-endian int64 rows, temporary names, removed
    when read or on close). With ``track``, a bitmap marks every document of some pair (1 bit a document):
    what the exact verification needs to know which documents to re-shingle before any range is read
    (``involved``).
    """

    def __init__(self, state: Path, n_docs: int, *, part_docs: int, track: bool = False) -> None:
        self.state, self.n_docs, self.width = state, n_docs, part_docs
        self.paths = [temp_path(state / f"pairs-{p}.bin") for p in range(max(1, -(-n_docs // part_docs)))]
        self.splits: list[Path] = []  # files of ranges split when read (PAIR_READ_ROWS)
        self.marks = np.zeros(-(-n_docs // 8), dtype=np.uint8) if track else None  # bit d % 8 of byte d // 8

    def __enter__(self) -> PairSpill:
        return self

    def __exit__(self, *exc: object) -> None:
        for path in [*self.paths, *self.splits]:
            path.unlink(missing_ok=True)

    def add(self, pairs: np.ndarray) -> None:
        """Append (P, 2) int64 pairs, each to the file of its first document's range."""
        if pairs.shape[0] == 0:
            return
        if self.marks is not None:
            docs = pairs.reshape(-1)
            np.bitwise_or.at(self.marks, docs >> 3, np.left_shift(1, docs & 7).astype(np.uint8))
        append_by_part(np.ascontiguousarray(pairs, dtype="<i8"), pairs[:, 0] // self.width, self.paths)

    def involved(self, lo: int, hi: int) -> np.ndarray:
        """The documents ``lo .. hi - 1`` that are in some pair added, as ascending int64 offsets from ``lo``."""
        if self.marks is None:
            raise RuntimeError("PairSpill(track=False) does not record the documents in pairs")
        bits = np.unpackbits(self.marks[lo >> 3 : (hi + 7) >> 3], bitorder="little")
        return np.flatnonzero(bits[lo & 7 : (lo & 7) + hi - lo]).astype(np.int64)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each range's distinct pairs, (P, 2) int64 in ascending (a, b) order; ranges in ascending order,
        so the concatenation is ``np.unique`` of everything added."""
        for p, path in enumerate(self.paths):
            yield from self._read(path, p * self.width, self.width)

    def _read(self, path: Path, first: int, width: int) -> Iterator[np.ndarray]:
        """The distinct pairs of the range ``first .. first + width`` (its file ``path``), split into
        sub-ranges by first document, in order, when the file holds more than PAIR_READ_ROWS rows."""
        if not path.exists():
            return
        rows = path.stat().st_size // 16
        if rows <= PAIR_READ_ROWS or width == 1:
            pairs = unique_pairs(np.fromfile(path, dtype="<i8").reshape(-1, 2), self.n_docs)
            path.unlink()
            # (The raw rows are not bound to a name: held across the yield, they would be 16 B a raw row
            # alive while the caller verifies the range.)
            yield pairs
            return
        subs = min(width, max(2, -(-rows // PAIR_READ_ROWS)))
        sub_width = -(-width // subs)
        paths = [temp_path(self.state / f"pairs-{first}-{first + k * sub_width}.bin") for k in range(subs)]
        self.splits.extend(paths)
        with open(path, "rb") as f:  # one PAIR_READ_ROWS chunk of the big file at a time
            while (chunk := np.fromfile(f, dtype="<i8", count=2 * PAIR_READ_ROWS)).size:
                pairs = chunk.reshape(-1, 2)
                append_by_part(pairs, (pairs[:, 0] - first) // sub_width, paths)
        path.unlink()
        for k, sub in enumerate(paths):
            yield from self._read(sub, first + k * sub_width, min(sub_width, width - k * sub_width))


def append_by_part(rows: np.ndarray, part: np.ndarray, paths: Sequence[Path]) -> None:
    """Append each of ``rows`` (any dtype, written raw) to ``paths[part[row]]``; rows keep their order
    within a file. The spill files of candidate pairs and of near dedup's cluster rows."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(len(paths) + 1))
    for p in np.flatnonzero(bounds[1:] > bounds[:-1]).tolist():
        with open(paths[p], "ab") as f:
            rows[order[bounds[p] : bounds[p + 1]]].tofile(f)


def unique_pairs(pairs: np.ndarray, n_docs: int) -> np.ndarray:
    """``np.unique(pairs, axis=0)``, through one int64 key a * n + b (a 1-D sort, several times faster)
    when n * n fits in an int64, as it does below 3 billion documents.

    Memory beside ``pairs`` (R rows): the key (8 B a row), sorted in place (``np.unique`` sorts a copy),
    a 1 B mask, then the distinct keys and the (P, 2) result: ~9 B a raw row, then 24 B a distinct pair.
    """
    if n_docs >= 3_000_000_000:
        return np.unique(pairs, axis=0)
    key = pairs[:, 0] * np.int64(n_docs)
    key += pairs[:, 1]
    key.sort()
    first = np.empty(key.size, dtype=bool)
    first[:1] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    key = key[first]
    del first
    out = np.empty((key.size, 2), dtype=np.int64)
    np.floor_divide(key, n_docs, out=out[:, 0])
    np.remainder(key, n_docs, out=out[:, 1])
    return out


def candidate_pairs(files: Sequence[dict[str, Path]], offsets: np.ndarray, bands: int, state: Path, *,
                    track: bool = False) -> PairSpill:
    """Every pair of documents (global numbers, i < j) that share a bucket in some band, spilled to disk
    (a ``PairSpill``, to be used as a context manager), holding at most one partition of one band.

    A band's (key, order key, document) records are split by ``key % parts`` (a bucket's members share
    the key, so every bucket lies whole in one part), with ``parts`` chosen so a part holds about
    PARTITION_DOCS documents; more than one part is spilled to files under ``state`` and read back one
    at a time. Records keep ascending document order within a part, and ``bucket_pairs`` breaks ties by
    position, so the pairs equal those of one sort over all documents. Memory: ~24 B per document of a
    part plus its sort scratch and its pairs, and with ``track`` the spill's bitmap of documents in pairs.
    """
    spill = PairSpill(state, int(offsets[-1]), part_docs=PAIR_PART_DOCS, track=track)
    live_docs = sum(int(np.count_nonzero(~shard_docs(f, "empty")["empty"])) for f in files)
    parts = max(1, -(-live_docs // PARTITION_DOCS))
    if live_docs == 0:
        return spill
    try:
        for band in range(bands):
            for records in _band_parts(files, offsets, band, parts, state):
                spill.add(records["doc"][bucket_pairs(records["key"], records["order"])])
    except BaseException:
        spill.__exit__()
        raise
    return spill


def _band_parts(files: Sequence[dict[str, Path]], offsets: np.ndarray, band: int, parts: int,
                state: Path) -> Iterator[np.ndarray]:
    """The (key, order, doc) records of live documents in ``band``, one part (``key % parts``) at a time."""

    def shard_records(s: int) -> np.ndarray:
        docs = shard_docs(files[s], "empty", "id_hash")
        live = np.flatnonzero(~docs["empty"])  # documents without shingles never match anything
        keys = np.load(files[s]["bands"], mmap_mode="r")
        records = np.empty(live.size, dtype=_BAND_RECORD)
        records["key"] = keys[band][live]  # one band row; the map is dropped when this returns
        records["order"] = docs["id_hash"][live]
        records["doc"] = live + offsets[s]
        return records

    if parts == 1:
        yield np.concatenate([shard_records(s) for s in range(len(files))])
        return
    paths = [temp_path(state / f"band-{band}-part-{p}.bin") for p in range(parts)]
    try:
        with contextlib.ExitStack() as stack:
            outs = [stack.enter_context(open(path, "wb")) for path in paths]
            for s in range(len(files)):
                records = shard_records(s)
                part = (records["key"] % np.uint64(parts)).astype(np.int64)
                order = np.argsort(part, kind="stable")  # stable: ascending documents within each part
                bounds = np.searchsorted(part[order], np.arange(parts + 1))
                for p in range(parts):
                    records[order[bounds[p] : bounds[p + 1]]].tofile(outs[p])
        for path in paths:
            yield np.fromfile(path, dtype=_BAND_RECORD)
            path.unlink()
    finally:
        for path in paths:
            path.unlink(missing_ok=True)
