"""Run one stage over every shard of its input with N worker processes, resumably.

The kinds of stage and what each may rely on are declared in ``corpus.contract`` (docs/architecture.md,
"The runner contract"): a document stage maps documents to documents; a reader turns raw input units
into documents; a sink writes its own files per shard and may ``finalize`` once; a global step
(``prepare``, ``corpus.globalstep``) decides every shard from all of them before the per-shard pass.
Each shard is processed independently (``process_unit``), so the output is byte-identical for any
worker count; ``_done/<shard>`` is written last and records the fingerprint of what made the shard
(corpus.fingerprint), so a killed run redoes only unfinished shards and a rerun with other options,
inputs or code redoes the shards they change, and says so (``corpus.plan``). Rejected documents go to
``rejected/`` with their reason; nothing is dropped silently. The set-up (``set_up``) and the end
(``finish_stage``) are shared with the Ray engine, the per-shard files (``ShardTally``, ``write_done``)
with the fused pass (``corpus.fused``).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from corpus import __version__
from corpus.card import write_dataset_card
from corpus.contract import (
    DocStage,
    Finalizer,
    GlobalStep,
    Reader,
    ShardMap,
    StageError,
    conform_of,
    for_shard,
    has_global_step,
    internal,
    stage_kind,
    stage_label,
)
from corpus.fingerprint import stage_options, stage_parts
from corpus.lock import holds_output_lock
from corpus.plan import (
    Todo,
    Unit,
    announce_redo,
    begin_stage,
    kept_file,
    no_shards_hint,
    no_units_error,
    plan_todo,
    plan_units,
)
from corpus.pool import ProcessShardMap, ordered_pool_map, parallel_map, run_tasks
from corpus.progress import counted, progress_bar, unit_bytes, upstream_count
from corpus.records import rejection
from corpus.shards import DEFAULT_SUFFIX, ShardWriter, read_docs, write_bytes_atomic

__all__ = [  # its own names, and those of the modules split off that callers import from here
    "DocStage", "finish_stage", "GlobalStep", "internal", "kept_file", "no_shards_hint", "ordered_pool_map",
    "parallel_map", "plan_todo", "plan_units", "Prepare", "process_unit", "Reader", "rejected_writer",
    "remove_stale_temporaries", "run_stage", "set_up", "ShardTally", "stage_label", "StageError", "StageReport",
    "StageRun", "Todo", "Unit", "unit_bytes", "upstream_count", "write_done",
]


@dataclasses.dataclass
class StageReport:
    """What a stage did, summed over all its shards (including those done by an earlier run)."""

    stage: str
    output: Path
    shards: int = 0
    shards_skipped: int = 0
    docs_in: int = 0
    docs_out: int = 0
    rejected: int = 0
    reasons: Counter = dataclasses.field(default_factory=Counter)
    counters: Counter = dataclasses.field(default_factory=Counter)
    bytes_out: int = 0
    seconds: float = 0.0
    shards_redone: int = 0  # shards done before but with another fingerprint, so made again
    redo_reasons: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ShardTally:
    """What one stage did to one shard: the counts its ``_stats/<shard>.json`` record holds.

    ``docs_in`` counts every document read, rejected placeholders included; ``out`` the documents kept:
    those written to the kept shard, or for a sink the documents it took from its iterator
    (``taken``); ``docs_in == out + rejected`` for every stage that consumes all it is given.
    """

    docs_in: int = 0
    out: int = 0
    rejected: int = 0
    reasons: Counter = dataclasses.field(default_factory=Counter)
    counters: Counter = dataclasses.field(default_factory=Counter)
    bytes_out: int = 0

    def split(self, docs: Iterable[dict], write_rejected: Callable[[dict], None], *, count_in: bool) -> Iterator[dict]:
        """Pass kept documents on; count and hand each rejected one (``meta.reject`` set) to ``write_rejected``.

        ``count_in``: these documents are the shard's input (not a stage's output, already counted).
        """
        for doc in docs:
            if count_in:
                self.docs_in += 1
            why = rejection(doc)
            if why is None:
                yield doc
                continue
            self.rejected += 1
            self.reasons[why.get("reason", "unknown")] += 1
            write_rejected(doc)

    def taken(self, docs: Iterable[dict]) -> Iterator[dict]:
        """Pass ``docs`` to a sink, counting each it takes as kept (``out``)."""
        for doc in docs:
            self.out += 1
            yield doc

    def record(self, stage: Any, unit: Unit, seconds: float) -> dict[str, Any]:
        """The shard's ``_stats`` record (key order as ever: readers of old records see the same layout)."""
        return {
            "shard": unit.name,
            "stage": stage.name,
            "input": str(unit.source),
            "in": self.docs_in,
            "out": self.out,
            "rejected": self.rejected,
            "reasons": dict(sorted(self.reasons.items())),
            "counters": dict(sorted(self.counters.items())),
            "bytes_out": self.bytes_out,
            "seconds": round(seconds, 3),
        }


def rejected_writer(output: Path, name: str, stage: Any) -> ShardWriter:
    """The writer of shard ``name``'s rejected documents (none written: no file)."""
    return ShardWriter(output / "rejected" / f"{name}{DEFAULT_SUFFIX}", conform=conform_of(stage), write_empty=False)


def process_unit(
    stage: Any,
    unit: Unit,
    output: Path,
    suffix: str,
    marker: dict[str, Any] | None = None,
    tick: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Process one unit and write its output, rejected shard, stats and done marker (in that order).

    ``marker`` is the fingerprint the done marker records (``plan_todo``); None writes an empty one.
    ``tick`` receives bytes read (``corpus.progress.counted``). The stage sees only the valid documents
    (placeholders of unreadable input and upstream rejections go straight to ``rejected/``), so the
    positions a global step's count job gives (``corpus.globalstep.valid_docs``) are the ones it sees.
    """
    started = time.perf_counter()
    remove_stale_temporaries(output, unit.name)
    tally = ShardTally()
    kind = stage_kind(stage)
    stage = for_shard(stage, unit.name)
    source: Iterable[dict] = stage(unit.source, tally.counters) if kind == "reader" else read_docs(unit.source)
    try:
        with rejected_writer(output, unit.name, stage) as rejected:
            valid = tally.split(counted(source, unit.source, tick), rejected.write, count_in=True)
            if kind == "sink":
                stage.write_shard(tally.taken(valid), output / unit.name, tally.counters)
            else:
                # A reader's documents are its input; a document stage's own rejections were already
                # counted in "in" when they came in.
                results = valid if kind == "reader" else tally.split(stage(valid, tally.counters), rejected.write,
                                                                     count_in=False)
                with ShardWriter(output / f"{unit.name}{suffix}", conform=conform_of(stage),
                                 write_empty=False) as writer:
                    for doc in results:
                        writer.write(doc)
                    tally.out, tally.bytes_out = writer.count, writer.bytes_written
    except Exception as err:
        raise StageError(f"stage {stage.name} failed on {unit.source} ({unit.name}): {err!r}") from err
    record = tally.record(stage, unit, time.perf_counter() - started)
    write_done(output, unit.name, record, marker)
    return record


def write_done(output: Path, name: str, record: dict[str, Any], marker: dict[str, Any] | None) -> None:
    """Write a shard's ``_stats`` and then, last, its done marker (``marker`` None: an empty one)."""
    write_bytes_atomic(output / "_stats" / f"{name}.json", orjson.dumps(record, option=orjson.OPT_INDENT_2))
    done = orjson.dumps(marker, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) if marker else b""
    write_bytes_atomic(output / "_done" / name, done)


def remove_stale_temporaries(output: Path, name: str) -> None:
    """Delete temp files a killed run left for shard ``name``; they never count as output."""
    for directory in (output, output / "rejected", output / "_stats", output / "_done"):
        # part-00003.jsonl.zst.tmp-PID, part-00003.json.tmp-PID, and the marker's part-00003.tmp-PID
        for stale in directory.glob(f"{name}.*tmp-*"):
            stale.unlink(missing_ok=True)


Prepare = Callable[[Any, list[Path], Path, bool], Any]  # (stage, shards, output, force) -> prepared stage


@dataclasses.dataclass
class StageRun:
    """A stage run once set up: the stage as its global step left it, its units, its plan, its output."""

    stage: Any
    units: list[Unit]
    plan: Todo
    output: Path
    started: float

    def shard_args(self, suffix: str) -> list[tuple]:
        """``process_unit`` arguments for every unit to do (the engine adds ``tick`` or not)."""
        return [(self.stage, u, self.output, suffix, self.plan.markers[u.name]) for u in self.plan.units]

    def finish(self, inputs: Sequence[Path]) -> StageReport:
        """``finish_stage`` for this run."""
        return finish_stage(self.stage, self.units, len(self.units) - len(self.plan.units), inputs, self.output,
                            self.started, self.plan)


def set_up(stage: Any, *, inputs: Sequence[Path], output: Path, force: bool, each: ShardMap,
           prepare: Prepare | None = None) -> StageRun:
    """Everything before the per-shard pass, the same on every engine: plan the units against their done
    markers, say what is redone and why, clear what the run replaces, and run the global step.

    ``each`` is the engine's per-shard map for a global step's count jobs; ``prepare`` replaces
    ``stage.prepare(shards, output, each=each, force=...)`` where an engine runs a step its own way
    (Ray's distributed dedup).
    """
    started = time.perf_counter()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    units = plan_units(stage, [Path(p) for p in inputs])
    if not units:
        raise no_units_error(stage, inputs)
    plan = plan_todo(stage, units, output, force=force)
    announce_redo(stage, plan, output)
    begin_stage(stage, units, output, plan)
    if has_global_step(stage):
        shards = [u.source for u in units]
        if prepare is None:
            stage = stage.prepare(shards, output, each=each, force=plan.force_prepare)
        else:
            stage = prepare(stage, shards, output, plan.force_prepare)
    return StageRun(stage, units, plan, output, started)


@holds_output_lock  # one run per output; removes killed runs' temporaries first
def run_stage(
    stage: Any,
    *,
    inputs: Sequence[Path],
    output: Path,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    suffix: str = DEFAULT_SUFFIX,
) -> StageReport:
    """Run ``stage`` over ``inputs`` into ``output`` and return what it did (see module doc)."""
    run = set_up(stage, inputs=inputs, output=output, force=force, each=ProcessShardMap(workers, progress))
    bar = progress_bar(stage_label(run.stage), [u.source for u in run.plan.units], progress)
    run_tasks([(process_unit, args, {}) for args in run.shard_args(suffix)], workers=workers, bar=bar)
    return run.finish(inputs)


def finish_stage(
    stage: Any,
    units: list[Unit],
    skipped: int,
    inputs: Sequence[Path],
    output: Path,
    started: float,
    plan: Todo | None = None,
    *,
    seconds: float | None = None,
    fused: dict[str, Any] | None = None,
) -> StageReport:
    """Sum the shards' ``_stats``, run ``finalize`` once, write ``_manifest.json``; shared by every engine.

    ``seconds`` replaces the time since ``started`` (a fused stage's share of its pass); ``fused`` is
    recorded in the manifest (which stages shared the pass, and where the kept documents are).
    """
    report = StageReport(stage=stage_label(stage), output=output, shards=len(units), shards_skipped=skipped)
    if plan is not None:
        report.shards_redone, report.redo_reasons = plan.redone, plan.reasons
    empty = []  # shards that kept no document: no file is written for them (see ShardWriter)
    for unit in units:
        record = orjson.loads((output / "_stats" / f"{unit.name}.json").read_bytes())
        if record["out"] == 0:
            empty.append(unit.name)
        report.docs_in += record["in"]
        report.docs_out += record["out"]
        report.rejected += record["rejected"]
        report.reasons.update(record["reasons"])
        report.counters.update(record["counters"])
        report.bytes_out += record["bytes_out"]
    if isinstance(stage, Finalizer):
        final_counters: Counter = Counter()
        stage.finalize(output, [output / u.name for u in units], final_counters)
        report.counters.update(final_counters)
    report.seconds = time.perf_counter() - started if seconds is None else seconds
    manifest = {
        "stage": stage.name,
        "config": stage_options(stage),
        # What made every shard beside this file (the done markers hold the same, per shard).
        "fingerprint": {k: v for k, v in stage_parts(stage).items() if k != "options"},
        "inputs": [str(p) for p in inputs],
        "shards": {u.name: str(u.source) for u in units},
        "empty_shards": empty,
        "knowforge_version": __version__,
        "totals": {
            "shards": report.shards,
            "shards_skipped": report.shards_skipped,
            "docs_in": report.docs_in,
            "docs_out": report.docs_out,
            "rejected": report.rejected,
            "reasons": dict(sorted(report.reasons.items())),
            "counters": dict(sorted(report.counters.items())),
            "bytes_out": report.bytes_out,
        },
        "seconds": round(report.seconds, 3),
        **({"fused": fused} if fused else {}),
    }
    write_bytes_atomic(output / "_manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2, default=str))
    if conform_of(stage) is not None:
        write_dataset_card(output)  # `load_dataset(output)` then reads the shards with the declared features
    return report
