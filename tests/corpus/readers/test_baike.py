"""BaikeReader on page records and baike2018qa lines, as JSON lines and as a JSON array."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from corpus.readers.baike import BAIKE_PAGE, BAIKE_QA, BaikeReader
from corpus.records import rejection

SAMPLES = Path(__file__).parents[3] / "data_samples" / "baike"


def test_pages_render_summary_and_sections():
    counters: Counter = Counter()
    docs = list(BaikeReader()(SAMPLES / "baike-pages.jsonl", counters))
    adams = docs[0]
    assert adams["id"] == "baike:7412345" and adams["meta"]["kind"] == BAIKE_PAGE
    assert adams["text"].startswith("道格拉斯·亚当斯（Douglas Adams")
    assert "\n\n人物经历\n亚当斯出生于英国剑桥" in adams["text"] and "《宇宙尽头的餐馆》（1980）" in adams["text"]
    assert [rejection(d)["reason"] for d in docs if rejection(d)] == ["missing_text", "bad_json"]
    assert counters[BAIKE_PAGE] == 2


def test_qa_lines_and_json_array(tmp_path):
    lines = (SAMPLES / "baike2018qa-sample.json").read_text(encoding="utf-8").splitlines()
    array = tmp_path / "qa-array.json"
    array.write_text("[" + ",\n".join(lines) + "]", encoding="utf-8")
    for path in (SAMPLES / "baike2018qa-sample.json", array):
        counters: Counter = Counter()
        docs = list(BaikeReader()(path, counters))
        assert counters[BAIKE_QA] == 3 and docs[1]["id"] == "baike_qa:qid_6314127891126584032"
        question = json.loads(lines[1])
        assert docs[1]["text"] == f"{question['title']}\n{question['desc']}\n\n{question['answer']}"
        assert docs[0]["text"].startswith("人站在地球上为什么没有头朝下的感觉\n\n")  # empty desc left out
        assert docs[1]["meta"]["category"] == "文化/艺术-文学"
