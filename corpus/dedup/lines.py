"""The ``dedup-lines`` stage: remove lines repeated across many documents (navigation, footers, share buttons).

A global stage in the ``dedup-exact`` pattern: (1) ``prepare`` hashes, per shard in parallel, the distinct
normalised lines of every document into ``OUTPUT/_dedup-lines/<params>/<shard>.npy`` (reused on rerun);
(2) it counts the hashes over all shards with ``np.unique`` (a line counts once per document) and writes
the sorted hashes of lines found in ``min_docs`` documents or more to ``boilerplate.npy``; (3) the
per-shard pass drops those lines, counted, and rejects a document left with no text
(``boilerplate_only``); (1)-(2) are ``corpus.globalstep.global_step``. Paragraph = line here: text is split on "\\n"; no fuzzy line matching.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import orjson

from corpus.contract import ShardMap
from corpus.dedup.exact import normalise
from corpus.globalstep import CountThenFilter, global_step, valid_docs
from corpus.records import reject
from corpus.shards import atomic_path, shard_name, write_bytes_atomic

BOILERPLATE_ONLY = "boilerplate_only"
STATE_DIR = "_dedup-lines"
# A line is boilerplate when this many documents contain it. Site templates repeat on every page of a
# site, so even a small crawl shows them hundreds of times; 10 keeps quotations, slogans and headings
# that a handful of documents share by chance. Tune it with the counts in _stats/_dedup-lines.json.
DEFAULT_MIN_DOCS = 10
# Lines shorter than this (normalised characters) are never removed: list markers and headings such as
# "一、概述", "References" or "1." recur in many documents without being boilerplate.
DEFAULT_MIN_CHARS = 10


def line_hash(normalised: str) -> int:
    """64-bit BLAKE2b of a normalised line."""
    return int.from_bytes(hashlib.blake2b(normalised.encode("utf-8"), digest_size=8).digest(), "little")


def document_line_hashes(text: str, min_chars: int) -> set[int]:
    """Hashes of the distinct lines of ``text`` that are long enough to be judged (see ``min_chars``)."""
    out = set()
    for line in text.split("\n"):
        norm = normalise(line)
        if len(norm) >= min_chars:
            out.add(line_hash(norm))
    return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class LineHashJob:
    """Writes the per-document distinct line hashes of one shard (concatenated, uint64); reused if present."""

    min_chars: int
    state: Path
    force: bool

    def __call__(self, shard: Path) -> Path:
        out = self.state / f"{shard_name(shard)}.npy"
        if out.exists() and not self.force:
            return out
        hashes: list[int] = []
        for doc in valid_docs(shard):
            hashes.extend(document_line_hashes(doc.get("text") or "", self.min_chars))
        with atomic_path(out) as tmp, open(tmp, "wb") as f:
            np.save(f, np.asarray(hashes, dtype=np.uint64))
        return out


@dataclasses.dataclass(frozen=True, kw_only=True)
class LineDedupStep(CountThenFilter):
    """Remove lines that occur in at least ``min_docs`` documents; ``min_chars``: shorter lines are kept.

    Lines are compared after ``corpus.dedup.exact.normalise`` (NFKC, lower case, whitespace folded).
    A document whose every line is removed (or blank) is rejected with ``boilerplate_only``; kept
    documents that lost lines carry ``meta["scores"]["boilerplate_lines"]``.
    """

    name: ClassVar[str] = "dedup-lines"
    min_docs: int = DEFAULT_MIN_DOCS
    min_chars: int = DEFAULT_MIN_CHARS

    def __post_init__(self) -> None:
        if self.min_docs < 2:
            raise ValueError("min_docs must be >= 2 (a line in one document is not repeated)")
        if self.min_chars < 1:
            raise ValueError("min_chars must be >= 1 (blank lines are never boilerplate)")

    def prepare(self, shards: list[Path], output: Path, *, each: ShardMap, force: bool):
        """Hash every shard's lines (``each``, resumable), count them, write ``boilerplate.npy``."""
        state = output / STATE_DIR / f"min_chars-{self.min_chars}"

        def decide(files: list[Path]) -> Path:
            hashes = np.concatenate([np.load(f) for f in files]) if files else np.empty(0, np.uint64)
            unique, counts = np.unique(hashes, return_counts=True)  # sorted: the pass looks lines up by hash
            boilerplate = unique[counts >= self.min_docs]
            path = state / f"boilerplate-{self.min_docs}.npy"
            with atomic_path(path) as tmp, open(tmp, "wb") as f:
                np.save(f, boilerplate)
            stats = {"min_docs": self.min_docs, "min_chars": self.min_chars, "distinct_lines": int(unique.size),
                     "boilerplate_lines": int(boilerplate.size),
                     "boilerplate_occurrences": int(counts[counts >= self.min_docs].sum())}
            write_bytes_atomic(output / "_stats" / "_dedup-lines.json",
                               orjson.dumps(stats, option=orjson.OPT_INDENT_2))
            return path  # the per-shard pass needs only this file

        job = LineHashJob(min_chars=self.min_chars, state=state, force=force)
        return global_step(self, shards, state=state, each=each, count=job, decide=decide, desc="line hashes")

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        boilerplate_file, _ = self.bound()
        boilerplate = set(np.load(boilerplate_file).tolist())
        for doc in docs:
            lines = (doc.get("text") or "").split("\n")
            kept = []
            for line in lines:
                norm = normalise(line)
                if len(norm) >= self.min_chars and line_hash(norm) in boilerplate:
                    counters["boilerplate_lines_removed"] += 1
                    counters["boilerplate_chars_removed"] += len(line)
                else:
                    kept.append(line)
            removed = len(lines) - len(kept)
            if not removed:
                yield doc
                continue
            if not "".join(kept).strip():
                yield reject(doc, stage=self.name, reason=BOILERPLATE_ONLY, value=removed, threshold=self.min_docs)
                continue
            doc["text"] = "\n".join(kept)
            doc.setdefault("meta", {}).setdefault("scores", {})["boilerplate_lines"] = removed
            counters["docs_with_boilerplate"] += 1
            yield doc
