"""Scoring throughput: documents/s and characters/s of perplexity under the shipped character n-gram
models (data_samples/score/char-ngram.json.gz), one process, plus the whole `score --buckets` stage
through the runner. Run: python benchmarks/score.py --copies 20"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.readers.wiki import WikiReader  # noqa: E402
from corpus.runner import run_stage  # noqa: E402
from corpus.score.ngram import PerplexityModels  # noqa: E402
from corpus.score.stage import DEFAULT_MODEL, ScoreStep, doc_lang  # noqa: E402
from corpus.shards import ShardWriter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=20, help="times the sample paragraphs are repeated")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    docs = []
    for path, lang in (("enwiki-sample.xml.bz2", "en"), ("zhwiki-sample.xml.bz2", "zh")):
        for doc in WikiReader(lang=lang)(ROOT / "data_samples/wiki" / path, Counter()):
            docs += [p for p in doc["text"].split("\n\n") if len(p) > 100]
    texts = docs * args.copies
    models = PerplexityModels.load(DEFAULT_MODEL)
    started = time.perf_counter()
    for text in texts:
        models.perplexity(text, doc_lang({"text": text}))
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    print(f"scoring, 1 process: {len(texts)} docs, {chars:,} chars in {seconds:.2f} s: "
          f"{len(texts) / seconds:,.0f} docs/s, {chars / seconds / 1e6:.2f} M chars/s")
    with tempfile.TemporaryDirectory() as tmp:
        for part in range(4):
            with ShardWriter(Path(tmp) / "in" / f"part-{part:05d}.jsonl.zst") as writer:
                for i, text in enumerate(texts[part::4]):
                    writer.write({"id": f"{part}-{i}", "text": text, "source": "b", "meta": {}})
        started = time.perf_counter()
        report = run_stage(ScoreStep(buckets=("head", "middle", "tail")), inputs=[Path(tmp) / "in"],
                           output=Path(tmp) / "out", workers=args.workers, progress=False)
        seconds = time.perf_counter() - started
        print(f"score --buckets stage, {args.workers} workers: {report.docs_in} docs in {seconds:.2f} s: "
              f"{report.docs_in / seconds:,.0f} docs/s")


if __name__ == "__main__":
    main()
