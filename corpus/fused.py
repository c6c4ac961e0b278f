"""Fused document stages: consecutive per-document stages (clean, filter, pii, stats) in one pass per shard.

Each stage's output directory gets what ``corpus.runner.run_stage`` would write (rejected/, _stats/,
_done/ markers with the same fingerprints, _manifest.json), but only the group's last stage writes kept
documents; the others hand theirs on in memory, through the same JSON round trip a shard file gives
(docs/architecture.md, "Fused document stages"). ``corpus.engines.ray`` runs the same passes on Ray.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from corpus.contract import StageError, conform_of, for_shard, fusable, stage_label
from corpus.lock import holds_output_locks
from corpus.plan import (
    Todo,
    Unit,
    announce_redo,
    begin_stage,
    kept_file,
    kept_nothing,
    no_units_error,
    plan_todo,
    plan_units,
)
from corpus.pool import run_tasks
from corpus.progress import counted, progress_bar
from corpus.runner import (
    ShardTally,
    StageReport,
    finish_stage,
    rejected_writer,
    remove_stale_temporaries,
    write_done,
)
from corpus.shards import DEFAULT_SUFFIX, ShardWriter, parse_line, read_docs

__all__ = [  # its own names, and fusable (decided in corpus.contract) that callers import from here
    "FusedPlan", "finish_fused", "fusable", "plan_fused", "process_fused", "run_fused",
]


@dataclasses.dataclass(frozen=True)
class _FusedShard:
    """One shard's pass: read ``source`` and run stages ``first..last``; write the files of those in ``write``.

    ``source`` is the group's input shard, or the kept shard of stage ``first - 1`` when an earlier run
    left it on disk (a run with --no-fuse). Stages not in ``write`` are done with these settings and are
    run only to make their successors' input; their files are left as they are.
    """

    name: str
    source: Path
    first: int
    last: int
    write: tuple[bool, ...]


def _discard(doc: dict) -> None:
    """Where a replayed stage's rejections go: its ``rejected/`` shard from the earlier run already holds them."""


def _clocked(docs: Iterator[dict], clocks: dict[int, float], key: int) -> Iterator[dict]:
    """Pass ``docs`` through, adding to ``clocks[key]`` the seconds spent making each (upstream included)."""
    clock = time.perf_counter
    while True:
        started = clock()
        try:
            doc = next(docs)
        except StopIteration:
            clocks[key] += clock() - started
            return
        clocks[key] += clock() - started
        yield doc


def _handoff(docs: Iterable[dict], path: Path, tally: ShardTally, conform: Callable[[dict], dict] | None
             ) -> Iterator[dict]:
    """Hand a stage's kept documents to the next stage exactly as it would read them from ``path``.

    A JSON round trip through the shard reader's own line parser, after the stage's meta conformance
    (``conform``, as its ShardWriter applies it), so tuples become lists, ``default=str`` values strings,
    declared keys are checked and a missing ``meta`` or ``source`` is filled in, as on disk; it also
    counts the stage's ``out`` and ``bytes_out`` in its ``tally`` as its ShardWriter would. (orjson does
    this at hundreds of MB/s, far below the stages' own cost.)
    """
    for lineno, doc in enumerate(docs, start=1):
        line = orjson.dumps(conform(doc) if conform is not None else doc, default=str)
        tally.out += 1
        tally.bytes_out += len(line) + 1
        yield parse_line(path, lineno, line, True)


def process_fused(
    stages: Sequence[Any],
    outputs: Sequence[Path],
    shard: _FusedShard,
    markers: Sequence[dict[str, Any]],
    tick: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """One pass over a shard through consecutive document stages; returns the shard's name and each
    stage's seconds (``{"shard", "seconds"}``).

    Every written stage gets the files ``process_unit`` writes (rejected, stats, done marker, in that
    order, stage by stage), except the kept documents of all but the group's last stage, which go to
    the next stage in memory. A stage's seconds are its own: stage k's documents took ``clocks[k]`` to
    make, upstream included, so its share is ``clocks[k] - clocks[k-1]``; reading is the first
    stage's, writing the kept shard the last one's.
    """
    started = time.perf_counter()
    name, span, final = shard.name, range(shard.first, shard.last + 1), len(stages) - 1
    for k in span:
        if shard.write[k]:
            remove_stale_temporaries(outputs[k], name)
            old = kept_file(outputs[k], name) if k != final else None
            if old is not None:  # made with other settings by an unfused run: no later run may take it as done
                old.unlink()
    tallies = {k: ShardTally() for k in span}
    clocks = dict.fromkeys([shard.first - 1, *span], 0.0)
    sources = {k: shard.source if k == shard.first else outputs[k - 1] / f"{name}{DEFAULT_SUFFIX}" for k in span}
    # Each stage's meta conformance, as run_stage's writers apply it (corpus/schema.py).
    conforms = [conform_of(stage) for stage in stages]
    try:
        with contextlib.ExitStack() as files:
            docs: Iterator[dict] = _clocked(iter(counted(read_docs(shard.source), shard.source, tick)),
                                            clocks, shard.first - 1)
            for k in span:
                stage, tally = for_shard(stages[k], name), tallies[k]
                write_rejected = _discard
                if shard.write[k]:
                    write_rejected = files.enter_context(rejected_writer(outputs[k], name, stages[k])).write
                if k > shard.first:
                    docs = _handoff(docs, sources[k], tallies[k - 1], conforms[k - 1])
                valid = tally.split(docs, write_rejected, count_in=True)
                docs = _clocked(tally.split(stage(valid, tally.counters), write_rejected, count_in=False), clocks, k)
            if shard.last == final:
                writer = files.enter_context(ShardWriter(outputs[final] / f"{name}{DEFAULT_SUFFIX}",
                                                         conform=conforms[final], write_empty=False))
                for doc in docs:
                    writer.write(doc)
                tallies[final].out, tallies[final].bytes_out = writer.count, writer.bytes_written
            else:  # the later stages are done: this pass only remade earlier stages' files
                for _ in _handoff(docs, outputs[shard.last] / f"{name}{DEFAULT_SUFFIX}", tallies[shard.last],
                                  conforms[shard.last]):
                    pass
    except Exception as err:
        labels = "+".join(stage_label(s) for s in stages)
        raise StageError(f"fused stages {labels} failed on {shard.source} ({name}): {err!r}") from err

    seconds = [0.0] * len(stages)
    for k in span:
        seconds[k] = clocks[k] - (clocks[k - 1] if k > shard.first else 0.0)
    seconds[shard.last] += time.perf_counter() - started - clocks[shard.last]
    # As unfused: a stage after one that kept nothing of the shard has no input shard, so no files.
    absent = [k for k in span if k > shard.first and tallies[k - 1].out == 0]
    for k in span:
        if k not in absent and shard.write[k]:
            write_done(outputs[k], name, tallies[k].record(stages[k], Unit(sources[k], name), seconds[k]), markers[k])
    return {"shard": name, "seconds": seconds, "absent": absent}


@dataclasses.dataclass
class FusedPlan:
    """What a fused run will do: each stage's units, inputs and plan, and the shards' passes."""

    stages: list[Any]
    outputs: list[Path]
    units: list[list[Unit]]
    inputs: list[list[Path]]
    plans: list[Todo]
    shards: list[_FusedShard]
    started: float

    @property
    def label(self) -> str:
        return "+".join(stage_label(s) for s in self.stages)

    def tasks(self) -> list[tuple[Any, ...]]:
        """``process_fused`` arguments for every shard's pass (the engine adds ``tick`` or not)."""
        return [(self.stages, self.outputs, shard, [p.markers.get(shard.name) for p in self.plans])
                for shard in self.shards]


def plan_fused(stages: Sequence[Any], *, inputs: Sequence[Path], outputs: Sequence[Path], force: bool) -> FusedPlan:
    """Plan a fused run (see ``run_fused``): every stage's markers, chained as an unfused run chains
    them, and per shard the stages to redo; says what is redone and why, before any work."""
    if len(stages) != len(outputs) or not all(fusable(s) for s in stages):
        raise ValueError("fused runs take per-document stages without a global step, one output each")
    started = time.perf_counter()
    outputs = [Path(o) for o in outputs]
    for output in outputs:
        output.mkdir(parents=True, exist_ok=True)
    units = plan_units(stages[0], [Path(p) for p in inputs])
    if not units:
        raise no_units_error(stages[0], inputs)
    final = len(stages) - 1
    # Stage k > 0 reads the shards stage k-1 would have written: same names, same marker chain.
    stage_units = [units] + [[Unit(outputs[k - 1] / f"{u.name}{DEFAULT_SUFFIX}", u.name) for u in units]
                             for k in range(1, len(stages))]
    plans: list[Todo] = []
    identities: dict[str, str] | None = None
    for k, stage in enumerate(stages):
        if k:
            # As unfused: a shard the previous stage kept nothing of (done, no file) is no input here.
            current = {u.name for u in stage_units[k - 1]} - {u.name for u in plans[-1].units}
            stage_units[k] = [u for u in stage_units[k]
                              if not (u.name in current and kept_nothing(outputs[k - 1], u.name))]
        plan = plan_todo(stage, stage_units[k], outputs[k], force=force, identities=identities, need_kept=k == final)
        identities = {name: f"shard:{marker['fingerprint']}" for name, marker in plan.markers.items()}
        announce_redo(stage, plan, outputs[k])
        begin_stage(stage, stage_units[k], outputs[k], plan)
        plans.append(plan)

    stale_sets = [{u.name for u in plan.units} for plan in plans]
    shards: list[_FusedShard] = []
    for unit in units:
        stale = [k for k in range(len(stages)) if unit.name in stale_sets[k]]
        if not stale:
            continue
        first, source = 0, unit.source
        for j in range(min(stale) - 1, -1, -1):  # the nearest done stage whose kept shard is on disk
            if (kept := kept_file(outputs[j], unit.name)) is not None:
                first, source = j + 1, kept
                break
        shards.append(_FusedShard(unit.name, source, first, max(stale), tuple(k in stale for k in range(len(stages)))))
    return FusedPlan(list(stages), outputs, stage_units, [list(inputs)] + [[o] for o in outputs[:-1]], plans, shards,
                     started)


def finish_fused(plan: FusedPlan, passes: Sequence[dict[str, Any]]) -> list[StageReport]:
    """``finish_stage`` for every fused stage; the pass's wall time is split between the stages by the
    time each spent on the shards (``passes``: what ``process_fused`` returned)."""
    elapsed = time.perf_counter() - plan.started
    n = len(plan.stages)
    spent = [sum(done["seconds"][k] for done in passes) for k in range(n)]
    total = sum(spent)
    labels = [stage_label(s) for s in plan.stages]
    reports = []
    for k, stage in enumerate(plan.stages):
        share = spent[k] / total if total else 1 / n
        kept = "written here" if k == n - 1 else f"passed on in memory to {labels[k + 1]}, not written"
        fused = {"stages": labels, "outputs": [str(o) for o in plan.outputs], "kept_documents": kept}
        # Shards an earlier stage of the pass emptied got no files here (see process_fused).
        absent = {done["shard"] for done in passes if k in done.get("absent", ())}
        units = [u for u in plan.units[k] if u.name not in absent]
        skipped = len(units) - (len(plan.plans[k].units) - len(absent & {u.name for u in plan.plans[k].units}))
        reports.append(finish_stage(stage, units, skipped, plan.inputs[k], plan.outputs[k], plan.started,
                                    plan.plans[k], seconds=elapsed * share, fused=fused))
    return reports


@holds_output_locks  # every output of the pass, as run_stage locks its one
def run_fused(
    stages: Sequence[Any],
    *,
    inputs: Sequence[Path],
    outputs: Sequence[Path],
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
) -> list[StageReport]:
    """Run consecutive per-document ``stages`` in one pass over each shard; stage k writes ``outputs[k]``.

    Each output directory gets what ``run_stage`` would write (rejected/, _stats/, _done/ markers with
    the same fingerprints, _manifest.json), but only the last stage writes kept documents: the others
    hand theirs on in memory (docs/architecture.md, "Fused document stages"). A shard is redone from
    the first stage whose marker is stale; done stages before it are replayed, not rewritten, unless
    their kept shard is on disk (an unfused run), which is then read instead.
    """
    plan = plan_fused(stages, inputs=inputs, outputs=outputs, force=force)
    bar = progress_bar(plan.label, [s.source for s in plan.shards], progress)
    passes = run_tasks([(process_fused, args, {}) for args in plan.tasks()], workers=workers, bar=bar)
    return finish_fused(plan, passes)
