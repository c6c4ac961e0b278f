"""Split: seeded, stratified by source, a partition of the input."""

from __future__ import annotations

import json

import pytest

from instruct.sft import io
from instruct.sft.split import split_file, split_indices


def test_every_stratum_keeps_its_share(tmp_path):
    rows = [{"instruction": f"q{i}", "input": "", "output": "a", "source": s}
            for s, n in (("duie", 400), ("conll", 100), ("cot", 7)) for i in range(n)]
    io.write_records(tmp_path / "all.jsonl", rows)
    report = split_file(tmp_path / "all.jsonl", tmp_path / "out", ratios=(0.8, 0.1, 0.1), seed=5)
    assert report["strata"]["duie"] == {"train": 320, "dev": 40, "test": 40}
    assert report["strata"]["conll"] == {"train": 80, "dev": 10, "test": 10}
    assert sum(report["strata"]["cot"].values()) == 7
    parts = {name: io.read_records(tmp_path / "out" / f"{name}.jsonl") for name in ("train", "dev", "test")}
    seen = [json.dumps(r, sort_keys=True) for part in parts.values() for r in part]
    assert sorted(seen) == sorted(json.dumps(r, sort_keys=True) for r in rows)  # a partition: no loss, no overlap


def test_seeded_and_stable_when_a_source_is_added():
    strata = ["a"] * 50 + ["b"] * 50
    one = split_indices(strata, (0.8, 0.1, 0.1), seed=1)
    assert one == split_indices(strata, (0.8, 0.1, 0.1), seed=1)
    assert one != split_indices(strata, (0.8, 0.1, 0.1), seed=2)
    more = split_indices(strata + ["c"] * 30, (0.8, 0.1, 0.1), seed=1)
    assert {k: [i for i in v if i < 100] for k, v in more.items()} == one


def test_provenance_file_gives_the_strata(tmp_path):
    rows = [{"instruction": f"q{i}", "input": "", "output": "a"} for i in range(20)]
    io.write_records(tmp_path / "mix.json", rows)
    io.write_records(tmp_path / "mix.json.provenance.jsonl", [{"source": "x" if i < 10 else "y", "index": i}
                                                              for i in range(20)])
    report = split_file(tmp_path / "mix.json", tmp_path / "out", ratios=(0.5, 0.5, 0), seed=0,
                        provenance=tmp_path / "mix.json.provenance.jsonl")
    assert report["strata"] == {"x": {"train": 5, "dev": 5, "test": 0}, "y": {"train": 5, "dev": 5, "test": 0}}
    assert (tmp_path / "out" / "train.json").exists()


def test_bad_ratios():
    with pytest.raises(ValueError, match="ratios"):
        split_indices(["a"], (0.9, 0.1), seed=0)
