"""One run per output directory: an advisory ``flock`` on ``OUTPUT/_lock``, held for the whole stage.

Two runs writing one output would delete each other's temporaries and race on the same shards, so a
second run stops at once with a message naming the holder's PID. The kernel drops the lock when its
holder dies, so a killed run never blocks the next one; the PID it left in the file is then reported
as a stale lock taken over. Taking the lock is also the moment a run removes the temporaries a killed
run left anywhere under its output (nobody else can be writing them then).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from corpus.atomic import LOCK_NAME, remove_temporaries

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


class OutputLocked(RuntimeError):
    """Another live run holds the lock on this output directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _holder(handle: Any) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


def _open_locked(path: Path, output: Path) -> Any:
    """Open ``path`` and take its lock, or raise ``OutputLocked`` naming the live holder."""
    while True:
        # Opened without truncation: the PID of a live holder must stay readable for the message.
        handle = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644), "r+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            pid = _holder(handle)
            handle.close()
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            who = f"PID {pid}" if pid is not None else "another process"
            if pid is not None and not _pid_alive(pid):
                who += " (no longer running: its worker processes still hold the lock; stop them)"
            raise OutputLocked(
                f"{output} is in use by another run ({who}); wait for it to finish or use another output"
            ) from None
        # The holder we waited on may have deleted the file on release: then this lock is on a
        # file nobody else will open, so start again with the file now at ``path``.
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return handle
        handle.close()


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[Path]:
    """Hold the lock on ``output`` (created if missing) for the block; raise ``OutputLocked`` if taken.

    On entry the temporaries of killed runs under ``output`` are removed. While held, the lock file
    names the holder's PID; it is deleted on release, so a lock file found with a dead PID in it is
    the trace of a killed run (reported, then taken over).
    """
    output.mkdir(parents=True, exist_ok=True)
    path = output / LOCK_NAME
    handle = _open_locked(path, output)
    try:
        previous = _holder(handle)
        if previous is not None and previous != os.getpid() and not _pid_alive(previous):
            logger.warning("%s: taking over the stale lock of PID %d (a killed run)", output, previous)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        removed = remove_temporaries(output)
        if removed:
            logger.info("%s: removed %d temporaries of killed runs", output, len(removed))
        yield path
    finally:
        path.unlink(missing_ok=True)  # before unlocking: see _open_locked
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)  # also for copies of the descriptor forked workers hold
        handle.close()


def holds_output_lock(run: F) -> F:
    """Decorate a stage runner whose ``output`` keyword names its output: run it under ``output_lock``."""

    @functools.wraps(run)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with output_lock(Path(kwargs["output"])):
            return run(*args, **kwargs)

    return locked  # type: ignore[return-value]


def holds_output_locks(run: F) -> F:
    """Like :func:`holds_output_lock`, for a runner of several outputs (its ``outputs`` keyword, e.g. a
    fused pass): every output is locked, in order, before the run starts, and released after it."""

    @functools.wraps(run)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with contextlib.ExitStack() as stack:
            for output in kwargs["outputs"]:
                stack.enter_context(output_lock(Path(output)))
            return run(*args, **kwargs)

    return locked  # type: ignore[return-value]
