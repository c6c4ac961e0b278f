"""The one explicit table of corpus steps and readers, and the checked builders behind YAML and CLI.

A pipeline names steps by the keys below; ``build_step`` checks every option against the step's
constructor (a keyword-only dataclass), so an unknown or misspelt key fails with one clear line.
Adding a step is one line here, its own module, and its test file.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from corpus.clean import CleanStep
from corpus.dedup.exact import ExactDedupStep
from corpus.dedup.lines import LineDedupStep
from corpus.dedup.near import NearDedupStep
from corpus.filters.base import FilterStep
from corpus.filters.pii import PiiStep
from corpus.pack.merge import MergeStep
from corpus.pack.stage import PackStep
from corpus.readers.baike import BaikeReader
from corpus.readers.code import CodeReader, StackReader
from corpus.readers.jsonl import JsonlReader, ParquetReader
from corpus.readers.leetcode import LeetcodeReader
from corpus.readers.wiki import WikiReader
from corpus.readers.wudao import WudaoReader
from corpus.score.stage import ScoreStep
from corpus.stats import StatsStep

# --- readers: `read --source NAME` ---
READERS: dict[str, type] = {
    "jsonl": JsonlReader,
    "parquet": ParquetReader,
    # --- readers (sources) ---
    "wiki": WikiReader,
    "wudao": WudaoReader,
    "baike": BaikeReader,
    "code": CodeReader,
    "stack": StackReader,
    "leetcode": LeetcodeReader,
}

# --- document stages ---
STEPS: dict[str, type] = {
    "clean": CleanStep,
    "dedup-exact": ExactDedupStep,
    "stats": StatsStep,
    # --- steps (filters) ---
    "filter": FilterStep,
    "pii": PiiStep,
    # --- steps (dedup) ---
    "dedup": NearDedupStep,
    "dedup-lines": LineDedupStep,
    # --- steps (pack) ---
    # --- steps (scoring) ---
    "score": ScoreStep,
    "pack": PackStep,
    "merge": MergeStep,  # runs once over whole pack outputs (KnowLM's typed merge)
}


class ConfigError(ValueError):
    """A pipeline or step configuration the user must fix; the message is one line saying what."""


def _build(kind: str, table: dict[str, type], name: str, options: dict[str, Any]) -> Any:
    if name not in table:
        raise ConfigError(f"unknown {kind} {name!r}; known: {', '.join(sorted(table))}")
    cls = table[name]
    known = {f.name for f in dataclasses.fields(cls) if f.init and not f.metadata.get("internal")}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(
            f"{kind} {name!r} has no option {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(sorted(known)) or '(no options)'}"
        )
    try:
        return cls(**options)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{kind} {name!r}: {err}") from None


def build_step(name: str, options: dict[str, Any] | None = None) -> Any:
    """Construct the document stage ``name`` from checked keyword options."""
    return _build("step", STEPS, name, dict(options or {}))


def build_reader(source: str, options: dict[str, Any] | None = None) -> Any:
    """Construct the reader for ``--source`` ``source`` from checked keyword options."""
    return _build("reader", READERS, source, dict(options or {}))
