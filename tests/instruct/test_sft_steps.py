"""The SFT steps through their options: mix (with overrides) -> select -> tokenize -> split, the CLI's
"off" spellings (-1, empty) turned into switched-off rules, ratios parsed, a batch output ingested."""

from __future__ import annotations

import json

import pytest

from instruct.sft import io
from instruct.sft_steps import (
    BatchIngestOptions,
    MixOptions,
    SelectOptions,
    SplitOptions,
    TokenizeOptions,
    batch_ingest_lines,
    mix_lines,
    parse_ratios,
    run_batch_ingest,
    run_mix,
    run_select,
    run_split,
    run_tokenize,
    select_lines,
    split_lines,
    tokenize_lines,
)
from tests.instruct.sft.conftest import SAMPLES, TOKENIZER_DIR


def test_mix_select_tokenize_split(tmp_path):
    for name in ("zh", "en"):
        io.write_records(tmp_path / f"{name}.json", io.read_records(SAMPLES / f"alpaca_{name}.sample30.json"))
    config = tmp_path / "mix.yaml"
    config.write_text("seed: 1\ntotal: 10\nsources:\n  - {name: zh, path: zh.json, weight: 1}\n"
                      "  - {name: en, path: en.json, weight: 1}\n", encoding="utf-8")
    mixed = MixOptions(config=config, output=tmp_path / "mix.json", base_dir=tmp_path, total=40)
    manifest = run_mix(mixed)
    assert manifest["total"] == 40  # the option overrides the config's total
    assert mix_lines(mixed, manifest)[0].startswith(f"mixed 40 records into {mixed.output}: zh 20 (50.00%)")

    selected = SelectOptions(input=mixed.output, output=tmp_path / "sel", rouge_threshold=-1)
    stats = run_select(selected)
    assert stats["kept"] + stats["rejected"] == 40 and stats["settings"]["rouge_threshold"] is None
    assert select_lines(selected, stats)[1].endswith(f"in {tmp_path / 'sel' / 'dataset_info.json'}")

    tokenized = TokenizeOptions(input=tmp_path / "sel" / "mix.json", output=tmp_path / "tok", tokenizer=TOKENIZER_DIR,
                                template="chatglm", max_source_len=64, max_target_len=32)
    assert f"wrote {stats['kept']} to " in tokenize_lines(tokenized, run_tokenize(tokenized))[0]

    split = SplitOptions(input=mixed.output, output=tmp_path / "split", ratios="0.5,0.25,0.25",
                         provenance=tmp_path / "mix.json.provenance.jsonl")
    assert split_lines(split, run_split(split)) == ["40 records -> train 20, dev 10, test 10"]


def test_select_options_switch_rules_off_as_the_cli_spells_it(tmp_path):
    settings = SelectOptions(input=tmp_path / "x.json", output=tmp_path, languages=" , ", near_threshold=-1,
                             rouge_threshold=-0.5).settings()
    assert settings.languages is None and settings.near_threshold is None and settings.rouge_threshold is None
    default = SelectOptions(input=tmp_path / "x.json", output=tmp_path).settings()
    assert default.languages == ("zh", "en") and default.near_threshold == 0.8 and default.rouge_threshold == 0.7


def test_parse_ratios():
    assert parse_ratios("0.8,0.1,0.1") == [0.8, 0.1, 0.1]
    with pytest.raises(ValueError, match="expected three numbers like 0.98,0.01,0.01, got '0.8;0.2'"):
        parse_ratios("0.8;0.2")


def test_batch_ingest_counts_what_it_cannot_store(tmp_path):
    output = tmp_path / "batch_output.jsonl"
    output.write_text(json.dumps({"id": "r1", "custom_id": "f" * 64, "response": {"status_code": 200, "body": {}}})
                      + "\n{broken\n", encoding="utf-8")
    options = BatchIngestOptions(batch_output=output, cache=tmp_path / "cache.sqlite", model="gpt-4o")
    report = run_batch_ingest(options)
    assert (report.stored, report.unknown, report.malformed) == (0, 1, 1)
    lines = batch_ingest_lines(options, report)
    assert lines[0] == "stored 0, errors 0 (sent again on the next run), unknown ids 1, malformed lines 1"
    assert len(lines) == 2  # the cost line, since a model is named
