"""Benchmark the pack stage: tokens/s of read+tokenize+split+pack+write vs the raw tokenizer, and peak RSS.

Input: English Wikipedia and WuDao (zh) sample text from data_samples/ (repeated to the wanted size),
one JSONL shard per language and copy. Reference in the same run: the tokenizer's own batch encode of
the same texts in the same batches, one thread, each batch's output held until the next (as ours is):
for SentencePiece both its Python int lists and its int32 arrays (``return_type="numpy"``, what the
stage uses); ratios are against the faster of the two. KnowLM's preprocess.py reports ~0.65 MB/s per
worker.

    PYTHONPATH=. python benchmarks/pack.py [--tokenizer tests/fixtures/tokenizer/llama-style.model] [--mb 8]
        [--stage-mb 32] [--rss-mb 4] [--langs en,zh] [--repeat 5]
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from corpus.pack.stage import PackStep  # noqa: E402
from corpus.runner import run_stage  # noqa: E402
from corpus.tokenizers.load import load_tokenizer  # noqa: E402

LLAMA = ROOT / "tests" / "fixtures" / "tokenizer" / "llama-style.model"


def sample_texts() -> dict[str, list[str]]:
    """Real sample documents per language from data_samples (wiki via our reader, WuDao JSON)."""
    from corpus.readers.wiki import WikiReader
    from corpus.readers.wudao import WudaoReader

    counters: collections.Counter = collections.Counter()
    out: dict[str, list[str]] = {"en": [], "zh": []}
    for doc in WikiReader()(ROOT / "data_samples" / "wiki" / "enwiki-sample.xml.bz2", counters):
        if doc["text"] and "reject" not in doc.get("meta", {}):
            out["en"].append(doc["text"])
    for path in sorted((ROOT / "data_samples" / "wudao").glob("*.json")):
        out["zh"].extend(d["text"] for d in WudaoReader()(path, counters) if d["text"])
    return out


def write_input(directory: Path, texts: list[str], mb: float, shards: int) -> int:
    """Write ``shards`` JSONL shards together holding about ``mb`` MB of ``texts`` repeated; returns bytes."""
    directory.mkdir(parents=True, exist_ok=True)
    per_shard = mb * 1e6 / shards
    total = 0
    for s in range(shards):
        size, i = 0, 0
        with open(directory / f"part-{s:05d}.jsonl", "w", encoding="utf-8") as f:
            while size < per_shard:
                text = texts[i % len(texts)]
                f.write(json.dumps({"id": f"{s}-{i}", "text": text, "source": "bench"}, ensure_ascii=False) + "\n")
                size += len(text.encode())
                i += 1
        total += size
    return total


def raw_encoders(tokenizer: str) -> dict[str, object]:
    """The tokenizer's own batch encode, one thread: name → function of a list of texts."""
    tok = load_tokenizer(tokenizer)
    if hasattr(tok, "processor"):  # SentencePiece
        out = {"raw sp.encode, int lists": lambda texts: tok.processor.encode(texts, num_threads=1)}
        if tok.numpy_out:
            out["raw sp.encode, int32 arrays"] = lambda texts: tok.processor.encode(
                texts, num_threads=1, return_type="numpy")
        return out
    return {"raw tokenizers encode_batch": lambda texts: [
        e.ids for e in tok.backend.encode_batch(texts, add_special_tokens=False)]}


def raw_encode(encode, directory: Path, batch: int) -> tuple[int, float]:
    """(tokens, seconds) of ``encode`` over every document in ``directory`` (text read beforehand) in
    batches of ``batch``; each batch's output is kept until the next one, as in the stage."""
    texts = [json.loads(line)["text"] for p in sorted(directory.glob("*.jsonl")) for line in open(p, encoding="utf-8")]
    started = time.perf_counter()
    tokens, out = 0, None
    for i in range(0, len(texts), batch):
        out = encode(texts[i : i + batch])
        tokens += sum(map(len, out))
    del out
    return tokens, time.perf_counter() - started


def pack_in_process(tokenizer: str, directory: Path, out: Path) -> tuple[int, float]:
    """(tokens, seconds) of tokenize+split+pack+write alone: ``write_shard`` over already parsed documents."""
    docs = [json.loads(line) for p in sorted(directory.glob("*.jsonl")) for line in open(p, encoding="utf-8")]
    step = PackStep(tokenizer=tokenizer)
    load_tokenizer(tokenizer)
    counters: collections.Counter = collections.Counter()
    for suffix in (".bin", ".idx"):  # a real run writes new files: don't time freeing the last run's
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    started = time.perf_counter()
    step.write_shard(iter(docs), out, counters)
    return counters["pack_doc_tokens"], time.perf_counter() - started


def pack(tokenizer: str, directory: Path, out: Path, workers: int) -> tuple[int, float]:
    """(document tokens, seconds) of the whole pack stage, merge included."""
    step = PackStep(tokenizer=tokenizer)
    started = time.perf_counter()
    report = run_stage(step, inputs=[directory], output=out, workers=workers, force=True, progress=False)
    return report.counters["pack_doc_tokens"], time.perf_counter() - started


def _burn(_: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(5_000_000):
        total += i
    return time.perf_counter() - started


def machine_parallelism() -> float:
    """How many cores a second process really gets now: 2 x (one busy loop's time) / (two at once)."""
    alone = min(_burn(0) for _ in range(2))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        together = max(pool.map(_burn, [0, 1]))
    return 2 * alone / together


def rss_child(tokenizer: str, directory: Path, out: Path) -> None:
    """Run in a fresh process: pack with one worker, print peak RSS in MB."""
    pack(tokenizer, directory, out, workers=1)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", default=str(LLAMA))
    parser.add_argument("--mb", type=float, default=8.0, help="input size per language for the speed runs")
    parser.add_argument("--rss-mb", type=float, default=4.0, help="1x input size for the memory runs")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs; the best of each is shown")
    parser.add_argument("--langs", default="en,zh", help="speed runs: en, zh or both")
    parser.add_argument("--stage-mb", type=float, default=32.0, help="input size for the whole-stage runs")
    parser.add_argument("--no-rss", action="store_true", help="skip the memory runs")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.tokenizer, Path(args.rss_child[0]), Path(args.rss_child[1]))
        return

    texts = sample_texts()
    print(f"tokenizer {args.tokenizer}; machine: 2 cores shared with other work, figures are indicative")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for lang in args.langs.split(","):
            docs = texts[lang]
            src = tmp / f"in-{lang}"
            nbytes = write_input(src, docs, args.mb, shards=2)
            # best of N alternating runs: the machine is shared, so single timings are noisy
            encoders = raw_encoders(args.tokenizer)
            best: dict[str, tuple[int, float]] = {}
            for _ in range(args.repeat):
                for name, encode in encoders.items():
                    best[name] = min(best.get(name, (0, float("inf"))), raw_encode(encode, src, PackStep().batch_docs),
                                     key=lambda r: r[1])
                best["ours"] = min(best.get("ours", (0, float("inf"))),
                                   pack_in_process(args.tokenizer, src, tmp / f"inproc-{lang}"), key=lambda r: r[1])
            ours_tokens, ours_s = best.pop("ours")
            raw_tokens, raw_s = min(best.values(), key=lambda r: r[1])
            assert all(t == ours_tokens for t, _ in best.values()), (best, ours_tokens)
            raw_rate = raw_tokens / raw_s
            print(f"\n[{lang}] {nbytes / 1e6:.1f} MB, {raw_tokens:,} tokens, {len(docs)} distinct docs repeated")
            for name, (_, secs) in best.items():
                print(f"  {name:<33}{raw_tokens / secs / 1e6:6.2f} M tokens/s  {nbytes / secs / 1e6:6.2f} MB/s")
            print(f"  tokenize+split+pack+write        {ours_tokens / ours_s / 1e6:6.2f} M tokens/s  "
                  f"{nbytes / ours_s / 1e6:6.2f} MB/s  = {raw_s / ours_s:.2f}x the fastest raw")
            # the whole stage on a larger input (2 shards), so worker start-up and the merge do not dominate
            stage_src = tmp / f"stage-{lang}"
            stage_bytes = write_input(stage_src, docs, args.stage_mb, shards=2)
            print(f"  (two busy processes get {machine_parallelism():.2f} cores right now: the ceiling for 2 workers)")
            for workers in (1, 2):
                tokens, secs = pack(args.tokenizer, stage_src, tmp / f"out-{lang}-{workers}", workers)
                print(f"  whole stage (read..merge) {stage_bytes / 1e6:.0f} MB, {workers} worker(s) "
                      f"{tokens / secs / 1e6:6.2f} M tokens/s  {stage_bytes / secs / 1e6:6.2f} MB/s  "
                      f"= {tokens / secs / raw_rate / workers:.2f}x raw per worker")
        if args.no_rss:
            return
        print("\npeak RSS of a one-worker pack run (fresh process), zh+en text in one shard:")
        mixed = texts["en"] + texts["zh"]
        for factor in (1, 10):
            src = tmp / f"rss-{factor}"
            nbytes = write_input(src, mixed, args.rss_mb * factor, shards=1)
            cmd = [sys.executable, __file__, "--tokenizer", args.tokenizer, "--rss-child", str(src), str(tmp / "rss-out")]
            rss = float(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()[-1])
            print(f"  {factor:>2}x input ({nbytes / 1e6:5.1f} MB): peak RSS {rss:6.1f} MB")


if __name__ == "__main__":
    main()
