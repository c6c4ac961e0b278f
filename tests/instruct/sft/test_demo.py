"""The SFT demo runs offline on data_samples/instruct and its outputs load with datasets."""

from __future__ import annotations

import json

from instruct.sft.demo import run_sft_demo


def test_sft_demo(tmp_path):
    from datasets import load_dataset, load_from_disk

    lines: list[str] = []
    report = run_sft_demo(tmp_path, lines.append)
    assert set(report) == {"alpaca_zh", "alpaca_en", "sharegpt_dummy"} and len(lines) == 3
    for name, counts in report.items():
        assert counts["kept"] + sum(counts["rejected"].values()) == counts["records"]
        assert counts["tokenized"] == counts["kept"] > 0
        assert 0 < counts["trained_tokens"] < counts["tokens"]
        assert load_from_disk(str(tmp_path / "tokenized" / name)).num_rows == counts["tokenized"]
    info = json.loads((tmp_path / "selected" / "dataset_info.json").read_text(encoding="utf-8"))
    for name, entry in info.items():
        ds = load_dataset("json", data_files=str(tmp_path / "selected" / entry["file_name"]), split="train")
        assert ds.num_rows == report[name]["kept"]
