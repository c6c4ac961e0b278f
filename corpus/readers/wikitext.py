"""Wikitext to plain text with mwparserfromhell, keeping internal links as char offsets in the output.

``<ref>``, files/images, categories, interlanguage links, magic words, comments and every template
without a renderer are removed (the dropped templates counted by name); content templates are rendered
through the name -> renderer table of :mod:`corpus.readers.templates`; links become their anchor text;
headings and list items become lines; boilerplate sections of the wiki's language are dropped; tables,
``<math>`` and code follow the policies of :class:`WikitextConverter` (see docs/wiki.md). No template is
expanded by MediaWiki's rules (no Lua, no network).

Speed: most of a page is markup that renders as nothing, so the pre-pass of :mod:`corpus.readers.wikiscan`
cuts it first, in one linear scan; mwparserfromhell's C tokenizer then parses the rest (links, headings,
lists, tags), and the text is rendered from its token stream; only rare nodes (inline templates,
entities) go through its tree builder, whose Python objects cost more than the parse itself.
:mod:`corpus.readers.wikisections` finishes the text (sections, table lead-ins, link offsets).
"""

from __future__ import annotations

import dataclasses
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
from corpus.readers.wikiscan import (
    BLOCK_MARK,
    CLOSE_TOKENS,
    CODE_TAGS,
    DROP_TAGS,
    HEADING_MARK,
    LINK_CLOSE,
    LINK_OPEN,
    MARKS,
    MATH_TAGS,
    OPEN_TOKENS,
    TABLE_MARK,
    VERBATIM_CLOSE,
    VERBATIM_OPEN,
    find_at_depth,
    node_end,
    resolve_variants,
    strip_unrendered,
    template_name,
)
from corpus.readers.wikisections import BOILERPLATE_SECTIONS, WikiText, boilerplate_sections, finish

try:  # the C tokenizer (the one mwparserfromhell.parse uses when it is built); the pure-Python one otherwise
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
except ImportError:  # pragma: no cover
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

# Re-exported: the wiki reader and the tests import these from here.
__all__ = ["MATH_PLACEHOLDER", "MEDIA_PREFIXES", "TABLE_MARK", "WikiText", "WikitextConverter", "boilerplate_sections",
           "strip_unrendered"]

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

BREAK_TAGS = frozenset({"br", "hr"})
# Tags rendered from mwparserfromhell's tree by WikitextConverter._tag (they need their attributes or
# their raw content): math, code, block quotes and tables (dropped unless tables="rows").
TREE_TAGS = frozenset({"math", "chem", "ce", "blockquote", "table", "pre", "source", "syntaxhighlight"})
# What becomes of tables and of <math>: the converter's ``tables`` and ``math`` options.
TABLE_POLICIES = ("drop", "rows")
MATH_POLICIES = ("latex", "placeholder", "drop")
MATH_PLACEHOLDER = "[formula]"
STYLE_QUOTES = re.compile(r"'{2,}")  # wikitext italic/bold quote runs
MAGIC_WORD = re.compile(r"__[A-Z]+(?:_[A-Z]+)*__")
CELL_SPACE = re.compile(r"[ \t\n]+")


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
            wikitext = resolve_variants(wikitext)
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
            stop = node_end(tokens, i)
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
                    separator = find_at_depth(tokens, i, stop, tk.ExternalLinkSeparator)
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
        separator = find_at_depth(tokens, start, stop, tk.WikilinkSeparator)
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
            opened = find_at_depth(tokens, start, stop, tk.TagCloseOpen)
            closing = find_at_depth(tokens, start, stop, tk.TagOpenClose)
            if opened is not None and closing is not None:
                self._render_range(tokens, opened + 1, closing, out)
        return True

    def _finish(self, raw: str) -> WikiText:
        return finish(raw, verbatim=self.verbatim, dropped=self.dropped)
