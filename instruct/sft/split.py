"""Train/dev/test split of an instruction file, seeded and stratified by source.

Each stratum (a record field such as ``source``, or the set a record came from in a mix's
``.provenance.jsonl``) is shuffled with its own seeded RNG and cut by the ratios (largest remainder),
so every source keeps its share in every split and adding a source leaves the others' splits unchanged.
Grouped splits (keeping near-duplicates on one side) are left out: run ``select`` first.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic
from instruct.sft.io import read_records, write_records
from instruct.sft.mix import apportion

SPLITS = ("train", "dev", "test")
MISSING = "_none"  # stratum of records without the field


def field_value(row: dict[str, Any], path: str) -> str:
    """The value at a dotted ``path`` (``meta.source``) as a string, or ``MISSING``."""
    value: Any = row
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return str(value)


def split_indices(strata: Sequence[str], ratios: Sequence[float], seed: int) -> dict[str, list[int]]:
    """Indices per split: each stratum shuffled with RNG (seed, stratum) and apportioned by ``ratios``."""
    if len(ratios) != len(SPLITS) or any(r < 0 for r in ratios) or sum(ratios) <= 0:
        raise ValueError(f"ratios must be three non-negative numbers (train, dev, test), got {list(ratios)}")
    groups: dict[str, list[int]] = defaultdict(list)
    for n, key in enumerate(strata):
        groups[key].append(n)
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for key in sorted(groups):
        members = groups[key]
        random.Random(f"{seed}:{key}").shuffle(members)
        start = 0
        for name, size in zip(SPLITS, apportion(ratios, len(members)), strict=True):
            out[name] += members[start : start + size]
            start += size
    return {name: sorted(idx) for name, idx in out.items()}  # input order inside each split


def split_file(
    input_path: Path,
    output_dir: Path,
    *,
    ratios: Sequence[float] = (0.98, 0.01, 0.01),
    seed: int = 42,
    by: str = "source",
    provenance: Path | None = None,
) -> dict[str, Any]:
    """Write ``train``/``dev``/``test`` files (same suffix as the input) and ``_split.json``; return the latter.

    Strata come from ``provenance`` (a mix's ``.provenance.jsonl``, line i = record i) when given,
    else from the record field ``by``.
    """
    rows = read_records(input_path)
    if provenance is not None:
        prov = read_records(provenance)
        if len(prov) != len(rows):
            raise ValueError(f"{provenance} has {len(prov)} lines for {len(rows)} records")
        strata = [str(p["source"]) for p in prov]
    else:
        strata = [field_value(row, by) for row in rows]
    parts = split_indices(strata, ratios, seed)
    suffix = "".join(Path(input_path).suffixes) or ".jsonl"
    output_dir = Path(output_dir)
    counts: dict[str, dict[str, int]] = {}
    for name, idx in parts.items():
        write_records(output_dir / f"{name}{suffix}", (rows[i] for i in idx))
        for i in idx:
            counts.setdefault(strata[i], dict.fromkeys(SPLITS, 0))[name] += 1
    report = {"input": str(input_path), "seed": seed, "ratios": list(ratios),
              "stratified_by": f"provenance:{provenance}" if provenance else by,
              "records": len(rows), "splits": {name: len(idx) for name, idx in parts.items()},
              "strata": dict(sorted(counts.items()))}
    write_bytes_atomic(output_dir / "_split.json", orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    return report
