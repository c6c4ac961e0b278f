"""The ``clean`` stage: Unicode and whitespace normalisation that every source needs.

NFKC folds compatibility forms (full-width Latin letters and digits, ligatures); control
characters other than newline and tab are removed; line endings become ``\\n``; trailing spaces
and runs of blank lines are collapsed. Code (``meta.lang == "code"`` or source ``code``) keeps its
indentation and line structure: only line endings, control characters and trailing blank lines change.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from typing import ClassVar

from corpus.records import reject

CLEAN_EMPTY = "clean_empty"

# C0/C1 controls except \t and \n, plus zero-width and bidi marks that only hide text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060\ufeff]")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")


@lru_cache(maxsize=4)
def _opencc(config: str):
    import opencc

    return opencc.OpenCC(config)


def is_code(doc: dict) -> bool:
    """True for source code documents, whose layout must never be reflowed."""
    meta = doc.get("meta") or {}
    return meta.get("lang") == "code" or doc.get("source") in {"code", "stack"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleanStep:
    """Normalise text; rejects documents that end up empty (reason ``clean_empty``)."""

    name: ClassVar[str] = "clean"
    nfkc: bool = True
    opencc: str | None = None  # e.g. "t2s": Traditional to Simplified Chinese for every document

    def clean_text(self, text: str, *, code: bool = False) -> str:
        """The cleaned form of ``text``."""
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CONTROL.sub("", text)
        if code:
            return text.strip("\n")
        if self.nfkc:
            text = unicodedata.normalize("NFKC", text)
        if self.opencc:
            text = _opencc(self.opencc).convert(text)
        text = _TRAILING_SPACE.sub("", text)
        text = _BLANK_RUNS.sub("\n\n", text)
        return text.strip()

    def __call__(self, docs: Iterator[dict], counters: Counter) -> Iterator[dict]:
        for doc in docs:
            before = doc["text"]
            doc["text"] = self.clean_text(before, code=is_code(doc))
            if doc["text"] != before:
                counters["clean_changed"] += 1
            if not doc["text"].strip():
                yield reject(doc, stage=self.name, reason=CLEAN_EMPTY, value=len(before))
                continue
            yield doc
