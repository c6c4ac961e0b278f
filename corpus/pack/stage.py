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
from corpus.shards import atomic_path
from corpus.tokenizers.load import load_tokenizer

DEFAULT_TOKENIZER = Path(__file__).resolve().parents[2] / "data_samples" / "tokenizer" / "knowforge-demo.model"
FORMATS = ("megatron", "knowlm", "hf")
MERGED = "merged"  # stem of the merged output: OUTPUT/merged.bin + merged.idx (or merged.parquet)
HISTOGRAM_EDGES = (32, 64, 128, 256, 512, 768, 1024, 2048, 4096)  # sample-length buckets, tokens

# Counter names (also what `inspect` and the demo print).
EMPTY_DOC = "pack_empty_doc"  # a document with no tokens (nothing written)
SHORT_SAMPLE = "pack_short_sample"  # a sample below --min-tokens, dropped (KnowLM drops <= 20)
DOC_ALL_SHORT = "pack_doc_all_samples_short"  # every sample of a document was below --min-tokens


def suffixes(fmt: str) -> tuple[str, ...]:
    """File suffixes one output of ``fmt`` consists of."""
    return (".parquet",) if fmt == "hf" else (".bin", ".idx")


@dataclasses.dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive whole-document samples: their tokens back to back (specials included) and lengths."""

    tokens: array  # typecode 'H' (uint16) or 'i' (int32): ids are converted once, as they are appended
    lengths: list[int]


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

    def _writer(self, stack: ExitStack, out_stem: Path, vocab_size: int):
        paths = [stack.enter_context(atomic_path(Path(f"{out_stem}{s}"))) for s in suffixes(self.format)]
        if self.format == "megatron":
            return megatron.IndexedDatasetWriter(*paths, megatron.dtype_for_vocab(vocab_size))
        if self.format == "knowlm":
            return knowlm.KnowLMWriter(*paths, vocab_size)
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
        lengths = array("l")  # every written sample's length: the histogram is one numpy call at the end
        with ExitStack() as stack:
            writer = self._writer(stack, out_stem, tok.vocab_size)
            with writer:
                pieces = self._pieces(docs, tok, specials, counters)
                if self.pack_docs:
                    for group in pack_stream(((p.length, (p, ids)) for p, ids in pieces), self.max_tokens):
                        if group[0][0].start == 0:
                            writer.end_document()  # a new source document starts this sample
                        sample = np.concatenate([piece_tokens(p, ids, tok.bos_id, tok.eos_id, dtype) for p, ids in group])
                        self._emit(writer, sample, lengths, counters)
                else:
                    for item in pieces:
                        if isinstance(item, _Run):
                            writer.add_documents(np.frombuffer(item.tokens, dtype=dtype), item.lengths)
                            lengths.extend(item.lengths)
                            continue
                        piece, ids = item
                        if piece.start == 0:
                            writer.end_document()
                        self._emit(writer, piece_tokens(piece, ids, tok.bos_id, tok.eos_id, dtype), lengths, counters)
        sizes = np.frombuffer(lengths, dtype=np.int64) if lengths else np.zeros(0, dtype=np.int64)
        counters["pack_samples"] += int(sizes.size)
        counters["pack_tokens"] += int(sizes.sum())
        edges = np.asarray(HISTOGRAM_EDGES)
        for bucket, count in enumerate(np.bincount(np.searchsorted(edges, sizes), minlength=edges.size + 1)):
            if count:
                key = f"len<={edges[bucket]}" if bucket < edges.size else f"len>{edges[-1]}"
                counters[f"pack_{key}"] += int(count)

    def _pieces(self, docs: Iterator[dict], tok, specials: Specials, counters: Counter
                ) -> Iterator[tuple[Piece, np.ndarray] | _Run]:
        """Pieces of every document in order. Without ``pack_docs``, consecutive documents that fit one
        sample whole come as a ``_Run`` (flat token list + lengths): one numpy array and one write per
        run instead of per document, which matters for short documents and fast tokenizers."""
        docs = iter(docs)
        lead, bos, eos = specials.lead(0), tok.bos_id, tok.eos_id
        n_docs = n_tokens = 0  # summed locally, added to counters once per batch
        typecode = "H" if tok.vocab_size < 65500 else "i"  # the stored dtype, as in write_shard
        run = _Run(array(typecode), [])
        while batch := list(itertools.islice(docs, self.batch_docs)):
            for doc, (ids, encoding) in zip(batch, tok.encode_lazy([d["text"] for d in batch]), strict=True):
                n = len(ids)
                if n == 0:
                    counters[EMPTY_DOC] += 1
                    continue
                n_docs += 1
                n_tokens += n
                tail = specials.tail(n, n)
                if not self.pack_docs and n + lead + tail <= self.max_tokens:
                    if n + lead + tail < self.min_tokens:
                        counters[SHORT_SAMPLE] += 1
                        counters["pack_short_sample_tokens"] += n + lead + tail
                        counters[DOC_ALL_SHORT] += 1
                        continue
                    if lead:
                        run.tokens.append(bos)
                    run.tokens.extend(ids)
                    if tail:
                        run.tokens.append(eos)
                    run.lengths.append(n + lead + tail)
                    continue
                if run.lengths:
                    yield run
                    run = _Run(array(typecode), [])
                meta = doc.get("meta")
                kind = "code" if meta and meta.get("lang") == "code" else "auto"
                enc = encoding()
                pieces = document_pieces(doc["text"], enc, max_tokens=self.max_tokens, specials=specials,
                                         kind=kind)
                if self.min_tokens and not self.pack_docs and all(p.length < self.min_tokens for p in pieces):
                    counters[DOC_ALL_SHORT] += 1
                for p in pieces:
                    if p.cut != CUT_SENTENCE:
                        counters[f"pack_forced_split_{p.cut}"] += 1
                    yield p, enc.ids
            if run.lengths:
                yield run
                run = _Run(array(typecode), [])
            counters["pack_docs"] += n_docs
            counters["pack_doc_tokens"] += int(n_tokens)
            n_docs = n_tokens = 0

    def _emit(self, writer, sample: np.ndarray, lengths: array, counters: Counter) -> None:
        if sample.size < self.min_tokens:
            counters[SHORT_SAMPLE] += 1
            counters["pack_short_sample_tokens"] += int(sample.size)
            return
        writer.add_sequence(sample)
        lengths.append(sample.size)

    def finalize(self, output: Path, stems: list[Path], counters: Counter) -> None:
        """Merge every shard's output into ``OUTPUT/merged`` (+ suffixes)."""
        merge_outputs(self.format, [s for s in stems if Path(f"{s}{suffixes(self.format)[0]}").exists()],
                      output / MERGED)
        counters["pack_merged_parts"] += len(stems)


def merge_outputs(fmt: str, stems: list[Path], out_stem: Path) -> None:
    """Merge per-shard outputs of ``fmt`` into ``out_stem`` + suffixes, atomically.

    Raises FileNotFoundError naming the first missing input file.
    """
    for stem in stems:
        for suffix in suffixes(fmt):
            if not Path(f"{stem}{suffix}").exists():
                raise FileNotFoundError(f"no {stem}{suffix} (is {stem} a {fmt} output prefix?)")
    with ExitStack() as stack:
        paths = [stack.enter_context(atomic_path(Path(f"{out_stem}{s}"))) for s in suffixes(fmt)]
        if fmt == "megatron":
            megatron.merge(stems, *paths)
        elif fmt == "knowlm":
            knowlm.merge(stems, *paths)
        else:
            hf.merge([Path(f"{s}.parquet") for s in stems], *paths)
