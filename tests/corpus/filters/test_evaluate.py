"""The labelled-set reader of benchmarks/filter_quality.py: JSON Lines split at newlines only."""

from __future__ import annotations

import json

import pytest

from corpus.filters.evaluate import load_labelled


def test_texts_with_unicode_line_separators_load_whole(tmp_path) -> None:
    # JSON may carry U+0085 (NEL) and U+2028 unescaped; str.splitlines() would split the record there.
    texts = ["前文\u0085后文", "one\u2028two", "plain"]
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "text": t, "lang": "zh", "source": "x", "label": "keep"},
                                       ensure_ascii=False) + "\n" for i, t in enumerate(texts)), encoding="utf-8")
    assert [r["text"] for r in load_labelled(path)] == texts


def test_a_record_without_a_label_names_its_line(tmp_path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "text": "t", "label": "keep"}\n{"id": "b", "text": "t"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"set\.jsonl:2"):
        load_labelled(path)
