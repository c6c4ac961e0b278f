"""Drop documents a user's own fastText supervised classifier scores low for one label.

DCLM's and FineWeb's quality classifiers are fastText ``.bin`` models (``__label__hq`` against the rest);
any supervised fastText model works, lid.176 included. Prediction goes through the installed
``fasttext-predict`` (module ``fasttext``, which can load and predict but not train), the model's own
``predict`` line by line over a batch (its ``multilinePredict`` returns labels without their probabilities
in fasttext-predict 0.9.2.4). fastText reads one line per prediction, so newlines become spaces.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict, resolve_path
from corpus.filters.view import TextView

FASTTEXT_LOW_SCORE = "fasttext_low_score"
# Every character fastText's tokenizer ends a line or a word on besides the space (\n \r \t \v \f \0):
# a newline inside the text would end the prediction's input there, so all of them become spaces.
_BREAKS = re.compile(r"[\n\r\t\v\f\x00]+")


@functools.lru_cache(maxsize=4)
def load_classifier(path: str) -> Any:
    """The fastText model at ``path`` (as given, then among the shipped ``configs/``), loaded once per process."""
    import fasttext

    return fasttext.load_model(str(resolve_path(path)))


@functools.lru_cache(maxsize=4)
def model_labels(path: str) -> tuple[str, ...]:
    """Every label of the model at ``path``: fasttext-predict has no ``get_labels``, but a prediction with
    ``k=-1`` and a negative threshold (a probability of 0 included) returns all of them."""
    labels, _ = load_classifier(path).predict("", k=-1, threshold=-1.0)
    return tuple(labels)


def model_line(text: str, max_chars: int | None) -> str:
    """The one line fastText is given for ``text``: its start (``max_chars``), line breaks as spaces, and a
    lone surrogate (which cannot be UTF-8 encoded for the C++ side) as U+FFFD."""
    head = text if max_chars is None else text[:max_chars]
    return _BREAKS.sub(" ", head).encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True, kw_only=True)
class FastTextClassifierFilter(Filter):
    """Reject when the model's probability of ``label`` is below ``min_score`` (``fasttext_low_score``; at
    exactly the bound, kept; ``null`` scores without rejecting). ``max_chars``: classify only the start
    (``null``: the whole text, as DCLM does)."""

    name: ClassVar[str] = "fasttext_classifier"
    model: str
    label: str = "__label__hq"
    min_score: float | None = 0.5
    max_chars: int | None = None

    def __post_init__(self) -> None:
        if self.min_score is not None and not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score {self.min_score} is not a probability")
        labels = model_labels(self.model)
        if self.label not in labels:
            raise ValueError(f"label {self.label!r} is not one of the model's {len(labels)} labels "
                             f"({', '.join(labels[:5])}{', ...' if len(labels) > 5 else ''})")

    def score(self, text: str | TextView) -> Scores:
        """The probability of ``label`` and the model's top label."""
        return self.score_batch([TextView.of(text)])[0]

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """The model's C++ ``predict`` on each line of the batch (the Python wrapper's per-call newline check
        and tuple building skipped: :func:`model_line` made the line), every label returned (k=-1), so the
        probability of ``label`` is read even when it is not among the top ones."""
        predict = load_classifier(self.model).f.predict
        out = []
        for view in views:
            found = predict(model_line(view.text, self.max_chars) + "\n", -1, 0.0, "replace")  # [(prob, label)]
            score = next((prob for prob, name in found if name == self.label), 0.0)
            out.append({"score": round(min(float(score), 1.0), 4), "top_label": found[0][1] if found else ""})
        return out

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """``fasttext_low_score`` with the probability and the bound."""
        if self.min_score is not None and scores["score"] < self.min_score:
            return Verdict(False, FASTTEXT_LOW_SCORE, scores["score"], self.min_score)
        return KEEP
