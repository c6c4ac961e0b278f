"""What produced a shard: the fingerprint a stage's ``_done/<shard>`` marker records.

A fingerprint has four parts: the stage's options (its constructor fields, which decide its output
bytes; worker counts and engines do not), the content of files those options name (a filter YAML,
a tokenizer, a scoring model), the code (package version and the source of the stage's module and of every module of ours it imports), and the
identity of the input (the upstream marker's fingerprint for a shard a stage wrote, else size and
mtime of a raw file or of the files in a raw directory). A shard whose marker records another
fingerprint is stale and redone; ``changes`` names what differs so the run can say why.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from corpus import __version__
from corpus.imports import PACKAGES, closure, import_graph, module_files
from corpus.shards import shard_name

REPO_ROOT = Path(__file__).resolve().parent.parent  # relative config paths also resolve here (filters do)
MARKER_VERSION = 1  # bumped if the marker's layout changes; older markers then count as stale


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)


def stage_options(stage: Any) -> dict[str, Any]:
    """The user-settable options of a dataclass stage (fields marked internal are the runner's)."""
    if not dataclasses.is_dataclass(stage):
        return {}
    return {
        f.name: getattr(stage, f.name)
        for f in dataclasses.fields(stage)
        if f.init and not f.metadata.get("internal")
    }


def _existing(value: str | Path, base: Path | None = None) -> Path | None:
    """``value`` as a path that exists: as given, beside ``base``, or under the repository root."""
    path = Path(value)
    candidates = [path] if path.is_absolute() else [path, *([base / path] if base else []), REPO_ROOT / path]
    return next((c for c in candidates if c.exists()), None)


def _yaml_references(path: Path) -> list[Path]:
    """Files a YAML config names (a filter route's zh.yaml, word-list directories), resolved like the filters do."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    found: list[Path] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str) and ("/" in node or Path(node).suffix) and (ref := _existing(node, path.parent)):
            found.append(ref)

    walk(data)
    return found


def _path_identity(path: Path, depth: int = 0) -> str:
    """Content hash of a file (a YAML file: with the files it names, three levels deep); for a
    directory, the names, sizes and mtimes of the files in it."""
    if path.is_file():
        h = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        if path.suffix in (".yaml", ".yml") and depth < 3:
            for ref in _yaml_references(path):
                h.update(_path_identity(ref, depth + 1).encode())
        return h.hexdigest()[:16]
    listing = sorted(
        (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*") if p.is_file()
    )
    return _digest(_dumps(listing))


def option_files(options: Mapping[str, Any]) -> dict[str, str]:
    """``{option: content identity}`` for every option whose value names an existing file or directory.

    A filter config path stays the same when its thresholds are edited; its content does not.
    """
    files = {}
    for name, value in options.items():
        # Only values that look like paths: an option such as ``opencc: t2s`` is no file even if
        # the current directory happens to hold one of that name.
        looks_like_path = isinstance(value, str | Path) and ("/" in str(value) or Path(value).suffix)
        if looks_like_path and (path := _existing(value)) is not None:
            files[name] = _path_identity(path)
    return files


@functools.cache
def _package(root: Path) -> tuple[dict[str, Path], dict[str, set[str]]]:
    files = module_files(root, PACKAGES)
    return files, import_graph(files)


def module_code(module: str, root: Path = REPO_ROOT) -> str:
    """Hash of ``module``'s source with that of every module of ours it imports (``corpus.imports``).

    The import graph is read once per process; the files are hashed at each call (a run calls this
    once per stage), so an edit between two runs in one process is seen.
    """
    files, graph = _package(root)
    if module not in files:
        return "unknown"
    return _digest(_dumps({name: _path_identity(files[name]) for name in sorted(closure(module, graph))}))


def code_identity(stage: Any) -> dict[str, str]:
    """The package version and a hash of the stage's module with every module of ours it imports.

    The imports count because a stage's behaviour lives in them too (``clean``'s rules are in
    ``corpus/repair.py``, a filter chain's in ``corpus/filters/*``): editing one makes the shards stale.
    """
    module = type(stage).__module__
    code = module_code(module)
    if code == "unknown":  # a stage defined outside our packages (a user's plug-in, a test): its own file
        try:
            source = inspect.getsourcefile(type(stage))
        except TypeError:
            source = None
        code = _path_identity(Path(source)) if source else "unknown"
    return {"knowforge": __version__, module: code}


def input_identity(source: Path) -> str:
    """Who made ``source``: its upstream marker's fingerprint if a stage wrote it, else size and mtime."""
    marker = source.parent / "_done" / shard_name(source)
    if source.is_file() and marker.is_file():
        recorded = read_marker(marker)
        if recorded is not None:
            return f"shard:{recorded['fingerprint']}"
    if source.is_file():
        stat = source.stat()
        return f"file:{stat.st_size}:{stat.st_mtime_ns}"
    return f"dir:{_path_identity(source)}"


def stage_parts(stage: Any) -> dict[str, Any]:
    """The parts of the fingerprint shared by every shard of one stage run."""
    options = stage_options(stage)
    # JSON round trip: tuples become lists, Paths strings, so a marker read back compares equal.
    return {
        "options": orjson.loads(_dumps(options)),
        "option_files": option_files(options),
        "code": code_identity(stage),
    }


def make_marker(parts: Mapping[str, Any], inputs: Mapping[str, str]) -> dict[str, Any]:
    """A marker: ``parts`` plus the identity of the shard's input(s), and the hash of it all."""
    body = {"version": MARKER_VERSION, **parts, "inputs": dict(inputs)}
    return {"fingerprint": _digest(_dumps(body)), **body}


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker at ``path``, or None when it is missing, empty (an older run) or unreadable."""
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and "fingerprint" in data else None


def _short(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 40 else text[:37] + "..."


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What differs between a recorded marker and the one this run would write, in a few words each."""
    if old is None:
        return ["no fingerprint recorded (made by an older version or an interrupted run)"]
    if old.get("version") != new.get("version"):
        return ["marker format"]
    found = []
    old_options, new_options = old.get("options", {}), new.get("options", {})
    for key in sorted(set(old_options) | set(new_options)):
        if old_options.get(key) != new_options.get(key):
            found.append(f"{key} {_short(old_options.get(key))} -> {_short(new_options.get(key))}")
    old_files, new_files = old.get("option_files", {}), new.get("option_files", {})
    for key in sorted(set(old_files) | set(new_files)):
        if old_files.get(key) != new_files.get(key) and old_options.get(key) == new_options.get(key):
            found.append(f"content of {key} ({new_options.get(key)})")
    if old.get("code") != new.get("code"):
        found.append("code version")
    if old.get("inputs") != new.get("inputs"):
        found.append("input")
    return found
