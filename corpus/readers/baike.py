"""Baidu Baike as the community dumps carry it: page records and baike2018qa question-answer lines.

A page record has ``title`` plus ``summary``/``abstract`` and ``sections`` (``[{title, content}]``) or
``content``/``text``; a QA record has ``qid, category, title, desc, answer``. Both come as JSON lines
or JSON arrays (streamed). Infobox tables and reference lists some crawls carry are not rendered.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from corpus.readers.jsonstream import JsonRecordReader
from corpus.records import new_doc
from corpus.shards import MISSING_TEXT, malformed_doc

BAIKE_QA = "baike_qa"
BAIKE_PAGE = "baike_page"


def _text(value: Any) -> str:
    """A string field, or the lines of a list of strings; anything else is empty."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "\n".join(v.strip() for v in value if isinstance(v, str) and v.strip())
    return ""


def render_page(record: dict[str, Any]) -> str:
    """Summary, then each section as its title line and content, separated by blank lines."""
    parts = [_text(record.get("summary")) or _text(record.get("abstract"))]
    sections = record.get("sections")
    if isinstance(sections, list):
        for section in sections:
            if isinstance(section, dict):
                title, content = _text(section.get("title")), _text(section.get("content"))
                if content:
                    parts.append(f"{title}\n{content}" if title else content)
            else:
                parts.append(_text(section))
    parts.append(_text(record.get("content")) or _text(record.get("text")))
    return "\n\n".join(p for p in parts if p)


def render_qa(record: dict[str, Any]) -> str:
    """Question title, its description when it adds something, a blank line, then the answer."""
    title, desc, answer = _text(record.get("title")), _text(record.get("desc")), _text(record.get("answer"))
    question = title if not desc or desc == title else f"{title}\n{desc}"
    return f"{question}\n\n{answer}" if answer else ""


@dataclass(frozen=True, kw_only=True)
class BaikeReader(JsonRecordReader):
    """Baike pages (id ``baike:{id|url|sha1(title)}``) and QA lines (id ``baike_qa:{qid}``), mixed freely;
    records without text come out rejected (``missing_text``)."""

    name: ClassVar[str] = "baike"

    def document(self, path: Path, number: int, record: dict[str, Any], source: str,
                 counters: Counter) -> dict[str, Any]:
        if "qid" in record and "answer" in record:
            kind, text = BAIKE_QA, render_qa(record)
            doc_id = f"{BAIKE_QA}:{record['qid']}"
            meta = {k: record[k] for k in ("title", "category", "qid") if record.get(k)}
        else:
            kind, text = BAIKE_PAGE, render_page(record)
            key = record.get("id") or record.get("url") or hashlib.sha1(
                _text(record.get("title")).encode("utf-8")).hexdigest()[:16]
            doc_id = f"{source}:{key}"
            meta = {k: record[k] for k in ("title", "url", "tags", "category") if record.get(k)}
        if not text:
            return malformed_doc(path, number, MISSING_TEXT, orjson.dumps(record)[:2000], kind=kind)
        counters[kind] += 1
        return new_doc(doc_id, text, source, {**meta, "kind": kind, "lang": self.lang})
