"""Instruction-set mixing: combine sets by target counts or weights, seeded, with a provenance trail.

A mix config names each source set with a ``count`` (records wanted) or a ``weight``; with ``total``
the counts/weights are apportioned to ``total`` records (largest remainder, so they sum exactly).
A source smaller than its target is repeated whole and topped up by sampling (recorded as ``repeats``).
The KnowLM mix (README §3.3) is ``configs/sft_mix_knowlm.yaml``. Temperature sampling is left out.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from corpus.shards import write_bytes_atomic
from instruct.sft import io


@dataclass(frozen=True, kw_only=True)
class MixSource:
    """One input set: a file of Alpaca/ShareGPT/OpenAI records and how many of them to take."""

    name: str
    path: Path
    count: int | None = None
    weight: float | None = None

    def __post_init__(self) -> None:
        if (self.count is None) == (self.weight is None):
            raise ValueError(f"mix source {self.name!r}: give exactly one of count or weight")
        if (self.count is not None and self.count < 0) or (self.weight is not None and self.weight < 0):
            raise ValueError(f"mix source {self.name!r}: count/weight must be >= 0")


@dataclass(frozen=True, kw_only=True)
class MixConfig:
    """Sources, the seed, and ``total`` (None: take every ``count`` as written; weights then need a total)."""

    sources: tuple[MixSource, ...]
    seed: int = 42
    total: int | None = None
    allow_upsample: bool = True
    output_format: str | None = None  # None: keep the sources' format (they must agree)

    def __post_init__(self) -> None:
        names = [s.name for s in self.sources]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"mix needs sources with distinct names, got {names}")
        if self.total is None and any(s.count is None for s in self.sources):
            raise ValueError("weights need a total; set `total` or give counts")
        if self.output_format is not None and self.output_format not in io.FORMATS:
            raise ValueError(f"output_format must be one of {io.FORMATS}")


def load_mix_config(path: Path, *, base_dir: Path | None = None) -> MixConfig:
    """Read a YAML mix config; relative source paths are resolved against ``base_dir`` (default: cwd)."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    known = {"sources", "seed", "total", "allow_upsample", "output_format"}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}; allowed: {sorted(known)}")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    sources = []
    for item in raw["sources"]:
        bad = set(item) - {"name", "path", "count", "weight"}
        if bad:
            raise ValueError(f"{path}: source {item.get('name')!r} has unknown keys {sorted(bad)}")
        p = Path(item["path"])
        sources.append(MixSource(name=item["name"], path=p if p.is_absolute() else base / p,
                                 count=item.get("count"), weight=item.get("weight")))
    return MixConfig(sources=tuple(sources), seed=raw.get("seed", 42), total=raw.get("total"),
                     allow_upsample=raw.get("allow_upsample", True), output_format=raw.get("output_format"))


def apportion(shares: Sequence[float], total: int) -> list[int]:
    """Integers proportional to ``shares`` that sum to ``total`` (Hamilton's largest-remainder method).

    Each result is within one of its exact quota ``total * share / sum(shares)``.
    """
    whole = float(sum(shares))
    if whole <= 0:
        raise ValueError("shares must not all be zero")
    quotas = [total * s / whole for s in shares]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(shares)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def targets(config: MixConfig) -> list[int]:
    """Records to take from each source, in config order."""
    if config.total is None:
        return [int(s.count) for s in config.sources]
    shares = [s.count if s.count is not None else s.weight for s in config.sources]
    return apportion([float(x) for x in shares], config.total)


def _sample(n_available: int, target: int, rng: random.Random) -> tuple[list[int], int]:
    """Indices to take (whole repeats, then a sample without replacement) and the number of repeats."""
    if n_available == 0:
        return [], 0
    repeats, rest = divmod(target, n_available)
    picked = [i for _ in range(repeats) for i in range(n_available)]
    picked += sorted(rng.sample(range(n_available), rest))
    return picked, repeats


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mix(config: MixConfig, output: Path, *, dataset_name: str | None = None) -> dict[str, Any]:
    """Write the mixed, shuffled set to ``output`` (``.json`` array or JSONL) and return its manifest.

    Beside it: ``<output>.provenance.jsonl`` (line i: source name and index of output record i) and
    ``<output>.manifest.json``. With ``dataset_name``, a LLaMA-Factory ``dataset_info.json`` entry is
    added in the output's directory. Each source draws from its own RNG stream (seed, name), so
    adding a source does not change what the others contribute.
    """
    want = targets(config)
    pool: list[tuple[str, int, dict[str, Any]]] = []
    report = []
    formats = set()
    for source, target in zip(config.sources, want, strict=True):
        rows = io.read_records(source.path)
        if target > len(rows) and not config.allow_upsample:
            raise ValueError(f"source {source.name!r} has {len(rows)} records, {target} wanted (upsampling is off)")
        if target and not rows:
            raise ValueError(f"source {source.name!r} ({source.path}) is empty but {target} records are wanted")
        rng = random.Random(f"{config.seed}:{source.name}")
        picked, repeats = _sample(len(rows), target, rng)
        formats.update(io.record_format(rows[i]) for i in set(picked))
        pool += [(source.name, i, rows[i]) for i in picked]
        report.append({"name": source.name, "path": str(source.path), "sha1": _sha1(source.path),
                       "available": len(rows), "target": target, "taken": len(picked), "repeats": repeats})
    fmt = config.output_format
    if fmt is None:
        if len(formats) > 1:
            raise ValueError(f"sources mix formats {sorted(formats)}; set output_format to one of {io.FORMATS}")
        fmt = formats.pop() if formats else "alpaca"
    random.Random(f"{config.seed}:shuffle").shuffle(pool)
    output = Path(output)
    out_rows = [row if io.record_format(row) == fmt else io.convert_record(row, fmt) for _, _, row in pool]
    io.write_records(output, out_rows)
    io.write_records(output.with_name(output.name + ".provenance.jsonl"),
                  ({"source": name, "index": i} for name, i, _ in pool))
    total = len(pool)
    for item in report:
        item["share"] = round(item["taken"] / total, 6) if total else 0.0
    manifest = {"output": output.name, "format": fmt, "seed": config.seed, "total": total, "sources": report}
    write_bytes_atomic(output.with_name(output.name + ".manifest.json"),
                       orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    if dataset_name:
        io.register_dataset(output.parent, dataset_name, output.name, out_rows, fmt)
    return manifest
