"""Chain stages: from the CLI's chained ``corpus`` group or from a YAML pipeline file.

A pipeline file is a thin, checked layer over Python::

    work_dir: out/pretrain_zh      # each step writes WORK_DIR/NN-STEP unless it names an output
    workers: 2                     # optional; default: CPU count
    steps:
      - read: {source: wiki, input: [dumps/zhwiki.xml.bz2], lang: zh}
      - clean: {}
      - dedup-exact: {}

Every step is looked up in ``corpus.steps``; its options are checked against the step's
constructor, so an unknown step or key fails before anything runs, with one line naming it.
``input``/``output`` are per-step paths; relative paths resolve against the current directory.
A step without ``input`` reads the previous step's output; consecutive ``read`` steps pool their
outputs, so ``read wiki, read wudao, clean`` cleans both sources; ``input: ["@dedup"]`` reads the
output of the earlier step labelled ``dedup`` (a branch, e.g. scoring beside packing).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from corpus.runner import StageReport, run_stage, stage_label
from corpus.steps import ConfigError, build_reader, build_step

TOP_LEVEL_KEYS = {"work_dir", "workers", "steps", "description"}
STEP_IO_KEYS = {"input", "output"}

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "ConfigError", "PipelineConfig", "StageCall", "load_config", "run_config", "run_pipeline"]


@dataclasses.dataclass(frozen=True)
class StageCall:
    """One stage to run, with explicit inputs/output or none (then the chain decides)."""

    stage: Any
    inputs: list[Path] = dataclasses.field(default_factory=list)
    output: Path | None = None


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A loaded, validated pipeline: the stages to run in order and where they write."""

    work_dir: Path
    workers: int | None
    calls: list[StageCall]


def _paths(value: Any, where: str) -> list[Path]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{where}: input must be a path or a list of paths")
    return [Path(v) for v in items]


def _build_call(index: int, entry: Any) -> StageCall:
    where = f"step {index + 1}"
    if not isinstance(entry, dict) or len(entry) != 1:
        raise ConfigError(f"{where}: each step is a mapping with one key, the step name, e.g. `- clean: {{}}`")
    ((name, options),) = entry.items()
    if not isinstance(options, dict | None):
        raise ConfigError(f"{where} ({name}): options must be a mapping, e.g. `- {name}: {{}}`")
    options = dict(options or {})
    inputs = _paths(options.pop("input", None), f"{where} ({name})")
    output = options.pop("output", None)
    if name == "read":
        source = options.pop("source", None)
        if source is None:
            raise ConfigError(f"{where} (read): needs `source:` (e.g. jsonl, wiki, wudao)")
        stage = build_reader(source, options)
        if not inputs:
            raise ConfigError(f"{where} (read): needs `input:` (the raw files or directories)")
    else:
        stage = build_step(name, options)
    return StageCall(stage=stage, inputs=inputs, output=Path(output) if output else None)


def parse_config(data: Any, origin: str = "config") -> PipelineConfig:
    """Validate a pipeline mapping (as loaded from YAML) and build its stages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping with `work_dir` and `steps`")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{origin}: unknown key {unknown[0]!r}; known: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ConfigError(f"{origin}: `steps` must be a non-empty list")
    workers = data.get("workers")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"{origin}: `workers` must be a positive integer")
    calls = []
    for i, entry in enumerate(steps):
        try:
            calls.append(_build_call(i, entry))
        except ConfigError as err:
            raise ConfigError(f"{origin}: {err}") from None
    return PipelineConfig(work_dir=Path(data.get("work_dir", "knowforge-work")), workers=workers, calls=calls)


def load_config(path: Path) -> PipelineConfig:
    """Load and validate a YAML pipeline file (safe load)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_config(data, origin=str(path))


def stage_runner(engine: str, *, workers: int, ray_address: str | None = None) -> Callable[..., StageReport]:
    """``run(stage, inputs=, output=, force=, progress=)`` for ``engine``; Ray is imported only for "ray".

    ``local`` is ``corpus.runner.run_stage`` over ``workers`` processes; ``ray`` is
    ``corpus.engines.ray.run_stage_ray`` on the cluster at ``ray_address`` (None: a local Ray), where
    the cluster's CPUs, not ``workers``, decide the parallelism. Both write the same files.
    """
    if engine == "local":
        return partial(run_stage, workers=workers)
    if engine == "ray":
        try:
            from corpus.engines.ray import RayOptions, run_stage_ray
        except ImportError as err:
            raise ConfigError(f"engine 'ray' needs the [ray] extra: pip install 'knowforge[ray]' ({err})") from None
        return partial(run_stage_ray, options=RayOptions(address=ray_address))
    raise ConfigError(f"unknown engine {engine!r}; known: {', '.join(ENGINES)}")


def _resolve_reference(path: Path, outputs: dict[str, Path]) -> Path:
    """``@dedup`` names the output of the latest earlier step labelled ``dedup``; other paths stay."""
    text = str(path)
    if not text.startswith("@"):
        return path
    if text[1:] not in outputs:
        known = ", ".join(f"@{name}" for name in outputs) or "none yet"
        raise ConfigError(f"input {text} names no earlier step; known: {known}")
    return outputs[text[1:]]


def run_pipeline(
    calls: Sequence[StageCall | None],
    *,
    work_dir: Path,
    workers: int,
    force: bool = False,
    progress: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
) -> list[StageReport]:
    """Run stages in order on ``engine``; a stage without inputs reads the previous stage's output."""
    run = stage_runner(engine, workers=workers, ray_address=ray_address)
    reports: list[StageReport] = []
    previous: list[Path] = []
    previous_was_reader = False
    outputs: dict[str, Path] = {}
    position = 0
    for call in calls:
        if call is None:  # standalone commands in a chain (report, inspect) did their work already
            continue
        position += 1
        is_reader = hasattr(call.stage, "discover")
        inputs = [_resolve_reference(p, outputs) for p in call.inputs] or previous
        if not inputs:
            raise ConfigError(f"stage {call.stage.name} has no input: give -i/--input or put a stage before it")
        output = call.output or work_dir / f"{position:02d}-{stage_label(call.stage)}"
        reports.append(run(call.stage, inputs=inputs, output=output, force=force, progress=progress))
        outputs[stage_label(call.stage)] = output
        # Consecutive readers pool their outputs: `read A, read B, clean` cleans both.
        previous = [*previous, output] if is_reader and previous_was_reader else [output]
        previous_was_reader = is_reader
    return reports


def run_config(
    config: PipelineConfig,
    *,
    work_dir: Path | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
) -> list[StageReport]:
    """Run a loaded pipeline; arguments override the file's ``work_dir`` and ``workers``."""
    return run_pipeline(
        config.calls,
        work_dir=work_dir or config.work_dir,
        workers=workers or config.workers or os.cpu_count() or 1,
        force=force,
        progress=progress,
        engine=engine,
        ray_address=ray_address,
    )


def _format_reasons(reasons: dict[str, int], limit: int = 4) -> str:
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{name} {count}" for name, count in top[:limit])
    if len(top) > limit:
        text += f", +{len(top) - limit} more"
    return text or "-"


def summary_table(reports: Sequence[StageReport]) -> str:
    """A plain-text table of what each stage did: shards (done before / redone), documents in/out/rejected,
    top reasons, time, and where the output went."""
    header = ("stage", "shards", "in", "out", "rejected", "time", "rejected by reason", "output")

    def shards(r: StageReport) -> str:
        notes = [f"{n} {what}" for n, what in ((r.shards_skipped, "done"), (r.shards_redone, "redone")) if n]
        return f"{r.shards}" + (f" ({', '.join(notes)})" if notes else "")

    rows = [
        (
            r.stage,
            shards(r),
            f"{r.docs_in:,}",
            f"{r.docs_out:,}",
            f"{r.rejected:,}",
            f"{r.seconds:.1f}s",
            _format_reasons(r.reasons),
            str(r.output),
        )
        for r in reports
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
