"""Progress of a stage: bytes of input read, out of the bytes of the shards to do, with an ETA.

Workers report how far they have read (``counted``) at most every ``PROGRESS_SECONDS``; for a shard an
earlier stage wrote, the share of its documents seen (its count is in that stage's ``_stats``), for raw
input the kernel's offset of the file the worker has open (``/proc/self/fdinfo``, so it works for every
reader and decompressor). Elsewhere than Linux, or for a directory unit, a unit counts when it ends.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import orjson
from tqdm import tqdm

from corpus.shards import shard_name

PROGRESS_SECONDS = 0.25  # how often a worker reports how far it has read (keeps queue traffic tiny)


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


def counted(docs: Iterable[dict], source: Path, tick: Callable[[int], None] | None) -> Iterator[dict]:
    """Pass ``docs`` (read from ``source``) through, reporting read progress in bytes at most every
    PROGRESS_SECONDS.

    A report may be 0 (nothing new read): the parent still refreshes the bar, so time keeps moving.
    The reports of one unit add up to its size exactly.
    """
    if tick is None:
        yield from docs
        return
    size = unit_bytes(source)
    # A shard an earlier stage wrote has its document count in that stage's _stats: progress is then
    # the share of documents seen (a small compressed shard is read in one gulp, so its offset says
    # little). Raw input has no count: the read offset it is.
    count = upstream_count(source)
    position = _ReadPosition(source)
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


class StageBar(tqdm):
    """The stage's bar: bytes of input read, out of the bytes of the shards to do, with an ETA."""

    def advance(self, n: int) -> None:
        """Add ``n`` bytes; 0 still redraws, so elapsed time and rate move during a slow shard."""
        if n:
            self.update(n)
        else:
            self.refresh()


def progress_bar(label: str, sources: Sequence[Path], progress: bool) -> StageBar:
    """A bar over the input bytes of ``sources`` (the units to do) that redraws at least once a second."""
    total = sum(unit_bytes(s) for s in sources) if progress else 0
    return StageBar(total=total, desc=f"{label:>12}", unit="B", unit_scale=True, unit_divisor=1024,
                    disable=not progress, mininterval=0.5, smoothing=0.1)
