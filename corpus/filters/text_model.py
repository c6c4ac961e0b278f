"""Drop documents a trained word-reading text model (:mod:`corpus.text_model`) calls unlikely to be kept.

Opt-in: no default chain names it, and knowforge ships no trained model (train your own with ``knowforge
corpus train-text-model``). The model reads the text as ``clean`` left it; a batch is scored with one
sparse product. See docs/filters.md, "A word-reading text model".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict
from corpus.filters.view import TextView
from corpus.text_model import load_model

TEXT_MODEL_LOW = "text_model_low"
# How many of a document's n-grams its scores name: the evidence a reader checks first.
EXPLAIN_TERMS = 3


@dataclass(frozen=True, kw_only=True)
class TextModelFilter(Filter):
    """Reject when the model's P(keep) is below ``min_keep_prob`` (``text_model_low``; at exactly the bound,
    kept). ``min_keep_prob: model`` (the default) takes the threshold stored in the model file, the one its
    training cross-validated; a number overrides it; ``null`` scores without ever rejecting."""

    name: ClassVar[str] = "text_model"
    model: str
    min_keep_prob: float | str | None = "model"

    def __post_init__(self) -> None:
        if isinstance(self.min_keep_prob, str) and self.min_keep_prob != "model":
            raise ValueError(f"min_keep_prob is a probability, 'model' or null, not {self.min_keep_prob!r}")
        if isinstance(self.min_keep_prob, (int, float)) and not 0.0 <= self.min_keep_prob <= 1.0:
            raise ValueError(f"min_keep_prob {self.min_keep_prob} is not a probability")
        load_model(self.model)  # a missing or malformed model fails when the config is built, with its path

    @property
    def bound(self) -> float | None:
        """The threshold in force: the model's, the configured one, or None (scores only)."""
        return load_model(self.model).threshold if self.min_keep_prob == "model" else self.min_keep_prob

    def score(self, text: str | TextView) -> Scores:
        """P(keep) and the n-grams that moved it most."""
        return self.score_batch([TextView.of(text)])[0]

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """P(keep) for the whole batch from one sparse product, then each document's strongest terms."""
        probabilities, terms = load_model(self.model).score_texts([view.text for view in views], EXPLAIN_TERMS)
        return [{"keep_prob": round(float(p), 4), "terms": t} for p, t in zip(probabilities, terms, strict=True)]

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """``text_model_low`` with the probability and the bound when P(keep) is below the bound."""
        bound = self.bound
        if bound is not None and scores["keep_prob"] < bound:
            return Verdict(False, TEXT_MODEL_LOW, scores["keep_prob"], bound)
        return KEEP
