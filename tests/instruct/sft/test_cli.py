"""The four SFT commands run end to end from the command line."""

from __future__ import annotations

import json

from click.testing import CliRunner

from cli import main
from instruct.sft import io
from tests.instruct.sft.conftest import SAMPLES, SP_MODEL, TOKENIZER_DIR


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


def test_tokenize_takes_a_sentencepiece_model_a_tokenizer_json_and_a_directory(tmp_path):
    """`--tokenizer` accepts what `pack --tokenizer` accepts: the LLaMA-style .model (the shared sample's
    file, tests/fixtures/tokenizer/llama-style.model), its tokenizer.json and the HF directory."""
    from datasets import load_from_disk

    runner = CliRunner()
    src = SAMPLES / "alpaca_zh.sample30.json"
    written = {}
    for name, path in {"model": SP_MODEL, "json": TOKENIZER_DIR / "tokenizer.json", "dir": TOKENIZER_DIR}.items():
        out = tmp_path / name
        result = runner.invoke(main, ["instruct", "tokenize", "-i", str(src), "-o", str(out), "--tokenizer", str(path)])
        assert result.exit_code == 0, result.output
        ds = load_from_disk(str(out))
        manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
        assert ds.num_rows == manifest["counts"]["written"] > 0 and manifest["tokenizer"] == str(path)
        for ex in ds:
            assert ex["input_ids"][0] == 1 and ex["input_ids"][-1] == 2  # BOS ... EOS of the LLaMA model
            assert ex["labels"][0] == -100 and ex["labels"][-1] == 2
        written[name] = [ex["labels"] for ex in ds]
    assert written["json"] == written["dir"]
    # the model adds a dummy prefix at the start of a record only: every answer is tokenised alike
    trained = {k: [[t for t in labels if t != -100] for labels in v] for k, v in written.items()}
    assert trained["model"] == trained["dir"]


def test_chat_template_with_a_sentencepiece_model_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["instruct", "tokenize", "-i", str(SAMPLES / "alpaca_zh.sample30.json"), "-o",
                                       str(tmp_path / "t"), "--tokenizer", str(SP_MODEL), "--template", "chat"])
    assert result.exit_code == 1 and "needs a Hugging Face tokenizer directory" in result.output
