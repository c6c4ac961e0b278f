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
    # v0.1.0 rows hold only LeetCode's internal id (2832 for problem 2831): never used for ids or titles.
    assert len(docs) == 15 and docs[0]["id"] == "leetcode:find-the-longest-equal-subarray"
    assert docs[0]["text"].startswith("# Find the longest equal subarray\n\nYou are given")
    assert docs[0]["meta"]["internal_question_id"] == 2832 and "frontend_id" not in docs[0]["meta"]
    assert not any(d["text"].startswith(f"# {d['meta']['internal_question_id']}.") for d in docs)
    assert len({d["id"] for d in docs}) == 15
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


def _v010_row(slug: str, internal: int, statement: str) -> dict:
    return {"task_id": slug, "completion": "class Solution:\n    pass\n",
            "meta": {"question_id": internal, "difficulty": "Easy", "question_title": statement}}


def _flat_row(slug: str, number: int, statement: str) -> dict:
    return {"task_id": slug, "question_id": number, "problem_description": statement, "completion": "pass\n"}


def test_no_two_problems_share_an_id_and_siblings_stay_apart(tmp_path):
    # The same internal number on different problems (v0.1.0 had 11 such collisions), and I/II siblings.
    v010 = [_v010_row("two-sum", 1, "Find two numbers adding up to target."),
            _v010_row("two-sum-ii-input-array-is-sorted", 1, "Find two numbers adding up to target, sorted."),
            _v010_row("jump-game", 55, "Can you reach the last index?"),
            _v010_row("jump-game-ii", 55, "Fewest jumps to reach the last index?")]
    flat = [_flat_row("two-sum", 1, "Find two numbers adding up to target."),
            _flat_row("two-sum-ii-input-array-is-sorted", 167, "Find two numbers adding up to target, sorted."),
            _flat_row("jump-game", 55, "Can you reach the last index?"),
            _flat_row("jump-game-ii", 45, "Fewest jumps to reach the last index?"),
            _flat_row("jump-game-iii", 45, "A number claimed twice: the slug decides.")]
    ids = {}
    for name, rows in (("v010", v010), ("flat", flat)):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        counters: Counter = Counter()
        docs = list(LeetcodeReader()(path, counters))
        assert len({d["id"] for d in docs}) == len(rows), name  # unique per source file
        ids[name] = {d["meta"]["task_id"]: d for d in docs}
        if name == "flat":
            assert counters["leetcode_id_conflict"] == 1
    assert ids["v010"]["two-sum-ii-input-array-is-sorted"]["text"].startswith("# Two sum II input array is sorted")
    assert ids["v010"]["jump-game-ii"]["id"] == "leetcode:jump-game-ii"
    assert ids["flat"]["two-sum"]["id"] == "leetcode:1"
    assert ids["flat"]["two-sum-ii-input-array-is-sorted"]["id"] == "leetcode:167"
    assert ids["flat"]["jump-game-ii"]["text"].startswith("# 45. Jump game II\n")
    assert ids["flat"]["jump-game-iii"]["id"] == "leetcode:jump-game-iii"


def test_explicit_frontend_id_wins(tmp_path):
    row = {**_v010_row("find-the-longest-equal-subarray", 2832, "Longest equal subarray."),
           "question_frontend_id": "2831"}
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    (doc,) = LeetcodeReader()(path, Counter())
    assert doc["id"] == "leetcode:2831" and doc["text"].startswith("# 2831. Find the longest equal subarray")
