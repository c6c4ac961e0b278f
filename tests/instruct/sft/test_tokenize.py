"""SFT tokenisation: labels are -100 exactly on prompt tokens, truncation budgets, on-disk dataset + collator."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instruct.sft.io import read_records, to_conversation
from instruct.sft.templates import appends_eos, render
from instruct.sft.tokenize import (
    BAD_RECORD,
    IGNORE_INDEX,
    TokenizeSettings,
    tokenize_file,
    tokenize_records,
)
from tests.instruct.sft.conftest import SAMPLES, SP_MODEL, TOKENIZER_DIR

# Latin, digits, CJK, punctuation, spaces and newlines; no "<"/">" so no text spells a special token.
ALPHABET = st.sampled_from(list("abcXYZ019 .,:?!\n\t-_#[]") + list("北京是中国的首都问答。，：") + ["é", "😀"])
TEXT = st.text(alphabet=ALPHABET, min_size=0, max_size=24)
NONEMPTY = st.text(alphabet=ALPHABET, min_size=1, max_size=24)


@st.composite
def records(draw):
    """A random Alpaca record or a ShareGPT conversation of 1-3 turns with an optional system prompt."""
    if draw(st.booleans()):
        return {"instruction": draw(NONEMPTY), "input": draw(TEXT), "output": draw(TEXT)}
    turns = draw(st.lists(st.tuples(NONEMPTY, TEXT), min_size=1, max_size=3))
    conv = [{"from": "system", "value": draw(NONEMPTY)}] if draw(st.booleans()) else []
    for user, answer in turns:
        conv += [{"from": "human", "value": user}, {"from": "gpt", "value": answer}]
    return {"conversations": conv}


def _reference_encoder(source, hf):
    """Segment encoders (first, later) built apart from the implementation.

    HF forms: the ``transformers`` tokenizer, which adds no dummy prefix. The SentencePiece model: the raw
    processor for the first segment (dummy prefix, as a whole text starts) and, for later ones, the
    encoding behind a newline with the newline's ids cut off (what follows text has no dummy prefix).
    """
    if source != "sp-model":
        def enc(text):
            return hf(text, add_special_tokens=False)["input_ids"]
        return enc, enc
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(SP_MODEL))
    lead = sp.encode("\n")
    return sp.encode, lambda text: sp.encode("\n" + text)[len(lead):]


def expected(row, hf, template, source="hf-dir"):
    """Token ids and train flags built segment by segment, independently of the batched implementation."""
    first, later = _reference_encoder(source, hf)
    segments = render(to_conversation(row), template, hf)
    ids, train = [], []
    for n, seg in enumerate(segments):
        piece = (first if n == 0 else later)(seg.text)
        if appends_eos(template):
            piece = ([hf.bos_token_id] if n == 0 else []) + piece + ([hf.eos_token_id] if seg.train else [])
        ids += piece
        train += [seg.train] * len(piece)
    return ids, train


@pytest.mark.parametrize("template", ["alpaca", "chatglm", "chat"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=records())
def test_labels_mask_exactly_the_prompt(llama_tokenizer, loaded, template, row):
    source, tokenizer = loaded
    big = TokenizeSettings(template=template, max_source_len=10_000, max_target_len=10_000)
    examples, rejected, _ = tokenize_records([row], tokenizer, big, chat_renderer=llama_tokenizer)
    ids, train = expected(row, llama_tokenizer, template, source)
    if not any(train):
        assert not examples and rejected
        return
    (ex,) = examples
    assert ex["input_ids"] == ids
    assert ex["attention_mask"] == [1] * len(ids)
    for token, label, trained in zip(ex["input_ids"], ex["labels"], train, strict=True):
        assert label == (token if trained else IGNORE_INDEX)


@pytest.mark.parametrize("template", ["alpaca", "chatglm"])
@settings(max_examples=30, deadline=None)
@given(row=records())
def test_sentencepiece_model_encodes_like_the_hf_directory(template, row):
    """The .model and the HF directory converted from it train the same answer tokens; only the start of
    a record differs (the model's dummy prefix: "▁Below" where the HF conversion has "Below")."""
    from corpus.tokenizers.load import load_tokenizer

    budget = TokenizeSettings(template=template, max_source_len=10_000, max_target_len=10_000)
    model, direc = load_tokenizer(str(SP_MODEL)), load_tokenizer(str(TOKENIZER_DIR))
    by_model, _, _ = tokenize_records([row], model, budget)
    by_dir, _, _ = tokenize_records([row], direc, budget)
    for a, b in zip(by_model, by_dir, strict=True):
        assert [t for t, lab in zip(a["input_ids"], a["labels"], strict=True) if lab != IGNORE_INDEX] == \
               [t for t, lab in zip(b["input_ids"], b["labels"], strict=True) if lab != IGNORE_INDEX]
        assert model.decode(a["input_ids"]) == direc.decode(b["input_ids"])


@pytest.mark.parametrize("template", ["alpaca", "chat"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=records(), src=st.integers(1, 40), tgt=st.integers(1, 20))
def test_truncation_respects_budgets_and_keeps_masking(llama_tokenizer, template, row, src, tgt):
    from corpus.tokenizers.load import load_tokenizer

    budget = TokenizeSettings(template=template, max_source_len=src, max_target_len=tgt)
    examples, _, counts = tokenize_records([row], load_tokenizer(str(TOKENIZER_DIR)), budget,
                                           chat_renderer=llama_tokenizer)
    for ex in examples:
        masked = sum(label == IGNORE_INDEX for label in ex["labels"])
        assert masked <= src and len(ex["labels"]) - masked <= tgt
        assert all(label in (IGNORE_INDEX, token) for token, label in zip(ex["input_ids"], ex["labels"], strict=True))
        assert ex["labels"][0] == IGNORE_INDEX  # a record always starts with its prompt
        full, _ = expected(row, llama_tokenizer, template)
        if counts["truncated"] == 0:
            assert ex["input_ids"] == full


def _loaded():
    from corpus.tokenizers.load import load_tokenizer

    return load_tokenizer(str(TOKENIZER_DIR))


def test_first_prompt_keeps_its_head_and_later_turns_are_dropped(llama_tokenizer):
    row = {"conversations": [{"from": "human", "value": "one two three four five six seven eight"},
                             {"from": "gpt", "value": "ok"},
                             {"from": "human", "value": "again please"}, {"from": "gpt", "value": "fine"}]}
    ids, train = expected(row, llama_tokenizer, "chatglm")
    first_prompt = train.index(True)
    budget = TokenizeSettings(template="chatglm", max_source_len=first_prompt - 2, max_target_len=100)
    (ex,), _, counts = tokenize_records([row], _loaded(), budget)
    assert counts["truncated"] == 1
    assert ex["input_ids"][: first_prompt - 2] == ids[: first_prompt - 2]
    assert ex["labels"][first_prompt - 2 :] == ids[first_prompt : train.index(False, first_prompt)]


def test_long_answer_is_cut_to_target_budget(llama_tokenizer):
    row = {"instruction": "Count.", "input": "", "output": " ".join(str(i) for i in range(100))}
    (ex,), _, counts = tokenize_records([row], _loaded(), TokenizeSettings(max_target_len=7))
    assert sum(label != IGNORE_INDEX for label in ex["labels"]) == 7
    assert counts["truncated"] == 1


def test_file_to_disk_is_read_by_datasets_and_padded_by_the_collator(tmp_path, llama_tokenizer):
    from datasets import load_from_disk
    from transformers import DataCollatorForSeq2Seq

    src = tmp_path / "in.jsonl"
    rows = read_records(SAMPLES / "sharegpt_dummy.sample20.json")[:5] + [{"conversations": [{"from": "gpt", "value": "x"}]}]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    manifest = tokenize_file(src, tmp_path / "tok", tokenizer_path=TOKENIZER_DIR,
                             settings=TokenizeSettings(template="chat", max_source_len=256, max_target_len=256))
    assert manifest["counts"]["records"] == 6 and manifest["counts"]["written"] == 5
    rejected = [json.loads(line) for line in (tmp_path / "tok" / "rejected.jsonl").read_text().splitlines()]
    assert [r["meta"]["reject"]["reason"] for r in rejected] == [BAD_RECORD]

    ds = load_from_disk(str(tmp_path / "tok"))
    assert ds.column_names == ["input_ids", "attention_mask", "labels"] and ds.num_rows == 5
    collator = DataCollatorForSeq2Seq(llama_tokenizer, return_tensors="np", label_pad_token_id=IGNORE_INDEX)
    features = [ds[i] for i in range(4)]
    batch = collator(features)
    longest = max(len(f["input_ids"]) for f in features)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape == (4, longest)
    for row, feat in enumerate(features):
        n = len(feat["input_ids"])
        # LLaMA tokenizers pad on the right; the padding is masked out of attention and loss.
        assert batch["input_ids"][row, :n].tolist() == feat["input_ids"]
        assert batch["labels"][row, :n].tolist() == feat["labels"]
        assert (batch["labels"][row, n:] == IGNORE_INDEX).all()
        assert (batch["attention_mask"][row, n:] == 0).all()
        assert (batch["input_ids"][row, n:] == llama_tokenizer.pad_token_id).all()


def test_shipped_tokenizer_is_the_llama_style_model(llama_tokenizer):
    """The shipped HF directory encodes like a fresh conversion of the SentencePiece model it came from."""
    from transformers import LlamaTokenizerFast

    from tests.conftest import REPO

    fresh = LlamaTokenizerFast(vocab_file=str(REPO / "tests/fixtures/tokenizer/llama-style.model"), legacy=False)
    for text in ["北京是中国的首都。", "Hello  world\n\n### Response:\n", " 1+1=2 😀"]:
        assert llama_tokenizer(text)["input_ids"] == fresh(text)["input_ids"]
