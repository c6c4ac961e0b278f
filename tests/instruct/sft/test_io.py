"""Record formats: round trips, HF datasets loading, and LLaMA-Factory's view of our dataset_info entries."""

from __future__ import annotations

import json

import pytest

from instruct.sft import io
from tests.instruct.sft.conftest import SAMPLES

ALPACA = {"id": "a1", "instruction": "把句子翻译成英文。", "input": "我爱北京。", "output": "I love Beijing."}
SHAREGPT = {"id": "s1", "conversations": [
    {"from": "system", "value": "You are terse."},
    {"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."},
    {"from": "human", "value": "Name a prime."}, {"from": "gpt", "value": "7"}]}


def test_alpaca_to_conversation_keeps_input_apart():
    conv = io.to_conversation(ALPACA)
    assert conv.turns == (("把句子翻译成英文。", "I love Beijing."),)
    assert conv.first_input == "我爱北京。"
    assert conv.messages()[0] == {"role": "user", "content": "把句子翻译成英文。\n我爱北京。"}


def test_sharegpt_system_and_turns():
    conv = io.to_conversation(SHAREGPT)
    assert conv.system == "You are terse."
    assert conv.turns == (("Hi", "Hello."), ("Name a prime.", "7"))


@pytest.mark.parametrize("fmt", io.FORMATS)
def test_round_trip_through_every_format(fmt):
    for row in (ALPACA, SHAREGPT):
        back = io.to_conversation(io.convert_record(row, fmt))
        conv = io.to_conversation(row)
        assert back.messages() == conv.messages()
        assert back.id == conv.id


def test_alpaca_history_becomes_turns():
    row = {"instruction": "And 3+3?", "input": "", "output": "6", "history": [["2+2?", "4"]]}
    conv = io.to_conversation(row)
    assert conv.turns == (("2+2?", "4"), ("And 3+3?", "6"))
    assert io.to_alpaca(conv)["history"] == [["2+2?", "4"]]


@pytest.mark.parametrize("row, message", [
    ({"conversations": [{"from": "human", "value": "x"}]}, "expected pairs"),
    ({"conversations": [{"from": "gpt", "value": "x"}, {"from": "human", "value": "y"}]}, "expected user/assistant"),
    ({"text": "no instruction"}, "none of instruction"),
])
def test_malformed_records_raise(row, message):
    with pytest.raises(ValueError, match=message):
        io.to_conversation(row)


def test_read_shipped_sharegpt_sample():
    rows = io.read_records(SAMPLES / "sharegpt_dummy.sample20.json")
    assert len(rows) == 20
    assert all(len(io.to_conversation(r).turns) >= 1 for r in rows)


def test_jsonl_bad_line_names_the_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"instruction": "a", "output": "b"}\n{broken\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x.jsonl:2"):
        io.read_records(path)


@pytest.mark.parametrize("fmt, suffix", [("alpaca", ".json"), ("alpaca", ".jsonl"), ("sharegpt", ".json"),
                                         ("openai", ".jsonl")])
def test_written_files_load_with_datasets_and_llamafactory_entry(tmp_path, fmt, suffix):
    """HF ``load_dataset('json')`` reads our file, and the dataset_info entry maps every row the way
    LLaMA-Factory's converter would, to the conversation we wrote."""
    from datasets import load_dataset

    rows = [io.convert_record(r, fmt) for r in (ALPACA, SHAREGPT)]
    path = tmp_path / f"data{suffix}"
    io.write_records(path, rows)
    entry = io.dataset_info_entry(path.name, fmt, system=fmt == "alpaca", history=fmt == "alpaca")
    io.write_dataset_info(tmp_path, "ours", entry)
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["ours"]["file_name"] == path.name
    assert info["ours"]["formatting"] == ("alpaca" if fmt == "alpaca" else "sharegpt")

    ds = load_dataset("json", data_files=str(tmp_path / info["ours"]["file_name"]), split="train")
    assert ds.num_rows == 2
    for loaded, original in zip(ds, (ALPACA, SHAREGPT), strict=True):
        view = io.llamafactory_view(loaded, info["ours"])
        conv = io.to_conversation(original)
        assert view["prompt"], "LLaMA-Factory would drop this row as broken"
        assert view["prompt"] + view["response"] == [m for m in conv.messages() if m["role"] != "system"]
        assert view["system"] == conv.system


def test_llamafactory_view_flags_broken_sharegpt():
    entry = io.dataset_info_entry("x.json", "sharegpt")
    row = {"conversations": [{"from": "human", "value": "a"}, {"from": "human", "value": "b"}]}
    assert io.llamafactory_view(row, entry)["prompt"] == []


def test_write_dataset_info_keeps_other_entries(tmp_path):
    io.write_dataset_info(tmp_path, "a", io.dataset_info_entry("a.json", "alpaca"))
    io.write_dataset_info(tmp_path, "b", io.dataset_info_entry("b.json", "openai"))
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"a", "b"}
    assert info["b"]["tags"]["role_tag"] == "role"
