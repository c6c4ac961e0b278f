"""WudaoReader on both WuDao shapes (RECORDS wrapper, bare array) and on broken files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from corpus.readers.wudao import WudaoReader
from corpus.records import rejection

SAMPLES = Path(__file__).parents[3] / "data_samples" / "wudao"


def read(path: Path) -> list[dict]:
    return list(WudaoReader()(path, Counter()))


def test_records_wrapper_and_bare_array():
    wrapped = read(SAMPLES / "jinrong_data.json")
    assert len(wrapped) == len(json.loads((SAMPLES / "jinrong_data.json").read_text())["RECORDS"])
    assert wrapped[0]["id"] == "wudao:jinrong_data:0" and wrapped[0]["text"].startswith("平安信用卡")
    array = read(SAMPLES / "wudao-array-sample.json")
    kept = [d for d in array if rejection(d) is None]
    assert [d["id"] for d in kept][:2] == ["wudao:6b1f0c3e2a8d4b5c9e7f1a2b3c4d5e6f",
                                           "wudao:0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"]
    assert kept[0]["meta"]["title"] == "毛巾日" and kept[0]["meta"]["dataType"] == "百科"
    assert [rejection(d)["reason"] for d in array if rejection(d)] == ["missing_text"]


def test_cut_array_keeps_earlier_records(tmp_path):
    raw = (SAMPLES / "jinrong_data.json").read_bytes()
    path = tmp_path / "cut.json"
    path.write_bytes(raw[: len(raw) // 2])
    docs = read(path)
    assert all(rejection(d) is None for d in docs[:-1]) and len(docs) > 3
    assert rejection(docs[-1])["reason"] == "truncated_stream"


def test_broken_record_stops_with_bad_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[{"id": 0, "content": "第一条"}, {"id": 1, "content": "第二条" "oops"}, {"id": 2}]')
    docs = read(path)
    assert docs[0]["text"] == "第一条" and rejection(docs[1])["reason"] == "bad_json" and len(docs) == 2


def test_runner_reads_wudao(tmp_path):
    from corpus.runner import run_stage
    from corpus.shards import list_shards, read_docs

    run_stage(WudaoReader(), inputs=[SAMPLES], output=tmp_path / "out", workers=1, force=False, progress=False)
    ids = {d["id"] for s in list_shards(tmp_path / "out") for d in read_docs(s)}
    assert "wudao:6b1f0c3e2a8d4b5c9e7f1a2b3c4d5e6f" in ids and "wudao:jinrong_data:0" in ids
