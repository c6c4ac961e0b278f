"""clean and the default filter chains give exactly the stored outputs on our own documents.

tests/fixtures/filters/golden/ was written by make_golden.py before the speed work of issue 20: any
change to a kept/dropped decision, a reason, a ``meta.scores`` value or a cleaned text fails here.
"""

from __future__ import annotations

from pathlib import Path

from corpus.filters.evaluate import output_differences, read_outputs, sample_documents, stage_outputs

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "fixtures" / "filters" / "golden" / "outputs.jsonl.xz"


def test_outputs_match_the_golden_files():
    expected = read_outputs(GOLDEN)
    got = stage_outputs(sample_documents(ROOT))
    assert sum(map(len, expected.values())) > 5000  # 335 documents in 18 variants
    assert output_differences(expected, got) == []


def test_a_changed_score_is_reported():
    expected = read_outputs(GOLDEN)
    changed = {k: [dict(d, meta=dict(d["meta"])) for d in v] for k, v in expected.items()}
    doc = changed["en/clean/annotate"][0]
    doc["meta"]["scores"] = {**doc["meta"]["scores"], "c4": {**doc["meta"]["scores"]["c4"], "sentences": -1}}
    (diff,) = output_differences(expected, changed)
    assert "scores.c4.sentences" in diff and "->-1" in diff
