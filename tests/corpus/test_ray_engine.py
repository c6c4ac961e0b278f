"""The Ray engine writes what the local runner writes: the demo pipeline stage by stage, dedup's clusters, resume.

One local Ray (2 CPUs) per module; every comparison is against ``engine="local"`` on the same input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import orjson
import pytest

ray = pytest.importorskip("ray")

from corpus.dedup.exact import ExactDedupStep  # noqa: E402
from corpus.dedup.near import NearDedupStep  # noqa: E402
from corpus.engines.ray import RayOptions, run_stage_ray  # noqa: E402
from corpus.pipeline import load_config, run_config  # noqa: E402
from corpus.runner import run_stage  # noqa: E402
from corpus.shards import read_docs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.yaml"


def _volatile(key: str) -> bool:
    """Timings (``seconds``, ``filter_seconds_*``): the only figures that may differ between runs."""
    return key == "seconds" or "_seconds" in key


def _steady(counters) -> dict:
    return {k: v for k, v in counters.items() if not _volatile(k)}


@pytest.fixture(scope="module", autouse=True)
def ray_cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """The demo pipeline run once locally and once on Ray, from the repository (its paths are relative)."""
    base = tmp_path_factory.mktemp("demo")
    before = os.getcwd()
    os.chdir(REPO)
    try:
        config = load_config(DEMO)
        local = run_config(config, work_dir=base / "local", workers=2, progress=False)
        on_ray = run_config(config, work_dir=base / "ray", progress=False, engine="ray")
    finally:
        os.chdir(before)
    return base, local, on_ray


def _normalised_json(path: Path, base: Path) -> object:
    """A _stats/ or manifest JSON with timings dropped and the engine's work directory renamed."""
    text = path.read_text("utf-8").replace(str(base / "ray"), "WORK").replace(str(base / "local"), "WORK")
    data = orjson.loads(text)

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if not _volatile(k)}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(data)


def _outputs(directory: Path) -> set[Path]:
    """Every file a stage wrote, except the global steps' scratch state (_dedup/, _dedup-exact/, ...)."""
    keep = {"_stats", "_done", "_manifest.json"}
    return {
        p.relative_to(directory)
        for p in directory.rglob("*")
        if p.is_file() and not (p.relative_to(directory).parts[0].startswith("_")
                                and p.relative_to(directory).parts[0] not in keep)
    }


def test_demo_pipeline_every_stage_same_on_ray(demo_runs):
    base, local, on_ray = demo_runs
    assert [r.stage for r in on_ray] == [r.stage for r in local]
    assert len(local) >= 10  # 8 readers, clean, filter, pii, dedup-exact, dedup, pack, score
    compared = 0
    for lr, rr in zip(local, on_ray, strict=True):
        assert (rr.docs_in, rr.docs_out, rr.rejected, rr.reasons) == (lr.docs_in, lr.docs_out, lr.rejected, lr.reasons)
        assert _steady(rr.counters) == _steady(lr.counters), lr.stage
        files = _outputs(lr.output)
        assert _outputs(rr.output) == files, lr.stage
        for rel in sorted(files):
            a, b = lr.output / rel, rr.output / rel
            if rel.suffix == ".json":
                assert _normalised_json(a, base) == _normalised_json(b, base), f"{lr.stage}: {rel}"
            else:  # shards, rejected/, packed .bin/.idx and done markers: byte for byte
                assert a.read_bytes() == b.read_bytes(), f"{lr.stage}: {rel} differs"
            compared += 1
    assert compared > 50


def test_demo_rerun_on_ray_skips_done_shards_and_redoes_a_lost_one(demo_runs):
    base, local, _ = demo_runs
    before = os.getcwd()
    os.chdir(REPO)
    try:
        config = load_config(DEMO)
        rerun = run_config(config, work_dir=base / "ray", progress=False, engine="ray")
        assert all(r.shards_skipped == r.shards for r in rerun)
        # A killed run: one shard of `pii` (the last of the fused clean+filter+pii, so the one that writes
        # kept documents) lost its output and marker; only that shard is redone.
        clean = next(r for r in rerun if r.stage == "pii")
        victim = sorted((clean.output / "_done").iterdir())[0].name
        (clean.output / "_done" / victim).unlink()
        shard = next(clean.output.glob(f"{victim}.*"))
        shard.unlink()
        again = run_config(config, work_dir=base / "ray", progress=False, engine="ray")
    finally:
        os.chdir(before)
    clean_again = next(r for r in again if r.stage == "pii")
    assert clean_again.shards_skipped == clean_again.shards - 1
    assert all(r.shards_skipped == r.shards for r in again if r.stage in ("clean", "filter"))
    local_clean = next(r for r in local if r.stage == "pii")
    assert shard.read_bytes() == (local_clean.output / shard.name).read_bytes()


def _write_shards(directory: Path, docs: list[dict], shards: int) -> Path:
    directory.mkdir(parents=True)
    for s in range(shards):
        with open(directory / f"part-{s:05d}.jsonl", "wb") as f:
            for doc in docs[s::shards]:
                f.write(orjson.dumps(doc) + b"\n")
    return directory


def _near_duplicate_set() -> list[dict]:
    """Families from the dedup accuracy benchmark's generator: a base text and an edited variant of Jaccard
    ~0.5-1.0, and for every fifth family a variant of the variant (a chain) and an exact copy (another source).
    """
    bench = pytest.importorskip("benchmarks.dedup_accuracy")
    found = [p for p in (bench.SAMPLES, REPO.parent / "shared" / "samples") if (p / "wudao").is_dir()]
    if not found:
        pytest.skip(f"the benchmark's text samples are not at {bench.SAMPLES}")
    gen = bench.TextGenerator(seed=0, samples=found[0])
    docs = []
    for i in range(300):
        lang = "zh" if i % 2 == 0 else "en"
        base = gen.zh(gen.rng.randint(300, 900)) if lang == "zh" else gen.en(gen.rng.randint(150, 300))
        variant = gen.variant(base, lang, gen.rng.uniform(0.0, 1.0))
        family = [(base, lang), (variant, lang)]
        if i % 5 == 0:
            family += [(gen.variant(variant, lang, 0.3), lang), (base, "copy")]
        docs += [{"id": f"f{i:04d}{'abcd'[k]}", "text": text, "source": source, "meta": {}}
                 for k, (text, source) in enumerate(family)]
    return docs


@pytest.mark.parametrize("partitions", [1, 3])
def test_near_dedup_on_ray_finds_the_local_clusters(tmp_path, partitions):
    docs = _near_duplicate_set()
    inp = _write_shards(tmp_path / "in", docs, shards=5)
    step = NearDedupStep(annotate=True, source_priority=("copy",))
    local = run_stage(step, inputs=[inp], output=tmp_path / "local", workers=2, progress=False)
    on_ray = run_stage_ray(step, inputs=[inp], output=tmp_path / "ray", progress=False,
                           options=RayOptions(partitions=partitions))
    assert _steady(on_ray.counters) == _steady(local.counters)
    marks = {}
    for name in ("local", "ray"):
        marks[name] = {d["id"]: d["meta"].get("minhash") for p in sorted((tmp_path / name).glob("part-*"))
                       for d in read_docs(p)}
    assert marks["ray"] == marks["local"]
    sizes = [m["cluster_size"] for m in marks["local"].values() if m]
    assert len(sizes) > 200 and max(sizes) >= 3  # real clusters, some joined through chains
    for s in range(5):
        assert (tmp_path / "ray" / f"part-{s:05d}.jsonl.zst").read_bytes() == \
            (tmp_path / "local" / f"part-{s:05d}.jsonl.zst").read_bytes()
    assert (tmp_path / "ray" / "_stats" / "_dedup-clusters.json").read_bytes() == \
        (tmp_path / "local" / "_stats" / "_dedup-clusters.json").read_bytes()


@pytest.mark.parametrize("priority", [(), ("b",)])
def test_exact_dedup_on_ray_keeps_the_same_first_copies(tmp_path, priority):
    rng = np.random.default_rng(0)
    texts = [f"text number {i} " * 3 for i in range(40)]
    docs = [{"id": f"d{i}", "text": texts[int(k)].upper() if i % 3 else texts[int(k)], "source": "ab"[i % 2],
             "meta": {}} for i, k in enumerate(rng.integers(0, 40, 300))]
    inp = _write_shards(tmp_path / "in", docs, shards=4)
    step = ExactDedupStep(source_priority=priority)  # with a priority the keepers differ from shard order
    local = run_stage(step, inputs=[inp], output=tmp_path / "local", workers=2, progress=False)
    on_ray = run_stage_ray(step, inputs=[inp], output=tmp_path / "ray", progress=False,
                           options=RayOptions(partitions=3))
    assert local.docs_out == 40 and on_ray.docs_out == 40 and on_ray.reasons == local.reasons
    # A shard whose every document went to another shard's keeper writes no file (docs/architecture.md).
    kept = [d for s in range(4) if (tmp_path / "ray" / f"part-{s:05d}.jsonl.zst").exists()
            for d in read_docs(tmp_path / "ray" / f"part-{s:05d}.jsonl.zst")]
    has_b = {d["text"].lower() for d in docs if d["source"] == "b"}
    if priority:  # the copy from source b is kept wherever there is one
        assert all(d["source"] == "b" for d in kept if d["text"].lower() in has_b)
    for sub in ("", "rejected/"):
        for s in range(4):
            rel = f"{sub}part-{s:05d}.jsonl.zst"
            assert (tmp_path / "ray" / rel).exists() == (tmp_path / "local" / rel).exists(), rel
            if (tmp_path / "local" / rel).exists():
                assert (tmp_path / "ray" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel


def test_line_dedup_on_ray_counts_through_the_shard_map_hook(tmp_path):
    from corpus.dedup.lines import LineDedupStep

    footer = "Share this page on every network you know of"
    docs = [{"id": f"d{i}", "text": f"Article {i} says something of its own.\n{footer}" if i % 4 else footer,
             "source": "web", "meta": {}} for i in range(60)]
    inp = _write_shards(tmp_path / "in", docs, shards=3)
    step = LineDedupStep(min_docs=5)  # no Ray implementation of its own: its count jobs run as tasks
    local = run_stage(step, inputs=[inp], output=tmp_path / "local", workers=2, progress=False)
    on_ray = run_stage_ray(step, inputs=[inp], output=tmp_path / "ray", progress=False)
    assert on_ray.reasons == local.reasons == {"boilerplate_only": 15}
    assert _steady(on_ray.counters) == _steady(local.counters)
    for rel in [f"{sub}part-{s:05d}.jsonl.zst" for sub in ("", "rejected/") for s in range(3)] + \
            ["_dedup-lines/min_chars-10/boilerplate-5.npy", "_stats/_dedup-lines.json"]:
        assert (tmp_path / "ray" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel


def test_nothing_imports_ray_unless_the_engine_is_ray():
    code = "import sys, cli, corpus.pipeline, corpus.engines; assert 'ray' not in sys.modules, 'ray imported'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
