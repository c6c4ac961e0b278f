"""What a run of a stage must do: its units (input -> output shard), and which are done with these settings.

A unit is done when its ``_done`` marker records the fingerprint this run would write
(``corpus.fingerprint``); otherwise it is (re)done, and the run says why before any work. Shared by the
local runner, the fused pass and the Ray engine, so all three plan, skip and redo alike.
"""

from __future__ import annotations

import dataclasses
import glob
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from tqdm import tqdm

from corpus.contract import Reader, StageError, has_global_step, source_name, stage_kind, stage_label
from corpus.fingerprint import changes, input_identity, make_marker, read_marker, stage_parts
from corpus.shards import is_shard, list_shards, shard_name

KEPT_NOT_WRITTEN = "kept documents not written (a fused run passed them on in memory)"


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work: an input (shard, raw file or directory) and the output shard it makes."""

    source: Path
    name: str  # output shard name, e.g. part-00003


def plan_units(stage: Any, inputs: Sequence[Path]) -> list[Unit]:
    """The units of work for ``stage``: (input, output shard name) pairs, in a deterministic order."""
    if isinstance(stage, Reader):
        # Shards are named for their source (wiki-00000, wudao-00000, ...) so that the outputs of
        # several readers can feed one stage without name clashes.
        prefix = source_name(stage)
        return [Unit(p, f"{prefix}-{i:05d}") for i, p in enumerate(stage.discover(list(inputs)))]
    units: list[Unit] = []
    for path in inputs:
        files = list_shards(path) if path.is_dir() else [path]
        units.extend(Unit(p, shard_name(p)) for p in files)
    names = [u.name for u in units]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise StageError(
            f"stage {stage.name}: shard names occur in more than one input: {duplicated[:5]}; "
            "give each reader of the same format its own --name"
        )
    return units


def no_units_error(stage: Any, inputs: Sequence[Path]) -> StageError:
    """The setup error for a stage whose inputs hold no shard, with the reason when a fused run is it."""
    return StageError(f"stage {stage.name}: no input shards found in {', '.join(map(str, inputs))}"
                      + "".join(no_shards_hint(Path(p)) for p in inputs))


@dataclasses.dataclass
class Todo:
    """The units a run must (re)do, the marker each will record, and why done ones are redone."""

    units: list[Unit]
    markers: dict[str, dict[str, Any]]
    redone: int = 0
    reasons: list[str] = dataclasses.field(default_factory=list)
    force_prepare: bool = False


def plan_todo(stage: Any, units: Sequence[Unit], output: Path, *, force: bool,
              identities: dict[str, str] | None = None, need_kept: bool = True) -> Todo:
    """Compare every unit's done marker with the fingerprint this run would record.

    A stage with a global step (``prepare``: dedup, scoring) decides each shard from all of its
    inputs, so there every marker carries every input's identity and any stale shard redoes them all.
    ``identities`` gives the inputs' identities when they are not on disk yet (a fused run: the
    upstream markers it is about to write). With ``need_kept``, a done shard whose kept documents are
    not there (a fused run keeps none in an intermediate stage's directory) is made again, so a later
    unfused stage finds its input.
    """
    parts = stage_parts(stage)
    global_step = has_global_step(stage)
    identities = identities or {u.name: input_identity(u.source) for u in units}
    markers = {
        u.name: make_marker(parts, identities if global_step else {u.name: identities[u.name]}) for u in units
    }
    if force:
        return Todo(list(units), markers, force_prepare=True)
    todo: list[Unit] = []
    reasons: list[str] = []
    redone = 0
    for unit in units:
        path = output / "_done" / unit.name
        if not path.exists():
            todo.append(unit)
            continue
        recorded = read_marker(path)
        if recorded is not None and recorded["fingerprint"] == markers[unit.name]["fingerprint"]:
            if not (need_kept and stage_kind(stage) != "sink" and kept_file(output, unit.name) is None
                    and not kept_nothing(output, unit.name)):
                continue
            why = [KEPT_NOT_WRITTEN]
        else:
            why = changes(recorded, markers[unit.name])
        todo.append(unit)
        redone += 1
        reasons.extend(r for r in why if r not in reasons)
    if global_step and redone:
        # Every shard made before is made again, not only the stale ones.
        made_before = sum((output / "_done" / u.name).exists() for u in units)
        return Todo(list(units), markers, redone=made_before, reasons=reasons, force_prepare=True)
    return Todo(todo, markers, redone=redone, reasons=reasons)


def no_shards_hint(directory: Path) -> str:
    """Why a stage directory holds no kept shards, when a fused run is the reason ('' otherwise)."""
    try:
        fused = orjson.loads((Path(directory) / "_manifest.json").read_bytes()).get("fused")
    except (OSError, orjson.JSONDecodeError, AttributeError):
        return ""
    if not fused or fused.get("kept_documents", "").startswith("written"):
        return ""
    return (f"; {directory} was made in a fused run ({'+'.join(fused['stages'])}), which writes kept documents only "
            f"in {fused['outputs'][-1]}: read that, or rerun the chain with --no-fuse")


def kept_nothing(output: Path, name: str) -> bool:
    """The shard's stats say it kept no document: it has no kept file by design (ShardWriter writes none)."""
    try:
        return orjson.loads((output / "_stats" / f"{name}.json").read_bytes()).get("out") == 0
    except (OSError, orjson.JSONDecodeError):
        return False


def kept_file(output: Path, name: str) -> Path | None:
    """The shard file of kept documents ``name`` in ``output``, if there is one."""
    return next((p for p in sorted(output.glob(f"{glob.escape(name)}.*")) if is_shard(p)), None)


def announce_redo(stage: Any, todo: Todo, output: Path) -> None:
    """Say, before any work, that done shards are made again and why (stderr, above any bar)."""
    if todo.redone:
        tqdm.write(
            f"{stage_label(stage)}: redoing {todo.redone} shard(s) in {output} made with other settings: "
            f"{'; '.join(todo.reasons[:6])}",
            file=sys.stderr,
        )


def begin_stage(stage: Any, units: Sequence[Unit], output: Path, todo: Todo) -> None:
    """Before any shard changes: remove the manifest, so it never describes bytes it did not see, and
    the shards an earlier run made from inputs this run no longer has, so no later stage reads them."""
    names = {u.name for u in units}
    done = output / "_done"
    orphans = sorted(p.name for p in done.iterdir() if ".tmp-" not in p.name and p.name not in names) \
        if done.is_dir() else []
    for name in orphans:
        for directory in (output, output / "rejected"):
            for path in directory.glob(f"{name}.*"):
                if path.is_file():
                    path.unlink()
        (output / "_stats" / f"{name}.json").unlink(missing_ok=True)
        (done / name).unlink(missing_ok=True)
    if orphans:
        tqdm.write(f"{stage_label(stage)}: removed {len(orphans)} shard(s) from {output} whose input is no longer "
                   f"given: {', '.join(orphans[:5])}{' ...' if len(orphans) > 5 else ''}", file=sys.stderr)
    if todo.units or orphans:
        (output / "_manifest.json").unlink(missing_ok=True)
