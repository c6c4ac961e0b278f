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
output of the earlier step labelled ``dedup`` (a branch, e.g. scoring beside packing); ``label: pack-zh``
names a step (and its work directory) when one recipe runs the same stage twice (configs/knowlm.yaml).
``knowforge run --dry-run`` prints the resolved plan (``plan_text``) without running anything.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from corpus.contract import Reader, RunsOnce, check_inputs
from corpus.fused import fusable, run_fused
from corpus.options import check_option_types
from corpus.runner import StageReport, no_shards_hint, plan_units, run_stage, stage_label
from corpus.stage_options import yaml_choices
from corpus.steps import READERS, STEPS, ConfigError, build_reader, build_step
from corpus.summary import rejection_warnings, summary_table

TOP_LEVEL_KEYS = {"work_dir", "workers", "steps", "description", "fuse"}
STEP_IO_KEYS = {"input", "output", "label"}

ENGINES = ("local", "ray")

__all__ = ["ENGINES", "ConfigError", "PipelineConfig", "PlannedStage", "StageCall", "check_calls", "fuse_groups",
           "load_config", "plan_pipeline", "plan_text", "run_config", "run_pipeline", "summary_table"]


@dataclasses.dataclass(frozen=True)
class StageCall:
    """One stage to run, with explicit inputs/output or none (then the chain decides)."""

    stage: Any
    inputs: list[Path] = dataclasses.field(default_factory=list)
    output: Path | None = None
    label: str | None = None  # how ``@label`` references and the work directory name it


@dataclasses.dataclass(frozen=True)
class PipelineConfig:
    """A loaded, validated pipeline: the stages to run in order and where they write."""

    work_dir: Path
    workers: int | None
    calls: list[StageCall]
    fuse: bool = True  # YAML `fuse: false`: every stage writes its kept documents (as --no-fuse)


def _paths(value: Any, where: str) -> list[Path]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in items):
        raise ConfigError(f"{where}: input must be a path or a list of paths")
    return [Path(v) for v in items]


def _check_types(kind: str, name: str, cls: type, options: dict[str, Any]) -> None:
    """A YAML step's values against its fields' types and the choices its command offers (one declaration)."""
    check_option_types(kind, name, cls, options, yaml_choices(kind, name, cls))


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
    label = options.pop("label", None)
    if label is not None and (not isinstance(label, str) or not label or "/" in label):
        raise ConfigError(f"{where} ({name}): label must be a short name such as pack-zh")
    if name == "read":
        source = options.pop("source", None)
        if source is None:
            raise ConfigError(f"{where} (read): needs `source:` (e.g. jsonl, wiki, wudao)")
        if source in READERS:
            _check_types("reader", source, READERS[source], options)
        stage = build_reader(source, options)
        if not inputs:
            raise ConfigError(f"{where} (read): needs `input:` (the raw files or directories)")
    else:
        if name in STEPS:
            _check_types("step", name, STEPS[name], options)
        stage = build_step(name, options)
    return StageCall(stage=stage, inputs=inputs, output=Path(output) if output else None, label=label)


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
    fuse = data.get("fuse", True)
    if not isinstance(fuse, bool):
        raise ConfigError(f"{origin}: `fuse` must be true or false")
    calls = []
    for i, entry in enumerate(steps):
        try:
            calls.append(_build_call(i, entry))
        except ConfigError as err:
            raise ConfigError(f"{origin}: {err}") from None
    return PipelineConfig(work_dir=Path(data.get("work_dir", "knowforge-work")), workers=workers, calls=calls,
                          fuse=fuse)


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


def fused_runner(engine: str, *, workers: int, ray_address: str | None = None) -> Callable[..., list[StageReport]]:
    """``run(stages, inputs=, outputs=, force=, progress=)`` for ``engine``: ``corpus.fused.run_fused`` or,
    on Ray, ``corpus.engines.ray.run_fused_ray`` (one task per shard's pass); both write the same files."""
    if engine == "ray":
        stage_runner(engine, workers=workers, ray_address=ray_address)  # the same check that Ray is installed
        from corpus.engines.ray import RayOptions, run_fused_ray

        return partial(run_fused_ray, options=RayOptions(address=ray_address))
    stage_runner(engine, workers=workers)  # an unknown engine fails here as for one stage
    return partial(run_fused, workers=workers)


def _first_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_output(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file; give a directory (it is created if missing)")
    ancestor = _first_existing(path)
    if not ancestor.is_dir():
        raise ConfigError(f"{what} {path}: {ancestor} is a file, so the directory cannot be created")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: {ancestor} is not writable (permission denied)")


def _check_stage_files(stage: Any) -> None:
    """The tokenizer a stage names must load before any stage runs (filter configs and score models are
    checked by their stages' constructors already)."""
    label = stage_label(stage)
    tokenizer = getattr(stage, "tokenizer", None)
    if tokenizer is None:
        return
    from corpus.tokenizers.load import load_tokenizer

    try:
        loaded = load_tokenizer(tokenizer)
    except (OSError, ValueError, RuntimeError) as err:
        raise ConfigError(f"stage {label}: cannot load tokenizer {tokenizer}: {err}") from None
    default = next((f.default for f in dataclasses.fields(stage) if f.name == "tokenizer"), None)
    if str(tokenizer) == str(default):
        # Said out loud: a 4,000-piece demo model is fine for the demo, wrong for a real corpus.
        print(f"{label}: no tokenizer given, using the demo model {tokenizer} ({loaded.vocab_size:,} pieces); "
              "give --tokenizer (YAML: tokenizer:) for a real corpus", file=sys.stderr)


def check_calls(calls: Sequence[StageCall | None], *, work_dir: Path) -> None:
    """Check everything that can be checked before any stage runs, so a mistake costs no work.

    Explicit inputs exist and hold shards (or raw files a reader finds), outputs and the work
    directory are directories (or can be made) and writable, and named files load. Inputs that are
    an earlier stage's output do not exist yet and are checked when that stage has run.
    """
    stages = [c for c in calls if c is not None]
    if any(c.output is None for c in stages):
        _check_output(work_dir, "work directory")
    for call in stages:
        label = stage_label(call.stage)
        explicit = [p for p in call.inputs if not str(p).startswith("@")]
        missing = [p for p in explicit if not p.exists()]
        if missing:
            raise ConfigError(f"stage {label}: input {missing[0]} does not exist")
        if explicit and not plan_units(call.stage, explicit):
            hint = ("raw files of that format" if isinstance(call.stage, Reader)
                    else "shards: *.jsonl, *.jsonl.gz, *.jsonl.zst or *.parquet")
            raise ConfigError(f"stage {label}: no input found in {', '.join(map(str, explicit))} (expected {hint})"
                              + "".join(no_shards_hint(p) for p in explicit))
        if call.output is not None:
            _check_output(call.output, f"stage {label}: output")
        _check_stage_files(call.stage)


def _resolve_reference(path: Path, outputs: dict[str, Path]) -> Path:
    """``@dedup`` names the output of the latest earlier step labelled ``dedup``; other paths stay."""
    text = str(path)
    if not text.startswith("@"):
        return path
    if text[1:] not in outputs:
        known = ", ".join(f"@{name}" for name in outputs) or "none yet"
        raise ConfigError(f"input {text} names no earlier step; known: {known}")
    return outputs[text[1:]]


@dataclasses.dataclass(frozen=True)
class PlannedStage:
    """A stage with its inputs and output resolved: what ``run_pipeline`` runs and ``--dry-run`` prints."""

    stage: Any
    label: str
    inputs: list[Path]
    output: Path
    output_given: bool = False  # named by the user (-o, `output:`), so its kept documents are written


def plan_pipeline(calls: Sequence[StageCall | None], *, work_dir: Path) -> list[PlannedStage]:
    """Resolve every stage's inputs and output without touching the disk.

    A stage without inputs reads the previous stage's output; consecutive readers pool their outputs
    (``read A, read B, clean`` cleans both); ``@label`` names an earlier step's output.
    """
    planned: list[PlannedStage] = []
    previous: list[Path] = []
    previous_was_reader = False
    outputs: dict[str, Path] = {}
    position = 0
    for call in calls:
        if call is None:  # standalone commands in a chain (report, inspect) did their work already
            continue
        position += 1
        is_reader = isinstance(call.stage, Reader)
        label = call.label or stage_label(call.stage)
        inputs = [_resolve_reference(p, outputs) for p in call.inputs] or previous
        if not inputs:
            raise ConfigError(f"stage {call.stage.name} has no input: give -i/--input or put a stage before it")
        try:  # a setup error is found before anything runs
            check_inputs(call.stage, inputs)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        output = call.output or work_dir / f"{position:02d}-{label}"
        planned.append(PlannedStage(call.stage, label, inputs, output, output_given=call.output is not None))
        outputs[stage_label(call.stage)] = outputs[label] = output
        # Consecutive readers pool their outputs: `read A, read B, clean` cleans both.
        previous = [*previous, output] if is_reader and previous_was_reader else [output]
        previous_was_reader = is_reader
    return planned


def fuse_groups(steps: Sequence[PlannedStage], *, fuse: bool = True) -> list[list[PlannedStage]]:
    """Split the planned stages into runs of consecutive per-document stages that share one pass.

    A stage joins the group before it when both are per-document stages without a global step
    (``corpus.fused.fusable``: clean, filter, pii, stats), it reads exactly the previous stage's
    output, and nothing else needs that output on disk: no other step reads it (``@clean``) and the
    user did not name it (``-o``). Every other stage is a group of its own.
    """
    readers: dict[Path, int] = {}
    for step in steps:
        for path in step.inputs:
            readers[path] = readers.get(path, 0) + 1
    groups: list[list[PlannedStage]] = []
    for step in steps:
        previous = groups[-1][-1] if groups else None
        if (fuse and previous is not None and fusable(previous.stage) and fusable(step.stage)
                and step.inputs == [previous.output] and readers[previous.output] == 1
                and not previous.output_given):
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def run_pipeline(
    calls: Sequence[StageCall | None],
    *,
    work_dir: Path,
    workers: int,
    force: bool = False,
    progress: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
    fuse: bool = True,
) -> list[StageReport]:
    """Run stages in order on ``engine``; a stage without inputs reads the previous stage's output.

    Everything :func:`check_calls` can see is checked first: a ConfigError names what to fix; then
    consecutive per-document stages run fused (:func:`fuse_groups`, one pass per shard, the same final
    bytes, on either engine) unless ``fuse`` is False.
    """
    check_calls(calls, work_dir=work_dir)
    run = stage_runner(engine, workers=workers, ray_address=ray_address)
    reports: list[StageReport] = []
    for group in fuse_groups(plan_pipeline(calls, work_dir=work_dir), fuse=fuse):
        step = group[0]
        if len(group) > 1:
            run_group = fused_runner(engine, workers=workers, ray_address=ray_address)
            done = run_group([s.stage for s in group], inputs=step.inputs, outputs=[s.output for s in group],
                             force=force, progress=progress)
        elif isinstance(step.stage, RunsOnce):  # a step over whole outputs (merge): cheap, local on any engine
            done = [step.stage.run_once(step.inputs, step.output)]
        else:
            done = [run(step.stage, inputs=step.inputs, output=step.output, force=force, progress=progress)]
        for planned, report in zip(group, done, strict=True):
            report.stage = planned.label  # the summary names labelled steps as the recipe does (pack-zh)
            reports.append(report)
            for warning in rejection_warnings(report):
                print(warning, file=sys.stderr)
    return reports


def _option_text(value: Any) -> str:
    if isinstance(value, tuple | list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def plan_text(config: PipelineConfig, *, work_dir: Path | None = None, workers: int | None = None,
              engine: str = "local", fuse: bool = True) -> str:
    """The plan of a pipeline as text: each stage in order with its inputs, output and options, and
    which stages run fused.

    Options are the stage's constructor fields (defaults included, since they are what will run);
    nothing is read, created or run.
    """
    work = work_dir or config.work_dir
    steps = plan_pipeline(config.calls, work_dir=work)
    fused = [g for g in fuse_groups(steps, fuse=fuse and config.fuse) if len(g) > 1]
    lines = [f"plan: {len(steps)} stages, work_dir {work}, workers {workers or config.workers or os.cpu_count() or 1}, "
             f"engine {engine}"]
    for i, step in enumerate(steps, 1):
        lines.append(f"{i:2d}. {step.label}" + (f"  ({step.stage.name})" if step.label != step.stage.name else ""))
        lines.append(f"      input:  {', '.join(map(str, step.inputs))}")
        lines.append(f"      output: {step.output}")
        fields = [f for f in dataclasses.fields(step.stage) if f.init and not f.metadata.get("internal")] \
            if dataclasses.is_dataclass(step.stage) else []
        if fields:
            options = ", ".join(f"{f.name}={_option_text(getattr(step.stage, f.name))}" for f in fields)
            lines.append(f"      options: {options}")
    for group in fused:
        lines.append(f"fused: {'+'.join(s.label for s in group)} in one pass per shard; only {group[-1].output} "
                     "gets kept documents (--no-fuse: every stage writes them)")
    return "\n".join(lines)


def run_config(
    config: PipelineConfig,
    *,
    work_dir: Path | None = None,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
    engine: str = "local",
    ray_address: str | None = None,
    fuse: bool = True,
) -> list[StageReport]:
    """Run a loaded pipeline; arguments override the file's ``work_dir`` and ``workers``; stages fuse
    unless ``fuse`` is False or the file says ``fuse: false``."""
    return run_pipeline(
        config.calls,
        work_dir=work_dir or config.work_dir,
        workers=workers or config.workers or os.cpu_count() or 1,
        force=force,
        progress=progress,
        engine=engine,
        ray_address=ray_address,
        fuse=fuse and config.fuse,
    )
