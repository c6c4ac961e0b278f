"""The global step: count over all shards, then filter shard by shard (dedup-exact, dedup-lines, dedup, score).

A global stage's ``prepare`` is :func:`global_step`: a picklable per-shard *count* job runs over every
input shard through the engine's ``ShardMap`` (worker processes locally, tasks on Ray: the one hook an
engine gives), writing its result under ``OUTPUT/_<stage>/`` (reused on rerun unless forced, so a killed
run resumes); then one *decide* call on the driver reads all counts (``stacked``) and writes what each
shard's pass needs. The stage comes back bound to that state (``CountThenFilter``), and the runner
binds it to each shard (``for_shard``) before the per-shard pass.

Positions, the invariant every removal list relies on: a count job numbers a shard's documents as the
per-shard pass will see them, and the runner gives a document stage only the *valid* documents
(``corpus.runner.process_unit`` sends rejected placeholders, unreadable lines and upstream rejections
straight to ``rejected/``). So count jobs read through :func:`valid_docs`, and position n in a removal
list is the n-th document the stage's ``__call__`` is given, not the n-th line of the file.

Memory: on the local engine the decide call runs in a forked child that exits when it is done, so the
arrays it builds (O(documents) in dedup) never grow the driver's heap, which CPython and glibc rarely give
back and which every later stage's forked workers would inherit (issue #20, RESULTS.md "mem6").
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from corpus.contract import ShardMap, internal
from corpus.pool import ProcessShardMap
from corpus.records import rejection
from corpus.shards import read_docs

S = TypeVar("S", bound="CountThenFilter")
DECISION_NAME = "kf-decide"  # the decision child's process name (Linux allows 15 characters)
T = TypeVar("T")


def valid_docs(shard: Path) -> Iterator[dict[str, Any]]:
    """The documents of ``shard`` that its per-shard pass will be given, in that order (see module doc)."""
    return (doc for doc in read_docs(shard) if rejection(doc) is None)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CountThenFilter:
    """The two fields the runner sets on a global stage, and the binding both passes share.

    ``state_dir`` is set by ``prepare`` (where the decision is: a directory, or dedup-lines' one file),
    ``shard`` by ``for_shard``; neither is a user option (``internal``), so neither is fingerprinted.
    """

    state_dir: str | None = internal()
    shard: str | None = internal()

    def for_shard(self: S, name: str) -> S:
        """A copy bound to shard ``name`` (the runner calls this before the per-shard pass)."""
        return dataclasses.replace(self, shard=name)

    def bound(self) -> tuple[Path, str]:
        """``(state, shard)`` for the per-shard pass; an unprepared or unbound stage is a programming error."""
        if self.state_dir is None or self.shard is None:
            name = getattr(self, "name", type(self).__name__)
            raise RuntimeError(f"{name} runs through the runner, which calls prepare() and for_shard()")
        return Path(self.state_dir), self.shard


def global_step(stage: S, shards: Sequence[Path], *, state: Path, each: ShardMap, count: Callable[[Path], T],
                decide: Callable[[list[T]], Path | None], desc: str) -> S:
    """Count over all shards, decide once, and return ``stage`` bound to the decision.

    ``count(shard)`` runs per shard through ``each`` (results in shard order) and writes under ``state``
    (created here); ``decide(counts)`` runs once on the driver, writes each shard's part, and returns
    where the per-shard pass finds it (None: ``state`` itself).
    """
    state.mkdir(parents=True, exist_ok=True)
    counts = each(count, list(shards), desc=desc)
    # Only the local engine's decision moves to a child: on Ray the driver must stay the Ray client.
    where = in_child(decide, counts) if isinstance(each, ProcessShardMap) else decide(counts)
    return dataclasses.replace(stage, state_dir=str(where if where is not None else state))


def in_child(fn: Callable[[T], Any], arg: T) -> Any:
    """``fn(arg)`` in a forked child process that exits after it, so what ``fn`` allocates is returned to
    the OS; the result (small and picklable: a decision's path) comes back through a pipe, and an
    exception is raised here with its type. Where ``fork`` is missing, ``fn(arg)`` runs here."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return fn(arg)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_run_and_send, args=(fn, arg, send), name="knowforge-decide")
    child.start()
    send.close()  # only the child writes: if it dies, recv() below sees end of file instead of hanging
    try:
        try:
            ok, value = pickle.loads(receive.recv_bytes())
        except EOFError:
            ok, value = False, None
    finally:
        child.join()
        receive.close()
    if ok:
        return value
    if value is None:  # killed (out of memory, a signal) before it could say why
        raise RuntimeError(f"the global step's decision process died with exit code {child.exitcode}")
    raise value


def _run_and_send(fn: Callable[[Any], Any], arg: Any, send: Any) -> None:
    try:  # named in ps/top (and benchmarks/scale.py's per-process peaks), else it looks like the driver
        with open("/proc/self/comm", "w") as f:
            f.write(DECISION_NAME)
    except OSError:  # not Linux: the name is only a label
        pass
    try:
        message = (True, fn(arg))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the driver, which raises it
        message = (False, error)
    try:
        payload = pickle.dumps(message)
    except Exception:  # an exception that does not pickle: its type and text still reach the driver
        payload = pickle.dumps((False, RuntimeError(f"{type(message[1]).__name__}: {message[1]}")))
    send.send_bytes(payload)
    send.close()  # multiprocessing then ends the child with os._exit: the driver's atexit handlers stay its own


def stacked(files: Sequence[Path], keys: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Columns ``keys`` of every shard's ``.npz`` count file, concatenated in shard order, and the row
    offsets: shard i's rows are ``offsets[i]:offsets[i + 1]`` (its positions, in order). A stage always has
    at least one shard (the runner stops on none), so there is always a file to take the dtypes from."""
    loaded = [np.load(f) for f in files]
    columns = {k: np.concatenate([z[k] for z in loaded]) for k in keys}
    offsets = np.cumsum([0] + [len(z[keys[0]]) for z in loaded])
    return columns, offsets


def by_shard(offsets: np.ndarray, rows: np.ndarray) -> list[np.ndarray]:
    """For each shard, the mask of ``rows`` (global row numbers) that are its own (order kept)."""
    return [(rows >= offsets[i]) & (rows < offsets[i + 1]) for i in range(len(offsets) - 1)]
