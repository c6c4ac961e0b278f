"""Scoring throughput: documents/s and characters/s of perplexity under the shipped character n-gram
models (data_samples/score/char-ngram.json.gz, pure Python) and under KenLM (the [kenlm] extra) with
modified Kneser-Ney ARPA models trained on the same text (`score-train --format arpa`), one process,
plus the whole `score --buckets` stage through the runner; then how well each separates real prose from
junk: the `keep` documents of ../shared/quality/dev.jsonl (real web, news and encyclopedia text the models
never saw) mixed with word/character-shuffled copies of half of them and keyword spam (junk = a quarter of
the mix), bucketed into thirds per language. ``--reference`` is the directory data_samples/score/make_reference.py
writes (the public-domain books the shipped model was trained on); without it the KenLM models see only
the repository's samples, less text than the shipped model.
Run: python benchmarks/score.py --copies 20 --reference /tmp/scoreref/gutenberg"""

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
from corpus.score.stage import ScoreStep, doc_lang, load_models, train_from_shards  # noqa: E402
from corpus.shards import ShardWriter  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "data_samples/score/char-ngram.json.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=20, help="times the sample paragraphs are repeated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reference", type=Path, help="make_reference.py's output directory (its train/ is read)")
    args = parser.parse_args()
    docs = []
    for path, lang in (("enwiki-sample.xml.bz2", "en"), ("zhwiki-sample.xml.bz2", "zh")):
        for doc in WikiReader(lang=lang)(ROOT / "data_samples/wiki" / path, Counter()):
            docs += [p for p in doc["text"].split("\n\n") if len(p) > 100]
    texts = docs * args.copies
    scratch = Path(tempfile.mkdtemp(prefix="knowforge-score-bench-"))
    kenlm_dir = _train_kenlm(scratch, args.reference)
    # This tree's model, not DEFAULT_MODEL: that resolves through the installed package, which may be
    # another checkout (an editable install shared by several worktrees).
    backends = {"pure Python (Witten-Bell, .json.gz)": PerplexityModels.load(MODEL)}
    if kenlm_dir is not None:
        backends["KenLM (modified Kneser-Ney, ARPA)"] = load_models(kenlm_dir)
    chars = sum(map(len, texts))
    for name, models in backends.items():
        models.perplexity(texts[0], doc_lang({"text": texts[0]}))  # load the model outside the clock
        started = time.perf_counter()
        for text in texts:
            models.perplexity(text, doc_lang({"text": text}))
        seconds = time.perf_counter() - started
        print(f"scoring, 1 process, {name}: {len(texts)} docs, {chars:,} chars in {seconds:.2f} s: "
              f"{len(texts) / seconds:,.0f} docs/s, {chars / seconds / 1e6:.2f} M chars/s")
    for name, models in backends.items():
        _separation(name, models)
    with tempfile.TemporaryDirectory() as tmp:
        for part in range(4):
            with ShardWriter(Path(tmp) / "in" / f"part-{part:05d}.jsonl.zst") as writer:
                for i, text in enumerate(texts[part::4]):
                    writer.write({"id": f"{part}-{i}", "text": text, "source": "b", "meta": {}})
        started = time.perf_counter()
        report = run_stage(ScoreStep(model=str(MODEL), buckets=("head", "middle", "tail")), inputs=[Path(tmp) / "in"],
                           output=Path(tmp) / "out", workers=args.workers, progress=False)
        seconds = time.perf_counter() - started
        print(f"score --buckets stage, {args.workers} workers: {report.docs_in} docs in {seconds:.2f} s: "
              f"{report.docs_in / seconds:,.0f} docs/s")


def _train_kenlm(scratch: Path, reference: Path | None) -> Path | None:
    """ARPA models on the shipped model's own training text (data_samples/score/README.md; the books only
    with ``reference``), or None without the kenlm package."""
    try:
        import kenlm  # noqa: F401
    except ImportError:
        print("kenlm is not installed (pip install 'knowforge[kenlm]'): KenLM figures skipped")
        return None
    from corpus.steps import READERS

    shards = []
    for source, paths in (("wiki", ["wiki/enwiki-sample.xml.bz2", "wiki/zhwiki-sample.xml.bz2",
                                    "wiki/gensim/enwiki-gensim-excerpt.xml.bz2"]),
                          ("wudao", ["wudao/jinrong_data.json", "wudao/wudao-array-sample.json"]),
                          ("baike", ["baike/baike-pages.jsonl"])):
        out = scratch / f"read-{source}"
        run_stage(READERS[source](), inputs=[ROOT / "data_samples" / p for p in paths], output=out, progress=False)
        shards.append(out)
    if reference is not None:
        shards.append(reference / "train")
    else:
        print("no --reference: the KenLM models are trained on the repository's samples only")
    train_from_shards(shards, scratch / "kenlm", fmt="arpa")
    return scratch / "kenlm"


def _separation(name: str, models) -> None:
    """Share of real prose in head or middle and of junk in tail, per language (see the docstring)."""
    import json
    import random

    import numpy as np

    path = ROOT.parent / "shared" / "quality" / "dev.jsonl"
    if not path.exists():
        print(f"{path} not found: separation skipped")
        return
    rng = random.Random(0)
    spam_words = ("BUY", "NOW", "cheap", "$$$", "click", "here", "www.best-deals4u.biz", "100%", "FREE", "!!!",
                  "casino", "bonus", "低价", "代开发票", "加微信", "点击", "免费", "领取", "★★★", "http://x.cn/a?b=1")
    keep = [json.loads(line) for line in path.open(encoding="utf-8")]
    keep = [d for d in keep if d["label"] == "keep"]
    for lang in ("zh", "en"):
        prose = [d["text"] for d in keep if d["lang"] == lang]
        junk = []
        for text in prose[: len(prose) * 2 // 9]:  # shuffled copies: 2/9 of the prose count...
            units = list(text) if lang == "zh" else text.split()
            rng.shuffle(units)
            junk.append(("" if lang == "zh" else " ").join(units))
        junk += [" ".join(rng.choice(spam_words) for _ in range(rng.randint(20, 80)))
                 for _ in range(len(prose) // 9)]  # ...plus 1/9 spam: junk is a quarter of the mix
        p = np.array([models.perplexity(t, lang) for t in prose], dtype=float)
        j = np.array([models.perplexity(t, lang) for t in junk], dtype=float)
        cut = np.nanquantile(np.concatenate([p, j]), 2 / 3)  # the tail is the top third of perplexity
        print(f"separation, {name}, {lang}: prose in head/middle {np.mean(p <= cut):.0%} of {len(p)}, "
              f"junk in tail {np.mean(j > cut):.0%} of {len(j)} (goal 75% / 80%)")


if __name__ == "__main__":
    main()
