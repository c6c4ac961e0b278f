"""Near dedup's decision holds no per-member array beyond union-find's (~20 B a member while it runs):
its traced peak on synthetic fact files of two sizes, with the same shard size and spill caps."""

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
