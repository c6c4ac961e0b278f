"""The ``merge`` pipeline step: packed outputs of several jobs into one ``OUTPUT/merged``, typed for KnowLM.

KnowLM's trainer draws a fixed number of samples of each dataset type per global batch; the types are
the groups of its ``preprocess.py --mode merge --merge_path_type``, and ``merged.dis`` holds the sample
count of each, in the order the types first occur. This step is that merge inside a YAML pipeline:
``- merge: {format: knowlm, types: [zh, en, code], input: ["@pack-zh", "@pack-en", "@pack-code"]}``.
It runs once over whole outputs, not per shard, so the pipeline calls ``run_once`` instead of the runner.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import orjson

from corpus import __version__
from corpus.pack.stage import FORMATS, MERGED, merge_outputs
from corpus.runner import StageReport
from corpus.shards import write_bytes_atomic

TYPE_COUNTER = "samples_type_"  # report counters: samples_type_zh, ... in the order of merged.dis


@dataclasses.dataclass(frozen=True, kw_only=True)
class MergeStep:
    """Merge packed outputs (a pack output directory means its ``merged`` prefix) into ``OUTPUT/merged``.

    ``types``: one dataset type per input (KnowLM's ``--merge_path_type``; ``knowlm`` format only).
    """

    name: ClassVar[str] = "merge"
    format: str = "megatron"
    types: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.types is not None and self.format != "knowlm":
            raise ValueError("types are KnowLM's --merge_path_type: use them with format: knowlm")

    @property
    def type_names(self) -> list[str] | None:
        """``types`` as the names ``merged.dis`` groups by (a YAML ``2023`` is ``"2023"``), or None."""
        return None if self.types is None else [str(t) for t in self.types]

    @staticmethod
    def prefixes(inputs: Sequence[Path]) -> list[Path]:
        """Input prefixes: a directory (a pack stage's output) stands for its ``merged`` prefix."""
        return [p / MERGED if p.is_dir() else p for p in inputs]

    def check_inputs(self, inputs: Sequence[Path]) -> None:
        """A setup error (ValueError) when the types do not pair up with the inputs."""
        if self.types is not None and len(self.types) != len(inputs):
            raise ValueError(f"merge: {len(self.types)} types {self.type_names} for {len(inputs)} inputs; "
                             "give one type per input")

    def run_once(self, inputs: Sequence[Path], output: Path) -> StageReport:
        """Merge ``inputs`` into ``output/merged``, write ``_manifest.json``, report samples per type."""
        started = time.perf_counter()
        self.check_inputs(inputs)
        prefixes = self.prefixes(inputs)
        output.mkdir(parents=True, exist_ok=True)
        types = self.type_names
        counts = merge_outputs(self.format, prefixes, output / MERGED, types=types)
        counters: Counter = Counter()
        names = list(dict.fromkeys(types)) if types is not None else []
        for kind, count in zip(names, counts, strict=True):
            counters[f"{TYPE_COUNTER}{kind}"] = count
        samples = sum(counts) if counts else _sample_count(self.format, output / MERGED)
        counters["merge_samples"] = samples
        report = StageReport(stage=self.name, output=output, shards=len(prefixes), docs_in=samples,
                             docs_out=samples, counters=counters, seconds=time.perf_counter() - started)
        manifest = {
            "stage": self.name,
            "config": {"format": self.format, "types": types or None},
            "inputs": [str(p) for p in prefixes],
            "knowforge_version": __version__,
            "totals": {"samples": samples, "samples_per_type": dict(zip(names, counts, strict=True)),
                       "dis": counts or None},
            "seconds": round(report.seconds, 3),
        }
        write_bytes_atomic(output / "_manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        return report


def _sample_count(fmt: str, stem: Path) -> int:
    """Samples in a merged output (for the report when no per-type counts came back)."""
    if fmt == "megatron":
        from corpus.pack.megatron import IndexedDatasetReader

        return len(IndexedDatasetReader(stem))
    if fmt == "knowlm":
        from corpus.pack.knowlm import read_index

        return int(read_index(f"{stem}.idx")[1].size)
    import pyarrow.parquet as pq

    return pq.ParquetFile(f"{stem}.parquet").metadata.num_rows


def samples_per_type(report: StageReport) -> str | None:
    """``zh 5,512, en 1,498, code 901`` (the order of ``merged.dis``) for a typed merge's report, else None."""
    parts = [f"{key.removeprefix(TYPE_COUNTER)} {value:,}" for key, value in report.counters.items()
             if key.startswith(TYPE_COUNTER)]
    return ", ".join(parts) if parts else None
