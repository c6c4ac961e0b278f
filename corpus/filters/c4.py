"""C4's clean-up heuristics (Raffel et al. 2020, sec. 2.2) as document-level, drop-only rules.

C4 deletes offending *lines* (no terminal punctuation, "javascript", cookie/policy notices) and drops
documents with "lorem ipsum" or a curly brace. A filter here never edits text, so line rules become
shares of lines with a bound, and the curly-brace rule a bound on the count (0 is C4's original).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import Filter, Scores, Verdict, first_violation
from corpus.filters.lines import prose_chars_ratio
from corpus.filters.view import TextView

C4_LOREM_IPSUM = "c4_lorem_ipsum"
C4_CURLY_BRACE = "c4_curly_brace"
C4_TERMINAL_PUNCT = "c4_few_terminal_punct"
C4_JAVASCRIPT = "c4_javascript_lines"
C4_POLICY = "c4_policy_lines"
C4_FEW_SENTENCES = "c4_few_sentences"

# C4's list of policy phrases (as in the C4 source and datatrove's C4QualityFilter).
POLICY_SUBSTRINGS = (
    "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies",
)
_POLICY = re.compile("|".join(map(re.escape, POLICY_SUBSTRINGS)))
# re tries every phrase at every position; substring tests run at memchr speed (3.5x faster on 4-12 KB
# pages). Every phrase is one of these or holds "cookie", so a text without them cannot match _POLICY.
_POLICY_WITHOUT_COOKIE = tuple(p for p in POLICY_SUBSTRINGS if "cookie" not in p)
# C4's sentence ends: ". ", "! ", "? ", ".\n", "!\n", "?\n", counted in one pass (the two-character
# matches cannot overlap: no mark is a space or a newline).
_SENTENCE_END = re.compile(r"[.!?][ \n]")


def mentions_policy_or_javascript(lower_text: str) -> bool:
    """True when ``lower_text`` holds "javascript" or a phrase of POLICY_SUBSTRINGS (then its lines are read)."""
    return "javascript" in lower_text or any(p in lower_text for p in _POLICY_WITHOUT_COOKIE) or \
        ("cookie" in lower_text and _POLICY.search(lower_text) is not None)


@dataclass(frozen=True, kw_only=True)
class C4Filter(Filter):
    """C4 rules; defaults in configs/filters/en.yaml say which are C4's and which are our line shares."""

    name: ClassVar[str] = "c4"
    drop_lorem_ipsum: bool = True
    max_curly_braces: int | None = 0  # C4's value: any "{" drops
    max_curly_braces_per_1k_chars: float | None = None  # length-aware form (en.yaml): code is dense in braces
    min_terminal_punct_chars_ratio: float | None = 0.4
    max_javascript_lines_ratio: float | None = 0.1
    max_policy_lines_ratio: float | None = 0.1
    min_sentences: int | None = 3

    def score(self, text: str | TextView) -> Scores:
        """Counts and line shares for each C4 rule."""
        view = TextView.of(text)
        text, lines, lower_text = view.text, view.lines, view.lower
        # Headings and list items end without punctuation by nature; only body lines are judged.
        prose_ratio, _ = prose_chars_ratio(lines, view.line_kinds)
        n = len(lines) or 1
        braces = text.count("{")
        # A line can only mention javascript or a policy phrase if the whole text does: the per-line
        # count runs only then (a line's lower case is that line of the lower-cased text).
        lowered = lower_text.split("\n") if mentions_policy_or_javascript(lower_text) else []
        return {
            "lorem_ipsum": float("lorem ipsum" in lower_text),
            "curly_braces": braces,
            "curly_braces_per_1k_chars": 1000 * braces / max(len(text), 1),
            "terminal_punct_chars_ratio": prose_ratio,
            "javascript_lines_ratio": sum("javascript" in line for line in lowered) / n,
            "policy_lines_ratio": sum(_POLICY.search(line) is not None for line in lowered) / n,
            # Sentence count as C4 estimates it without a tokenizer: terminal marks followed by space/end.
            "sentences": len(_SENTENCE_END.findall(lower_text)) + lower_text.rstrip().endswith((".", "!", "?")),
        }

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first C4 rule broken."""
        if self.drop_lorem_ipsum and scores["lorem_ipsum"]:
            return Verdict(False, C4_LOREM_IPSUM, 1, 0)
        return first_violation(scores, self._rules)

    @functools.cached_property
    def _rules(self) -> list[tuple[str, str, float | None, str]]:
        """The rules of :meth:`decide` after lorem ipsum, built once per filter rather than per document."""
        return [
            (C4_CURLY_BRACE, "curly_braces", self.max_curly_braces, "max"),
            (C4_CURLY_BRACE, "curly_braces_per_1k_chars", self.max_curly_braces_per_1k_chars, "max"),
            (C4_JAVASCRIPT, "javascript_lines_ratio", self.max_javascript_lines_ratio, "max"),
            (C4_POLICY, "policy_lines_ratio", self.max_policy_lines_ratio, "max"),
            (C4_FEW_SENTENCES, "sentences", self.min_sentences, "min"),
            (C4_TERMINAL_PUNCT, "terminal_punct_chars_ratio", self.min_terminal_punct_chars_ratio, "min"),
        ]
