"""Throughput of the shipped recipes (configs/pretrain_zh.yaml, pretrain_en.yaml, code.yaml), stage by stage.

Each recipe runs as written (its stages, options, tokenizer) with two changes: the ``read`` steps run
on the shipped raw samples (timed, but their few KB say little), and every stage after them reads a
larger corpus built from those samples: each document is ``--lines`` distinct lines drawn (seeded) from
the pool of all the job's sample lines, so texts differ and dedup has real work but little to drop.
Prints MB/s per stage, seconds per GB for clean..pack, survivors, and packed samples per MB of input
(what decides how much dump a sample count needs; see docs/recipes.md).

    PYTHONPATH=. python benchmarks/recipes.py [--mb 4] [--workers 1] [--jobs pretrain_zh,pretrain_en,code]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.pipeline import StageCall, load_config, run_pipeline  # noqa: E402
from corpus.shards import ShardWriter, list_shards, read_docs  # noqa: E402

_CHINESE_SENTENCE = re.compile(r"[^。！？\n]+[。！？]?")


def sample_lines(read_dirs: list[Path]) -> list[tuple[str, tuple[str, dict]]]:
    """Distinct pieces of the read documents (lines; Chinese sentences), each with its document's source
    and meta. Code keeps whole lines so that it stays code."""
    seen: dict[str, tuple[str, dict]] = {}
    for directory in read_dirs:
        for shard in list_shards(directory):
            for doc in read_docs(shard):
                if "reject" in doc.get("meta", {}):
                    continue
                code = doc.get("meta", {}).get("lang") == "code"
                for line in doc["text"].split("\n"):
                    pieces = [line] if code or doc.get("meta", {}).get("lang") != "zh" else \
                        _CHINESE_SENTENCE.findall(line)
                    for piece in pieces:
                        if len(piece.strip()) >= 8:
                            seen.setdefault(piece, (doc["source"], doc.get("meta", {})))
    return list(seen.items())


def build_corpus(directory: Path, lines: list[tuple[str, tuple[str, dict]]], mb: float, per_doc: int,
                 shards: int) -> int:
    """Write ~``mb`` MB of documents of ``per_doc`` distinct random lines into ``shards`` shards; bytes."""
    rng = random.Random(2023)
    target, written, i = mb * 1e6, 0, 0
    writers = [ShardWriter(directory / f"bench-{s:05d}.jsonl.zst") for s in range(shards)]
    for w in writers:
        w.__enter__()
    try:
        while written < target:
            picked = rng.sample(lines, min(per_doc, len(lines)))
            source, meta = picked[0][1]
            text = "\n".join(line for line, _ in picked)
            writers[i % shards].write({"id": f"bench:{i}", "text": text, "source": source, "meta": dict(meta)})
            written += len(text.encode())
            i += 1
    finally:
        for w in writers:
            w.__exit__(None, None, None)
    return written


def run_job(name: str, work: Path, mb: float, per_doc: int, workers: int) -> None:
    config = load_config(ROOT / "configs" / f"{name}.yaml")
    reads = [c for c in config.calls if hasattr(c.stage, "discover")]
    rest = [c for c in config.calls if not hasattr(c.stage, "discover")]
    t0 = time.perf_counter()
    read_reports = run_pipeline(reads, work_dir=work / "read", workers=workers, progress=False)
    read_s = time.perf_counter() - t0
    read_bytes = sum(r.bytes_out for r in read_reports)
    corpus = work / "corpus"
    size = build_corpus(corpus, sample_lines([r.output for r in read_reports]), mb, per_doc, shards=4)
    first = StageCall(rest[0].stage, [corpus], None, rest[0].label)
    reports = run_pipeline([first, *rest[1:]], work_dir=work / "run", workers=workers, progress=False)
    print(f"\n{name}: read {read_bytes / 1e3:.0f} KB of sample text in {read_s:.1f} s; then {size / 1e6:.2f} MB, "
          f"{reports[0].docs_in:,} documents through {len(reports)} stages, {workers} worker(s)")
    # Each stage's rate is over the bytes it was given (the previous stage's output), so that a stage seeing
    # few survivors here is not credited with the whole input; the per-GB sum assumes every byte reaches
    # every stage (an upper bound: real dumps lose 10-50% in filter and dedup).
    # Text bytes given to a stage: the corpus size times the share of its documents that reached it
    # (generated documents all have the same length distribution).
    seconds_per_gb = 0.0
    for r in reports:
        given = size * r.docs_in / reports[0].docs_in
        rate = given / 1e6 / r.seconds if r.seconds else float("inf")
        seconds_per_gb += r.seconds / given * 1e9 if given else 0.0
        print(f"  {r.stage:<12} {r.seconds:6.2f} s  {given / 1e6:6.2f} MB in  {rate:7.2f} MB/s  "
              f"docs in {r.docs_in:,} out {r.docs_out:,}")
    samples = reports[-1].counters.get("pack_samples", 0)
    tokens = reports[-1].counters.get("pack_tokens", 0)
    packed = size * reports[-1].docs_in / reports[0].docs_in  # text bytes the pack stage was given
    print(f"  clean..pack: {seconds_per_gb / 60:.1f} min per GB if every byte reaches every stage "
          f"({1e3 / seconds_per_gb:.2f} MB/s); kept {reports[-1].docs_in / reports[0].docs_in:.0%} of documents; "
          f"pack: {samples:,} samples, {tokens / max(packed, 1):.3f} tokens per byte, "
          f"{samples / max(packed, 1) * 1e9 / 1e6:.2f} M samples per GB packed, {tokens / max(samples, 1):.0f} tokens per sample")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="MB of text per job after the read steps")
    parser.add_argument("--lines", type=int, default=12, help="sample lines per generated document")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--jobs", default="pretrain_zh,pretrain_en,code")
    args = parser.parse_args()
    os.chdir(ROOT)  # recipe paths are relative to the repository
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.jobs.split(","):
            run_job(name, Path(tmp) / name, args.mb, args.lines, args.workers)


if __name__ == "__main__":
    main()
