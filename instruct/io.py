"""Instruction files in and out: the one reader, format detector, rejection and atomic writer of ``instruct/``.

Reading takes a JSON array, JSON Lines or one JSON object; what cannot be parsed becomes a
:class:`Rejected` with its reason and where it stood (the line, or the whole file for an array that
does not parse), never a crash and never dropped. Writing goes to ``corpus.shards.temp_path`` and is
renamed into place on commit, so a killed run leaves the previous file (and a temporary the corpus
runner's clean-up recognises), never half a file. Compression and sharding are left to ``corpus``.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from corpus.shards import TEMP_MARK, naming_write_errors, temp_path

FORMAT_ALPACA, FORMAT_SHAREGPT, FORMAT_OPENAI = "alpaca", "sharegpt", "openai"
_HEAD = 4096  # bytes looked at to tell a JSON array from JSON Lines


@dataclass(frozen=True, kw_only=True)
class Rejected:
    """An input record that could not be used, and why: the one shape of a rejection in ``instruct/``.

    ``where`` is human-readable (``train.jsonl:3``, ``train.json[2]``, ``train.json``); ``line`` is the
    1-based line of a JSON Lines record, None elsewhere; ``raw`` is the text or value that was refused.
    """

    reason: str
    detail: str
    where: str
    raw: Any = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line written to a rejected file (``line`` is part of ``where`` already)."""
        return {"reason": self.reason, "detail": self.detail, "where": self.where, "raw": self.raw}


# --- reading ----------------------------------------------------------------------------------------

Loads = Callable[[bytes], Any]


def stdlib_loads(raw: bytes) -> Any:
    """``json.loads``: for records passed through unchanged (translation), since orjson turns integers
    beyond 64 bits into floats and refuses NaN, while the standard library keeps both."""
    return json.loads(raw)


def _parse(raw: bytes, loads: Loads) -> tuple[Any, str | None]:
    """(value, None) or (None, why it does not parse)."""
    try:
        return loads(raw), None
    except RecursionError:
        # e.g. 10,000 nested arrays: deeper than the parser's recursion limit; one record, not the run
        return None, "nested too deeply to parse"
    except ValueError as err:  # json/orjson decode errors and invalid UTF-8 are all ValueErrors
        return None, str(err)


def iter_json_lines(path: Path, *, reason: str, loads: Loads = orjson.loads,
                    objects: bool = False) -> Iterator[tuple[str, Any]]:
    """Yield (``file:line``, parsed value or :class:`Rejected` with ``reason``) for every non-blank line;
    with ``objects``, a value that is not a JSON object is rejected too."""
    name = Path(path).name
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{name}:{lineno}"
            value, problem = _parse(raw, loads)
            if problem is None and objects and not isinstance(value, dict):
                problem = "not a JSON object"
            if problem is None:
                yield where, value
            else:
                yield where, Rejected(reason=reason, detail=problem, where=where, line=lineno,
                                      raw=raw.decode("utf-8", "replace").rstrip("\n"))


def iter_json_records(path: Path, *, reason: str, loads: Loads = orjson.loads,
                      objects: bool = False) -> Iterator[tuple[str, Any]]:
    """Like :func:`iter_json_lines`, but a file that starts with ``[`` is one JSON array (how Alpaca
    ships: tens of MB at most, read whole) unless it does not parse as one while its first line is a
    whole JSON value (JSON Lines opening with an array line: read line by line), and a file whose first line is ``{`` alone is one
    pretty-printed object, one record (if it does not parse, its lines are read as JSON Lines).

    An array that does not parse is one :class:`Rejected` for the whole file: no item can be trusted.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(_HEAD).lstrip()
        # A pretty-printed object opens with "{" alone on its line; no JSON Lines record does.
        one_object = head.split(b"\n", 1)[0].strip() == b"{"
    if head.startswith(b"["):
        data, problem, more = _first_line(path, loads)
        if problem is None and more:
            # JSON Lines whose first line happens to be an array: judge it line by line, so one odd
            # line does not cost the file's other records.
            yield from iter_json_lines(path, reason=reason, loads=loads, objects=objects)
            return
        if problem is not None:  # an array over several lines (or a broken one): the file is one value
            data, problem = _parse(path.read_bytes(), loads)
        if problem is not None or not isinstance(data, list):
            yield path.name, Rejected(reason=reason, detail=problem or "not a JSON array", where=path.name)
            return
        for i, item in enumerate(data):
            where = f"{path.name}[{i}]"
            if objects and not isinstance(item, dict):
                yield where, Rejected(reason=reason, detail="array item is not an object", where=where, raw=item)
            else:
                yield where, item
        return
    if one_object:
        whole, problem = _parse(path.read_bytes(), loads)
        if problem is None and isinstance(whole, dict):
            yield path.name, whole
            return
    yield from iter_json_lines(path, reason=reason, loads=loads, objects=objects)


def _first_line(path: Path, loads: Loads) -> tuple[Any, str | None, bool]:
    """The file's first non-blank line parsed alone, ``(value, None)`` or ``(None, why not)``, and whether
    a non-blank line follows it: a line that is a whole value with more lines after it opens JSON Lines;
    a whole value alone is the file; one that does not parse opens a multi-line array."""
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                value, problem = _parse(line, loads)
                return value, problem, any(rest.strip() for rest in fh)
    return None, "empty file", False


def read_records(path: Path) -> list[dict[str, Any]]:
    """All records of an instruction file as a list, for tools that need the whole set (select, mix,
    split, tokenize): a record that cannot be read stops them with its place (``file.jsonl:2``),
    since a half-read training set is worse than a stopped run."""
    rows = []
    for where, value in iter_json_records(path, reason="bad_json"):
        if isinstance(value, Rejected):
            place = f"{path}:{value.line}" if value.line is not None else str(path)
            raise ValueError(f"{place}: bad JSON line: {value.detail}")
        if not isinstance(value, dict):
            raise ValueError(f"{path}: every record must be a JSON object ({where} is not)")
        rows.append(value)
    return rows


def count_records(path: Path) -> int | None:
    """Number of records for a progress bar (JSON Lines: non-blank lines; an array: its length, parsed
    once more: arrays are tens of MB at most, and a bar without a total has no ETA); None if unknown."""
    with open(path, "rb") as handle:
        if handle.read(_HEAD).lstrip().startswith(b"["):
            data, problem, more = _first_line(Path(path), stdlib_loads)
            if problem is not None or not more:  # not JSON Lines: the file is one value
                if problem is not None:  # an array over several lines, or a broken one (one rejection)
                    data, problem = _parse(Path(path).read_bytes(), stdlib_loads)
                return len(data) if problem is None and isinstance(data, list) else None
        handle.seek(0)
        return sum(1 for line in handle if line.strip())


# --- formats ----------------------------------------------------------------------------------------


def detect_format(record: Mapping[str, Any]) -> str | None:
    """``sharegpt``, ``openai``, ``alpaca`` or None (none of them), from the keys a record carries.

    One precedence for every reader: a conversation list wins over ``instruction``. Released ShareGPT
    and OpenAI ``messages`` sets sometimes keep the seed prompt in an ``instruction`` field beside the
    turns, while no Alpaca release carries a ``conversations`` or ``messages`` list; so a record with a
    list of turns is a conversation, whatever else it holds.
    """
    if isinstance(record.get("conversations"), list):
        return FORMAT_SHAREGPT
    if isinstance(record.get("messages"), list):
        return FORMAT_OPENAI
    if "instruction" in record:
        return FORMAT_ALPACA
    return None


def sidecar_path(output: Path, suffix: str) -> Path:
    """A file beside ``output`` named for its stem: ``out.json`` + ``.failures.jsonl`` -> ``out.failures.jsonl``."""
    return output.with_name(output.name.split(".")[0] + suffix)


# --- writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Layout:
    """How records become bytes. ``dumps`` encodes one record; a JSON array is ``open``, then each record
    after ``first`` or ``sep``, then ``close``. JSON Lines is one ``dumps`` per line."""

    dumps: Callable[[Any], bytes]
    open: bytes
    first: bytes
    sep: bytes
    close: bytes


def _spaced_dumps(record: Any) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


# Training files (IE records, instruction rows, SFT sets): orjson, one record per line inside an array,
# so an array file is valid JSON and diffs line by line.
COMPACT = Layout(dumps=orjson.dumps, open=b"[\n", first=b"", sep=b",\n", close=b"\n]\n")
# LLM job outputs (translation, generation): the standard library's ``", "``/``": "`` spacing, an array
# indented by two: records passed through keep what orjson cannot encode (see :func:`stdlib_loads`).
SPACED = Layout(dumps=_spaced_dumps, open=b"[", first=b"\n  ", sep=b",\n  ", close=b"\n]\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporaries of ``path`` that killed runs left (their PID is gone); return them.

    Instruction files have no output lock, so unlike ``corpus.shards.remove_temporaries`` this looks
    only at ``path``'s own temporaries and spares those of a process still running.
    """
    removed = []
    prefix = path.name + TEMP_MARK
    if not path.parent.is_dir():
        return removed
    for other in path.parent.iterdir():
        pid = other.name[len(prefix):] if other.name.startswith(prefix) else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                other.unlink()
                removed.append(other)
    return removed


class RecordWriter:
    """Records to ``path`` through a temporary name: a JSON array when ``array`` (default: the path ends
    in ``.json``), else JSON Lines. :meth:`commit` renames it into place, :meth:`abort` deletes it; as a
    context manager it commits on success and aborts on an exception. Temporaries of ``path`` left by
    killed runs are deleted on opening. Write failures (disk full, no permission) come out as
    ``corpus.shards.OutputWriteError`` naming ``path``."""

    def __init__(self, path: Path, *, layout: Layout = COMPACT, array: bool | None = None) -> None:
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.layout = layout
        self.array = self.path.suffix == ".json" if array is None else array
        self.count = 0
        remove_stale_temporaries(self.path)
        with naming_write_errors(self.path, self.tmp):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle: IO[bytes] = open(self.tmp, "wb")  # noqa: SIM115 (closed in commit/abort)
            if self.array:
                self.handle.write(layout.open)

    def write(self, record: Any) -> None:
        """Append one record."""
        data = self.layout.dumps(record)
        with naming_write_errors(self.path, self.tmp):
            if self.array:
                self.handle.write((self.layout.sep if self.count else self.layout.first) + data)
            else:
                self.handle.write(data + b"\n")
        self.count += 1

    def commit(self) -> None:
        """Finish the file and rename it to ``path``."""
        with naming_write_errors(self.path, self.tmp):
            if self.array:
                self.handle.write(self.layout.close)
            self.handle.close()
            os.replace(self.tmp, self.path)

    def abort(self) -> None:
        """Drop what was written; ``path`` keeps its previous content (or stays absent)."""
        self.handle.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_records(path: Path, rows: Iterable[Any], *, layout: Layout = COMPACT, array: bool | None = None) -> int:
    """Write ``rows`` with :class:`RecordWriter` (a JSON array for ``.json``, else JSON Lines), atomically;
    return the count. The bytes depend only on the rows (no timestamps)."""
    with RecordWriter(path, layout=layout, array=array) as writer:
        for row in rows:
            writer.write(row)
    return writer.count


def write_jsonl(path: Path, rows: Iterable[Any]) -> int:
    """Write ``rows`` as JSON Lines whatever the suffix, atomically; returns the count."""
    return write_records(path, rows, array=False)
