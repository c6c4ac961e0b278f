"""The four SFT commands run end to end from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from instruct.sft import io
from tests.instruct.sft.conftest import SAMPLES, TOKENIZER_DIR


def test_mix_select_tokenize_split(tmp_path):
    runner = CliRunner()
    for name in ("zh", "en"):
        rows = io.read_records(SAMPLES / f"alpaca_{name}.sample30.json")
        io.write_records(tmp_path / f"{name}.json", rows)
    config = tmp_path / "mix.yaml"
    config.write_text("seed: 1\ntotal: 40\nsources:\n  - {name: zh, path: zh.json, weight: 1}\n"
                      "  - {name: en, path: en.json, weight: 1}\n", encoding="utf-8")

    result = runner.invoke(main, ["instruct", "mix", "-c", str(config), "--base-dir", str(tmp_path),
                                  "-o", str(tmp_path / "mix.json"), "--dataset-name", "demo"])
    assert result.exit_code == 0, result.output
    assert "mixed 40 records" in result.output

    result = runner.invoke(main, ["instruct", "select", "-i", str(tmp_path / "mix.json"), "-o", str(tmp_path / "sel"),
                                  "--rouge-threshold", "-1"])
    assert result.exit_code == 0, result.output
    stats = json.loads((tmp_path / "sel" / "_stats.json").read_text(encoding="utf-8"))
    assert stats["kept"] + stats["rejected"] == 40 and stats["settings"]["rouge_threshold"] is None

    result = runner.invoke(main, ["instruct", "tokenize", "-i", str(tmp_path / "sel" / "mix.json"), "-o",
                                  str(tmp_path / "tok"), "--tokenizer", str(TOKENIZER_DIR), "--template", "chatglm",
                                  "--max-source-len", "64", "--max-target-len", "32"])
    assert result.exit_code == 0, result.output
    assert f"wrote {stats['kept']}" in result.output

    result = runner.invoke(main, ["instruct", "split", "-i", str(tmp_path / "mix.json"), "-o", str(tmp_path / "split"),
                                  "--provenance", str(tmp_path / "mix.json.provenance.jsonl"), "--ratios", "0.5,0.25,0.25"])
    assert result.exit_code == 0, result.output
    assert "train 20, dev 10, test 10" in result.output
