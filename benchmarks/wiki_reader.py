"""Wiki reader throughput (pages/s, MB/s of uncompressed XML) beside WikiExtractor on the same dump.

Builds a larger dump by repeating the article pages of data_samples/wiki/enwiki-sample.xml.bz2 with
fresh ids (``--repeat``), then times ``WikiReader`` in this process and WikiExtractor's CLI with
``--processes 1`` as a subprocess, both from the .bz2. Run: python benchmarks/wiki_reader.py --repeat 20
"""

from __future__ import annotations

import argparse
import bz2
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus.readers.wiki import WikiReader

SAMPLE = Path(__file__).parents[1] / "data_samples" / "wiki" / "enwiki-sample.xml.bz2"


def build_dump(repeat: int, out: Path) -> tuple[int, int]:
    """Write a dump with the sample's pages repeated ``repeat`` times; return (pages, xml bytes)."""
    xml = bz2.decompress(SAMPLE.read_bytes()).decode("utf-8")
    head, rest = xml.split("<page>", 1)
    pages = re.findall(r"<page>.*?</page>", "<page>" + rest, re.S)
    body = []
    for r in range(repeat):
        for i, page in enumerate(pages):
            body.append(re.sub(r"<id>(\d+)</id>", f"<id>{r * 100000 + i + 1}</id>", page, count=1))
    data = (head + "\n".join(body) + "\n</mediawiki>\n").encode("utf-8")
    out.write_bytes(bz2.compress(data))
    return len(body), len(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "enwiki-bench.xml.bz2"
        pages, size = build_dump(args.repeat, dump)
        mb = size / 1e6
        start = time.perf_counter()
        counters: Counter = Counter()
        docs = sum(1 for _ in WikiReader()(dump, counters))
        ours = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "wikiextractor.WikiExtractor", str(dump), "--processes", "1",
                        "-o", str(Path(tmp) / "we"), "-q"], check=True, capture_output=True)
        theirs = time.perf_counter() - start
    print(f"dump: {pages} pages ({docs} articles out), {mb:.1f} MB XML, bz2")
    print(f"knowforge WikiReader   : {ours:6.2f} s  {pages / ours:8.1f} pages/s  {mb / ours:6.2f} MB/s")
    print(f"WikiExtractor 3.1 (-p1): {theirs:6.2f} s  {pages / theirs:8.1f} pages/s  {mb / theirs:6.2f} MB/s")


if __name__ == "__main__":
    main()
