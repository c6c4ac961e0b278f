"""Finishing a rendered wiki page: boilerplate and empty sections, table lead-ins, leftover markup, links.

The converter (:mod:`corpus.readers.wikitext`) renders a page to text with private-use marks where
headings, dropped tables, blocks and links stood; :func:`finish` drops the sections without text and
the sentences that only introduced a dropped table, removes markup the parser could not pair, tidies
spaces and empty brackets, and turns the link marks into ``{"target", "start", "end"}`` offsets.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field

from corpus.readers.wikiscan import (
    BLOCK_MARK,
    HEADING_MARK,
    LINK_CLOSE,
    LINK_OPEN,
    TABLE_MARK,
    VERBATIM_PIECE,
)

# Sections dropped with everything under them (until a heading of the same or a higher level), per
# language of the wiki (titles compared in lower case, a trailing colon ignored); other wikis use all.
SECTIONS_BY_LANG = {
    "en": frozenset({"references", "external links", "see also", "notes", "further reading", "bibliography",
                     "sources", "footnotes", "citations", "notes and references", "references and notes",
                     "explanatory notes", "works cited", "general references", "external link"}),
    "zh": frozenset({"参考文献", "參考文獻", "参考资料", "參考資料", "参考", "參考", "外部链接", "外部連結",
                     "外部鏈接", "外部链结", "外部連接", "参见", "參見", "参看", "參看", "注释", "註釋", "注解",
                     "註解", "脚注", "腳註", "延伸阅读", "延伸閱讀", "相关条目", "相關條目", "扩展阅读",
                     "擴展閱讀", "参考来源", "參考來源", "来源", "來源", "外部連結與參考資料"}),
    "ja": frozenset({"脚注", "出典", "参考文献", "外部リンク", "関連項目", "注釈", "参考資料", "参照",
                     "脚注・出典", "注釈・出典", "出典・脚注", "関連文献", "参考図書", "外部サイト"}),
}
BOILERPLATE_SECTIONS = frozenset().union(*SECTIONS_BY_LANG.values())


def boilerplate_sections(lang: str) -> frozenset[str]:
    """The section titles dropped on a wiki of language ``lang`` (zh-yue and zh-classical count as zh)."""
    return SECTIONS_BY_LANG.get(lang.split("-", 1)[0].lower(), BOILERPLATE_SECTIONS)


# The cleanup patterns run over the whole text at once, so none of them may match a newline
# ([^\S\n] is whitespace other than a newline): each still acts within one line.
EMPTY_PAREN = r"(?:\((?:[^\S\n]|[,;:、，；：])*\)|（(?:[^\S\n]|[,;:、，；：])*）)"
EMPTY_PARENS = re.compile(r"[ \t]*" + EMPTY_PAREN)
EMPTY_PARENS_PRESENT = re.compile(EMPTY_PAREN)  # starts with a literal: a fast scan before the slow sub
# A lead-in that only introduces a table: the last sentence before it ends with a colon.
SENTENCE_END = re.compile(r"[.!?。！？][\"')\]”’」』]*\s+|\n")
# MediaWiki's English link trail: [[apple]]s renders as one link over "apples".
LINK_TRAIL = re.compile(r"[a-z]+")
SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+(?=[,.;:!?，。；：！？、）)])")
SPACES = re.compile(r"[ \t\u00a0]{2,}")
BLANK_LINES = re.compile(r"\n{3,}")
LEADING_PAREN_COMMA = re.compile(r"([(（])[^\S\n]*[,;，；、][^\S\n]*")
# Safety net for markup the parser could not pair (an unclosed <ref>, a table broken by a stray
# template, ...): innermost spans first, then any leftover token; counted so a rise shows in _stats.
RESIDUAL_MARKUP = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|<ref\b[^>]*>?|</ref>|__[A-Z]+__")
RESIDUAL_SPANS = (
    re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref>", re.S | re.I),
    re.compile(r"\{\{[^{}]*\}\}"),
    re.compile(r"^[ \t]*\{\|(?:(?!^[ \t]*\{\|).)*?^[ \t]*\|\}[^\n]*", re.S | re.M),
)


@dataclass(frozen=True, kw_only=True)
class WikiText:
    """The plain text of one page and its internal links as ``{"target", "start", "end"}`` objects
    (objects, not ``[title, start, end]`` lists: a list mixing strings and ints has no Arrow type)."""

    text: str
    links: list[dict] = field(default_factory=list)
    residual_markup: int = 0
    dropped_templates: Counter = field(default_factory=Counter)  # normalised name -> calls dropped

def finish(raw: str, *, verbatim: list[str] | None = None, dropped: Counter | None = None) -> WikiText:
    """The page's text and links from the converter's marked output ``raw``; ``verbatim`` holds the
    pieces (math, code) that :data:`VERBATIM_PIECE` marks stand for, ``dropped`` the templates dropped."""
    if TABLE_MARK in raw:
        raw = _drop_lead_ins(raw)
    if BLOCK_MARK in raw:
        raw = _break_blocks(raw)
    residual = len(RESIDUAL_MARKUP.findall(raw))
    if residual:
        for span in RESIDUAL_SPANS:
            previous = None
            while previous != raw:  # innermost first, until nested spans are gone
                previous, raw = raw, span.sub("", raw)
        raw = RESIDUAL_MARKUP.sub("", raw)
    raw = LEADING_PAREN_COMMA.sub(r"\1", raw)
    if EMPTY_PARENS_PRESENT.search(raw):
        raw = EMPTY_PARENS.sub("", raw)
    raw = SPACE_BEFORE_PUNCT.sub("", SPACES.sub(" ", raw))
    lines = [line.strip() for line in raw.split("\n")]
    text = BLANK_LINES.sub("\n\n", "\n".join(_drop_empty_sections(lines))).strip()
    if verbatim:
        text = VERBATIM_PIECE.sub(lambda match: verbatim[int(match.group(1))], text)
    return dataclasses.replace(_extract_links(text, residual), dropped_templates=dropped or Counter())


def _break_blocks(raw: str) -> str:
    """Start each block (:data:`BLOCK_MARK`) on a new paragraph, or on the next line after a lead-in
    ending in a colon ("He wrote:" + quote stays one paragraph). Split, not a regex: one linear pass."""
    pieces = raw.split(BLOCK_MARK)
    for i in range(len(pieces) - 1):
        before = pieces[i].rstrip(" \t\n")
        pieces[i] = before + ("\n" if before.endswith((":", "：")) else "\n\n")
    return "".join(pieces)


def _drop_lead_ins(raw: str) -> str:
    """Remove each :data:`TABLE_MARK` and, before it, a last sentence ending in a colon ("... as
    follows:"), which only introduced the dropped table. A sentence is cut only whole, links included."""
    pieces = raw.split(TABLE_MARK)
    for i in range(len(pieces) - 1):
        before = pieces[i].rstrip()
        if not before.endswith((":", "：")):
            continue
        window = max(0, len(before) - 2000)  # a sentence is shorter; bounds the search on long pages
        starts = [window] + [m.end() for m in SENTENCE_END.finditer(before, window, len(before) - 1)]
        for start in reversed(starts):
            tail = before[start:]
            if tail.count(LINK_OPEN) == tail.count(LINK_CLOSE) and HEADING_MARK not in tail:
                pieces[i] = before[:start] + "\n"
                break
    return "".join(pieces)


def _drop_empty_sections(lines: list[str]) -> list[str]:
    """Drop headings whose section holds no text (the next heading is of the same or a higher
    level, or the page ends), and unmark the rest. Heading lines look like ``MARK + level + title``."""
    kept: list[str] = []
    pending: list[tuple[int, str]] = []  # open headings, outermost first, still without text
    for line in lines:
        if line.startswith(HEADING_MARK):
            level = int(line[1])
            pending = [(lvl, title) for lvl, title in pending if lvl < level]
            pending.append((level, line[2:]))
        elif line and pending:
            for _, title in pending:
                kept.extend(("", title, ""))
            pending = []
            kept.append(line)
        else:
            kept.append(line)
    return kept


def _extract_links(marked: str, residual: int) -> WikiText:
    """Strip the link sentinels from ``marked`` and return the text with its link objects."""
    pieces: list[str] = []
    links: list[dict] = []
    length = 0
    pos = 0
    while True:
        open_at = marked.find(LINK_OPEN, pos)
        if open_at < 0:
            break
        close_at = marked.find(LINK_CLOSE, open_at)
        sep_at = marked.find("\x1f", open_at, close_at)
        if close_at < 0 or sep_at < 0:  # a sentinel cut by cleanup: keep the text, drop the link
            break
        before = marked[pos:open_at]
        pieces.append(before)
        length += len(before)
        target = marked[open_at + 1 : sep_at]
        anchor = marked[sep_at + 1 : close_at]
        if LINK_OPEN in anchor:  # a link inside a link caption cannot happen in MediaWiki; flatten
            anchor = anchor.replace(LINK_OPEN, "")
        pos = close_at + 1
        trail = LINK_TRAIL.match(marked, pos)
        if trail:
            anchor += trail.group()
            pos = trail.end()
        pieces.append(anchor)
        if anchor.strip():
            links.append({"target": target, "start": length, "end": length + len(anchor)})
        length += len(anchor)
    pieces.append(marked[pos:])
    text = "".join(pieces).replace(LINK_OPEN, "").replace(LINK_CLOSE, "").replace("\x1f", "")
    return WikiText(text=text, links=links, residual_markup=residual)
