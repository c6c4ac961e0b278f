"""The score stage end to end through the runner: a model trained on part of the reference samples puts
held-out reference text in the head bucket and shuffled/spam text in the tail (>= 80% each, printed),
documents in = out + rejected, buckets are separate shard sets, and unscorable documents are kept."""

from __future__ import annotations

import importlib.util
import json
import random
from collections import Counter
from pathlib import Path

import pytest

from corpus.readers.wiki import WikiReader
from corpus.runner import run_stage
from corpus.score.arpa import write_arpa_models
from corpus.score.ngram import train_models
from corpus.score.stage import (
    DEFAULT_MODEL,
    NO_MODEL,
    UNSCORED,
    ScoreStep,
    bucket_of,
    quantile_boundaries,
)
from corpus.shards import list_shards, read_docs
from corpus.steps import ConfigError, build_step

REPO = Path(__file__).resolve().parents[3]
BUCKETS = ("head", "middle", "tail")
SPAM_WORDS = ("BUY", "NOW", "cheap", "$$$", "click", "here", "www.best-deals4u.biz", "100%", "FREE", "!!!",
              "casino", "bonus", "低价", "代开发票", "加微信", "点击", "免费", "领取", "★★★", "http://x.cn/a?b=1")


def _chunks(text: str, size: int) -> list[str]:
    """Consecutive pieces of about ``size`` characters, cut after a sentence end where possible."""
    pieces, start = [], 0
    while start < len(text):
        end = min(len(text), start + size)
        cut = max(text.rfind("。", start, end), text.rfind(". ", start, end))
        end = cut + 1 if cut > start + size // 2 and end < len(text) else end
        if text[start:end].strip():
            pieces.append(text[start:end].strip())
        start = end
    return pieces


def _reference() -> dict[str, list[str]]:
    en_docs = WikiReader(lang="en")(REPO / "data_samples/wiki/enwiki-sample.xml.bz2", Counter())
    en_text = "\n".join(d["text"] for d in en_docs)[:120_000]
    records = json.loads((REPO / "data_samples/wudao/jinrong_data.json").read_text(encoding="utf-8"))["RECORDS"]
    zh_text = "".join(r["content"] for r in records)
    return {"en": _chunks(en_text, 500), "zh": _chunks(zh_text, 120)}


def _ocr_noise(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """OCR-like damage: ``rate`` of the characters replaced by other characters of the same text."""
    pool = [ch for ch in text if not ch.isspace()]
    return "".join(rng.choice(pool) if not ch.isspace() and rng.random() < rate else ch for ch in text)


def _char_shuffle(text: str, rng: random.Random) -> str:
    chars = list(text)
    rng.shuffle(chars)
    return "".join(chars)


def _spam(rng: random.Random, n_words: int) -> str:
    return " ".join(rng.choice(SPAM_WORDS) for _ in range(n_words))


@pytest.fixture(scope="module")
def corpus_and_model(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """Shards of equal thirds per language (held-out reference, the same with OCR-like noise, junk), the model
    trained on the other reference chunks, and the kind of every document id."""
    rng = random.Random(13)
    root = tmp_path_factory.mktemp("score")
    train: list[tuple[str, str]] = []
    docs: list[dict] = []
    kinds: dict[str, str] = {}
    for lang, chunks in _reference().items():
        held = chunks[::3]  # every third chunk is held out; the model never sees it
        train += [(lang, c) for i, c in enumerate(chunks) if i % 3]
        for i, text in enumerate(held):
            junk = _char_shuffle(text, rng) if i % 2 else _spam(rng, max(8, len(text) // 6))
            for kind, body in (("reference", text), ("middle", _ocr_noise(text, rng)), ("junk", junk)):
                doc_id = f"{lang}-{kind}-{i}"
                kinds[doc_id] = kind
                docs.append({"id": doc_id, "text": body, "source": "test", "meta": {"lang": lang}})
    rng.shuffle(docs)
    model = root / "model.json.gz"
    train_models(train).save(model)
    if importlib.util.find_spec("kenlm") is not None:  # the [kenlm] extra: the same text as ARPA models
        write_arpa_models(train, root / "kenlm")
    from corpus.shards import ShardWriter

    shards = root / "in"
    for part in range(3):  # three shards, so the quantiles really are global
        with ShardWriter(shards / f"part-{part:05d}.jsonl.zst") as writer:
            for doc in docs[part::3]:
                writer.write(doc)
    return shards, model, kinds


@pytest.mark.parametrize("backend", ["json", "kenlm"])
def test_reference_in_head_and_junk_in_tail(corpus_and_model, tmp_path, backend):
    shards, model, kinds = corpus_and_model
    if backend == "kenlm":
        pytest.importorskip("kenlm")
        model = model.parent / "kenlm"
    out = tmp_path / "scored"
    report = run_stage(ScoreStep(model=str(model), buckets=BUCKETS), inputs=[shards], output=out, progress=False)
    assert report.docs_in == report.docs_out + report.rejected == len(kinds)
    placed: dict[str, Counter] = {kind: Counter() for kind in ("reference", "middle", "junk")}
    total = 0
    for bucket in (*BUCKETS, UNSCORED):
        for shard in list_shards(out / bucket):
            for doc in read_docs(shard):
                total += 1
                placed[kinds[doc["id"]]][bucket] += 1
                if bucket != UNSCORED:
                    assert doc["meta"]["bucket"] == bucket and doc["meta"]["scores"]["ppl"] > 1
    assert total == len(kinds)
    for kind, counts in placed.items():
        print(f"{kind:10s} " + "  ".join(f"{b} {counts[b]}" for b in BUCKETS) + f"  of {sum(counts.values())}")
    head_share = placed["reference"]["head"] / sum(placed["reference"].values())
    tail_share = placed["junk"]["tail"] / sum(placed["junk"].values())
    print(f"held-out reference in head: {head_share:.0%}; shuffled/spam in tail: {tail_share:.0%}")
    assert head_share >= 0.8 and tail_share >= 0.8
    summary = json.loads((out / "_score" / "boundaries.json").read_text())
    assert set(summary["boundaries"]) == {"en", "zh"}


def test_rerun_skips_and_workers_do_not_change_bytes(corpus_and_model, tmp_path):
    shards, model, _ = corpus_and_model
    step = ScoreStep(model=str(model), buckets=BUCKETS)
    one = run_stage(step, inputs=[shards], output=tmp_path / "one", progress=False)
    two = run_stage(step, inputs=[shards], output=tmp_path / "two", workers=2, progress=False)
    again = run_stage(step, inputs=[shards], output=tmp_path / "one", progress=False)
    assert again.shards_skipped == again.shards == 3 and again.docs_out == one.docs_out
    for bucket in BUCKETS:
        for a, b in zip(list_shards(tmp_path / "one" / bucket), list_shards(tmp_path / "two" / bucket), strict=True):
            assert a.read_bytes() == b.read_bytes()
    assert two.docs_out == one.docs_out


def test_without_buckets_scores_in_place_and_keeps_unscorable(tmp_path, write_shard):
    model = tmp_path / "en-only.json.gz"
    train_models([("en", "The cat sat on the mat. The dog sat on the log.")]).save(model)
    docs = [
        {"id": "a", "text": "The cat sat on the log.", "source": "t", "meta": {}},
        {"id": "b", "text": "猫坐在垫子上。", "source": "t", "meta": {}},
    ]
    write_shard(tmp_path / "in" / "part-00000.jsonl.zst", docs)
    report = run_stage(ScoreStep(model=str(model)), inputs=[tmp_path / "in"], output=tmp_path / "out", progress=False)
    assert report.docs_in == report.docs_out + report.rejected == 2
    assert report.counters[NO_MODEL] == 1 and report.counters["scored_en"] == 1
    got = {d["id"]: d for d in read_docs(tmp_path / "out" / "part-00000.jsonl.zst")}
    assert got["a"]["meta"]["scores"]["ppl"] > 1
    assert got["b"]["meta"]["scores"]["ppl"] is None and got["b"]["meta"]["score_skipped"] == NO_MODEL


def test_bucket_boundaries_and_quantiles():
    import numpy as np

    langs = np.array(["en"] * 6 + ["zh"] * 3)
    ppl = np.array([1, 2, 3, 4, 5, 6, 10, 20, np.nan])
    bounds = quantile_boundaries(langs, ppl, (0.5,))
    assert bounds == {"en": [3.5], "zh": [15.0]}
    assert [bucket_of(v, [2.0, 4.0], BUCKETS) for v in (1.0, 2.0, 3.0, 4.0, 9.0)] == [
        "head", "head", "middle", "middle", "tail"]


def test_options_are_checked():
    assert ScoreStep(buckets="head,tail").cut_points == (0.5,)
    with pytest.raises(ConfigError, match="quantiles"):
        build_step("score", {"buckets": ("head", "middle", "tail"), "quantiles": (0.6, 0.3)})
    with pytest.raises(ConfigError, match="scorer"):
        build_step("score", {"scorer": "classifier"})
    with pytest.raises(ConfigError, match="KenLM model"):
        build_step("score", {"model": str(Path(__file__).parent)})  # a directory without <lang>.arpa
    with pytest.raises(ConfigError, match="no model file"):
        build_step("score", {"model": "/nonexistent/model.json.gz"})
    assert DEFAULT_MODEL.exists()  # the shipped model the demo scores with
