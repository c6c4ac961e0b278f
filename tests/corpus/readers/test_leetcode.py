"""LeetcodeReader on LeetCodeDataset lines (nested meta and flat fields) and a doocs problem folder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from corpus.readers.html import html_to_text
from corpus.readers.leetcode import LeetcodeReader
from corpus.records import rejection

SAMPLES = Path(__file__).parents[3] / "data_samples" / "leetcode"
DATASET = SAMPLES / "LeetCodeDataset-v0.1.0-test.head15.jsonl"


def test_dataset_nested_meta():
    docs = list(LeetcodeReader()(DATASET, Counter()))
    first = json.loads(DATASET.read_text().splitlines()[0])
    assert len(docs) == 15 and docs[0]["id"] == "leetcode:2832"
    assert docs[0]["text"].startswith("# 2832. Find the longest equal subarray\n\nYou are given")
    assert docs[0]["text"].endswith("```python\n" + first["completion"].rstrip() + "\n```")
    assert docs[0]["meta"]["difficulty"] == "Medium"


def test_dataset_flat_fields_with_html_and_broken_line(tmp_path):
    record = {"question_id": 1, "task_id": "two-sum", "difficulty": "Easy", "tags": ["Array"],
              "problem_description": "<p>Return <code>i</code>.</p><ul><li>one</li></ul>",
              "starter_code": "class Solution:\n", "completion": "class Solution:\n    pass\n"}
    path = tmp_path / "flat.jsonl"
    path.write_text(json.dumps(record) + "\n" + '{"question_id": 2, "task_id": \n')
    docs = list(LeetcodeReader()(path, Counter()))
    assert docs[0]["text"] == "# 1. Two sum\n\nReturn `i`.\n\n- one\n\n```python\nclass Solution:\n    pass\n```"
    assert docs[0]["meta"]["tags"] == ["Array"] and rejection(docs[1])["reason"] == "bad_json"


def test_doocs_folder_en_and_zh():
    units = LeetcodeReader().discover([SAMPLES])
    folder_unit = next(u for u in units if u.is_dir())
    (doc,) = LeetcodeReader()(folder_unit, Counter())
    assert doc["id"] == "leetcode:1" and doc["meta"]["difficulty"] == "Easy"
    assert doc["meta"]["tags"] == ["Array", "Hash Table"]
    text = doc["text"]
    assert text.startswith("# 1. Two Sum\n\nGiven an array of integers `nums`")
    assert "Input: nums = [2,7,11,15], target = 9\nOutput: [0,1]" in text  # <pre> kept line by line
    assert "- `2 <= nums.length <= 10^4`" in text and "<" + "p>" not in text
    assert text.endswith("```python\n" + (folder_unit / "0001.Two Sum/Solution.py").read_text().rstrip() + "\n```")
    (zh,) = LeetcodeReader(doocs_lang="zh", solution_ext="go")(folder_unit, Counter())
    assert zh["id"] == "leetcode:1:zh" and "两数之和" in zh["text"] and "```go\n" in zh["text"]


def test_html_pre_and_nested_lists():
    html = "<ol><li>a <code>x</code></li><li>b<ul><li>c</li></ul></li></ol><pre>\n  k = 1\n    j\n</pre>"
    assert html_to_text(html) == "1. a `x`\n2. b\n\n  - c\n\n  k = 1\n    j"
