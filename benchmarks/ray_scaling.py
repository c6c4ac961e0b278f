"""Throughput of the local engine vs Ray on the same input (1 and 2 CPUs), and a paper estimate for WuDao.

Input: generated ~600-character zh/en documents (``dedup_scale.generate``: 10% near-copies) in shards;
each of clean, filter (configs/filters/mixed.yaml), dedup-exact and dedup reads that same input (the
filter would otherwise starve the later stages of these texts). Each engine x CPU count runs in a fresh
process (a fresh Ray with ``num_cpus``). The estimate scales the measured per-core rate
of every stage to ~200 GB of text, using the mean document size of the shared WuDao sample.

    PYTHONPATH=. python benchmarks/ray_scaling.py --docs 12000 --shards 8
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from dedup_scale import generate  # noqa: E402

from corpus.pipeline import StageCall, run_pipeline  # noqa: E402
from corpus.shards import read_docs  # noqa: E402
from corpus.steps import build_step  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
STAGES = (("clean", {}), ("filter", {"config": str(REPO / "configs/filters/mixed.yaml")}), ("dedup-exact", {}),
          ("dedup", {}))
WUDAO_BYTES = 200e9  # WuDaoCorpora open release, ~200 GB of JSON text
WUDAO_SAMPLE = Path("/work/shared/samples/wudao/jinrong_data.json")
NODE_CORES = 32


def run_one(engine: str, cpus: int, inp: Path, out: Path) -> dict:
    """One pipeline run in this process; returns seconds and documents per stage."""
    if engine == "ray":
        import ray

        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    calls = [StageCall(stage=build_step(name, options), inputs=[inp]) for name, options in STAGES]
    started = time.perf_counter()
    reports = run_pipeline(calls, work_dir=out, workers=cpus, force=True, progress=False, engine=engine)
    return {"total": time.perf_counter() - started,
            "stages": [{"stage": r.stage, "seconds": r.seconds, "docs_in": r.docs_in} for r in reports]}


def text_bytes(inp: Path) -> int:
    return sum(len(d["text"].encode("utf-8")) for p in sorted(inp.iterdir()) for d in read_docs(p))


def wudao_bytes_per_doc() -> float:
    """Mean UTF-8 bytes of text per document in the shared WuDao sample (3 bytes per CJK character)."""
    records = json.loads(WUDAO_SAMPLE.read_text("utf-8"))["RECORDS"]
    return sum(len(r["content"].encode("utf-8")) for r in records) / len(records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=12_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ray-scaling"))
    parser.add_argument("--repeat", type=int, default=2, help="rounds; each configuration keeps its fastest")
    parser.add_argument("--one", nargs=2, metavar=("ENGINE", "CPUS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    inp = args.dir / f"in-{args.docs}-{args.shards}"
    if args.one:
        engine, cpus = args.one[0], int(args.one[1])
        print(json.dumps(run_one(engine, cpus, inp, args.dir / f"out-{engine}-{cpus}")))
        return
    if not inp.exists():
        generate(inp, args.docs, args.shards)
    mb = text_bytes(inp) / 1e6
    print(f"python benchmarks/ray_scaling.py --docs {args.docs} --shards {args.shards} --repeat {args.repeat}")
    print(f"input: {args.docs:,} documents, {mb:.1f} MB of text, {args.shards} shards")
    configs = [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]
    results: dict[tuple[str, int], dict] = {}
    # Rounds alternate the order and each configuration keeps its fastest run, so load from other
    # processes on a shared machine penalises no configuration systematically.
    for round_ in range(args.repeat):
        for engine, cpus in configs if round_ % 2 == 0 else configs[::-1]:
            cmd = [sys.executable, __file__, "--docs", str(args.docs), "--shards", str(args.shards),
                   "--dir", str(args.dir), "--one", engine, str(cpus)]
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
            run = json.loads(line)
            if (engine, cpus) not in results or run["total"] < results[(engine, cpus)]["total"]:
                results[(engine, cpus)] = run
    results = {c: results[c] for c in configs}

    stage_names = [s["stage"] for s in results[("local", 1)]["stages"]]
    print("\n| engine | CPUs | " + " | ".join(stage_names) + " | pipeline docs/s | pipeline MB/s |")
    print("|---|---|" + "---|" * (len(stage_names) + 2))
    for (engine, cpus), r in results.items():
        cells = [f"{s['docs_in'] / s['seconds']:,.0f}" for s in r["stages"]]
        print(f"| {engine} | {cpus} | " + " | ".join(cells)
              + f" | {args.docs / r['total']:,.0f} | {mb / r['total']:.2f} |")
    print("(per-stage cells: documents per second, every stage on the same input; dedup stages include their"
          " global step)")

    # Paper estimate: per-core rate of each stage on Ray with 1 CPU, corrected by the measured 2-CPU
    # speed-up as the parallel efficiency a larger cluster keeps (optimistic: no network, shared disk).
    one, two = results[("ray", 1)], results[("ray", 2)]
    efficiency = one["total"] / two["total"] / 2
    per_doc = wudao_bytes_per_doc()
    wudao_docs = WUDAO_BYTES / per_doc
    core_seconds = sum(s["seconds"] / (mb * 1e6) for s in one["stages"]) * WUDAO_BYTES
    core_hours = core_seconds / 3600 / efficiency
    print(f"\nWuDao estimate: 200 GB / {per_doc:,.0f} B per document = {wudao_docs / 1e6:,.0f} M documents;"
          f" measured Ray per-core rate {mb / one['total']:.2f} MB/s for the 4 stages, 2-CPU efficiency"
          f" {efficiency:.0%} -> {core_hours:,.0f} core-hours")
    for nodes in (1, 4, 16, 64):
        print(f"  {nodes:>3} nodes x {NODE_CORES} cores: {core_hours / (nodes * NODE_CORES):,.1f} h")


if __name__ == "__main__":
    main()
