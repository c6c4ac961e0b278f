"""Training clean's page model (:mod:`corpus.page_model`) from labelled JSONL, with its cross-validation.

Each labelled record is cleaned as ``read --source jsonl`` text reaches ``clean``; the pages the model
judges give one feature row each. Kept apart from :mod:`corpus.page_model` because it runs ``clean``,
which itself imports the model.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpus.clean import CleanStep, is_chinese
from corpus.filters.evaluate import load_labelled
from corpus.page_model import (
    DEFAULT_FEATURES,
    DEFAULT_L2,
    DEFAULT_THRESHOLD,
    FEATURE_NAMES,
    FEATURES,
    PageModel,
    page_features,
    page_lines,
    recall,
    train,
)
from corpus.text import is_code


def labelled_pages(paths: Sequence[Path], *, clean: CleanStep | None = None
                   ) -> tuple[list[dict[str, Any]], Counter]:
    """The pages of labelled JSONL files (``{text, label: keep|drop, lang?, source?}`` per line) that the
    model judges, each ``{file, source, lang, label, features}``, and counts of what was skipped.

    Every record is cleaned as ``read --source jsonl`` text reaches ``clean`` (source ``web``, no
    ``meta.lang``) with ``clean`` (default ``CleanStep()``); only page dumps of at least its
    ``min_prose_lines`` lines are pages the model judges, so only those are returned. ``lang`` defaults
    to clean's own decision (zh or other), ``source`` to the file name; a record without text or a
    keep/drop label raises ``ValueError`` naming its file and line.
    """
    step = clean or CleanStep()
    pages: list[dict[str, Any]] = []
    skipped: Counter = Counter()
    for path in paths:
        for record in load_labelled(Path(path)):
            doc = {"id": str(record.get("id", "")), "text": record["text"], "source": "web", "meta": {}}
            chinese = is_chinese(doc)
            if is_code(doc):
                skipped["code"] += 1
                continue
            arrived = step.clean_text(record["text"], chinese=chinese)
            kept, tally = step.repair(arrived, page_dump=True)
            features = page_features(arrived, kept, tally, chinese=chinese)
            if page_lines(features) < step.min_prose_lines:
                skipped[f"fewer than {step.min_prose_lines} lines"] += 1
                continue
            pages.append({"file": Path(path).name, "lang": str(record.get("lang") or ("zh" if chinese else "other")),
                          "source": str(record.get("source") or Path(path).name).split(":")[0],
                          "label": record["label"], "features": features})
    return pages, skipped


def _fit_pages(pages: Sequence[dict[str, Any]], **options: Any) -> PageModel:
    return train([p["features"] for p in pages], [int(p["label"] == "keep") for p in pages],
                 langs=[p["lang"] for p in pages], **options)


def cross_validate(pages: Sequence[dict[str, Any]], key: str, **options: Any) -> dict[str, Any]:
    """Leave-one-``key``-out (``file`` or ``source``) figures of the model alone on ``pages``: each part is
    judged by a model trained on the others; keep- and drop-recall per language over every held-out part.
    Parts whose training rest lacks a class are skipped and named."""
    decided: list[tuple[str, str, bool]] = []
    skipped = []
    for part in sorted({p[key] for p in pages}):
        rest = [p for p in pages if p[key] != part]
        if len({p["label"] for p in rest}) < 2:
            skipped.append(part)
            continue
        model = _fit_pages(rest, **options)
        decided += [(p["lang"], p["label"], model.keep_probability(p["features"]) >= model.threshold)
                    for p in pages if p[key] == part]
    return {"parts": len({p[key] for p in pages}) - len(skipped), "skipped": skipped,
            "per_lang": {lang: recall((label, kept) for lg, label, kept in decided if lg == lang)
                         for lang in sorted({lg for lg, _, _ in decided})}}


def train_from_files(paths: Sequence[Path], *, l2: float = DEFAULT_L2, threshold: float = DEFAULT_THRESHOLD,
                     features: Sequence[str] = DEFAULT_FEATURES, clean: CleanStep | None = None) -> PageModel:
    """Train on labelled JSONL ``paths`` (see :func:`labelled_pages`); the model's provenance records the
    files, page counts per language and label, its figures on its own training pages, and leave-one-file-
    out and leave-one-source-out cross-validation (when there are two or more of each)."""
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ValueError(f"unknown features {unknown}; known: {', '.join(FEATURE_NAMES)}")
    pages, skipped = labelled_pages(paths, clean=clean)
    options = {"l2": l2, "threshold": threshold, "features": tuple(features)}
    model = _fit_pages(pages, **options)
    counts = Counter((p["lang"], p["label"]) for p in pages)
    provenance: dict[str, Any] = {
        "files": [{"name": Path(path).name, "pages": sum(p["file"] == Path(path).name for p in pages)}
                  for path in paths],
        "pages": {lang: {label: counts[(lang, label)] for label in ("keep", "drop")}
                  for lang in sorted({lang for lang, _ in counts})},
        "skipped": dict(skipped),
        "training_fit": {lang: recall((p["label"], model.keep_probability(p["features"]) >= threshold)
                                      for p in pages if p["lang"] == lang) for lang in sorted({p["lang"] for p in pages})},
    }
    for key in ("file", "source"):
        if len({p[key] for p in pages}) >= 2:
            provenance[f"leave_one_{key}_out"] = cross_validate(pages, key, **options)
    return dataclasses.replace(model, provenance=provenance)
