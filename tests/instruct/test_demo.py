"""The IE demo builds zh and en instruction files from data_samples/ie and reports their counts."""

from __future__ import annotations

from instruct.demo import run_ie_demo


def test_run_ie_demo(tmp_path):
    lines: list[str] = []
    report = run_ie_demo(tmp_path, lines.append)
    for lang in ("zh", "en"):
        path = tmp_path / f"instructions_{lang}.jsonl"
        assert report[lang]["instructions"] == len(path.read_bytes().splitlines()) > 0
    assert any("zh:" in line for line in lines) and any("en:" in line for line in lines)
    assert report["datasets"]["duie"]["rejected"] == 1
