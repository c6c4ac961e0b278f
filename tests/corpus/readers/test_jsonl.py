from collections import Counter

from corpus.readers.jsonl import JsonlReader, ParquetReader
from corpus.records import rejection


def test_picks_fields_and_keeps_the_rest_as_meta(tmp_path):
    path = tmp_path / "baike.jsonl"
    path.write_text('{"title": "北京", "content": "北京是中国的首都。", "uid": 7}\n{"title": "空"}\n')
    docs = list(JsonlReader(text_field="content", id_field="uid", source_name="baike", lang="zh")(path, Counter()))
    assert docs[0] == {"id": "7", "text": "北京是中国的首都。", "source": "baike", "meta": {"title": "北京", "lang": "zh"}}
    assert rejection(docs[1])["reason"] == "missing_text"


def test_discover_walks_directories_sorted(tmp_path):
    (tmp_path / "b").mkdir()
    for name in ["b/2.jsonl.gz", "a.jsonl", "b/1.json", "notes.txt", "_skip.jsonl"]:
        (tmp_path / name).write_text("")
    found = JsonlReader().discover([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.jsonl", "b/1.json", "b/2.jsonl.gz"]


def test_parquet_reader(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["a", "b"], "id": ["x", "y"], "lang": ["en", "en"]}), tmp_path / "t.parquet")
    docs = list(ParquetReader()(tmp_path / "t.parquet", Counter()))
    assert [(d["id"], d["text"], d["meta"]["lang"]) for d in docs] == [("x", "a", "en"), ("y", "b", "en")]


def test_oversize_records_are_rejected_with_their_size(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text('{"text": "short"}\n{"text": "' + "x" * 500 + '"}\n{"text": "after"}\n')
    docs = list(JsonlReader(max_line_bytes=100)(jsonl, Counter()))
    assert [d["text"] for d in docs if rejection(d) is None] == ["short", "after"]
    assert rejection(docs[1])["reason"] == "line_too_long" and rejection(docs[1])["bytes"] == 513  # with its newline
    pq.write_table(pa.table({"text": ["a", "y" * 500], "id": ["x", "big"]}), tmp_path / "t.parquet")
    docs = list(ParquetReader(max_line_bytes=100)(tmp_path / "t.parquet", Counter()))
    assert rejection(docs[0]) is None and rejection(docs[1])["reason"] == "line_too_long"
