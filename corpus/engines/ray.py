"""Run a stage on a Ray cluster with the same outputs as ``corpus.runner.run_stage``; dedup's global step as Ray tasks.

Per-shard pass: one Ray task per shard runs the local runner's ``process_unit``. We chose tasks over
Ray Data ``map_batches`` on documents because a shard is already the unit of work and of output: the
task writes exactly the local shard, ``rejected/``, ``_stats/`` and ``_done/`` files (byte-identical
shards, resume by marker, a killed driver loses no finished shard), while a document-level Ray Data
dataset would re-block documents, lose the per-shard positions dedup's removal lists use, and write
files under Ray's names. Dedup's global step is a map-shuffle-reduce of Ray tasks: signatures per
shard; band keys partitioned by key across ``partitions`` reducers that find candidates, verify them
and union-find their confirmed edges into a spanning forest; forests merged pairwise in a tree (no task
ever holds all edges, only a forest over duplicated documents); keepers chosen with the local rule.
Any other global step (dedup-lines, score's buckets) runs its own ``prepare`` with its per-shard count
jobs as tasks (``RayShardMap``, the ``ShardMap`` hook of ``corpus.globalstep``) and its decision on the
driver. The set-up before the pass is the local runner's (``corpus.runner.set_up``). Fused document
stages (clean+filter+pii) run as one task per shard doing the whole pass, as locally.
Leaves out: Ray Data readers and autoscaling hints.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import ray
from tqdm import tqdm

from corpus.dedup.clusters import choose_keepers, cluster_strings
from corpus.dedup.exact import STATE_DIR as EXACT_STATE_DIR
from corpus.dedup.exact import ExactDedupStep, first_of_each, hash_shard, priority_ranks, write_removal_list
from corpus.dedup.lsh import bucket_pairs
from corpus.dedup.near import NearDedupStep
from corpus.dedup.pairs import PAIR_PART_DOCS, PairSpill
from corpus.dedup.unionfind import UnionFind
from corpus.fused import finish_fused, plan_fused, process_fused
from corpus.lock import holds_output_lock, holds_output_locks
from corpus.progress import unit_bytes
from corpus.runner import StageError, StageReport, process_unit, set_up
from corpus.shards import DEFAULT_SUFFIX, atomic_path, shard_name


@dataclasses.dataclass(frozen=True, kw_only=True)
class RayOptions:
    """Where and how the stages run on Ray.

    ``address``: None follows ``ray.init``: ``RAY_ADDRESS``, else the cluster last started here, else a
    private Ray for this process; ``auto`` joins a running cluster or fails; ``ray://HOST:10001`` a
    remote head through Ray Client. ``num_cpus_per_task`` and
    ``memory_per_task`` (bytes) are Ray's scheduling hints for each shard task. ``partitions``: shuffle
    partitions of dedup's global step (default: the cluster's CPUs). ``max_in_flight``: tasks submitted
    ahead of completion, which bounds the driver's bookkeeping (default: 2 x cluster CPUs).
    """

    address: str | None = None
    num_cpus_per_task: float = 1.0
    memory_per_task: int | None = None
    partitions: int | None = None
    max_in_flight: int | None = None


def connect(address: str | None) -> None:
    """Join (or start) Ray once per process; a session already open (tests, notebooks) is reused."""
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=True)


def _cluster_cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _in_dir(cwd: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn(*args)`` in the driver's working directory, so relative paths mean what they meant there.

    Readers record file paths in documents (e.g. a malformed line's ``file``); running in the driver's
    directory keeps those bytes equal to a local run. On a multi-node cluster this directory must exist
    on every node (shared storage), as every input and output path must.
    """
    if not os.path.isdir(cwd):
        raise StageError(f"the driver's working directory {cwd} does not exist on this Ray node; "
                         "run from shared storage (NFS) or give absolute paths on it")
    with contextlib.chdir(cwd):
        return fn(*args)


_remote = ray.remote(_in_dir)


def _returns(parts: list[Any]) -> Any:
    """What a task with ``num_returns=len(parts)`` must return (Ray unwraps a single return)."""
    return parts[0] if len(parts) == 1 else tuple(parts)


class _Tasks:
    """Submits ``fn`` calls as Ray tasks in the driver's directory, with resource hints and a bound in flight."""

    def __init__(self, options: RayOptions) -> None:
        self.options = options
        self.cwd = os.getcwd()
        self.max_in_flight = options.max_in_flight or 2 * _cluster_cpus()

    def submit(self, fn: Callable[..., Any], *args: Any, num_returns: int = 1, heavy: bool = True) -> Any:
        """One task; ``heavy`` tasks get the per-task CPU/memory hints, light ones (merges, writes) 1 CPU."""
        hints: dict[str, Any] = {"num_returns": num_returns, "num_cpus": 1}
        if heavy:
            hints["num_cpus"] = self.options.num_cpus_per_task
            if self.options.memory_per_task:
                hints["memory"] = self.options.memory_per_task
        return _remote.options(**hints).remote(self.cwd, fn, *args)

    def map(self, fn: Callable[..., Any], items: Sequence[tuple], *, desc: str, progress: bool,
            on_result: Callable[[Any], None] | None = None) -> list[Any]:
        """``[fn(*args) for args in items]`` as tasks, in order, never more than ``max_in_flight`` pending."""
        results: list[Any] = [None] * len(items)
        pending: dict[Any, int] = {}
        bar = tqdm(total=len(items), desc=desc, unit="shard", disable=not progress, leave=False)
        try:
            for index, args in enumerate(items):
                while len(pending) >= self.max_in_flight:
                    self.collect(pending, results, bar, on_result)
                pending[self.submit(fn, *args)] = index
            while pending:
                self.collect(pending, results, bar, on_result)
        finally:
            bar.close()
        return results

    @staticmethod
    def collect(pending: dict[Any, int], results: list[Any], bar: tqdm, on_result) -> None:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            value = ray.get(ref)  # a failed task raises here, with the stage and shard in the message
            results[pending.pop(ref)] = value
            bar.update()
            if on_result is not None:
                on_result(value)


# ---------------------------------------------------------------------------------------------------
# dedup-exact: hashes per shard -> partitions by hash -> first of each hash -> removal lists per shard
# ---------------------------------------------------------------------------------------------------


def _split(rows: dict[str, np.ndarray], part: np.ndarray, n: int) -> list[dict[str, np.ndarray]]:
    """Rows (a dict of equal-length columns) split by ``part`` (values 0..n-1) into n dicts."""
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n + 1))
    return [{k: v[order[bounds[p] : bounds[p + 1]]] for k, v in rows.items()} for p in range(n)]


def _concat(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _group_of(shard_index: np.ndarray, shards: int, groups: int) -> np.ndarray:
    """Contiguous ranges of shards per writer group, so a group's documents stay in global order."""
    return (shard_index * groups) // shards


def _exact_map(shard: Path, index: int, state: Path, force: bool, partitions: int,
               priority: tuple[str, ...] = ()) -> Any:
    z = np.load(hash_shard(shard, state, force))
    rows = {"hash": z["hashes"], "shard": np.full(z["hashes"].size, index, np.int64),
            "position": z["positions"], "id": z["ids"], "rank": priority_ranks(z["sources"], priority)}
    return _returns(_split(rows, (z["hashes"] % np.uint64(partitions)).astype(np.int64), partitions))


def _exact_reduce(shards: int, groups: int, *parts: dict[str, np.ndarray]) -> Any:
    """Within one hash partition: keep the first (source rank, shard, position) of each hash, as ExactDedupStep does."""
    rows = _concat(parts)
    gone, keeper = first_of_each(rows["hash"], rows["rank"], rows["shard"], rows["position"])
    removed = {"shard": rows["shard"][gone], "position": rows["position"][gone], "kept": rows["id"][keeper]}
    return _returns(_split(removed, _group_of(removed["shard"], shards, groups), groups))


def _exact_write(state: Path, names: list[str], first_index: int, *parts: dict[str, np.ndarray]) -> None:
    rows = _concat(parts)
    for offset, name in enumerate(names):
        mine = np.flatnonzero(rows["shard"] == first_index + offset)
        mine = mine[np.argsort(rows["position"][mine], kind="stable")]
        write_removal_list(state, name, rows["position"][mine], rows["kept"][mine].astype(str))


def _groups(n_shards: int, groups: int) -> list[range]:
    """The shard ranges of ``_group_of``: group g holds shards s with g <= s * groups / n_shards < g + 1."""
    return [range(-(-g * n_shards // groups), -(-(g + 1) * n_shards // groups)) for g in range(groups)]


def prepare_exact(stage: ExactDedupStep, shards: list[Path], output: Path, *, tasks: _Tasks,
                  partitions: int, force: bool, progress: bool) -> ExactDedupStep:
    """``ExactDedupStep.prepare`` as Ray tasks: the same removal lists, built by hash partition."""
    state = output / EXACT_STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    n = len(shards)
    groups = min(partitions, n)
    maps = [tasks.submit(_exact_map, s, i, state, force, partitions, stage.source_priority, num_returns=partitions)
            for i, s in enumerate(shards)]
    maps = [m if partitions > 1 else [m] for m in maps]
    reduces = [tasks.submit(_exact_reduce, n, groups, *[m[p] for m in maps], num_returns=groups, heavy=False)
               for p in range(partitions)]
    reduces = [r if groups > 1 else [r] for r in reduces]
    writes = []
    for g, members in enumerate(_groups(n, groups)):
        names = [shard_name(shards[i]) for i in members]
        writes.append(tasks.submit(_exact_write, state, names, members.start, *[r[g] for r in reduces],
                                   heavy=False))
    _wait(writes, desc="exact dedup (global)", progress=progress)
    return dataclasses.replace(stage, state_dir=str(state))


def _wait(refs: list[Any], *, desc: str, progress: bool) -> list[Any]:
    """``ray.get`` the refs with a progress bar; the first failure raises."""
    out: dict[Any, Any] = {}
    with tqdm(total=len(refs), desc=desc, disable=not progress, leave=False) as bar:
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            out[ready[0]] = ray.get(ready[0])
            bar.update()
    return [out[r] for r in refs]


# ---------------------------------------------------------------------------------------------------
# dedup (MinHash LSH): signatures -> band keys by key hash -> verified edges -> forests -> keepers
# ---------------------------------------------------------------------------------------------------


def _sign(job: Any, shard: Path) -> tuple[dict[str, Path], int]:
    files = job(shard)
    return files, int(np.load(files["docs"])["length"].size)


def _band_map(files: dict[str, Path], offset: int, partitions: int) -> Any:
    """(band, key, document, order key) of every live document and band, split by key into partitions."""
    docs = np.load(files["docs"])
    bands = np.load(files["bands"], mmap_mode="r")
    live = np.flatnonzero(~docs["empty"])  # documents without shingles never match anything (as locally)
    b = bands.shape[0]
    rows = {
        "band": np.repeat(np.arange(b, dtype=np.int32), live.size),
        "key": np.asarray(bands[:, live]).reshape(-1),
        "doc": np.tile(live + offset, b),
        "order": np.tile(docs["id_hash"][live], b),
    }
    return _returns(_split(rows, (rows["key"] % np.uint64(partitions)).astype(np.int64), partitions))


def _forest(u: np.ndarray, v: np.ndarray, best_u: np.ndarray, best_v: np.ndarray) -> dict[str, np.ndarray]:
    """Union-find over edges u-v: every touched document, its component's smallest document, its best score."""
    nodes = np.unique(np.concatenate([u, v]))
    uf = UnionFind(nodes.size)
    uf.union(np.searchsorted(nodes, u), np.searchsorted(nodes, v))
    best = np.zeros(nodes.size, dtype=np.float64)
    np.maximum.at(best, np.searchsorted(nodes, u), best_u)
    np.maximum.at(best, np.searchsorted(nodes, v), best_v)
    # Compact ids keep the order of document numbers, so the root is the component's smallest document.
    return {"node": nodes, "root": nodes[uf.roots()], "best": best}


def _edge_reduce(step: NearDedupStep, files: list[dict[str, Path]], offsets: np.ndarray, partition: int,
                 *parts: dict[str, np.ndarray]) -> dict[str, Any]:
    """One band-key partition: candidate pairs per bucket, verified, union-found into a spanning forest.

    Every bucket (band, key) lies whole in one partition, so its pairs are those ``bucket_pairs`` finds
    over all documents; similarity is computed exactly as ``NearDedupStep.similarity`` does. Each band's
    pairs are spilled (``PairSpill``, under the state directory) and verified one range of first
    documents at a time, as the local engine does: the partition's pairs are never all in memory.
    """
    rows = _concat(parts)
    state = files[0]["sig"].parent / f"ray-pairs-{partition}"  # one directory per reducer: no clashes
    state.mkdir(parents=True, exist_ok=True)
    confirmed, sim, candidates = [np.empty((0, 2), dtype=np.int64)], [np.empty(0, dtype=np.float64)], 0
    try:
        with PairSpill(state, int(offsets[-1]), part_docs=PAIR_PART_DOCS) as spill:
            for band in np.unique(rows["band"]):
                sel = np.flatnonzero(rows["band"] == band)
                spill.add(rows["doc"][sel][bucket_pairs(rows["key"][sel], rows["order"][sel])])
            del rows
            for pairs in spill:
                similarity = step.similarity(files, offsets, pairs)
                ok = similarity >= step.threshold
                confirmed.append(pairs[ok])
                sim.append(similarity[ok])
                candidates += int(pairs.shape[0])
    finally:
        shutil.rmtree(state, ignore_errors=True)
    confirmed_pairs, scores = np.concatenate(confirmed), np.concatenate(sim)
    forest = _forest(confirmed_pairs[:, 0], confirmed_pairs[:, 1], scores, scores)
    forest["candidates"] = candidates
    forest["edges"] = int(confirmed_pairs.shape[0])
    return forest


def _merge_forests(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two forests -> one: their node->root links are edges of a forest with the same components."""
    merged = _forest(np.concatenate([a["node"], b["node"]]), np.concatenate([a["root"], b["root"]]),
                     np.concatenate([a["best"], b["best"]]), np.zeros(a["node"].size + b["node"].size))
    merged["candidates"] = a["candidates"] + b["candidates"]
    merged["edges"] = a["edges"] + b["edges"]
    return merged


def _split_forest(forest: dict[str, Any], offsets: np.ndarray, groups: list[range]) -> Any:
    shard = np.searchsorted(offsets, forest["node"], side="right") - 1
    rows = {k: forest[k] for k in ("node", "root", "best")}
    return _returns(_split(rows, _group_of(shard, offsets.size - 1, len(groups)), len(groups)))


def _member_facts(files: list[dict[str, Path]], offsets: np.ndarray, part: dict[str, np.ndarray]) -> dict:
    """Add id, length and source priority to a group's cluster members (read from its shards' docs.npz)."""
    shard = np.searchsorted(offsets, part["node"], side="right") - 1
    ids, length, priority = [np.empty(0, str)], [np.empty(0, np.int64)], [np.empty(0, np.int32)]
    for s in np.unique(shard):
        d = np.load(files[s]["docs"])
        local = part["node"][shard == s] - offsets[s]
        ids.append(d["ids"][local])
        length.append(d["length"][local])
        priority.append(d["priority"][local])
    return {**part, "id": np.concatenate(ids), "length": np.concatenate(length),
            "priority": np.concatenate(priority)}


def _assign(step: NearDedupStep, output: Path, n_docs: int, offsets: np.ndarray, groups: list[range],
            *facts: dict[str, np.ndarray]) -> Any:
    """Cluster size, keeper and cluster id of every member (the local rule), split by writer group."""
    m = _concat(facts)  # groups are contiguous shard ranges in order, so members ascend as locally
    _, inverse, counts = np.unique(m["root"], return_inverse=True, return_counts=True)
    size = counts[inverse].astype(np.int64)
    ids = m["id"].astype(str)
    is_kept, keeper = choose_keepers(m["root"], m["length"], m["priority"], lambda rows: ids[rows])
    keepers = np.flatnonzero(is_kept)
    kept_ids, cluster_ids = cluster_strings(ids[keepers].tolist())
    at = np.searchsorted(keepers, keeper)  # each member's cluster, as the index of its keeper
    kept_ids, cluster_ids = kept_ids[at], cluster_ids[at]
    step.write_cluster_stats(output, [{"size": size, "kept": is_kept}], n_docs)
    rows = {"node": m["node"], "kept": is_kept, "kept_id": kept_ids, "cluster_id": cluster_ids,
            "size": size, "similarity": m["best"]}
    shard = np.searchsorted(offsets, m["node"], side="right") - 1
    return _returns(_split(rows, _group_of(shard, offsets.size - 1, len(groups)), len(groups)))


def _write_clusters(state: Path, names: list[str], first_index: int, offsets: np.ndarray,
                    part: dict[str, np.ndarray]) -> None:
    for k, name in enumerate(names):
        s = first_index + k
        mine = (part["node"] >= offsets[s]) & (part["node"] < offsets[s + 1])
        with atomic_path(state / f"{name}.clusters.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, positions=part["node"][mine] - offsets[s], kept=part["kept"][mine],
                     kept_id=part["kept_id"][mine].astype(str), cluster_id=part["cluster_id"][mine].astype(str),
                     size=part["size"][mine], similarity=part["similarity"][mine])


def prepare_near(stage: NearDedupStep, shards: list[Path], output: Path, *, tasks: _Tasks,
                 partitions: int, force: bool, progress: bool) -> NearDedupStep:
    """``NearDedupStep.prepare`` as Ray tasks: the same clusters, found without one node holding all edges."""
    job = stage.signature_job(output, force=force)
    signed = tasks.map(_sign, [(job, s) for s in shards], desc="minhash signatures", progress=progress)
    files = [f for f, _ in signed]
    offsets = np.concatenate(([0], np.cumsum([c for _, c in signed]))).astype(np.int64)
    n = len(shards)
    maps = [tasks.submit(_band_map, f, int(offsets[i]), partitions, num_returns=partitions)
            for i, f in enumerate(files)]
    maps = [m if partitions > 1 else [m] for m in maps]
    forests = [tasks.submit(_edge_reduce, stage, files, offsets, p, *[m[p] for m in maps])
               for p in range(partitions)]
    while len(forests) > 1:  # a binary tree of merges: log2(partitions) rounds
        pairs = [tasks.submit(_merge_forests, forests[i], forests[i + 1], heavy=False)
                 for i in range(0, len(forests) - 1, 2)]
        forests = pairs + ([forests[-1]] if len(forests) % 2 else [])
    groups = _groups(n, min(partitions, n))
    split = tasks.submit(_split_forest, forests[0], offsets, groups, num_returns=len(groups), heavy=False)
    split = split if len(groups) > 1 else [split]
    facts = [tasks.submit(_member_facts, files, offsets, split[g], heavy=False) for g in range(len(groups))]
    assigned = tasks.submit(_assign, stage, output, int(offsets[-1]), offsets, groups, *facts,
                            num_returns=len(groups), heavy=False)
    assigned = assigned if len(groups) > 1 else [assigned]
    writes = [tasks.submit(_write_clusters, job.state, [shard_name(shards[i]) for i in g], g.start, offsets,
                           assigned[k], heavy=False) for k, g in enumerate(groups)]
    _wait(writes, desc="minhash clusters", progress=progress)
    return dataclasses.replace(stage, state_dir=str(job.state))


# Global steps with a Ray implementation; any other stage's prepare() runs on the driver.
RAY_PREPARE: dict[type, Callable[..., Any]] = {ExactDedupStep: prepare_exact, NearDedupStep: prepare_near}


# ---------------------------------------------------------------------------------------------------
# the stage runner
# ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RayShardMap:
    """The Ray engine's ``corpus.contract.ShardMap``: a global step's per-shard jobs as Ray tasks."""

    tasks: _Tasks
    progress: bool

    def __call__(self, job: Callable[[Path], Any], shards: Sequence[Path], *, desc: str) -> list[Any]:
        return self.tasks.map(job, [(shard,) for shard in shards], desc=desc, progress=self.progress)


def _ray_prepare(tasks: _Tasks, options: RayOptions, progress: bool) -> Callable[..., Any] | None:
    """The ``prepare`` hook of ``corpus.runner.set_up`` for steps with a Ray implementation (``RAY_PREPARE``)."""

    def prepare(stage: Any, shards: list[Path], output: Path, force: bool) -> Any:
        ray_prepare = RAY_PREPARE.get(type(stage))
        if ray_prepare is None:  # the stage's own global step, its count jobs as tasks
            return stage.prepare(shards, output, each=RayShardMap(tasks, progress), force=force)
        return ray_prepare(stage, shards, output, tasks=tasks, partitions=options.partitions or _cluster_cpus(),
                           force=force, progress=progress)

    return prepare


@holds_output_lock  # one run per output, as for the local runner
def run_stage_ray(
    stage: Any,
    *,
    inputs: Sequence[Path],
    output: Path,
    force: bool = False,
    progress: bool = True,
    suffix: str = DEFAULT_SUFFIX,
    options: RayOptions | None = None,
) -> StageReport:
    """``corpus.runner.run_stage`` on Ray: the same set-up and files, one task per shard, the global step as tasks."""
    options = options or RayOptions()
    connect(options.address)
    tasks = _Tasks(options)
    # The local runner's set-up: the same plan and fingerprints, so a shard made with other settings is redone.
    run = set_up(stage, inputs=inputs, output=output, force=force, each=RayShardMap(tasks, progress),
                 prepare=_ray_prepare(tasks, options, progress))
    sizes = {u.name: unit_bytes(u.source) for u in run.plan.units}
    # Tasks report when a shard ends, so this bar moves per shard (the shard bar counts them).
    read = tqdm(total=sum(sizes.values()), desc=f"{run.stage.name:>12}", unit="B", unit_scale=True,
                unit_divisor=1024, disable=not progress, smoothing=0.1)
    try:
        tasks.map(process_unit, run.shard_args(suffix), desc=f"{run.stage.name} shards", progress=progress,
                  on_result=lambda record: read.update(sizes[record["shard"]]))
    finally:
        read.close()
    return run.finish(inputs)


@holds_output_locks  # every output of the pass, as for the local runner
def run_fused_ray(
    stages: Sequence[Any],
    *,
    inputs: Sequence[Path],
    outputs: Sequence[Path],
    force: bool = False,
    progress: bool = True,
    options: RayOptions | None = None,
) -> list[StageReport]:
    """``corpus.fused.run_fused`` on Ray: one task per shard runs the whole fused pass (``process_fused``),
    so a shard's documents go from stage to stage in that task's memory and the files are the local ones."""
    options = options or RayOptions()
    connect(options.address)
    plan = plan_fused(stages, inputs=inputs, outputs=outputs, force=force)
    sizes = {shard.name: unit_bytes(shard.source) for shard in plan.shards}
    read = tqdm(total=sum(sizes.values()), desc=f"{plan.label:>12}", unit="B", unit_scale=True, unit_divisor=1024,
                disable=not progress, smoothing=0.1)
    try:  # tasks report when a shard ends, so this bar moves per shard
        passes = _Tasks(options).map(process_fused, plan.tasks(), desc=f"{plan.label} shards", progress=progress,
                                     on_result=lambda done: read.update(sizes[done["shard"]]))
    finally:
        read.close()
    return finish_fused(plan, passes)
