"""The ``clean`` stage: Unicode, width, markup and whitespace normalisation, aware of the source.

- Prose: NFKC folds compatibility forms (full-width Latin letters and digits, ligatures, half-width
  katakana). In Chinese text the full-width punctuation that Chinese typography uses (，：；！？（）)
  is kept: NFKC would turn it into ASCII. Leftover HTML entities and tags, and navigation lines
  ("返回顶部", "Skip to content", ...) are removed; trailing spaces and runs of blank lines collapse.
- Code (``meta.lang == "code"`` or a code source): never reflowed; only line endings, control
  characters and leading/trailing blank lines change.
- ``meta.links`` offsets (the wiki reader's, used by KG2Instruction) are moved to the cleaned text;
  a link whose anchor cannot be found again is dropped and counted (``clean_link_lost``).
"""

from __future__ import annotations

import dataclasses
import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, ClassVar

from corpus.records import reject

CLEAN_EMPTY = "clean_empty"
CODE_SOURCES = frozenset({"code", "stack"})

# C0/C1 controls except \t and \n, plus zero-width and bidi marks that only hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")
# Full-width punctuation of Chinese typography (U+FF01–FF0F, FF1A–FF20, FF3B–FF40, FF5B–FF60 minus
# nothing else): kept in Chinese text, while full-width digits and letters are folded by NFKC.
_ZH_PUNCT_RUNS = re.compile(r"([\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff60]+)")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HTML_TAG = re.compile(r"</?(?:br|p|div|span|b|i|u|em|strong|font|a|img|center|small|big|sup|sub)\b[^<>]{0,200}>", re.I)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});")
# Whole lines that are site navigation, not content (zh and en), matched after stripping.
_NAVIGATION = re.compile(
    r"^(?:返回顶部|回到顶部|上一页|下一页|上一篇|下一篇|首页|尾页|点击这里|点击查看|更多>>|展开全部|收起|"
    r"分享到[:：]?.*|责任编辑[:：].{0,20}|skip to (?:main )?content|back to top|share this(?: article)?|"
    r"next page|previous page|read more|click here|cookie settings)$",
    re.I,
)


@lru_cache(maxsize=4)
def _opencc(config: str):
    import opencc

    return opencc.OpenCC(config).convert


def is_code(doc: dict[str, Any]) -> bool:
    """True for source code documents, whose layout must never be reflowed."""
    meta = doc.get("meta") or {}
    return meta.get("lang") == "code" or doc.get("source") in CODE_SOURCES


def is_chinese(doc: dict[str, Any]) -> bool:
    """``meta.lang`` says zh, or (no language given) CJK characters make up a tenth of the text."""
    lang = (doc.get("meta") or {}).get("lang")
    if lang:
        return str(lang).startswith("zh")
    text = doc["text"][:2000]
    return bool(text) and len(_CJK.findall(text)) * 10 >= len(text)


def nfkc_keep_zh_punct(text: str) -> str:
    """NFKC everywhere except on runs of full-width Chinese punctuation."""
    parts = _ZH_PUNCT_RUNS.split(text)
    # split() with one group alternates: even indexes are ordinary text, odd ones are kept punctuation.
    return "".join(part if i % 2 else unicodedata.normalize("NFKC", part) for i, part in enumerate(parts))


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleanStep:
    """Normalise text; rejects documents that end up empty (reason ``clean_empty``)."""

    name: ClassVar[str] = "clean"
    nfkc: bool = True
    opencc: str | None = None  # e.g. "t2s": Traditional to Simplified Chinese for every prose document
    strip_markup: bool = True  # HTML entities and tags left over by extraction
    drop_navigation: bool = True  # whole lines such as "返回顶部" or "Skip to content"

    def clean_text(self, text: str, *, code: bool = False, chinese: bool = False) -> str:
        """The cleaned form of ``text``."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub("", text)
        if code:
            return text.strip("\n")
        if self.strip_markup:
            text = _HTML_TAG.sub("", text)
            if _ENTITY.search(text):
                text = html.unescape(text)
        if self.nfkc:
            text = nfkc_keep_zh_punct(text) if chinese else unicodedata.normalize("NFKC", text)
        if self.opencc:
            text = _opencc(self.opencc)(text)
        if self.drop_navigation:
            text = "\n".join(line for line in text.split("\n") if not _NAVIGATION.match(line.strip()))
        text = _TRAILING_SPACE.sub("", text)
        text = _BLANK_RUNS.sub("\n\n", text)
        return text.strip()

    def _move_links(self, doc: dict[str, Any], before: str, chinese: bool, counters: Counter) -> None:
        """Find each link's cleaned anchor in the cleaned text, in order, and store its new offsets."""
        links = doc["meta"].get("links")
        if not links:
            return
        text, cursor, moved = doc["text"], 0, []
        for link in links:  # {"target", "start", "end"} as corpus/schema.py stores them, or the reader's list
            title, start, end = (link["target"], link["start"], link["end"]) if isinstance(link, dict) else link
            anchor = self.clean_text(before[start:end], chinese=chinese)
            at = text.find(anchor, cursor) if anchor else -1
            if at < 0:
                counters["clean_link_lost"] += 1
                continue
            moved.append([title, at, at + len(anchor)])
            cursor = at + len(anchor)
        doc["meta"]["links"] = moved

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        for doc in docs:
            before = doc["text"]
            code, chinese = is_code(doc), is_chinese(doc)
            doc["text"] = self.clean_text(before, code=code, chinese=chinese)
            if doc["text"] != before:
                counters["clean_changed"] += 1
                if not code:
                    self._move_links(doc, before, chinese, counters)
            if not doc["text"].strip():
                yield reject(doc, stage=self.name, reason=CLEAN_EMPTY, value=len(before))
                continue
            yield doc
