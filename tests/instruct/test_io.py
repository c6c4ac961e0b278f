"""The one instruction-file reader, format detector and atomic writer (``instruct.io``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import orjson
import pytest

from corpus.shards import temp_path
from instruct.io import (
    COMPACT,
    SPACED,
    RecordWriter,
    Rejected,
    count_records,
    detect_format,
    iter_json_records,
    read_records,
    remove_stale_temporaries,
    stdlib_loads,
    write_records,
)


def test_a_bad_line_is_a_rejection_with_its_line_and_the_rest_is_read(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n\n{broken\n[1, 2]\n{"a": 2}\n', encoding="utf-8")
    items = list(iter_json_records(path, reason="bad", objects=True))
    assert [where for where, _ in items] == ["x.jsonl:1", "x.jsonl:3", "x.jsonl:4", "x.jsonl:5"]
    bad, not_object = items[1][1], items[2][1]
    assert isinstance(bad, Rejected) and bad.reason == "bad" and bad.line == 3 and bad.raw == "{broken"
    assert isinstance(not_object, Rejected) and not_object.detail == "not a JSON object" and not_object.line == 4
    assert items[0][1] == {"a": 1} and items[3][1] == {"a": 2}
    # without ``objects`` a list is a value like any other: the converter decides
    assert list(iter_json_records(path, reason="bad"))[2][1] == [1, 2]


def test_array_one_object_and_a_broken_array(tmp_path):
    array = tmp_path / "a.json"
    array.write_text('[{"a": 1}, 7]', encoding="utf-8")
    items = list(iter_json_records(array, reason="bad", objects=True))
    assert items[0] == ("a.json[0]", {"a": 1})
    assert isinstance(items[1][1], Rejected) and items[1][1].detail == "array item is not an object"

    one = tmp_path / "one.json"
    one.write_text('{\n  "instruction": "x",\n  "output": "y"\n}\n', encoding="utf-8")
    assert list(iter_json_records(one, reason="bad")) == [("one.json", {"instruction": "x", "output": "y"})]

    broken = tmp_path / "b.json"
    broken.write_text('[{"a": 1}, {"a": ', encoding="utf-8")
    [(where, rejected)] = list(iter_json_records(broken, reason="bad"))
    assert where == "b.json" and isinstance(rejected, Rejected) and rejected.line is None


def test_json_lines_whose_first_line_is_an_array_are_read_line_by_line(tmp_path):
    """A "[" at the start is an array file only when the file parses as one: JSON Lines that happen to
    open with an array line keep their other records (one odd line must not cost the file)."""
    path = tmp_path / "x.jsonl"
    path.write_text('[1, 2]\n{"a": 1}\n{broken\n{"a": 2}\n', encoding="utf-8")
    items = list(iter_json_records(path, reason="bad", objects=True))
    assert [where for where, _ in items] == ["x.jsonl:1", "x.jsonl:2", "x.jsonl:3", "x.jsonl:4"]
    assert [type(value) for _, value in items] == [Rejected, dict, Rejected, dict]
    assert count_records(path) == 4
    multi_line_broken = tmp_path / "b.json"
    multi_line_broken.write_text('[\n  {"a": 1},\n  {"a": \n', encoding="utf-8")
    [(where, rejected)] = list(iter_json_records(multi_line_broken, reason="bad"))
    assert where == "b.json" and isinstance(rejected, Rejected)
    assert count_records(multi_line_broken) is None
    multi_line = tmp_path / "m.json"
    multi_line.write_text('[\n  {"a": 1},\n  {"a": 2}\n]\n', encoding="utf-8")
    assert count_records(multi_line) == 2 and len(list(iter_json_records(multi_line, reason="bad"))) == 2
    one_line = tmp_path / "o.json"
    one_line.write_text('[{"a": 1}, {"a": 2}, {"a": 3}]\n', encoding="utf-8")
    assert count_records(one_line) == 3 and len(list(iter_json_records(one_line, reason="bad"))) == 3


def test_too_deep_is_a_rejection_not_a_crash(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n{"x": ' + "[" * 100_000 + "]" * 100_000 + "}\n", encoding="utf-8")
    for loads in (stdlib_loads, orjson.loads):
        [(_, first), (_, rejected)] = list(iter_json_records(path, reason="bad", loads=loads))
        assert first == {"a": 1} and isinstance(rejected, Rejected) and rejected.line == 2


def test_stdlib_loads_keeps_what_orjson_cannot(tmp_path):
    path = tmp_path / "n.jsonl"
    path.write_text('{"big": 123456789012345678901234567890, "x": NaN}\n', encoding="utf-8")
    [(_, record)] = list(iter_json_records(path, reason="bad", loads=stdlib_loads))
    assert record["big"] == 123456789012345678901234567890
    [(_, refused)] = list(iter_json_records(path, reason="bad"))  # orjson: NaN is not JSON
    assert isinstance(refused, Rejected)


def test_read_records_stops_at_a_bad_line_with_its_place(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n{broken\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"x\.jsonl:2: bad JSON line"):
        read_records(path)
    path.write_text('{"a": 1}\n[1]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="JSON object"):
        read_records(path)


@pytest.mark.parametrize(("record", "fmt"), [
    ({"instruction": "q", "output": "a"}, "alpaca"),
    ({"conversations": [{"from": "human", "value": "q"}]}, "sharegpt"),
    ({"messages": [{"role": "user", "content": "q"}]}, "openai"),
    # a list of turns wins over an instruction kept beside it
    ({"instruction": "seed", "conversations": [{"from": "human", "value": "q"}]}, "sharegpt"),
    ({"instruction": "seed", "messages": []}, "openai"),
    # a conversations field that is not a list is no conversation
    ({"instruction": "q", "conversations": "n/a"}, "alpaca"),
    ({"question": "q"}, None),
])
def test_one_detector_one_precedence(record, fmt):
    assert detect_format(record) == fmt


def test_sft_and_translate_agree_on_the_format():
    from instruct.sft.io import record_format
    from instruct.translate import detect_format as translate_format

    both = {"instruction": "seed", "conversations": [{"from": "human", "value": "q"}]}
    assert record_format(both) == "sharegpt" and translate_format(both) == "sharegpt"
    assert translate_format({"messages": []}) == "sharegpt"  # translated as role/content turns


@pytest.mark.parametrize(("layout", "rows", "expected"), [
    (COMPACT, [], b"[\n\n]\n"),
    (COMPACT, [{"a": "é"}, {"b": 1}], b'[\n{"a":"\xc3\xa9"},\n{"b":1}\n]\n'),
    (SPACED, [], b"[\n]\n"),
    (SPACED, [{"a": "é"}, {"b": 1}], b'[\n  {"a": "\xc3\xa9"},\n  {"b": 1}\n]\n'),
])
def test_layouts_byte_for_byte(tmp_path, layout, rows, expected):
    path = tmp_path / "out.json"
    assert write_records(path, rows, layout=layout) == len(rows)
    assert path.read_bytes() == expected
    assert json.loads(path.read_bytes()) == rows
    lines = tmp_path / "out.jsonl"
    write_records(lines, rows, layout=layout)
    assert [json.loads(line) for line in lines.read_bytes().splitlines()] == rows


def test_writer_renames_only_on_commit(tmp_path):
    path = tmp_path / "sub" / "out.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"old\n")
    writer = RecordWriter(path)
    writer.write({"a": 1})
    assert path.read_bytes() == b"old\n" and temp_path(path).exists()
    writer.abort()
    assert path.read_bytes() == b"old\n" and not temp_path(path).exists()
    with pytest.raises(RuntimeError), RecordWriter(path) as failing:
        failing.write({"a": 2})
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old\n" and sorted(p.name for p in path.parent.iterdir()) == ["out.jsonl"]
    with RecordWriter(path) as ok:
        ok.write({"a": 3})
    assert path.read_bytes() == b'{"a":3}\n'


def test_temporaries_of_dead_runs_are_removed_live_ones_kept(tmp_path):
    path = tmp_path / "out.jsonl"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    dead_tmp = tmp_path / f"out.jsonl.knowforge-tmp-{int(dead.stdout)}"
    live_tmp = tmp_path / f"out.jsonl.knowforge-tmp-{os.getppid()}"
    other = tmp_path / f"other.jsonl.knowforge-tmp-{int(dead.stdout)}"
    for p in (dead_tmp, live_tmp, other):
        p.write_bytes(b"x")
    assert remove_stale_temporaries(path) == [dead_tmp]
    assert live_tmp.exists() and other.exists()
