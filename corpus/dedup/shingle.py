"""Script-aware shingling for near-duplicate detection, hashed with numpy over whole batches.

Text is normalised (NFKC, lower case, punctuation and whitespace folded to one space), split into
tokens (one token per CJK character, one per run of other word characters) and runs of one script;
a shingle is ``n`` consecutive tokens of a run: character n-grams for CJK, word n-grams for Latin.
Hashes are polynomial hashes mod 2**64 finished with the MurmurHash3 fmix64 avalanche; no stemming,
stop words or language identification.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Default n for CJK character shingles, chosen on benchmarks/dedup_accuracy.py (see docs/dedup.md):
# n=5 keeps the background Jaccard of unrelated Chinese documents near 0 (n=2/3 share common words
# such as 的是/我们 and inflate it), while n>=7 makes every scattered edit destroy too many shingles.
DEFAULT_CJK_NGRAM = 5
# Word 5-grams for Latin-script text follow the common practice of datatrove, dolma and text-dedup.
DEFAULT_WORD_NGRAM = 5
_GROUP_CODE_POINTS = 1 << 16

_MASK64 = (1 << 64) - 1
# Odd multipliers (invertible mod 2**64): TOKEN_BASE folds characters into a token hash,
# SHINGLE_BASE folds token hashes into a shingle hash.
TOKEN_BASE = 0x100000001B3
SHINGLE_BASE = 0x9E3779B97F4A7C15

# Everything that is not a word character (punctuation, symbols, whitespace) and "_" folds to a space.
_FOLD = re.compile(r"[\W_]+")

# Code-point ranges shingled per character: CJK ideographs (with extensions and compatibility
# ideographs), Hiragana/Katakana, Hangul syllables. Inclusive bounds.
CJK_RANGES = (
    (0x3040, 0x30FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3134F),
)


def normalize(text: str) -> str:
    """NFKC, lower case, and fold every run of punctuation/whitespace into one space (stripped).

    Punctuation is folded before NFKC as well as after: Chinese text is full of full-width
    punctuation, which sends ``unicodedata.normalize`` down its slow path (~130 us per 1,000
    characters); once it is gone most documents pass NFKC's quick check (~1 us).
    """
    folded = _FOLD.sub(" ", text)
    if not unicodedata.is_normalized("NFKC", folded):
        folded = _FOLD.sub(" ", unicodedata.normalize("NFKC", folded))
    return folded.lower().strip()


def is_cjk(ch: str) -> bool:
    """True if the character is shingled per character (see ``CJK_RANGES``)."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def fmix64(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser, a bijection on uint64 that avalanches every input bit."""
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def _fmix64_int(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK64
    return x ^ (x >> 33)


@dataclass(frozen=True, kw_only=True)
class ShingleBatch:
    """Shingle hashes of a batch of documents in CSR form.

    ``hashes`` (S,) uint32 holds every shingle of every document (repeats included, in text order);
    document ``d`` owns ``hashes[offsets[d]:offsets[d + 1]]``; ``offsets`` is (D + 1,) int64.
    """

    hashes: np.ndarray
    offsets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """Number of shingles per document, (D,) int64."""
        return np.diff(self.offsets)

    def doc(self, d: int) -> np.ndarray:
        """The shingle hashes of document ``d``."""
        return self.hashes[self.offsets[d] : self.offsets[d + 1]]


def _in_ranges(cp: np.ndarray) -> np.ndarray:
    mask = np.zeros(cp.shape, dtype=bool)
    for lo, hi in CJK_RANGES:
        mask |= (cp >= lo) & (cp <= hi)
    return mask


def _segment_hash(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int) -> np.ndarray:
    """Horner hash ``sum(v_j * base**(e-1-j) for j in [s, e))`` mod 2**64 of many segments at once.

    With prefix sums ``P_i = sum(v_j * base**-j for j <= i)`` (``base`` is odd, hence invertible
    mod 2**64) a segment's hash is ``(P_{e-1} - P_{s-1}) * base**(e-1)``: three passes over
    ``values`` and three gathers, whatever the segment lengths. uint64 arithmetic wraps mod 2**64.
    """
    powers = np.full(values.size, base, dtype=np.uint64)
    powers[0] = 1
    pow_b = np.cumprod(powers)  # base**j
    powers.fill(pow(base, -1, 1 << 64))
    powers[0] = 1
    prefix = np.cumsum(values * np.cumprod(powers))
    before = prefix[starts - 1]
    before[starts == 0] = 0  # index -1 wrapped to the last element
    return (prefix[ends - 1] - before) * pow_b[ends - 1]


def hash_shingles(
    texts: Sequence[str], *, ngram_cjk: int = DEFAULT_CJK_NGRAM, ngram_words: int = DEFAULT_WORD_NGRAM
) -> ShingleBatch:
    """Normalise and shingle every text, returning 32-bit shingle hashes in CSR form.

    The only per-document Python work is normalisation; tokens, runs and shingle hashes are computed
    with numpy over the concatenated code points of the batch. A run shorter than its ``n`` yields one
    shingle of the whole run, so short texts still get a signature. ``hash_shingle`` is the scalar
    reference: ``hash_shingles([t]).hashes == [hash_shingle(s) for s in shingle_tokens(t)]``.
    """
    if ngram_cjk < 1 or ngram_words < 1:
        raise ValueError("shingle sizes must be >= 1")
    norm = [normalize(t) for t in texts]
    # Work on groups of ~64k code points: every array of a group stays in L2 cache, which makes the
    # numpy passes 2-4x faster than on one batch-sized array (measured in benchmarks/minhash.py).
    parts: list[ShingleBatch] = []
    group: list[str] = []
    size = 0
    for text in norm:
        group.append(text)
        size += len(text) + 1
        if size >= _GROUP_CODE_POINTS:
            parts.append(_hash_normalized(group, ngram_cjk, ngram_words))
            group, size = [], 0
    if group or not parts:
        parts.append(_hash_normalized(group, ngram_cjk, ngram_words))
    if len(parts) == 1:
        return parts[0]
    counts = np.concatenate([p.lengths for p in parts])
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return ShingleBatch(hashes=np.concatenate([p.hashes for p in parts]), offsets=offsets)


def _hash_normalized(norm: list[str], ngram_cjk: int, ngram_words: int) -> ShingleBatch:
    n_docs = len(norm)
    # Documents are joined with one space, so no token crosses a document; runs are cut by doc below.
    joined = " ".join(norm)
    cp = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    if cp.size == 0:
        return ShingleBatch(hashes=np.zeros(0, np.uint32), offsets=np.zeros(n_docs + 1, np.int64))
    char_lengths = np.fromiter((len(t) + 1 for t in norm), dtype=np.int64, count=n_docs)
    char_doc = np.repeat(np.arange(n_docs, dtype=np.int64), char_lengths)[: cp.size]

    space = cp == 32
    cjk = _in_ranges(cp)
    prev_space = np.concatenate(([True], space[:-1]))
    prev_cjk = np.concatenate(([False], cjk[:-1]))
    next_space = np.concatenate((space[1:], [True]))
    next_cjk = np.concatenate((cjk[1:], [False]))
    word = ~space & ~cjk
    # A CJK character is a token by itself; a word token starts after a space or a CJK character.
    starts = np.flatnonzero(cjk | (word & (prev_space | prev_cjk)))
    ends = np.flatnonzero(cjk | (word & (next_space | next_cjk))) + 1  # exclusive

    tok = _segment_hash(cp.astype(np.uint64), starts, ends, TOKEN_BASE)

    tok_doc = char_doc[starts]
    tok_cjk = cjk[starts]
    n_tok = tok.size
    if n_tok == 0:
        return ShingleBatch(hashes=np.zeros(0, np.uint32), offsets=np.zeros(n_docs + 1, np.int64))
    new_run = np.ones(n_tok, dtype=bool)
    new_run[1:] = (tok_doc[1:] != tok_doc[:-1]) | (tok_cjk[1:] != tok_cjk[:-1])
    run_id = np.cumsum(new_run) - 1
    run_starts = np.flatnonzero(new_run)
    run_ends = np.append(run_starts[1:], n_tok)
    idx = np.arange(n_tok)
    run_end = run_ends[run_id]
    run_len = (run_ends - run_starts)[run_id]
    n = np.where(tok_cjk, ngram_cjk, ngram_words)
    # A shingle starts at every token with n tokens left in its run, or at the start of a short run.
    valid = (idx + n <= run_end) | ((run_len < n) & new_run)
    first = np.flatnonzero(valid)
    width = np.minimum(n, run_len)[first]

    acc = _segment_hash(tok, first, first + width, SHINGLE_BASE)
    hashes = (fmix64(acc) >> np.uint64(32)).astype(np.uint32)
    counts = np.bincount(tok_doc[first], minlength=n_docs)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return ShingleBatch(hashes=hashes, offsets=offsets)


def shingle_tokens(
    text: str, *, ngram_cjk: int = DEFAULT_CJK_NGRAM, ngram_words: int = DEFAULT_WORD_NGRAM
) -> list[tuple[str, ...]]:
    """Reference (pure Python) shingler: the token tuples ``hash_shingles`` hashes, in the same order.

    Slow; used to feed datasketch and rensa in tests and benchmarks, and to document the rules.
    """
    tokens: list[tuple[str, bool]] = []
    for piece in normalize(text).split(" "):
        word = ""
        for ch in piece:
            if is_cjk(ch):
                if word:
                    tokens.append((word, False))
                    word = ""
                tokens.append((ch, True))
            else:
                word += ch
        if word:
            tokens.append((word, False))
    out: list[tuple[str, ...]] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and tokens[j][1] == tokens[i][1]:
            j += 1
        run = [t for t, _ in tokens[i:j]]
        n = ngram_cjk if tokens[i][1] else ngram_words
        if len(run) < n:
            out.append(tuple(run))
        else:
            out.extend(tuple(run[k : k + n]) for k in range(len(run) - n + 1))
        i = j
    return out


def hash_shingle(tokens: tuple[str, ...]) -> int:
    """Scalar reference of the 32-bit shingle hash; usable as datasketch's ``hashfunc``."""
    acc = 0
    for token in tokens:
        h = 0
        for ch in token:
            h = (h * TOKEN_BASE + ord(ch)) & _MASK64
        acc = (acc * SHINGLE_BASE + h) & _MASK64
    return _fmix64_int(acc) >> 32
