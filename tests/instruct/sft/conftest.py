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
