"""clean's learned page judgement: a small logistic regression over explainable features of a page dump.

Each feature is a share or a log-length that ``clean`` already measures (what the repair rules removed
and why, the sentence lines of :mod:`corpus.repair`, the article run); :data:`FEATURES` documents them.
The model is a standardised, L2-regularised logistic regression fitted with Newton's method in numpy
(no scikit-learn at run time); its JSON holds only coefficients, the feature scaling and where the
training data came from, never a document. Deliberately left out: anything over words or n-grams.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from corpus.filters.base import resolve_path
from corpus.filters.lines import TERMINAL
from corpus.repair import (
    FURNITURE_RULES,
    LATIN_PER_HAN,
    MAX_RUN_BREAK_LINE,
    is_code_line,
    is_headline,
    sentence_line_han,
)
from corpus.text import HAN

MODEL_FORMAT = "knowforge-page-model/1"

# name -> what it measures. "arrived" is the page after normalisation, before any line was removed;
# "kept" is what repair left. Lines are non-blank stripped lines, program lines left out (as
# corpus.repair.prose_share does). Shares are in [0, 1]; lengths are natural logs of 1 + the count.
FEATURES: dict[str, str] = {
    "furniture_share": "furniture characters (boilerplate, menu, trailing and headline lists) over furniture "
                       "plus kept characters: the measure of clean_mostly_boilerplate",
    "boilerplate_share": "characters the boilerplate rule removed (word lists, widgets) over arrived characters",
    "menu_share": "characters the menu rules removed (menu rows, menu blocks, result listings) over arrived",
    "trailing_list_share": "characters of the trailing link list removed over arrived characters",
    "repeated_share": "characters removed as second copies of lines and sentences over arrived characters",
    "removed_line_share": "arrived lines removed as furniture over arrived lines",
    "prose_share": "arrived characters in sentence lines (corpus.repair.prose_share): the measure of "
                   "clean_little_prose",
    "prose_share_kept": "the same share over the kept text",
    "kept_prose_share": "kept characters in sentence lines over arrived characters: the prose that survives, "
                        "as a share of the page",
    "log_prose_chars": "log(1 + kept sentence-line characters, Han-equivalent): all the prose, in or out of "
                       "the longest run",
    "sentence_line_share": "arrived lines that are sentence lines, over arrived lines (by count, not length)",
    "short_line_share": f"arrived lines of at most {MAX_RUN_BREAK_LINE} characters over arrived lines",
    "headline_line_share": "arrived lines shaped as headlines or link titles (corpus.repair.is_headline)",
    "end_punct_share": "kept lines ending in terminal punctuation (C4's line test) over kept lines",
    "article_share": "the article run of the kept text (corpus.repair.article_chars) over the arrived page, "
                     "both in Han-equivalent characters",
    "log_article_chars": "log(1 + the article run in Han-equivalent characters)",
    "log_page_chars": "log(1 + the arrived page in Han-equivalent characters)",
    "log_lines": "log(1 + arrived lines)",
    "log_mean_line": "log(1 + mean arrived line length in Han-equivalent characters)",
    "chinese": "1 when clean treats the page as Chinese (corpus.clean.is_chinese), else 0",
}
FEATURE_NAMES = tuple(FEATURES)
# What the trainer uses unless told otherwise: one measure per kind of evidence (furniture, prose, article,
# headlines, short lines, sentence ends, repeats, language). With the other features too, collinear shares
# take coefficients of the wrong sign (removed_line_share +0.5 beside furniture_share -1.2, prose_share
# -0.04): cross-validated figures are the same (benchmarks/RESULTS.md, qml7), the explanation is not.
DEFAULT_FEATURES = ("furniture_share", "prose_share", "kept_prose_share", "article_share", "log_article_chars",
                    "log_prose_chars", "headline_line_share", "short_line_share", "end_punct_share",
                    "repeated_share", "chinese")


def _han_equivalent(han: int, chars: int) -> float:
    """Han characters plus the others divided by LATIN_PER_HAN (as corpus.repair.han_equivalent)."""
    return han + (chars - han) / LATIN_PER_HAN


def _line_profile(text: str, *, headlines: bool) -> dict[str, float]:
    """One pass over ``text``'s lines: counts of lines, characters, Han, sentence lines and characters,
    short lines, lines ending a sentence, headline lines (only when ``headlines``: the costliest test),
    the sentence lines' Han-equivalent characters and the longest article run (as
    corpus.repair.article_chars: short lines do not end a run, a longer non-sentence line does)."""
    lines = chars = prose = sentences = short = heads = ended = code_han = 0
    best = run = prose_han = 0.0
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        if is_code_line(line):
            code_han += HAN.count(line)  # rare: the page's Han is counted once below, less these
            continue
        n = len(line)
        lines += 1
        chars += n
        short += n <= MAX_RUN_BREAK_LINE
        ended += line.endswith(TERMINAL)
        han = sentence_line_han(line)
        if han >= 0:
            prose += n
            sentences += 1
            size = _han_equivalent(han, n)
            prose_han += size
            run += size
            best = max(best, run)
        else:
            if headlines:
                heads += is_headline(line)
            if n > MAX_RUN_BREAK_LINE:
                run = 0.0
    return {"lines": lines, "chars": chars, "han": HAN.count(text) - code_han, "prose": prose,
            "sentences": sentences, "short": short, "headlines": heads, "ended": ended, "article": best,
            "prose_han": prose_han}


def page_features(arrived: str, kept: str, tally: dict[str, int], *, chinese: bool) -> dict[str, float]:
    """The :data:`FEATURES` of one page: ``arrived`` the normalised text before repair, ``kept`` what repair
    left, ``tally`` repair's ``meta.clean`` counts, ``chinese`` clean's language decision."""
    a, k = _line_profile(arrived, headlines=True), _line_profile(kept, headlines=False)
    furniture = sum(tally.get(f"{rule}_chars", 0) for rule in FURNITURE_RULES)
    removed_lines = sum(tally.get(f"{rule}_lines", 0) for rule in FURNITURE_RULES)
    total = furniture + len(kept)
    size = max(len(arrived), 1)
    lines = max(a["lines"], 1)
    page = _han_equivalent(a["han"], a["chars"])
    return {
        "furniture_share": furniture / total if total else 0.0,
        "boilerplate_share": tally.get("boilerplate_chars", 0) / size,
        "menu_share": tally.get("menu_chars", 0) / size,
        "trailing_list_share": tally.get("trailing_list_chars", 0) / size,
        "repeated_share": tally.get("repeated_chars", 0) / size,
        "removed_line_share": min(removed_lines / lines, 1.0),
        "prose_share": a["prose"] / a["chars"] if a["chars"] else 0.0,
        "prose_share_kept": k["prose"] / k["chars"] if k["chars"] else 0.0,
        "kept_prose_share": min(k["prose"] / a["chars"], 1.0) if a["chars"] else 0.0,
        "log_prose_chars": math.log1p(k["prose_han"]),
        "sentence_line_share": a["sentences"] / lines,
        "short_line_share": a["short"] / lines,
        "headline_line_share": a["headlines"] / lines,
        "end_punct_share": k["ended"] / k["lines"] if k["lines"] else 0.0,
        "article_share": min(k["article"] / page, 1.0) if page else 0.0,
        "log_article_chars": math.log1p(k["article"]),
        "log_page_chars": math.log1p(page),
        "log_lines": math.log1p(a["lines"]),
        "log_mean_line": math.log1p(page / lines),
        "chinese": float(chinese),
    }


def page_lines(features: dict[str, float]) -> int:
    """The number of lines :func:`page_features` measured the page on (non-blank, program lines set
    aside), back from its ``log_lines``: what decides whether the page is long enough to be judged."""
    return round(math.expm1(features["log_lines"]))


@dataclasses.dataclass(frozen=True, kw_only=True)
class PageModel:
    """A fitted page model: ``P(keep) = 1 / (1 + exp(-(intercept + sum coef_i * (x_i - mean_i) / scale_i)))``.

    ``threshold`` is the least keep-probability kept (a page at exactly the threshold is kept, as every
    ``min_*`` bound of the project); ``provenance`` says what it was trained on and how it validated.
    """

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    l2: float
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise ValueError(f"page model: unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
        sizes = {len(self.features), len(self.mean), len(self.scale), len(self.coef)}
        if len(sizes) != 1:
            raise ValueError("page model: features, mean, scale and coef must have one entry per feature")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"page model: threshold {self.threshold} is not a probability")

    def logit(self, features: dict[str, float]) -> float:
        """The model's log-odds of keep for one page's features."""
        z = self.intercept
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += w * (features[name] - mu) / sd
        return z

    def keep_probability(self, features: dict[str, float]) -> float:
        """P(keep) for one page's :func:`page_features`."""
        z = self.logit(features)
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def contributions(self, features: dict[str, float], top: int = 3) -> list[tuple[str, float]]:
        """The ``top`` features that moved this page's log-odds most, with their signed contribution: the
        explanation a rejected page carries."""
        parts = [(name, w * (features[name] - mu) / sd)
                 for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.coef, strict=True)]
        return sorted(parts, key=lambda p: -abs(p[1]))[:top]

    def to_json(self) -> dict[str, Any]:
        """The model as the JSON document :func:`load_model` reads."""
        return {"format": MODEL_FORMAT, "features": list(self.features),
                "feature_docs": {f: FEATURES[f] for f in self.features},
                "mean": list(self.mean), "scale": list(self.scale), "coef": list(self.coef),
                "intercept": self.intercept, "threshold": self.threshold, "l2": self.l2,
                "provenance": self.provenance}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageModel:
        """Build a model from :meth:`to_json`'s document, checking its format."""
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"page model: format {data.get('format')!r}, expected {MODEL_FORMAT!r}")
        return cls(features=tuple(data["features"]), mean=tuple(map(float, data["mean"])),
                   scale=tuple(map(float, data["scale"])), coef=tuple(map(float, data["coef"])),
                   intercept=float(data["intercept"]), threshold=float(data["threshold"]), l2=float(data["l2"]),
                   provenance=data.get("provenance") or {})


@lru_cache(maxsize=4)
def load_model(path: str) -> PageModel:
    """Read a page model JSON once per process (as given, then among the shipped ``configs/``)."""
    return PageModel.from_json(json.loads(resolve_path(path).read_text(encoding="utf-8")))


# --- training ---------------------------------------------------------------------------------------

# ours: on ~300 labelled pages a prior of 10 (in standardised units) gives every default feature the sign
# its meaning says (more furniture, headlines, short lines, repeats: less keep); at 1 prose_share came out
# negative beside kept_prose_share. Leave-one-source-out figures at 1, 10 and 30 are within 0.03; at 100
# English trades drop-recall for keep-recall.
DEFAULT_L2 = 10.0
# ours: drop a page when drop is at least 1.5 times likelier than keep. Samples are class-balanced, so
# 0.5 would weigh a lost good page and a kept junk page alike; the filters after clean judge the pages
# the model keeps, while a page it drops is lost (benchmarks/RESULTS.md, qml7: 0.3, 0.4, 0.5 measured).
DEFAULT_THRESHOLD = 0.4


def fit_logistic(x: np.ndarray, y: np.ndarray, *, l2: float = DEFAULT_L2, weights: np.ndarray | None = None,
                 iterations: int = 50) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of an L2-regularised logistic regression, by Newton's method.

    ``x`` is (n, d), already standardised; ``y`` (n,) holds 1 for keep, 0 for drop; ``weights`` (n,) per
    sample (default 1). Minimises ``sum_i w_i * logloss_i + l2/2 * |coef|^2`` (the intercept is not
    penalised): the objective is strictly convex for l2 > 0, so Newton converges in a few steps.
    """
    n, d = x.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    design = np.hstack([x, np.ones((n, 1))])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -35, 35)))
        grad = design.T @ (w * (p - y)) + penalty * beta
        hess = (design * (w * p * (1 - p))[:, None]).T @ design + np.diag(penalty) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def balanced_weights(labels: Sequence[int], groups: Sequence[str]) -> np.ndarray:
    """Per-sample weights giving each (group, label) cell the same total weight within its group, and every
    group weight in proportion to its size: a language with few drops is not outvoted by its keeps."""
    cells = Counter(zip(groups, labels, strict=True))
    sizes = Counter(groups)
    return np.array([sizes[g] / (2 * cells[(g, y)]) if cells[(g, 1 - y)] else 1.0
                     for g, y in zip(groups, labels, strict=True)])


def train(rows: Sequence[dict[str, float]], labels: Sequence[int], *, langs: Sequence[str] | None = None,
          features: Sequence[str] = DEFAULT_FEATURES, l2: float = DEFAULT_L2, threshold: float = DEFAULT_THRESHOLD,
          provenance: dict[str, Any] | None = None) -> PageModel:
    """Fit a :class:`PageModel` on feature rows (:func:`page_features`) and labels (1 keep, 0 drop).

    Features are standardised with the training mean and standard deviation (a constant feature gets
    scale 1 and so weight 0). Samples are weighted so keep and drop count equally within each language
    (``langs``; default one group). Raises ``ValueError`` for no rows, one class only, or a feature name
    not in :data:`FEATURES`.
    """
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
    if not rows:
        raise ValueError("no labelled pages to train on")
    y = np.asarray(labels, dtype=float)
    if len(y) != len(rows) or not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("labels must be one 0/1 per row")
    if len(np.unique(y)) < 2:
        raise ValueError(f"training needs both keep and drop pages; all {len(y)} are "
                         f"{'keep' if y[0] else 'drop'}")
    x = np.array([[row[f] for f in features] for row in rows], dtype=float)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-12] = 1.0
    groups = list(langs) if langs is not None else ["all"] * len(rows)
    coef, intercept = fit_logistic((x - mean) / scale, y, l2=l2, weights=balanced_weights(y.astype(int), groups))
    return PageModel(features=tuple(features), mean=tuple(map(float, mean.round(6))),
                     scale=tuple(map(float, scale.round(6))), coef=tuple(map(float, coef.round(6))),
                     intercept=round(intercept, 6), threshold=threshold, l2=l2, provenance=provenance or {})


def write_model(model: PageModel, path: Path) -> None:
    """Write ``model`` as indented JSON (a reviewable diff when it is retrained)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def recall(decisions: Iterable[tuple[str, bool]]) -> dict[str, float | int]:
    """keep-recall and drop-recall of ``(label, kept)`` pairs, with the counts."""
    pairs = list(decisions)
    keep = [kept for label, kept in pairs if label == "keep"]
    drop = [kept for label, kept in pairs if label == "drop"]
    return {"keep": len(keep), "drop": len(drop),
            "keep_recall": round(sum(keep) / len(keep), 3) if keep else None,
            "drop_recall": round(sum(not k for k in drop) / len(drop), 3) if drop else None}
