"""The IE spine end to end: convert -> build -> evaluate through the options dataclasses; the build
manifest gives evaluation the instruction style, and without it evaluation reads the rows and agrees."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from corpus.resources import shipped
from instruct.build.manifest import file_sha256, manifest_path, read_manifest
from instruct.demo import run_ie_demo
from instruct.evaluate import evaluate_rows, parsed_style, row_style
from instruct.formats import read_rows
from instruct.spine import (
    BuildOptions,
    ConvertOptions,
    EvaluateOptions,
    build,
    build_lines,
    convert,
    convert_lines,
    evaluate,
    evaluate_lines,
    recorded_style,
)

SAMPLES = shipped("data_samples/ie")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The IE demo's output, built once for the module."""
    out = tmp_path_factory.mktemp("ie-demo")
    run_ie_demo(out, lambda line: None)
    return out


def _chain(tmp_path: Path, style: str, output_format: str = "alpaca") -> tuple[BuildOptions, dict]:
    conv = ConvertOptions(format="duie", input=SAMPLES / "duie/train.jsonl", output=tmp_path / "duie.jsonl")
    stats = convert(conv)
    assert stats["records"] == 6 and stats["rejected"] == 1
    assert convert_lines(conv, stats)[0].startswith("duie: 6 records,")
    options = BuildOptions(input=conv.output, output=tmp_path / f"re.{style}.jsonl", task="re", lang="zh",
                           style=style, output_format=output_format, split="test" if style == "iepile" else "train")
    result = build(options)
    return options, result.stats


@pytest.mark.parametrize("style", ["knowlm", "iepile"])
def test_convert_build_evaluate_scores_gold_against_itself(tmp_path, style):
    options, stats = _chain(tmp_path, style)
    manifest = read_manifest(options.output)
    assert manifest["style"] == style and manifest["rows"] == stats["instructions"] > 0
    assert manifest["options"]["task"] == "re" and manifest["sha256"] == file_sha256(options.output)
    report_path = tmp_path / "report.json"
    ev = EvaluateOptions(pred=options.output, gold=options.output, task="re", output=report_path)
    report = evaluate(ev)
    assert report["scores"]["triple"]["f1"] == 1.0 and report["errors"] == report["missing"] == 0
    assert orjson.loads(report_path.read_bytes()) == report
    assert evaluate_lines(ev, report)[0].startswith("triple    P=1.0000 R=1.0000 F1=1.0000")


def test_build_lines_and_compare(tmp_path):
    options, _ = _chain(tmp_path, "knowlm")
    compared = BuildOptions(**{**options.__dict__, "compare": options.output})
    result = build(compared)
    n = result.stats["instructions"]
    assert result.compare == (result.stats["empty_answers"], n)
    lines = build_lines(compared, result)
    assert lines[0] == f"{n} instructions from {result.stats['records']} records (0 rejected) -> {options.output}"
    assert f"; {options.output}: " in lines[1] and lines[2].startswith("  per_source: ")


def test_manifest_describes_only_its_own_bytes(tmp_path):
    options, _ = _chain(tmp_path, "knowlm")
    assert recorded_style(options.output) == "knowlm"
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(options.output.read_bytes())
    manifest_path(copy).write_bytes(manifest_path(options.output).read_bytes())
    assert read_manifest(copy) is None  # it names another file
    options.output.write_bytes(options.output.read_bytes() + b"\n")
    assert read_manifest(options.output) is None  # edited after the build
    manifest_path(copy).write_bytes(b"{not json")
    assert recorded_style(copy) is None


def test_recorded_style_wins_over_the_instruction_text():
    iepile_text = orjson.dumps({"instruction": "x", "schema": ["a"], "input": "t"}).decode()
    row = {"instruction": iepile_text, "meta": {"style": "knowlm"}}
    assert parsed_style(row) == "iepile"
    assert row_style(row) == "knowlm"  # meta.style, written by the builder, beats parsing
    assert row_style({"instruction": iepile_text}, "knowlm") == "knowlm"  # so does the manifest
    assert row_style({"instruction": iepile_text}) == "iepile"  # nothing recorded: parse
    assert row_style({"instruction": "抽取三元组"}) == "knowlm"


def _unrecorded(rows: list[dict]) -> list[dict]:
    """Rows as a file no build step described would hold them: no ``meta.style``."""
    return [{**r, "meta": {k: v for k, v in r["meta"].items() if k != "style"}} for r in rows]


def test_recorded_and_parsed_style_agree_on_the_demo_output(demo):
    parts = sorted((demo / "ie_parts").glob("*.*.*.jsonl"))
    assert len(parts) == 6
    for path in [*parts, demo / "instructions_zh.jsonl", demo / "instructions_en.jsonl"]:
        rows = read_rows(path)
        recorded = recorded_style(path)
        assert (recorded is None) == path.name.startswith("instructions_")  # the merged files have no manifest
        for row in rows:
            assert row_style(row, recorded) == parsed_style(row) == row["meta"]["style"]
    for path in parts:
        task = path.name.split(".")[1]
        rows = read_rows(path)
        answers = [r["output"] for r in rows]
        with_manifest = evaluate_rows(task, rows, answers, style=recorded_style(path))
        assert with_manifest == evaluate_rows(task, _unrecorded(rows), answers)
        assert all(s["f1"] == 1.0 for s in with_manifest["scores"].values())


def test_evaluate_falls_back_to_the_rows_without_a_manifest(tmp_path, demo):
    path = tmp_path / "duee.jsonl"
    rows = _unrecorded(read_rows(demo / "ie_parts" / "duee.ee.iepile.jsonl"))
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    assert recorded_style(path) is None
    report = evaluate(EvaluateOptions(pred=path, task="ee"))
    assert report["scores"]["event"]["f1"] == report["scores"]["argument"]["f1"] == 1.0


def test_demo_scores_every_dataset_gold_against_itself(demo):
    lines: list[str] = []
    report = run_ie_demo(demo, lines.append)
    assert {d["gold_f1"] for d in report["datasets"].values()} == {1.0}
    assert all("gold-vs-gold F1 1.00" in line for line in lines[:6])


def test_the_report_is_written_to_the_path_itself(tmp_path):
    """``-o /dev/full`` must fail with ENOSPC on the device, not replace the device by a renamed file."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    options, _ = _chain(tmp_path, "knowlm")
    with pytest.raises(OSError, match="No space left on device"):
        evaluate(EvaluateOptions(pred=options.output, task="re", output=Path("/dev/full")))
    assert Path("/dev/full").is_char_device()
