"""docs/s of our MinHash modes beside datasketch.MinHash and rensa, on the same documents and parameters.

Ours are timed from raw text, shingling included (numpy, ``corpus.dedup.shingle``); datasketch and
rensa are timed on shingle strings built before the clock starts (their usual input), so the
comparison favours them. One process, one core; 128 permutations, zh char 5-grams, en word 5-grams.

    PYTHONPATH=. python benchmarks/minhash.py --docs 2000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from datasketch import MinHash
from rensa import RMinHash

sys.path.insert(0, str(Path(__file__).parent))
from dedup_accuracy import TextGenerator  # noqa: E402

from corpus.dedup.minhash import MinHasher  # noqa: E402
from corpus.dedup.shingle import hash_shingles, shingle_tokens  # noqa: E402


def _strings(text: str) -> list[str]:
    return [" ".join(t) for t in shingle_tokens(text)]


def bench(name: str, fn, docs: list[str]) -> float:
    start = time.perf_counter()
    fn(docs)
    rate = len(docs) / (time.perf_counter() - start)
    print(f"  {name:34s} {rate:10,.0f} docs/s")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--num-perm", type=int, default=128)
    args = parser.parse_args()
    gen = TextGenerator(0)
    k = args.num_perm
    sets = {
        "zh (~3 KB, 1,000 chars)": [gen.zh(1000) for _ in range(args.docs)],
        "en (~3 KB, 500 words)": [gen.en(500) for _ in range(args.docs)],
    }
    fast, classic = MinHasher(num_perm=k, mode="fast"), MinHasher(num_perm=k, mode="classic")

    def datasketch(shingled):
        for strings in shingled:
            m = MinHash(num_perm=k, seed=1)
            m.update_batch([s.encode("utf-8") for s in strings])

    def rensa(shingled):
        for strings in shingled:
            m = RMinHash(num_perm=k, seed=1)
            m.update(strings)

    print(f"One core, {k} permutations, {args.docs} docs per set; machine has 2 cores shared with other engineers.")
    for label, docs in sets.items():
        print(label)
        shingled = [_strings(d) for d in docs]
        ref = bench("datasketch 2.0 MinHash.update_batch", datasketch, shingled)
        bench("rensa 0.5 RMinHash", rensa, shingled)
        bench("ours: numpy shingling alone", lambda ds: hash_shingles(ds), docs)
        c = bench("ours: classic", lambda ds: classic.signatures(hash_shingles(ds)), docs)
        f = bench("ours: fast (OPH + densification)", lambda ds: fast.signatures(hash_shingles(ds)), docs)
        print(f"  classic = {c / ref:.1f}x datasketch (target 4x), fast = {f / ref:.1f}x datasketch (target 20x)")


if __name__ == "__main__":
    main()
