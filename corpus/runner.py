"""Run one stage over every shard of its input with N worker processes, resumably.

Three kinds of stage share one runner (see docs/architecture.md for the contract):
a document stage maps documents to documents (``__call__(docs, counters)``); a reader turns raw
input units into documents (``discover`` + ``__call__(path, counters)``); a sink writes its own
files per shard (``write_shard``) and may ``finalize`` once. Any stage may ``prepare`` a global step
(dedup) before the per-shard pass, and ``for_shard(name)`` to get a copy bound to the shard it is
about to process (dedup looks up that shard's removal list). Each shard is processed independently, so the output is
byte-identical for any worker count; ``_done/<shard>`` is written last and records the fingerprint of what
made the shard (corpus.fingerprint), so a killed run redoes only unfinished shards and a rerun with other
options, inputs or code redoes the shards they change, and says so. Rejected documents go to ``rejected/``
with their reason; nothing is dropped silently. Consecutive document stages without a global step can
run fused (``run_fused``): one pass per shard, each stage writing its own files but only the last its
kept documents, with the bytes and markers of an unfused run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import orjson
from tqdm import tqdm

from corpus import __version__
from corpus.fingerprint import changes, input_identity, make_marker, read_marker, stage_options, stage_parts
from corpus.lock import holds_output_lock, holds_output_locks
from corpus.records import rejection
from corpus.schema import conform_doc, write_dataset_card
from corpus.shards import (
    DEFAULT_SUFFIX,
    ShardWriter,
    _parse_line,
    is_shard,
    list_shards,
    read_docs,
    shard_name,
    write_bytes_atomic,
)

PROGRESS_SECONDS = 0.25  # how often a worker reports how far it has read (keeps queue traffic tiny)


@runtime_checkable
class DocStage(Protocol):
    """Maps a shard's documents to documents; rejects by marking ``meta.reject`` (see corpus.records)."""

    name: ClassVar[str]

    def __call__(self, docs: Iterator[dict], counters: Counter) -> Iterator[dict]: ...


@runtime_checkable
class Reader(Protocol):
    """Turns raw input units (files or directories) into documents, one output shard per unit."""

    name: ClassVar[str]

    def discover(self, paths: Sequence[Path]) -> list[Path]: ...

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict]: ...


def internal(default: Any = None) -> Any:
    """A stage dataclass field set by the runner (``prepare``/``for_shard``), never by users or YAML."""
    return dataclasses.field(default=default, metadata={"internal": True})


class StageError(RuntimeError):
    """A stage failed on a shard; the message names both."""


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


@dataclasses.dataclass(frozen=True)
class _Unit:
    source: Path  # input shard, raw file or directory
    name: str  # output shard name, e.g. part-00003


def _stage_kind(stage: Any) -> str:
    if hasattr(stage, "discover"):
        return "reader"
    if hasattr(stage, "write_shard"):
        return "sink"
    return "docs"


def _source_name(stage: Any) -> str:
    return getattr(stage, "source_name", None) or stage.name


def stage_label(stage: Any) -> str:
    """How reports and work directories name a stage: ``clean``, or ``read-wiki`` for a reader."""
    return f"read-{_source_name(stage)}" if _stage_kind(stage) == "reader" else stage.name


def plan_units(stage: Any, inputs: Sequence[Path]) -> list[_Unit]:
    """The units of work for ``stage``: (input, output shard name) pairs, in a deterministic order."""
    if _stage_kind(stage) == "reader":
        # Shards are named for their source (wiki-00000, wudao-00000, ...) so that the outputs of
        # several readers can feed one stage without name clashes.
        prefix = _source_name(stage)
        return [_Unit(p, f"{prefix}-{i:05d}") for i, p in enumerate(stage.discover(list(inputs)))]
    units: list[_Unit] = []
    for path in inputs:
        files = list_shards(path) if path.is_dir() else [path]
        units.extend(_Unit(p, shard_name(p)) for p in files)
    names = [u.name for u in units]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise StageError(
            f"stage {stage.name}: shard names occur in more than one input: {duplicated[:5]}; "
            "give each reader of the same format its own --name"
        )
    return units


def unit_bytes(source: Path) -> int:
    """Size of an input unit in bytes (a directory: its files), the progress bar's total."""
    if source.is_dir():
        return sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    return source.stat().st_size


class _ReadPosition:
    """How far this process has read into ``source``: the offset of the file descriptor open on it.

    Readers and ``read_docs`` open the file themselves (often through a decompressor), so the kernel's
    offset (``/proc/self/fdinfo``, Linux) is the one measure of progress that works for all of them.
    Elsewhere, or for a directory unit, it stays 0 and the unit counts as read when it ends.
    """

    def __init__(self, source: Path) -> None:
        self.target = str(source.resolve())
        self.fd: str | None = None

    def offset(self) -> int:
        fd_dir = Path("/proc/self/fd")
        if self.fd is None or _readlink(fd_dir / self.fd) != self.target:
            self.fd = next((fd for fd in _listdir(fd_dir) if _readlink(fd_dir / fd) == self.target), None)
        if self.fd is None:
            return 0
        try:
            info = Path(f"/proc/self/fdinfo/{self.fd}").read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in info.splitlines() if line.startswith("pos:")), 0)


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _counted(docs: Iterable[dict], unit: _Unit, tick: Callable[[int], None] | None) -> Iterator[dict]:
    """Pass ``docs`` through, reporting read progress in bytes at most every PROGRESS_SECONDS.

    A report may be 0 (nothing new read): the parent still refreshes the bar, so time keeps moving.
    The reports of one unit add up to its size exactly.
    """
    if tick is None:
        yield from docs
        return
    size = unit_bytes(unit.source)
    # A shard an earlier stage wrote has its document count in that stage's _stats: progress is then
    # the share of documents seen (a small compressed shard is read in one gulp, so its offset says
    # little). Raw input has no count: the read offset it is.
    count = upstream_count(unit.source)
    position = _ReadPosition(unit.source)
    seen_docs = reported = 0
    next_report = time.monotonic() + PROGRESS_SECONDS
    for doc in docs:
        yield doc
        seen_docs += 1
        now = time.monotonic()
        if now >= next_report:
            next_report = now + PROGRESS_SECONDS
            seen = size * min(seen_docs, count) // count if count else min(position.offset(), size)
            tick(max(0, seen - reported))
            reported = max(reported, seen)
    tick(size - reported)


def upstream_count(source: Path) -> int | None:
    """Documents in ``source`` (kept and rejected placeholders it holds) if the stage that wrote it says."""
    stats = source.parent / "_stats" / f"{shard_name(source)}.json"
    try:
        return int(orjson.loads(stats.read_bytes())["out"]) or None
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def process_unit(
    stage: Any,
    unit: _Unit,
    output: Path,
    suffix: str,
    tick: Callable[[int], None] | None = None,
    marker: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Process one unit and write its output, rejected shard, stats and done marker (in that order).

    ``marker`` is the fingerprint the done marker records (``unit_marker``); None writes an empty one.
    """
    started = time.perf_counter()
    _remove_stale_temporaries(output, unit.name)
    counters: Counter = Counter()
    reasons: Counter = Counter()
    stats = {"in": 0, "out": 0, "rejected": 0}
    kind = _stage_kind(stage)
    rejected_path = output / "rejected" / f"{unit.name}{DEFAULT_SUFFIX}"
    # Corpus documents are written in the declared meta schema; a stage whose records are of another
    # kind sets ``conform = None`` (corpus/schema.py).
    conform = getattr(stage, "conform", conform_doc)

    if hasattr(stage, "for_shard"):
        stage = stage.for_shard(unit.name)
    if kind == "reader":
        source: Iterable[dict] = stage(unit.source, counters)
    else:
        source = read_docs(unit.source)

    def split(docs: Iterable[dict], rejected: ShardWriter, count_in: bool) -> Iterator[dict]:
        return _split(docs, rejected.write, stats, reasons, count_in=count_in)

    try:
        with ShardWriter(rejected_path, conform=conform, write_empty=False) as rejected:
            valid = split(_counted(source, unit, tick), rejected, count_in=True)
            if kind == "sink":
                stage.write_shard(_tally(valid, stats), output / unit.name, counters)
                bytes_out = 0
            else:
                # A reader's documents are its input; a document stage's own rejections were already
                # counted in "in" when they came in.
                results = valid if kind == "reader" else split(stage(valid, counters), rejected, count_in=False)
                with ShardWriter(output / f"{unit.name}{suffix}", conform=conform, write_empty=False) as writer:
                    for doc in results:
                        writer.write(doc)
                    stats["out"] = writer.count
                    bytes_out = writer.bytes_written
    except Exception as err:
        raise StageError(f"stage {stage.name} failed on {unit.source} ({unit.name}): {err!r}") from err

    if kind == "sink":
        stats["out"] = stats.pop("sink_out", stats["in"] - stats["rejected"])
    record = _stats_record(stage, unit, stats, reasons, counters, bytes_out, time.perf_counter() - started)
    _write_done(output, unit.name, record, marker)
    return record


def _split(docs: Iterable[dict], write_rejected: Callable[[dict], None], stats: dict[str, int], reasons: Counter,
           *, count_in: bool) -> Iterator[dict]:
    """Pass kept documents on; count and hand each rejected one (``meta.reject`` set) to ``write_rejected``."""
    for doc in docs:
        if count_in:
            stats["in"] += 1
        why = rejection(doc)
        if why is None:
            yield doc
            continue
        stats["rejected"] += 1
        reasons[why.get("reason", "unknown")] += 1
        write_rejected(doc)


def _stats_record(stage: Any, unit: _Unit, stats: dict[str, int], reasons: Counter, counters: Counter,
                  bytes_out: int, seconds: float) -> dict[str, Any]:
    return {
        "shard": unit.name,
        "stage": stage.name,
        "input": str(unit.source),
        **stats,
        "reasons": dict(sorted(reasons.items())),
        "counters": dict(sorted(counters.items())),
        "bytes_out": bytes_out,
        "seconds": round(seconds, 3),
    }


def _write_done(output: Path, name: str, record: dict[str, Any], marker: dict[str, Any] | None) -> None:
    """Write a shard's ``_stats`` and then, last, its done marker (``marker`` None: an empty one)."""
    write_bytes_atomic(output / "_stats" / f"{name}.json", orjson.dumps(record, option=orjson.OPT_INDENT_2))
    done = orjson.dumps(marker, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) if marker else b""
    write_bytes_atomic(output / "_done" / name, done)


def _remove_stale_temporaries(output: Path, name: str) -> None:
    """Delete temp files a killed run left for shard ``name``; they never count as output."""
    for directory in (output, output / "rejected", output / "_stats", output / "_done"):
        # part-00003.jsonl.zst.tmp-PID, part-00003.json.tmp-PID, and the marker's part-00003.tmp-PID
        for stale in directory.glob(f"{name}.*tmp-*"):
            stale.unlink(missing_ok=True)


def _tally(docs: Iterable[dict], stats: dict[str, int]) -> Iterator[dict]:
    """Count the documents a sink consumes, so its shard's in/out add up."""
    stats["sink_out"] = 0
    for doc in docs:
        stats["sink_out"] += 1
        yield doc


# Worker-process state: set once by the pool initializer (a process-local, not shared, value).
_worker_queue: Any = None


def _init_worker(queue: Any) -> None:
    global _worker_queue
    _worker_queue = queue


def _worker_task(task: tuple[Callable[..., Any], tuple, dict]) -> Any:
    fn, args, kwargs = task
    return fn(*args, tick=_worker_queue.put if _worker_queue else None, **kwargs)


def _pool(workers: int, initializer=None, initargs=()) -> multiprocessing.pool.Pool:
    # fork keeps start-up cheap and shares loaded modules; stages hold no unpicklable state either way.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method).Pool(workers, initializer=initializer, initargs=initargs)


def ordered_pool_map(fn: Callable[[Any], Any], items: Iterable[Any], *, workers: int) -> Iterator[Any]:
    """``map(fn, items)`` over ``workers`` processes, in order, with at most ``2 * workers`` tasks pending.

    Unlike ``Pool.imap``, which drains its input eagerly, a fast producer (a decompressing reader)
    cannot run ahead of the workers and fill memory.
    """
    with _pool(workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.apply_async(fn, (item,)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def parallel_map(
    fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int, desc: str, progress: bool
) -> list[Any]:
    """``[fn(x) for x in items]`` over ``workers`` processes, in order, with a progress bar."""
    bar = tqdm(total=len(items), desc=desc, unit="shard", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(items) <= 1:
            results = []
            for item in items:
                results.append(fn(item))
                bar.update()
            return results
        with _pool(min(workers, len(items))) as pool:
            results = []
            for result in pool.imap(fn, items):
                results.append(result)
                bar.update()
            return results
    finally:
        bar.close()


@dataclasses.dataclass
class Todo:
    """The units a run must (re)do, the marker each will record, and why done ones are redone."""

    units: list[_Unit]
    markers: dict[str, dict[str, Any]]
    redone: int = 0
    reasons: list[str] = dataclasses.field(default_factory=list)
    force_prepare: bool = False


def plan_todo(stage: Any, units: Sequence[_Unit], output: Path, *, force: bool,
              identities: dict[str, str] | None = None, need_kept: bool = True) -> Todo:
    """Compare every unit's done marker with the fingerprint this run would record.

    A stage with a global step (``prepare``: dedup, scoring) decides each shard from all of its
    inputs, so there every marker carries every input's identity and any stale shard redoes them all.
    ``identities`` gives the inputs' identities when they are not on disk yet (a fused run: the
    upstream markers it is about to write). With ``need_kept``, a done shard whose kept documents are
    not there (a fused run keeps none in an intermediate stage's directory) is made again, so a later
    unfused stage finds its input.
    """
    parts = stage_parts(stage)
    global_step = hasattr(stage, "prepare")
    identities = identities or {u.name: input_identity(u.source) for u in units}
    markers = {
        u.name: make_marker(parts, identities if global_step else {u.name: identities[u.name]}) for u in units
    }
    if force:
        return Todo(list(units), markers, force_prepare=True)
    todo: list[_Unit] = []
    reasons: list[str] = []
    redone = 0
    for unit in units:
        path = output / "_done" / unit.name
        if not path.exists():
            todo.append(unit)
            continue
        recorded = read_marker(path)
        if recorded is not None and recorded["fingerprint"] == markers[unit.name]["fingerprint"]:
            if not (need_kept and _stage_kind(stage) != "sink" and kept_file(output, unit.name) is None
                    and not _kept_nothing(output, unit.name)):
                continue
            why = [KEPT_NOT_WRITTEN]
        else:
            why = changes(recorded, markers[unit.name])
        todo.append(unit)
        redone += 1
        reasons.extend(r for r in why if r not in reasons)
    if global_step and redone:
        # Every shard made before is made again, not only the stale ones.
        made_before = sum((output / "_done" / u.name).exists() for u in units)
        return Todo(list(units), markers, redone=made_before, reasons=reasons, force_prepare=True)
    return Todo(todo, markers, redone=redone, reasons=reasons)


KEPT_NOT_WRITTEN = "kept documents not written (a fused run passed them on in memory)"


def no_shards_hint(directory: Path) -> str:
    """Why a stage directory holds no kept shards, when a fused run is the reason ('' otherwise)."""
    try:
        fused = orjson.loads((Path(directory) / "_manifest.json").read_bytes()).get("fused")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return ""
    if not fused or fused.get("kept_documents", "").startswith("written"):
        return ""
    return (f"; {directory} was made in a fused run ({'+'.join(fused['stages'])}), which writes kept documents only "
            f"in {fused['outputs'][-1]}: read that, or rerun the chain with --no-fuse")


def _kept_nothing(output: Path, name: str) -> bool:
    """The shard's stats say it kept no document: it has no kept file by design (ShardWriter writes none)."""
    try:
        return orjson.loads((output / "_stats" / f"{name}.json").read_bytes()).get("out") == 0
    except (OSError, orjson.JSONDecodeError):
        return False


def kept_file(output: Path, name: str) -> Path | None:
    """The shard file of kept documents ``name`` in ``output``, if there is one."""
    return next((p for p in sorted(output.glob(f"{glob.escape(name)}.*")) if is_shard(p)), None)


def announce_redo(stage: Any, todo: Todo, output: Path) -> None:
    """Say, before any work, that done shards are made again and why (stderr, above any bar)."""
    if todo.redone:
        tqdm.write(
            f"{stage_label(stage)}: redoing {todo.redone} shard(s) in {output} made with other settings: "
            f"{'; '.join(todo.reasons[:6])}",
            file=sys.stderr,
        )


def begin_stage(stage: Any, units: Sequence[_Unit], output: Path, todo: Todo) -> None:
    """Before any shard changes: remove the manifest, so it never describes bytes it did not see, and
    the shards an earlier run made from inputs this run no longer has, so no later stage reads them."""
    names = {u.name for u in units}
    done = output / "_done"
    orphans = sorted(p.name for p in done.iterdir() if ".tmp-" not in p.name and p.name not in names) \
        if done.is_dir() else []
    for name in orphans:
        for directory in (output, output / "rejected"):
            for path in directory.glob(f"{name}.*"):
                if path.is_file():
                    path.unlink()
        (output / "_stats" / f"{name}.json").unlink(missing_ok=True)
        (done / name).unlink(missing_ok=True)
    if orphans:
        tqdm.write(f"{stage_label(stage)}: removed {len(orphans)} shard(s) from {output} whose input is no longer "
                   f"given: {', '.join(orphans[:5])}{' ...' if len(orphans) > 5 else ''}", file=sys.stderr)
    if todo.units or orphans:
        (output / "_manifest.json").unlink(missing_ok=True)


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
    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    units = plan_units(stage, [Path(p) for p in inputs])
    if not units:
        raise StageError(f"stage {stage.name}: no input shards found in {', '.join(map(str, inputs))}"
                         + "".join(no_shards_hint(p) for p in inputs))
    plan = plan_todo(stage, units, output, force=force)
    announce_redo(stage, plan, output)
    begin_stage(stage, units, output, plan)
    if hasattr(stage, "prepare"):
        stage = stage.prepare(
            [u.source for u in units], output, workers=workers, force=plan.force_prepare, progress=progress
        )
    todo = plan.units

    bar = progress_bar(stage_label(stage), todo, progress)
    tasks = [(process_unit, (stage, u, output, suffix), {"marker": plan.markers[u.name]}) for u in todo]
    _run_tasks(tasks, workers=workers, bar=bar)
    return finish_stage(stage, units, len(units) - len(todo), inputs, output, started, plan)


def _run_tasks(tasks: Sequence[tuple[Callable[..., Any], tuple, dict]], *, workers: int, bar: StageBar) -> list[Any]:
    """Run ``fn(*args, tick=..., **kwargs)`` for every task over ``workers`` processes and return the
    results (in any order); workers report bytes read through a queue that a thread here adds to ``bar``."""
    try:
        if workers <= 1 or len(tasks) <= 1:
            return [fn(*args, tick=bar.advance, **kwargs) for fn, args, kwargs in tasks]
        queue = multiprocessing.get_context("fork").SimpleQueue() if hasattr(os, "fork") else None
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set() or (queue is not None and not queue.empty()):
                if queue is not None and not queue.empty():
                    bar.advance(queue.get())
                else:
                    time.sleep(0.05)

        drainer = threading.Thread(target=drain, daemon=True)
        drainer.start()
        try:
            with _pool(min(workers, len(tasks)), _init_worker, (queue,)) as pool:
                return list(pool.imap_unordered(_worker_task, tasks))
        finally:
            stop.set()
            drainer.join()
    finally:
        bar.close()


class StageBar(tqdm):
    """The stage's bar: bytes of input read, out of the bytes of the shards to do, with an ETA."""

    def advance(self, n: int) -> None:
        """Add ``n`` bytes; 0 still redraws, so elapsed time and rate move during a slow shard."""
        if n:
            self.update(n)
        else:
            self.refresh()


def progress_bar(label: str, todo: Sequence[_Unit], progress: bool) -> StageBar:
    """A bar over the input bytes of ``todo`` that redraws at least once a second."""
    total = sum(unit_bytes(u.source) for u in todo) if progress else 0
    return StageBar(total=total, desc=f"{label:>12}", unit="B", unit_scale=True, unit_divisor=1024,
                    disable=not progress, mininterval=0.5, smoothing=0.1)


def finish_stage(
    stage: Any,
    units: list[_Unit],
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
    if hasattr(stage, "finalize"):
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
    if getattr(stage, "conform", conform_doc) is not None:
        write_dataset_card(output)  # `load_dataset(output)` then reads the shards with the declared features
    return report


# ---------------------------------------------------------------------------------------------------
# fused document stages: one pass over each shard for consecutive per-document stages
# ---------------------------------------------------------------------------------------------------


def fusable(stage: Any) -> bool:
    """A per-document stage with no global or final step (clean, filter, pii, stats): it can share a pass."""
    return _stage_kind(stage) == "docs" and not any(hasattr(stage, a) for a in ("prepare", "finalize", "run_once"))


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


def _handoff(docs: Iterable[dict], path: Path, stats: dict[str, int], sizes: dict[int, int], k: int,
             conform: Callable[[dict], dict] | None) -> Iterator[dict]:
    """Hand stage ``k``'s kept documents to the next stage exactly as it would read them from ``path``.

    A JSON round trip through the shard reader's own line parser, after the stage's meta conformance
    (``conform``, as its ShardWriter applies it), so tuples become lists, ``default=str`` values strings,
    declared keys are checked and a missing ``meta`` or ``source`` is filled in, as on disk; it also
    counts the stage's ``out`` and ``bytes_out`` as its ShardWriter would. (orjson does this at hundreds
    of MB/s, far below the stages' own cost.)
    """
    for lineno, doc in enumerate(docs, start=1):
        line = orjson.dumps(conform(doc) if conform is not None else doc, default=str)
        stats["out"] += 1
        sizes[k] += len(line) + 1
        yield _parse_line(path, lineno, line, True)


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
            _remove_stale_temporaries(outputs[k], name)
            old = kept_file(outputs[k], name) if k != final else None
            if old is not None:  # made with other settings by an unfused run: no later run may take it as done
                old.unlink()
    stats = {k: {"in": 0, "out": 0, "rejected": 0} for k in span}
    reasons = {k: Counter() for k in span}
    counters = {k: Counter() for k in span}
    sizes = dict.fromkeys(span, 0)
    clocks = dict.fromkeys([shard.first - 1, *span], 0.0)
    sources = {k: shard.source if k == shard.first else outputs[k - 1] / f"{name}{DEFAULT_SUFFIX}" for k in span}
    # Each stage's meta conformance, as run_stage's writers apply it (corpus/schema.py).
    conforms = [getattr(stage, "conform", conform_doc) for stage in stages]
    try:
        with contextlib.ExitStack() as files:
            docs: Iterator[dict] = _clocked(iter(_counted(read_docs(shard.source), _Unit(shard.source, name), tick)),
                                            clocks, shard.first - 1)
            for k in span:
                stage = stages[k].for_shard(name) if hasattr(stages[k], "for_shard") else stages[k]
                write_rejected = _discard
                if shard.write[k]:
                    rejected = ShardWriter(outputs[k] / "rejected" / f"{name}{DEFAULT_SUFFIX}",
                                           conform=conforms[k], write_empty=False)
                    write_rejected = files.enter_context(rejected).write
                if k > shard.first:
                    docs = _handoff(docs, sources[k], stats[k - 1], sizes, k - 1, conforms[k - 1])
                valid = _split(docs, write_rejected, stats[k], reasons[k], count_in=True)
                docs = _clocked(_split(stage(valid, counters[k]), write_rejected, stats[k], reasons[k], count_in=False),
                                clocks, k)
            if shard.last == final:
                writer = files.enter_context(ShardWriter(outputs[final] / f"{name}{DEFAULT_SUFFIX}",
                                                         conform=conforms[final], write_empty=False))
                for doc in docs:
                    writer.write(doc)
                stats[final]["out"], sizes[final] = writer.count, writer.bytes_written
            else:  # the later stages are done: this pass only remade earlier stages' files
                for _ in _handoff(docs, outputs[shard.last] / f"{name}{DEFAULT_SUFFIX}", stats[shard.last], sizes,
                                  shard.last, conforms[shard.last]):
                    pass
    except Exception as err:
        labels = "+".join(stage_label(s) for s in stages)
        raise StageError(f"fused stages {labels} failed on {shard.source} ({name}): {err!r}") from err

    seconds = [0.0] * len(stages)
    for k in span:
        seconds[k] = clocks[k] - (clocks[k - 1] if k > shard.first else 0.0)
    seconds[shard.last] += time.perf_counter() - started - clocks[shard.last]
    # As unfused: a stage after one that kept nothing of the shard has no input shard, so no files.
    absent = [k for k in span if k > shard.first and stats[k - 1]["out"] == 0]
    for k in span:
        if k in absent:
            continue
        if shard.write[k]:
            record = _stats_record(stages[k], _Unit(sources[k], name), stats[k], reasons[k], counters[k], sizes[k],
                                   seconds[k])
            _write_done(outputs[k], name, record, markers[k])
    return {"shard": name, "seconds": seconds, "absent": absent}


@dataclasses.dataclass
class FusedPlan:
    """What a fused run will do: each stage's units, inputs and plan, and the shards' passes."""

    stages: list[Any]
    outputs: list[Path]
    units: list[list[_Unit]]
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
        raise StageError(f"stage {stages[0].name}: no input shards found in {', '.join(map(str, inputs))}"
                         + "".join(no_shards_hint(p) for p in inputs))
    final = len(stages) - 1
    # Stage k > 0 reads the shards stage k-1 would have written: same names, same marker chain.
    stage_units = [units] + [[_Unit(outputs[k - 1] / f"{u.name}{DEFAULT_SUFFIX}", u.name) for u in units]
                             for k in range(1, len(stages))]
    plans: list[Todo] = []
    identities: dict[str, str] | None = None
    for k, stage in enumerate(stages):
        if k:
            # As unfused: a shard the previous stage kept nothing of (done, no file) is no input here.
            current = {u.name for u in stage_units[k - 1]} - {u.name for u in plans[-1].units}
            stage_units[k] = [u for u in stage_units[k]
                              if not (u.name in current and _kept_nothing(outputs[k - 1], u.name))]
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
    bar = progress_bar(plan.label, [_Unit(s.source, s.name) for s in plan.shards], progress)
    passes = _run_tasks([(process_fused, args, {}) for args in plan.tasks()], workers=workers, bar=bar)
    return finish_fused(plan, passes)
