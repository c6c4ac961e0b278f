"""Training and extending SentencePiece models; transformers loads the HF directory with the same ids."""

from pathlib import Path

import pytest

from corpus.tokenizers import train

LLAMA = Path(__file__).parents[2] / "fixtures" / "tokenizer" / "llama-style.model"
ZH = "知识图谱是一种用图结构描述实体及其关系的知识表示方法。鲲鹏翱翔于苍穹之上，饕餮盛宴。"
EN = "A knowledge graph represents entities and the relations between them. It has 2023 nodes."


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("tok")
    (out / "a.txt").write_text("\n".join([ZH, EN] * 50), encoding="utf-8")
    model = train.train_sentencepiece(train.iter_texts([out / "a.txt"]), out / "m.model",
                                      train.TrainSettings(vocab_size=400, num_threads=1))
    return model, train.save_hf_directory(model, out / "hf")


def test_trained_model_has_llama_ids_byte_fallback_and_split_digits(trained):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(trained[0]))
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    assert sp.decode(sp.encode("没见过的字：龘")) == "没见过的字：龘"  # byte fallback, no <unk>
    assert sp.unk_id() not in sp.encode("龘")
    assert "2" in sp.encode("2023", out_type=str) or "▁2" in sp.encode("2023", out_type=str)
    assert not any(len(p.strip("▁")) > 1 and p.strip("▁").isdigit() for p in sp.encode("2023", out_type=str))


def test_transformers_loads_the_hf_directory_with_the_same_ids(trained):
    import sentencepiece as spm
    from transformers import AutoTokenizer, LlamaTokenizer

    sp = spm.SentencePieceProcessor(model_file=str(trained[0]))
    fast = AutoTokenizer.from_pretrained(str(trained[1]))
    slow = LlamaTokenizer.from_pretrained(str(trained[1]), legacy=True)
    assert type(fast).__name__ == "LlamaTokenizerFast"
    for text in (ZH, EN):
        assert fast(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
        assert slow(text, add_special_tokens=False)["input_ids"] == sp.encode(text)
    assert fast(EN)["input_ids"][0] == 1


def test_extend_adds_missing_chars_and_improves_chinese(tmp_path):
    chars = train.frequent_new_chars([ZH * 3], LLAMA, count=50)
    assert chars and all(len(c) == 1 for c in chars)
    out = tmp_path / "ext.model"
    added = train.extend_model(LLAMA, chars + ["知"], out)
    assert added == chars  # "知" is already in the base vocabulary (or repeated): not added twice
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(out))
    assert sp.get_piece_size() == 32000 + len(added)
    assert sp.decode(sp.encode(ZH)) == ZH
    assert train.chars_per_token(out, [ZH]) > train.chars_per_token(LLAMA, [ZH])
    assert train.chars_per_token(out, [EN]) == train.chars_per_token(LLAMA, [EN])
    report = train.compare_report(LLAMA, out, {"zh": [ZH], "en": [EN]})
    assert report.startswith("zh: ") and "->" in report
