"""Language identification with py3langid (langid.py's 97-language naive Bayes model, shipped in the wheel).

No download at run time: the model file is inside the installed package. Only the first ``max_chars``
characters are classified (langid.py is byte-n-gram based and converges quickly). Script-level
detectors (fastText lid.176, GlotLID) are better but need model files, so they are left out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict

LANGID_WRONG_LANGUAGE = "langid_wrong_language"
LANGID_LOW_SCORE = "langid_low_score"
DETECT_CHARS = 2000
# Digits, punctuation and symbols carry no language signal but pull langid.py towards odd labels
# (a Chinese price table comes out as "zxx" or "vo"), so only letters are classified.
_NON_LETTERS = re.compile(r"[\d\W_]+")


@functools.lru_cache(maxsize=1)
def _identifier() -> Any:
    """The py3langid model with normalised probabilities, loaded once per process."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def letters_of(text: str, max_chars: int = DETECT_CHARS) -> str:
    """The start of ``text`` with digits, punctuation and symbols replaced by single spaces."""
    return _NON_LETTERS.sub(" ", text[:max_chars]).strip()


def detect(text: str, max_chars: int = DETECT_CHARS) -> tuple[str, float]:
    """``(language code, probability)`` for the letters at the start of ``text``; ``("und", 0.0)`` if none."""
    sample = letters_of(text, max_chars)
    if not sample:
        return "und", 0.0
    lang, prob = _identifier().classify(sample)
    return lang, float(prob)


@dataclass(frozen=True, kw_only=True)
class LangIdFilter(Filter):
    """Keep documents identified as one of ``languages`` with probability at least ``min_score``.

    ``aliases`` folds labels into the language they are written in for our purposes (langid.py tells
    Wu and Cantonese apart from Mandarin on a few characters). Texts with fewer than ``min_letters``
    letters are not judged: the model cannot tell, and the quality rules deal with them.
    """

    name: ClassVar[str] = "langid"
    languages: tuple[str, ...] | list[str] = ("zh", "en")
    min_score: float | None = 0.5
    min_letters: int = 20
    max_chars: int = DETECT_CHARS
    aliases: dict[str, str] = field(default_factory=lambda: {"wuu": "zh", "yue": "zh"})

    def score(self, text: str) -> Scores:
        """The detected language (after ``aliases``), its probability and the letters classified."""
        lang, prob = detect(text, self.max_chars)
        letters = len(letters_of(text, self.max_chars).replace(" ", ""))
        return {"lang": self.aliases.get(lang, lang), "score": prob, "letters": letters}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject a language outside ``languages`` first, then a confident-enough check."""
        if scores["letters"] < self.min_letters:
            return KEEP
        if self.languages and scores["lang"] not in self.languages:
            return Verdict(False, LANGID_WRONG_LANGUAGE, scores["lang"], list(self.languages))
        if self.min_score is not None and scores["score"] < self.min_score:
            return Verdict(False, LANGID_LOW_SCORE, round(scores["score"], 4), self.min_score)
        return KEEP
