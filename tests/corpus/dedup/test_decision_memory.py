"""Near dedup's decision holds no per-member array beyond union-find's (~20 B a member while it runs):
its traced peak on synthetic fact files of two sizes, with the same shard size and spill caps; and one
range of candidate pairs costs a bounded number of bytes however many pairs it holds (read, verified)."""

import tracemalloc
from pathlib import Path

import numpy as np

import corpus.dedup.clusters as clusters
import corpus.dedup.pairs as pairs
from corpus.dedup.near import NearDedupStep, _save, _save_npz

SHARD_DOCS = 5_000


def _facts(out: Path, n_docs: int, seed: int) -> tuple[NearDedupStep, object, list[Path], list[dict]]:
    """Fact files as SignatureJob writes them: random band keys, ~30% of documents near copies of one of
    the 200 before them (all band keys copied: every candidate is a confirmed pair), zero signatures."""
    step = NearDedupStep(verify=False)
    job = step.signature_job(out, force=False)
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, 2**63, size=(job.lsh.bands, n_docs), dtype=np.uint64)
    copies = np.flatnonzero(rng.random(n_docs) < 0.3)
    copies = copies[copies > 0]
    keys[:, copies] = keys[:, np.maximum(0, copies - rng.integers(1, 200, copies.size))]
    shards = []
    for s, lo in enumerate(range(0, n_docs, SHARD_DOCS)):
        hi = min(n_docs, lo + SHARD_DOCS)
        shard = Path(f"/nonexistent/part-{s:05d}.jsonl.zst")  # the verify=False decision never reads texts
        files = job.files(shard)
        np.lib.format.open_memmap(files["sig"], mode="w+", dtype=np.uint32, shape=(hi - lo, 128)).flush()
        _save(files["bands"], np.ascontiguousarray(keys[:, lo:hi]))
        _save_npz(files["docs"], ids=np.char.add(f"part-{s:05d}-", np.arange(hi - lo).astype(str)),
                  id_hash=rng.integers(0, 2**63, hi - lo, dtype=np.uint64),
                  length=rng.integers(200, 5000, hi - lo).astype(np.int64),
                  priority=np.zeros(hi - lo, np.int32), empty=np.zeros(hi - lo, bool))
        shards.append(shard)
    return step, job, shards, [job.files(s) for s in shards]


def _decision_peak(out: Path, n_docs: int) -> tuple[float, int]:
    """(traced peak in bytes above the start of ``NearDedupStep.cluster``, cluster members)."""
    step, job, shards, files = _facts(out, n_docs, seed=n_docs)
    tracemalloc.start()
    try:
        histogram, _ = step.cluster(shards, files, job, each=None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, sum(size * count for size, count in histogram.items())


def test_decision_peak_grows_by_less_than_32_bytes_a_cluster_member(tmp_path, monkeypatch):
    """8x the documents at the same shard size: the peak may grow by union-find's members, parents and
    roots (int64 + int32 + int32, and one int32 scratch), not by the ~90 B a member the decision held as
    whole-corpus arrays before (components, keepers and cluster rows over all members; main before mem7
    measured 63 B a member on these inputs, this code less than 0: RESULTS.md, mem7)."""
    # Every cap below both sizes, so each holds one capped piece at a time whatever its size.
    monkeypatch.setattr(pairs, "PARTITION_DOCS", 1 << 12)
    monkeypatch.setattr(pairs, "PAIR_PART_DOCS", 1 << 11)
    monkeypatch.setattr(clusters, "EDGE_CHUNK", 1 << 11)
    monkeypatch.setattr(clusters, "ROOT_RANGE", 1 << 10)
    small, small_members = _decision_peak(tmp_path / "small", 10_000)
    big, big_members = _decision_peak(tmp_path / "big", 80_000)
    assert big_members > 6 * small_members > 24_000  # what the bound below is about: many more members
    per_member = (big - small) / (big_members - small_members)
    assert per_member < 32, f"decision peak {small / 2**20:.1f} -> {big / 2**20:.1f} MiB: {per_member:.0f} B a member"


def test_a_pair_range_costs_a_bounded_number_of_bytes_however_many_pairs_it_holds(tmp_path):
    """One range of first documents holding 1.5 M raw candidate rows (24 MiB on disk, as the first ranges
    of a large corpus do: their pairs grow with the corpus) is split and read back in pieces whose
    working set, with the piece the caller holds, stays under 10 MiB. With the cap at 1 << 19 rows, and
    the raw rows held across the yield, the pieces cost ~25 MiB (RESULTS.md, mem8: the near decision's
    growth from 2 to 5 GB of scale.py's corpus)."""
    from corpus.dedup.pairs import PAIR_PART_DOCS, PairSpill

    n_docs = 4 * PAIR_PART_DOCS
    rng = np.random.default_rng(0)
    a = rng.integers(0, PAIR_PART_DOCS, 1_500_000)  # every first document in the first range
    raw = np.stack([a, a + 1 + rng.integers(0, n_docs - PAIR_PART_DOCS, a.size)], axis=1)
    expected = np.unique(raw, axis=0)
    with PairSpill(tmp_path, n_docs, part_docs=PAIR_PART_DOCS) as spill:
        for chunk in np.array_split(raw, 7):
            spill.add(chunk)
        del raw, a, chunk
        got, done = [], 0
        tracemalloc.start()
        try:
            for pairs in spill:  # held while the next piece is read, as NearDedupStep.cluster holds it
                got.append((int(pairs[0, 0]), int(pairs[-1, 0]), pairs.shape[0]))
                assert np.array_equal(pairs, expected[done : done + pairs.shape[0]])
                done += pairs.shape[0]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 10 * 2**20, f"reading one range's pieces peaked at {peak / 2**20:.1f} MiB"
    assert done == expected.shape[0] and len(got) > 8  # split into many pieces, every pair back in order


def test_exact_verification_holds_few_bytes_a_pair_beside_its_pairs_and_result():
    """``exact_jaccard_streamed`` over 60,000 pairs spread over 20 shards: what it allocates beside the
    pairs (16 B each) and its result (8 B) stays under 32 B a pair: its group key, order and sorted key,
    8 B each (24 B measured); the (P, 2) shard array and lexsort it replaced held 40 B (RESULTS.md, mem8)."""
    from corpus.dedup.near import _ShingleSets, exact_jaccard_streamed

    shards, per_shard = 20, 1_000
    offsets = np.arange(shards + 1, dtype=np.int64) * per_shard
    rng = np.random.default_rng(1)
    a = rng.integers(0, offsets[-1] - 1, 60_000)
    pairs = np.unique(np.stack([a, a + 1 + rng.integers(0, offsets[-1] - a - 1)], axis=1), axis=0)
    hashes = rng.integers(0, 8, per_shard * 3).astype(np.uint32)  # 3 values a document (repeats are fine)
    sets = [np.unique(hashes[3 * d : 3 * d + 3]) for d in range(per_shard)]
    flat = np.concatenate(sets)
    set_offsets = np.concatenate(([0], np.cumsum([s.size for s in sets])))
    positions = np.arange(per_shard, dtype=np.int64)

    def load(_: int) -> _ShingleSets:
        return _ShingleSets(positions, set_offsets, flat)

    expected = np.empty(pairs.shape[0])
    for p, (u, v) in enumerate(pairs.tolist()):  # the rule: |A & B| / |A | B| of the two sets
        x, y = set(sets[u % per_shard].tolist()), set(sets[v % per_shard].tolist())
        expected[p] = len(x & y) / len(x | y)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        got = exact_jaccard_streamed(load, shards, offsets, pairs)
        peak = tracemalloc.get_traced_memory()[1] - start - got.nbytes
    finally:
        tracemalloc.stop()
    assert np.array_equal(got, expected)
    assert peak / pairs.shape[0] < 32, f"{peak / pairs.shape[0]:.0f} B a pair beside the pairs and result"
