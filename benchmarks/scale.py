"""A generated mixed zh/en corpus of N GB through read -> clean -> filter -> dedup-exact -> dedup -> pack.

The corpus is built once per size in a scratch directory from the text of ``data_samples/`` (read by
the demo recipe's readers: zh/en Wikipedia, WuDao, Baike, web JSONL): each document is ``--lines``
distinct sample lines (Chinese sentences) drawn with a fixed seed, and 5% of documents are exact copies
and 5% near-copies (one line replaced) of an earlier one, so both dedups have real work. Each size runs
as one chained command on ``--workers`` workers (``knowforge corpus ... read clean filter dedup-exact
dedup pack``, fused by default); the run prints wall time, MB/s of input text, peak RSS of the whole
process tree (sum over the driver and its workers, sampled every 0.2 s), and the 100 GB estimate from
the measured rate. Check ``df -h`` first: the corpus and the run's outputs take about 1.5x the size.

    PYTHONPATH=. python benchmarks/scale.py --sizes 1,10 --workers 2 --dir /tmp/knowforge-scale [--keep]
"""

from __future__ import annotations

import argparse
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


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (Linux /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(corpus: Path, work: Path, workers: int, fuse: bool) -> tuple[float, int, str]:
    """The chained command over ``corpus``; returns (seconds, peak RSS of the process tree, summary table)."""
    cmd = [sys.executable, "-c", "from cli import main; main()", "corpus", "-w", str(work), "--workers", str(workers), "--quiet",
           *([] if fuse else ["--no-fuse"]), "read", "--source", "jsonl", "-i", str(corpus),
           "clean", "filter", "dedup-exact", "dedup", "pack"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"the run failed ({proc.returncode}):\n{err[-2000:]}")
    return seconds, peak[0], out


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
        seconds, peak, table = run(corpus, work, args.workers, fuse=not args.no_fuse)
        mb = size * 1e3
        rows.append((size, seconds, mb / seconds, peak))
        print(f"\n{size:g} GB ({text / 1e9:.2f} GB compressed): {seconds:.0f} s, {mb / seconds:.2f} MB/s, "
              f"peak RSS {peak / 2**20:,.0f} MiB; load {os.getloadavg()}\n{table}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(corpus, ignore_errors=True)
    print("\n| GB of text | wall | MB/s | MB/s per worker | peak RSS (tree) |\n|---|---|---|---|---|")
    for size, seconds, rate, peak in rows:
        print(f"| {size:g} | {seconds / 60:.1f} min | {rate:.2f} | {rate / args.workers:.2f} | {peak / 2**20:,.0f} MiB |")
    rate = rows[-1][2]
    print(f"100 GB at the {rows[-1][0]:g} GB rate ({rate:.2f} MB/s on {args.workers} workers): "
          f"{100e3 / rate / 3600:.1f} h here; {100e3 / (rate / args.workers) / 3600:,.0f} core-hours")


if __name__ == "__main__":
    main()
