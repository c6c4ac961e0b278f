"""Training the word-reading text model (:mod:`corpus.text_model`) from labelled JSONL, with its cross-validation.

Each labelled record is cleaned as ``read --source jsonl`` text reaches ``clean`` (source ``web``, no
``meta.lang``), and the model learns from what ``clean`` left: the text the ``text_model`` filter reads.
Kept apart from :mod:`corpus.text_model` because it runs ``clean``, which the filter does not need.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from corpus.clean import CleanStep, is_chinese
from corpus.filters.evaluate import load_labelled
from corpus.page_model import recall
from corpus.records import rejection
from corpus.text_model import (
    DEFAULT_L2,
    DEFAULT_METHOD,
    DEFAULT_THRESHOLD,
    Hashing,
    TextModel,
    train,
)


def labelled_texts(paths: Sequence[Path], *, clean: CleanStep | None = None) -> list[dict[str, Any]]:
    """The records of labelled JSONL files (``{text, label: keep|drop, lang?, source?}`` per line), each as
    ``{file, source, lang, label, text, clean_kept}``: ``text`` what ``clean`` (default ``CleanStep()``) left,
    ``clean_kept`` whether clean kept the document (the filter sees only those). ``lang`` defaults to
    clean's own decision (zh or other), ``source`` to the file name (its part before ``:``). A missing file
    raises ``FileNotFoundError``; a record without text or a keep/drop label ``ValueError`` naming its line."""
    step = clean or CleanStep()
    out: list[dict[str, Any]] = []
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"labelled file not found: {path}")
        records = load_labelled(path)
        docs = [{"id": str(r.get("id", i)), "text": r["text"], "source": "web", "meta": {}} for i, r in enumerate(records)]
        chinese = [is_chinese(d) for d in docs]
        cleaned = list(step(iter(docs), Counter()))  # one output per input, rejected ones included, in order
        for record, doc, zh in zip(records, cleaned, chinese, strict=True):
            out.append({"file": path.name, "lang": str(record.get("lang") or ("zh" if zh else "other")),
                        "source": str(record.get("source") or path.name).split(":")[0], "label": record["label"],
                        "text": doc["text"], "clean_kept": rejection(doc) is None})
    return out


def fit_records(records: Sequence[dict[str, Any]], **options: Any) -> TextModel:
    """A model trained on :func:`labelled_texts` records (options: those of :func:`corpus.text_model.train`)."""
    return train([r["text"] for r in records], [int(r["label"] == "keep") for r in records],
                 langs=[r["lang"] for r in records], **options)


def cross_validate(records: Sequence[dict[str, Any]], key: str, **options: Any) -> dict[str, Any]:
    """Leave-one-``key``-out (``file`` or ``source``) figures of the model alone: each part judged by a model
    trained on the others, keep- and drop-recall per language pooled over the held-out parts, on the
    documents clean kept (the ones the filter sees). Parts whose training rest lacks a class are skipped
    and named."""
    decided: list[tuple[str, str, bool]] = []
    skipped = []
    for part in sorted({r[key] for r in records}):
        rest = [r for r in records if r[key] != part]
        held = [r for r in records if r[key] == part and r["clean_kept"]]
        if len({r["label"] for r in rest}) < 2:
            skipped.append(part)
            continue
        model = fit_records(rest, **options)
        kept = model.keep_probabilities([r["text"] for r in held]) >= model.threshold
        decided += [(r["lang"], r["label"], bool(k)) for r, k in zip(held, kept, strict=True)]
    return {"parts": len({r[key] for r in records}) - len(skipped), "skipped": skipped,
            "per_lang": {lang: recall((label, kept) for lg, label, kept in decided if lg == lang)
                         for lang in sorted({lg for lg, _, _ in decided})}}


def train_from_files(paths: Sequence[Path], *, hashing: Hashing | None = None, method: str = DEFAULT_METHOD,
                     l2: float = DEFAULT_L2, threshold: float = DEFAULT_THRESHOLD, clean: CleanStep | None = None,
                     cross_validation: bool = True) -> TextModel:
    """Train on labelled JSONL ``paths`` (see :func:`labelled_texts`), every record as clean left it. The
    provenance records the files (names and record counts), the counts per language and label, the fit on
    its own training records and, with ``cross_validation``, leave-one-file-out and leave-one-source-out
    figures of the model alone (when there are two or more of each). It holds no text."""
    records = labelled_texts(paths, clean=clean)
    options = {"hashing": hashing or Hashing(), "method": method, "l2": l2, "threshold": threshold}
    model = fit_records(records, **options)
    counts = Counter((r["lang"], r["label"]) for r in records)
    seen = [r for r in records if r["clean_kept"]]
    kept = model.keep_probabilities([r["text"] for r in seen]) >= threshold
    provenance: dict[str, Any] = {
        "files": [{"name": Path(p).name, "records": sum(r["file"] == Path(p).name for r in records)} for p in paths],
        "records": {lang: {label: counts[(lang, label)] for label in ("keep", "drop")}
                    for lang in sorted({lang for lang, _ in counts})},
        "training_fit": {lang: recall((r["label"], bool(k)) for r, k in zip(seen, kept, strict=True) if r["lang"] == lang)
                         for lang in sorted({r["lang"] for r in seen})},
    }
    if cross_validation:
        for key in ("file", "source"):
            if len({r[key] for r in records}) >= 2:
                provenance[f"leave_one_{key}_out"] = cross_validate(records, key, **options)
    return dataclasses.replace(model, provenance=provenance)
