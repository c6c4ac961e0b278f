"""Gopher quality and repetition rules for English (Rae et al. 2021, "Scaling Language Models", App. A).

Thresholds default to the paper's values (as also used by datatrove's GopherQualityFilter and
GopherRepetitionFilter). Words are whitespace tokens, as in the paper; the repetition helpers are shared
with the Chinese rules, which feed them characters instead of words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from corpus.filters.base import Filter, Scores, Verdict, first_violation
from corpus.filters.lines import ends_sentence, is_complete_entry

GOPHER_SHORT_DOC = "gopher_short_doc"
GOPHER_LONG_DOC = "gopher_long_doc"
GOPHER_SHORT_WORDS = "gopher_short_words"
GOPHER_LONG_WORDS = "gopher_long_words"
GOPHER_SYMBOLS = "gopher_symbol_ratio"
GOPHER_BULLETS = "gopher_bullet_lines"
GOPHER_ELLIPSIS = "gopher_ellipsis_lines"
GOPHER_NON_ALPHA = "gopher_non_alpha_words"
GOPHER_STOP_WORDS = "gopher_few_stop_words"
GOPHER_DUP_LINES = "gopher_dup_lines"
GOPHER_DUP_PARAGRAPHS = "gopher_dup_paragraphs"
GOPHER_DUP_LINE_CHARS = "gopher_dup_line_chars"
GOPHER_DUP_PARAGRAPH_CHARS = "gopher_dup_paragraph_chars"
GOPHER_TOP_NGRAM = "gopher_top_ngram"
GOPHER_DUP_NGRAM = "gopher_dup_ngram"

# The paper's stop words ("the, be, to, of, and, that, have, with"); Gopher requires two of them.
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "●", "○", "■", "□", "▪", "►", "-", "*", "‣", "⁃", "◦")
ELLIPSES = ("...", "…", ". . .")
_PARAGRAPHS = re.compile(r"\n\s*\n")
_ALPHA = re.compile(r"[^\W\d_]", re.UNICODE)


def duplicate_fractions(elements: Sequence[str]) -> tuple[float, float]:
    """Share of ``elements`` that repeat an earlier one, by count and by characters.

    Worked example: lines ``a, b, a`` → 1 of 3 lines is a repeat (0.33); by chars 1/3 too.
    """
    seen: set[str] = set()
    dup_count = dup_chars = total_chars = 0
    for element in elements:
        total_chars += len(element)
        if element in seen:
            dup_count += 1
            dup_chars += len(element)
        else:
            seen.add(element)
    n = len(elements)
    return (dup_count / n if n else 0.0, dup_chars / total_chars if total_chars else 0.0)


def top_ngram_fraction(tokens: Sequence[str], n: int, joiner: str = " ") -> float:
    """Characters covered by the most frequent n-gram (count × its length) over all token characters."""
    if len(tokens) < n:
        return 0.0
    counts = Counter(joiner.join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    gram, count = counts.most_common(1)[0]
    if count < 2:
        return 0.0
    total = sum(len(t) for t in tokens)
    # The gram's own characters without joiners, so the fraction is bounded by 1.
    return min(1.0, count * len(gram.replace(joiner, "")) / total) if total else 0.0


def dup_ngram_fraction(tokens: Sequence[str], n: int, joiner: str = " ") -> float:
    """Characters in n-grams that occurred before (non-overlapping, as in Gopher) over all characters."""
    if len(tokens) < n:
        return 0.0
    seen: set[str] = set()
    dup_chars = 0
    i, last = 0, len(tokens) - n
    while i <= last:
        gram = joiner.join(tokens[i : i + n])
        if gram in seen:
            dup_chars += sum(len(t) for t in tokens[i : i + n])
            i += n  # skip the repeated span so overlapping repeats are not counted twice
        else:
            seen.add(gram)
            i += 1
    total = sum(len(t) for t in tokens)
    return dup_chars / total if total else 0.0


def repetition_scores(
    text: str, tokens: Sequence[str], top_ns: Sequence[int], dup_ns: Sequence[int], joiner: str
) -> Scores:
    """Line, paragraph and n-gram repetition scores for ``text`` tokenised into ``tokens``."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(text) if p.strip()]
    dup_lines, dup_line_chars = duplicate_fractions(lines)
    dup_paras, dup_para_chars = duplicate_fractions(paragraphs)
    scores: Scores = {
        "dup_line_frac": dup_lines,
        "dup_line_char_frac": dup_line_chars,
        "dup_para_frac": dup_paras,
        "dup_para_char_frac": dup_para_chars,
    }
    for n in top_ns:
        scores[f"top_{n}gram_frac"] = top_ngram_fraction(tokens, n, joiner)
    for n in dup_ns:
        scores[f"dup_{n}gram_frac"] = dup_ngram_fraction(tokens, n, joiner)
    return scores


def ngram_violation(scores: Scores, top: dict[int, float], dup: dict[int, float],
                    top_reason: str, dup_reason: str) -> Verdict | None:
    """The first n-gram bound broken, as a rejecting verdict, or None."""
    for n, bound in sorted(top.items()):
        if bound is not None and scores[f"top_{n}gram_frac"] > bound:
            return Verdict(False, top_reason, round(scores[f"top_{n}gram_frac"], 4), bound)
    for n, bound in sorted(dup.items()):
        if bound is not None and scores[f"dup_{n}gram_frac"] > bound:
            return Verdict(False, dup_reason, round(scores[f"dup_{n}gram_frac"], 4), bound)
    return None


@dataclass(frozen=True, kw_only=True)
class GopherQualityFilter(Filter):
    """Gopher's quality heuristics; every default is the paper's value (Rae et al. 2021, App. A.1.1)."""

    name: ClassVar[str] = "gopher_quality"
    min_words: int | None = 50
    min_entry_words: int | None = None  # shorter than min_words is kept if whole sentences of this many words
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3
    max_mean_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2

    def score(self, text: str) -> Scores:
        """Word count, mean word length, symbol, bullet, ellipsis, alphabetic and stop-word measures."""
        words = text.split()
        n = len(words)
        lines = [line for line in text.split("\n") if line.strip()]
        symbols = text.count("#") + sum(text.count(e) for e in ELLIPSES[:2])
        return {
            "words": n,
            "complete_entry": is_complete_entry(text),
            "mean_word_length": sum(map(len, words)) / n if n else 0.0,
            "symbol_word_ratio": symbols / n if n else 0.0,
            # Bullet lines that are whole sentences are an informative list (a list-shaped answer), not
            # the menu or link list Gopher's rule is after: only bullets without a sentence end count.
            "bullet_lines_ratio": (
                sum(line.lstrip().startswith(BULLETS) and not ends_sentence(line) for line in lines) / len(lines)
                if lines else 0.0
            ),
            "ellipsis_lines_ratio": (
                sum(line.rstrip().endswith(ELLIPSES) for line in lines) / len(lines) if lines else 0.0
            ),
            "alpha_words_ratio": sum(bool(_ALPHA.search(w)) for w in words) / n if n else 0.0,
            "stop_words": sum(w.lower().strip(".,;:!?\"'()") in STOP_WORDS for w in words),
        }

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first quality bound broken, in the paper's order."""
        return first_violation(scores, [
            (GOPHER_SHORT_DOC, "words", self._min_words(scores), "min"),
            (GOPHER_LONG_DOC, "words", self.max_words, "max"),
            (GOPHER_SHORT_WORDS, "mean_word_length", self.min_mean_word_length, "min"),
            (GOPHER_LONG_WORDS, "mean_word_length", self.max_mean_word_length, "max"),
            (GOPHER_SYMBOLS, "symbol_word_ratio", self.max_symbol_word_ratio, "max"),
            (GOPHER_BULLETS, "bullet_lines_ratio", self.max_bullet_lines_ratio, "max"),
            (GOPHER_ELLIPSIS, "ellipsis_lines_ratio", self.max_ellipsis_lines_ratio, "max"),
            (GOPHER_NON_ALPHA, "alpha_words_ratio", self.min_alpha_words_ratio, "min"),
            (GOPHER_STOP_WORDS, "stop_words", self.min_stop_words, "min"),
        ])


    def _min_words(self, scores: Scores) -> int | None:
        """``min_words``, or ``min_entry_words`` for a short text of whole sentences (an entry, an answer)."""
        if scores["complete_entry"] and self.min_entry_words is not None and self.min_words is not None:
            return min(self.min_words, self.min_entry_words)
        return self.min_words


@dataclass(frozen=True, kw_only=True)
class GopherRepetitionFilter(Filter):
    """Gopher's repetition removal (App. A.1.1, Table A1); defaults are the paper's thresholds."""

    name: ClassVar[str] = "gopher_repetition"
    max_dup_line_frac: float | None = 0.3
    max_dup_para_frac: float | None = 0.3
    max_dup_line_char_frac: float | None = 0.2
    max_dup_para_char_frac: float | None = 0.2
    # n-gram size → bound on the share of characters in the most frequent n-gram
    top_ngram_max: dict[int, float] = field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    # n-gram size → bound on the share of characters in n-grams seen earlier in the document
    dup_ngram_max: dict[int, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    def score(self, text: str) -> Scores:
        """Duplicate line/paragraph fractions and top/duplicate word n-gram character fractions."""
        return repetition_scores(text, text.split(), self.top_ngram_max, self.dup_ngram_max, " ")

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first repetition bound broken: lines, paragraphs, then n-grams."""
        verdict = first_violation(scores, [
            (GOPHER_DUP_LINES, "dup_line_frac", self.max_dup_line_frac, "max"),
            (GOPHER_DUP_PARAGRAPHS, "dup_para_frac", self.max_dup_para_frac, "max"),
            (GOPHER_DUP_LINE_CHARS, "dup_line_char_frac", self.max_dup_line_char_frac, "max"),
            (GOPHER_DUP_PARAGRAPH_CHARS, "dup_para_char_frac", self.max_dup_para_char_frac, "max"),
        ])
        if not verdict.keep:
            return verdict
        return ngram_violation(scores, self.top_ngram_max, self.dup_ngram_max,
                               GOPHER_TOP_NGRAM, GOPHER_DUP_NGRAM) or verdict
