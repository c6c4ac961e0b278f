"""The ``clean`` stage: normalise, then repair (remove junk lines) before any filter judges a document.

- Prose: NFKC folds compatibility forms (full-width Latin letters and digits, ligatures, half-width
  katakana). In Chinese text the full-width punctuation that Chinese typography uses (，：；！？（）)
  is kept: NFKC would turn it into ASCII. Leftover HTML entities and tags go; trailing spaces and runs
  of blank lines collapse.
- Repair (the line rules of :mod:`corpus.repair`, as C4, RefinedWeb and CCNet do): boilerplate lines
  from word lists, menu rows, the second copy of a repeated line or sentence, a trailing list of link
  titles. Each document gets ``meta.clean`` (lines and characters per rule) and the counters ``clean_lines_<rule>``
  and ``clean_chars_<rule>``. A document whose text is mostly page furniture is rejected
  (``clean_mostly_boilerplate``) unless a long article survives (``clean_article_kept``); one left empty
  as ``clean_empty``. Opt-in, a learned model (:mod:`corpus.page_model`) judges page dumps instead of
  those page rules (``clean_page_model``).
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
from typing import Any, ClassVar

from corpus.page_model import load_model, page_features, page_lines
from corpus.records import reject
from corpus.repair import (
    BLANK_RUNS,
    BOILERPLATE_DIR,
    FURNITURE_RULES,
    REPAIR_RULES,
    article_chars,
    empty_tally,
    han_equivalent,
    is_menu_row,
    load_furniture,
    prose_share,
    repair,
    repair_table,
)
from corpus.text import HAN, is_code, normalize, opencc_converter

# Re-exported: callers and tests import the repair rules' names from the stage's module.
__all__ = ["CLEAN_EMPTY", "CLEAN_LITTLE_PROSE", "CLEAN_MOSTLY_BOILERPLATE", "CLEAN_PAGE_MODEL", "REPAIR_RULES", "CleanStep", "is_chinese", "is_extracted",
           "is_menu_row", "repair_table"]

CLEAN_EMPTY = "clean_empty"
CLEAN_MOSTLY_BOILERPLATE = "clean_mostly_boilerplate"
CLEAN_LITTLE_PROSE = "clean_little_prose"
CLEAN_PAGE_MODEL = "clean_page_model"
PAGE_MODEL_MODES = ("replace", "gate")

# C0/C1 controls except \t and \n, plus zero-width and bidi marks that only hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff]")
_HTML_TAG = re.compile(r"</?(?:br|p|div|span|b|i|u|em|strong|font|a|img|center|small|big|sup|sub)\b[^<>]{0,200}>", re.I)
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});")


def is_extracted(source: str, extracted: tuple[str, ...]) -> bool:
    """True for text a reader extracted from markup (``extracted``, or a wiki dump such as ``zhwiki``)."""
    return source in extracted or source.endswith("wiki")


def is_chinese(doc: dict[str, Any]) -> bool:
    """``meta.lang`` says zh, or (no language given) CJK characters make up a tenth of the text."""
    lang = (doc.get("meta") or {}).get("lang")
    if lang:
        return str(lang).startswith("zh")
    text = doc["text"][:2000]
    return bool(text) and HAN.count(text) * 10 >= len(text)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleanStep:
    """Normalise, then repair: remove furniture, repeats and trailing link lists, counting each rule.

    Rejects a document left empty (``clean_empty``), or whose characters were more than
    ``max_furniture_ratio`` furniture (boilerplate, menu rows, trailing and headline lists:
    ``clean_mostly_boilerplate``).
    Repeats do not count towards that share: a repeated answer is junk, the record is not.
    A page dump (not an extracted article, not code) of at least ``min_prose_lines`` lines whose text as
    it arrived has less than ``min_prose_ratio`` of its characters in sentence lines
    (:func:`corpus.repair.prose_share`) is a navigation or link-list page: ``clean_little_prose``.
    Neither page rule drops a page that still holds an article (:meth:`holds_article`: a run of sentence
    lines of ``min_article_chars`` Han-equivalent characters, ``min_article_share`` of the page); counted
    as ``clean_article_kept``.
    With ``page_model`` (a JSON of :mod:`corpus.page_model`), pages of ``min_prose_lines`` lines or more
    are judged by its keep-probability instead (``replace``) or only when a page rule would drop them
    (``gate``); a drop is ``clean_page_model``.
    """

    name: ClassVar[str] = "clean"
    nfkc: bool = True
    opencc: str | None = None  # e.g. "t2s": Traditional to Simplified Chinese for every prose document
    strip_markup: bool = True  # HTML entities and tags left over by extraction
    drop_navigation: bool = True  # boilerplate lines from the word lists, and menu rows
    boilerplate_lists: str = BOILERPLATE_DIR  # directory of line/start/contains lists
    drop_repeats: bool = True  # second copies of lines (>= 12 characters) and sentences (>= 20)
    drop_trailing_lists: bool = True  # short unpunctuated lines after the last prose line
    # Runs of >= 6 headlines of any length anywhere in a page dump (related-story blocks), counted as
    # headline_list and as furniture. Off by default: measured on ../shared/quality/dev.jsonl and the
    # independent check set it removes the right lines but, counted as furniture, costs keep-recall on
    # both sets at max_furniture_ratio 0.3 and gains drops on dev only; not counted, it lets the filters
    # keep nav-dominated pages they now drop for their headline lines (benchmarks/RESULTS.md, quality5).
    drop_headline_lists: bool = False
    # Sources whose text is never repaired (code never is: leetcode is code by corpus.text.is_code too).
    keep_layout_sources: tuple[str, ...] = ("leetcode",)
    # Readers that extract an article body from markup (plus every "<lang>wiki" dump): no site
    # navigation there, so runs of short lines are lists and are kept; furniture lines and repeats go.
    extracted_sources: tuple[str, ...] = ("wiki", "baike", "wudao")
    # ours: a page that is more than half furniture is a menu with a little text (C4/RefinedWeb
    # delete such lines and then judge the rest; what is left of such pages is rarely an article).
    max_furniture_ratio: float | None = 0.3
    # ours: the crawled page before repair, judged by what its lines are rather than by which of them
    # the word lists and menu shapes recognise. Below a third of the characters in sentence lines, the
    # page is mostly titles, links, labels and widgets (the labelling rule of ../shared/quality:
    # "navigation dominates; the article is a minor part"); 10 lines so that a one-line review or a
    # short entry with no punctuation is left to the filters, which judge it by its sentences.
    min_prose_ratio: float | None = 0.35
    min_prose_lines: int = 10
    # ours: neither page rule drops a page that still holds an article, judged by what clean leaves: a run
    # of sentence lines (corpus.repair.article_chars) of >= min_article_chars Han-equivalent characters
    # (a full news story; ~3,600 Latin characters, so an English page needs a ~600-word article) that is
    # >= min_article_share of the page's characters as it arrived (the labelling rule of ../shared/quality:
    # drop when "the article is a minor part"; labellers kept nav-heavy pages from ~40% of article).
    # Measured on dev, check and spare (benchmarks/RESULTS.md, qzh6): no decision changes there.
    min_article_chars: int | None = 1200
    min_article_share: float = 0.4
    # The learned page judgement (corpus.page_model): a logistic regression over what clean measured on the
    # page. "replace": on page dumps of >= min_prose_lines lines it decides instead of the two page rules
    # (and their article rule), dropping a page whose keep-probability is below the threshold as
    # clean_page_model; "gate": the page rules propose a drop and the model must agree. None: the rules
    # alone. min_keep_probability None takes the threshold the model file carries.
    page_model: str | None = None
    page_model_mode: str = "replace"
    min_keep_probability: float | None = None

    def __post_init__(self) -> None:
        if self.drop_navigation:
            load_furniture(self.boilerplate_lists)  # a missing list directory fails here, not in a worker
        if self.page_model_mode not in PAGE_MODEL_MODES:
            raise ValueError(f"page_model_mode {self.page_model_mode!r}: expected one of {', '.join(PAGE_MODEL_MODES)}")
        if self.page_model is not None:
            load_model(self.page_model)  # a missing or malformed model fails here, not in a worker

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
        text = BLANK_RUNS.sub("\n\n", text)
        return text.strip()

    def repair(self, text: str, *, page_dump: bool = True) -> tuple[str, dict[str, int]]:
        """Remove furniture, repeats and a trailing list from normalised ``text`` (:func:`corpus.repair.repair`
        with this step's word lists and switches); the tally per rule. ``page_dump=False`` (text a reader
        extracted from markup) keeps runs of short lines, which are lists there, not menus."""
        furniture = load_furniture(self.boilerplate_lists) if self.drop_navigation else None
        return repair(text, furniture=furniture, drop_repeats=self.drop_repeats,
                      drop_trailing_lists=self.drop_trailing_lists, page_dump=page_dump,
                      drop_headline_lists=self.drop_headline_lists)


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
            tally = empty_tally()
            source = str(doc.get("source") or "")
            # Documents with meta.links (wiki articles for KG2Instruction) are only normalised: their
            # extracted text has no page furniture, and removing a line would strand the anchors that
            # _move_links finds again in order (one lost anchor moves its cursor past the others).
            links = (doc.get("meta") or {}).get("links")
            repairable = not code and not links and source not in self.keep_layout_sources
            page_dump = repairable and not is_extracted(source, self.extracted_sources)
            text_before_repair = text
            if repairable:
                text, tally = self.repair(text, page_dump=page_dump)
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
            # Newlines bound the non-blank lines from above: most short documents skip the features.
            judged = self.page_model is not None and page_dump and \
                text_before_repair.count("\n") + 1 >= self.min_prose_lines
            probability = None
            if judged:
                probability = self.keep_probability(text_before_repair, doc["text"], tally, chinese, doc["meta"])
                judged = probability is not None
            if judged and self.page_model_mode == "replace":
                verdict = None if probability >= self.model_threshold else \
                    (CLEAN_PAGE_MODEL, probability, self.model_threshold)
            else:
                verdict = self.page_rules(doc["text"], text_before_repair, tally, page_dump, counters)
                if verdict is not None and judged and probability >= self.model_threshold:
                    counters["clean_page_model_kept"] += 1  # gate: a page rule proposed, the model disagreed
                    verdict = None
            if verdict is not None:
                reason, value, threshold = verdict
                yield reject(doc, stage=self.name, reason=reason, filter=self.name, value=value, threshold=threshold)
                continue
            yield doc

    def page_rules(self, text: str, arrived: str, tally: dict[str, int], page_dump: bool,
                   counters: Counter) -> tuple[str, float, float] | None:
        """The hand-set page rules' verdict on repaired ``text`` (``arrived``: before repair; the prose rule
        judges page dumps only): ``(reason, value, threshold)`` of ``clean_mostly_boilerplate`` or
        ``clean_little_prose``, or None to keep."""
        prose = prose_share(arrived) if page_dump and self.min_prose_ratio is not None else None
        furniture = sum(tally[f"{rule}_chars"] for rule in FURNITURE_RULES)
        total = furniture + len(text)
        verdict = None
        if self.max_furniture_ratio is not None and furniture > self.max_furniture_ratio * total:
            verdict = (CLEAN_MOSTLY_BOILERPLATE, round(furniture / total, 4), self.max_furniture_ratio)
        elif prose is not None and prose[1] >= self.min_prose_lines and prose[0] < self.min_prose_ratio:
            verdict = (CLEAN_LITTLE_PROSE, round(prose[0], 4), self.min_prose_ratio)
        if verdict is not None and self.holds_article(text, arrived=han_equivalent(arrived)):
            counters["clean_article_kept"] += 1  # a page rule would have dropped it
            return None
        return verdict

    @property
    def model_threshold(self) -> float:
        """The least keep-probability the page model keeps: ``min_keep_probability`` or the model's own."""
        if self.min_keep_probability is not None:
            return self.min_keep_probability
        return load_model(self.page_model).threshold if self.page_model else 0.0

    def keep_probability(self, arrived: str, text: str, tally: dict[str, int], chinese: bool,
                         meta: dict[str, Any]) -> float | None:
        """The page model's P(keep) for a page dump (``arrived`` before repair, ``text`` after), rounded to 4
        places (the value that is compared, stored and reported), stored with the three features that moved
        it most in ``meta.scores.page_model``; None when fewer than ``min_prose_lines`` non-blank lines are
        left once program lines are set aside (a short text or a page of code is the filters' to judge)."""
        model = load_model(self.page_model)
        features = page_features(arrived, text, tally, chinese=chinese)
        if page_lines(features) < self.min_prose_lines:
            return None
        probability = round(model.keep_probability(features), 4)
        meta.setdefault("scores", {})["page_model"] = {
            "keep_probability": probability,
            "top_features": [f"{name} {part:+.2f}" for name, part in model.contributions(features)]}
        return probability

    def holds_article(self, text: str, *, arrived: int) -> bool:
        """True when repaired ``text`` holds an article that page rules must not drop: a run of sentence lines
        of ``min_article_chars`` Han-equivalent characters (:func:`corpus.repair.article_chars`) that is at
        least ``min_article_share`` of ``arrived``, the page as it arrived counted the same way
        (:func:`corpus.repair.han_equivalent`)."""
        if self.min_article_chars is None:
            return False
        article = article_chars(text)
        return article >= self.min_article_chars and article >= self.min_article_share * arrived
