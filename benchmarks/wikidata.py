"""Wikidata dump streaming: entities/s and peak RSS of reading and of building the KB, at 1x and 10x input.

Generates a dump in the real framing (``[``, one entity per line ending in ``,``, ``]``, gzip) whose
entities look like real items (labels in many languages, aliases, ~30 statements, a sitelink), then runs
each measurement in a fresh process so that peak RSS belongs to that run alone (``readx2``: two worker
processes parse while the main one decompresses; RSS is the main process's). Flat memory means the
10x run's peak RSS is close to the 1x run's.

    python benchmarks/wikidata.py --entities 20000
"""

from __future__ import annotations

import argparse
import gzip
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


def make_dump(path: Path, count: int) -> None:
    rng = random.Random(0)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as f:
        f.write("[\n")
        for i in range(count):
            f.write(json.dumps(make_entity(i, rng), ensure_ascii=False) + (",\n" if i < count - 1 else "\n"))
        f.write("]\n")


def measure(mode: str, dump: Path, work: Path) -> None:
    """Runs in a child process: prints one JSON line with the figures."""
    from kg2instruction.kb import build_kb
    from kg2instruction.wikidata import read_dump

    started = time.perf_counter()
    counters: Counter = Counter()
    if mode.startswith("read"):
        workers = int(mode.split("x")[1]) if "x" in mode else 1
        count = sum(1 for _ in read_dump(dump, counters, workers=workers))
    else:
        counters = build_kb([dump], work / "kb.sqlite", value_props=frozenset({"P569"}), progress=False)
        count = counters["entities"]
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "entities": count, "seconds": seconds, "peak_rss_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=20_000, help="entities at 1x (10x is also run)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'input':>6} {'mode':>6} {'entities':>9} {'MB (gz)':>8} {'entities/s':>11} {'peak RSS MiB':>13}")
        for scale in (1, 10):
            dump = Path(tmp) / f"dump{scale}.json.gz"
            make_dump(dump, args.entities * scale)
            for mode in ("read", "readx2", "kb"):
                work = Path(tmp) / f"work{scale}{mode}"
                work.mkdir()
                out = subprocess.run([sys.executable, __file__, "--child", mode, str(dump), str(work)],
                                     check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(f"{scale:>5}x {mode:>6} {r['entities']:>9,} {dump.stat().st_size / 1e6:>8.1f} "
                      f"{r['entities'] / r['seconds']:>11,.0f} {r['peak_rss_mib']:>13.0f}")


if __name__ == "__main__":
    main()
