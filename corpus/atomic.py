"""Atomic writes: a file appears under its real name only when complete, and a write failure names it.

Everything is written to a temporary beside its target (``temp_path``: the name carries our marker and
the writer's PID) and renamed into place; a run holding its output's lock deletes the temporaries a
killed run left (``remove_temporaries``). A failed write (full disk, read-only file system, lost
permission, numpy's bare short-write ``OSError``) comes out as one ``OutputWriteError`` line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".knowforge-tmp-"  # + PID: see temp_path
_TEMP_NAME = re.compile(re.escape(TEMP_MARK) + r"\d+$")
# An output's lock file (corpus.lock takes it); defined here because remove_temporaries skips the
# subdirectories that hold one, and corpus.lock imports this module: one direction, no circle.
LOCK_NAME = "_lock"


def temp_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed to ``path``.

    ``part-00000.jsonl.zst.knowforge-tmp-4242``: the marker says whose it is and the PID which process
    wrote it, so a run can remove every temporary a killed run left (:func:`remove_temporaries`) and
    never mistake someone else's file for one.
    """
    return path.with_name(f"{path.name}{TEMP_MARK}{os.getpid()}")


def is_temporary(path: Path) -> bool:
    """True for a name made by :func:`temp_path`."""
    return _TEMP_NAME.search(path.name) is not None


def remove_temporaries(root: Path) -> list[Path]:
    """Delete every temporary of ours under ``root`` (recursively) and return what was deleted.

    Only safe while holding ``root``'s lock (``corpus.lock``): then no live writer owns them.
    Subdirectories with a lock file of their own are other outputs and are left alone.
    """
    removed: list[Path] = []
    for directory, subdirs, files in os.walk(root):
        here = Path(directory)
        subdirs[:] = [d for d in subdirs if not (here / d / LOCK_NAME).exists()]
        for name in files:
            if _TEMP_NAME.search(name):
                with contextlib.suppress(FileNotFoundError):
                    (here / name).unlink()
                    removed.append(here / name)
    return removed


class OutputWriteError(OSError):
    """Writing an output failed; the message names the file and the cause in words ("disk full").

    ``errno`` and ``filename`` are those of the error it replaces; the message is the one line.
    """

    def __str__(self) -> str:
        return str(self.args[0])


_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
           errno.EPERM: "permission denied", errno.EROFS: "read-only file system"}
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's message for a short fwrite
FULL_BELOW_BYTES = 1 << 20  # free space under which a short write without an errno is taken for a full disk


def write_error(path: Path, err: OSError) -> OutputWriteError:
    """``err`` (raised while writing ``path``) as one line naming the path and the cause.

    numpy's ``tofile``/``save`` report a full disk as a bare ``OSError("83200 requested and 74736
    written")`` with no errno; then the free space of the file system decides whether it was full.
    """
    cause = _CAUSES.get(err.errno) if err.errno is not None else None
    if cause is None and err.errno is None:
        try:
            fs = os.statvfs(path.parent)
            full = fs.f_bavail * fs.f_frsize < FULL_BELOW_BYTES
        except OSError:
            full = False
        cause = f"disk full ({err})" if full else f"short write ({err})"
    if cause is None:
        cause = err.strerror or str(err)
    if is_temporary(path):
        path = path.with_name(_TEMP_NAME.sub("", path.name))
    made = OutputWriteError(f"cannot write {path}: {cause}")
    made.errno, made.filename = err.errno, str(path)
    return made


def _is_write_failure(err: OSError, ours: tuple[Path, ...]) -> bool:
    """Whether ``err``, raised inside an atomic write of ``ours``, is about writing them (not reading input)."""
    if isinstance(err, OutputWriteError):
        return False  # already says which file and why
    if err.filename is not None and Path(err.filename) not in ours:
        return False  # about another file: an input that could not be read, say
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG):
        return True
    if err.errno in (errno.EACCES, errno.EPERM):
        return err.filename is not None
    return err.errno is None and _SHORT_WRITE.search(str(err)) is not None


@contextlib.contextmanager
def naming_write_errors(path: Path, *also: Path) -> Iterator[None]:
    """Turn a failure to write ``path`` (or ``also``: its temporary) in the block into ``OutputWriteError``.

    For a writer that fills several files at once (pack's merge: ``.bin`` and ``.idx``), so the error
    names the one that failed, not whichever ``atomic_path`` is innermost. Temporary names are shown
    as the real name they stand for.
    """
    try:
        yield
    except OSError as err:
        if _is_write_failure(err, (path, *also)):
            raise write_error(path, err) from err
        raise


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    A failure to write it (full disk, read-only file system, no permission, numpy's short write)
    comes out as :class:`OutputWriteError` naming ``path``; other errors pass through unchanged.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(path, err) from err
    tmp = temp_path(path)
    try:
        with naming_write_errors(path, tmp, path.parent):
            yield tmp
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file, then rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
