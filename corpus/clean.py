"""The ``clean`` stage: normalise, then repair (remove junk lines) before any filter judges a document.

- Prose: NFKC folds compatibility forms (full-width Latin letters and digits, ligatures, half-width
  katakana). In Chinese text the full-width punctuation that Chinese typography uses (，：；！？（）)
  is kept: NFKC would turn it into ASCII. Leftover HTML entities and tags go; trailing spaces and runs
  of blank lines collapse.
- Repair, as C4, RefinedWeb and CCNet do at line level: boilerplate lines (word lists under
  ``configs/wordlists/boilerplate/``, Simplified, Traditional and English), menu rows ("首页 | 新闻 |
  体育"), the second copy of a repeated line or sentence, and a trailing list of link titles. Each
  document gets ``meta.clean`` (lines and characters per rule) and the counters ``clean_lines_<rule>``
  and ``clean_chars_<rule>``. A document whose text is mostly page furniture is rejected
  (``clean_mostly_boilerplate``); one left empty as ``clean_empty``.
- Code (:func:`corpus.text.is_code`): never reflowed; only line endings, control
  characters and leading/trailing blank lines change.
- ``meta.links`` offsets (the wiki reader's, used by KG2Instruction) are moved to the cleaned text;
  a link whose anchor cannot be found again is dropped and counted (``clean_link_lost``).
Every pass is linear in the text: line by line, with anchored or bounded patterns.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from corpus.filters.base import resolve_path
from corpus.filters.harmful import read_lines
from corpus.filters.lines import TERMINAL, is_list_item
from corpus.records import reject
from corpus.text import HAN, is_code, normalize, opencc_converter

CLEAN_EMPTY = "clean_empty"
CLEAN_MOSTLY_BOILERPLATE = "clean_mostly_boilerplate"
# The repair rules, in the order they run; meta.clean holds "<rule>_lines" and "<rule>_chars" for each.
REPAIR_RULES = ("boilerplate", "menu", "repeated", "trailing_list")
BOILERPLATE_DIR = "configs/wordlists/boilerplate"

# C0/C1 controls except \t and \n, plus zero-width and bidi marks that only hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff]")
_BLANK_RUNS = re.compile(r"\n{3,}")
_CJK = HAN.regex
_HTML_TAG = re.compile(r"</?(?:br|p|div|span|b|i|u|em|strong|font|a|img|center|small|big|sup|sub)\b[^<>]{0,200}>", re.I)
_DIGIT = re.compile(r"\d")
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});")
# Characters around a furniture word that do not change what the line is: "| 首页 |", "» Home", "更多>>".
_FURNITURE_PUNCT = " \t|｜>»<«·•:：-–—_*/\\()（）[]【】「」<>《》"
# Menu rows and breadcrumbs: cells separated by | ｜ > » • or runs of 2+ spaces.
# Not "·" (it joins the parts of a transliterated name: 赫伯特·乔治·威尔斯) nor "/" (lists of names).
_MENU_SEPARATOR = re.compile(r"\s*(?:[|｜»›>•]|>>)\s*|\s{2,}")
# A sentence inside a line: text up to Chinese end marks, or Latin ones before a space or the end.
_SENTENCE = re.compile(r"[^。！？!?.]+(?:\.(?![\s\u3000]|$)[^。！？!?.]*)*(?:[。！？!?.]+[”’」』）)\"']*)?\s*")
# A line shorter than this is never treated as a repeat ("是的。", "Reply", table cells); a repeated
# line shorter than MIN_REPEAT_CHARS counts as boilerplate. A sentence inside a line must be at least
# MIN_REPEAT_CHARS long, since short clauses recur in ordinary prose.
MIN_REPEAT_LINE_CHARS = 12
MIN_REPEAT_CHARS = 20
# Furniture rules only look at lines up to these lengths (characters): a long line is content.
MAX_START_LINE = 80
MAX_CONTAINS_LINE = 400  # cookie notices run to 300+ characters
_HEADLINE_ENDS = ("！", "？", "!", "?")
_PROSE_ENDS = ("。！", "。？", "...!", "…！")  # "好。！" is a sentence, not a headline
# Trailing link/headline list: at least this many short unpunctuated lines after the last prose line.
MIN_TRAILING_LINES = 3
# A navigation block: at least this many menu entries in a row (a menu bar dumped one entry per line).
MIN_MENU_RUN = 5


def repair_table(counters: dict[str, int | float]) -> str:
    """What ``clean``'s repair rules removed, from a stage's summed counters: lines and characters per rule."""
    rows = [("rule", "lines", "chars")]
    for rule in REPAIR_RULES:
        rows.append((rule, f"{int(counters.get(f'clean_{rule}_lines', 0)):,}",
                     f"{int(counters.get(f'clean_{rule}_chars', 0)):,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a.ljust(widths[0])}  {b.rjust(widths[1])}  {c.rjust(widths[2])}" for a, b, c in rows)


def is_extracted(source: str, extracted: tuple[str, ...]) -> bool:
    """True for text a reader extracted from markup (``extracted``, or a wiki dump such as ``zhwiki``)."""
    return source in extracted or source.endswith("wiki")


def is_chinese(doc: dict[str, Any]) -> bool:
    """``meta.lang`` says zh, or (no language given) CJK characters make up a tenth of the text."""
    lang = (doc.get("meta") or {}).get("lang")
    if lang:
        return str(lang).startswith("zh")
    text = doc["text"][:2000]
    return bool(text) and len(_CJK.findall(text)) * 10 >= len(text)


@dataclasses.dataclass(frozen=True)
class Furniture:
    """The boilerplate word lists of one directory: whole lines, line starts, and phrases within a line.

    Files are ``line.*.txt``, ``start.*.txt`` and ``contains.*.txt`` (any language suffix); Latin
    entries are compared lower-case. See ``configs/wordlists/README.md``.
    """

    lines: frozenset[str]
    starts: tuple[str, ...]
    contains: re.Pattern | None

    def matches(self, line: str) -> bool:
        """True when the stripped ``line`` is page furniture by one of the three lists."""
        if len(line) > MAX_CONTAINS_LINE:
            return False
        lowered = line.casefold()
        if lowered.strip(_FURNITURE_PUNCT) in self.lines:
            return True
        if len(line) <= MAX_START_LINE and lowered.lstrip(_FURNITURE_PUNCT).startswith(self.starts):
            return True
        return bool(self.contains and self.contains.search(lowered))


@lru_cache(maxsize=4)
def load_furniture(directory: str) -> Furniture:
    """Read the boilerplate lists under ``directory`` once per process; a missing list kind is empty."""
    root = resolve_path(directory)

    def entries(kind: str) -> list[str]:
        found = [e.casefold() for path in sorted(Path(root).glob(f"{kind}.*.txt")) for e in read_lines(path)]
        return sorted(set(found), key=len, reverse=True)

    contains = entries("contains")
    return Furniture(
        lines=frozenset(entries("line")),
        starts=tuple(entries("start")),
        # One alternation, longest first; every entry is a literal, so matching is linear in the line.
        contains=re.compile("|".join(map(re.escape, contains))) if contains else None,
    )


def is_menu_row(line: str) -> bool:
    """A breadcrumb or menu row: 3+ cells split by | > » • (or wide gaps), every cell a few words.

    "首页 >> 东区新闻 >> 正文", "Home | News | Sport | Weather": cells of at most 8 CJK characters or
    3 Latin words, and no cell ending a sentence.
    """
    if len(line) > MAX_START_LINE:
        return False
    cells = [c for c in _MENU_SEPARATOR.split(line) if c.strip()]
    if len(cells) < 3 and len(_CJK.findall(line)) * 2 > len(line):
        # Chinese menus are often single-space separated ("网站首页 企业简介 企业文化 ..."); a Chinese
        # sentence has no spaces, a title at most one or two, so five or more short cells make a menu.
        cells = line.split()
        if len(cells) < 5:
            return False
    if len(cells) < 3:
        return False
    for cell in cells:
        cjk = len(_CJK.findall(cell))
        if (cjk > 8 if cjk else len(cell.split()) > 3) or cell.rstrip().endswith(("。", "！", "？", ".", "!", "?")):
            return False
    return True


def is_menu_entry(line: str) -> bool:
    """One navigation entry: at most 6 words or 8 CJK characters (after any bullet), no sentence end."""
    if len(line) > 40 or line.endswith(("。", "！", "？", ".", "!", "?", "；", ";", "：", ":")):
        return False
    body = line.lstrip(_FURNITURE_PUNCT)
    cjk = len(_CJK.findall(body))
    return cjk <= 8 if cjk else len(body.split()) <= 6


def _is_prose(line: str) -> bool:
    """A line of running text: ends a sentence and is at least 8 words or 20 CJK characters long."""
    return line.endswith(TERMINAL) and (len(line.split()) >= 8 or len(_CJK.findall(line)) >= 20)


def _is_short_unpunctuated(line: str) -> bool:
    """A link or headline title: at most 40 characters or 12 words, and no sentence end other than
    the ！/？ of a click-bait headline ("他竟然这样做！"); a full stop or a closing quote is prose."""
    if len(line) > 120 or not (len(line) <= 40 or len(line.split()) <= 12):
        return False
    return not line.endswith(TERMINAL) or (line.endswith(_HEADLINE_ENDS) and not line.endswith(_PROSE_ENDS))


def _empty_tally() -> dict[str, int]:
    return {f"{rule}_{unit}": 0 for rule in REPAIR_RULES for unit in ("lines", "chars")}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleanStep:
    """Normalise, then repair: remove furniture, repeats and trailing link lists, counting each rule.

    Rejects a document left empty (``clean_empty``), or whose characters were more than
    ``max_furniture_ratio`` furniture (boilerplate, menu rows, trailing lists: ``clean_mostly_boilerplate``).
    Repeats do not count towards that share: a repeated answer is junk, the record is not.
    """

    name: ClassVar[str] = "clean"
    nfkc: bool = True
    opencc: str | None = None  # e.g. "t2s": Traditional to Simplified Chinese for every prose document
    strip_markup: bool = True  # HTML entities and tags left over by extraction
    drop_navigation: bool = True  # boilerplate lines from the word lists, and menu rows
    boilerplate_lists: str = BOILERPLATE_DIR  # directory of line/start/contains lists
    drop_repeats: bool = True  # second copies of lines (>= 12 characters) and sentences (>= 20)
    drop_trailing_lists: bool = True  # short unpunctuated lines after the last prose line
    # Sources whose text is never repaired: a LeetCode problem is statement, constraints and code.
    keep_layout_sources: tuple[str, ...] = ("leetcode",)
    # Readers that extract an article body from markup (plus every "<lang>wiki" dump): no site
    # navigation there, so runs of short lines are lists and are kept; furniture lines and repeats go.
    extracted_sources: tuple[str, ...] = ("wiki", "baike", "wudao")
    # ours: a page that is more than half furniture is a menu with a little text (C4/RefinedWeb
    # delete such lines and then judge the rest; what is left of such pages is rarely an article).
    max_furniture_ratio: float | None = 0.3

    def __post_init__(self) -> None:
        if self.drop_navigation:
            load_furniture(self.boilerplate_lists)  # a missing list directory fails here, not in a worker

    def clean_text(self, text: str, *, code: bool = False, chinese: bool = False) -> str:
        """The normalised form of ``text`` (no lines removed: that is :meth:`repair`)."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub("", text)
        if code:
            return text.strip("\n")
        if self.strip_markup:
            text = _HTML_TAG.sub("", text)
            if _ENTITY.search(text):
                text = html.unescape(text)
        if self.nfkc:
            text = normalize(text, keep_zh_punct=chinese)
        if self.opencc:
            text = opencc_converter(self.opencc)(text)
        # rstrip per line, not a `[ ]+$` regex: that one rescans every run of spaces (quadratic).
        text = "\n".join(line.rstrip(" \t\u3000") for line in text.split("\n"))
        text = _BLANK_RUNS.sub("\n\n", text)
        return text.strip()

    def repair(self, text: str, *, page_dump: bool = True) -> tuple[str, dict[str, int]]:
        """Remove furniture, repeats and a trailing list from normalised ``text``; the tally per rule.

        ``page_dump=False`` (text a reader extracted from markup: a wiki article, an encyclopedia entry)
        keeps runs of short lines, which are lists there, not menus. Lines inside Markdown code fences
        are never touched, and a document with fences keeps its runs of short lines too.
        """
        tally = _empty_tally()

        def drop(rule: str, removed: str, lines: int = 1) -> None:
            tally[f"{rule}_lines"] += lines
            tally[f"{rule}_chars"] += len(removed)

        furniture = load_furniture(self.boilerplate_lists) if self.drop_navigation else None
        # Hashes, not strings, of the lines and sentences seen: memory is 8 bytes per distinct one.
        seen: set[int] = set()
        kept: list[str] = []
        in_fence = has_fence = False
        for raw in text.split("\n"):
            line = raw.strip()
            if line.startswith("```") or in_fence:
                in_fence = in_fence != line.startswith("```")
                has_fence = True
                kept.append(raw)
                continue
            if not line:
                kept.append("")
                continue
            if furniture is not None:
                if furniture.matches(line):
                    drop("boilerplate", line)
                    continue
                if page_dump and is_menu_row(line):
                    drop("menu", line)
                    continue
            if self.drop_repeats and len(line) >= MIN_REPEAT_LINE_CHARS:
                key = hash(" ".join(line.split()))
                if key in seen:
                    # A short line that recurs ("Got a news tip?", "分享到朋友圈") is a widget repeated in
                    # header and footer: furniture. A long one is repeated content.
                    drop("repeated" if len(line) >= MIN_REPEAT_CHARS else "boilerplate", line)
                    continue
                seen.add(key)
                raw = self._drop_repeated_sentences(raw, seen, drop)
                if not raw.strip():
                    continue
            kept.append(raw)
        if page_dump and not has_fence:  # in extracted articles and around code the layout is content
            if furniture is not None:
                kept = self._drop_menu_blocks(kept, drop)
            if self.drop_trailing_lists:
                kept = self._drop_trailing_list(kept, drop)
        out = _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
        return out, tally

    @staticmethod
    def _drop_repeated_sentences(line: str, seen: set[int], drop) -> str:
        """``line`` without sentences (>= MIN_REPEAT_CHARS) that already occurred in the document."""
        parts, cut, last = [], 0, 0
        for match in _SENTENCE.finditer(line):
            sentence = match.group().strip()
            if len(sentence) < MIN_REPEAT_CHARS or match.start() == 0 and match.end() == len(line):
                continue  # the whole line was already checked as a line
            key = hash(" ".join(sentence.split()))  # "电  据" and "电 据" are the same sentence
            if key in seen:
                parts.append(line[last:match.start()])
                last = match.end()
                cut += len(sentence)
            else:
                seen.add(key)
        if not cut:
            return line
        drop("repeated", "x" * cut, lines=0)
        return "".join(parts) + line[last:]

    @staticmethod
    def _drop_menu_blocks(lines: list[str], drop) -> list[str]:
        """Remove runs of >= MIN_MENU_RUN menu entries: lines of a few words with no sentence end.

        This is the shape of a site's navigation in a page's text dump (jusText and trafilatura drop
        such short, link-dense blocks). Blank lines inside a run do not end it. A run whose entries mostly
        hold a number is data and stays. A document without a single prose line is left whole: it is a
        list (an index, a glossary) for the filters to judge.
        """
        entry = [bool(line.strip()) and is_menu_entry(line.strip()) for line in lines]
        if not any(not e and _is_prose(line.strip()) for e, line in zip(entry, lines, strict=True)):
            return lines
        out: list[str] = []
        run: list[str] = []

        def flush() -> None:
            entries = [line for line in run if line.strip()]
            # Most entries holding a number make it data (ingredients, a schedule, stats), not a menu.
            if len(entries) >= MIN_MENU_RUN and 2 * sum(bool(_DIGIT.search(e)) for e in entries) <= len(entries):
                for line in entries:
                    drop("menu", line.strip())
                out.append("")
            else:
                out.extend(run)
            run.clear()

        for line, is_entry in zip(lines, entry, strict=True):
            if is_entry or not line.strip():
                run.append(line)
            else:
                flush()
                out.append(line)
        flush()
        return out

    @staticmethod
    def _drop_trailing_list(lines: list[str], drop) -> list[str]:
        """Remove a run of >= MIN_TRAILING_LINES link/headline titles after the document's last prose line.

        List items (bullets, numbers) are kept: an article may end in an informative list.
        """
        end = len(lines)
        start = end
        titles = 0
        while start > 0:
            line = lines[start - 1].strip()
            if line and (not _is_short_unpunctuated(line) or is_list_item(line)):
                break
            titles += bool(line)
            start -= 1
        # Something must remain before the run, ending in a sentence: otherwise the whole document
        # is a list (an index, a glossary) and the filters judge it as such.
        if titles < MIN_TRAILING_LINES or not any(line.strip().endswith(TERMINAL) for line in lines[:start]):
            return lines
        # A run where most lines hold a number is data (tour dates, results, a price list), not links.
        if 2 * sum(bool(_DIGIT.search(line)) for line in lines[start:]) > titles:
            return lines
        removed = [line for line in lines[start:] if line.strip()]
        for line in removed:
            drop("trailing_list", line.strip())
        return lines[:start]

    def _move_links(self, doc: dict[str, Any], before: str, code: bool, chinese: bool, counters: Counter) -> None:
        """Carry each ``meta.links`` span ``{"target", "start", "end"}`` over to the cleaned text.

        Each anchor is bracketed with its own private-use sentinels (plane 15 opens, plane 16 closes,
        which no text rule touches and no real text uses), the marked text is cleaned, and the spans are
        read back where the sentinels ended up: a link stays on the occurrence it was on, whatever lines
        ``clean_text`` removed or rewrote. If the sentinels changed what a rule did (a line rule that no
        longer matches a line holding a link), the marked result differs from ``doc["text"]``: then only
        the links on lines found unchanged in both are kept. Links on removed text are counted lost.
        """
        links = doc["meta"]["links"]
        spans = [self._link_span(link) for link in links]
        events = []
        for i, (_, start, end) in enumerate(spans[: len(self.LINK_OPENS)]):
            if 0 <= start < end <= len(before):
                events += [(start, 1, self.LINK_OPENS[i]), (end, 0, self.LINK_CLOSES[i])]
        events.sort()  # by position; at one position a close comes before an open
        pieces, at = [], 0
        for position, _, mark in events:
            pieces += [before[at:position], mark]
            at = position
        pieces.append(before[at:])
        marked, found = self._read_link_marks(self.clean_text("".join(pieces), code=code, chinese=chinese))
        if marked != doc["text"]:
            found = self._align_lines(marked, doc["text"], found)
        moved = []
        for i, (target, _, _) in enumerate(spans):
            if i in found:
                moved.append({"target": target, "start": found[i][0], "end": found[i][1]})
            else:
                counters["clean_link_lost"] += 1
        doc["meta"]["links"] = moved

    # Link sentinels for CleanStep._move_links: link i opens with LINK_OPENS[i] and closes with
    # LINK_CLOSES[i] (supplementary private-use planes 15 and 16; 65,534 links per document).
    LINK_OPENS = "".join(map(chr, range(0xF0000, 0xFFFFE)))
    LINK_CLOSES = "".join(map(chr, range(0x100000, 0x10FFFE)))
    LINK_MARK = re.compile("[\U000F0000-\U000FFFFD\U00100000-\U0010FFFD]")

    @staticmethod
    def _link_span(link: Any) -> tuple[str, int, int]:
        """``(target, start, end)`` of a link object, or of a ``[target, start, end]`` list (older shards)."""
        if isinstance(link, dict):
            return link["target"], int(link["start"]), int(link["end"])
        target, start, end = link
        return target, int(start), int(end)

    @staticmethod
    def _read_link_marks(marked: str) -> tuple[str, dict[int, tuple[int, int]]]:
        """Text without the link sentinels, and ``{link index: (start, end)}`` for every non-empty span whose
        opening and closing sentinels both survived, in offsets of that text."""
        opened: dict[int, int] = {}
        found: dict[int, tuple[int, int]] = {}
        for removed, match in enumerate(CleanStep.LINK_MARK.finditer(marked)):
            position, code = match.start() - removed, ord(match.group())
            if code < 0x100000:
                opened[code - 0xF0000] = position
            elif (start := opened.pop(code - 0x100000, None)) is not None and start < position:
                found[code - 0x100000] = (start, position)
        return CleanStep.LINK_MARK.sub("", marked), found

    @staticmethod
    def _align_lines(marked: str, text: str, found: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
        """Move spans from ``marked`` to ``text`` through the lines the two have in common (in order)."""
        import bisect
        import difflib  # stdlib, imported here to keep the link logic in one place of this module

        def starts(lines: list[str]) -> list[int]:
            offsets, at = [], 0
            for line in lines:
                offsets.append(at)
                at += len(line) + 1
            return offsets

        old_lines, new_lines = marked.split("\n"), text.split("\n")
        old_starts, new_starts = starts(old_lines), starts(new_lines)
        line_map = {}
        for block in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_matching_blocks():
            for k in range(block.size):
                line_map[block.a + k] = block.b + k
        moved = {}
        for i, (start, end) in found.items():
            line = bisect.bisect_right(old_starts, start) - 1
            if line in line_map and end <= old_starts[line] + len(old_lines[line]):
                shift = new_starts[line_map[line]] - old_starts[line]
                moved[i] = (start + shift, end + shift)
        return moved

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        for doc in docs:
            before = doc["text"]
            code, chinese = is_code(doc), is_chinese(doc)
            text = self.clean_text(before, code=code, chinese=chinese)
            tally = _empty_tally()
            source = str(doc.get("source") or "")
            # Documents with meta.links (wiki articles for KG2Instruction) are only normalised: their
            # extracted text has no page furniture, and removing a line would strand the anchors that
            # _move_links finds again in order (one lost anchor moves its cursor past the others).
            links = (doc.get("meta") or {}).get("links")
            if not code and not links and source not in self.keep_layout_sources:
                text, tally = self.repair(text, page_dump=not is_extracted(source, self.extracted_sources))
            doc["text"] = text
            doc.setdefault("meta", {})["clean"] = tally
            for key, n in tally.items():
                if n:
                    counters[f"clean_{key}"] += n
            if doc["text"] != before:
                counters["clean_changed"] += 1
                if doc["meta"].get("links"):
                    self._move_links(doc, before, code, chinese, counters)
            if not doc["text"].strip():
                yield reject(doc, stage=self.name, reason=CLEAN_EMPTY, value=len(before), filter=self.name)
                continue
            furniture = sum(tally[f"{rule}_chars"] for rule in ("boilerplate", "menu", "trailing_list"))
            total = furniture + len(doc["text"])
            if self.max_furniture_ratio is not None and furniture > self.max_furniture_ratio * total:
                yield reject(doc, stage=self.name, reason=CLEAN_MOSTLY_BOILERPLATE, filter=self.name,
                             value=round(furniture / total, 4), threshold=self.max_furniture_ratio)
                continue
            yield doc
