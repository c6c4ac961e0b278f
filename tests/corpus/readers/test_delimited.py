"""CsvReader on a spreadsheet-style CSV export, on TSV, GB18030 and compressed files, and on broken rows."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from corpus.readers.delimited import BAD_ENCODING, BAD_ROW, BLANK_LINES, CsvReader
from corpus.records import rejection
from corpus.runner import run_stage
from corpus.shards import list_shards, read_docs
from corpus.steps import ConfigError, build_reader

SAMPLE = Path(__file__).parents[3] / "data_samples" / "csv" / "news-export.csv"


def read(path: Path, counters: Counter | None = None, **options) -> list[dict]:
    return list(CsvReader(**options)(path, Counter() if counters is None else counters))


def test_spreadsheet_export_bom_crlf_quotes_and_newlines_in_cells():
    docs = read(SAMPLE, source_name="news")
    kept = [d for d in docs if rejection(d) is None]
    assert [d["id"] for d in kept] == ["news-001", "news-002", "news:news-export:6"]  # no id: file and line
    zh, en, _ = kept
    # The BOM is not part of the first column's name, so `id` was found; CRLF ends rows, LF stays in text.
    assert zh["text"].count("\n") == 1 and "\r" not in zh["text"] and zh["text"].startswith("长江流域重点水域")
    assert "“禁渔不是目的，而是手段。”" in zh["text"]
    assert en["text"].splitlines()[1].startswith('"We wanted a place where people stay for the afternoon,"')
    assert zh["source"] == "news"
    assert zh["meta"] == {"title": "长江流域十年禁渔", "url": "https://news.example.cn/2024/0105/001.html", "lang": "zh",
                          "category": "环境", "extra": {"published": "2024-01-05"}}
    reasons = [(rejection(d)["reason"], rejection(d)["line"]) for d in docs if rejection(d)]
    assert reasons == [("missing_text", 7), (BAD_ROW, 8)]  # line numbers count the header and cell newlines
    bad = next(d for d in docs if rejection(d) and rejection(d)["reason"] == BAD_ROW)
    assert rejection(bad)["error"] == "8 fields, the header has 7" and bad["text"].startswith("news-005,停电通知,第二批")


def test_tsv_by_suffix_gzip_and_blank_lines_counted(tmp_path):
    path = tmp_path / "qa.tsv.gz"
    path.write_bytes(gzip.compress("text\tid\tpage_id\n\n第一条，含逗号。\ta\t12\nsecond, with commas\tb\t13\n".encode()))
    counters: Counter = Counter()
    docs = read(path, counters)
    assert [(d["id"], d["text"]) for d in docs] == [("a", "第一条，含逗号。"), ("b", "second, with commas")]
    # page_id is declared as an int; a CSV value is a string, so it is kept in meta.extra instead.
    assert docs[0]["meta"] == {"extra": {"page_id": "12"}} and counters[BLANK_LINES] == 1
    assert CsvReader().discover([tmp_path]) == [path]


def test_gb18030_and_undecodable_rows(tmp_path):
    path = tmp_path / "old.csv"
    good = "id,text\n1,这是用国标编码保存的文件。\n".encode("gb18030")
    path.write_bytes(good + b"2,\xff\xfe broken\n" + "3,之后的行照常读取。\n".encode("gb18030"))
    docs = read(path, encoding="gb18030")
    assert [d["text"] for d in docs if rejection(d) is None] == ["这是用国标编码保存的文件。", "之后的行照常读取。"]
    assert rejection(docs[1])["reason"] == BAD_ENCODING and rejection(docs[1])["line"] == 3
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(b"id,text\n1,ok text\n2,\xff bad\n")
    assert [rejection(d) and rejection(d)["reason"] for d in read(utf8)] == [None, "bad_utf8"]


def test_a_long_field_is_read_and_an_oversize_row_rejected(tmp_path):
    path = tmp_path / "long.csv"
    article = "长" * 200_000  # over csv's default field limit of 131,072 characters
    path.write_text(f'id,text\nlong,"{article}"\nbig,"{"x" * 600}"\nafter,short\n', encoding="utf-8")
    assert [d["id"] for d in read(path)] == ["long", "big", "after"] and len(read(path)[0]["text"]) == 200_000
    docs = read(path, max_line_bytes=700_000)
    assert [rejection(d) and rejection(d)["reason"] for d in docs] == [None, None, None]
    docs = read(path, max_line_bytes=500)
    assert [rejection(d)["reason"] for d in docs if rejection(d)] == ["line_too_long", "line_too_long"]
    assert docs[-1]["id"] == "after" and rejection(docs[-1]) is None


@pytest.mark.parametrize(("options", "message"), [
    ({"delimiter": "||"}, "delimiter must be one character"),
    ({"encoding": "klingon"}, "unknown encoding 'klingon'"),
    ({"sep": ";"}, "reader 'csv' has no option 'sep'"),
])
def test_bad_options_fail_when_built(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_reader("csv", options)


def test_runs_through_the_runner(tmp_path):
    report = run_stage(build_reader("csv", {"source_name": "news"}), inputs=[SAMPLE], output=tmp_path / "out",
                       workers=1, force=False, progress=False)
    kept = [d["id"] for s in list_shards(tmp_path / "out") for d in read_docs(s)]
    assert kept == ["news-001", "news-002", "news:news-export:6"]
    assert report.docs_in == 5 and report.rejected == 2 and report.reasons == {"missing_text": 1, BAD_ROW: 1}
