"""Shared test helpers: small document shards in real formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.shards import ShardWriter

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def write_shard():
    """Write ``docs`` to ``path`` in the format its suffix names and return the path."""

    def write(path: Path, docs: list[dict]) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        with ShardWriter(path) as writer:
            for doc in docs:
                writer.write(doc)
        return path

    return write


def make_docs(n: int, prefix: str = "d", source: str = "test") -> list[dict]:
    """``n`` distinct small documents with stable ids."""
    return [
        {"id": f"{prefix}{i}", "text": f"Document {prefix}{i}. It has a sentence or two.", "source": source, "meta": {}}
        for i in range(n)
    ]
