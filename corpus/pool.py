"""Worker processes for the local engine: a stage's shard tasks, a global step's per-shard jobs, ordered maps.

Processes are forked where the platform allows (cheap start-up, loaded modules shared); stages hold no
unpicklable state either way. Shard tasks report bytes read through a queue that a thread in the parent
adds to the stage's bar (``corpus.progress``).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import multiprocessing.pool
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from corpus.progress import StageBar

T = TypeVar("T")

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


@dataclasses.dataclass(frozen=True)
class ProcessShardMap:
    """The local engine's ``corpus.contract.ShardMap``: a global step's per-shard jobs over worker processes."""

    workers: int
    progress: bool

    def __call__(self, job: Callable[[Path], T], shards: Sequence[Path], *, desc: str) -> list[T]:
        return parallel_map(job, shards, workers=self.workers, desc=desc, progress=self.progress)


def run_tasks(tasks: Sequence[tuple[Callable[..., Any], tuple, dict]], *, workers: int, bar: StageBar) -> list[Any]:
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
