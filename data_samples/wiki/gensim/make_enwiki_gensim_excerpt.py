"""Regenerate enwiki-gensim-excerpt.xml.bz2: seven real English Wikipedia pages, taken unchanged from the
shortened enwiki dump that gensim ships as test data (Wikipedia text, CC BY-SA 3.0; revision of 2016).

The pages carry what the wiki renderer must keep: ``{{quote}}`` (Abraham Lincoln), ``{{convert}}`` with
``sqmi`` and ``e6acre`` (Alabama), ``<math>`` (Albedo), ``<source>`` code (Algorithm), ``{{Nihongo}}``
(Aikido), ``{{OldStyleDate}}`` (Ayn Rand) and ``{{Start date}}`` (Academy Awards). The whole gensim dump
(206 pages) is what benchmarks/wiki_fidelity.py reads with ``--dump``. Get it with
``pip download gensim==4.4.0 --no-deps`` and unzip ``gensim/test/test_data/enwiki-latest-pages-articles1*``.
Kept in a subdirectory so the demo (which reads data_samples/wiki) stays small.
Run: python data_samples/wiki/gensim/make_enwiki_gensim_excerpt.py path/to/enwiki-latest-pages-articles1...bz2
"""

import bz2
import re
import sys
from pathlib import Path

TITLES = ("Abraham Lincoln", "Alabama", "Albedo", "Algorithm", "Aikido", "Ayn Rand", "Academy Awards")


def main(dump: Path) -> None:
    xml = bz2.decompress(dump.read_bytes()).decode("utf-8")
    head = xml[: xml.index("  <page>")]
    pages = [page for page in re.findall(r"  <page>.*?</page>\n", xml, re.S)
             if re.search(r"<title>(.*?)</title>", page).group(1) in TITLES]
    assert len(pages) == len(TITLES), "the gensim dump no longer holds every page named in TITLES"
    out = Path(__file__).with_name("enwiki-gensim-excerpt.xml.bz2")
    out.write_bytes(bz2.compress((head + "".join(pages) + "</mediawiki>\n").encode("utf-8"), 9))
    print(f"{out}: {len(pages)} pages")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
