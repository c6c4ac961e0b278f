"""Fixtures for the SFT tests: the shipped LLaMA-style tokenizer as an HF directory, its tokenizer.json and
the SentencePiece model it was converted from, each through the one loader; and the ``transformers``
tokenizer of the directory (the reference encoder, the chat-template renderer, the collator's padder)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TOKENIZER_DIR = REPO / "data_samples" / "tokenizer" / "llama-hf"
SP_MODEL = REPO / "tests" / "fixtures" / "tokenizer" / "llama-style.model"
SAMPLES = REPO / "data_samples" / "instruct"
# what `--tokenizer` may name: every form must tokenise the same way
TOKENIZER_SOURCES = {"hf-dir": TOKENIZER_DIR, "tokenizer.json": TOKENIZER_DIR / "tokenizer.json", "sp-model": SP_MODEL}


@pytest.fixture(scope="session")
def llama_tokenizer():
    """The LLaMA-style SentencePiece tokenizer (32,000 pieces, byte fallback) as a fast HF tokenizer."""
    from instruct.sft.tokenize import load_chat_renderer

    return load_chat_renderer(TOKENIZER_DIR)


@pytest.fixture(scope="session", params=sorted(TOKENIZER_SOURCES))
def loaded(request):
    """(source name, tokenizer from the one loader) for each form ``--tokenizer`` accepts."""
    from corpus.tokenizers.load import load_tokenizer

    return request.param, load_tokenizer(str(TOKENIZER_SOURCES[request.param]))


def assert_llamafactory_reads(directory: Path, name: str, rows: list[dict]) -> dict:
    """The ``name`` entry of ``directory/dataset_info.json`` reads its file the way LLaMA-Factory would.

    Checks LLaMA-Factory's field mapping against the file: ``formatting`` alpaca for Alpaca records and
    sharegpt for ShareGPT/OpenAI ones, every mapped column present in the file (HF ``datasets`` loads it),
    the role/content tags the messages' own keys and roles, and each row aligned to the conversation it
    holds. Returns the entry.
    """
    import json

    from datasets import load_dataset

    from instruct.sft import io

    entry = json.loads((directory / "dataset_info.json").read_text(encoding="utf-8"))[name]
    formats = {io.record_format(r) for r in rows}
    assert len(formats) == 1
    fmt = formats.pop()
    assert entry["formatting"] == ("alpaca" if fmt == "alpaca" else "sharegpt")
    ds = load_dataset("json", data_files=str(directory / entry["file_name"]), split="train")
    assert ds.num_rows == len(rows)
    assert set(entry["columns"].values()) <= set(ds.column_names)
    if fmt == "alpaca":
        assert set(entry["columns"]) >= {"prompt", "query", "response"}
        assert ("system" in entry["columns"]) == any("system" in r for r in rows)
        assert ("history" in entry["columns"]) == any("history" in r for r in rows)
    else:
        assert set(entry["columns"]) == {"messages"}
        tags = entry["tags"]
        for row in rows:
            for message in row[entry["columns"]["messages"]]:
                assert {tags["role_tag"], tags["content_tag"]} <= set(message)
                assert message[tags["role_tag"]] in {tags["user_tag"], tags["assistant_tag"], tags["system_tag"]}
    for loaded, original in zip(ds, rows, strict=True):
        view = io.llamafactory_view(loaded, entry)
        conv = io.to_conversation(original)
        assert view["prompt"], "LLaMA-Factory would drop this row as broken"
        assert view["prompt"] + view["response"] == [m for m in conv.messages() if m["role"] != "system"]
        assert view["system"] == conv.system
    return entry
