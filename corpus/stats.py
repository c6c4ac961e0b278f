"""The ``stats`` stage: counts documents, characters and UTF-8 bytes per source; changes nothing."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from typing import ClassVar


@dataclasses.dataclass(frozen=True, kw_only=True)
class StatsStep:
    """Pass documents through unchanged, counting ``docs:SOURCE``, ``chars:SOURCE``, ``bytes:SOURCE``."""

    name: ClassVar[str] = "stats"

    def __call__(self, docs: Iterator[dict], counters: Counter) -> Iterator[dict]:
        for doc in docs:
            source = doc.get("source") or "unknown"
            text = doc["text"]
            counters[f"docs:{source}"] += 1
            counters[f"chars:{source}"] += len(text)
            counters[f"bytes:{source}"] += len(text.encode("utf-8"))
            yield doc
