"""The shipped recipes run as shipped on data_samples/ (configs/pretrain_zh, pretrain_en, code, knowlm).

Asserts structure and invariants, not document counts (the default filter rules change): every stage in
the job's order with its manifest, merged shards that megatron-core (and, for knowlm.yaml, KnowLM's own
dataset logic) reads, samples per type printed, the planted cross-source duplicates kept once from the
source the priority names, and ``--dry-run`` creating nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
import yaml
from click.testing import CliRunner

from cli import main
from corpus.pack import knowlm
from corpus.pack.megatron import IndexedDatasetReader
from corpus.shards import list_shards, read_docs

REPO = Path(__file__).resolve().parents[2]
JOB_ORDER = ["clean", "filter", "pii", "dedup-exact", "dedup", "pack"]  # after the job's read steps
RECIPES = {"pretrain_zh": ["read-wiki", "read-wudao", "read-baike"], "pretrain_en": ["read-wiki", "read-web"],
           "code": ["read-code", "read-stack", "read-leetcode"]}
PRIORITY = {"pretrain_zh": ["zhwiki", "baike", "wudao"], "pretrain_en": ["enwiki", "web"],
            "code": ["code", "stack", "leetcode"]}
XIHU = "西湖位于浙江省杭州市西部"  # the planted exact duplicate (Baike page and WuDao record)


def _run(work: Path, recipe: str, *extra: str):
    result = CliRunner().invoke(main, ["run", f"configs/{recipe}.yaml", "-w", str(work), "--quiet", *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Each recipe run once, from the repository root as its comments say (paths are relative to it)."""
    base = tmp_path_factory.mktemp("recipes")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        yield {name: (base / name, _run(base / name, name)) for name in [*RECIPES, "knowlm"]}


def _stage_dirs(work: Path) -> list[Path]:
    return sorted(p for p in work.iterdir() if re.match(r"\d\d-", p.name))


def _manifest(directory: Path) -> dict:
    return orjson.loads((directory / "_manifest.json").read_bytes())


def _docs(directory: Path) -> list[dict]:
    return [doc for shard in list_shards(directory) for doc in read_docs(shard)]


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_recipe_runs_every_stage_to_merged_shards_megatron_core_reads(runs, recipe):
    work, output = runs[recipe]
    dirs = _stage_dirs(work)
    assert [d.name[3:] for d in dirs] == RECIPES[recipe] + JOB_ORDER
    for d in dirs:
        totals = _manifest(d)["totals"]
        assert totals["docs_in"] == totals["docs_out"] + totals["rejected"], d.name
        assert totals["docs_in"] > 0, d.name  # every stage saw documents: the samples survive as shipped
    # dedup runs across all sources of the job: its inputs hold every reader's shards, with the priority
    for name in ("dedup-exact", "dedup"):
        manifest = _manifest(next(d for d in dirs if d.name[3:] == name))
        assert {shard.rsplit("-", 1)[0] for shard in manifest["shards"]} == \
            {read.removeprefix("read-") for read in RECIPES[recipe]}  # reader shards: wiki-00000, wudao-00000, ...
        assert manifest["config"]["source_priority"] == PRIORITY[recipe]
    pack = dirs[-1]
    config = _manifest(pack)["config"]
    assert config["max_tokens"] == 1024 and config["format"] == "megatron"
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    theirs = indexed.IndexedDataset(str(pack / "merged"))
    ours = IndexedDatasetReader(pack / "merged")
    samples = _manifest(pack)["totals"]["counters"]["pack_samples"]
    assert len(theirs) == len(ours) == samples > 0
    assert all(theirs[i].tolist() == ours[i].tolist() and theirs[i].size <= 1024 for i in range(len(ours)))
    for idx in pack.glob("*-*.idx"):  # per-shard prefixes with samples (empty ones: issue 18)
        if IndexedDatasetReader(idx.with_suffix("")).index.sequence_lengths.size:
            assert len(indexed.IndexedDataset(str(idx.with_suffix("")))) > 0
    assert "pack" in output and "dedup" in output


def test_zh_planted_duplicates_are_kept_once_from_the_priority_source(runs):
    work, _ = runs["pretrain_zh"]
    dirs = {d.name[3:]: d for d in _stage_dirs(work)}
    kept = _docs(dirs["dedup"])
    xihu = [d for d in kept if d["text"].startswith(XIHU)]
    assert [d["source"] for d in xihu] == ["baike"]  # the WuDao copy is gone
    exact_rejected = [d for d in _docs(dirs["dedup-exact"] / "rejected") if d["text"].startswith(XIHU)]
    assert [d["source"] for d in exact_rejected] == ["wudao"]
    assert exact_rejected[0]["meta"]["reject"]["kept_id"] == xihu[0]["id"]
    # the same article in all three sources (near-duplicates): zhwiki's copy kept, Baike's and WuDao's rejected
    near = [d for d in _docs(dirs["dedup"] / "rejected") if d["meta"]["reject"]["kept_id"] == "zhwiki:1001"]
    assert sorted(d["source"] for d in near) == ["baike", "wudao"]
    assert any(d["id"] == "zhwiki:1001" for d in kept)


def test_knowlm_recipe_ends_in_typed_shards_knowlms_reader_accepts(runs):
    torch = pytest.importorskip("torch")  # noqa: F841  (KnowLM's .dis is a torch.save file)
    from tests.corpus.pack.knowlm_reference import KnowLMDataset, sampler_indices

    work, output = runs["knowlm"]
    dirs = _stage_dirs(work)
    merge = dirs[-1]
    assert merge.name.endswith("-merge") and _manifest(merge)["config"]["types"] == ["zh", "en", "code"]
    packs = [d for d in dirs if d.name[3:] in ("pack-zh", "pack-en", "pack-code")]
    assert [d.name[3:] for d in packs] == ["pack-zh", "pack-en", "pack-code"]
    ds = KnowLMDataset(merge / "merged", seq_length=1024, pad_id=0)
    per_job = []
    for pack in packs:
        job = KnowLMDataset(pack / "merged", seq_length=1024, pad_id=0)
        assert len(job.distributed) == 1 and all(len(job[i]) > 20 for i in range(len(job)))  # KnowLM drops <= 20
        per_job.append([job[i] for i in range(len(job))])
        shards = [idx.with_suffix("") for idx in sorted(pack.glob("*-*.idx")) if idx.stat().st_size]
        assert shards  # per-shard prefixes with samples load too (empty ones cannot be mmapped: issue 18)
        for prefix in shards:
            part = KnowLMDataset(prefix, seq_length=1024, pad_id=0)
            assert part.distributed == [len(part)] and len(knowlm.load_list(f"{prefix}.tmp")) == 4
    assert ds.distributed == [len(s) for s in per_job] and all(ds.distributed)
    assert [ds[i] for i in range(len(ds))] == [s for job in per_job for s in job]
    assert sampler_indices(ds, [1, 1, 1])  # its sampler takes one type per .dis entry
    assert f"zh {ds.distributed[0]:,}, en {ds.distributed[1]:,}, code {ds.distributed[2]:,}" in output
    assert knowlm.load_list(merge / "merged.dis") == ds.distributed


def test_knowlm_jobs_are_the_three_recipes_but_for_pack():
    def steps(path: str) -> list:
        return yaml.safe_load((REPO / path).read_text(encoding="utf-8"))["steps"]

    mix = steps("configs/knowlm.yaml")
    jobs = [steps(f"configs/{name}.yaml") for name in RECIPES]
    assert len(mix) == sum(map(len, jobs)) + 1 and list(mix[-1]) == ["merge"]
    at = 0
    for job in jobs:
        for ours, theirs in zip(mix[at : at + len(job)], job, strict=True):
            assert list(ours) == list(theirs)
            if "pack" in ours:
                assert ours["pack"]["format"] == "knowlm" and ours["pack"]["min_tokens"] == 21
                assert ours["pack"]["tokenizer"] == theirs["pack"]["tokenizer"]
            else:
                assert ours == theirs
        at += len(job)


@pytest.mark.parametrize("recipe", [*RECIPES, "knowlm"])
def test_dry_run_prints_the_plan_and_creates_nothing(tmp_path, monkeypatch, recipe):
    monkeypatch.chdir(REPO)
    work = tmp_path / "never"
    output = _run(work, recipe, "--dry-run")
    assert not work.exists()
    config = yaml.safe_load((REPO / f"configs/{recipe}.yaml").read_text(encoding="utf-8"))
    assert output.count("      output: ") == len(config["steps"])
    assert f"input:  {work}/" in output and "options: " in output and "max_tokens=1024" in output


def test_merge_types_must_pair_with_inputs_and_labels_name_steps(tmp_path):
    from corpus.pipeline import ConfigError, parse_config, plan_pipeline

    steps = [{"read": {"source": "jsonl", "input": ["a.jsonl"]}}, {"pack": {"label": "pack-a", "format": "knowlm"}},
             {"merge": {"format": "knowlm", "types": ["zh", "en"], "input": ["@pack-a"]}}]
    config = parse_config({"work_dir": str(tmp_path), "steps": steps})
    with pytest.raises(ConfigError, match="2 types"):
        plan_pipeline(config.calls, work_dir=tmp_path)
    steps[2]["merge"]["types"] = ["zh"]
    plan = plan_pipeline(parse_config({"work_dir": str(tmp_path), "steps": steps}).calls, work_dir=tmp_path)
    assert [p.label for p in plan] == ["read-jsonl", "pack-a", "merge"]
    assert plan[1].output == tmp_path / "02-pack-a" and plan[2].inputs == [plan[1].output]
    with pytest.raises(ConfigError, match="types"):
        parse_config({"steps": [{"merge": {"format": "megatron", "types": ["zh"], "input": ["x"]}}]})
