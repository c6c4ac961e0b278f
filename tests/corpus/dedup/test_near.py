import random

import numpy as np
import orjson
import pytest

from corpus.dedup.near import MINHASH_DUPLICATE, NearDedupStep
from corpus.runner import run_stage
from corpus.shards import read_docs

BASE_ZH = "机器学习是人工智能的一个分支，它研究计算机怎样模拟或实现人类的学习行为，以获取新的知识或技能，重新组织已有的知识结构使之不断改善自身的性能。"
BASE_EN = (
    "Machine learning is a field of study in artificial intelligence concerned with the development "
    "of statistical algorithms that can learn from data and generalize to unseen data, and thus perform "
    "tasks without explicit instructions."
)


def _corpus(n_unique: int = 40) -> list[dict]:
    rng = random.Random(0)
    docs = []
    for i in range(n_unique):
        text = "".join(rng.choice("天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏") for _ in range(120))
        docs.append({"id": f"u{i:03d}", "text": text, "source": "web", "meta": {}})
    for i in range(6):  # one Chinese cluster of 6 near-duplicates, one English cluster of 6
        docs.append({"id": f"zh{i}", "text": BASE_ZH + "。" * i, "source": "wiki" if i == 3 else "web", "meta": {}})
        docs.append({"id": f"en{i}", "text": BASE_EN + " Yes." * (i % 2), "source": "web", "meta": {}})
    docs.append({"id": "empty1", "text": "", "source": "web", "meta": {}})
    docs.append({"id": "empty2", "text": "!!", "source": "web", "meta": {}})
    return docs


def _write(directory, docs, n_shards, seed=None):
    directory.mkdir(parents=True)
    if seed is not None:
        docs = docs[:]
        random.Random(seed).shuffle(docs)
    for s in range(n_shards):
        with open(directory / f"part-{s:05d}.jsonl", "wb") as f:
            for doc in docs[s::n_shards]:
                f.write(orjson.dumps(doc) + b"\n")


def _read_dir(directory):
    return [doc for path in sorted(directory.glob("part-*")) for doc in read_docs(path)]


def test_removes_near_duplicates_keeps_one_per_cluster(tmp_path):
    _write(tmp_path / "in", _corpus(), 3)
    with open(tmp_path / "in" / "part-00001.jsonl", "ab") as f:
        f.write(b"{not json\n")
    step = NearDedupStep(source_priority=("wiki",))
    report = run_stage(step, inputs=[tmp_path / "in"], output=tmp_path / "out", workers=1, force=False,
                       progress=False)
    assert report.docs_in == report.docs_out + report.rejected == 55
    assert report.reasons[MINHASH_DUPLICATE] == 10
    kept = {d["id"] for d in _read_dir(tmp_path / "out")}
    # Source priority wins for the Chinese cluster; the longest text for the English one.
    assert "zh3" in kept and "en1" in kept and {"empty1", "empty2"} <= kept
    rejected = [d for d in _read_dir(tmp_path / "out" / "rejected") if d["meta"]["reject"]["reason"] == MINHASH_DUPLICATE]
    for doc in rejected:
        why = doc["meta"]["reject"]
        assert why["kept_id"] == ("zh3" if doc["id"].startswith("zh") else "en1")
        assert why["cluster_id"] and why["value"] >= 0.8 and why["threshold"] == 0.8
    histogram = orjson.loads((tmp_path / "out" / "_stats" / "_dedup-clusters.json").read_bytes())
    assert histogram["cluster_size_histogram"] == {"1": 42, "6": 2}


def test_annotate_only_marks(tmp_path):
    _write(tmp_path / "in", _corpus(), 2)
    report = run_stage(NearDedupStep(annotate=True), inputs=[tmp_path / "in"], output=tmp_path / "out",
                       workers=1, force=False, progress=False)
    assert report.rejected == 0
    marked = [d for d in _read_dir(tmp_path / "out") if d["meta"].get("minhash", {}).get("duplicate")]
    assert len(marked) == 10


@pytest.mark.parametrize("minhash,verify", [("fast", True), ("classic", False)])
def test_same_result_for_any_worker_count_and_shard_layout(tmp_path, minhash, verify):
    removed = []
    for run, (n_shards, seed, workers) in enumerate([(1, None, 1), (4, 1, 2), (3, 2, 2)]):
        _write(tmp_path / f"in{run}", _corpus(), n_shards, seed)
        out = tmp_path / f"out{run}"
        run_stage(NearDedupStep(minhash=minhash, verify=verify), inputs=[tmp_path / f"in{run}"], output=out,
                  workers=workers, force=False, progress=False)
        removed.append(sorted((d["id"], d["meta"]["reject"]["kept_id"]) for d in _read_dir(out / "rejected")))
    assert removed[0] == removed[1] == removed[2] and len(removed[0]) == 10


def test_rerun_reuses_signature_files(tmp_path):
    _write(tmp_path / "in", _corpus(), 2)
    out = tmp_path / "out"
    run_stage(NearDedupStep(), inputs=[tmp_path / "in"], output=out, workers=1, force=False, progress=False)
    signatures = sorted(out.glob("_dedup/*/*.sig.npy"))
    stamps = [p.stat().st_mtime_ns for p in signatures]
    # Simulate a run killed after signing: shard outputs gone, signatures on disk.
    for marker in (out / "_done").iterdir():
        marker.unlink()
    report = run_stage(NearDedupStep(), inputs=[tmp_path / "in"], output=out, workers=1, force=False,
                       progress=False)
    assert [p.stat().st_mtime_ns for p in signatures] == stamps
    assert report.reasons[MINHASH_DUPLICATE] == 10


def test_bad_options_fail_at_construction():
    with pytest.raises(ValueError):
        NearDedupStep(bands=3)
    with pytest.raises(ValueError):
        NearDedupStep(minhash="turbo")


@pytest.mark.parametrize("verify", [True, False])
def test_tiny_memory_caps_forcing_many_spills_give_the_same_bytes(tmp_path, monkeypatch, verify):
    """Band partitions of 4 documents, pair ranges of 2 first documents (dozens of spill files per
    band), union-find 2 pairs at a time and root ranges of 2 members give byte-identical cluster files,
    stats, kept and rejected shards, and leave no spill file."""
    import corpus.dedup.clusters as clusters
    import corpus.dedup.pairs as pairs

    _write(tmp_path / "in", _corpus(), 3)
    outputs = {}
    whole = (pairs.PARTITION_DOCS, pairs.PAIR_PART_DOCS, pairs.PAIR_READ_ROWS, clusters.EDGE_CHUNK,
             clusters.ROOT_RANGE)
    for name, per_part, per_range, read_rows, edges, roots in (
        ("whole", *whole), ("spilled", 4, 2, 1, 2, 2), ("split ranges", pairs.PARTITION_DOCS, 30, 3, *whole[3:]),
    ):
        monkeypatch.setattr(pairs, "PARTITION_DOCS", per_part)
        monkeypatch.setattr(pairs, "PAIR_PART_DOCS", per_range)
        monkeypatch.setattr(pairs, "PAIR_READ_ROWS", read_rows)
        monkeypatch.setattr(clusters, "EDGE_CHUNK", edges)
        monkeypatch.setattr(clusters, "ROOT_RANGE", roots)
        out = tmp_path / name
        run_stage(NearDedupStep(verify=verify), inputs=[tmp_path / "in"], output=out, workers=1, force=False,
                  progress=False)
        files = [*out.glob("_dedup/*/*.clusters.npz"), *out.glob("part-*"), *out.glob("rejected/*"),
                 out / "_stats" / "_dedup-clusters.json"]
        outputs[name] = {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}
        spills = [*out.glob("_dedup/*/*.knowforge-tmp-*")]
        assert not spills, "spills removed"
    assert len(outputs["whole"]) >= 8 and outputs["whole"] == outputs["spilled"] == outputs["split ranges"]


@pytest.mark.parametrize("read_rows", [1 << 20, 50, 1])
def test_pair_spill_reads_back_what_np_unique_gives(tmp_path, monkeypatch, read_rows):
    """Pairs added in any order, with repeats, come back unique and ascending, range by range, also when
    ranges above ``read_rows`` raw rows are split by first document before they are read."""
    import corpus.dedup.pairs as pairs_module
    from corpus.dedup.pairs import PairSpill

    monkeypatch.setattr(pairs_module, "PAIR_READ_ROWS", read_rows)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 99, 5000)
    pairs = np.stack([a, a + 1 + rng.integers(0, 100 - a - 1 + 1, 5000) % (100 - a)], axis=1)
    pairs = pairs[pairs[:, 1] < 100]
    with PairSpill(tmp_path, 100, part_docs=7, track=True) as spill:
        for chunk in np.array_split(pairs, 13):
            spill.add(chunk)
        got = list(spill)
        for lo, hi in [(0, 100), (0, 1), (3, 17), (8, 16), (9, 9), (41, 100), (99, 100)]:  # any bit alignment
            assert np.array_equal(spill.involved(lo, hi), np.flatnonzero(np.isin(np.arange(lo, hi), pairs)))
    assert len(got) > 1 and np.array_equal(np.concatenate(got), np.unique(pairs, axis=0))
    assert not list(tmp_path.iterdir())
