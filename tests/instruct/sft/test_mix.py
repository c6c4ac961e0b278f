"""Mixing: the KnowLM config reproduces the seeds' proportions, provenance lines up, runs are reproducible."""

from __future__ import annotations

import dataclasses
import json

import pytest

from instruct.sft import io
from instruct.sft.mix import MixConfig, MixSource, apportion, load_mix_config, mix
from tests.conftest import REPO

KNOWLM = {"cot": 202_333, "general": 105_216, "code": 44_688, "ie_en": 537_429, "ie_zh": 486_768}


def _write_sources(directory, sizes):
    for name, n in sizes.items():
        rows = [{"instruction": f"{name} question {i}", "input": "", "output": f"{name} answer {i}"} for i in range(n)]
        io.write_records(directory / f"{name}.json", rows)


def test_knowlm_config_lists_the_seed_counts():
    config = load_mix_config(REPO / "configs" / "sft_mix_knowlm.yaml", base_dir=REPO)
    assert {s.name: s.count for s in config.sources} == KNOWLM


@pytest.mark.parametrize("total", [3000, 12_345])
def test_knowlm_mix_reproduces_proportions_within_one_percent(tmp_path, total):
    _write_sources(tmp_path, dict.fromkeys(KNOWLM, 500))  # small sets: the big ones are upsampled
    config = load_mix_config(REPO / "configs" / "sft_mix_knowlm.yaml", base_dir=tmp_path)
    manifest = mix(dataclasses.replace(config, total=total), tmp_path / "out" / "mix.jsonl")
    assert manifest["total"] == total
    # Count what was actually written, through the provenance file.
    prov = io.read_records(tmp_path / "out" / "mix.jsonl.provenance.jsonl")
    assert len(prov) == len(io.read_records(tmp_path / "out" / "mix.jsonl")) == total
    seed_total = sum(KNOWLM.values())
    for name, count in KNOWLM.items():
        share = sum(p["source"] == name for p in prov) / total
        assert share == pytest.approx(count / seed_total, rel=0.01)


def test_counts_as_written_and_provenance_points_at_the_source_record(tmp_path):
    _write_sources(tmp_path, {"a": 10, "b": 4})
    config = MixConfig(sources=(MixSource(name="a", path=tmp_path / "a.json", count=6),
                                MixSource(name="b", path=tmp_path / "b.json", count=9)), seed=3)
    manifest = mix(config, tmp_path / "mix.json", dataset_name="mixed")
    out = io.read_records(tmp_path / "mix.json")
    prov = io.read_records(tmp_path / "mix.json.provenance.jsonl")
    sources = {name: io.read_records(tmp_path / f"{name}.json") for name in "ab"}
    assert [row for row in out] == [sources[p["source"]][p["index"]] for p in prov]
    assert {s["name"]: (s["taken"], s["repeats"]) for s in manifest["sources"]} == {"a": (6, 0), "b": (9, 2)}
    a_taken = [p["index"] for p in prov if p["source"] == "a"]
    assert len(set(a_taken)) == 6  # sampled without replacement
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["mixed"]["file_name"] == "mix.json" and info["mixed"]["formatting"] == "alpaca"


def test_same_seed_same_bytes_other_seed_other_order(tmp_path):
    _write_sources(tmp_path, {"a": 50, "b": 50})
    config = MixConfig(sources=(MixSource(name="a", path=tmp_path / "a.json", weight=1.0),
                                MixSource(name="b", path=tmp_path / "b.json", weight=3.0)), total=40, seed=1)
    mix(config, tmp_path / "one.jsonl")
    mix(config, tmp_path / "two.jsonl")
    mix(dataclasses.replace(config, seed=2), tmp_path / "three.jsonl")
    assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    assert (tmp_path / "one.jsonl").read_bytes() != (tmp_path / "three.jsonl").read_bytes()


def test_mixed_formats_need_an_output_format(tmp_path):
    _write_sources(tmp_path, {"a": 3})
    io.write_records(tmp_path / "b.json", [{"conversations": [{"from": "human", "value": "q"},
                                                              {"from": "gpt", "value": "a"}]}])
    sources = (MixSource(name="a", path=tmp_path / "a.json", count=3), MixSource(name="b", path=tmp_path / "b.json",
                                                                                count=1))
    with pytest.raises(ValueError, match="output_format"):
        mix(MixConfig(sources=sources), tmp_path / "m.json")
    mix(MixConfig(sources=sources, output_format="sharegpt"), tmp_path / "m.json")
    assert all("conversations" in row for row in io.read_records(tmp_path / "m.json"))


def test_upsampling_can_be_forbidden(tmp_path):
    _write_sources(tmp_path, {"a": 3})
    config = MixConfig(sources=(MixSource(name="a", path=tmp_path / "a.json", count=5),), allow_upsample=False)
    with pytest.raises(ValueError, match="upsampling is off"):
        mix(config, tmp_path / "m.json")


@pytest.mark.parametrize("shares, total", [([1, 1, 1], 10), ([202333, 105216, 44688], 7), ([0.5, 0.25], 3)])
def test_apportion_sums_to_total_and_stays_within_one_of_the_quota(shares, total):
    counts = apportion(shares, total)
    assert sum(counts) == total
    assert all(abs(c - total * s / sum(shares)) < 1 for c, s in zip(counts, shares, strict=True))


def test_config_rejects_unknown_keys(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sources:\n  - {name: a, path: a.json, count: 1, wieght: 2}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="wieght"):
        load_mix_config(path)


@pytest.mark.parametrize("output_format", ["alpaca", "sharegpt", "openai"])
def test_mix_dataset_info_entry_matches_the_mixed_file(tmp_path, output_format):
    """mix --dataset-name: LLaMA-Factory's field mapping of the entry fits the rows actually written."""
    from tests.instruct.sft.conftest import SAMPLES, assert_llamafactory_reads

    io.write_records(tmp_path / "chats.json", io.read_records(SAMPLES / "sharegpt_dummy.sample20.json"))
    _write_sources(tmp_path, {"plain": 5})
    config = MixConfig(sources=(MixSource(name="chats", path=tmp_path / "chats.json", count=8),
                                MixSource(name="plain", path=tmp_path / "plain.json", count=5)),
                       seed=4, output_format=output_format)
    mix(config, tmp_path / "mix.jsonl", dataset_name="mixed")
    entry = assert_llamafactory_reads(tmp_path, "mixed", io.read_records(tmp_path / "mix.jsonl"))
    assert entry["file_name"] == "mix.jsonl"
