"""docs/s of our MinHash modes beside datasketch.MinHash and rensa, on the same documents and parameters.

What each clock holds: ours = raw text -> normalisation -> shingles -> signatures (everything);
datasketch and rensa = signatures from shingles built *before* the clock (the same shingles as ours,
from ``shingle_tokens``), so the comparison favours them. datasketch runs three ways: its default
hash (SHA-1 of the shingle string, the usual way to use it; the reference for the targets), our
``hash_shingle`` as ``hashfunc`` (bit-identical to our classic mode, but a pure-Python hash), and our
32-bit hashes precomputed outside the clock (``hashfunc=int``: only datasketch's permutation work).
One process, one core; best of ``--repeat`` interleaved rounds; 128 permutations, zh char 5-grams, en
word 5-grams.

    PYTHONPATH=. python benchmarks/minhash.py --docs 1000
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
from corpus.dedup.shingle import hash_shingle, hash_shingles, shingle_tokens  # noqa: E402


def bench(methods: dict[str, tuple], n_docs: int, repeat: int) -> dict[str, float]:
    """docs/s of each method, best of ``repeat`` rounds; every round runs all methods in turn, so a
    burst of load from other jobs on the shared machine hits them alike."""
    best = dict.fromkeys(methods, float("inf"))
    for _ in range(repeat):
        for name, (fn, data) in methods.items():
            start = time.perf_counter()
            fn(data)
            best[name] = min(best[name], time.perf_counter() - start)
    rates = {name: n_docs / seconds for name, seconds in best.items()}
    for name, rate in rates.items():
        print(f"  {name:58s} {rate:10,.0f} docs/s")
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    gen = TextGenerator(0)
    k, n, rep = args.num_perm, args.docs, args.repeat
    sets = {
        "zh (~3 KB, 1,000 chars)": [gen.zh(1000) for _ in range(n)],
        "en (~3 KB, 500 words)": [gen.en(500) for _ in range(n)],
    }
    fast, classic = MinHasher(num_perm=k, mode="fast"), MinHasher(num_perm=k, mode="classic")

    def datasketch(shingled, **kwargs):
        for shingles in shingled:
            m = MinHash(num_perm=k, seed=1, **kwargs)
            m.update_batch(shingles)

    def rensa(shingled):
        for strings in shingled:
            m = RMinHash(num_perm=k, seed=1)
            m.update(strings)

    print(f"One process, {k} permutations, {n} docs per set, best of {rep}; the machine has 2 cores shared "
          "with other engineers' jobs.")
    for label, docs in sets.items():
        print(label)
        tokens = [shingle_tokens(d) for d in docs]
        strings = [[" ".join(t) for t in ts] for ts in tokens]
        encoded = [[s.encode("utf-8") for s in ss] for ss in strings]
        batch = hash_shingles(docs)
        hashes = [batch.doc(d).tolist() for d in range(n)]
        rates = bench({
            "datasketch 2.0 update_batch, default SHA-1 of shingle bytes": (datasketch, encoded),
            "datasketch 2.0 update_batch, hashfunc=hash_shingle (ours)":
                (lambda s: datasketch(s, hashfunc=hash_shingle), tokens),
            "datasketch 2.0 update_batch, precomputed hashes (hashfunc=int)":
                (lambda s: datasketch(s, hashfunc=int), hashes),
            "rensa 0.5 RMinHash (shingle strings)": (rensa, strings),
            "ours: shingling alone (raw text -> shingle hashes)": (hash_shingles, docs),
            "ours: classic (raw text -> signatures)": (lambda ds: classic.signatures(hash_shingles(ds)), docs),
            "ours: fast, OPH + densification (raw text -> signatures)":
                (lambda ds: fast.signatures(hash_shingles(ds)), docs),
        }, n, rep)
        ref, perm, c, f = (rates[name] for name in (
            "datasketch 2.0 update_batch, default SHA-1 of shingle bytes",
            "datasketch 2.0 update_batch, precomputed hashes (hashfunc=int)",
            "ours: classic (raw text -> signatures)", "ours: fast, OPH + densification (raw text -> signatures)"))
        print(f"  vs datasketch default: classic = {c / ref:.1f}x (target 4x), fast = {f / ref:.1f}x (target 20x); "
              f"vs datasketch on precomputed hashes: classic {c / perm:.1f}x, fast {f / perm:.1f}x")


if __name__ == "__main__":
    main()
