"""Readings injected after Chinese characters: "烟(yan)台市(shi)", "網(wǎng)絡(luò)".

Scraped-and-republished and SEO pages insert the pinyin of a character after it, in brackets, so that
copy checks and keyword filters do not see the words. Real text glosses a term once ("范围（scope）");
an injected page does it dozens of times. Counts the pattern and drops it when it is both frequent and
dense; written by the knowforge authors (no published rule or list covers it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict, batch_count
from corpus.filters.view import TextView

ZH_INJECTED_READINGS = "zh_injected_readings"

# One Han character, then one pinyin syllable (a-z with tone marks, 1-6 letters) in ASCII or full-width
# brackets. A syllable is at most 6 letters (zhuang, shuang); a gloss of a word ("屋(house)") is a
# word, which this also counts, but glosses come one or two to an article.
_READING = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff][(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}[)）]")
# The same pattern for RE2 (which spells code points \x{...}): no lookaround, so both find the same
# non-overlapping matches; one count over the batch replaces a findall a text (0.5 KB Chinese: ~3 us).
_READING_RE2 = r"[\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}][(（][a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,6}[)）]"


@dataclass(frozen=True, kw_only=True)
class InjectedReadingsFilter(Filter):
    """Drop a text with at least ``min_hits`` bracketed readings after Han characters and at least
    ``min_per_1k_chars`` of them per 1,000 characters (both bounds are the least evidence that drops, as
    the harmful filter's are). Worked example: the Yantai robotics page of ../shared/quality has 36 in
    494 characters (72.9 per 1,000); the dev keep pages have at most 1."""

    name: ClassVar[str] = "readings"
    min_hits: int | None = 8
    min_per_1k_chars: float = 3.0

    def score(self, text: str | TextView) -> Scores:
        """Readings found and their density per 1,000 characters."""
        body = TextView.of(text).text
        return self._score(body, len(_READING.findall(body)))

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the readings of all of them counted in one RE2 pass
        (:func:`corpus.filters.base.batch_count`)."""
        texts = [view.text for view in views]
        return [self._score(body, hits) for body, hits in zip(texts, batch_count(texts, _READING_RE2, _READING),
                                                              strict=True)]

    @staticmethod
    def _score(body: str, hits: int) -> Scores:
        return {"hits": hits, "per_1k_chars": round(1000 * hits / len(body), 3) if body else 0.0}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Drop when both bounds are reached; ``value`` is the density, ``threshold`` its bound."""
        if self.min_hits is None or scores["hits"] < self.min_hits or scores["per_1k_chars"] < self.min_per_1k_chars:
            return KEEP
        return Verdict(False, ZH_INJECTED_READINGS, scores["per_1k_chars"], self.min_per_1k_chars)
