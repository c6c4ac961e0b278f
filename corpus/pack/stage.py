"""The ``pack`` stage: tokenize documents in batches, split them greedily into samples, write indexed data.

A shard sink (see ``corpus.runner``): each input shard becomes ``part-NNNNN.bin/.idx`` (or ``.parquet``)
and ``finalize`` merges them into ``merged.bin/.idx``. Memory per worker is one tokenizer batch plus the
shard's index (12 bytes per sample). Counters hold the stats: samples, tokens, forced splits by kind,
dropped documents/samples and a sample-length histogram (``len<=N`` buckets).
"""

from __future__ import annotations

import dataclasses
import itertools
from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import ClassVar

import numpy as np

from corpus.pack import hf, knowlm, megatron
from corpus.pack.greedy import CUT_SENTENCE, BosEos, Piece, Specials, pack_stream
from corpus.pack.split import document_pieces, piece_tokens
from corpus.resources import shipped
from corpus.shards import atomic_path
from corpus.text import is_code
from corpus.tokenizers.load import load_tokenizer

DEFAULT_TOKENIZER = shipped("data_samples/tokenizer/knowforge-demo.model")
FORMATS = ("megatron", "knowlm", "hf")
MERGED = "merged"  # stem of the merged output: OUTPUT/merged.bin + merged.idx (or merged.parquet)
HISTOGRAM_EDGES = (32, 64, 128, 256, 512, 768, 1024, 2048, 4096)  # sample-length buckets, tokens

# Counter names (also what `inspect` and the demo print).
EMPTY_DOC = "pack_empty_doc"  # a document with no tokens (nothing written)
SHORT_SAMPLE = "pack_short_sample"  # a sample below --min-tokens, dropped (KnowLM drops <= 20)
DOC_ALL_SHORT = "pack_doc_all_samples_short"  # every sample of a document was below --min-tokens
NO_SAMPLES = "pack_shards_without_samples"  # shards that wrote no files (nothing kept upstream, or all short)


def suffixes(fmt: str) -> tuple[str, ...]:
    """File suffixes one output of ``fmt`` consists of."""
    return (".parquet",) if fmt == "hf" else (".bin", ".idx")


@dataclasses.dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive whole-document samples: their tokens back to back (specials included) and lengths."""

    tokens: np.ndarray  # (sum of lengths,) in the stored dtype (ids < vocabulary size: the cast is safe)
    lengths: np.ndarray  # (samples,) int64


class _Lengths:
    """Sample count, token total and length histogram, accumulated in constant memory."""

    def __init__(self) -> None:
        self.edges = np.asarray(HISTOGRAM_EDGES)
        self.hist = np.zeros(self.edges.size + 1, dtype=np.int64)
        self.pending = array("q")  # single samples, folded into the histogram in blocks
        self.samples = self.tokens = 0

    def add(self, sizes: np.ndarray) -> None:
        self.hist += np.bincount(np.searchsorted(self.edges, sizes), minlength=self.hist.size)
        self.samples += int(sizes.size)
        self.tokens += int(sizes.sum())

    def add_one(self, size: int) -> None:
        self.pending.append(size)
        if len(self.pending) >= 1 << 16:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.add(np.frombuffer(self.pending, dtype=np.int64))
            self.pending = array("q")


@dataclasses.dataclass(frozen=True, kw_only=True)
class PackStep:
    """Pack documents into samples of at most ``max_tokens`` complete sentences (see corpus.pack.greedy)."""

    name: ClassVar[str] = "pack"

    tokenizer: str = str(DEFAULT_TOKENIZER)  # .model, tokenizer.json or HF directory
    max_tokens: int = 1024  # KnowLM's seq_length
    pack_docs: bool = False  # also fill samples with consecutive short documents (EOS between)
    bos_eos: BosEos = "doc"  # KnowLM: BOS on a document's first sample, EOS on its last
    min_tokens: int = 0  # drop samples shorter than this; KnowLM's rule (drop <= 20) is min_tokens=21
    format: str = "megatron"  # megatron | knowlm | hf
    batch_docs: int = 256  # documents per tokenizer call

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.max_tokens < 3:
            raise ValueError("max_tokens must be at least 3")
        if self.min_tokens < 0 or self.batch_docs < 1:
            raise ValueError("min_tokens must be >= 0 and batch_docs >= 1")
        Specials.from_mode(self.bos_eos, pack_docs=self.pack_docs)  # validates bos_eos
        if self.format == "knowlm":
            knowlm.require_torch()

    def _writer(self, stack: ExitStack, out_stem: Path, tok):
        paths = [stack.enter_context(atomic_path(Path(f"{out_stem}{s}"))) for s in suffixes(self.format)]
        if self.format == "megatron":
            return megatron.IndexedDatasetWriter(*paths, megatron.dtype_for_vocab(tok.vocab_size))
        if self.format == "knowlm":  # also writes OUT_STEM.dis and .tmp, as KnowLM's write mode does
            return knowlm.KnowLMWriter(*paths, tok.vocab_size, stem=out_stem, bos_id=tok.bos_id, eos_id=tok.eos_id)
        return hf.ParquetSampleWriter(*paths)

    def write_shard(self, docs: Iterator[dict], out_stem: Path, counters: Counter) -> None:
        """Tokenize, split and write one shard's documents to ``out_stem`` + suffixes."""
        tok = load_tokenizer(self.tokenizer)
        specials = Specials.from_mode(self.bos_eos, pack_docs=self.pack_docs)
        if (specials.bos_doc or specials.every_sample) and tok.bos_id is None:
            raise ValueError(f"{self.tokenizer} has no BOS token; use bos_eos='none'")
        if (specials.eos_doc or specials.every_sample) and tok.eos_id is None:
            raise ValueError(f"{self.tokenizer} has no EOS token; use bos_eos='none' without pack_docs")
        dtype = np.int32 if tok.vocab_size >= 65500 else np.uint16  # samples built in the stored width
        lengths = _Lengths()
        with ExitStack() as stack:
            writer = self._writer(stack, out_stem, tok)
            with writer:
                pieces = self._pieces(docs, tok, specials, dtype, counters)
                if self.pack_docs:
                    for group in pack_stream(_sample_parts(pieces, tok, dtype), self.max_tokens):
                        if group[0][1]:
                            writer.end_document()  # a new source document starts this sample
                        self._emit(writer, np.concatenate([tokens for tokens, _ in group]), lengths, counters)
                else:
                    for item in pieces:
                        if isinstance(item, _Run):
                            writer.add_documents(item.tokens, item.lengths)
                            lengths.add(item.lengths)
                            continue
                        piece, ids = item
                        if piece.start == 0:
                            writer.end_document()
                        self._emit(writer, piece_tokens(piece, ids, tok.bos_id, tok.eos_id, dtype), lengths,
                                   counters)
        lengths.flush()
        if lengths.samples == 0:
            # No empty outputs: megatron-core cannot mmap an empty .bin and `datasets` fails on an empty
            # Parquet part, so a shard without samples leaves no files (the merge skips it).
            for suffix in suffixes(self.format):
                Path(f"{out_stem}{suffix}").unlink(missing_ok=True)
            counters[NO_SAMPLES] += 1
        counters["pack_samples"] += lengths.samples
        counters["pack_tokens"] += lengths.tokens
        for bucket, count in enumerate(lengths.hist.tolist()):
            if count:
                edges = HISTOGRAM_EDGES
                key = f"len<={edges[bucket]}" if bucket < len(edges) else f"len>{edges[-1]}"
                counters[f"pack_{key}"] += count

    def _pieces(self, docs: Iterator[dict], tok, specials: Specials, dtype: type, counters: Counter
                ) -> Iterator[tuple[Piece, np.ndarray] | _Run]:
        """Pieces of every document in order, batch by batch.

        Documents that fit one sample whole are found with numpy on the batch's lengths and come as
        ``_Run``s: one concatenation (and, without ``pack_docs``, one write) per run of them, no Python
        work per token. Only documents that must be split go through ``document_pieces`` one by one
        (and only they compute token ends).
        """
        docs = iter(docs)
        lead, tail = specials.lead(0), specials.tail(1, 1)  # around a document that is one sample
        while batch := list(itertools.islice(docs, self.batch_docs)):
            # each document's ids with the specials it would have as one whole sample (the tokenizer
            # adds them for free; pieces of split documents take the body without them)
            ids, encoding = tok.encode_lazy([d["text"] for d in batch], bos=bool(lead), eos=bool(tail))
            size = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))  # the sample, whole
            counters["pack_doc_tokens"] += int(size.sum()) - (lead + tail) * len(batch)
            min_whole = 0 if self.pack_docs else self.min_tokens  # pack_docs applies it to packed samples
            lo, hi = int(size.min()), int(size.max())
            if lo > lead + tail and lo >= min_whole and hi <= self.max_tokens:
                # no empty, short or over-long document (the usual batch of short ones): one run
                counters["pack_docs"] += len(batch)
                yield _Run(np.concatenate(ids, dtype=dtype, casting="unsafe"), size)
                continue
            n = size - lead - tail
            empty = n == 0
            split = size > self.max_tokens
            short = ~(empty | split) & (size < min_whole)
            whole = ~(empty | split | short)
            if empty.any():
                counters[EMPTY_DOC] += int(empty.sum())
            if short.any():
                counters[SHORT_SAMPLE] += int(short.sum())
                counters["pack_short_sample_tokens"] += int(size[short].sum())
                counters[DOC_ALL_SHORT] += int(short.sum())
            prev = 0
            for i in [*np.flatnonzero(split).tolist(), len(batch)]:
                if whole[prev:i].any():
                    kept = np.flatnonzero(whole[prev:i]) + prev
                    yield _Run(np.concatenate([ids[j] for j in kept.tolist()], dtype=dtype, casting="unsafe"),
                               size[kept])
                if i < len(batch):
                    yield from self._split(batch[i], encoding(i), specials, counters)
                prev = i + 1
            counters["pack_docs"] += int((~empty).sum())

    def _split(self, doc: dict, enc, specials: Specials, counters: Counter) -> Iterator[tuple[Piece, np.ndarray]]:
        kind = "code" if is_code(doc) else "auto"
        pieces = document_pieces(doc["text"], enc, max_tokens=self.max_tokens, specials=specials, kind=kind)
        if self.min_tokens and not self.pack_docs and all(p.length < self.min_tokens for p in pieces):
            counters[DOC_ALL_SHORT] += 1
        for p in pieces:
            if p.cut != CUT_SENTENCE:
                counters[f"pack_forced_split_{p.cut}"] += 1
            yield p, enc.ids

    def _emit(self, writer, sample: np.ndarray, lengths: _Lengths, counters: Counter) -> None:
        if sample.size < self.min_tokens:
            counters[SHORT_SAMPLE] += 1
            counters["pack_short_sample_tokens"] += int(sample.size)
            return
        writer.add_sequence(sample)
        lengths.add_one(sample.size)

    def finalize(self, output: Path, stems: list[Path], counters: Counter) -> None:
        """Merge every shard's output into ``OUTPUT/merged`` (+ suffixes); no merged files without samples."""
        parts = [s for s in stems if Path(f"{s}{suffixes(self.format)[0]}").exists()]
        if parts:
            merge_outputs(self.format, parts, output / MERGED)
        else:
            for suffix in suffixes(self.format):  # a rerun that now has no samples leaves no stale merge
                Path(f"{output / MERGED}{suffix}").unlink(missing_ok=True)
        counters["pack_merged_parts"] += len(parts)


def _sample_parts(items: Iterator[tuple[Piece, np.ndarray] | _Run], tok, dtype: type
                  ) -> Iterator[tuple[int, tuple[np.ndarray, bool]]]:
    """``(length, (tokens, starts a document))`` of every whole document and piece, for ``pack_stream``."""
    for item in items:
        if isinstance(item, _Run):
            start = 0
            for end in np.cumsum(item.lengths).tolist():
                yield end - start, (item.tokens[start:end], True)
                start = end
        else:
            piece, ids = item
            yield piece.length, (piece_tokens(piece, ids, tok.bos_id, tok.eos_id, dtype), piece.start == 0)


def merge_outputs(fmt: str, stems: list[Path], out_stem: Path, *, types: list | None = None) -> list[int]:
    """Merge per-shard outputs of ``fmt`` into ``out_stem`` + suffixes, atomically; returns samples per type.

    ``types`` (``knowlm`` only) is KnowLM's ``--merge_path_type``: one type per input; inputs of one type
    are concatenated together, types in first-occurrence order, and ``out_stem.dis`` holds the count
    of each. Raises FileNotFoundError naming the first missing input file.
    """
    if types is not None and fmt != "knowlm":
        raise ValueError(f"types are KnowLM's --merge_path_type: only --format knowlm takes them, not {fmt}")
    for stem in stems:
        for suffix in suffixes(fmt):
            if not Path(f"{stem}{suffix}").exists():
                raise FileNotFoundError(f"no {stem}{suffix} (is {stem} a {fmt} output prefix?)")
    counts: list[int] = []
    with ExitStack() as stack:
        paths = [stack.enter_context(atomic_path(Path(f"{out_stem}{s}"))) for s in suffixes(fmt)]
        if fmt == "megatron":
            megatron.merge(stems, *paths)
        elif fmt == "knowlm":
            counts = knowlm.merge(stems, *paths, types=types, out_stem=out_stem)
        else:
            hf.merge([Path(f"{s}.parquet") for s in stems], *paths)
    return counts
