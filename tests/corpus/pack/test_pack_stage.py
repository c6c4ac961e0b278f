"""The pack stage end to end through the runner: limits, sentence ends, lossless decoding, token totals."""

from collections import Counter
from pathlib import Path

import numpy as np
import orjson
import pytest

from corpus.pack import hf, knowlm, megatron
from corpus.pack.inspect import inspect_summary
from corpus.pack.stage import MERGED, PackStep
from corpus.runner import run_stage
from corpus.sentences import sentence_ends
from corpus.steps import build_step
from corpus.tokenizers.load import load_tokenizer

LLAMA = str(Path(__file__).parents[2] / "fixtures" / "tokenizer" / "llama-style.model")

ZH = ("知识图谱是一种用图结构描述实体及其关系的知识表示方法。它由节点和边组成，节点表示实体，边表示关系。"
      "知识图谱广泛应用于搜索引擎、问答系统和推荐系统！你知道吗？") * 3
EN = ("Dr. Smith met Mr. Jones in the U.S. last year. They talked for 3.5 hours about graphs. "
      '"Really?" asked J. R. Brown. Yes, really... It was a long day.\n\nThe next day they wrote a paper. ') * 3
CODE = "import os\n\n\ndef f(x):\n    return x + 1\n\n\nclass A:\n    def g(self):\n        return 2\n" * 2
DOCS = [
    {"id": "zh", "text": ZH, "source": "t", "meta": {}},
    {"id": "en", "text": EN, "source": "t", "meta": {}},
    {"id": "code", "text": CODE, "source": "t", "meta": {"lang": "code"}},
    {"id": "short", "text": "短文。", "source": "t", "meta": {}},
    {"id": "empty", "text": "", "source": "t", "meta": {}},
]
MAX = 48


def _input(tmp_path: Path, docs=DOCS) -> Path:
    src = tmp_path / "in"
    src.mkdir(parents=True)
    half = len(docs) // 2  # two shards, so the merge has work to do
    for i, part in enumerate([docs[:half], docs[half:]]):
        (src / f"part-{i:05d}.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in part))
    return src


def _run(tmp_path: Path, **options):
    step = build_step("pack", {"tokenizer": LLAMA, "max_tokens": MAX, **options})
    out = tmp_path / "out"
    report = run_stage(step, inputs=[_input(tmp_path)], output=out, workers=1, force=False, progress=False)
    return report, out


def test_megatron_output_meets_the_acceptance_rules(tmp_path):
    report, out = _run(tmp_path)
    tok = load_tokenizer(LLAMA)
    reader = megatron.IndexedDatasetReader(out / MERGED)
    kept = [d for d in DOCS if d["text"]]
    assert reader.document_count == len(kept)
    assert report.counters["pack_empty_doc"] == 1
    assert not any(k.startswith("pack_forced_split") for k in report.counters)

    total = 0
    for d, doc in enumerate(kept):
        samples = reader.document(d)
        assert all(s.size <= MAX for s in samples)
        assert samples[0][0] == tok.bos_id and samples[-1][-1] == tok.eos_id
        body = [s[(i == 0):s.size - (i == len(samples) - 1)] for i, s in enumerate(samples)]
        assert not any(np.isin(b, [tok.bos_id, tok.eos_id]).any() for b in body)
        ids = np.concatenate(body)
        # the samples are the document's own encoding, cut; decoding gives its text back
        assert ids.tolist() == tok.encode([doc["text"]])[0].tolist()
        assert tok.decode(ids) == doc["text"]
        # every sample ends at a sentence end (no forced splits here)
        ends = {doc["text"][:e].rstrip() for e in sentence_ends(doc["text"], "code" if d == 2 else "auto")}
        done = 0
        for b in body:
            done += b.size
            assert tok.decode(ids[:done]).rstrip() in ends
        total += ids.size + 2
    assert int(reader.index.sequence_lengths.sum()) == total == report.counters["pack_tokens"]
    assert report.counters["pack_doc_tokens"] == total - 2 * len(kept)


def test_every_sample_and_document_specials(tmp_path):
    _, out = _run(tmp_path, bos_eos="sample")
    tok = load_tokenizer(LLAMA)
    reader = megatron.IndexedDatasetReader(out / MERGED)
    assert all(reader[i][0] == tok.bos_id and reader[i][-1] == tok.eos_id for i in range(len(reader)))


def test_long_sentence_is_forced_and_counted(tmp_path):
    docs = [{"id": "long", "text": "这是一个非常长的句子，" * 30 + "结束。", "source": "t", "meta": {}}]
    step = PackStep(tokenizer=LLAMA, max_tokens=32)
    report = run_stage(step, inputs=[_input(tmp_path, docs)], output=tmp_path / "o", workers=1, force=False,
                       progress=False)
    reader = megatron.IndexedDatasetReader(tmp_path / "o" / MERGED)
    assert all(reader[i].size <= 32 for i in range(len(reader)))
    assert report.counters["pack_forced_split_clause"] == len(reader) - 1
    tok = load_tokenizer(LLAMA)
    assert all(tok.decode(reader[i]).endswith("，") for i in range(len(reader) - 1))


def test_pack_docs_fills_samples_with_eos_between(tmp_path):
    report, out = _run(tmp_path, pack_docs=True)
    plain_report, _ = _run(tmp_path / "plain")
    reader = megatron.IndexedDatasetReader(out / MERGED)
    assert all(reader[i].size <= MAX for i in range(len(reader)))
    assert len(reader) < plain_report.counters["pack_samples"]
    assert report.counters["pack_tokens"] == plain_report.counters["pack_tokens"]
    eos = load_tokenizer(LLAMA).eos_id
    assert sum(int((reader[i] == eos).sum()) for i in range(len(reader))) == len([d for d in DOCS if d["text"]])


def test_min_tokens_drops_short_samples(tmp_path):
    report, out = _run(tmp_path, min_tokens=21)
    reader = megatron.IndexedDatasetReader(out / MERGED)
    assert report.counters["pack_short_sample"] >= 1  # "短文。" is 6 tokens with BOS/EOS
    assert all(reader[i].size >= 21 for i in range(len(reader)))


@pytest.mark.parametrize("fmt", ["knowlm", "hf"])
def test_other_formats_hold_the_same_samples(tmp_path, fmt):
    _, mega = _run(tmp_path / "m")
    _, out = _run(tmp_path / fmt, format=fmt)
    reader = megatron.IndexedDatasetReader(mega / MERGED)
    expected = [reader[i].tolist() for i in range(len(reader))]
    if fmt == "knowlm":
        got = [s.tolist() for s in knowlm.read_samples(out / MERGED)]
    else:
        got = [s.tolist() for s in hf.read_samples(out / f"{MERGED}.parquet")]
        datasets = pytest.importorskip("datasets")
        ds = datasets.load_dataset("parquet", data_files=str(out / f"{MERGED}.parquet"), split="train")
        assert [list(r) for r in ds["input_ids"]] == expected
    assert got == expected
    assert f"samples {len(expected)}" in inspect_summary(out / MERGED)


def test_inspect_summary_counts_and_decodes(tmp_path):
    _, out = _run(tmp_path)
    text = inspect_summary(out / MERGED, tokenizer=LLAMA, decode=1)
    reader = megatron.IndexedDatasetReader(out / MERGED)
    assert f"tokens {int(reader.index.sequence_lengths.sum()):,}" in text
    assert "--- sample 0" in text and ZH[:10] in text


def test_default_tokenizer_is_the_embedded_demo_model():
    tok = load_tokenizer(PackStep().tokenizer)
    assert tok.vocab_size < 65500 and tok.bos_id == 1 and tok.eos_id == 2
    assert tok.decode(tok.encode(["知识图谱 knowledge graph."])[0]) == "知识图谱 knowledge graph."


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="format"):
        PackStep(format="tfrecord")
    with pytest.raises(ValueError, match="bos_eos"):
        PackStep(bos_eos="always")


@pytest.mark.parametrize("options", [{}, {"pack_docs": True}, {"min_tokens": 21}, {"bos_eos": "sample"},
                                     {"bos_eos": "none", "pack_docs": True}])
def test_batch_size_does_not_change_the_output(tmp_path, options):
    """Whole documents are written in runs per batch; any batching gives the same bytes and counters."""
    docs = DOCS + [{"id": f"s{i}", "text": "短句。" * i, "source": "t", "meta": {}} for i in range(1, 12)]
    outputs = []
    for batch_docs in (1, 3, 256):
        counters = Counter()
        stem = tmp_path / f"b{batch_docs}"
        PackStep(tokenizer=LLAMA, max_tokens=MAX, batch_docs=batch_docs, **options).write_shard(
            iter(docs), stem, counters)
        outputs.append((Path(f"{stem}.bin").read_bytes(), Path(f"{stem}.idx").read_bytes(), counters))
    assert outputs[0] == outputs[1] == outputs[2]
