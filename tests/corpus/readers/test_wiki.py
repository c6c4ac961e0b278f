"""WikiReader on the shipped en/zh dump excerpts, a cut dump, a multistream dump and plain XML."""

from __future__ import annotations

import bz2
import re
from collections import Counter
from pathlib import Path

import pytest

from corpus.readers.wiki import (
    SKIP_DISAMBIGUATION,
    SKIP_NAMESPACE,
    SKIP_REDIRECT,
    TRUNCATED_INPUT,
    WIKI_XML_ERROR,
    WikiReader,
)
from corpus.readers.wikitext import WikitextConverter
from corpus.records import rejection

SAMPLES = Path(__file__).parents[3] / "data_samples" / "wiki"
ENWIKI = SAMPLES / "enwiki-sample.xml.bz2"
ZHWIKI = SAMPLES / "zhwiki-sample.xml.bz2"
FORBIDDEN = ("{{", "}}", "[[", "]]", "<ref", "{|", "|}", "__TOC__")


def read(path: Path, **options) -> tuple[list[dict], Counter]:
    counters: Counter = Counter()
    return list(WikiReader(**options)(path, counters)), counters


def article_pages(path: Path) -> set[str]:
    """Ids of namespace-0 pages that are neither redirects nor disambiguation pages, from the raw XML."""
    xml = bz2.decompress(path.read_bytes()).decode()
    ids = set()
    for page in re.findall(r"<page>.*?</page>", xml, re.S):
        ns = re.search(r"<ns>(\d+)</ns>", page).group(1)
        if ns != "0" or "<redirect" in page or re.search(r"\{\{\s*(disambig|disambiguation)", page, re.I):
            continue
        ids.add(re.search(r"<id>(\d+)</id>", page).group(1))
    return ids


@pytest.mark.parametrize("path,dbname", [(ENWIKI, "enwiki"), (ZHWIKI, "zhwiki")])
def test_every_article_yields_a_clean_document(path, dbname):
    docs, counters = read(path)
    assert {d["id"] for d in docs} == {f"{dbname}:{i}" for i in article_pages(path)}
    for doc in docs:
        assert rejection(doc) is None and doc["text"].strip()
        for token in FORBIDDEN:
            assert token not in doc["text"], (doc["id"], token)
        assert doc["meta"]["timestamp"] and doc["meta"]["url"].startswith("https://")
    assert counters[SKIP_REDIRECT] >= 1 and counters[SKIP_DISAMBIGUATION] >= 1


@pytest.mark.parametrize("path", [ENWIKI, ZHWIKI])
def test_link_offsets_point_at_anchor_text(path):
    docs, _ = read(path)
    assert sum(len(d["meta"]["links"]) for d in docs) > 20
    for doc in docs:
        for link in doc["meta"]["links"]:
            anchor = doc["text"][link["start"] : link["end"]]
            assert anchor and anchor == anchor.strip() and link["target"]


def test_zhwiki_traditional_becomes_simplified_links_included():
    docs, counters = read(ZHWIKI)
    adams = next(d for d in docs if d["id"] == "zhwiki:1001")
    text = adams["text"]
    assert "道格拉斯·诺尔·亚当斯" in text and "亞當斯" not in text and "劍橋" not in text
    assert "剑桥大学" in text and "计算机" in text  # -{zh-hans:...;zh-hant:...}- picks the zh-hans variant
    links = [(link["target"], text[link["start"] : link["end"]]) for link in adams["meta"]["links"]]
    assert ("剑桥大学", "剑桥大学") in links
    assert ("银河便车指南", "《银河便车指南》") in links  # piped link: anchor text, converted target
    assert ("42 (数字)", "42") in links
    assert "生平" in text and "参考文献" not in text and "官方网站" not in text  # boilerplate sections dropped
    assert "Category" not in text and "Douglas Adams]" not in text and "ダグラス" not in text
    assert "旧金山" not in text  # image captions go with the image
    assert "年份" not in text  # the table is dropped
    assert adams["meta"]["title"] == "道格拉斯·亚当斯" and adams["source"] == "zhwiki"
    assert counters[SKIP_NAMESPACE] == 2 and counters[SKIP_REDIRECT] == 2 and counters[SKIP_DISAMBIGUATION] == 1


# Any sequence works (a caller may pass a list), and a YAML "14" names namespace 14 as the CLI's 14 does.
@pytest.mark.parametrize("namespaces", [(0, 14), [0, 14], ["0", "14"]])
def test_keep_redirects_and_other_namespaces(namespaces):
    docs, counters = read(ZHWIKI, keep_redirects=True, namespaces=namespaces)
    redirects = {d["meta"]["title"]: d["meta"]["redirect"] for d in docs if "redirect" in d["meta"]}
    assert redirects == {"道格拉斯·亚当斯": "道格拉斯·亚当斯", "银河系漫游指南": "银河便车指南"}
    assert "zhwiki:1009" in {d["id"] for d in docs} and counters[SKIP_NAMESPACE] == 1


@pytest.mark.parametrize("templates", [["otheruses"], ("otheruses",)])
def test_disambiguation_templates_are_any_sequence(templates):
    default, skipped = read(ZHWIKI)
    docs, counters = read(ZHWIKI, disambiguation_templates=templates)  # {{disambig}} no longer counts
    assert skipped[SKIP_DISAMBIGUATION] == 1 and counters[SKIP_DISAMBIGUATION] == 1
    kept, before = {d["id"] for d in docs}, {d["id"] for d in default}
    assert len(kept - before) == len(before - kept) == 1  # {{disambig}} page in, {{otheruses}} one out


def test_opencc_none_keeps_traditional():
    docs, _ = read(ZHWIKI, opencc="none")
    assert "亞當斯" in next(d for d in docs if d["id"] == "zhwiki:1001")["text"]


def test_truncated_dump_yields_complete_pages_and_warns(tmp_path, caplog):
    # A multistream dump (one bz2 stream per page here) cut in the middle of the fourth page's stream.
    streams = [bz2.compress(chunk) for chunk in re.split(rb"(?=  <page>)", bz2.decompress(ZHWIKI.read_bytes()))]
    path = tmp_path / "zhwiki-cut.xml.bz2"
    path.write_bytes(b"".join(streams[:4]) + streams[4][: len(streams[4]) // 2])
    docs, counters = read(path)
    assert [d["id"] for d in docs] == ["zhwiki:1001", "zhwiki:1002", "zhwiki:1003"]
    assert counters[TRUNCATED_INPUT] == 1
    assert "ends before the dump is complete" in caplog.text


def test_plain_xml_cut_mid_page(tmp_path):
    xml = bz2.decompress(ENWIKI.read_bytes())
    path = tmp_path / "enwiki-cut.xml"
    path.write_bytes(xml[: len(xml) // 2])
    docs, counters = read(path)
    full, _ = read(ENWIKI)
    assert 0 < len(docs) < len(full) and [d["id"] for d in docs] == [d["id"] for d in full[: len(docs)]]
    assert counters[TRUNCATED_INPUT] == 1


def test_multistream_bz2_reads_every_stream(tmp_path):
    xml = bz2.decompress(ZHWIKI.read_bytes())
    # Real multistream dumps compress the header and each block of 100 pages as separate bz2 streams.
    chunks = re.split(rb"(?=  <page>)", xml)
    path = tmp_path / "zhwiki-multistream.xml.bz2"
    path.write_bytes(b"".join(bz2.compress(chunk) for chunk in chunks))
    assert [d["id"] for d in read(path)[0]] == [d["id"] for d in read(ZHWIKI)[0]]


def test_discover_skips_multistream_index(tmp_path):
    (tmp_path / "zhwiki-20240101-pages-articles-multistream.xml.bz2").write_bytes(b"")
    (tmp_path / "zhwiki-20240101-pages-articles-multistream-index.txt.bz2").write_bytes(b"")
    assert [p.name for p in WikiReader().discover([tmp_path])] == [
        "zhwiki-20240101-pages-articles-multistream.xml.bz2"
    ]


@pytest.mark.parametrize(
    "wikitext,text",
    [
        ("a [[Foo|bar]]s b", "a bars b"),
        ("x<ref>{{cite web|url=u}}</ref> y", "x y"),
        ("{{Infobox|a=1}}\n'''Bold''' text (<!-- c -->{{birth date|1952}}{{cite web|u}}).", "Bold text (1952)."),
        ("[[File:X.png|thumb|cap [[Y]]]]Body", "Body"),
        ("Body\n== See also ==\n* [[Z]]\n== Later ==\nMore", "Body\n\nLater\n\nMore"),
        ("{| class=x\n|-\n| a || b\n|}\nAfter", "After"),
        ("Broken <ref>{{cite web|title=t}} text", "Broken text"),  # unclosed ref: residue pass
    ],
)
def test_wikitext_rules(wikitext, text):
    assert WikitextConverter().convert(wikitext).text == text


def test_link_trail_extends_anchor():
    result = WikitextConverter().convert("Many [[apple]]s grow.")
    assert result.links == [{"target": "Apple", "start": 5, "end": 11}] and result.text[5:11] == "apples"


def test_runner_writes_wiki_shard(tmp_path):
    from corpus.runner import run_stage
    from corpus.shards import list_shards, read_docs

    out = tmp_path / "out"
    run_stage(WikiReader(), inputs=[ZHWIKI], output=out, workers=1, force=False, progress=False)
    docs = [d for shard in list_shards(out) for d in read_docs(shard)]
    assert {d["id"] for d in docs} == {f"zhwiki:{i}" for i in article_pages(ZHWIKI)}


def corrupt(xml: bytes, title: bytes, damage: bytes) -> tuple[bytes, int]:
    """``xml`` with ``damage`` inserted in the middle of the text of page ``title``; the page's offset."""
    page_at = xml.index(b"<title>" + title + b"</title>")
    page_at = xml.rindex(b"<page>", 0, page_at)
    text_at = xml.index(b"<text", page_at)
    middle = (text_at + xml.index(b"</text>", text_at)) // 2
    middle = xml.index(b" ", middle)  # between two words, never inside an entity
    return xml[:middle] + damage + xml[middle:], page_at


def test_broken_page_is_rejected_and_reading_resumes(tmp_path):
    from corpus.runner import run_stage
    from corpus.shards import list_shards, read_docs

    xml, page_at = corrupt(bz2.decompress(ENWIKI.read_bytes()), b"Andorra", b" fish & chips ")
    path = tmp_path / "enwiki-broken.xml.bz2"
    path.write_bytes(bz2.compress(xml))
    docs, counters = read(path)
    full, _ = read(ENWIKI)
    broken = [d for d in docs if rejection(d)]
    assert [d["id"] for d in docs if not rejection(d)] == [d["id"] for d in full if d["meta"]["title"] != "Andorra"]
    assert len(broken) == 1 and broken[0]["meta"]["title"] == "Andorra"
    reason = rejection(broken[0])
    assert reason["reason"] == WIKI_XML_ERROR and "not well-formed" in reason["error"]
    assert reason["offset"] == page_at and b"&" in xml[reason["error_offset"] - 2 : reason["error_offset"] + 1]
    assert "fish & chips" in broken[0]["text"]  # the raw page is kept, nothing lost
    assert counters[WIKI_XML_ERROR] == 1 and counters[TRUNCATED_INPUT] == 0

    out = tmp_path / "out"
    run_stage(WikiReader(), inputs=[path], output=out, workers=1, force=False, progress=False)
    kept = [d["id"] for shard in list_shards(out) for d in read_docs(shard)]
    rejected = [d for shard in list_shards(out / "rejected") for d in read_docs(shard)]
    assert len(kept) == len(full) - 1 and [d["meta"]["title"] for d in rejected] == ["Andorra"]


def test_page_without_closing_tag_and_entity_bomb_are_rejected_alone(tmp_path):
    xml = bz2.decompress(ZHWIKI.read_bytes())
    # The first page loses its </page>; a DTD declares a billion-laughs entity used by the second page.
    first_close = xml.index(b"</page>")
    xml = xml[:first_close] + xml[first_close + len(b"</page>") :]
    bomb = b'<!DOCTYPE mediawiki [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
    xml, _ = corrupt(bomb + xml, "银河便车指南".encode(), b" &b; ")
    path = tmp_path / "zhwiki-bomb.xml"
    path.write_bytes(xml)
    docs, counters = read(path)
    full, _ = read(ZHWIKI)
    broken = {d["id"]: rejection(d) for d in docs if rejection(d)}
    assert set(broken) == {"zhwiki:1001", "zhwiki:1002"} and counters[WIKI_XML_ERROR] == 2
    assert "undefined entity" in broken["zhwiki:1002"]["error"]  # never expanded
    assert [d["id"] for d in docs if not rejection(d)] == [d["id"] for d in full[2:]]


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_pages_cut_the_same_at_any_read_size(chunk):
    # Tags split across reads (down to one byte per read) must cut the dump into the same pages.
    import io

    from corpus.readers.wiki import _split_pages

    xml = bz2.decompress(ENWIKI.read_bytes())
    expected = list(_split_pages(io.BytesIO(xml)))
    assert [kind for kind, _, _ in expected].count("page") == xml.count(b"<page>")
    assert list(_split_pages(io.BytesIO(xml), chunk=chunk)) == expected
    assert b"".join(data for _, _, data in expected).replace(b"\n", b"").replace(b" ", b"") == \
        xml.replace(b"\n", b"").replace(b" ", b"")  # only the whitespace between pages is not yielded


def test_links_load_in_hf_datasets(tmp_path):
    # Link objects, not [title, start, end] lists: Arrow has no type for a list mixing strings and ints
    # (older datasets fail on it, newer ones fall back to opaque JSON); objects load as typed columns.
    import json

    datasets = pytest.importorskip("datasets")
    docs, _ = read(ZHWIKI)
    path = tmp_path / "wiki.jsonl"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    table = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    links = table[0]["meta"]["links"]
    assert links and set(links[0]) == {"target", "start", "end"} and isinstance(links[0]["start"], int)
    feature = table.features["meta"]["links"]
    columns = feature.feature if hasattr(feature, "feature") else feature[0]
    assert columns["start"].dtype == "int64" and columns["target"].dtype == "string"
