"""Train and extend with a chars/token report, reading the corpus once: the report equals the one a
second read gave, and every input file is opened once."""

from pathlib import Path

import pytest

from corpus.tokenizers import flow, train

LLAMA = Path(__file__).parents[2] / "fixtures" / "tokenizer" / "llama-style.model"
ZH = "知识图谱是一种用图结构描述实体及其关系的知识表示方法。鲲鹏翱翔于苍穹之上，饕餮盛宴。"
EN = "A knowledge graph represents entities and the relations between them. It has 2023 nodes."


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    for i in range(6):  # one document per .txt file, so counting reads counts documents
        (folder / f"{i}.txt").write_text("\n".join([ZH, EN] * (10 + i)) if i % 2 else EN * (3 + i), encoding="utf-8")
    return folder


@pytest.fixture
def reads(monkeypatch, corpus):
    """How often each file of the corpus is read (other reads, e.g. by transformers, are not counted)."""
    counts: dict[str, int] = {}
    read_text = Path.read_text

    def counting(self, *args, **kwargs):
        if Path(self).parent == corpus:
            counts[self.name] = counts.get(self.name, 0) + 1
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counting)
    return counts


def test_train_reads_the_corpus_once_and_reports_on_the_same_sample(tmp_path, corpus, reads):
    settings = train.TrainSettings(vocab_size=400, num_threads=1)
    result = flow.train_tokenizer([corpus], tmp_path / "m.model", settings)
    assert set(reads.values()) == {1} and len(reads) == 6
    assert result.hf_dir == tmp_path / "m-hf" and (result.hf_dir / "tokenizer.json").exists()
    assert 0 < result.pieces <= 400
    # The report the command printed before, from a second read of the corpus.
    assert result.report == train.compare_report(None, result.model, train.split_by_language(train.iter_texts([corpus])))
    assert result.report.startswith("zh: ") and "\nen: " in result.report


def test_extend_from_corpus_reads_it_once(tmp_path, corpus, reads):
    result = flow.extend_tokenizer(LLAMA, tmp_path / "x.model", from_corpus=corpus, count=5)
    assert set(reads.values()) == {1} and len(reads) == 6
    assert len(result.added) == 5
    expected = train.compare_report(LLAMA, tmp_path / "x.model", train.split_by_language(train.iter_texts([corpus])))
    assert result.report == expected and "->" in result.report


def test_extend_with_a_char_file_reports_only_with_eval_text(tmp_path, corpus):
    chars = tmp_path / "chars.txt"
    chars.write_text("鲲\n鹏\n", encoding="utf-8")
    quiet = flow.extend_tokenizer(LLAMA, tmp_path / "a.model", add_chars=chars)
    assert quiet.report == "" and quiet.added  # nothing to measure on
    with_eval = flow.extend_tokenizer(LLAMA, tmp_path / "b.model", add_chars=chars, eval_paths=[corpus])
    assert with_eval.report.startswith("zh: ")
    with pytest.raises(ValueError, match="exactly one"):
        flow.extend_tokenizer(LLAMA, tmp_path / "c.model")


def test_the_sampler_keeps_what_split_by_language_keeps():
    texts = [ZH, EN, "", "123", ZH + "1", EN + "2", ZH + "3"]
    sampler = flow._Sampler(texts, limit=2)
    assert list(sampler) == texts  # passes everything through, in order
    assert sampler.sample() == train.split_by_language(texts, limit=2)
    partly = flow._Sampler(texts, limit=2)
    next(iter(partly))  # a consumer that stops early: the sample reads on only as far as it needs
    assert partly.sample() == train.split_by_language(texts, limit=2)
