"""Fixtures for the SFT tests: the shipped LLaMA-style HF tokenizer (with its chat template)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TOKENIZER_DIR = REPO / "data_samples" / "tokenizer" / "llama-hf"
SAMPLES = REPO / "data_samples" / "instruct"


@pytest.fixture(scope="session")
def llama_tokenizer():
    """The LLaMA-style SentencePiece tokenizer (32,000 pieces, byte fallback) as a fast HF tokenizer."""
    from instruct.sft.tokenize import load_tokenizer

    return load_tokenizer(TOKENIZER_DIR)
