"""Precision and recall of the ``dedup`` stage on generated zh+en documents with known near-duplicates.

Text comes from character (zh) and word (en) bigram chains trained on the shared samples; each family
is a base document and one variant edited (scattered substitutions, a replaced span, an appended
tail) to land anywhere in Jaccard 0.5-1.0. Truth: exact shingle Jaccard >= threshold; prediction:
two documents in one cluster of the real stage (run in --annotate mode through the runner). The first
line per n uses the stage's defaults (fast MinHash, exact verification).

    PYTHONPATH=. python benchmarks/dedup_accuracy.py --families 1500 --ngram 2 3 4 5 6
"""

from __future__ import annotations

import argparse
import bz2
import itertools
import json
import random
import re
import tempfile
from pathlib import Path

import orjson

from corpus.dedup.near import NearDedupStep
from corpus.dedup.shingle import hash_shingles
from corpus.runner import run_stage
from corpus.shards import read_docs

SAMPLES = Path("/work/shared/samples")


class TextGenerator:
    """Bigram chains over Chinese characters (WuDao sample) and English words (Wikipedia sample)."""

    def __init__(self, seed: int = 0, samples: Path = SAMPLES) -> None:
        self.rng = random.Random(seed)
        records = json.loads((samples / "wudao" / "jinrong_data.json").read_text("utf-8"))["RECORDS"]
        zh = "".join(r["content"] for r in records)
        en = re.findall(r"[A-Za-z]+[.,]?", bz2.open(samples / "wiki" / "enwiki-sample.xml.bz2", "rt").read())
        self.zh_next = self._chain(list(zh))
        self.en_next = self._chain(en)

    @staticmethod
    def _chain(tokens: list[str]) -> dict[str, list[str]]:
        table: dict[str, list[str]] = {}
        for a, b in itertools.pairwise(tokens):
            table.setdefault(a, []).append(b)
        return table

    def _walk(self, table: dict[str, list[str]], n: int) -> list[str]:
        out = [self.rng.choice(list(table))]
        while len(out) < n:
            follow = table.get(out[-1])
            out.append(self.rng.choice(follow) if follow else self.rng.choice(list(table)))
        return out

    def zh(self, chars: int) -> str:
        return "".join(self._walk(self.zh_next, chars))

    def en(self, words: int) -> str:
        return " ".join(self._walk(self.en_next, words))

    def variant(self, text: str, lang: str, strength: float) -> str:
        """Edit ``text``: ``strength`` in [0, 1] scales scattered edits, a replaced span and a new tail."""
        units = list(text) if lang == "zh" else text.split(" ")
        fresh = (lambda k: list(self.zh(k))) if lang == "zh" else (lambda k: self.en(k).split(" "))
        n = len(units)
        scattered = int(n * strength * self.rng.uniform(0.0, 0.04))
        for _ in range(scattered):
            units[self.rng.randrange(n)] = fresh(1)[0]
        span = int(n * strength * self.rng.uniform(0.0, 0.25))
        if span:
            at = self.rng.randrange(n - span + 1)
            units[at : at + span] = fresh(span)
        tail = int(n * strength * self.rng.uniform(0.0, 0.15))
        units += fresh(tail) if tail else []
        return ("" if lang == "zh" else " ").join(units)


def jaccard(a, b) -> float:
    sa, sb = set(a.tolist()), set(b.tolist())
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def build_set(families: int, seed: int, ngram: int) -> tuple[list[dict], dict[tuple[str, str], float]]:
    """Documents and the exact Jaccard of every within-family pair, spread evenly over 0.5-1.0."""
    gen = TextGenerator(seed)
    docs, truth = [], {}
    bins = [0] * 10  # 0.05-wide Jaccard bins over [0.5, 1.0], filled evenly
    want = families // 10 + 1
    i = 0
    while len(truth) < families:
        lang = "zh" if i % 2 == 0 else "en"
        base = gen.zh(gen.rng.randint(300, 1500)) if lang == "zh" else gen.en(gen.rng.randint(150, 500))
        var = gen.variant(base, lang, gen.rng.uniform(0.0, 1.0))
        sh = hash_shingles([base, var], ngram_cjk=ngram)
        j = jaccard(sh.doc(0), sh.doc(1))
        slot = min(int((j - 0.5) / 0.05), 9)
        i += 1
        if j < 0.5 or bins[slot] >= want:
            continue
        bins[slot] += 1
        a, b = f"f{i:06d}a", f"f{i:06d}b"
        docs += [{"id": a, "text": base, "source": lang, "meta": {}}, {"id": b, "text": var, "source": lang, "meta": {}}]
        truth[(a, b)] = j
    return docs, truth


def evaluate(docs, truth, *, threshold: float, ngram: int, minhash: str, verify: bool, workdir: Path) -> dict:
    inp, out = workdir / "in", workdir / f"out-{minhash}-{verify}-{ngram}"
    if not inp.exists():
        inp.mkdir(parents=True)
        for s in range(4):
            with open(inp / f"part-{s:05d}.jsonl", "wb") as f:
                for doc in docs[s::4]:
                    f.write(orjson.dumps(doc) + b"\n")
    step = NearDedupStep(threshold=threshold, ngram=ngram, minhash=minhash, verify=verify, annotate=True)
    run_stage(step, inputs=[inp], output=out, workers=2, force=True, progress=False)
    cluster = {}
    for path in sorted(out.glob("part-*")):
        for doc in read_docs(path):
            if "minhash" in doc["meta"]:
                cluster[doc["id"]] = doc["meta"]["minhash"]["cluster_id"]
    by_cluster: dict[str, list[str]] = {}
    for doc_id, c in cluster.items():
        by_cluster.setdefault(c, []).append(doc_id)
    predicted = {tuple(sorted(p)) for ids in by_cluster.values() for p in itertools.combinations(ids, 2)}
    positives = {p for p, j in truth.items() if j >= threshold}
    texts = {d["id"]: d["text"] for d in docs}
    true_pred = 0
    for a, b in predicted:
        j = truth.get((a, b))
        if j is None:  # cross-family pair: measure it
            sh = hash_shingles([texts[a], texts[b]], ngram_cjk=ngram)
            j = jaccard(sh.doc(0), sh.doc(1))
        true_pred += j >= threshold
    return {
        "precision": true_pred / len(predicted) if predicted else 1.0,
        "recall": len(predicted & positives) / len(positives) if positives else 1.0,
        "pairs_true": len(positives),
        "pairs_predicted": len(predicted),
    }


def background_jaccard(ngram: int, seed: int, n: int = 200) -> float:
    """Mean shingle Jaccard of unrelated generated Chinese documents (lower = fewer chance matches)."""
    gen = TextGenerator(seed + 1)
    texts = [gen.zh(800) for _ in range(n)]
    sh = hash_shingles(texts, ngram_cjk=ngram)
    return sum(jaccard(sh.doc(i), sh.doc(i + 1)) for i in range(0, n, 2)) / (n // 2)


def scattered_edit_jaccard(ngram: int, seed: int, rate: float = 0.05, n: int = 100) -> float:
    """Mean shingle Jaccard after replacing ``rate`` of the characters of Chinese documents at random."""
    gen = TextGenerator(seed + 2)
    total = 0.0
    for _ in range(n):
        text = list(gen.zh(800))
        edited = text[:]
        for k in gen.rng.sample(range(len(text)), int(rate * len(text))):
            edited[k] = gen.zh(1)
        sh = hash_shingles(["".join(text), "".join(edited)], ngram_cjk=ngram)
        total += jaccard(sh.doc(0), sh.doc(1))
    return total / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=1500)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--ngram", type=int, nargs="+", default=[5])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("Machine: 2 cores shared with other engineers; 2 workers.")
    for ngram in args.ngram:
        docs, truth = build_set(args.families, args.seed, ngram)
        print(f"\nzh ngram={ngram}: {len(docs)} docs, background J(unrelated zh)={background_jaccard(ngram, args.seed):.4f}, "
              f"J after 5% scattered char edits={scattered_edit_jaccard(ngram, args.seed):.3f}")
        with tempfile.TemporaryDirectory() as tmp:
            for minhash, verify in [("fast", True), ("fast", False), ("classic", False)]:
                r = evaluate(docs, truth, threshold=args.threshold, ngram=ngram, minhash=minhash, verify=verify,
                             workdir=Path(tmp))
                label = " (the dedup stage's defaults)" if (minhash, verify) == ("fast", True) else ""
                print(f"  {minhash:7s} verify={'exact' if verify else 'estimate':8s} precision={r['precision']:.4f} "
                      f"recall={r['recall']:.4f}  (true pairs {r['pairs_true']}, predicted {r['pairs_predicted']})"
                      f"{label}")


if __name__ == "__main__":
    main()
