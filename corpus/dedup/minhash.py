"""MinHash signatures for whole batches of shingle hashes, in two modes.

``classic``: k affine permutations, bit-identical to ``datasketch.MinHash(num_perm, seed)`` (2.0,
default scheme ``affine32``: fmix32 pre-mix, then ``a*h + b mod 2**32``) fed the same 32-bit hashes.
``fast``: one-permutation hashing (Li, Owen & Zhang, NIPS 2012) with optimal densification
(Shrivastava, "Optimal Densification for Fast and Accurate Minwise Hashing", ICML 2017): one hash per
shingle, so the cost does not grow with k. Weighted MinHash and datasketch's ``legacy`` scheme are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from corpus.dedup.shingle import ShingleBatch

EMPTY = np.uint32(0xFFFFFFFF)  # datasketch's "no shingle seen" value, also ours for empty OPH bins
MODES = ("fast", "classic")
# Shingles per (k, chunk) uint32 block in classic mode: 128 x 32768 x 4 B = 16 MiB of scratch.
_CLASSIC_CHUNK = 32768
# Densification draws at most this many donor bins per empty bin before falling back to rotation;
# with one non-empty bin of 128 the chance of needing more is (127/128)**4096 ~ 1e-14.
_MAX_DRAWS = 4096
# Shingles per piece in fast mode: 65,536 x (4 + 8) B of temporaries stay in L2 cache.
_FAST_CHUNK = 1 << 16


def fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser on a uint32 array (datasketch's affine32 pre-mix)."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def datasketch_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) uint32 parameters ``datasketch.MinHash(num_perm, seed)`` draws for scheme affine32."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


@dataclass(frozen=True, kw_only=True)
class MinHasher:
    """Computes (D, num_perm) uint32 signatures for a ``ShingleBatch``; rows of empty documents are EMPTY.

    The probability that two signatures agree at one position is the Jaccard similarity of the two
    shingle sets, in both modes; ``fast`` trades a little variance on very short documents (few
    non-empty bins, filled by densification) for a cost of one hash per shingle instead of k.
    """

    num_perm: int = 128
    seed: int = 1
    mode: Literal["fast", "classic"] = "fast"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"minhash mode must be one of {MODES}, got {self.mode!r}")
        if not 1 <= self.num_perm <= 1 << 16:
            raise ValueError("num_perm must be in 1..65536")

    def signatures(self, batch: ShingleBatch) -> np.ndarray:
        """Signatures of every document of ``batch``, shape (D, num_perm), uint32."""
        if self.mode == "classic":
            return classic_signatures(batch, num_perm=self.num_perm, seed=self.seed)
        return fast_signatures(batch, num_perm=self.num_perm, seed=self.seed)


def classic_signatures(batch: ShingleBatch, *, num_perm: int, seed: int) -> np.ndarray:
    """k-permutation MinHash, equal to datasketch's ``hashvalues`` for the same hashes, num_perm and seed.

    Layout (k, chunk) so each permutation is one contiguous multiply-add pass, then one
    ``np.minimum.reduceat`` along the shingle axis per chunk; a document cut by a chunk border
    is finished by a running minimum.
    """
    a, b = datasketch_permutations(num_perm, seed)
    a, b = a[:, None], b[:, None]
    lengths = batch.lengths
    n_docs = lengths.size
    sig = np.full((n_docs, num_perm), EMPTY, dtype=np.uint32)
    if batch.hashes.size == 0:
        return sig
    mixed = fmix32(batch.hashes)
    nonempty = np.flatnonzero(lengths > 0)
    doc_starts = batch.offsets[nonempty]
    doc_ends = batch.offsets[nonempty + 1]
    total = mixed.size
    buf = np.empty((num_perm, min(_CLASSIC_CHUNK, total)), dtype=np.uint32)
    for p0 in range(0, total, _CLASSIC_CHUNK):
        p1 = min(p0 + _CLASSIC_CHUNK, total)
        lo = np.searchsorted(doc_ends, p0, side="right")
        hi = np.searchsorted(doc_starts, p1, side="left")
        docs = nonempty[lo:hi]
        starts = np.maximum(doc_starts[lo:hi], p0) - p0
        block = buf[:, : p1 - p0]
        np.multiply(a, mixed[None, p0:p1], out=block)
        block += b
        mins = np.minimum.reduceat(block, starts, axis=1)  # (k, len(docs))
        sig[docs] = np.minimum(sig[docs], mins.T)
    return sig


def fast_signatures(batch: ShingleBatch, *, num_perm: int, seed: int) -> np.ndarray:
    """One-permutation hashing with optimal densification (Shrivastava 2017).

    Each shingle hash h (fmix32 of the shingle hash xor a seed word) falls into bin
    ``h * k >> 32``; a bin keeps its smallest h, so equal bins in two signatures mean the same
    minimal shingle. An empty bin i copies the value of bin ``d_i(t)`` for the first draw t whose
    donor was non-empty in the original sketch, where ``d_i(t)`` is a fixed pseudo-random sequence
    shared by all documents; this keeps P(equal) = Jaccard with the lowest variance of the known
    densification schemes.
    """
    lengths = batch.lengths
    n_docs = lengths.size
    k = num_perm
    sig = np.full((n_docs, k), EMPTY, dtype=np.uint32)
    if batch.hashes.size:
        gen = np.random.RandomState(seed)
        salt = np.uint32(gen.randint(0, 1 << 32, dtype=np.uint64))
        # bin = h * k >> 32; for k a power of two that is a plain shift, on uint32 (same values).
        shift = np.uint32(32 - k.bit_length() + 1) if k & (k - 1) == 0 else None
        flat = sig.reshape(-1)
        for p0 in range(0, batch.hashes.size, _FAST_CHUNK):
            # A chunk of shingles, whichever documents they belong to: one huge document is cut into
            # many chunks (its bins fill across them), so the temporaries stay chunk-sized.
            p1 = min(p0 + _FAST_CHUNK, batch.hashes.size)
            d0 = int(np.searchsorted(batch.offsets, p0, side="right")) - 1
            d1 = int(np.searchsorted(batch.offsets, p1, side="left"))
            spans = np.diff(np.clip(batch.offsets[d0 : d1 + 1], p0, p1))
            h = fmix32(batch.hashes[p0:p1] ^ salt)
            if shift is not None:
                bins = h >> shift
            else:
                bins = ((h.astype(np.uint64) * np.uint64(k)) >> np.uint64(32)).astype(np.intp)
            slot = np.repeat(np.arange(d0 * k, d1 * k, k, dtype=np.intp), spans)
            slot += bins
            # The top bits of h pick the bin, so the min of h in a bin is its min shingle. h == 2**32-1
            # would read as EMPTY; clamping it one below costs one possible collision in 2**32.
            np.minimum(h, EMPTY - np.uint32(1), out=h)
            np.minimum.at(flat, slot, h)
    return _densify(sig, lengths > 0, seed=seed)


def _densify(sig: np.ndarray, nonempty: np.ndarray, *, seed: int) -> np.ndarray:
    """Fill empty bins of non-empty documents from donor bins (optimal densification)."""
    original = sig.copy()
    rows, cols = np.nonzero((sig == EMPTY) & nonempty[:, None])
    if rows.size == 0:
        return sig
    k = sig.shape[1]
    # One donor sequence per bin, drawn in blocks: donors[t, i] is bin i's t-th draw.
    gen = np.random.RandomState(seed ^ 0x5EED)
    drawn = 0
    donors = np.empty((0, k), dtype=np.int64)
    t = 0
    while rows.size and t < _MAX_DRAWS:
        if t == drawn:
            donors = np.concatenate([donors, gen.randint(0, k, size=(64, k))])
            drawn += 64
        cand = original[rows, donors[t, cols]]
        hit = cand != EMPTY
        sig[rows[hit], cols[hit]] = cand[hit]
        rows, cols = rows[~hit], cols[~hit]
        t += 1
    # Fallback never expected in practice: rotation densification (next non-empty bin to the right).
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        row = original[r]
        filled = np.flatnonzero(row != EMPTY)
        sig[r, c] = row[filled[np.searchsorted(filled, c) % filled.size]]
    return sig


def jaccard_estimate(sig_a: np.ndarray, sig_b: np.ndarray) -> np.ndarray:
    """Fraction of equal positions of paired signature rows, (P, k) x (P, k) -> (P,) float64."""
    return np.mean(sig_a == sig_b, axis=-1)
