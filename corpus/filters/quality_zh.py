"""Chinese quality rules in the spirit of ChineseWebText (Chen et al. 2023) and MAP-NEO's Matrix pipeline.

Length, CJK share, line shape, end punctuation, special-symbol and digit shares, boilerplate markers,
and Gopher's repetition measures over characters (Chinese has no spaces, so characters stand in for
words). The perplexity/quality-classifier stages of those pipelines are left out: they need models.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from corpus.filters.base import Filter, Scores, Verdict, batch_count, first_violation
from corpus.filters.gopher import (
    first_ngram_violation,
    ngram_fractions,
    ngram_fractions_many,
    ngram_rules,
    repetition_scores,
)
from corpus.filters.lines import body_shape, is_complete_entry
from corpus.filters.view import TextView
from corpus.text import HAN

ZH_SHORT_DOC = "zh_short_doc"
ZH_LOW_CJK = "zh_low_cjk_ratio"
ZH_SHORT_LINES = "zh_short_lines"
ZH_FEW_END_PUNCT = "zh_few_end_punct"
ZH_FEW_SENTENCES = "zh_few_sentences"
ZH_DUP_LINES = "zh_dup_lines"
ZH_DUP_PARAGRAPHS = "zh_dup_paragraphs"
ZH_DUP_LINE_CHARS = "zh_dup_line_chars"
ZH_TOP_NGRAM = "zh_top_ngram"
ZH_DUP_NGRAM = "zh_dup_ngram"
ZH_SPECIAL_CHARS = "zh_special_chars"
ZH_DIGITS = "zh_digits"
ZH_BOILERPLATE = "zh_boilerplate"

# Runs, not single characters: the count is the runs' total length, with one match object per run.
_CJK_RUNS = re.compile(f"[{HAN.char_class}]+")
_DIGIT_RUNS = re.compile(r"\d+")
# "Special" = not a letter/CJK/digit, not whitespace, not common Chinese or ASCII punctuation.
_SPECIAL_RUNS = re.compile(r"[^\w\s，。！？；：、“”‘’（）《》〈〉【】「」『』—…·,.!?;:'\"()\[\]\-%/]+")
# Clause and sentence ends of running Chinese text; a one- or two-line document needs a few of them.
CLAUSE_MARKS = tuple("，,、；;。！？!?~～…")
_CLAUSE_END = re.compile(r"[，,、；;。！？!?~～…]+")
_CLAUSE_END_RE2 = _CLAUSE_END.pattern  # literal characters only: RE2 reads it as re does
BOILERPLATE_LINE_CHARS = 80
# Markers of navigation, share bars and footers on Chinese web pages (our list; see docs/filters.md).
BOILERPLATE_MARKERS = (
    "版权所有", "版权声明", "免责声明", "上一篇", "下一篇", "上一页", "下一页", "返回顶部", "返回首页",
    "点击这里", "点击查看", "点击进入", "扫一扫", "扫码关注", "关注公众号", "分享到", "收藏本站",
    "设为首页", "加入收藏", "联系我们", "网站地图", "ICP备", "公网安备", "登录", "注册", "本文来源",
    "责任编辑", "相关阅读", "热门推荐", "猜你喜欢", "阅读全文", "展开全文", "Copyright", "All Rights Reserved",
)
# One search per line for all markers (literals, so "is any marker in the line" is the same question).
_BOILERPLATE = re.compile("|".join(map(re.escape, BOILERPLATE_MARKERS)))


def _count(runs: re.Pattern, text: str) -> int:
    """Characters of ``text`` in matches of ``runs``."""
    return sum(map(len, runs.findall(text)))


_CJK_BIT, _DIGIT_BIT, _SPECIAL_BIT = 1, 2, 4


@functools.lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Per BMP code point, the bits of the classes above it belongs to (uint8; from the regexes
    themselves, so the two ways of counting cannot disagree)."""
    every = "".join(map(chr, range(0x10000)))  # lone surrogates included: a str may hold them
    table = np.zeros(0x10000, dtype=np.uint8)
    for runs, bit in ((_CJK_RUNS, _CJK_BIT), (_DIGIT_RUNS, _DIGIT_BIT), (_SPECIAL_RUNS, _SPECIAL_BIT)):
        for match in runs.finditer(every):
            table[match.start() : match.end()] |= bit
    return table


def class_counts(chars: str) -> tuple[int, int, int]:
    """(CJK, digit, special) characters of ``chars``: one table lookup per code point and one bincount,
    instead of three regex passes (2-5x faster); texts with astral characters take the regexes."""
    points = np.frombuffer(chars.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if len(points) != len(chars):
        return _count(_CJK_RUNS, chars), _count(_DIGIT_RUNS, chars), _count(_SPECIAL_RUNS, chars)
    per_class = np.bincount(_classes()[points], minlength=8).tolist()  # index: the class bits
    return tuple(sum(per_class[i] for i in range(8) if i & bit) for bit in (_CJK_BIT, _DIGIT_BIT, _SPECIAL_BIT))


def class_counts_many(texts: Sequence[str]) -> list[tuple[int, int, int]]:
    """``[class_counts(text) for text in texts]`` from one table lookup over the texts joined and one
    bincount of (text, class bits) pairs (0.5 KB Chinese texts: 5.3 -> 2.6-3.4 us; running counts per
    class were slower than the per-text path, 6.3). A batch with an astral character counts text by text."""
    joined = "".join(texts)
    points = np.frombuffer(joined.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if len(points) != len(joined):
        return [class_counts(text) for text in texts]
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), [len(text) for text in texts])
    # Per text, how many of its characters have each combination of class bits: one bincount.
    per_bits = np.bincount(text_of * 8 + _classes()[points], minlength=8 * len(texts)).reshape(len(texts), 8)
    per_text = [per_bits[:, [i for i in range(8) if i & bit]].sum(axis=1).tolist()
                for bit in (_CJK_BIT, _DIGIT_BIT, _SPECIAL_BIT)]
    return list(zip(*per_text, strict=True))


@dataclass(frozen=True, kw_only=True)
class ZhQualityFilter(Filter):
    """Rule-based quality for Chinese text; the defaults and their sources are in configs/filters/zh.yaml."""

    name: ClassVar[str] = "quality_zh"
    min_chars: int | None = 100
    min_entry_chars: int | None = 40  # shorter than min_chars is kept if whole sentences of this many chars
    min_cjk_ratio: float | None = 0.3
    min_mean_line_chars: float | None = 10
    min_end_punct_chars_ratio: float | None = 0.5
    min_clauses: int | None = 3
    short_doc_lines: int = 2
    max_dup_line_frac: float | None = 0.3
    max_dup_para_frac: float | None = 0.3
    max_dup_line_char_frac: float | None = 0.2
    max_special_ratio: float | None = 0.1
    max_digit_ratio: float | None = 0.5
    max_boilerplate_lines_ratio: float | None = 0.2
    top_ngram_max: dict[int, float] = field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    dup_ngram_max: dict[int, float] = field(default_factory=lambda: {10: 0.3, 20: 0.2})

    def score(self, text: str | TextView) -> Scores:
        """Character counts and shares, line shape, boilerplate lines and character-level repetition."""
        view = TextView.of(text)
        return self._score(view, class_counts(view.chars),
                           ngram_fractions(view.chars, self.top_ngram_max, self.dup_ngram_max))

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the character classes and n-grams of all of them measured together
        (:func:`class_counts_many`, :func:`corpus.filters.gopher.ngram_fractions_many`)."""
        chars = [view.chars for view in views]
        texts = [view.text for view in views]
        # The clause ends of every text in one RE2 count (0.5 KB Chinese: findall ~2.9 us a text).
        clause_ends = batch_count(texts, _CLAUSE_END_RE2, _CLAUSE_END)
        return [self._score(view, classes, ngrams, ends) for view, classes, ngrams, ends in
                zip(views, class_counts_many(chars), ngram_fractions_many(chars, self.top_ngram_max,
                                                                          self.dup_ngram_max), clause_ends,
                    strict=True)]

    def _score(self, view: TextView, classes: tuple[int, int, int], ngrams: Scores,
               clause_ends: int | None = None) -> Scores:
        """:meth:`score` given the text's :func:`class_counts` and :func:`ngram_fractions` (and the number of
        ``_CLAUSE_END`` matches, when counted for the batch)."""
        text, chars, lines = view.text, view.chars, view.lines
        n = len(chars)
        # Headings and list items are left out of the line-shape measures (they end without 。).
        end_punct_ratio, body_lines, body_chars = body_shape(lines, view.line_kinds)
        cjk, digits, special = classes
        scores: Scores = {
            "chars": n,
            "complete_entry": is_complete_entry(text),
            "cjk_ratio": cjk / n if n else 0.0,
            "body_lines": body_lines,
            "clauses": (len(_CLAUSE_END.findall(text)) if clause_ends is None else clause_ends)
            + (not text.rstrip().endswith(CLAUSE_MARKS)),
            "mean_line_chars": body_chars / body_lines if body_lines else 0.0,
            "end_punct_chars_ratio": end_punct_ratio,
            "special_ratio": special / n if n else 0.0,
            "digit_ratio": digits / n if n else 0.0,
            # Only furniture-sized lines count: a paragraph that mentions 登录 or 版权 is not a footer.
            "boilerplate_lines_ratio": (
                sum(len(line) <= BOILERPLATE_LINE_CHARS and _BOILERPLATE.search(line) is not None
                    for line in lines) / len(lines) if lines else 0.0
            ),
        }
        scores.update(repetition_scores(view, chars, self.top_ngram_max, self.dup_ngram_max, ngrams))
        return scores

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first bound broken: size and script first, then shape, repetition, noise."""
        rules, ngram_rules = self._rules
        verdict = first_violation(scores, rules[bool(scores["complete_entry"]),
                                                scores["body_lines"] <= self.short_doc_lines])
        if not verdict.keep:
            return verdict
        return first_ngram_violation(scores, ngram_rules) or verdict

    @functools.cached_property
    def _rules(self) -> tuple[dict[tuple[bool, bool], list[tuple[str, str, float | None, str]]],
                              tuple[tuple[str, float, str], ...]]:
        """The rules of :meth:`decide` per (complete entry, one- or two-line document), the two things its
        bounds depend on (:meth:`_min_chars`, :meth:`_shape_rules`), and the n-gram rules
        (:func:`corpus.filters.gopher.ngram_violation`): built once per filter rather than per document."""
        rules = {}
        for entry in (False, True):
            for short in (False, True):
                scores = {"complete_entry": entry, "body_lines": self.short_doc_lines + (not short)}
                rules[entry, short] = [
                    (ZH_SHORT_DOC, "chars", self._min_chars(scores), "min"),
                    (ZH_LOW_CJK, "cjk_ratio", self.min_cjk_ratio, "min"),
                    (ZH_DUP_LINES, "dup_line_frac", self.max_dup_line_frac, "max"),
                    (ZH_DUP_PARAGRAPHS, "dup_para_frac", self.max_dup_para_frac, "max"),
                    (ZH_DUP_LINE_CHARS, "dup_line_char_frac", self.max_dup_line_char_frac, "max"),
                    (ZH_BOILERPLATE, "boilerplate_lines_ratio", self.max_boilerplate_lines_ratio, "max"),
                    *self._shape_rules(scores),
                    (ZH_SPECIAL_CHARS, "special_ratio", self.max_special_ratio, "max"),
                    (ZH_DIGITS, "digit_ratio", self.max_digit_ratio, "max"),
                ]
        return rules, ngram_rules(self.top_ngram_max, self.dup_ngram_max, ZH_TOP_NGRAM, ZH_DUP_NGRAM)

    def _min_chars(self, scores: Scores) -> int | None:
        """``min_chars``, or ``min_entry_chars`` for a short text of whole sentences (an entry, an answer)."""
        if scores["complete_entry"] and self.min_entry_chars is not None and self.min_chars is not None:
            return min(self.min_chars, self.min_entry_chars)
        return self.min_chars

    def _shape_rules(self, scores: Scores) -> list[tuple[str, str, float | None, str]]:
        """Line-shape rules for a document of several body lines; a one- or two-line document (a review,
        a Q&A pair, a cut paragraph) is judged by its sentences instead: its line shares can only be 0 or 1."""
        if scores["body_lines"] <= self.short_doc_lines:
            return [(ZH_FEW_SENTENCES, "clauses", self.min_clauses, "min")]
        return [
            (ZH_SHORT_LINES, "mean_line_chars", self.min_mean_line_chars, "min"),
            (ZH_FEW_END_PUNCT, "end_punct_chars_ratio", self.min_end_punct_chars_ratio, "min"),
        ]
