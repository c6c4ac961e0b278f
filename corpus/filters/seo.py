"""SEO spam of Chinese Common Crawl: casino brands injected into prose, betting tips, keyword stuffing, code lists.

Hijacked and gambling-SEO sites fill otherwise fluent pages with what a search engine indexes: a casino
brand put in place of a school's or a company's name, match previews with odds and picks, a long-tail
search question repeated in sentence after sentence, a line of product codes. Each kind is counted on
its own and dropped by its own reason. Chinese only; written by the knowforge authors (no published rule
covers these kinds); the brand and tip lists are ``configs/wordlists/seo/``.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict
from corpus.filters.harmful import Matcher, load_matcher, normalise, normalised_text
from corpus.filters.view import TextView

ZH_CASINO_BRAND = "zh_casino_brand"
ZH_BETTING_TIPS = "zh_betting_tips"
ZH_KEYWORD_STUFFING = "zh_keyword_stuffing"
ZH_CODE_LIST = "zh_code_list"

# casino_not: phrases holding a brand entry that are no brand (贵宾会员); matched so that they hide it.
CATEGORIES = ("casino", "casino_not", "tips")

# A fixture, on the normalised text: "哥伦比亚vs玻利维亚", "a vs b", "对阵"; not the letters inside a word.
_FIXTURE = re.compile(r"(?<![a-z])vs(?![a-z])|对阵")
# The question words of a search query ("iqos电子烟有什么好处", "哪家好", "多少钱", "可以…吗"). A keyword
# phrase is the question word and the 4 characters before it (a Chinese topic word or two), spaces
# removed: the query a stuffed page repeats ("空气炸锅怎么样") recurs with its topic, whatever precedes it.
_ASK = re.compile(r"什么|怎么|如何|哪些|哪个|哪家|哪里|多少|为什么|吗")
_PHRASE_BEFORE = 4
_WORD_CHAR = re.compile(r"\w+")
# The page's own keyword line ("标签：…", "本文关键词：…", "Tags: …"): a page that declares the queries it
# wants to rank for. A forum thread also repeats a question (each reply quotes it), but declares no keywords.
_TAG_LINE = re.compile(r"^\s*(?:本文)?(?:标签|关键词|关键字|標籤|關鍵詞|tags?)\s*[:：]", re.I | re.M)
# A product code: Latin letters and digits with a digit in it ("C494", "8165", "p5l2c", "fo-4240"), or a
# run of 2+ capitals ("HMW", "SSH"); on the text as written (codes are case-sensitive where they are caps).
_CODE = re.compile(r"(?=[A-Za-z-]*\d)[A-Za-z\d][A-Za-z\d-]*|[A-Z]{2,}")
_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")


@functools.lru_cache(maxsize=8)
def load_seo_matcher(directory: str) -> Matcher:
    """The harmful filter's matcher over ``directory``'s lists (``casino``, ``casino_not``, ``tips``), refusing others."""
    matcher = load_matcher(directory)
    unknown = sorted(set(matcher.categories) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"{directory}: SEO lists of unknown category {', '.join(unknown)}; known: {', '.join(CATEGORIES)}")
    return matcher


def stuffed_phrase(text: str | TextView) -> tuple[int, int, str]:
    """The most repeated search-question phrase of ``text``: ``(occurrences, lines it is on, phrase)``.

    Worked example: a spun e-cigarette page writes "iqos 电子烟有什么好处？" as a heading and then inside
    four sentences; its phrase "电子烟有什么" occurs 5 times on 5 lines. An FAQ names each question once
    or twice (the question, perhaps a heading).
    """
    view = TextView.of(text)
    if not _ASK.search(view.text):
        return 0, 0, ""  # no line holds a question word if the text does not (most texts: one search)
    counts: Counter = Counter()
    lines: dict[str, set[int]] = defaultdict(set)
    for number, line in enumerate(view.lines):  # the view's lines: split once per document
        if not _ASK.search(line):
            continue
        squeezed = "".join(line.split())
        for match in _ASK.finditer(squeezed):
            start = match.start() - _PHRASE_BEFORE
            phrase = squeezed[max(start, 0):match.end()]
            # The phrase must be words only: a question word after punctuation starts a new sentence.
            if start < 0 or _WORD_CHAR.fullmatch(phrase) is None:
                continue
            counts[phrase] += 1
            lines[phrase].add(number)
    if not counts:
        return 0, 0, ""
    phrase, n = max(counts.items(), key=lambda item: (len(lines[item[0]]), item[1]))
    return n, len(lines[phrase]), phrase


def code_list_tokens(text: str | TextView) -> int:
    """Product codes on the text's worst keyword-list line: a line of >= 30 tokens, at least half of them
    codes, that repeats a Chinese word 3 times or more (a list of product names and their codes, as SEO
    pages open with); 0 if no line is one. A spec table's line gives each value once."""
    view = TextView.of(text)
    if len(view.words) < 30:
        return 0  # a line's words are some of the text's: no line has 30 (the view's words, split once)
    best = 0
    for line in view.lines:
        tokens = line.split()
        if len(tokens) < 30:
            continue
        codes = sum(1 for token in tokens if _CODE.fullmatch(token.strip("®™,，、")))
        if codes * 2 < len(tokens):
            continue
        words = Counter(_HAN_WORD.findall(line))
        if words and max(words.values()) >= 3:
            best = max(best, codes)
    return best


@dataclass(frozen=True, kw_only=True)
class SeoSpamFilter(Filter):
    """Drop Chinese SEO spam by its kind; each bound is the least evidence that drops, ``None`` switches
    that rule off.

    - ``zh_casino_brand``: ``min_brand_hits`` occurrences of casino brands (``casino`` list), or one in
      the first line (the page title) or in the page's keyword line (本文关键词：…, the slot an SEO page
      fills with the queries it wants to rank for). News names a casino resort once, in a sentence, not
      in the title or among the keywords of a page about a school or a recipe.
    - ``zh_betting_tips``: ``min_tip_terms`` distinct terms of the ``tips`` list on a page naming a
      fixture (``A vs B``, 对阵).
    - ``zh_keyword_stuffing``: on a page with a keyword line (标签：, 关键词：, Tags:), a search-question
      phrase (:func:`stuffed_phrase`) ``min_stuffed_repeats`` times on at least ``min_stuffed_lines`` lines.
    - ``zh_code_list``: a keyword-list line of at least ``min_code_tokens`` product codes
      (:func:`code_list_tokens`).
    """

    name: ClassVar[str] = "seo_spam"
    wordlists: str = "configs/wordlists/seo"
    min_brand_hits: int | None = 2
    min_tip_terms: int | None = 3
    min_stuffed_repeats: int | None = 4
    min_stuffed_lines: int = 3
    min_code_tokens: int | None = 20

    def score(self, text: str | TextView) -> Scores:
        """Brand hits (and whether the title or a keyword line holds one), distinct tip terms, whether a
        fixture is named, the stuffed phrase's count and lines, the code-list line's codes, and the terms
        found."""
        view = TextView.of(text)
        normalised = normalised_text(view)
        matcher = load_seo_matcher(self.wordlists)
        found = matcher.count(normalised)
        brands, tips = found.get("casino", {}), found.get("tips", {})
        title = view.text.lstrip().split("\n", 1)[0]
        title_brand = bool(brands) and bool(matcher.count(normalise(title)).get("casino"))
        tag_brand = bool(brands) and any(matcher.count(normalise(line)).get("casino")
                                         for line in view.lines if _TAG_LINE.match(line))
        repeats, lines, phrase = stuffed_phrase(view)
        return {
            "brand_hits": sum(brands.values()),
            "title_brand": title_brand,
            "tag_brand": tag_brand,
            "tip_terms": len(tips),
            "fixture": bool(tips) and _FIXTURE.search(normalised) is not None,
            "stuffed_repeats": repeats,
            "stuffed_lines": lines,
            "tag_line": _TAG_LINE.search(view.text) is not None,
            "code_tokens": code_list_tokens(view),
            "terms": sorted(brands)[:5] + sorted(tips)[:5] + ([phrase] if phrase else []),
        }

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """The first kind found, in the order of the class docstring; ``value`` and ``threshold`` are its count
        and bound (a brand in the title: value 1, threshold 1)."""
        if self.min_brand_hits is not None:
            if scores["brand_hits"] >= self.min_brand_hits:
                return Verdict(False, ZH_CASINO_BRAND, scores["brand_hits"], self.min_brand_hits)
            if scores["title_brand"] or scores["tag_brand"]:
                return Verdict(False, ZH_CASINO_BRAND, 1, 1)
        if self.min_tip_terms is not None and scores["fixture"] and scores["tip_terms"] >= self.min_tip_terms:
            return Verdict(False, ZH_BETTING_TIPS, scores["tip_terms"], self.min_tip_terms)
        if (self.min_stuffed_repeats is not None and scores["tag_line"]
                and scores["stuffed_repeats"] >= self.min_stuffed_repeats
                and scores["stuffed_lines"] >= self.min_stuffed_lines):
            return Verdict(False, ZH_KEYWORD_STUFFING, scores["stuffed_repeats"], self.min_stuffed_repeats)
        if self.min_code_tokens is not None and scores["code_tokens"] >= self.min_code_tokens:
            return Verdict(False, ZH_CODE_LIST, scores["code_tokens"], self.min_code_tokens)
        return KEEP
