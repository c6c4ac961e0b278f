"""MediaWiki XML export dumps (``pages-articles.xml[.bz2]``, multistream ``.bz2``) to documents.

Streams the export schema 0.10/0.11: the raw bytes are cut at ``<page>`` tags and each page is parsed
on its own with ``xml.etree.ElementTree``, so memory stays flat on a 20 GB dump and a page that is not
well-formed XML is rejected alone (the rest of the dump is read); only the end of the file ends it. Only the latest revision in each ``<page>`` is read (articles dumps
hold one); wikitext goes through :mod:`corpus.readers.wikitext`. Templates are not expanded.
"""

from __future__ import annotations

import functools
import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar
from urllib.parse import quote

from corpus.readers.wikitext import MEDIA_PREFIXES, WikitextConverter, boilerplate_sections
from corpus.records import new_doc, reject
from corpus.shards import open_binary
from corpus.text import opencc_converter

logger = logging.getLogger(__name__)

# Reasons (counters and meta.reject).
SKIP_REDIRECT = "skip_redirect"
SKIP_DISAMBIGUATION = "skip_disambiguation"
SKIP_NAMESPACE = "skip_namespace"
TRUNCATED_INPUT = "truncated_input"
WIKI_XML_ERROR = "wiki_xml_error"
WIKI_EMPTY_TEXT = "wiki_empty_text"
RESIDUAL_MARKUP = "wikitext_residual_markup"

# Disambiguation-page templates of en-, zh- and jawiki (names and their common redirects); any of them
# marks a page on any wiki, since wikis copy each other's template names.
DISAMBIGUATION_TEMPLATES = (
    "disambiguation", "disambig", "dab", "disamb", "hndis", "geodis", "numberdis", "letter-numbercombdis",
    "schooldis", "shipindex", "disambig-cleanup", "消歧义", "消歧義", "消歧义页", "消歧義頁",
    "aimai", "曖昧さ回避", "人名の曖昧さ回避", "地名の曖昧さ回避",
)
# ... and the categories those pages are in, when the wikitext names them (common on zh- and jawiki).
DISAMBIGUATION_CATEGORIES = re.compile(
    r"\[\[\s*(?:category|分类|分類|カテゴリ)\s*:\s*(?:all disambiguation pages|disambiguation pages|"
    r"消歧义|消歧義|曖昧さ回避|人名の曖昧さ回避|地名の曖昧さ回避)\s*[\]|]",
    re.I,
)
TEMPLATE_DROPPED = "wiki_template_dropped"  # counter prefix: wiki_template_dropped:<template name>
REDIRECT_TEXT = re.compile(r"^\s*#\s*(?:redirect|重定向)\s*:?\s*\[\[([^\]|#]*)", re.I)
DUMP_SUFFIXES = (".xml", ".xml.bz2", ".bz2", ".xml.gz", ".xml.zst", ".xml.xz")
DBNAME_IN_FILENAME = re.compile(r"^([a-z_]+wiki)\b")


@functools.lru_cache(maxsize=8)
def _disambiguation_pattern(names: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(name).replace(r"\ ", "[ _]") for name in names)
    return re.compile(r"\{\{\s*(?:" + alternatives + r")\s*[|}]", re.I)


PAGE_OPEN = b"<page>"
PAGE_CLOSE = b"</page>"
DUMP_END = b"</mediawiki>"
PAGE_ID = re.compile(rb"<id>\s*(\d+)\s*</id>")
PAGE_TITLE = re.compile(rb"<title>([^<]*)</title>")


def _split_pages(stream: IO[bytes], chunk: int = 1 << 16) -> Iterator[tuple[str, int, bytes]]:
    """Cut the raw dump into ``("head", offset, bytes)`` (everything before the first ``<page>``), one
    ``("page", offset, bytes)`` per ``<page>...</page>`` and a last ``("tail", offset, bytes)``.

    Pages are found by their tags in the bytes (XML escapes every ``<`` in text, so the tags cannot
    occur inside a page's text), which lets each page be parsed on its own: an XML error rejects one
    page instead of ending the dump. A page whose ``</page>`` never comes before the next ``<page>`` is
    yielded up to there (its parse then fails). Offsets count bytes of the uncompressed XML. The stream
    is read with ``read1``: a buffered ``read(n)`` on a cut bz2 stream raises before returning the bytes
    it already decompressed, which would lose the last complete pages. A read error (a cut compressed
    stream) ends the input like an end of file; the tail then holds the cut page.
    """
    read = getattr(stream, "read1", stream.read)
    buf = bytearray()
    base = 0  # offset of buf[0] in the uncompressed dump
    pos = 0  # buf[pos:] is not yielded yet
    scan = 0  # where the next tag search starts (earlier bytes hold no tag)
    in_page = False
    head_sent = False
    while True:
        while True:
            if not in_page:
                at = buf.find(PAGE_OPEN, scan)
                if at < 0:
                    scan = max(pos, len(buf) - len(PAGE_OPEN) + 1)
                    break
                if not head_sent:
                    yield "head", base + pos, bytes(buf[pos:at])
                    head_sent = True
                in_page, pos, scan = True, at, at + len(PAGE_OPEN)
            close = buf.find(PAGE_CLOSE, scan)
            following = buf.find(PAGE_OPEN, scan, None if close < 0 else close)
            if following >= 0:  # a page without its </page>: up to the next page
                yield "page", base + pos, bytes(buf[pos:following])
                in_page, pos, scan = False, following, following
            elif close >= 0:
                end = close + len(PAGE_CLOSE)
                yield "page", base + pos, bytes(buf[pos:end])
                in_page, pos, scan = False, end, end
            else:
                scan = max(scan, len(buf) - len(PAGE_CLOSE) + 1)
                break
        if pos:
            del buf[:pos]
            base, scan, pos = base + pos, scan - pos, 0
        try:
            data = read(chunk)
        except (EOFError, OSError) as err:
            logger.warning("wiki: reading stopped at byte %d of the XML: %s", base + len(buf), err)
            data = b""
        if not data:
            break
        buf += data
    if not head_sent:
        yield "head", base, bytes(buf)
        buf = bytearray()
    yield "tail", base, bytes(buf)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class WikiReader:
    """Read a MediaWiki export dump: one document per article, id ``{dbname}:{page_id}``.

    ``lang`` defaults to the dump's ``xml:lang``; ``opencc`` is ``"auto"`` (``t2s`` for zh, none
    otherwise), ``"none"`` or an OpenCC config name. ``keep_redirects`` emits redirect pages as
    documents whose text is the target title (``meta.redirect``), for alias tables. ``tables``
    (``drop``/``rows``) and ``math`` (``latex``/``placeholder``/``drop``) are the converter's policies
    (:class:`~corpus.readers.wikitext.WikitextConverter`); boilerplate sections follow the wiki's language.
    Every template dropped unrendered is counted as ``wiki_template_dropped:<name>``.
    """

    name: ClassVar[str] = "wiki"
    lang: str | None = None
    namespaces: tuple[int, ...] = (0,)
    keep_redirects: bool = False
    opencc: str | None = "auto"
    source_name: str | None = None
    disambiguation_templates: tuple[str, ...] = DISAMBIGUATION_TEMPLATES
    tables: str = "drop"
    math: str = "latex"

    def __post_init__(self) -> None:
        WikitextConverter(tables=self.tables, math=self.math)  # checks both policies now, not per dump

    # Both derived once per reader object from the options as given (any sequence: YAML lists arrive as
    # tuples through corpus.builder, a caller may pass a list); cached_property writes the instance's
    # __dict__, so the frozen fields themselves are never rewritten.
    @functools.cached_property
    def _namespace_set(self) -> frozenset[int]:
        return frozenset(int(ns) for ns in self.namespaces)  # int(): a YAML "14" is namespace 14

    @functools.cached_property
    def _disambiguation(self) -> re.Pattern:
        return _disambiguation_pattern(tuple(self.disambiguation_templates))

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """Dump files named in ``paths`` or found directly inside directories (multistream indexes skipped)."""
        found: list[Path] = []
        for path in map(Path, paths):
            if path.is_dir():
                found.extend(p for p in path.iterdir() if p.is_file() and p.name.endswith(DUMP_SUFFIXES)
                             and "-index" not in p.name)
            elif path.exists():
                found.append(path)
            else:
                raise FileNotFoundError(f"wiki: no such dump file or directory: {path}")
        return sorted(found)

    def _conversion(self, lang: str) -> Callable[[str], str] | None:
        config = self.opencc
        if config in (None, "none", ""):
            return None
        if config == "auto":
            return opencc_converter("t2s") if lang.startswith("zh") else None
        return opencc_converter(config)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        """Documents of every complete page in ``path``; a page that is not well-formed XML is rejected
        (``wiki_xml_error``, with the parser's message and the page's byte offset) and reading goes on
        at the next ``<page>``; a cut dump ends with a warning and ``truncated_input``, not an error."""
        site: dict[str, Any] = {}
        pages = 0
        with open_binary(Path(path)) as stream:
            for kind, offset, data in _split_pages(stream):
                if kind == "head":
                    site.update(self._head(data, Path(path), counters))
                    continue
                if kind == "tail":
                    if DUMP_END not in data:
                        counters[TRUNCATED_INPUT] += 1
                        logger.warning(
                            "wiki: %s ends before the dump is complete (cut at byte %d); kept the %d "
                            "complete pages before the cut", path, offset + len(data), pages,
                        )
                    continue
                pages += 1
                try:
                    # The default XMLParser expands no entity beyond XML's five and fetches nothing:
                    # a DTD-declared entity in a page is an "undefined entity" error, rejected below.
                    page = ET.fromstring(data)
                except ET.ParseError as err:
                    counters[WIKI_XML_ERROR] += 1
                    yield self._broken_page(data, offset, err, site)
                    continue
                doc = self._page(page, site, counters)
                if doc is not None:
                    yield doc

    def _head(self, data: bytes, path: Path, counters: Counter) -> dict[str, Any]:
        """Site information from the bytes before the first page (``<mediawiki ...>`` and ``<siteinfo>``)."""
        start = data.find(b"<mediawiki")
        if start < 0:
            return self._siteinfo(None, path, None)
        try:
            root = ET.fromstring(data[start:] + DUMP_END)
        except ET.ParseError as err:
            counters[WIKI_XML_ERROR] += 1
            logger.warning("wiki: %s: unreadable <siteinfo> (%s); site taken from the file name", path, err)
            return self._siteinfo(None, path, None)
        siteinfo = next((child for child in root if _local(child.tag) == "siteinfo"), None)
        return self._siteinfo(siteinfo, path, root.get("{http://www.w3.org/XML/1998/namespace}lang"))

    def _broken_page(self, data: bytes, offset: int, err: ET.ParseError, site: dict[str, Any]) -> dict[str, Any]:
        """The rejected record of a page that is not well-formed: its raw XML as text, so nothing is lost."""
        # The parser names a line and a column in characters; turn them into a byte offset in the dump.
        line, column = getattr(err, "position", (1, 0))
        line_start = 0
        for _ in range(line - 1):
            line_start = data.find(b"\n", line_start) + 1
        line_end = data.find(b"\n", line_start)
        line_bytes = data[line_start : line_end if line_end >= 0 else len(data)]
        error_offset = offset + line_start + len(line_bytes.decode("utf-8", "replace")[:column].encode())
        page_id = PAGE_ID.search(data)
        title = PAGE_TITLE.search(data)
        doc = new_doc(
            f"{site['dbname']}:{page_id.group(1).decode() if page_id else f'offset-{offset}'}",
            data.decode("utf-8", "replace"),
            self.source_name or site["dbname"],
            {"title": title.group(1).decode("utf-8", "replace") if title else None, "lang": site["lang"]},
        )
        return reject(doc, stage=self.name, reason=WIKI_XML_ERROR, value=offset, error=str(err),
                      offset=offset, error_offset=error_offset)

    def _siteinfo(self, elem: ET.Element | None, path: Path, xml_lang: str | None) -> dict[str, Any]:
        info: dict[str, Any] = {"dbname": None, "base": None, "case": "first-letter", "media": set()}
        if elem is not None:
            for child in elem:
                tag = _local(child.tag)
                if tag in {"dbname", "base", "case"}:
                    info[tag] = (child.text or "").strip()
                elif tag == "namespaces":
                    for ns in child:
                        if ns.get("key") in {"-2", "6", "14"} and ns.text:
                            info["media"].add(ns.text.strip().lower())
        lang = self.lang
        if not info["dbname"]:
            match = DBNAME_IN_FILENAME.match(path.name)
            info["dbname"] = match.group(1) if match else f"{lang or 'xx'}wiki"
        lang = lang or xml_lang or info["dbname"].removesuffix("wiki").replace("_", "-")
        info["lang"] = lang
        info["converter"] = WikitextConverter(
            media_prefixes=MEDIA_PREFIXES | frozenset(info["media"]),
            first_letter_case=info["case"] == "first-letter",
            lang=lang,
            sections=boilerplate_sections(lang),
            tables=self.tables,
            math=self.math,
        )
        info["transform"] = self._conversion(lang)
        base = info["base"] or ""
        info["url_prefix"] = base.rsplit("/wiki/", 1)[0] + "/wiki/" if "/wiki/" in base else None
        return info

    def _page(self, page: ET.Element, site: dict[str, Any], counters: Counter) -> dict[str, Any] | None:
        fields: dict[str, Any] = {}
        for child in page:
            tag = _local(child.tag)
            if tag in {"title", "ns", "id"}:
                fields[tag] = child.text or ""
            elif tag == "redirect":
                fields["redirect"] = child.get("title", "")
            elif tag == "revision":
                for rev in child:
                    rtag = _local(rev.tag)
                    if rtag in {"id", "timestamp", "text"}:
                        fields[f"rev_{rtag}"] = rev.text or ""
        if int(fields.get("ns") or 0) not in self._namespace_set:
            counters[SKIP_NAMESPACE] += 1
            return None
        wikitext = fields.get("rev_text", "")
        # Skip redirects and disambiguation pages before any per-page work (title conversion, URL).
        redirect_match = REDIRECT_TEXT.match(wikitext)
        is_redirect = "redirect" in fields or redirect_match is not None
        if is_redirect and not self.keep_redirects:
            counters[SKIP_REDIRECT] += 1
            return None
        if not is_redirect and (self._disambiguation.search(wikitext)
                                or DISAMBIGUATION_CATEGORIES.search(wikitext)):
            counters[SKIP_DISAMBIGUATION] += 1
            return None
        transform = site["transform"]
        title = fields.get("title", "")
        shown_title = transform(title) if transform else title
        meta: dict[str, Any] = {
            "title": shown_title,
            "page_id": int(fields["id"]) if fields.get("id", "").isdigit() else fields.get("id"),
            "revision_id": fields.get("rev_id"),
            "timestamp": fields.get("rev_timestamp"),
            "lang": site["lang"],
        }
        if site["url_prefix"]:
            meta["url"] = site["url_prefix"] + quote(title.replace(" ", "_"), safe="/:()',!*~@$&;=+-")
        doc_id = f"{site['dbname']}:{fields.get('id', '')}"
        source = self.source_name or site["dbname"]
        if is_redirect:
            target = fields.get("redirect") or (redirect_match.group(1) if redirect_match else "")
            target = site["converter"].target_title(transform(target) if transform else target)
            return new_doc(doc_id, target, source, {**meta, "redirect": target})
        result = site["converter"].convert(wikitext, transform=transform, today=(fields.get("rev_timestamp") or "")[:10])
        if result.residual_markup:
            counters[RESIDUAL_MARKUP] += result.residual_markup
        for template, count in result.dropped_templates.items():
            counters[f"{TEMPLATE_DROPPED}:{template}"] += count
        doc = new_doc(doc_id, result.text, source, {**meta, "links": result.links})
        if not result.text.strip():
            return reject(doc, stage=self.name, reason=WIKI_EMPTY_TEXT, value=0)
        return doc
