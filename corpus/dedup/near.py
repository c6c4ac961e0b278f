"""The ``dedup`` stage: near-duplicate removal with MinHash LSH, a global step in the dedup-exact pattern.

(1) ``prepare`` writes per shard signatures (``.sig.npy``, (n, k) uint32), band keys (``.bands.npy``,
(b, n) uint64) and document facts under ``OUTPUT/_dedup/<params>/``, in parallel, reused on rerun;
(2) candidates from sorted band keys (``corpus.dedup.pairs``: spilled to disk, read back one range of
documents at a time) are verified (exact shingle Jaccard by default: the documents in candidate pairs are
re-shingled per shard and compared shard pair by shard pair, each set read from disk when a pair needs
it; or the signature estimate), union-find over the confirmed pairs (spilled to disk) makes clusters, one document per
cluster is kept (source priority, then length, then id) and the cluster files are written shard by shard
(``corpus.dedup.clusters``); (3) the per-shard pass rejects the others (``minhash_duplicate``) or only
marks them.
(1)-(2) are ``corpus.globalstep.global_step``; the Ray engine runs (2) as tasks with ``similarity``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import shutil
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import orjson

from corpus.contract import ShardMap
from corpus.dedup.clusters import ConfirmedPairs, id_hash, stored_member, write_clusters
from corpus.dedup.lsh import LSHSettings, band_keys
from corpus.dedup.minhash import MinHasher
from corpus.dedup.pairs import PairSpill, candidate_pairs
from corpus.dedup.shingle import DEFAULT_CJK_NGRAM, DEFAULT_WORD_NGRAM, hash_shingles
from corpus.globalstep import CountThenFilter, global_step, valid_docs
from corpus.records import reject
from corpus.shards import atomic_path, shard_name, temp_path, write_bytes_atomic

MINHASH_DUPLICATE = "minhash_duplicate"
STATE_DIR = "_dedup"
BATCH_DOCS = 512  # documents shingled and signed per numpy batch (bounded scratch memory per worker)
# Candidate pairs estimated per chunk (verify=False): both ends' signatures, 2 x 8,192 x 128 x 4 B = 8 MiB, and
# their comparison (1 MiB). It was 1 << 18 (256 MiB), reached once a pair range held that many pairs.
PAIR_CHUNK = 1 << 13


def _save(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, array)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SignatureJob:
    """Everything a worker needs to sign one shard (picklable; the fields fix the state directory)."""

    hasher: MinHasher
    lsh: LSHSettings
    ngram: int
    word_ngram: int
    source_priority: tuple[str, ...]
    state: Path
    force: bool

    def files(self, shard: Path) -> dict[str, Path]:
        """The files of one shard; ``docs`` is written last and marks the shard complete."""
        stem = shard_name(shard)
        names = {"sig": "sig.npy", "bands": "bands.npy", "docs": "docs.npz"}
        files = {key: self.state / f"{stem}.{suffix}" for key, suffix in names.items()}
        files["source"] = shard  # read again when candidates are verified exactly
        return files

    def __call__(self, shard: Path) -> dict[str, Path]:
        files = self.files(shard)
        if not self.force and all(p.exists() for p in files.values()):
            return files
        valid = valid_docs(shard)  # positions: the per-shard pass's (corpus.globalstep)
        sigs, set_lengths = [], []
        ids: list[str] = []
        lengths: list[int] = []
        priority: list[int] = []
        batch: list[str] = []
        rank = {source: i for i, source in enumerate(self.source_priority)}

        def flush() -> None:
            shingles = hash_shingles(batch, ngram_cjk=self.ngram, ngram_words=self.word_ngram)
            sigs.append(self.hasher.signatures(shingles))
            set_lengths.extend(shingles.lengths.tolist())
            batch.clear()

        for doc in valid:
            text = doc.get("text") or ""
            batch.append(text)
            ids.append(str(doc["id"]))
            lengths.append(len(text))
            priority.append(rank.get(doc.get("source"), len(rank)))
            if len(batch) >= BATCH_DOCS:
                flush()
        if batch or not sigs:
            flush()
        sig = np.concatenate(sigs)
        _save(files["sig"], sig)
        _save(files["bands"], band_keys(sig, self.lsh.bands, self.lsh.rows))
        _save_npz(
            files["docs"],
            ids=np.asarray(ids, dtype=str),
            id_hash=np.fromiter((id_hash(i) for i in ids), dtype=np.uint64, count=len(ids)),
            length=np.asarray(lengths, dtype=np.int64),
            priority=np.asarray(priority, dtype=np.int32),
            empty=np.asarray(set_lengths, dtype=np.int64) == 0,
        )
        return files


def _gather_rows(arrays: Sequence[np.ndarray], offsets: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Rows ``index`` (global document numbers) of per-shard arrays that together stack to (D, ...)."""
    out = np.empty((index.size, *arrays[0].shape[1:]), dtype=arrays[0].dtype)
    shard = np.searchsorted(offsets, index, side="right") - 1
    for s in np.unique(shard):
        mask = shard == s
        out[mask] = arrays[s][index[mask] - offsets[s]]
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShingleSetJob:
    """Re-shingles the documents of one shard that occur in candidate pairs (positions listed in
    ``<shard>.want.npy``) and writes their sorted unique shingle sets to ``<shard>.sets.npz`` (CSR)."""

    ngram: int
    word_ngram: int
    state: Path
    force: bool

    def __call__(self, shard: Path) -> Path:
        stem = shard_name(shard)
        out = self.state / f"{stem}.sets.npz"
        want = np.load(self.state / f"{stem}.want.npy")
        if not self.force and out.exists():
            with np.load(out) as done:
                if np.array_equal(done["positions"], want):  # same candidates as the run that wrote it
                    return out
        write_candidate_sets(shard, want, out, ngram=self.ngram, word_ngram=self.word_ngram)
        return out


def _candidate_batches(shard: Path, positions: np.ndarray, *, ngram: int, word_ngram: int
                       ) -> Iterator[list[np.ndarray]]:
    """Sorted unique shingle hashes of the valid documents of ``shard`` at ``positions`` (ascending),
    ``BATCH_DOCS`` documents at a time (texts are read and shingled a batch at a time)."""
    wanted = set(positions.tolist())
    texts: list[str] = []
    for position, doc in enumerate(valid_docs(shard)):
        if position in wanted:
            texts.append(doc.get("text") or "")
            if len(texts) == BATCH_DOCS:
                yield _unique_sets(texts, ngram=ngram, word_ngram=word_ngram)
                texts = []
    if texts:
        yield _unique_sets(texts, ngram=ngram, word_ngram=word_ngram)


def _unique_sets(texts: list[str], *, ngram: int, word_ngram: int) -> list[np.ndarray]:
    batch = hash_shingles(texts, ngram_cjk=ngram, ngram_words=word_ngram)
    return [np.unique(batch.doc(d)) for d in range(batch.lengths.size)]


def write_candidate_sets(shard: Path, positions: np.ndarray, out: Path, *, ngram: int, word_ngram: int) -> None:
    """``out`` = ``np.savez(positions=, hashes=, offsets=)`` of ``candidate_sets``, byte for byte, with the
    hashes streamed through a temporary file: a worker holds one batch's texts and sets, not the shard's
    (its candidate documents are a share of the shard that grows with the corpus, see ``_ShingleSets``)."""
    sizes: list[int] = []
    dtype = np.dtype(np.uint32)  # what an empty shard's sets are
    with atomic_path(out) as tmp:
        flat = temp_path(out.with_name(out.name + ".hashes"))  # a temporary a rerun knows to remove
        try:
            with open(flat, "wb") as f:
                for i, sets in enumerate(_candidate_batches(shard, positions, ngram=ngram, word_ngram=word_ngram)):
                    dtype = sets[0].dtype if i == 0 else dtype  # np.concatenate's dtype: all sets share it
                    for one in sets:
                        f.write(one.astype(dtype, copy=False).tobytes())
                        sizes.append(one.size)
            offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
            np.cumsum(sizes, out=offsets[1:])
            # np.savez's own layout: a ZIP_STORED member per array, zip64 forced, each written by format
            with zipfile.ZipFile(tmp, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
                with z.open("positions.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.asanyarray(positions))
                with z.open("hashes.npy", "w", force_zip64=True) as member, open(flat, "rb") as src:
                    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
                              "shape": (int(offsets[-1]),)}
                    np.lib.format.write_array_header_1_0(member, header)  # write_array's choice too
                    shutil.copyfileobj(src, member, length=1 << 22)
                with z.open("offsets.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, offsets)
        finally:
            flat.unlink(missing_ok=True)


def candidate_sets(shard: Path, positions: np.ndarray, *, ngram: int, word_ngram: int) -> _ShingleSets:
    """Sorted unique shingle hashes of the valid documents of ``shard`` at ``positions`` (ascending), in
    memory (the Ray reducers' on-demand sets; the local pass writes them with ``write_candidate_sets``)."""
    sets = [one for batch in _candidate_batches(shard, positions, ngram=ngram, word_ngram=word_ngram)
            for one in batch]
    offsets = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([s.size for s in sets], out=offsets[1:])
    flat = np.concatenate(sets) if sets else np.empty(0, np.uint32)
    return _ShingleSets(positions, offsets, flat)


class _ShingleSets:
    """Shingle sets of some documents of one shard in CSR form, looked up by position in the shard.

    ``hashes`` is the flat array in memory, or (``load``) a ``_StoredArray`` of a ``.sets.npz`` read one
    set at a time: the exact pass then holds one pair's sets, not two shards' (a shard's sets are ~2 KB a
    candidate document, and the share of documents in some candidate pair grows with the corpus: 26% of
    a 0.25 GB scale run's, 35% of a 1 GB run's).
    """

    def __init__(self, positions: np.ndarray, offsets: np.ndarray, hashes: np.ndarray | _StoredArray) -> None:
        self.positions, self.offsets, self.hashes = positions, offsets, hashes

    @classmethod
    def load(cls, path: Path) -> _ShingleSets:
        with np.load(path) as z:  # (m,) and (m + 1,) int64: 16 B a candidate document of the shard
            positions, offsets = z["positions"], z["offsets"]
        return cls(positions, offsets, _StoredArray(path, "hashes.npy"))

    def get(self, position: int) -> np.ndarray:
        i = int(np.searchsorted(self.positions, position))
        return self.hashes[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def close(self) -> None:
        if isinstance(self.hashes, _StoredArray):
            self.hashes.close()


class _StoredArray:
    """A 1-D array stored uncompressed in a ``.npz`` (``np.savez`` writes members ``ZIP_STORED``), sliced
    with ``pread``: nothing is mapped or kept, so a slice costs its own bytes of memory only.

    Where the member's data starts: ``corpus.dedup.clusters.stored_member``.
    """

    def __init__(self, path: Path, member: str) -> None:
        self.start, shape, self.dtype = stored_member(path, member.removesuffix(".npy"))
        if len(shape) != 1:
            raise ValueError(f"{path}: {member} is not a flat array")
        self.file = open(path, "rb")  # noqa: SIM115 (closed by close(), when the pass is done with it)

    def __getitem__(self, rows: slice) -> np.ndarray:
        data = os.pread(self.file.fileno(), (rows.stop - rows.start) * self.dtype.itemsize,
                        self.start + rows.start * self.dtype.itemsize)
        return np.frombuffer(data, dtype=self.dtype)

    def close(self) -> None:
        self.file.close()


def exact_jaccard_streamed(
    load: Callable[[int], _ShingleSets], n_shards: int, offsets: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """True Jaccard of every pair (global document numbers), holding at most two shards' sets in memory.

    Pairs are visited grouped by (shard of the first, shard of the second document), the first shard
    in the outer order, so ``load(shard)`` runs once per shard as "first" and once per group as "second".
    Memory beside ``pairs`` (16 B a pair) and the result (8 B): the group key, its stable order and the
    sorted key, 8 B a pair each (the (P, 2) shard array and lexsort this replaced held 40 B: RESULTS.md, mem8).
    """
    out = np.empty(pairs.shape[0], dtype=np.float64)
    if pairs.shape[0] == 0:
        return out
    group = np.searchsorted(offsets, pairs[:, 0], side="right")  # shard of the first document, plus one
    group -= 1
    group *= n_shards
    second = np.searchsorted(offsets, pairs[:, 1], side="right")
    group += second
    group -= 1
    del second
    order = np.argsort(group, kind="stable")  # = lexsort((second shard, first shard)): same group order
    group = group[order]
    bounds = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1], [True])))
    opened: dict[int, _ShingleSets] = {}  # the first shard's sets and, when it differs, the second's
    try:
        for lo, hi in itertools.pairwise(bounds.tolist()):
            su, sv = divmod(int(group[lo]), n_shards)
            for s in [s for s in opened if s not in (su, sv)]:
                opened.pop(s).close()  # before the next is opened: two shards at most
            first = opened.get(su) or opened.setdefault(su, load(su))
            second = opened.get(sv) or opened.setdefault(sv, load(sv))
            for p in order[lo:hi].tolist():
                a = first.get(int(pairs[p, 0] - offsets[su]))
                b = second.get(int(pairs[p, 1] - offsets[sv]))
                inter = np.intersect1d(a, b, assume_unique=True).size
                union = a.size + b.size - inter
                out[p] = inter / union if union else 1.0
    finally:
        for sets in opened.values():
            sets.close()
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class NearDedupStep(CountThenFilter):
    """Remove near-duplicates: Jaccard of shingle sets >= ``threshold``, estimated with MinHash LSH.

    ``ngram``: CJK character n-gram size; ``word_ngram``: word n-gram size for other scripts.
    ``minhash``: ``fast`` (one-permutation hashing, default) or ``classic`` (datasketch-identical).
    ``bands``/``rows``: override the derived banding (see ``LSHSettings``). ``verify`` (default on):
    confirm candidates with the exact Jaccard of their shingle sets; off, with the signature estimate
    (faster, precision/recall ~0.93 at 0.8 on benchmarks/dedup_accuracy.py, see docs/dedup.md).
    ``annotate``: mark duplicates in ``meta["minhash"]`` instead of rejecting them.
    ``source_priority``: sources listed first are kept first within a cluster.
    """

    name: ClassVar[str] = "dedup"
    threshold: float = 0.8
    num_perm: int = 128
    ngram: int = DEFAULT_CJK_NGRAM
    word_ngram: int = DEFAULT_WORD_NGRAM
    bands: int | None = None
    rows: int | None = None
    minhash: Literal["fast", "classic"] = "fast"
    seed: int = 1
    # Exact verification by default: with the estimate P/R were 0.93/0.95, exact 1.00/0.99 (docs/dedup.md).
    verify: bool = True
    annotate: bool = False
    source_priority: tuple[str, ...] = ()  # a list from YAML is kept as given: both fingerprint alike

    def __post_init__(self) -> None:
        self.settings()  # validate early: a bad option is a setup error, not a shard failure

    def settings(self) -> tuple[MinHasher, LSHSettings]:
        """The MinHash and LSH settings these options describe."""
        hasher = MinHasher(num_perm=self.num_perm, seed=self.seed, mode=self.minhash)  # checked first: cheap
        return hasher, LSHSettings.derive(threshold=self.threshold, num_perm=self.num_perm, bands=self.bands,
                                          rows=self.rows)

    def prepare(self, shards: list[Path], output: Path, *, each: ShardMap, force: bool):
        """Sign every shard (``each``, resumable), cluster globally, write per-shard removal lists."""
        job = self.signature_job(output, force=force)

        def decide(files: list[dict[str, Path]]) -> None:
            histogram, n_docs = self.cluster(shards, files, job, each=each)
            self.write_cluster_histogram(output, histogram, n_docs)

        return global_step(self, shards, state=job.state, each=each, count=job, decide=decide,
                           desc="minhash signatures")

    def signature_job(self, output: Path, *, force: bool) -> SignatureJob:
        """The per-shard signing job, with its state directory under ``output`` created."""
        hasher, lsh = self.settings()
        # Signature files depend on these parameters only; a new combination gets its own directory.
        priority = tuple(self.source_priority)
        key = orjson.dumps([hasher.mode, hasher.num_perm, hasher.seed, self.ngram, self.word_ngram,
                            lsh.bands, lsh.rows, list(priority)])
        state = output / STATE_DIR / hashlib.blake2b(key, digest_size=6).hexdigest()
        state.mkdir(parents=True, exist_ok=True)
        return SignatureJob(hasher=hasher, lsh=lsh, ngram=self.ngram, word_ngram=self.word_ngram,
                            source_priority=priority, state=state, force=force)

    def write_cluster_stats(self, output: Path, clusters: Sequence[dict[str, np.ndarray]], n_docs: int) -> None:
        """``_stats/_dedup-clusters.json``: the banding and the histogram of cluster sizes."""
        histogram: Counter = Counter()
        for part in clusters:
            histogram.update(part["size"][part["kept"]].tolist())
        self.write_cluster_histogram(output, histogram, n_docs)

    def write_cluster_histogram(self, output: Path, histogram: Counter, n_docs: int) -> None:
        """``write_cluster_stats`` from the histogram (size -> clusters) of the clusters of two or more."""
        _, lsh = self.settings()
        histogram = Counter(histogram)
        histogram[1] = n_docs - sum(size * count for size, count in histogram.items())
        stats = {"threshold": self.threshold, "bands": lsh.bands, "rows": lsh.rows, "documents": n_docs,
                 "cluster_size_histogram": {str(k): v for k, v in sorted(histogram.items())}}
        write_bytes_atomic(output / "_stats" / "_dedup-clusters.json",
                           orjson.dumps(stats, option=orjson.OPT_INDENT_2))

    def cluster(
        self, shards: list[Path], files: list[dict[str, Path]], job: SignatureJob, *, each: ShardMap
    ) -> tuple[Counter, int]:
        """Find, verify and cluster the candidates and write every shard's ``.clusters.npz``; returns the
        histogram of cluster sizes (two or more) and the number of documents."""
        counts = np.array([stored_member(f["docs"], "length")[1][0] for f in files], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(counts)))
        with ConfirmedPairs(job.state, offsets) as confirmed:
            with candidate_pairs(files, offsets, job.lsh.bands, job.state, track=self.verify) as spill:
                if self.verify:
                    sets = self._shingle_sets(shards, job, offsets, spill, each=each)
                for pairs in spill:  # one range of first documents at a time: all that follows the candidates
                    if self.verify:
                        similarity = exact_jaccard_streamed(sets, len(files), offsets, pairs)
                    else:
                        similarity = self._estimate(files, offsets, pairs)
                    ok = similarity >= self.threshold
                    confirmed.add(pairs[ok], similarity[ok])  # to disk: clusters are made from the files
                    # Unbound before the next range is read, or this range's arrays (25 B a pair) are
                    # held beside the next one's while it is read and de-duplicated.
                    del pairs, similarity, ok
            histogram = write_clusters(confirmed, files, [shard_name(s) for s in shards], job.state)
        return histogram, int(offsets[-1])

    def _shingle_sets(
        self, shards: list[Path], job: SignatureJob, offsets: np.ndarray, spill: PairSpill, *, each: ShardMap,
    ) -> Callable[[int], _ShingleSets]:
        """Re-shingle the documents of candidate pairs (``spill.involved``), per shard in parallel;
        returns the loader of a shard's sets for ``exact_jaccard_streamed``."""
        for i, shard in enumerate(shards):
            _save(job.state / f"{shard_name(shard)}.want.npy", spill.involved(int(offsets[i]), int(offsets[i + 1])))
        set_job = ShingleSetJob(ngram=self.ngram, word_ngram=self.word_ngram, state=job.state, force=job.force)
        set_files = each(set_job, shards, desc="candidate shingle sets")
        return lambda i: _ShingleSets.load(set_files[i])

    def similarity(self, files: list[dict[str, Path]], offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Jaccard of candidate pairs in one process (the Ray engine's reducers call this): exact with
        ``verify``, re-shingling each involved shard's candidate documents on demand; else the estimate.
        Returns the same numbers as the local path (``exact_jaccard_streamed`` over ``_shingle_sets``, or ``_estimate``)."""
        if not self.verify:
            return self._estimate(files, offsets, pairs)
        members = np.unique(pairs)

        def load(i: int) -> _ShingleSets:
            mine = members[(members >= offsets[i]) & (members < offsets[i + 1])] - offsets[i]
            return candidate_sets(files[i]["source"], mine, ngram=self.ngram, word_ngram=self.word_ngram)

        return exact_jaccard_streamed(load, len(files), offsets, pairs)

    def _estimate(self, files: list[dict[str, Path]], offsets: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """MinHash estimate of each candidate pair's Jaccard: the fraction of equal signature values."""
        sigs = [np.load(f["sig"], mmap_mode="r") for f in files]
        out = np.empty(pairs.shape[0], dtype=np.float64)
        for start in range(0, pairs.shape[0], PAIR_CHUNK):
            chunk = pairs[start : start + PAIR_CHUNK]
            a = _gather_rows(sigs, offsets, chunk[:, 0])
            b = _gather_rows(sigs, offsets, chunk[:, 1])
            out[start : start + chunk.shape[0]] = np.mean(a == b, axis=1)
        return out

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        state, shard = self.bound()
        z = np.load(state / f"{shard}.clusters.npz")
        info = {
            int(p): (bool(k), str(kid), str(cid), int(n), float(s))
            for p, k, kid, cid, n, s in zip(z["positions"], z["kept"], z["kept_id"], z["cluster_id"],
                                            z["size"], z["similarity"], strict=True)
        }
        for position, doc in enumerate(docs):  # the n-th valid document: SignatureJob's position n
            found = info.get(position)
            if found is None:
                yield doc
                continue
            kept, kept_id, cluster_id, size, similarity = found
            counters[f"cluster_size_{size}_docs"] += 1
            mark = {"cluster_id": cluster_id, "cluster_size": size, "kept_id": kept_id,
                    "duplicate": not kept, "similarity": round(similarity, 4)}
            doc.setdefault("meta", {})["minhash"] = mark
            if kept:
                yield doc
            elif self.annotate:
                counters["minhash_marked"] += 1
                yield doc
            else:
                yield reject(doc, stage=self.name, reason=MINHASH_DUPLICATE, value=round(similarity, 4),
                             threshold=self.threshold, cluster_id=cluster_id, kept_id=kept_id)

