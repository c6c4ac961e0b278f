"""Summaries of packed outputs: counts, token totals, length statistics and decoded samples.

Reads any of the three formats by its files (``PREFIX.idx`` with the MMIDIDX magic → Megatron,
other ``.idx`` → KnowLM, ``PREFIX.parquet`` → hf). Lengths come from the index only; tokens are read
only for the samples that are decoded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from corpus.pack import hf, knowlm, megatron


def _lengths_and_sample(prefix: str) -> tuple[str, np.ndarray, int | None, object, str]:
    """(format, lengths, document count or None, sample getter, dtype name)."""
    idx = Path(f"{prefix}.idx")
    if idx.exists():
        with open(idx, "rb") as f:
            magic = f.read(len(megatron.MAGIC))
        if magic == megatron.MAGIC:
            reader = megatron.IndexedDatasetReader(prefix)
            return ("megatron", np.asarray(reader.index.sequence_lengths), reader.document_count,
                    reader.__getitem__, reader.index.dtype.__name__)
        samples = knowlm.read_samples(prefix)
        return "knowlm", np.array([s.size for s in samples]), None, samples.__getitem__, "uint16"
    parquet = Path(f"{prefix}.parquet")
    if parquet.exists():
        samples = hf.read_samples(parquet)
        return "hf", np.array([s.size for s in samples]), None, samples.__getitem__, "int32"
    raise FileNotFoundError(f"no {prefix}.idx/.bin or {prefix}.parquet")


def inspect_summary(prefix: str | Path, tokenizer: str | Path | None = None, decode: int = 0) -> str:
    """A printable summary of packed output ``prefix``; with ``tokenizer``, decode the first ``decode`` samples."""
    prefix = str(prefix)
    fmt, lengths, documents, sample, dtype = _lengths_and_sample(prefix)
    lines = [f"{prefix}  format={fmt} dtype={dtype}"]
    lines.append(f"samples {lengths.size:,}" + (f"  documents {documents:,}" if documents is not None else ""))
    total = int(lengths.sum()) if lengths.size else 0
    lines.append(f"tokens {total:,}")
    if lengths.size:
        q = np.percentile(lengths, [50, 90, 99])
        lines.append(
            f"length min {int(lengths.min())} mean {lengths.mean():.1f} p50 {q[0]:.0f} p90 {q[1]:.0f} "
            f"p99 {q[2]:.0f} max {int(lengths.max())}"
        )
        longest = int(lengths.max())
        lines.append(f"fill ratio {total / (lengths.size * longest):.3f} (tokens / samples x longest sample)")
        edges = [e for e in (32, 64, 128, 256, 512, 1024, 2048, 4096) if e < longest] + [longest]
        counts = np.histogram(lengths, bins=[0, *edges])[0]
        lo = 1
        for edge, count in zip(edges, counts, strict=True):
            lines.append(f"  {lo:>5}-{edge:<5} {int(count):>9,} {'#' * int(40 * count / lengths.size)}")
            lo = edge + 1
    if tokenizer is not None and decode > 0:
        from corpus.tokenizers.load import load_tokenizer

        tok = load_tokenizer(str(tokenizer))
        for i in range(min(decode, lengths.size)):
            ids = sample(i)
            lines.append(f"--- sample {i} ({len(ids)} tokens) ---")
            lines.append(tok.decode(ids))
    return "\n".join(lines)
