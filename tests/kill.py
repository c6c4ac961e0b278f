"""The kill harness: run a driver script in a subprocess, SIGKILL it (workers too) mid-run, run it again.

Shared by the tests that a killed run leaves nothing a rerun cannot finish byte for byte
(tests/corpus/test_runner.py, test_fuse.py, test_lock.py). Scripts run with this checkout first on
``PYTHONPATH``, in their own session, so one ``killpg`` takes the driver and its worker processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}


def start(script: Path, *args: object, **popen: object) -> subprocess.Popen:
    """Start ``python script args...`` in a new session (its own process group)."""
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], env=ENV, start_new_session=True,
                            **popen)  # type: ignore[call-overload]


def run(script: Path, *args: object, timeout: float = 300) -> int:
    """Run ``python script args...`` to the end and return its exit code (``-SIGKILL`` if it killed itself)."""
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=ENV, timeout=timeout).returncode


def entries(directory: Path) -> int:
    """How many entries ``directory`` has (0 while it does not exist): done markers written so far."""
    return len(list(directory.iterdir())) if directory.is_dir() else 0


def kill_when(proc: subprocess.Popen, ready: Callable[[], bool], *, timeout: float = 60) -> None:
    """Wait until ``ready()`` (at most ``timeout`` seconds), then SIGKILL the process's whole group."""
    deadline = time.time() + timeout
    while time.time() < deadline and not ready():
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: driver and workers
    proc.wait()


def kill_mid_run_then_rerun(script: Path, src: Path, reference: Path, killed: Path, *, done: Path, shards: int,
                            timeout: float = 120) -> None:
    """``script SRC OUT`` into ``reference`` to the end; into ``killed`` SIGKILLed once two of its ``shards``
    are done (``done``: the marker directory watched), then run again to the end.

    Fails unless the kill landed mid-run (some shards done, not all) and both runs end cleanly; the
    caller then compares the two output trees.
    """
    assert start(script, src, reference).wait(timeout=timeout) == 0
    kill_when(start(script, src, killed), lambda: entries(done) >= 2)
    assert 0 < entries(done) < shards, "the kill should land mid-run"
    assert start(script, src, killed).wait(timeout=timeout) == 0
