"""The one explicit table of corpus steps and readers, and the checked builders behind YAML and CLI.

A pipeline names steps by the keys below; ``build_step`` checks every option against the step's
constructor (a keyword-only dataclass), so an unknown or misspelt key fails with one clear line.
Adding a step is one line here, its own module, and its test file.
"""

from __future__ import annotations

from typing import Any

from corpus.builder import ConfigError, build
from corpus.clean import CleanStep
from corpus.dedup.exact import ExactDedupStep
from corpus.dedup.lines import LineDedupStep
from corpus.dedup.near import NearDedupStep
from corpus.filters.pii import PiiStep
from corpus.filters.stage import FilterStep
from corpus.pack.merge import MergeStep
from corpus.pack.stage import PackStep
from corpus.readers.baike import BaikeReader
from corpus.readers.code import CodeReader, StackReader
from corpus.readers.delimited import CsvReader
from corpus.readers.jsonl import JsonlReader, ParquetReader
from corpus.readers.leetcode import LeetcodeReader
from corpus.readers.wiki import WikiReader
from corpus.readers.wudao import WudaoReader
from corpus.score.stage import ScoreStep
from corpus.stats import StatsStep

# ConfigError is the builder's; callers (cli.py, corpus/pipeline.py, tests) import it from here.
__all__ = ["READERS", "STEPS", "ConfigError", "build_reader", "build_step"]

# --- readers: `read --source NAME` ---
READERS: dict[str, type] = {
    "jsonl": JsonlReader,
    "parquet": ParquetReader,
    "csv": CsvReader,
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


def build_step(name: str, options: dict[str, Any] | None = None) -> Any:
    """Construct the document stage ``name`` from checked keyword options."""
    return build("step", STEPS, name, dict(options or {}))


def build_reader(source: str, options: dict[str, Any] | None = None) -> Any:
    """Construct the reader for ``--source`` ``source`` from checked keyword options."""
    return build("reader", READERS, source, dict(options or {}))
