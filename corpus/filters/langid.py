"""Language identification with py3langid (langid.py's 97-language naive Bayes model, shipped in the wheel).

No download at run time: the model file is inside the installed package. Only the first ``max_chars``
characters are classified (langid.py is byte-n-gram based and converges quickly). Script-level
detectors (fastText lid.176, GlotLID) are better but need model files, so they are left out.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict

LANGID_WRONG_LANGUAGE = "langid_wrong_language"
LANGID_LOW_SCORE = "langid_low_score"
DETECT_CHARS = 2000


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """The py3langid model with normalised probabilities, loaded once per process."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect(text: str, max_chars: int = DETECT_CHARS) -> tuple[str, float]:
    """``(language code, probability)`` for the start of ``text``; ``("und", 0.0)`` when empty."""
    sample = text[:max_chars]
    if not sample.strip():
        return "und", 0.0
    lang, prob = _identifier().classify(sample)
    return lang, float(prob)


@dataclass(frozen=True, kw_only=True)
class LangIdFilter(Filter):
    """Keep documents identified as one of ``languages`` with probability at least ``min_score``."""

    name: ClassVar[str] = "langid"
    languages: tuple[str, ...] | list[str] = ("zh", "en")
    min_score: float | None = 0.5
    max_chars: int = DETECT_CHARS

    def score(self, text: str) -> Scores:
        """The detected language and its probability."""
        lang, prob = detect(text, self.max_chars)
        return {"lang": lang, "score": prob}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject a language outside ``languages`` first, then a confident-enough check."""
        if self.languages and scores["lang"] not in self.languages:
            return Verdict(False, LANGID_WRONG_LANGUAGE, scores["lang"], list(self.languages))
        if self.min_score is not None and scores["score"] < self.min_score:
            return Verdict(False, LANGID_LOW_SCORE, round(scores["score"], 4), self.min_score)
        return KEEP
