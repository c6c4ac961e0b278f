"""KenLM scoring (the [kenlm] extra): a model directory's layout decides the tokenisation (our char
models, CCNet's SentencePiece models, plain word models), perplexities equal KenLM's own sentence scores,
and `score-train --format arpa` + `score --model DIR` work from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpus.score.arpa import train_arpa, write_arpa, write_arpa_models
from corpus.score.kenlm_models import KenLMModels, ccnet_normalize, char_tokens
from corpus.shards import ShardWriter, read_docs

kenlm = pytest.importorskip("kenlm")

EN = ["The cat sat on the mat and looked at the dog.", "The dog sat on the log and looked at the cat.",
      "A bird flew over the house and sang a song."] * 5


def test_char_model_perplexity_is_kenlm_sentence_score(tmp_path: Path):
    write_arpa_models([("en", t) for t in EN], tmp_path, units={"en": "char"})
    models = KenLMModels.load(tmp_path)
    assert models.models["en"].kind == "char"
    text = "The cat looked at the bird."
    line = char_tokens(text, "en")
    assert line.split(" ")[3] == "▁"  # "the cat": spaces are a token of their own
    expected = 10 ** (-kenlm.Model(str(tmp_path / "en.arpa")).score(line, bos=True, eos=True) / (len(line.split()) + 1))
    assert models.perplexity(text, "en") == pytest.approx(expected)
    assert models.perplexity(text, "en") < models.perplexity("tkoh ac doleo ta eht dbri.", "en")
    assert models.perplexity("   ", "en") is None and models.perplexity("x", "zh") is None


def test_sentencepiece_models_follow_ccnets_layout(tmp_path: Path):
    import sentencepiece

    corpus = tmp_path / "train.txt"
    corpus.write_text("\n".join(ccnet_normalize(t) for t in EN * 4) + "\n", encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(tmp_path / "en.sp"),
                                             vocab_size=30, model_type="unigram", minloglevel=2)
    sp = sentencepiece.SentencePieceProcessor(model_file=str(tmp_path / "en.sp.model"))
    pieces = [sp.encode(ccnet_normalize(t), out_type=str) for t in EN]
    vocab, tables = train_arpa(pieces, order=3)
    write_arpa(tmp_path / "en.arpa", vocab, tables)
    models = KenLMModels.load(tmp_path)
    assert models.models["en"].kind == "sentencepiece"
    text = "The Cat sat on the mat.\n\nThe dog sat on the log 42 times."
    lines = [" ".join(sp.encode(ccnet_normalize(line), out_type=str)) for line in text.split("\n") if line.strip()]
    raw = kenlm.Model(str(tmp_path / "en.arpa"))
    log10 = sum(raw.score(line, bos=True, eos=True) for line in lines)
    tokens = sum(len(line.split()) + 1 for line in lines)
    assert models.perplexity(text, "en") == pytest.approx(10 ** (-log10 / tokens))


def test_ccnet_normalisation():
    assert ccnet_normalize("  Café №1，“Ünïcode”！ 2024 ") == 'cafe №0,"unicode"! 0000'


def test_layout_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="no <lang>.arpa"):
        KenLMModels.load(tmp_path)
    write_arpa_models([("en", t) for t in EN], tmp_path, units={"en": "char"})
    (tmp_path / "kenlm.json").write_text(json.dumps({"units": {"en": "bytes"}}))
    with pytest.raises(ValueError, match="units of 'en'"):
        KenLMModels.load(tmp_path)
    (tmp_path / "kenlm.json").unlink()
    assert KenLMModels.load(tmp_path).models["en"].kind == "word"  # a bare ARPA: whitespace tokens


def _english_reference(tmp_path: Path) -> Path:
    """A one-shard reference corpus of :data:`EN`, as score-train reads it."""
    ref = tmp_path / "ref"
    with ShardWriter(ref / "part-00000.jsonl.zst") as writer:
        for i, text in enumerate(EN):
            writer.write({"id": f"r{i}", "text": text, "source": "t", "meta": {"lang": "en"}})
    return ref


def test_cli_trains_arpa_models_and_scores_with_them(tmp_path: Path):
    from cli import main

    ref = _english_reference(tmp_path)
    runner = CliRunner()
    models = tmp_path / "models"
    result = runner.invoke(main, ["corpus", "score-train", "-i", str(ref), "-o", str(models), "--format", "arpa",
                                  "--order", "en=4"])
    assert result.exit_code == 0, result.output
    assert "en: " in result.output and "4-grams" in result.output
    assert kenlm.Model(str(models / "en.arpa")).order == 4
    result = runner.invoke(main, ["corpus", "score-train", "-i", str(ref), "-o", str(models), "--order", "en"])
    assert result.exit_code == 2 and "LANG=N" in result.output
    out = tmp_path / "scored"
    result = runner.invoke(main, ["corpus", "score", "-i", str(ref), "-o", str(out), "--model", str(models)])
    assert result.exit_code == 0, result.output
    docs = list(read_docs(out / "part-00000.jsonl.zst"))
    assert len(docs) == len(EN) and all(d["meta"]["scores"]["ppl"] > 1 for d in docs)


def test_english_arpa_models_are_over_words_by_default_and_see_shuffled_word_order(tmp_path: Path):
    """A character model sees each word of a word-shuffled sentence intact; a word model sees the order."""
    from cli import main

    ref = _english_reference(tmp_path)
    runner = CliRunner()
    models = tmp_path / "models"
    result = runner.invoke(main, ["corpus", "score-train", "-i", str(ref), "-o", str(models), "--format", "arpa"])
    assert result.exit_code == 0, result.output
    assert json.loads((models / "kenlm.json").read_text())["units"] == {"en": "word"}
    assert kenlm.Model(str(models / "en.arpa")).order == 5
    loaded = KenLMModels.load(models)
    assert loaded.models["en"].kind == "word"
    text = "The dog sat on the log and looked at the cat."
    shuffled = "log the at sat cat the and on looked dog The."
    assert loaded.perplexity(text, "en") < loaded.perplexity(shuffled, "en")
    for bad in (["--units", "en=bytes", "--format", "arpa"], ["--units", "en=word"]):
        result = runner.invoke(main, ["corpus", "score-train", "-i", str(ref), "-o", str(tmp_path / "x"), *bad])
        assert result.exit_code == 2 and "--units" in result.output, result.output
