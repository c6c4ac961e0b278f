"""Shard reading speed and memory: our line reader beside zstandard's ``stream_reader`` + ``io.TextIOWrapper``.

Writes two ``.jsonl.zst`` shards of about ``--mb`` MB each, one of ordinary varied documents and one
highly repetitive (the same few documents over and over: ~200x compression, where the old reader was
quadratic), and reads each with ``corpus.shards.iter_json_lines`` (bytes lines, truncation detected,
size limit applied) and with zstandard's own reader wrapped in a TextIOWrapper (str lines, no truncation
check), best of ``--repeat``. Then a zstd bomb of ``--bomb-mb`` MB of one repeated line is read in a
child process of each kind, whose peak RSS is printed: it must stay flat, far below the bomb's size.
Run: python benchmarks/shards.py --mb 200 --bomb-mb 2000
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import zstandard

from corpus.shards import Unreadable, iter_json_lines

WORDS = ("data knowledge model corpus shard token sentence document language wiki article 知识 模型 语料 "
         "句子 文档 中文 百科 数据 训练 城市 历史 科学").split()


def write_shard(path: Path, mb: int, *, repetitive: bool) -> int:
    """Write ``mb`` MB of JSON lines to a zstd shard (streamed, never all in memory); return the line count."""
    rng = random.Random(0)
    pool = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(50, 400))) for _ in range(4 if repetitive else 2000)]
    lines, size = 0, 0
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        while size < mb * 1_000_000:
            text = pool[lines % len(pool)] if repetitive else " ".join(rng.sample(pool, 2))
            line = orjson.dumps({"id": f"d{lines}", "text": text, "source": "bench", "meta": {}}) + b"\n"
            out.write(line)
            size += len(line)
            lines += 1
    return lines


def read_ours(path: Path) -> int:
    count = 0
    for _, line in iter_json_lines(path):
        if isinstance(line, Unreadable):
            raise RuntimeError(f"{path}: {line.reason}")
        count += 1
    return count


def read_reference(path: Path) -> int:
    with open(path, "rb") as raw:
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return sum(1 for line in io.TextIOWrapper(reader, encoding="utf-8") if line.strip())


READERS = {"ours": read_ours, "zstandard": read_reference}


def best_time(fn, path: Path, repeat: int) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = fn(path)
        best = min(best, time.perf_counter() - start)
    return best, count


def child_peak_rss(kind: str, path: Path) -> tuple[float, int, float]:
    """(seconds, lines, peak RSS in MB) of reading ``path`` with ``kind`` in a fresh process."""
    code = (f"import sys,time,resource; sys.path.insert(0, {str(Path(__file__).parent)!r}); import shards as b; "
            f"t=time.perf_counter(); n=b.READERS[{kind!r}](__import__('pathlib').Path({str(path)!r})); "
            "print(time.perf_counter()-t, n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), float(out[2])


def write_bomb(path: Path, mb: int) -> int:
    """One short line repeated until ``mb`` MB: compresses ~5,000x, like the 10 GiB bomb of issue 23."""
    line = orjson.dumps({"id": "bomb", "text": "a" * 1000, "source": "bench", "meta": {}}) + b"\n"
    block = line * (8_000_000 // len(line))
    written = 0
    with open(path, "wb") as raw, zstandard.ZstdCompressor(level=3).stream_writer(raw) as out:
        while written < mb * 1_000_000:
            out.write(block)
            written += len(block)
    return written // len(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200, help="uncompressed MB per benchmark shard")
    parser.add_argument("--bomb-mb", type=int, default=2000, help="uncompressed MB of the zstd bomb")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("ordinary", "repetitive"):
            path = Path(tmp) / f"{kind}.jsonl.zst"
            lines = write_shard(path, args.mb, repetitive=kind == "repetitive")
            ratio = args.mb * 1e6 / path.stat().st_size
            ours, n_ours = best_time(read_ours, path, args.repeat)
            ref, n_ref = best_time(read_reference, path, args.repeat)
            assert n_ours == n_ref == lines, (n_ours, n_ref, lines)
            print(f"{kind:>10}: {lines:,} lines, {args.mb} MB, ratio {ratio:.0f}x | ours {args.mb / ours:6.0f} MB/s"
                  f" | zstandard+TextIOWrapper {args.mb / ref:6.0f} MB/s | ours/ref {ref / ours:.2f}x")
        bomb = Path(tmp) / "bomb.jsonl.zst"
        lines = write_bomb(bomb, args.bomb_mb)
        print(f"bomb: {args.bomb_mb} MB in {bomb.stat().st_size / 1e3:.0f} kB, {lines:,} lines")
        for kind in READERS:
            seconds, n, rss = child_peak_rss(kind, bomb)
            print(f"  {kind:>9}: {n:,} lines in {seconds:.1f} s, peak RSS {rss:.0f} MB")
    print(f"(this process's own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
