"""MediaWiki XML export dumps (``pages-articles.xml[.bz2]``, multistream ``.bz2``) to documents.

Streams the export schema 0.10/0.11 with ``xml.etree.ElementTree.iterparse``, clearing each page, so
memory stays flat on a 20 GB dump. Only the latest revision in each ``<page>`` is read (articles dumps
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

from corpus.readers.wikitext import MEDIA_PREFIXES, WikitextConverter
from corpus.records import new_doc, reject
from corpus.shards import open_binary

logger = logging.getLogger(__name__)

# Reasons (counters and meta.reject).
SKIP_REDIRECT = "skip_redirect"
SKIP_DISAMBIGUATION = "skip_disambiguation"
SKIP_NAMESPACE = "skip_namespace"
TRUNCATED_INPUT = "truncated_input"
WIKI_EMPTY_TEXT = "wiki_empty_text"
RESIDUAL_MARKUP = "wikitext_residual_markup"

# Disambiguation-page templates of en- and zhwiki (names and their common redirects).
DISAMBIGUATION_TEMPLATES = (
    "disambiguation", "disambig", "dab", "disamb", "hndis", "geodis", "numberdis", "letter-numbercombdis",
    "schooldis", "shipindex", "消歧义", "消歧義", "消歧义页", "消歧義頁", "disambig-cleanup",
)
REDIRECT_TEXT = re.compile(r"^\s*#\s*(?:redirect|重定向)\s*:?\s*\[\[([^\]|#]*)", re.I)
DUMP_SUFFIXES = (".xml", ".xml.bz2", ".bz2", ".xml.gz", ".xml.zst", ".xml.xz")
DBNAME_IN_FILENAME = re.compile(r"^([a-z_]+wiki)\b")


@functools.lru_cache(maxsize=8)
def opencc_converter(config: str) -> Callable[[str], str]:
    """The ``convert`` function of an OpenCC converter (``t2s``, ``tw2s``, ``s2t``, ...), loaded once."""
    import opencc

    return opencc.OpenCC(config).convert


@functools.lru_cache(maxsize=8)
def _disambiguation_pattern(names: tuple[str, ...]) -> re.Pattern:
    alternatives = "|".join(re.escape(name).replace(r"\ ", "[ _]") for name in names)
    return re.compile(r"\{\{\s*(?:" + alternatives + r")\s*[|}]", re.I)


def _iterparse(stream: IO[bytes], chunk: int = 1 << 16) -> Iterator[tuple[str, ET.Element]]:
    """``ET.iterparse`` fed with ``read1``: a buffered ``read(n)`` on a cut bz2 stream raises before
    returning the bytes it already decompressed, which would lose the last complete pages."""
    parser = ET.XMLPullParser(events=("start", "end"))
    read = getattr(stream, "read1", stream.read)
    while data := read(chunk):
        parser.feed(data)
        yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@dataclass(frozen=True, kw_only=True)
class WikiReader:
    """Read a MediaWiki export dump: one document per article, id ``{dbname}:{page_id}``.

    ``lang`` defaults to the dump's ``xml:lang``; ``opencc`` is ``"auto"`` (``t2s`` for zh, none
    otherwise), ``"none"`` or an OpenCC config name. ``keep_redirects`` emits redirect pages as
    documents whose text is the target title (``meta.redirect``), for alias tables.
    """

    name: ClassVar[str] = "wiki"
    lang: str | None = None
    namespaces: tuple[int, ...] = (0,)
    keep_redirects: bool = False
    opencc: str | None = "auto"
    source_name: str | None = None
    disambiguation_templates: tuple[str, ...] = DISAMBIGUATION_TEMPLATES

    def __post_init__(self) -> None:
        object.__setattr__(self, "namespaces", tuple(int(ns) for ns in self.namespaces))
        object.__setattr__(self, "disambiguation_templates", tuple(self.disambiguation_templates))

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
        """Documents of every complete page in ``path``; a cut dump ends with a warning, not an error."""
        pages = 0
        site: dict[str, Any] = {}
        with open_binary(Path(path)) as stream:
            try:
                root = None
                for event, elem in _iterparse(stream):
                    if root is None:
                        root = elem
                        site["xml_lang"] = elem.get("{http://www.w3.org/XML/1998/namespace}lang")
                        continue
                    if event != "end":
                        continue
                    tag = _local(elem.tag)
                    if tag == "siteinfo":
                        site.update(self._siteinfo(elem, Path(path), site.get("xml_lang")))
                        root.clear()
                    elif tag == "page":
                        if "dbname" not in site:
                            site.update(self._siteinfo(None, Path(path), site.get("xml_lang")))
                        doc = self._page(elem, site, counters)
                        pages += 1
                        root.clear()  # drop the finished page: constant memory
                        if doc is not None:
                            yield doc
            except (EOFError, ET.ParseError, OSError) as err:
                counters[TRUNCATED_INPUT] += 1
                logger.warning(
                    "wiki: %s ends before the dump is complete (%s); kept the %d complete pages before the cut",
                    path, err, pages,
                )

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
        if int(fields.get("ns") or 0) not in self.namespaces:
            counters[SKIP_NAMESPACE] += 1
            return None
        wikitext = fields.get("rev_text", "")
        # Skip redirects and disambiguation pages before any per-page work (title conversion, URL).
        redirect_match = REDIRECT_TEXT.match(wikitext)
        is_redirect = "redirect" in fields or redirect_match is not None
        if is_redirect and not self.keep_redirects:
            counters[SKIP_REDIRECT] += 1
            return None
        if not is_redirect and _disambiguation_pattern(self.disambiguation_templates).search(wikitext):
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
        result = site["converter"].convert(wikitext, transform=transform)
        if result.residual_markup:
            counters[RESIDUAL_MARKUP] += result.residual_markup
        doc = new_doc(doc_id, result.text, source, {**meta, "links": result.links})
        if not result.text.strip():
            return reject(doc, stage=self.name, reason=WIKI_EMPTY_TEXT, value=0)
        return doc
