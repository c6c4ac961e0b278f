"""Wikitext to plain text with mwparserfromhell, keeping internal links as char offsets in the output.

``<ref>``, files/images, categories, interlanguage links, magic words, comments and every template
without a renderer are removed (the dropped templates counted by name); content templates are rendered
through the name -> renderer table of :mod:`corpus.readers.templates`; links become their anchor text;
headings and list items become lines; boilerplate sections of the wiki's language are dropped; tables,
``<math>`` and code follow the policies of :class:`WikitextConverter` (see docs/wiki.md). No template is
expanded by MediaWiki's rules (no Lua, no network).

Speed: most of a page is markup that renders as nothing, so :func:`strip_unrendered` first cuts it in
one linear pass: comments, ``<ref>``/``<gallery>``/... elements (up to their first closing tag, as MediaWiki
reads extension tags), and balanced ``{{...}}``/``{{{...}}}`` and line-start ``{|...|}`` spans, matched
by counting brace runs on a stack as MediaWiki's preprocessor does (not by regexes over nested text);
unbalanced markup is left for the parser. mwparserfromhell's C tokenizer then parses the rest (links,
headings, lists, tags), and the text is rendered from its token stream; only rare nodes (inline
templates, entities) go through its tree builder, whose Python objects cost more than the parse itself.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import mwparserfromhell
from mwparserfromhell.nodes import (
    Argument,
    Comment,
    ExternalLink,
    Heading,
    HTMLEntity,
    Tag,
    Template,
    Text,
    Wikilink,
)
from mwparserfromhell.parser import tokens as tk
from mwparserfromhell.parser.builder import Builder
from mwparserfromhell.wikicode import Wikicode

from corpus.readers import templates

try:  # the C tokenizer (the one mwparserfromhell.parse uses when it is built); the pure-Python one otherwise
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
except ImportError:  # pragma: no cover
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

# Private-use code points that bracket a link anchor while the text is post-processed and converted
# with OpenCC; they survive both untouched and are removed (and turned into offsets) at the very end.
LINK_OPEN = "\ue000"
LINK_CLOSE = "\ue001"
# Marks a heading line so that headings of sections left empty (all tables/templates) can be dropped.
HEADING_MARK = "\ue002"
# Where a dropped table stood, so that a lead-in sentence that only introduces it goes with it.
TABLE_MARK = "\ue003"
# Brackets the index of a verbatim piece (math, code) kept aside until the text is finished, so that
# no cleanup rule (quotes, spaces, braces, OpenCC) touches it: VERBATIM_OPEN + "12" + VERBATIM_CLOSE.
VERBATIM_OPEN = "\ue004"
VERBATIM_CLOSE = "\ue005"
VERBATIM_PIECE = re.compile("\ue004(\\d+)\ue005")
BLOCK_MARK = templates.BLOCK
MARKS = (LINK_OPEN, LINK_CLOSE, HEADING_MARK, TABLE_MARK, VERBATIM_OPEN, VERBATIM_CLOSE, BLOCK_MARK, "\x1f")

# Link prefixes that name media or categories in en and zh wikis (local names and common aliases);
# such links are dropped with their caption. Namespace names from the dump's <siteinfo> are added.
MEDIA_PREFIXES = frozenset(
    {"file", "image", "media", "category", "文件", "檔案", "档案", "图像", "圖像", "图片", "圖片",
     "分类", "分類", "媒体", "媒體"}
)
# Interwiki prefixes whose links are visible in the text (anchor kept, no link recorded); any other
# prefix shaped like a language code is an interlanguage link, which MediaWiki shows only in the sidebar.
INTERWIKI_PREFIXES = frozenset(
    {"wikt", "wiktionary", "s", "wikisource", "q", "wikiquote", "b", "wikibooks", "n", "wikinews",
     "v", "wikiversity", "voy", "commons", "meta", "m", "species", "d", "wikidata", "mw", "w",
     "wikipedia", "c", "foundation", "wmf", "phab", "doi", "special", "help", "portal", "talk", "user",
     "template", "wp", "project", "draft", "module"}
)
LANG_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z]{2,8})*$")

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

# HTML/extension tags whose content is not running prose.
DROP_TAGS = frozenset(
    {"ref", "references", "table", "gallery", "timeline", "score", "imagemap",
     "graph", "templatestyles", "noinclude", "includeonly", "mapframe", "maplink", "hiero", "inputbox",
     "categorytree", "section", "indicator", "syntaxhighlight-none", "style", "script"}
)
BREAK_TAGS = frozenset({"br", "hr"})
# Tags rendered from mwparserfromhell's tree by WikitextConverter._tag (they need their attributes or
# their raw content): math, code, block quotes and tables (dropped unless tables="rows").
TREE_TAGS = frozenset({"math", "chem", "ce", "blockquote", "table", "pre", "source", "syntaxhighlight"})

# Tags whose body ends at the first closing tag (extension tags; nothing nests in them): the pre-pass
# cuts the dropped ones whole and copies the verbatim ones unchanged, so braces in them stay text.
CUT_TAGS = DROP_TAGS - {"table", "syntaxhighlight-none"}
CODE_TAGS = frozenset({"pre", "source", "syntaxhighlight"})
MATH_TAGS = frozenset({"math", "chem", "ce"})
VERBATIM_TAGS = frozenset({"nowiki", "templatedata"}) | MATH_TAGS | CODE_TAGS
# What becomes of tables and of <math>: the converter's ``tables`` and ``math`` options.
TABLE_POLICIES = ("drop", "rows")
MATH_POLICIES = ("latex", "placeholder", "drop")
MATH_PLACEHOLDER = "[formula]"
# The pre-pass's tokens (a lexer, not a matcher of nested spans): a comment opening, runs of two or more
# braces, a table opening/closing at the start of a line (after its newline, so every branch starts with
# a fixed character and the search skips ahead fast), and the opening of a cut or verbatim tag.
PREPASS_TOKEN = re.compile(
    r"<!--|\{\{+|\}\}+|\n[ \t]*\{\||\n[ \t]*\|\}|<(" + "|".join(sorted(CUT_TAGS | VERBATIM_TAGS)) + r")(?=[\s/>])",
    re.I,
)

STYLE_QUOTES = re.compile(r"'{2,}")  # wikitext italic/bold quote runs
MAGIC_WORD = re.compile(r"__[A-Z]+(?:_[A-Z]+)*__")
# zhwiki language-variant markup: -{text}- or -{zh-hans:简;zh-hant:繁;}- (not parsed by mwparserfromhell).
VARIANT = re.compile(r"-\{(?:[A-Za-z]\|)?(.*?)\}-", re.S)
VARIANT_PART = re.compile(r"(zh(?:-[a-z]+)?)\s*:\s*([^;]*)")
VARIANT_PREFERENCE = ("zh-hans", "zh-cn", "zh", "zh-sg", "zh-my", "zh-hant", "zh-tw", "zh-hk", "zh-mo")

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
CELL_SPACE = re.compile(r"[ \t\n]+")
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


def _variant(match: re.Match) -> str:
    body = match.group(1)
    parts = dict(VARIANT_PART.findall(body))
    if not parts:
        return body
    for code in VARIANT_PREFERENCE:
        if code in parts:
            return parts[code].strip()
    return next(iter(parts.values())).strip()


def template_name(body: str) -> str:
    """Normalised name of a template from the text between its braces: ``Lang_de|x`` -> ``lang de``;
    parser functions and magic words keep the part before their colon (``#if:``, ``DEFAULTSORT:``)."""
    name = body.split("|", 1)[0]
    if ":" in name:
        head = name.split(":", 1)[0].strip()
        if head.startswith("#") or (head.isupper() and head.lower() not in {"template", "msg"}):
            return head.lower() + ":"
    # Capped: a stray "{{" can make a whole paragraph look like a name, and names become counter keys.
    return templates.normalise(name)[:80]


@functools.lru_cache(maxsize=64)
def _closing_tag(name: str) -> re.Pattern:
    return re.compile(rf"</{name}\s*>", re.I)


def strip_unrendered(wikitext: str, *, tables: str = "drop", dropped: Counter | None = None) -> str:
    """Cut what the converter would render as nothing, in one left-to-right pass over ``wikitext``.

    Removes comments, cut-tag elements (``<ref>...</ref>``, ``<ref/>``, ``<gallery>``, ...), balanced
    ``{{...}}`` templates and ``{{{...}}}`` arguments (nested; templates with a renderer in
    :mod:`corpus.readers.templates` stay, every other one is counted in ``dropped`` by name) and, with
    ``tables="drop"``, ``{|...|}`` tables opened and closed at line starts (nested), leaving
    :data:`TABLE_MARK` where they stood. Open spans sit on a stack; closing one deletes its output pieces,
    so the pass is linear. Unclosed spans stay as text, as MediaWiki shows them, except an unclosed
    comment, which hides the rest of the page as in MediaWiki.
    """
    keep_tables = tables == "rows"
    wikitext = "\n" + wikitext  # the page starts a line; the newline is dropped on return
    pieces: list[str] = []
    # Open spans: [is_table, index in pieces of the opening token, braces still open (0 for tables)].
    stack: list[list] = []
    pos = 0
    search = PREPASS_TOKEN.search
    while match := search(wikitext, pos):
        start, end = match.span()
        if start > pos:
            pieces.append(wikitext[pos:start])
        token = match.group()
        first = token[0]
        if first == "<" and token[1] == "!":  # <!-- ... -->
            close = wikitext.find("-->", end)
            pos = len(wikitext) if close < 0 else close + 3
        elif first == "<":
            name = match.group(1).lower()
            gt = wikitext.find(">", end)
            if gt < 0:
                pieces.append(token)
                pos = end
                continue
            if wikitext[gt - 1] == "/":
                element_end = gt + 1
            else:
                closing = _closing_tag(name).search(wikitext, gt + 1)
                if closing is None:  # unclosed: the opening tag is text (the parser sees it as such)
                    pieces.append(wikitext[start : gt + 1])
                    pos = gt + 1
                    continue
                element_end = closing.end()
            if name in VERBATIM_TAGS:
                pieces.append(wikitext[start:element_end])
            pos = element_end
        elif token.endswith("{|"):
            if keep_tables:
                pieces.append(token)
                pos = end
                continue
            pieces.append("\n")
            stack.append([True, len(pieces), 0])
            pieces.append(token[1:])
            pos = end
        elif first == "{":
            stack.append([False, len(pieces), len(token)])
            pieces.append(token)
            pos = end
        elif first == "}":
            pos = end
            _close_braces(len(token), stack, pieces, dropped)
        elif stack and stack[-1][0]:  # |} closing the innermost open table
            del pieces[stack.pop()[1] :]
            pieces.append(TABLE_MARK + "\n")
            pos = end
        else:  # a |} that closes no table: the '|' is text and the '}' may start a '}}'
            pieces.append(token[:-1])
            pos = end - 1
    pieces.append(wikitext[pos:])
    return "".join(pieces)[1:]


def _close_braces(count: int, stack: list[list], pieces: list[str], dropped: Counter | None) -> None:
    """Match a run of ``count`` closing braces against the open brace spans, as MediaWiki's preprocessor
    does: three braces close an argument, two a template; tables still open inside are left as text."""
    while count >= 2:
        at = len(stack) - 1
        while at >= 0 and stack[at][0]:
            at -= 1
        if at < 0:
            break
        del stack[at + 1 :]
        frame = stack[at]
        index, opened = frame[1], frame[2]
        used = 3 if min(count, opened) >= 3 else 2
        body = ""
        if used == 2:
            body = "".join(pieces[index + 1 :])
            name = template_name(body)
            if templates.renderer(name) is not None:
                body = "{{" + body + "}}"
            else:
                body = ""
                if dropped is not None:
                    dropped[name] += 1
        del pieces[index + 1 :]
        pieces[index] = "{" * (opened - used)
        if body:
            pieces.append(body)
        count -= used
        frame[2] = opened - used
        if frame[2] < 2:
            stack.pop()
    if count:
        pieces.append("}" * count)


@dataclass(frozen=True, kw_only=True)
class WikitextConverter:
    """Render wikitext to text; ``media_prefixes`` extends the built-in file/category namespace names.

    ``lang`` is the wiki's language (template output, e.g. dates); ``sections`` the section titles
    dropped with their content (see :func:`boilerplate_sections`). Structures follow stated policies:
    ``tables="drop"`` removes tables with a lead-in sentence ending in a colon that only introduces them,
    ``"rows"`` renders each row as a line of cells joined by " | "; ``math="latex"`` keeps ``<math>`` as
    ``$...$`` (``display="block"``: ``$$...$$``), ``"placeholder"`` writes :data:`MATH_PLACEHOLDER`,
    ``"drop"`` removes it; ``<source>``, ``<syntaxhighlight>`` and ``<pre>`` are kept verbatim as fenced
    blocks; list items are one per line. ``dropped``, ``verbatim`` and ``today`` hold one page's state:
    ``convert`` works on a copy that has them.
    """

    media_prefixes: frozenset[str] = MEDIA_PREFIXES
    first_letter_case: bool = True
    lang: str = "en"
    sections: frozenset[str] = BOILERPLATE_SECTIONS
    tables: str = "drop"
    math: str = "latex"
    dropped: Counter | None = field(default=None, compare=False, repr=False)
    verbatim: list[str] | None = field(default=None, compare=False, repr=False)
    today: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.tables not in TABLE_POLICIES:
            raise ValueError(f"wiki: tables must be one of {', '.join(TABLE_POLICIES)}, not {self.tables!r}")
        if self.math not in MATH_POLICIES:
            raise ValueError(f"wiki: math must be one of {', '.join(MATH_POLICIES)}, not {self.math!r}")

    def target_title(self, title: str) -> str:
        """Normalise a link target the way MediaWiki does: no fragment, spaces, first letter upper."""
        title = title.split("#", 1)[0].replace("_", " ").strip()
        title = " ".join(title.split())
        if self.first_letter_case and title:
            title = title[0].upper() + title[1:]
        return title

    def _link_kind(self, title: str) -> str:
        """``drop`` (media/category/interlanguage), ``text`` (other namespace) or ``link``."""
        if title.startswith(":"):
            return "text"
        if ":" in title:
            prefix = title.split(":", 1)[0].strip().lower()
            if prefix in self.media_prefixes:
                return "drop"
            if prefix in INTERWIKI_PREFIXES:
                return "text"
            if LANG_CODE.match(prefix):
                return "drop"
        return "link"

    def render(self, code: Wikicode | str) -> str:
        """Render without section logic (template arguments, link anchors, headings)."""
        out: list[str] = []
        self._walk(code.nodes if isinstance(code, Wikicode) else mwparserfromhell.parse(code).nodes, out)
        return "".join(out)

    def _walk(self, nodes: Iterable, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(STYLE_QUOTES.sub("", MAGIC_WORD.sub("", node.value)))
            elif isinstance(node, Wikilink):
                self._wikilink(node, out)
            elif isinstance(node, Tag):
                self._tag(node, out)
            elif isinstance(node, Template):
                self._tree_template(node, out)
            elif isinstance(node, HTMLEntity):
                out.append(node.normalize().replace("\u00a0", " "))
            elif isinstance(node, ExternalLink):
                if node.brackets and node.title is not None:
                    self._walk(node.title.nodes, out)
            elif isinstance(node, Heading):
                out.append(f"\n{HEADING_MARK}{min(node.level, 9)}{self.render(node.title).strip()}\n")
            elif isinstance(node, (Comment, Argument)):
                continue

    def _wikilink(self, node: Wikilink, out: list[str]) -> None:
        title = str(node.title)
        kind = self._link_kind(title)
        if kind == "drop":
            return
        anchor = (self.render(node.text) if node.text is not None else title.lstrip(":")).strip()
        self._emit_link(title, anchor, kind, out)

    def _emit_link(self, title: str, anchor: str, kind: str, out: list[str]) -> None:
        if not anchor:
            return
        target = self.target_title(title.lstrip(":"))
        if kind == "link" and target:
            # Sentinels bracket the anchor; the target rides along after a NUL-free separator.
            out.append(f"{LINK_OPEN}{target}\x1f{anchor}{LINK_CLOSE}")
        else:
            out.append(anchor)

    def _keep(self, text: str) -> str:
        """Set ``text`` aside until the page is finished (no cleanup rule touches it); its marker."""
        if self.verbatim is None:
            return text
        self.verbatim.append(text)
        return f"{VERBATIM_OPEN}{len(self.verbatim) - 1}{VERBATIM_CLOSE}"

    def _math(self, node: Tag, tag: str) -> str:
        """``<math>`` (and mhchem's ``<chem>``/``<ce>``, as ``\\ce{...}``) by the ``math`` policy."""
        if self.math == "drop":
            return ""
        if self.math == "placeholder":
            return MATH_PLACEHOLDER
        # Whitespace runs are one space to LaTeX: a formula written over lines becomes one line.
        latex = " ".join(str(node.contents).split()) if node.contents is not None else ""
        if not latex:
            return ""
        if tag in {"chem", "ce"}:
            latex = rf"\ce{{{latex}}}"
        block = node.has("display") and str(node.get("display").value).strip().lower() == "block"
        return self._keep(f"$${latex}$$" if block else f"${latex}$")

    def _code(self, node: Tag, tag: str) -> str:
        """A code element as a fenced block with its language (``inline``: between backticks)."""
        code = str(node.contents) if node.contents is not None else ""
        if tag == "pre":  # MediaWiki decodes entities in <pre>, not in <source>/<syntaxhighlight>
            code = html.unescape(code)
        if node.has("inline"):
            return self._keep(f"`{code.strip()}`") if code.strip() else ""
        code = code.strip("\n").rstrip()
        if not code.strip():
            return ""
        lang = str(node.get("lang").value).strip() if node.has("lang") else ""
        return BLOCK_MARK + self._keep(f"```{lang}\n{code}\n```") + "\n\n"

    def _table_rows(self, node: Tag) -> str:
        """A table as text: its caption, then one line per row with the cells joined by " | "."""
        lines: list[str] = []
        loose: list[str] = []  # cells before the first row separator belong to an implicit first row

        def cells(nodes: Iterable) -> list[str]:
            found = []
            for cell in nodes:
                if isinstance(cell, Tag) and str(cell.tag).strip().lower() in {"td", "th"}:
                    # [ \t\n], not str.split(): the link sentinels' \x1f separator is whitespace to Python
                    text = CELL_SPACE.sub(" ", self.render(cell.contents)).strip() if cell.contents else ""
                    if text:
                        found.append(text)
            return found

        for child in node.contents.nodes if node.contents is not None else ():
            if not isinstance(child, Tag):
                continue
            tag = str(child.tag).strip().lower()
            if tag == "caption" and child.contents is not None:
                lines.append(CELL_SPACE.sub(" ", self.render(child.contents)).strip())
            elif tag == "tr" and child.contents is not None:
                lines.append(" | ".join(cells(child.contents.nodes)))
            elif tag in {"td", "th"}:
                loose.extend(cells([child]))
        caption = []
        if loose and loose[0].startswith("+"):  # mwparserfromhell reads a "|+" caption as a cell
            caption.append(loose.pop(0)[1:].strip())
        lines = caption + ([" | ".join(loose)] if loose else []) + lines
        lines = [line for line in lines if line]
        return BLOCK_MARK + "\n".join(lines) + "\n\n" if lines else ""

    def _tag(self, node: Tag, out: list[str]) -> None:
        tag = str(node.tag).strip().lower()
        if tag in MATH_TAGS:
            out.append(self._math(node, tag))
            return
        if tag in CODE_TAGS:
            out.append(self._code(node, tag))
            return
        if tag == "table" and self.tables == "rows":
            out.append(self._table_rows(node))
            return
        if tag == "blockquote":  # a quoted paragraph of its own
            out.append(BLOCK_MARK)
            if node.contents is not None:
                self._walk(node.contents.nodes, out)
            out.append("\n\n")
            return
        if tag in DROP_TAGS:
            return
        if tag in BREAK_TAGS:
            out.append("\n")
        elif tag == "nowiki":
            out.append(str(node.contents) if node.contents is not None else "")
        elif tag in {"li", "dt", "dd"} and node.wiki_markup:
            # List bullets/indents: the item already starts a line; a `;term:def` colon gets a space.
            if tag == "dd" and out and not out[-1].endswith("\n"):
                out.append(" ")
        elif node.contents is not None and not node.self_closing:
            self._walk(node.contents.nodes, out)

    def convert(self, wikitext: str, *, transform: Callable[[str], str] | None = None, today: str = "") -> WikiText:
        """Plain text and links of ``wikitext``; ``transform`` (e.g. OpenCC t2s) is applied to text
        and link targets before offsets are computed, so the offsets hold for the converted text.
        ``today`` is the page revision's day (``YYYY-MM-DD``), for templates that show ages."""
        page = dataclasses.replace(self, dropped=Counter(), verbatim=[], today=today)
        return page._convert(wikitext, transform)

    def _convert(self, wikitext: str, transform: Callable[[str], str] | None) -> WikiText:
        for mark in MARKS:
            if mark in wikitext:
                wikitext = wikitext.replace(mark, "")
        wikitext = strip_unrendered(wikitext, tables=self.tables, dropped=self.dropped)
        # Variant markup after comments and elements are gone: "<!--{{Infobox}}-->" must not be read
        # as "-{...}-" (it became "‹!-{…}->" when this ran first).
        if "-{" in wikitext:
            wikitext = VARIANT.sub(_variant, wikitext)
        # Bold/italic quotes stay text (skip_style_tags) and are removed with the magic words: parsing
        # them as tags is most of the tokenizer's time on real pages, and they carry no content.
        tokens = _Tokenizer().tokenize(wikitext, 0, True)
        out: list[str] = []
        self._render_range(tokens, 0, len(tokens), out, sections=True)
        raw = "".join(out)
        if transform is not None:
            raw = transform(raw)
        return self._finish(raw)

    def _render_tokens(self, tokens: list, start: int, end: int) -> str:
        out: list[str] = []
        self._render_range(tokens, start, end, out)
        return "".join(out)

    def _render_range(self, tokens: list, start: int, end: int, out: list[str], *, sections: bool = False) -> None:
        """Render ``tokens[start:end]`` (whole nodes) straight from mwparserfromhell's token stream;
        with ``sections``, headings of boilerplate sections drop everything under them.

        Text, wikilinks with a plain title, tags named by plain text, headings and external links are
        read off the tokens; any other node (inline templates, entities, ...) is built into a tree by
        mwparserfromhell's own builder and rendered by :meth:`_walk`, so both paths share one set of rules.
        """
        skip_level = 0  # level of the boilerplate heading being skipped, 0 when not skipping
        i = start
        while i < end:
            token = tokens[i]
            kind = type(token)
            if kind is tk.Text:
                i += 1
                if skip_level:
                    continue
                value = token["text"]
                if "__" in value:
                    value = MAGIC_WORD.sub("", value)
                if "''" in value:
                    value = STYLE_QUOTES.sub("", value)
                out.append(value)
                continue
            stop = _node_end(tokens, i)
            if kind is tk.HeadingStart:
                level = token["level"]
                if sections:
                    if skip_level and level > skip_level:
                        i = stop
                        continue
                    title = self._render_tokens(tokens, i + 1, stop - 1).strip()
                    skip_level = level if title.lower().rstrip(":：").strip() in self.sections else 0
                    if not skip_level:
                        out.append(f"\n{HEADING_MARK}{min(level, 9)}{title}\n")
                else:
                    title = self._render_tokens(tokens, i + 1, stop - 1).strip()
                    out.append(f"\n{HEADING_MARK}{min(level, 9)}{title}\n")
            elif skip_level:
                pass
            elif kind is tk.WikilinkOpen:
                if not self._token_wikilink(tokens, i, stop, out):
                    self._walk(Builder().build(tokens[i:stop]).nodes, out)
            elif kind is tk.TagOpenOpen:
                if not self._token_tag(tokens, i, stop, out):
                    self._walk(Builder().build(tokens[i:stop]).nodes, out)
            elif kind is tk.TemplateOpen:
                if not self._token_template(tokens, i, stop, out):
                    self._walk(Builder().build(tokens[i:stop]).nodes, out)
            elif kind is tk.ExternalLinkOpen:
                if token.get("brackets"):
                    separator = _find_at_depth(tokens, i, stop, tk.ExternalLinkSeparator)
                    if separator is not None:
                        self._render_range(tokens, separator + 1, stop - 1, out)
            elif kind is not tk.CommentStart and kind is not tk.ArgumentOpen:
                self._walk(Builder().build(tokens[i:stop]).nodes, out)
            i = stop

    def _render_template(self, name: str, numbered: dict[int, str], named: dict[str, str], out: list[str]) -> None:
        """Append what the renderer of template ``name`` shows for these (rendered) arguments; a template
        without a renderer, or whose renderer cannot render them, is counted in ``dropped``."""
        renderer = templates.renderer(name)
        positional = tuple(numbered.get(i, "") for i in range(1, max(numbered, default=0) + 1))
        text = None if renderer is None else renderer(
            templates.Call(name=name, positional=positional, named=named, lang=self.lang, today=self.today))
        if text is not None:
            out.append(text)
        elif self.dropped is not None:
            self.dropped[name] += 1

    def _tree_template(self, node: Template, out: list[str]) -> None:
        """A template node of mwparserfromhell's tree (inside other tree-rendered markup)."""
        numbered: dict[int, str] = {}
        named: dict[str, str] = {}
        for param in node.params:
            key = str(param.name).strip()
            if key.isdigit():
                numbered[int(key)] = self.render(param.value)
            else:
                named[key.lower()] = self.render(param.value)
        self._render_template(template_name(str(node.name)), numbered, named, out)

    def _token_template(self, tokens: list, start: int, stop: int, out: list[str]) -> bool:
        """Render a template straight from its tokens (as :meth:`_tree_template` does from the tree,
        without building mwparserfromhell's parameter objects); False if its name or a key is markup."""
        separators: list[int] = []  # TemplateParamSeparator indexes at depth 0, then the closing index
        equals: dict[int, int] = {}  # separator index -> its first TemplateParamEquals at depth 0
        depth = 0
        for i in range(start + 1, stop - 1):
            kind = type(tokens[i])
            if depth == 0 and kind is tk.TemplateParamSeparator:
                separators.append(i)
            elif depth == 0 and kind is tk.TemplateParamEquals and separators and separators[-1] not in equals:
                equals[separators[-1]] = i
            elif kind in OPEN_TOKENS:
                depth += 1
            elif kind in CLOSE_TOKENS:
                depth -= 1
        name_end = separators[0] if separators else stop - 1
        if not all(type(t) is tk.Text for t in tokens[start + 1 : name_end]):
            return False
        name = template_name("".join(t["text"] for t in tokens[start + 1 : name_end]))
        if templates.renderer(name) is None:  # no need to render its arguments
            self._render_template(name, {}, {}, out)
            return True
        numbered: dict[int, str] = {}
        named: dict[str, str] = {}
        position = 0
        for at, separator in enumerate(separators):
            end = separators[at + 1] if at + 1 < len(separators) else stop - 1
            if separator in equals:
                key_tokens = tokens[separator + 1 : equals[separator]]
                if not all(type(t) is tk.Text for t in key_tokens):
                    return False
                key = "".join(t["text"] for t in key_tokens).strip()
                value = self._render_tokens(tokens, equals[separator] + 1, end)
                if key.isdigit():
                    numbered[int(key)] = value
                else:
                    named[key.lower()] = value
            else:
                position += 1
                numbered[position] = self._render_tokens(tokens, separator + 1, end)
        self._render_template(name, numbered, named, out)
        return True

    def _token_wikilink(self, tokens: list, start: int, stop: int, out: list[str]) -> bool:
        separator = _find_at_depth(tokens, start, stop, tk.WikilinkSeparator)
        title_end = stop - 1 if separator is None else separator
        if title_end - start != 2 or type(tokens[start + 1]) is not tk.Text:
            return False  # empty title or markup in it: let the tree path decide
        title = tokens[start + 1]["text"]
        kind = self._link_kind(title)
        if kind == "drop":
            return True
        if separator is None:
            anchor = title.lstrip(":").strip()
        else:
            anchor = self._render_tokens(tokens, separator + 1, stop - 1).strip()
        self._emit_link(title, anchor, kind, out)
        return True

    def _token_tag(self, tokens: list, start: int, stop: int, out: list[str]) -> bool:
        if stop - start < 3 or type(tokens[start + 1]) is not tk.Text:
            return False
        after = type(tokens[start + 2])
        if after is not tk.TagCloseOpen and after is not tk.TagCloseSelfclose and after is not tk.TagAttrStart:
            return False  # a tag name made of markup
        tag = tokens[start + 1]["text"].strip().lower()
        if tag in TREE_TAGS:
            return False  # math, code, quotes and table rows are rendered by _tag, from the tree
        if tag in DROP_TAGS:
            return True
        if tag in BREAK_TAGS:
            out.append("\n")
            return True
        if tag == "nowiki":
            return False
        if tag in {"li", "dt", "dd"} and tokens[start].get("wiki_markup"):
            if tag == "dd" and out and not out[-1].endswith("\n"):
                out.append(" ")
            return True
        if type(tokens[stop - 1]) is tk.TagCloseClose:
            opened = _find_at_depth(tokens, start, stop, tk.TagCloseOpen)
            closing = _find_at_depth(tokens, start, stop, tk.TagOpenClose)
            if opened is not None and closing is not None:
                self._render_range(tokens, opened + 1, closing, out)
        return True

    def _finish(self, raw: str) -> WikiText:
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
        if self.verbatim:
            text = VERBATIM_PIECE.sub(lambda match: self.verbatim[int(match.group(1))], text)
        return dataclasses.replace(_extract_links(text, residual), dropped_templates=self.dropped or Counter())


# Tokens that open a node and the tokens that close one (a tag closes with either of its two enders).
OPEN_TOKENS = frozenset(
    {tk.TemplateOpen, tk.ArgumentOpen, tk.WikilinkOpen, tk.ExternalLinkOpen, tk.HTMLEntityStart,
     tk.HeadingStart, tk.CommentStart, tk.TagOpenOpen}
)
CLOSE_TOKENS = frozenset(
    {tk.TemplateClose, tk.ArgumentClose, tk.WikilinkClose, tk.ExternalLinkClose, tk.HTMLEntityEnd,
     tk.HeadingEnd, tk.CommentEnd, tk.TagCloseSelfclose, tk.TagCloseClose}
)


def _node_end(tokens: list, start: int) -> int:
    """Index just past the node opened by ``tokens[start]`` (the tokenizer's output is well nested)."""
    depth = 0
    for i in range(start, len(tokens)):
        kind = type(tokens[i])
        if kind in OPEN_TOKENS:
            depth += 1
        elif kind in CLOSE_TOKENS:
            depth -= 1
            if not depth:
                return i + 1
    raise ValueError(f"unbalanced wikitext tokens from {start}")


def _find_at_depth(tokens: list, start: int, stop: int, kind: type) -> int | None:
    """Index of the first ``kind`` token directly inside the node ``tokens[start:stop]``, or None."""
    depth = 0
    for i in range(start + 1, stop - 1):
        token_kind = type(tokens[i])
        if token_kind is kind and not depth:
            return i
        if token_kind in OPEN_TOKENS:
            depth += 1
        elif token_kind in CLOSE_TOKENS:
            depth -= 1
    return None


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
