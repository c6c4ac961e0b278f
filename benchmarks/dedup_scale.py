"""End-to-end ``dedup`` of N generated documents through the runner: prints time and peak RSS.

Documents are ~600-character zh/en texts (bigram chains, see dedup_accuracy.py) in 20 shards, 10% of
them (``--near``, percent) near-copies of the document before them; the run prints how many were planted
beside how many the stage removed. Peak RSS is the maximum over this process and its worker children;
with ``--workers 1`` everything runs in this process. ``--trace`` then runs the global step's
clustering once more, alone, on the signatures and shingle sets the run left, under tracemalloc: the peak
of what near dedup holds beyond the per-shard passes.

    PYTHONPATH=. python benchmarks/dedup_scale.py --docs 1000000 --workers 2 --dir /tmp/dedup-scale
    PYTHONPATH=. python benchmarks/dedup_scale.py --docs 300000 --near 30 --workers 1 --trace
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from dedup_accuracy import TextGenerator  # noqa: E402

from corpus.dedup.near import NearDedupStep  # noqa: E402
from corpus.runner import run_stage  # noqa: E402
from corpus.shards import ShardWriter  # noqa: E402

FRAGMENT = 200  # characters per fragment, three fragments per document


def generate(directory: Path, docs: int, shards: int, near: int = 10) -> int:
    """Write the corpus; returns the number of near-copies planted (the expected number of removals).

    Each document is three 200-character fragments cut at random offsets from a pool of 4,000 generated
    texts, so two unrelated documents share at most one fragment, and then only partly (Jaccard < 0.35).
    An earlier version glued a fixed 300-character head of one pool text to the fixed tail of another:
    at 1M documents each Chinese tail was shared by ~125 documents with an English head, whose pairwise
    Jaccard (~0.78, the English head adds few word shingles) sat on the 0.8 threshold, and union-find
    chained them into clusters; that, not the clustering, is why it removed 209k instead of ~100k.
    """
    gen = TextGenerator(0)
    # A pool of texts re-combined per document keeps generation fast at millions of documents.
    pool = [gen.zh(600) if i % 2 else gen.en(120) for i in range(4000)]
    directory.mkdir(parents=True, exist_ok=True)
    per = docs // shards
    prev = ""
    planted = 0
    rng = gen.rng
    for s in range(shards):
        with ShardWriter(directory / f"part-{s:05d}.jsonl.zst") as w:
            for i in range(s * per, (s + 1) * per):
                parts = []
                for _ in range(3):
                    src = pool[rng.randrange(4000)]
                    at = rng.randrange(len(src) - FRAGMENT)
                    parts.append(src[at : at + FRAGMENT])
                text = " ".join(parts) + " " + str(i)
                if i and (i * near) // 100 != ((i - 1) * near) // 100:  # near-copy of the previous one, new tail
                    text = prev[:-20] + "附加的尾部文字" + str(i)
                    planted += 1
                prev = text
                w.write({"id": f"doc{i:08d}", "text": text, "source": "gen", "meta": {}})
    return planted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/dedup-scale"))
    parser.add_argument("--near", type=int, default=10, help="percent of documents that are near-copies")
    parser.add_argument("--trace", action="store_true", help="then trace the clustering step alone")
    args = parser.parse_args()
    # in3: the three-fragment generator (see generate); 10% near-copies keep the old directory name.
    name = f"{args.docs}" if args.near == 10 else f"{args.docs}-near{args.near}"
    inp = args.dir / f"in3-{name}"
    planted = ((args.docs // args.shards) * args.shards - 1) * args.near // 100
    if not inp.exists():
        t = time.perf_counter()
        planted = generate(inp, args.docs, args.shards, args.near)
        print(f"generated {args.docs:,} docs in {time.perf_counter() - t:.0f}s")
    start = time.perf_counter()
    report = run_stage(NearDedupStep(), inputs=[inp], output=args.dir / f"out3-{name}", workers=args.workers,
                       force=True, progress=False)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"dedup of {report.docs_in:,} docs, {args.workers} workers (2 shared cores): {seconds:.0f}s "
          f"({report.docs_in / seconds:,.0f} docs/s), removed {report.rejected:,} (near-copies planted: {planted:,})")
    print(f"peak RSS: main process {own:,.0f} MiB, largest worker {children:,.0f} MiB")
    print(orjson.dumps(dict(report.reasons)).decode())
    if args.trace:
        trace_clustering(NearDedupStep(), sorted(inp.glob("part-*")), args.dir / f"out3-{name}")


def trace_clustering(step: NearDedupStep, shards: list[Path], output: Path) -> None:
    """Candidates, verification, union-find, keepers and the cluster files
    (``NearDedupStep.cluster``) in this process, on the files the run left (signatures, band keys, shingle
    sets are reused, not recomputed): tracemalloc peak."""
    job = step.signature_job(output, force=False)
    files = [job(shard) for shard in shards]
    tracemalloc.start()
    start = time.perf_counter()
    histogram, n_docs = step.cluster(shards, files, job, each=lambda fn, items, desc: [fn(i) for i in items])
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    members = sum(size * count for size, count in histogram.items())
    print(f"clustering and cluster files alone: {seconds:.0f}s, tracemalloc peak {peak:,.1f} MiB "
          f"({n_docs:,} docs, {members:,} in clusters)")


if __name__ == "__main__":
    main()
