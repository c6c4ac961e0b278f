"""The global step (corpus/globalstep.py): count over all shards, decide once, then filter shard by shard,
with positions that count only the documents the per-shard pass is given."""

from __future__ import annotations

import dataclasses
import os
import tracemalloc
from functools import partial
from pathlib import Path
from typing import ClassVar

import numpy as np
import orjson
import pytest

from corpus.contract import GlobalStep, ShardBound, stage_kind
from corpus.globalstep import CountThenFilter, global_step, in_child, valid_docs
from corpus.records import reject
from corpus.runner import run_stage
from corpus.shards import read_docs, shard_name
from tests.conftest import make_docs

MARK = "MARK"


def _marked(shard: Path, *, state: Path) -> Path:
    """Count job: the positions of the marked documents of one shard, as the per-shard pass numbers them."""
    out = state / f"{shard_name(shard)}.json"
    out.write_bytes(orjson.dumps([i for i, doc in enumerate(valid_docs(shard)) if MARK in doc["text"]]))
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class _KeepFirstMarked(CountThenFilter):
    """A global stage: of all marked documents in the corpus, keep the first (shard order) and drop the rest."""

    name: ClassVar[str] = "keep-first-marked"

    def prepare(self, shards, output, *, each, force):
        state = output / "_keep-first-marked"

        def decide(files: list[Path]) -> None:
            seen = False
            for shard, file in zip(shards, files, strict=True):
                positions = orjson.loads(file.read_bytes())
                drop = positions if seen else positions[1:]
                seen = seen or bool(positions)
                (state / f"{shard_name(shard)}.drop.json").write_bytes(orjson.dumps(drop))

        return global_step(self, shards, state=state, each=each, count=partial(_marked, state=state), decide=decide,
                           desc="marked")

    def __call__(self, docs, counters):
        state, shard = self.bound()
        drop = set(orjson.loads((state / f"{shard}.drop.json").read_bytes()))
        for position, doc in enumerate(docs):
            yield reject(doc, stage=self.name, reason="marked_again", value=position) if position in drop else doc


@pytest.mark.parametrize("workers", [1, 2])
def test_positions_count_only_valid_documents_so_unreadable_lines_do_not_shift_them(tmp_path, workers):
    src = tmp_path / "in"
    src.mkdir()
    for s in range(3):
        docs = make_docs(12, prefix=f"s{s}-")
        for i in (2, 7):
            docs[i]["text"] += f" {MARK}"
        lines = [orjson.dumps(d) for d in docs]
        # Unreadable lines and an upstream rejection before the marked documents: they are no position.
        upstream = reject(make_docs(1, prefix=f"r{s}-")[0], stage="earlier", reason="earlier_reason")
        lines[1:1] = [b'{"id": "broken", "text": ', orjson.dumps(upstream), b"null"]
        (src / f"part-{s:05d}.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "out"
    report = run_stage(_KeepFirstMarked(), inputs=[src], output=out, workers=workers, progress=False)
    assert report.reasons["marked_again"] == 5  # six marked documents, the first kept
    rejected = [d["id"] for d in read_docs(out / "rejected" / "part-00000.jsonl.zst", require_id=False)
                if d["meta"]["reject"]["reason"] == "marked_again"]
    assert rejected == ["s0-7"]
    kept = {d["id"] for d in read_docs(out / "part-00000.jsonl.zst")}
    assert "s0-2" in kept and not {"s1-2", "s1-7", "s2-2", "s2-7"} & {
        d["id"] for s in (1, 2) for d in read_docs(out / f"part-{s:05d}.jsonl.zst")}


def test_a_global_stage_is_declared_by_its_methods_and_refuses_to_run_unprepared():
    stage = _KeepFirstMarked()
    assert isinstance(stage, GlobalStep) and isinstance(stage, ShardBound) and stage_kind(stage) == "docs"
    assert stage.for_shard("part-00001").shard == "part-00001" and stage.shard is None  # a copy, not a change
    with pytest.raises(RuntimeError, match="keep-first-marked runs through the runner"):
        list(stage.for_shard("part-00000")(iter(make_docs(1)), None))


def test_global_step_maps_the_count_job_over_every_shard_in_order_and_binds_the_decision(tmp_path):
    calls = []

    def each(job, shards, *, desc):
        calls.append((desc, list(shards)))
        return [job(s) for s in shards]

    shards = [tmp_path / "b.jsonl", tmp_path / "a.jsonl"]
    bound = global_step(_KeepFirstMarked(), shards, state=tmp_path / "state", each=each, count=lambda s: s.name,
                        decide=lambda counts: tmp_path / "state" / "+".join(counts), desc="count")
    assert calls == [("count", shards)]
    assert bound.state_dir == str(tmp_path / "state" / "b.jsonl+a.jsonl") and (tmp_path / "state").is_dir()


def _pid_and_double(x: int) -> tuple[int, int]:
    return os.getpid(), 2 * x


class _Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not picklable")


def _raise(kind: str) -> None:
    if kind == "value":
        raise ValueError("bad decision")
    if kind == "unpicklable":
        raise _Unpicklable("held a lock")
    os._exit(3)  # killed before it could answer


def test_in_child_runs_elsewhere_returns_the_result_and_raises_the_childs_errors():
    pid, doubled = in_child(_pid_and_double, 21)
    assert doubled == 42 and pid != os.getpid()
    with pytest.raises(ValueError, match="bad decision"):
        in_child(_raise, "value")
    with pytest.raises(RuntimeError, match="_Unpicklable: held a lock"):
        in_child(_raise, "unpicklable")
    with pytest.raises(RuntimeError, match="exit code 3"):
        in_child(_raise, "exit")


BIG = 64 << 20  # what the decision below allocates: far above anything else the driver traces here


@dataclasses.dataclass(frozen=True, kw_only=True)
class _BigDecision(_KeepFirstMarked):
    """_KeepFirstMarked whose decision also builds a large array, as dedup's per-document state does."""

    name: ClassVar[str] = "big-decision"

    def prepare(self, shards, output, *, each, force):
        state = output / "_keep-first-marked"

        def decide(files: list[Path]) -> None:
            scratch = np.ones(BIG, dtype=np.uint8)  # noqa: F841 - held while the files are written
            (state / "decided-by").write_text(str(os.getpid()))
            for shard in shards:
                (state / f"{shard_name(shard)}.drop.json").write_bytes(b"[]")

        return global_step(self, shards, state=state, each=each, count=partial(_marked, state=state), decide=decide,
                           desc="marked")


@pytest.mark.parametrize("workers", [1, 2])
def test_the_local_engines_decision_runs_in_a_child_so_the_driver_heap_does_not_hold_it(tmp_path, workers):
    """The driver's traced peak stays far below what the decision allocates: a decision run in the driver
    again (and with it dedup's O(documents) arrays, which later stages' forked workers would inherit) fails."""
    src = tmp_path / "in"
    src.mkdir()
    for s in range(2):
        (src / f"part-{s:05d}.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in make_docs(5)))
    tracemalloc.start()
    try:
        report = run_stage(_BigDecision(), inputs=[src], output=tmp_path / "out", workers=workers, progress=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.docs_in == report.docs_out == 10
    decided_by = int((tmp_path / "out" / "_keep-first-marked" / "decided-by").read_text())
    assert decided_by != os.getpid() and peak < BIG // 4
