import bz2
import errno
import gzip
import io
import json
import os
import tracemalloc
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.records import rejection
from corpus.shards import (
    BAD_JSON,
    BAD_UTF8,
    LINE_TOO_LONG,
    MAX_LINE_BYTES,
    MISSING_ID,
    MISSING_TEXT,
    TRUNCATED_STREAM,
    OutputWriteError,
    ShardWriter,
    Unreadable,
    atomic_path,
    is_temporary,
    iter_json_lines,
    list_shards,
    open_binary,
    open_text,
    read_docs,
    remove_temporaries,
    shard_name,
    temp_path,
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


# --- issue 23: bounded, linear reading; truncation still detected; size limits --------------------------

def _zstd_frames(*payloads: bytes, stream: bool = False) -> bytes:
    """Concatenated zstd frames; ``stream`` uses the streaming writer (no content size, window descriptor)."""
    out = b""
    for payload in payloads:
        cctx = zstandard.ZstdCompressor(write_checksum=True)
        if stream:
            buffer = io.BytesIO()
            with cctx.stream_writer(buffer, closefd=False) as writer:
                writer.write(payload)
            out += buffer.getvalue()
        else:
            out += cctx.compress(payload)
    return out


def _lines(n: int, start: int = 0) -> bytes:
    return b"".join(orjson.dumps(d) + b"\n" for d in make_docs(n + start)[start:])


@pytest.mark.parametrize("stream", [False, True])
def test_concatenated_and_skippable_zstd_frames_read_whole(tmp_path, stream):
    skippable = (0x184D2A53).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    path = tmp_path / "part-00000.jsonl.zst"
    path.write_bytes(_zstd_frames(_lines(3000), stream=stream) + skippable + _zstd_frames(_lines(10, 3000)))
    docs = list(read_docs(path))
    assert [d["id"] for d in docs] == [f"d{i}" for i in range(3010)]
    assert all(rejection(d) is None for d in docs)


@pytest.mark.parametrize("cut", [1, 3, 9, 200])
def test_zstd_cut_anywhere_in_the_last_frame_is_truncation(tmp_path, cut):
    # Cut inside the checksum (1, 3), the last block's header or content (9, 200): never a quiet EOF.
    data = _zstd_frames(_lines(50), _lines(2000, 50))
    path = tmp_path / "part-00000.jsonl.zst"
    path.write_bytes(data[:-cut])
    docs = list(read_docs(path))
    assert rejection(docs[-1])["reason"] == TRUNCATED_STREAM
    assert [d["id"] for d in docs[:50]] == [f"d{i}" for i in range(50)]
    with pytest.raises((EOFError, zstandard.ZstdError)), open_binary(path) as stream:
        stream.read()


def test_garbage_after_a_frame_is_rejected_not_ignored(tmp_path):
    path = tmp_path / "part-00000.jsonl.zst"
    path.write_bytes(_zstd_frames(_lines(5)) + b"not zstd at all")
    docs = list(read_docs(path))
    assert [d["id"] for d in docs[:5]] == [f"d{i}" for i in range(5)]
    assert rejection(docs[-1])["reason"] == TRUNCATED_STREAM
    assert "ZstdError" in rejection(docs[-1])["error"]


@pytest.mark.parametrize("compress", ["gz", "bz2", "zst"])
def test_truncated_placeholder_keeps_the_cut_line(tmp_path, compress):
    payload = _lines(20000)
    pack = {"gz": gzip.compress, "bz2": lambda b: bz2.compress(b, 1), "zst": lambda b: zstandard.ZstdCompressor().compress(b)}
    data = pack[compress](payload)
    path = tmp_path / f"part-00000.jsonl.{compress}"
    path.write_bytes(data[: len(data) // 2])
    docs = list(read_docs(path))
    cut = docs[-1]
    assert rejection(cut)["reason"] == TRUNCATED_STREAM
    assert all(rejection(d) is None for d in docs[:-1])
    n_good = len(docs) - 1
    # The placeholder holds exactly the bytes of line n_good + 1 that were decompressed before the cut.
    full_line = orjson.dumps(make_docs(n_good + 1)[n_good])
    assert cut["text"] and full_line.decode().startswith(cut["text"])
    assert rejection(cut)["line"] == n_good + 1


def test_oversize_line_is_rejected_with_its_size_and_reading_goes_on(tmp_path):
    big = orjson.dumps({"id": "big", "text": "x" * 5000, "source": "", "meta": {}})
    path = tmp_path / "part-00000.jsonl.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(_lines(2) + big + b"\n" + _lines(2, 2)))
    docs = list(read_docs(path, limit=1000))
    assert [d["id"] for d in docs] == ["d0", "d1", "part-00000:3", "d2", "d3"]
    why = rejection(docs[2])
    assert why["reason"] == LINE_TOO_LONG and why["bytes"] == len(big) + 1 and why["limit"] == 1000
    assert big.decode().startswith(docs[2]["text"]) and 0 < len(docs[2]["text"]) <= 4096


def test_line_limit_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "part-00000.jsonl"
    path.write_bytes(_lines(3))
    monkeypatch.setenv("KNOWFORGE_MAX_LINE_BYTES", "20")
    assert {rejection(d)["reason"] for d in read_docs(path)} == {LINE_TOO_LONG}
    monkeypatch.setenv("KNOWFORGE_MAX_LINE_BYTES", "lots")
    with pytest.raises(ValueError, match="KNOWFORGE_MAX_LINE_BYTES"):
        list(read_docs(path))


def test_zstd_bomb_reads_in_bounded_memory(tmp_path):
    # 300 MB that compress to ~10 kB: one 250 MB line (rejected, never held) and 50 MB of short lines.
    line = orjson.dumps({"id": "b", "text": "a" * 1000, "source": "", "meta": {}}) + b"\n"
    path = tmp_path / "bomb.jsonl.zst"
    with open(path, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as out:
        out.write(b'{"id": "huge", "text": "')
        for _ in range(250):
            out.write(b"z" * 1_000_000)
        out.write(b'"}\n')
        for _ in range(50):
            out.write(line * (1_000_000 // len(line)))
    assert path.stat().st_size < 100_000
    tracemalloc.start()
    try:
        reasons, good = Counter(), 0
        for _, item in iter_json_lines(path):
            if isinstance(item, Unreadable):
                reasons[item.reason] += 1
            else:
                good += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert reasons == {LINE_TOO_LONG: 1} and good == 50 * (1_000_000 // len(line))
    assert peak < 3 * MAX_LINE_BYTES + (8 << 20)  # a few copies of one line at the limit, not 300 MB


def test_temporaries_are_named_ours_and_removed(tmp_path):
    shard = tmp_path / "part-00000.jsonl.zst"
    tmp = temp_path(shard)
    assert is_temporary(tmp) and not is_temporary(shard) and ".knowforge-tmp-" in tmp.name
    (tmp_path / "_dedup" / "abc").mkdir(parents=True)
    stale = [tmp, tmp_path / "_dedup" / "abc" / "x.sig.npy.knowforge-tmp-99", tmp_path / "merged.bin.knowforge-tmp-1"]
    keep = [shard, tmp_path / "notes.tmp-1", tmp_path / "_dedup" / "abc" / "x.sig.npy"]
    for p in stale + keep:
        p.write_bytes(b"x")
    assert sorted(remove_temporaries(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)
    assert list_shards(tmp_path) == [shard]


class _FullDisk:
    """Stands in for a writer's stream on a full disk: ``write`` (or only ``close``) fails with ENOSPC."""

    def __init__(self, real, *, on_write: bool = True) -> None:
        self.real, self.on_write = real, on_write

    def write(self, data: bytes) -> int:
        if self.on_write:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.real.write(data)

    def close(self) -> None:
        self.real.close()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_names_the_shard_and_the_cause(tmp_path, monkeypatch):
    path = tmp_path / "part-00000.jsonl.zst"
    writer = ShardWriter(path)
    with pytest.raises(OutputWriteError) as caught:
        with writer:
            writer._stream = _FullDisk(writer._stream)
            writer.write(make_docs(1)[0])
    assert str(caught.value) == f"cannot write {path}: disk full" and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # no temporary left behind


def test_full_disk_on_the_final_flush_is_not_lost(tmp_path, monkeypatch):
    path = tmp_path / "part-00000.jsonl"
    writer = ShardWriter(path)
    with pytest.raises(OutputWriteError, match="disk full"):
        with writer:
            writer._stream = _FullDisk(writer._stream, on_write=False)
            writer.write(make_docs(1)[0])
    assert not path.exists()


@pytest.mark.parametrize(("err", "cause"), [
    (OSError(errno.EROFS, "Read-only file system"), "read-only file system"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "disk quota exceeded"),
    (OSError("83200 requested and 74736 written"), "disk full (83200 requested and 74736 written)"),
])
def test_write_failures_in_words(tmp_path, monkeypatch, err, cause):
    monkeypatch.setattr(os, "statvfs", lambda _: SimpleNamespace(f_bavail=0, f_frsize=4096))
    target = tmp_path / "x.npy"
    with pytest.raises(OutputWriteError) as caught, atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise err
    assert str(caught.value) == f"cannot write {target}: {cause}"
    assert list(tmp_path.iterdir()) == []


def test_permission_denied_on_the_output_and_read_errors_pass_through(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(OutputWriteError, match=f"cannot write {target}: permission denied"), \
            atomic_path(target) as tmp:
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp))
    with pytest.raises(FileNotFoundError), atomic_path(target):  # an input that is missing: not a write error
        open(tmp_path / "missing-input")  # noqa: SIM115


@pytest.mark.parametrize("compress", ["", ".zst"])
def test_crlf_blank_and_unterminated_lines_keep_their_numbers(tmp_path, compress):
    docs = make_docs(4)
    raw = (orjson.dumps(docs[0]) + b"\r\n" + b"   \n" + orjson.dumps(docs[1]) + b"\n\n" + orjson.dumps(docs[2])
           + b"\r\n" + orjson.dumps(docs[3]))
    path = tmp_path / f"part-00000.jsonl{compress}"
    path.write_bytes(zstandard.ZstdCompressor().compress(raw) if compress else raw)
    assert [n for n, _ in iter_json_lines(path)] == [1, 3, 5, 6]
    assert list(read_docs(path)) == docs
