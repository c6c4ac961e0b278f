"""Wikidata dump streaming: entities/s and peak RSS of reading and of building the KB, with 1 and 2 workers,
at 1x and 10x input, and the time the full dump would take at the measured rate.

Generates a dump in the real framing (``[``, one entity per line ending in ``,``, ``]``) whose entities
look like real items (labels in many languages, aliases, ~30 statements, sitelinks), compressed as a
multi-stream ``.bz2`` the way pbzip2/lbzip2 write it (one stream per 900 kB block), so 2 workers read
byte ranges in parallel (kg2instruction/wikidata.py). Each measurement runs in a fresh process, so its
peak RSS is its own: ``main`` is the reading/inserting process, ``worker`` the largest pool process.
Flat memory means the 10x run's peaks are close to the 1x run's.

    python benchmarks/wikidata.py --entities 5000
"""

from __future__ import annotations

import argparse
import bz2
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

LANGS = ["en", "de", "fr", "es", "it", "ja", "ru", "zh", "zh-hant", "ko", "pt", "nl"]


def make_entity(i: int, rng: random.Random) -> dict:
    qid = f"Q{i + 1000}"
    claims = {}
    for p in range(30):
        prop = f"P{rng.randint(1, 3000)}"
        target = f"Q{rng.randint(1000, 1000 + 10 * (i + 1))}"
        claims.setdefault(prop, []).append({
            "mainsnak": {"snaktype": "value", "property": prop, "datatype": "wikibase-item",
                         "datavalue": {"type": "wikibase-entityid",
                                       "value": {"entity-type": "item", "numeric-id": int(target[1:]), "id": target}}},
            "type": "statement", "rank": "normal", "id": f"{qid}${p}"})
    claims["P569"] = [{"mainsnak": {"snaktype": "value", "property": "P569", "datatype": "time", "datavalue": {
        "type": "time", "value": {"time": f"+{1900 + i % 100}-01-01T00:00:00Z", "precision": 11, "timezone": 0,
                                  "before": 0, "after": 0, "calendarmodel": "Q1985727"}}},
        "type": "statement", "rank": "normal", "id": f"{qid}$birth"}]
    return {
        "type": "item", "id": qid,
        "labels": {lang: {"language": lang, "value": f"实体{i}" if lang.startswith("zh") else f"Entity {i}"}
                   for lang in LANGS},
        "descriptions": {lang: {"language": lang, "value": f"description {i} in {lang}"} for lang in LANGS},
        "aliases": {"zh": [{"language": "zh", "value": f"别名{i}-{k}"} for k in range(3)]},
        "claims": claims,
        "sitelinks": {"zhwiki": {"site": "zhwiki", "title": f"实体{i}", "badges": []}},
    }


def make_dump(path: Path, count: int) -> int:
    """Write ``count`` entities as a multi-stream bz2 dump; returns the uncompressed JSON bytes."""
    rng = random.Random(0)
    block, total = [], 0
    with open(path, "wb") as f:
        def flush() -> None:
            f.write(bz2.compress(b"".join(block), 9))
            block.clear()

        pending = 0
        for i in range(-1, count + 1):
            if i == -1:
                line = b"[\n"
            elif i == count:
                line = b"]\n"
            else:
                line = (json.dumps(make_entity(i, rng), ensure_ascii=False) + (",\n" if i < count - 1 else "\n")).encode()
            block.append(line)
            pending += len(line)
            total += len(line)
            if pending >= 900_000:
                flush()
                pending = 0
        flush()
    return total


def measure(mode: str, dump: Path, work: Path) -> None:
    """Runs in a child process: prints one JSON line with the figures."""
    from kg2instruction.kb import build_kb
    from kg2instruction.wikidata import read_dump

    kind, workers = mode.split("x")
    started = time.perf_counter()
    counters: Counter = Counter()
    if kind == "read":
        count = sum(1 for _ in read_dump(dump, counters, workers=int(workers)))
    else:
        counters = build_kb([dump], work / "kb.sqlite", value_props=frozenset({"P569"}), workers=int(workers),
                            progress=False)
        count = counters["entities"]
    seconds = time.perf_counter() - started
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"mode": mode, "entities": count, "seconds": seconds, "main_mib": own.ru_maxrss / 1024,
                      "worker_mib": children.ru_maxrss / 1024, "main_cpu": own.ru_utime + own.ru_stime,
                      "worker_cpu": children.ru_utime + children.ru_stime}))


def _burn(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - started


def free_cores_probe() -> str:
    """Wall time of one CPU burner alone and of two at once: equal times mean two free cores."""
    import multiprocessing

    one = _burn(10_000_000)
    with multiprocessing.Pool(2) as pool:
        started = time.perf_counter()
        pool.map(_burn, [10_000_000, 10_000_000])
        two = time.perf_counter() - started
    return f"free-core probe: one burner {one:.2f} s, two at once {two:.2f} s (two free cores: about equal)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=5_000, help="entities at 1x (10x is also run)")
    parser.add_argument("--full-entities", type=float, default=110e6, help="entities in the full dump")
    parser.add_argument("--full-json-bytes", type=float, default=1.4e12,
                        help="uncompressed bytes of the full dump (latest-all.json), for the byte-scaled estimate")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    best: dict[str, tuple[float, float]] = {}
    print(free_cores_probe())
    # "free-core wall" is what the run would take with a core per process: the largest of the main
    # process's CPU time and the workers' CPU time shared by 2 (on a shared machine wall time is not that).
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'input':>6} {'mode':>6} {'entities':>9} {'MB bz2':>7} {'MB json':>8} {'entities/s':>11} "
              f"{'MB json/s':>10} {'main MiB':>9} {'worker MiB':>11} {'main CPU s':>11} {'worker CPU s':>13} "
              f"{'free-core wall s':>17}")
        for scale in (1, 10):
            dump = Path(tmp) / f"dump{scale}.json.bz2"
            json_bytes = make_dump(dump, args.entities * scale)
            for mode in ("readx1", "readx2", "kbx1", "kbx2"):
                work = Path(tmp) / f"work{scale}{mode}"
                work.mkdir()
                out = subprocess.run([sys.executable, __file__, "--child", mode, str(dump), str(work)],
                                     check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                rate, byte_rate = r["entities"] / r["seconds"], json_bytes / r["seconds"]
                best[mode] = (rate, byte_rate)
                workers = int(mode.split("x")[1])
                ideal = max(r["main_cpu"], r["worker_cpu"] / workers)
                print(f"{scale:>5}x {mode:>6} {r['entities']:>9,} {dump.stat().st_size / 1e6:>7.1f} "
                      f"{json_bytes / 1e6:>8.1f} {rate:>11,.0f} {byte_rate / 1e6:>10.1f} {r['main_mib']:>9.0f} "
                      f"{r['worker_mib']:>11.0f} {r['main_cpu']:>11.1f} {r['worker_cpu']:>13.1f} {ideal:>17.1f}")
    print(f"\nfull dump estimate ({args.full_entities:,.0f} entities, {args.full_json_bytes / 1e12:.1f} TB of JSON), "
          "from the 10x run:")
    for mode, (rate, byte_rate) in best.items():
        print(f"  {mode:>6}: {args.full_entities / rate / 3600:6.1f} h at this entity size, "
              f"{args.full_json_bytes / byte_rate / 3600:6.1f} h scaled by JSON bytes")


if __name__ == "__main__":
    main()
