"""The manifest an instruction build writes beside its output: ``NAME.jsonl`` -> ``NAME.jsonl.meta.json``.

It records what made the file (style, task, language, split, output format, every build option) and the
file's sha256, so evaluation reads the instruction style instead of guessing it from the instruction
text. The full file name (not the stem, as ``.stats.json`` uses) keeps ``re.json`` and ``re.jsonl`` apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic

SUFFIX = ".meta.json"


def manifest_path(output: Path) -> Path:
    """The manifest beside an instruction file: its full name plus ``.meta.json``."""
    output = Path(output)
    return output.with_name(output.name + SUFFIX)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks (instruction files can be large)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _plain(value: Any) -> Any:
    """Options as JSON: paths as strings, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def write_manifest(output: Path, *, rows: int, options: Mapping[str, Any]) -> Path:
    """Write the manifest of ``output`` (already written) from the build ``options``; return its path.

    ``style``, ``task``, ``lang``, ``split`` and ``output_format`` are copied to the top level, where
    evaluation looks them up; ``options`` keeps every option as given.
    """
    output = Path(output)
    top = {key: options.get(key) for key in ("style", "task", "lang", "split", "output_format")}
    data = {"file": output.name, "sha256": file_sha256(output), "rows": rows, **top,
            "options": {key: _plain(value) for key, value in options.items()}}
    path = manifest_path(output)
    write_bytes_atomic(path, orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return path


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest describing the bytes of ``path`` now, or None.

    None when there is none, when it cannot be read, or when it names another file or other bytes (the
    file was edited or replaced after the build): a manifest that might describe something else is
    worse than none, since evaluation then falls back to reading the rows themselves.
    """
    path = Path(path)
    side = manifest_path(path)
    try:
        data = orjson.loads(side.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("file") != path.name:
        return None
    return data if data.get("sha256") == file_sha256(path) else None
