"""One line for an error: the OS error (path, cause and a hint) under any wrapper, else the message.

The command line prints ``Error: <line>`` instead of a traceback (``cli.KnowforgeGroup``); a stage's
failure keeps the stage and shard it names (``StageError``) and adds the OS cause.
"""

from __future__ import annotations

import errno

# Hints for the OS errors a run meets on the way (disk full, permissions, read-only mounts).
OS_ERROR_HINTS = {
    errno.ENOSPC: "the disk is full: free space or write elsewhere (-o / -w)",
    errno.EDQUOT: "the disk quota is exhausted: free space or write elsewhere (-o / -w)",
    errno.EACCES: "permission denied: choose a directory you can write to, or fix its permissions",
    errno.EPERM: "operation not permitted: choose a directory you can write to",
    errno.EROFS: "the file system is read-only: write elsewhere (-o / -w)",
    errno.ENOENT: "no such file or directory",
    errno.EISDIR: "a directory is where a file was expected",
    errno.ENOTDIR: "a file is where a directory was expected",
}


def _os_error_line(err: OSError) -> str:
    """``PATH: cause (hint)`` for an OS error, e.g. ``out/part-00000.jsonl.zst: No space left on device``."""
    where = " -> ".join(str(f) for f in (err.filename, err.filename2) if f is not None)
    cause = err.strerror or str(err)
    hint = OS_ERROR_HINTS.get(err.errno or 0)
    text = f"{where}: {cause}" if where else cause
    return f"{text} ({hint})" if hint and hint.lower() != cause.lower() else text


def error_line(err: BaseException) -> str:
    """One line saying what went wrong: the OS error (path and cause) under any wrapper, else the message.

    A stage's failure keeps its stage and shard (StageError's message) and adds the OS cause if any.
    """
    from corpus.runner import StageError

    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, OSError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError) and cause.errno is not None:
        # "stage pack failed on IN (part-00000): " names where; the OS error says what and why.
        where = str(err).split("): ", 1)[0] + "): " if isinstance(err, StageError) and "): " in str(err) else ""
        return where + _os_error_line(cause)
    text = str(err) or type(err).__name__
    if not isinstance(err, StageError | ValueError) or not str(err):
        text = f"{type(err).__name__}: {text}"
    return " ".join(text.split())
