"""The runner contract: the kinds of stage as Protocols, and the one place a stage's kind is decided.

A stage is a frozen keyword-only dataclass (or any object) that satisfies one of the kind Protocols
below; the runner (``corpus.runner``), the fused pass (``corpus.fused``) and the Ray engine dispatch on
``isinstance(stage, Protocol)`` through :func:`stage_kind` and the capability checks here, never on
attribute names spelt out at the call site. docs/architecture.md, "The runner contract", says the same
with the invariants each kind may rely on.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol, TypeVar, runtime_checkable

from corpus.schema import conform_doc

T = TypeVar("T")


@runtime_checkable
class DocStage(Protocol):
    """Maps a shard's documents to documents; rejects by marking ``meta.reject`` (see corpus.records).

    It sees only the shard's valid documents (the runner routes rejected placeholders to ``rejected/``
    before the stage), in file order: the n-th document it is given is the n-th valid one.
    """

    name: ClassVar[str]

    def __call__(self, docs: Iterator[dict], counters: Counter) -> Iterator[dict]: ...


@runtime_checkable
class Reader(Protocol):
    """Turns raw input units (files or directories) into documents, one output shard per unit.

    Output shards are named ``<source_name or name>-NNNNN``; a reader may define ``source_name``.
    """

    name: ClassVar[str]

    def discover(self, paths: Sequence[Path]) -> list[Path]: ...

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict]: ...


@runtime_checkable
class Sink(Protocol):
    """Writes its own files for a shard (pack's ``.bin/.idx``, score's buckets) from the valid documents.

    The runner counts the documents the sink takes from ``docs`` as the shard's ``out``.
    """

    name: ClassVar[str]

    def write_shard(self, docs: Iterator[dict], out_stem: Path, counters: Counter) -> None: ...


@runtime_checkable
class RunsOnce(Protocol):
    """A step over whole outputs, not shards (pack's merge): the pipeline calls it once, on any engine."""

    name: ClassVar[str]

    def run_once(self, inputs: Sequence[Path], output: Path) -> Any: ...


class ShardMap(Protocol):
    """``[job(shard) for shard in shards]``, in order, run where the engine runs work (processes, Ray tasks).

    ``job`` is picklable and writes its result under the stage's output; ``desc`` labels the progress bar.
    """

    def __call__(self, job: Callable[[Path], T], shards: Sequence[Path], *, desc: str) -> list[T]: ...


@runtime_checkable
class GlobalStep(Protocol):
    """A stage that decides each shard from all shards (dedup, dedup-exact, dedup-lines, score with buckets).

    ``prepare`` runs once, before the per-shard pass, over every input shard (``each`` maps a per-shard
    job over them) and returns the stage bound to what it decided (``corpus.globalstep``). Its done
    markers carry every input's identity, so any stale shard redoes the whole stage.
    """

    def prepare(self, shards: list[Path], output: Path, *, each: ShardMap, force: bool) -> Any: ...


@runtime_checkable
class ShardBound(Protocol):
    """A stage that needs to know which shard it is about to process (dedup looks up its removal list)."""

    def for_shard(self, name: str) -> Any: ...


@runtime_checkable
class Finalizer(Protocol):
    """A stage with a last step once every shard is done (pack merges its parts)."""

    def finalize(self, output: Path, stems: list[Path], counters: Counter) -> None: ...


@runtime_checkable
class ChecksInputs(Protocol):
    """A stage that can tell from its inputs alone that it cannot run (merge: one type per input).

    The pipeline calls it while planning, before any stage runs; a ValueError becomes a ConfigError.
    """

    def check_inputs(self, inputs: Sequence[Path]) -> None: ...


Kind = Literal["reader", "sink", "docs", "once"]


class StageError(RuntimeError):
    """A stage failed on a shard, or an object is not a stage; the message names both."""


def stage_kind(stage: Any) -> Kind:
    """Which kind of stage ``stage`` is; a reader is checked first (it is also callable), then a sink."""
    if isinstance(stage, Reader):
        return "reader"
    if isinstance(stage, Sink):
        return "sink"
    if isinstance(stage, DocStage):
        return "docs"
    if isinstance(stage, RunsOnce):
        return "once"
    raise StageError(f"{stage!r} is not a stage: it needs a name and __call__, discover, write_shard or run_once "
                     "(corpus/contract.py)")


def has_global_step(stage: Any) -> bool:
    """Whether the stage decides each shard from all of them (``prepare``): see :class:`GlobalStep`."""
    return isinstance(stage, GlobalStep)


def for_shard(stage: Any, name: str) -> Any:
    """The stage bound to shard ``name`` when it asks for that (:class:`ShardBound`), else itself."""
    return stage.for_shard(name) if isinstance(stage, ShardBound) else stage


def check_inputs(stage: Any, inputs: Sequence[Path]) -> None:
    """Raise the stage's ValueError when it cannot run on ``inputs`` (:class:`ChecksInputs`); else nothing."""
    if isinstance(stage, ChecksInputs):
        stage.check_inputs(inputs)


def fusable(stage: Any) -> bool:
    """A per-document stage with no global or final step (clean, filter, pii, stats): it can share a pass."""
    return stage_kind(stage) == "docs" and not isinstance(stage, (GlobalStep, Finalizer, RunsOnce))


def conform_of(stage: Any) -> Callable[[dict], dict] | None:
    """How the stage's documents are made to fit the declared meta schema before they are written.

    ``corpus.schema.conform_doc`` unless the stage's records are of another kind and it says so with
    ``conform = None`` (kg2instruction's paragraphs).
    """
    return getattr(stage, "conform", conform_doc)


def stage_label(stage: Any) -> str:
    """How reports and work directories name a stage: ``clean``, or ``read-wiki`` for a reader."""
    return f"read-{source_name(stage)}" if isinstance(stage, Reader) else stage.name


def source_name(stage: Any) -> str:
    """The prefix of a reader's shard names: its ``source_name`` option when set, else its name."""
    return getattr(stage, "source_name", None) or stage.name


def internal(default: Any = None) -> Any:
    """A stage dataclass field set by the runner (``prepare``/``for_shard``), never by users or YAML."""
    return dataclasses.field(default=default, metadata={"internal": True})
