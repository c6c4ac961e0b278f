"""Wiki reader throughput (pages/s, MB/s of uncompressed XML) beside WikiExtractor on the same dump.

Builds a larger dump by repeating the article pages of data_samples/wiki/enwiki-sample.xml.bz2 with
fresh ids (``--repeat``), then times ``WikiReader`` in this process and WikiExtractor's CLI with
``--processes 1`` as a subprocess, both from the .bz2. WikiExtractor still runs three processes (reader,
one extractor, one writer) that overlap on a multi-core machine, so CPU seconds (user + system, all its
processes) are printed beside wall seconds: pages per CPU second is the per-process comparison.
Needs the reference: ``pip install wikiextractor==3.1.0`` (not a dependency of knowforge).
Run: python benchmarks/wiki_reader.py --repeat 20
(``--sample data_samples/wiki/gensim/enwiki-gensim-excerpt.xml.bz2``: seven long real articles, heavy in
templates, quotes, math and tables, instead of the default sample.)
"""

from __future__ import annotations

import argparse
import bz2
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus.readers.wiki import WikiReader

SAMPLE = Path(__file__).parents[1] / "data_samples" / "wiki" / "enwiki-sample.xml.bz2"


def build_dump(repeat: int, out: Path, sample: Path = SAMPLE) -> tuple[int, int]:
    """Write a dump with the sample's pages repeated ``repeat`` times; return (pages, xml bytes)."""
    xml = bz2.decompress(sample.read_bytes()).decode("utf-8")
    head, rest = xml.split("<page>", 1)
    pages = re.findall(r"<page>.*?</page>", "<page>" + rest, re.S)
    body = []
    for r in range(repeat):
        for i, page in enumerate(pages):
            body.append(re.sub(r"<id>(\d+)</id>", f"<id>{r * 100000 + i + 1}</id>", page, count=1))
    data = (head + "\n".join(body) + "\n</mediawiki>\n").encode("utf-8")
    out.write_bytes(bz2.compress(data))
    return len(body), len(data)


def children_cpu() -> float:
    """User + system CPU seconds of finished child processes (and theirs, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sample", type=Path, default=SAMPLE, help="the dump whose pages are repeated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "enwiki-bench.xml.bz2"
        pages, size = build_dump(args.repeat, dump, args.sample)
        mb = size / 1e6
        start, cpu = time.perf_counter(), time.process_time()
        counters: Counter = Counter()
        docs = sum(1 for _ in WikiReader()(dump, counters))
        ours = (time.perf_counter() - start, time.process_time() - cpu)
        before = children_cpu()
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wikiextractor.WikiExtractor", str(dump), "--processes", "1",
                        "-o", str(Path(tmp) / "we"), "-q"], check=True, capture_output=True)
        theirs = (time.perf_counter() - start, children_cpu() - before)
    print(f"dump: {pages} pages ({docs} articles out), {mb:.1f} MB XML, bz2")
    for name, (wall, cpu) in (("knowforge WikiReader", ours), ("WikiExtractor 3.1 (-p1)", theirs)):
        print(f"{name:24s}: wall {wall:6.2f} s {pages / wall:7.1f} pages/s {mb / wall:5.2f} MB/s | "
              f"cpu {cpu:6.2f} s {pages / cpu:7.1f} pages/s {mb / cpu:5.2f} MB/s")

if __name__ == "__main__":
    main()
