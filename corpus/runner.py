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
run fused (``corpus.fused.run_fused``): one pass per shard, each stage writing its own files but only the last its
kept documents, with the bytes and markers of an unfused run.
"""

from __future__ import annotations

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
from corpus.card import write_dataset_card
from corpus.fingerprint import changes, input_identity, make_marker, read_marker, stage_options, stage_parts
from corpus.lock import holds_output_lock
from corpus.records import rejection
from corpus.schema import conform_doc
from corpus.shards import (
    DEFAULT_SUFFIX,
    ShardWriter,
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
