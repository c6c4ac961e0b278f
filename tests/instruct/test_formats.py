"""Alpaca / IEPile / ShareGPT writers and the reader that normalises them back."""

from __future__ import annotations

import orjson
import pytest

from instruct.formats import read_rows, write_rows

ROW = {"id": "r#0", "task": "re", "source": "duie", "instruction": "抽取三元组", "input": "文本",
       "output": "(a,作者,b)", "meta": {"format": "tuple"}}


def test_alpaca_json_array(tmp_path):
    out = tmp_path / "a.json"
    assert write_rows(out, [ROW, ROW], "alpaca") == 2
    data = orjson.loads(out.read_bytes())
    assert data[0]["instruction"] == "抽取三元组" and data[0]["input"] == "文本" and data[0]["output"] == "(a,作者,b)"


def test_iepile_rows_fold_input_and_keep_label(tmp_path):
    out = tmp_path / "i.jsonl"
    write_rows(out, [ROW, {**ROW, "label": "[]"}], "iepile")
    first, second = (orjson.loads(x) for x in out.read_bytes().splitlines())
    assert first["task"] == "RE" and first["instruction"] == "抽取三元组\n文本" and "output" in first
    assert second["label"] == "[]" and "output" not in second


def test_sharegpt_round_trip(tmp_path):
    out = tmp_path / "s.jsonl"
    write_rows(out, [ROW], "sharegpt")
    raw = orjson.loads(out.read_bytes())
    assert [t["from"] for t in raw["conversations"]] == ["human", "gpt"]
    back = read_rows(out)[0]
    assert back["instruction"] == "抽取三元组\n文本" and back["output"] == "(a,作者,b)"


def test_unknown_format(tmp_path):
    with pytest.raises(ValueError):
        write_rows(tmp_path / "x.jsonl", [ROW], "csv")
