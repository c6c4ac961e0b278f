"""clean's repair rules: remove page furniture, repeated lines and sentences, and link and headline lists.

As C4, RefinedWeb and CCNet do at line level: boilerplate lines from the word lists under
``configs/wordlists/boilerplate/`` (Simplified, Traditional and English) and widget counters and
pagination bars ("258 Shares", "<< 1 2 3 >>"), menu rows ("首页 | 新闻 | 体育") and blocks of menu entries,
search-result listings, the second copy of a repeated line or sentence, a trailing list of link titles,
and runs of headlines anywhere (related-story blocks). Every rule is a pass over the lines with anchored
or bounded patterns; lines inside Markdown code fences are never touched. :class:`corpus.clean.CleanStep` runs them and counts what each removed.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from pathlib import Path

from corpus.filters.base import resolve_path
from corpus.filters.harmful import read_lines
from corpus.filters.lines import CLOSERS, SENTENCE_END, TERMINAL, is_list_item
from corpus.text import HAN

# The repair rules, in the order they run; meta.clean holds "<rule>_lines" and "<rule>_chars" for each.
REPAIR_RULES = ("boilerplate", "menu", "repeated", "trailing_list", "headline_list")
# The rules whose removals are page furniture (what clean_mostly_boilerplate and the page model weigh);
# a repeated line is a copy of content, not furniture.
FURNITURE_RULES = ("boilerplate", "menu", "trailing_list", "headline_list")
BOILERPLATE_DIR = "configs/wordlists/boilerplate"

BLANK_RUNS = re.compile(r"\n{3,}")
_CJK = HAN.regex
_DIGIT = re.compile(r"\d")
# Characters around a furniture word that do not change what the line is: "| 首页 |", "» Home", "更多>>".
_FURNITURE_PUNCT = " \t|｜>»<«·•:：-–—_*/\\()（）[]【】「」<>《》"
# A whole-line entry may also trail dots: "You may also like...", "Loading comments..." (NFKC makes "…" "...").
_LINE_ENTRY_PUNCT = _FURNITURE_PUNCT + "."
# Widget counters in page dumps: "258 Shares", "6 comments", "Likes: 2", "1.2K views". A count beside a
# widget's label is never a sentence; the label alone is in the word lists.
_COUNTER_LINE = re.compile(
    r"(?:\d[\d,.]*[km]?\s*(?:shares?|comments?|likes?|views?|reads?|votes?|replies|retweets?|reactions?)"
    r"|(?:shares?|comments?|likes?|views?|replies|reactions?)\s*:?\s*\d[\d,.]*[km]?)", re.I)
# Pagination: three or more page numbers in a row beside an arrow or a prev/next word ("<< 1 2 3 4 >>",
# "« Previous 1 2 3 Next »", "1 | 2 | 3 | Next"). Only lines of at most MAX_START_LINE characters.
_PAGE_NUMBERS = re.compile(r"(?<![\d.,])\d{1,4}(?:\s*[|·]?\s+\d{1,4}){2,}(?![\d.,])")
_PAGE_ARROW = re.compile(r"<<|>>|[«»‹›]|\b(?:prev|previous|next|last|first|page)\b", re.I)
# A search or catalogue result count: "1-5 of 44 records found", "Results 1-10 of 230", "Showing 1 out of
# a total of 1 results", "44 results for 'solar'" (a bare count only at the start of the line: "she set 3
# records for the school" is prose). It heads a listing of links to records, not an article.
_RESULT_COUNT = re.compile(
    r"\b(?:results?|records?|items|entries|hits|matches|showing)\s+\d+\s*[-–]\s*\d+\s+(?:of|out of)\s+\d"
    r"|\b\d+\s*[-–]\s*\d+\s+(?:of|out of)\s+\d[\d,]*\s+(?:results?|records?|items|entries|hits|matches|documents)\b"
    r"|^(?:about\s+)?\d[\d,]*\s+(?:results?|records?|matches|hits)\s+(?:found|for|matching)\b"
    r"|\bshowing\s+\d[\d,]*\s+out\s+of\s+(?:a\s+total\s+of\s+)?\d", re.I)
MAX_RESULT_COUNT_LINE = 200
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
MIN_REPEAT_WIDGET_CHARS = 4  # ours: shorter lines ("Q:", "是", "N/A") recur in real lists and tables
_HAS_WORD = re.compile(r"\w")
# Furniture rules only look at lines up to these lengths (characters): a long line is content.
MAX_START_LINE = 80
MAX_CONTAINS_LINE = 400  # cookie notices run to 300+ characters
_HEADLINE_ENDS = ("！", "？", "!", "?")
_PROSE_ENDS = ("。！", "。？", "...!", "…！")  # "好。！" is a sentence, not a headline
# Trailing link/headline list: at least this many short unpunctuated lines after the last prose line.
MIN_TRAILING_LINES = 3
# A menu entry is at most this many characters (and 6 words): six words of up to seven letters, so that
# event and section names ("Quality Roundtable @ Solar Power Southeast", 42) do not break a menu block
# in two runs too short to go (40 did, on pv magazine's menus, dev-en-0177).
MAX_MENU_ENTRY = 48
# A navigation block: at least this many menu entries in a row (a menu bar dumped one entry per line).
MIN_MENU_RUN = 5
# A headline link block ("related stories", "热点推荐"): at least this many headline lines in a run.
# Ours: a news page's related-story and most-read blocks hold 5-10 links, while an article's
# subheadings stand one at a time between paragraphs, so six in a row is a list of links.
MIN_HEADLINE_RUN = 6
# Headline lengths: 6-40 Han characters, or 4-20 words (below that it is a menu entry), and at most
# 150 characters; Chinese when Han is 30% of the line, as prose_share decides.
HEADLINE_HAN = (6, 40)
HEADLINE_WORDS = (4, 20)
MAX_HEADLINE_LINE = 150
# A line that continues ("...,"), labels ("Follow:") or holds two sentences ("He left. She") is not a title.
_CONTINUES = ("，", "、", ",", "；", ";", "：", ":", "—", "-")
_TWO_SENTENCES = re.compile(r"[。；]|[a-z]{2}[.;]\s+[A-Z]")
# A clock time marks a dateline or a timestamp ("Published Nov 18, 2019 at 4:07 PM"), not a title.
_CLOCK = re.compile(r"\d:\d\d")


def repair_table(counters: dict[str, int | float]) -> str:
    """What ``clean``'s repair rules removed, from a stage's summed counters: lines and characters per rule."""
    rows = [("rule", "lines", "chars")]
    for rule in REPAIR_RULES:
        rows.append((rule, f"{int(counters.get(f'clean_{rule}_lines', 0)):,}",
                     f"{int(counters.get(f'clean_{rule}_chars', 0)):,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a.ljust(widths[0])}  {b.rjust(widths[1])}  {c.rjust(widths[2])}" for a, b, c in rows)




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
        if lowered.strip(_LINE_ENTRY_PUNCT) in self.lines:
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


def is_widget_line(line: str) -> bool:
    """A widget counter ("258 Shares", "Comments: 0") or a pagination bar ("<< 1 2 3 4 >>") in a page dump."""
    # Both shapes hold a digit: most lines fail that test first (it is the cheap one).
    if len(line) > MAX_START_LINE or _DIGIT.search(line) is None:
        return False
    if _COUNTER_LINE.fullmatch(line.lstrip(_FURNITURE_PUNCT)):  # "• Likes: 2"
        return True
    numbers = _PAGE_NUMBERS.search(line)
    if numbers is None or not _PAGE_ARROW.search(line):
        return False
    # Page numbers count up by one ("1 2 3", "4 5 6"); a row of scores or prices does not.
    pages = [int(n) for n in re.findall(r"\d+", numbers.group())]
    return all(b == a + 1 for a, b in zip(pages, pages[1:], strict=False))


def is_result_count(line: str) -> bool:
    """A search or catalogue result count ("1-5 of 44 records found matching your query:")."""
    if len(line) > MAX_RESULT_COUNT_LINE:
        return False
    # Every form has " of " or opens with its count ("44 results", "About 1,230 results"): a literal
    # test before the regex, whose alternatives are tried at every position of the line.
    if not (" of " in line or " OF " in line or line[:1].isdigit() or line[:6].casefold() == "about "):
        return False
    return _RESULT_COUNT.search(line) is not None


def is_menu_entry(line: str) -> bool:
    """One navigation entry: at most 6 words or 8 CJK characters (after any bullet) and MAX_MENU_ENTRY
    characters, no sentence end."""
    if len(line) > MAX_MENU_ENTRY or line.endswith(("。", "！", "？", ".", "!", "?", "；", ";", "：", ":")):
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


# A sentence mark inside a line: Chinese sentence and clause punctuation anywhere, Latin ones before a
# space or the line's end ("3.5" and "a.m." do not count). Menus, link titles and headlines have none.
_SENTENCE_MARK = re.compile(r"[。！？；，、…]|[.!?;:,](?:\s|$)")
# A line of program text in a tutorial: ends in ; { or }, opens with a keyword or a comment, or is a
# call without Chinese ("print(x)", "f.close()"; not "(Reuters)" or "said the firm (AAPL.O)", where a
# space comes before the bracket). Neither prose nor furniture, it counts on neither side of the share.
_CODE_LINE = re.compile(r"[;{}]\s*$|^\s*(?:#include|//|/\*|def |class |import |from \S+ import|return\b|>>> )")
# Tried on lines of at most 200 characters only: the two open runs could backtrack on a long line.
_CALL_LINE = re.compile(r"[^\u4e00-\u9fff]*\w\([^\u4e00-\u9fff]*\)\s*")


def is_code_line(line: str) -> bool:
    """A line of program text (see ``_CODE_LINE``)."""
    return _CODE_LINE.search(line) is not None or (len(line) <= 200 and _CALL_LINE.fullmatch(line) is not None)


def is_headline(line: str) -> bool:
    """A headline or link title of any length up to MAX_HEADLINE_LINE: no sentence end other than a
    click-bait ！/？, no clause left open, one sentence at most, and a title's length (HEADLINE_HAN Han
    characters for Chinese, HEADLINE_WORDS words otherwise). "2 US service members die in Afghanistan
    chopper crash" and "这些美出天际的公路 你走过吗？" are headlines; "Read more" (a menu entry), a
    sentence ending in a full stop and a poem's line ending in a comma are not."""
    if len(line) > MAX_HEADLINE_LINE or line.endswith(_CONTINUES) or is_list_item(line) or is_code_line(line):
        return False
    if _TWO_SENTENCES.search(line) or _CLOCK.search(line):
        return False
    han = HAN.count(line)
    if han * 10 >= len(line) * 3:
        # Chinese click-bait headlines end in ！/？ ("有重大变动！骑共享单车的一定要注意了" has one inside).
        if line.endswith(TERMINAL) and not (line.endswith(_HEADLINE_ENDS) and not line.endswith(_PROSE_ENDS)):
            return False
        return HEADLINE_HAN[0] <= han <= HEADLINE_HAN[1]
    # English headlines end in a question mark at most ("Worst deal ever? S. Korea fumes ..."); a line
    # ending in "!" is a blog's exclamation ("Now, for the start of the performance!").
    if line.endswith(TERMINAL) and not line.endswith("?"):
        return False
    return HEADLINE_WORDS[0] <= len(line.split()) <= HEADLINE_WORDS[1]


def prose_share(text: str) -> tuple[float, int]:
    """Share of ``text``'s non-blank characters in sentence lines, and its number of non-blank lines.

    A sentence line has a sentence mark and is running text by length: at least 20 Han characters
    when Han is 30% or more of the line, else at least 10 words. Menus, link lists, headline lists,
    bylines and widget labels are all short or unpunctuated, so a page where they dominate scores low:
    "News | Sport | Weather" 0, a news article with its menu line kept about 0.9. Lines of program
    text (a tutorial's code) are left out of both sides.
    """
    total = prose = lines = 0
    for line in text.split("\n"):
        line = line.strip()
        if not line or is_code_line(line):
            continue
        lines += 1
        total += len(line)
        if is_sentence_line(line):
            prose += len(line)
    return (prose / total if total else 0.0), lines


def is_sentence_line(line: str) -> bool:
    """A stripped line with a sentence mark that is running text by length (:func:`prose_share`)."""
    return sentence_line_han(line) >= 0


def sentence_line_han(line: str) -> int:
    """The Han characters of ``line`` when it is a sentence line (:func:`is_sentence_line`), else -1: one
    count serves both the test and a caller that weighs the line in Han-equivalent characters."""
    # 20 Han characters or 10 words need at least 19 characters: shorter lines (most of a menu)
    # skip the counting.
    if len(line) < 19 or not _SENTENCE_MARK.search(line):
        return -1
    han = HAN.count(line)
    sentence = (han >= 20) if han * 10 >= len(line) * 3 else (len(line.split()) >= 10)
    return han if sentence else -1


# A Han character carries about as much text as three Latin characters (a word and its space run ~5-6
# characters; a Chinese word ~1.5-2 characters), so article lengths are compared in Han characters.
LATIN_PER_HAN = 3
# Short lines between paragraphs (a subheading, a byline, a photo credit) do not end an article's run.
MAX_RUN_BREAK_LINE = 40


def han_equivalent(text: str) -> int:
    """Characters of ``text`` outside line-end blanks, Latin (and every other non-Han) ones counted a third."""
    total = sum(len(line.strip()) for line in text.split("\n"))
    han = HAN.count(text)
    return han + (total - han) // LATIN_PER_HAN


def article_chars(text: str) -> int:
    """The longest run of sentence lines (:func:`prose_share`'s) in ``text``, in Han-equivalent characters
    (Han characters plus the other characters divided by ``LATIN_PER_HAN``): the article a page holds.

    Lines of at most ``MAX_RUN_BREAK_LINE`` characters are skipped without ending the run; a longer line that
    is not a sentence (a link list, a headline block) ends it. Worked example: a 1,500-character Chinese
    story in 6 paragraphs with a subheading between two of them is one run of 1,500.
    """
    best = run = 0
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if is_sentence_line(line):
            run += han_equivalent(line)
            best = max(best, run)
        elif len(line) > MAX_RUN_BREAK_LINE:
            run = 0
    return best


def empty_tally() -> dict[str, int]:
    """``meta.clean`` of a document no rule touched: 0 lines and 0 characters per rule."""
    return {f"{rule}_{unit}": 0 for rule in REPAIR_RULES for unit in ("lines", "chars")}


def repair(text: str, *, furniture: Furniture | None, drop_repeats: bool = True, drop_trailing_lists: bool = True,
           page_dump: bool = True, drop_headline_lists: bool = False) -> tuple[str, dict[str, int]]:
    """Remove ``furniture`` (``None``: no word lists, no menu rows), repeats and a trailing list from
    normalised ``text``; the tally per rule.

    ``page_dump=False`` (text a reader extracted from markup: a wiki article, an encyclopedia entry)
    keeps runs of short lines, which are lists there, not menus. Lines inside Markdown code fences
    are never touched, and a document with fences keeps its runs of short lines too.
    ``drop_headline_lists`` also removes runs of headlines of any length (:func:`_drop_headline_runs`).
    """
    tally = empty_tally()

    def drop(rule: str, removed: str, lines: int = 1) -> None:
        tally[f"{rule}_lines"] += lines
        tally[f"{rule}_chars"] += len(removed)

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
            if page_dump and is_widget_line(line):
                drop("boilerplate", line)
                continue
        if drop_repeats and len(line) >= MIN_REPEAT_LINE_CHARS:
            key = hash(" ".join(line.split()))
            if key in seen:
                # A short line that recurs ("Got a news tip?", "分享到朋友圈") is a widget repeated in
                # header and footer: furniture. A long one is repeated content.
                drop("repeated" if len(line) >= MIN_REPEAT_CHARS else "boilerplate", line)
                continue
            seen.add(key)
            raw = _drop_repeated_sentences(raw, seen, drop)
            if not raw.strip():
                continue
        kept.append(raw)
    if page_dump and not has_fence:  # in extracted articles and around code the layout is content
        if furniture is not None:
            kept = _drop_result_listings(kept, drop)
            kept = _drop_menu_blocks(kept, drop)
        if drop_trailing_lists:
            kept = _drop_trailing_list(kept, drop)
        if furniture is not None and drop_headline_lists:
            # After the trailing list, so that a list at the end stays that rule's.
            kept = _drop_headline_runs(kept, drop)
        if drop_repeats:
            kept = _drop_repeated_labels(kept, drop)
        kept = _drop_bare_marks(kept, drop)
    out = BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()
    return out, tally


def _drop_repeated_labels(lines: list[str], drop) -> list[str]:
    """``lines`` without the second and later copies of a short line (MIN_REPEAT_WIDGET_CHARS to
    MIN_REPEAT_LINE_CHARS characters): a label under every comment ("新浪微博微信QQ空间", "查看回复") is a
    widget. Page dumps only (in an extracted article a repeated short line is a list item or a refrain),
    and run after the menu rules, which need the repeats to see a menu."""
    seen: set[str] = set()
    out = []
    for line in lines:
        label = " ".join(line.split())
        if MIN_REPEAT_WIDGET_CHARS <= len(label) < MIN_REPEAT_LINE_CHARS:
            if label in seen:
                drop("boilerplate", label)
                continue
            seen.add(label)
        out.append(line)
    return out


def _drop_bare_marks(lines: list[str], drop) -> list[str]:
    """``lines`` without lines of only dashes, bullets or bars ("-", "• •", "|"): in a page dump these are
    what is left of a list or a widget once its items went, and every filter would count them as
    duplicate lines. Run last, so the menu rules still see the bullets that mark a menu."""
    out = []
    for line in lines:
        if line.strip() and not _HAS_WORD.search(line):
            drop("boilerplate", line.strip())
        else:
            out.append(line)
    return out


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


def _drop_result_listings(lines: list[str], drop) -> list[str]:
    """Remove a search or catalogue result listing: a result-count line (:func:`is_result_count`) and the
    lines after it up to the next sentence (a line of 8+ words ending in . ! ? or …), counted as ``menu``.

    "1-5 of 44 records found" heads rows that each link to a record (a citation with "details url", a
    product with its price): the page is a list of links, whatever the length of its rows. A snippet that
    ends a sentence ends the listing, so an article after the list stays; a column header ending in a
    bracket ("Pages Links (down)") or a label ending in a colon does not.
    """
    out: list[str] = []
    listing = False
    for line in lines:
        stripped = line.strip()
        if stripped and is_result_count(stripped):
            listing = True
        elif listing and stripped and _is_prose(stripped) and stripped.rstrip(CLOSERS).endswith(tuple(SENTENCE_END)):
            listing = False
        if listing and stripped:
            drop("menu", stripped)
        else:
            out.append(line)
    return out


def _drop_headline_runs(lines: list[str], drop) -> list[str]:
    """Remove runs of >= MIN_HEADLINE_RUN headlines (:func:`is_headline`) anywhere in a page dump, counted
    as ``headline_list``: a related-story or most-read block is a list of links whatever the length of
    its titles.

    Short lines between the headlines (a date, "0条评论", a section label: at most 40 characters, no
    sentence end) do not end a run, but headlines must be at least half of its lines. A run whose
    headlines mostly hold a number is data (results, a schedule) and stays. As for menu blocks, a
    document without a prose line outside the runs is left whole for the filters to judge.
    """
    out: list[str] = []
    run: list[str] = []
    removed: list[str] = []

    def flush() -> None:
        heads = [i for i, line in enumerate(run) if is_headline(line.strip())]
        others = sum(bool(line.strip()) for line in run) - len(heads)
        if len(heads) >= MIN_HEADLINE_RUN and len(heads) >= others \
                and 2 * sum(bool(_DIGIT.search(run[i])) for i in heads) <= len(heads):
            # Only from the first to the last headline: short lines around it belong to their neighbours.
            out.extend(run[:heads[0]])
            removed.extend(line.strip() for line in run[heads[0]:heads[-1] + 1] if line.strip())
            out.append("")
            out.extend(run[heads[-1] + 1:])
        else:
            out.extend(run)
        run.clear()

    for line in lines:
        stripped = line.strip()
        if not stripped or is_headline(stripped) or (run and len(stripped) <= 40 and not stripped.endswith(TERMINAL)):
            run.append(line)
        else:
            flush()
            out.append(line)
    flush()
    if not removed or not any(_is_prose(line.strip()) for line in out):
        return lines  # nothing but lists: the filters judge the document whole
    for line in removed:
        drop("headline_list", line)
    return out


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
