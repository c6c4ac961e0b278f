import bz2
import gzip
import json
from pathlib import Path

import orjson
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.records import rejection
from corpus.shards import (
    BAD_JSON,
    BAD_UTF8,
    MISSING_ID,
    MISSING_TEXT,
    TRUNCATED_STREAM,
    ShardWriter,
    list_shards,
    open_text,
    read_docs,
    shard_name,
)
from tests.conftest import make_docs

SUFFIXES = [".jsonl", ".jsonl.gz", ".jsonl.zst", ".parquet"]

# Text as it comes out of UTF-8 decoding (no lone surrogates); integers as JSON tools accept (64-bit).
utf8_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)))
doc_strategy = st.fixed_dictionaries(
    {
        "id": utf8_text.filter(bool),
        "text": utf8_text,
        "source": st.sampled_from(["zhwiki", "wudao", "code"]),
        "meta": st.dictionaries(utf8_text, st.integers(-(2**63), 2**63 - 1) | utf8_text, max_size=3),
    }
)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_round_trip_every_format(tmp_path, suffix):
    docs = make_docs(25) + [{"id": "zh", "text": "中文，带“引号”。\n第二行", "source": "s", "meta": {"k": [1, 2]}}]
    path = tmp_path / f"part-00000{suffix}"
    with ShardWriter(path) as writer:
        for doc in docs:
            writer.write(doc)
    assert list(read_docs(path)) == docs
    assert list_shards(tmp_path) == [path]
    assert shard_name(path) == "part-00000"


@settings(max_examples=30, deadline=None)
@given(st.lists(doc_strategy, max_size=20), st.sampled_from(SUFFIXES))
def test_round_trip_property(tmp_path_factory, docs, suffix):
    path = tmp_path_factory.mktemp("rt") / f"part-00001{suffix}"
    with ShardWriter(path) as writer:
        for doc in docs:
            writer.write(doc)
    assert list(read_docs(path)) == docs


def test_same_docs_same_bytes(tmp_path):
    for suffix in SUFFIXES[:3]:
        a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        for path in (a, b):
            with ShardWriter(path) as writer:
                for doc in make_docs(50):
                    writer.write(doc)
        assert a.read_bytes() == b.read_bytes(), suffix


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "part-00000.jsonl.zst"
    with pytest.raises(RuntimeError):
        with ShardWriter(path) as writer:
            writer.write(make_docs(1)[0])
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_malformed_lines_are_rejected_with_reason_and_line(tmp_path):
    lines = [
        orjson.dumps(make_docs(1)[0]),
        b'{"id": "x", "text": ',  # bad JSON
        b'{"id": "y", "text": "caf\xe9"}',  # Latin-1 byte: invalid UTF-8
        b'{"id": "z"}',  # no text
        b'{"text": "no id"}',
        b"[1, 2]",
        b"",
    ]
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    docs = list(read_docs(path))
    reasons = [(rejection(d) or {}).get("reason") for d in docs]
    assert reasons == [None, BAD_JSON, BAD_UTF8, MISSING_TEXT, MISSING_ID, BAD_JSON]
    assert [rejection(d)["line"] for d in docs[1:]] == [2, 3, 4, 5, 6]
    assert "caf" in docs[2]["text"]  # the raw line is kept so nothing is lost


@pytest.mark.parametrize("compress", ["gz", "zst"])
def test_truncated_stream_yields_complete_lines_then_reason(tmp_path, compress):
    # Large enough to span many zstd blocks (128 KiB each): zstd only emits whole blocks.
    payload = b"".join(orjson.dumps(d) + b"\n" for d in make_docs(20000))
    data = gzip.compress(payload) if compress == "gz" else zstandard.ZstdCompressor().compress(payload)
    path = tmp_path / f"part-00000.jsonl.{compress}"
    path.write_bytes(data[: len(data) // 2])
    docs = list(read_docs(path))
    assert rejection(docs[-1])["reason"] == TRUNCATED_STREAM
    good = docs[:-1]
    assert len(good) > 100
    assert all(rejection(d) is None for d in good[:-1])
    assert [d["id"] for d in good[:-1]] == [f"d{i}" for i in range(len(good) - 1)]


def test_open_text_reads_bz2(tmp_path):
    path = tmp_path / "raw.json.bz2"
    path.write_bytes(bz2.compress(json.dumps({"a": "文本"}, ensure_ascii=False).encode()))
    with open_text(path) as f:
        assert json.load(f) == {"a": "文本"}


def test_unknown_suffix_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unsupported shard suffix"):
        ShardWriter(Path(tmp_path / "x.csv"))
