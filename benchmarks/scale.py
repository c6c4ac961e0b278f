"""A generated mixed zh/en corpus of N GB through read -> clean -> filter -> dedup-exact -> dedup -> pack.

The corpus is built once per size in a scratch directory from the text of ``data_samples/`` (read by
the demo recipe's readers: zh/en Wikipedia, WuDao, Baike, web JSONL): each document is ``--lines``
distinct sample lines (Chinese sentences) drawn with a fixed seed, and 5% of documents are exact copies
and 5% near-copies (one line replaced) of an earlier one, so both dedups have real work. Each size runs
as one chained command on ``--workers`` workers (``knowforge corpus ... read clean filter dedup-exact
dedup pack``, fused by default); the run prints wall time, MB/s of input text, peak memory sampled
every 0.2 s (RSS and PSS summed over the driver and its workers, and per stage the driver's RSS, the
global step's decision process's (``corpus.globalstep.in_child``) and the largest worker's), the growth per GB between the sizes run, and the 100 GB estimate from the measured
rate. Check ``df -h`` first: the corpus and the run's outputs take about 1.5x the size.

    PYTHONPATH=. python benchmarks/scale.py --sizes 1,10 --workers 2 --dir /tmp/knowforge-scale [--keep]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from recipes import sample_lines  # noqa: E402

from corpus.globalstep import DECISION_NAME  # noqa: E402
from corpus.pipeline import load_config, run_pipeline  # noqa: E402
from corpus.shards import ShardWriter  # noqa: E402

SHARD_MB = 64  # text per input shard: 16 shards per GB, so 2 workers stay busy to the end
COPIES = 0.05  # share of documents that are exact copies of an earlier one
NEAR = 0.05  # share that are near-copies (one line of an earlier document replaced)
RECENT = 2000  # copies are drawn from the last RECENT documents (bounded memory while generating)


def pool(scratch: Path) -> list[tuple[str, tuple[str, dict]]]:
    """Distinct lines of the shipped samples, each with its source and meta (``recipes.sample_lines``)."""
    config = load_config(ROOT / "configs" / "demo.yaml")
    reads = [c for c in config.calls if hasattr(c.stage, "discover") and c.stage.name != "code"
             and getattr(c.stage, "source_name", None) not in ("stack", "leetcode")]
    cwd = os.getcwd()
    os.chdir(ROOT)  # the recipe's input paths are relative to the repository
    try:
        reports = run_pipeline(reads, work_dir=scratch / "samples", workers=1, progress=False)
    finally:
        os.chdir(cwd)
    lines = sample_lines([r.output for r in reports])
    return [item for item in lines if item[1][1].get("lang") != "code"]


def _lang(line: str, meta: dict) -> str:
    return meta.get("lang") or ("zh" if any("\u4e00" <= c <= "\u9fff" for c in line[:80]) else "en")


def generate(directory: Path, lines: list, gigabytes: float, per_doc: int) -> tuple[int, int]:
    """Write ~``gigabytes`` GB of text as documents into shards of SHARD_MB; returns (bytes, documents).

    A document's lines are all of one language (zh or en, alternately), as in a real dump.
    """
    rng = random.Random(20)
    target = gigabytes * 1e9
    by_lang: dict[str, list[int]] = {}
    for i, (line, (_, meta)) in enumerate(lines):
        by_lang.setdefault(_lang(line, meta), []).append(i)
    langs = sorted(by_lang)
    recent: list[list[int]] = []
    written = docs = shard = 0
    directory.mkdir(parents=True, exist_ok=True)
    while written < target:
        with ShardWriter(directory / f"gen-{shard:05d}.jsonl.zst") as writer:
            in_shard = 0
            while in_shard < SHARD_MB * 1e6 and written < target:
                roll = rng.random()
                if recent and roll < COPIES:
                    picked = rng.choice(recent)
                elif recent and roll < COPIES + NEAR:
                    picked = list(rng.choice(recent))
                    picked[rng.randrange(len(picked))] = rng.choice(by_lang[_lang(*_line_meta(lines, picked[0]))])
                else:
                    same = by_lang[langs[docs % len(langs)]]
                    picked = rng.sample(same, min(per_doc, len(same)))
                recent.append(picked)
                if len(recent) > RECENT:
                    recent.pop(0)
                source, meta = lines[picked[0]][1]
                text = "\n".join(lines[i][0] for i in picked)
                writer.write({"id": f"gen:{docs}", "text": text, "source": source, "meta": dict(meta)})
                size = len(text.encode())
                written += size
                in_shard += size
                docs += 1
        shard += 1
    return written, docs


def _line_meta(lines: list, i: int) -> tuple[str, dict]:
    return lines[i][0], lines[i][1][1]


def _processes(root: int) -> tuple[dict[int, tuple[int, int]], set[int]]:
    """``{pid: (RSS bytes, PSS bytes)}`` of ``root`` and all its descendants (Linux /proc), and the pids
    among ``root``'s children that are a global step's decision process (named ``DECISION_NAME``; the
    workers it forks inherit the name but are its children, counted as workers).

    RSS counts a forked worker's pages shared with the driver once per process, so the tree's RSS sum
    overstates what the machine holds; PSS (proportional set size, ``smaps_rollup``) shares them out.
    """
    children: dict[int, list[int]] = {}
    named: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, tail = f.read().rsplit(")", 1)
        except OSError:
            continue
        parent = int(tail.split()[1])
        children.setdefault(parent, []).append(int(entry))
        if parent == root and head.split("(", 1)[1] == DECISION_NAME:
            named.add(int(entry))
    found, stack = {}, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                kib = {parts[0]: int(parts[1]) for parts in map(str.split, f) if parts[0] in ("Rss:", "Pss:")}
        except (OSError, ValueError):
            continue
        if len(kib) == 2:  # an exiting process has an empty rollup
            found[pid] = (kib["Rss:"] * 1024, kib["Pss:"] * 1024)
    return found, named


def _current_stage(work: Path) -> str:
    """The stage running now: the first stage directory of the chain without its ``_manifest.json`` (a
    stage writes it last). Fused stages write theirs together, so a fused pass shows as its first stage."""
    stages = sorted(p.name for p in work.glob("[0-9][0-9]-*") if p.is_dir()) if work.exists() else []
    for name in stages:
        if not (work / name / "_manifest.json").exists():
            return name
    return stages[-1] if stages else "start"


@dataclasses.dataclass
class Peaks:
    """Peak memory of one stage: the tree's RSS and PSS sums, the driver's RSS, its decision process's RSS
    (a global step's, 0 for other stages) and the largest worker's RSS."""

    tree_rss: int = 0
    tree_pss: int = 0
    main_rss: int = 0
    decision_rss: int = 0
    worker_rss: int = 0

    def add(self, root: int, sample: tuple[dict[int, tuple[int, int]], set[int]]) -> None:
        procs, decision = sample
        self.tree_rss = max(self.tree_rss, sum(r for r, _ in procs.values()))
        self.tree_pss = max(self.tree_pss, sum(p for _, p in procs.values()))
        self.main_rss = max(self.main_rss, procs.get(root, (0, 0))[0])
        self.decision_rss = max([self.decision_rss] + [r for pid, (r, _) in procs.items() if pid in decision])
        self.worker_rss = max([self.worker_rss] + [r for pid, (r, _) in procs.items()
                                                   if pid != root and pid not in decision])


def run(corpus: Path, work: Path, workers: int, fuse: bool) -> tuple[float, dict[str, Peaks], str]:
    """The chained command over ``corpus``; returns (seconds, peak memory per stage, summary table)."""
    cmd = [sys.executable, "-c", "from cli import main; main()", "corpus", "-w", str(work), "--workers", str(workers), "--quiet",
           *([] if fuse else ["--no-fuse"]), "read", "--source", "jsonl", "-i", str(corpus),
           "clean", "filter", "dedup-exact", "dedup", "pack"]
    # This tree first, then the caller's path (a shim that points shipped() at this tree's configs/).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks: dict[str, Peaks] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            stage = _current_stage(work)  # before the sample: a stage ending between the two counts as running
            peaks.setdefault(stage, Peaks()).add(proc.pid, _processes(proc.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"the run failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, peaks, out


def _peak_table(peaks: dict[str, Peaks]) -> str:
    mib = 2**20
    rows = ["| stage | tree RSS | tree PSS | driver RSS | decision RSS | largest worker RSS |",
            "|---|---|---|---|---|---|"]
    rows += [f"| {stage} | {p.tree_rss / mib:,.0f} | {p.tree_pss / mib:,.0f} | {p.main_rss / mib:,.0f} | "
             f"{p.decision_rss / mib:,.0f} | {p.worker_rss / mib:,.0f} |" for stage, p in sorted(peaks.items())]
    return "\n".join(rows) + "\n(MiB; a fused pass shows under its first stage)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="comma-separated corpus sizes in GB of text (e.g. 0.5,1,3)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lines", type=int, default=12, help="sample lines per generated document")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/knowforge-scale"))
    parser.add_argument("--no-fuse", action="store_true", help="run the chain with --no-fuse")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpora and outputs")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    args.dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.dir).free / 1e9
    print(f"python benchmarks/scale.py --sizes {args.sizes} --workers {args.workers} --lines {args.lines}"
          f"{' --no-fuse' if args.no_fuse else ''}; {free:.0f} GB free in {args.dir}; load {os.getloadavg()}")
    if free < 1.6 * max(sizes):
        raise SystemExit(f"{free:.0f} GB free: a {max(sizes):g} GB run needs about {1.6 * max(sizes):.0f} GB")
    lines = pool(args.dir)
    print(f"pool: {len(lines):,} distinct sample lines ({sum(_lang(t, m) == 'zh' for t, (_, m) in lines):,} zh)")
    rows = []
    for size in sizes:
        corpus = args.dir / f"corpus-{size:g}gb"
        if not corpus.exists():
            t = time.perf_counter()
            written, docs = generate(corpus, lines, size, args.lines)
            print(f"generated {written / 1e9:.2f} GB, {docs:,} documents in {time.perf_counter() - t:.0f} s")
        text = sum(p.stat().st_size for p in corpus.iterdir())
        work = args.dir / f"work-{size:g}gb"
        shutil.rmtree(work, ignore_errors=True)
        seconds, peaks, table = run(corpus, work, args.workers, fuse=not args.no_fuse)
        mb = size * 1e3
        peak = max(p.tree_rss for p in peaks.values())
        pss = max(p.tree_pss for p in peaks.values())
        rows.append((size, seconds, mb / seconds, peak, pss))
        print(f"\n{size:g} GB ({text / 1e9:.2f} GB compressed): {seconds:.0f} s, {mb / seconds:.2f} MB/s, "
              f"peak RSS {peak / 2**20:,.0f} MiB (PSS {pss / 2**20:,.0f}); load {os.getloadavg()}\n{table}\n"
              f"{_peak_table(peaks)}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    print("\n| GB of text | wall | MB/s | MB/s per worker | peak RSS (tree) | peak PSS (tree) |\n|---|---|---|---|---|---|")
    for size, seconds, rate, peak, pss in rows:
        print(f"| {size:g} | {seconds / 60:.1f} min | {rate:.2f} | {rate / args.workers:.2f} | {peak / 2**20:,.0f} MiB "
              f"| {pss / 2**20:,.0f} MiB |")
    if len(rows) > 1:
        (small, _, _, rss0, pss0), (large, _, _, rss1, pss1) = rows[0], rows[-1]
        grow_rss, grow_pss = (rss1 - rss0) / (large - small) / 2**20, (pss1 - pss0) / (large - small) / 2**20
        # A straight line through the measured ends: what 10 GB would take if the growth stays linear.
        print(f"peak growth {small:g} -> {large:g} GB: {grow_rss:+,.1f} MiB RSS / {grow_pss:+,.1f} MiB PSS per GB; "
              f"10 GB by that line: {(rss1 + grow_rss * 2**20 * (10 - large)) / 2**20:,.0f} MiB RSS, "
              f"{(pss1 + grow_pss * 2**20 * (10 - large)) / 2**20:,.0f} MiB PSS")
    rate = rows[-1][2]
    print(f"100 GB at the {rows[-1][0]:g} GB rate ({rate:.2f} MB/s on {args.workers} workers): "
          f"{100e3 / rate / 3600:.1f} h here; {100e3 / (rate / args.workers) / 3600:,.0f} core-hours")


if __name__ == "__main__":
    main()
