"""Precision and recall per filter family on the labelled set (tests/fixtures/filters/labelled.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from corpus.filters.stage import FilterStep
from corpus.records import rejection

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "filters" / "labelled.jsonl"
# Filter name in meta.reject -> the family the labels use.
FAMILY = {"langid": "langid", "harmful": "harmful", "quality_zh": "quality_zh", "gopher_quality": "gopher",
          "gopher_repetition": "gopher", "c4": "c4", "code": "code"}


def test_labelled_set_precision_and_recall() -> None:
    records = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    assert len(records) >= 200
    docs = [{k: r[k] for k in ("id", "text", "source")} | {"meta": dict(r["meta"])} for r in records]
    out = list(FilterStep(config="configs/filters/mixed.yaml")(iter(docs), Counter()))
    assert [d["id"] for d in out] == [r["id"] for r in records]  # every document comes back

    pairs = Counter()
    for record, doc in zip(records, out, strict=True):
        reject = rejection(doc)
        pairs[(record["label"], FAMILY[reject["filter"]] if reject else "keep")] += 1
    families = sorted({label for label, _ in pairs})
    print(f"\n{'family':<12}{'n':>5}{'precision':>11}{'recall':>8}")
    worst = 1.0
    for family in families:
        tp = pairs[(family, family)]
        predicted = sum(n for (_, got), n in pairs.items() if got == family)
        actual = sum(n for (label, _), n in pairs.items() if label == family)
        precision, recall = tp / predicted if predicted else 0.0, tp / actual
        print(f"{family:<12}{actual:>5}{precision:>11.3f}{recall:>8.3f}")
        worst = min(worst, precision, recall)
    assert set(families) == {"keep", "langid", "harmful", "quality_zh", "gopher", "c4", "code"}
    assert worst >= 0.9
