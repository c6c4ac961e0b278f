"""Script-aware shingling for near-duplicate detection, hashed with numpy over whole batches.

Text is normalised (NFKC, lower case, punctuation and whitespace folded to one space), split into
tokens (one token per CJK character, one per run of other word characters) and runs of one script;
a shingle is ``n`` consecutive tokens of a run: character n-grams for CJK, word n-grams for Latin.
Hashes are polynomial hashes mod 2**64 finished with the MurmurHash3 fmix64 avalanche; no stemming,
stop words or language identification.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from corpus.text import EAST_ASIAN_ALL_PLANES
from corpus.text import normalize as normalize_text

# Default n for CJK character shingles, chosen on benchmarks/dedup_accuracy.py (see docs/dedup.md):
# n=5 keeps the background Jaccard of unrelated Chinese documents near 0 (n=2/3 share common words
# such as 的是/我们 and inflate it), while n>=7 makes every scattered edit destroy too many shingles.
DEFAULT_CJK_NGRAM = 5
# Word 5-grams for Latin-script text follow the common practice of datatrove, dolma and text-dedup.
DEFAULT_WORD_NGRAM = 5
_GROUP_CODE_POINTS = 1 << 16
_HORNER_BLOCK = 1 << 16  # values per block when one document is far larger than a group

_MASK64 = (1 << 64) - 1
# Odd multipliers (invertible mod 2**64): TOKEN_BASE folds characters into a token hash,
# SHINGLE_BASE folds token hashes into a shingle hash.
TOKEN_BASE = 0x100000001B3
SHINGLE_BASE = 0x9E3779B97F4A7C15

# Code-point ranges shingled per character: kana, ideographs of every plane, Hangul syllables.
CJK_RANGES = EAST_ASIAN_ALL_PLANES.ranges


def normalize(text: str) -> str:
    """NFKC, lower case, and fold every run of punctuation/whitespace (and ``_``) into one space, stripped
    (``corpus.text.normalize`` with ``fold="punct"``, which says why it folds before NFKC too)."""
    return normalize_text(text, case="lower", fold="punct")


def is_cjk(ch: str) -> bool:
    """True if the character is shingled per character (see ``CJK_RANGES``)."""
    return EAST_ASIAN_ALL_PLANES.contains(ch)


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


def hash_shingles(
    texts: Sequence[str], *, ngram_cjk: int = DEFAULT_CJK_NGRAM, ngram_words: int = DEFAULT_WORD_NGRAM
) -> ShingleBatch:
    """Normalise and shingle every text, returning 32-bit shingle hashes in CSR form.

    Tokens, runs and shingle hashes are computed with numpy over the concatenated code points of the
    batch; normalisation is folded into table look-ups (``_char_tables``) for every document whose
    characters allow it, and only the rest go through ``normalize``. A run shorter than its ``n``
    yields one shingle of the whole run, so short texts still get a signature. ``hash_shingle`` is the
    scalar reference: ``hash_shingles([t]).hashes == [hash_shingle(s) for s in shingle_tokens(t)]``.
    """
    if ngram_cjk < 1 or ngram_words < 1:
        raise ValueError("shingle sizes must be >= 1")
    # Work on groups of ~64k code points: every array of a group stays in L2 cache, which makes the
    # numpy passes 2-4x faster than on one batch-sized array (measured in benchmarks/minhash.py).
    parts: list[ShingleBatch] = []
    group: list[str] = []
    size = 0
    for text in texts:
        group.append(text)
        size += len(text) + 1
        if size >= _GROUP_CODE_POINTS:
            parts.append(_hash_group(group, ngram_cjk, ngram_words))
            group, size = [], 0
    if group or not parts:
        parts.append(_hash_group(group, ngram_cjk, ngram_words))
    return parts[0] if len(parts) == 1 else _concat(parts)


def _concat(parts: Sequence[ShingleBatch]) -> ShingleBatch:
    counts = np.concatenate([p.lengths for p in parts])
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return ShingleBatch(hashes=np.concatenate([p.hashes for p in parts]), offsets=offsets)


# Character classes of the table-driven path. SLOW marks characters whose normalisation the tables
# cannot reproduce (NFKC changes them, they may compose with a neighbour, lower() is not one-to-one or
# depends on context, or they are UTF-16 surrogates, i.e. outside the BMP): a document containing one
# goes through ``normalize`` instead.
_FOLDED, _WORD, _CJK, _SLOW = 0, 1, 2, 3
# Hangul vowel and trailing-consonant jamo compose algorithmically with the preceding jamo/syllable
# (no entry in unicodedata.decomposition), so they are listed by hand.
_HANGUL_COMPOSING = ((0x1161, 0x1175), (0x11A8, 0x11C2))


@functools.cache
def _char_tables() -> np.ndarray:
    """The class (uint8) of every BMP code point; built in ~50 ms, once per process.

    For a text made only of FOLDED, WORD and CJK characters, ``normalize`` equals: fold every
    non-alphanumeric run to a space (regex ``[\\W_]`` is exactly ``not str.isalnum()``), then
    ``str.lower()``, which maps such characters one to one, and no NFKC, because such a text is
    already NFKC (every kept character is NFKC-invariant, has combining class 0 and cannot be the
    second half of a canonical composition). tests/corpus/dedup/test_shingle.py checks this against
    ``normalize`` with hypothesis.
    """
    n = 1 << 16
    chars = [chr(c) for c in range(n)]
    cls = np.full(n, _FOLDED, dtype=np.uint8)
    composes_after = {cp for lo, hi in _HANGUL_COMPOSING for cp in range(lo, hi + 1)}
    for ch in chars:
        decomposition = unicodedata.decomposition(ch)
        if decomposition and not decomposition.startswith("<"):
            composes_after.update(int(part, 16) for part in decomposition.split()[1:])
    for cp, ch in enumerate(chars):
        if not ch.isalnum():
            continue
        low = ch.lower()
        cls[cp] = _CJK if is_cjk(ch) else _WORD
        if (len(low) != 1 or ch == "\u03a3" or cp in composes_after or unicodedata.combining(ch)
                or unicodedata.normalize("NFKC", ch) != ch or not low.isalnum() or is_cjk(low) != is_cjk(ch)):
            cls[cp] = _SLOW  # U+03A3 Sigma: lower() depends on the next character (final sigma)
    cls[0xD800:0xE000] = _SLOW  # surrogates: a character outside the BMP, or a lone surrogate
    cls.setflags(write=False)
    return cls


@functools.cache
def _powers(base: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(base**j, base**-j) mod 2**64 for j < size, uint64; cached per power-of-two size."""
    powers = np.full(size, base, dtype=np.uint64)
    powers[0] = 1
    pow_b = np.cumprod(powers)
    powers.fill(pow(base, -1, 1 << 64))
    powers[0] = 1
    inv_b = np.cumprod(powers)
    pow_b.setflags(write=False)
    inv_b.setflags(write=False)
    return pow_b, inv_b


def _horner(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int) -> np.ndarray:
    """Horner hash ``sum(v_j * base**(e-1-j) for j in [s, e))`` mod 2**64 of every segment ``[s, e)``.

    With prefix sums ``P_i = sum(v_j * base**-j for j <= i)`` (``base`` is odd, hence invertible
    mod 2**64) a segment's hash is ``(P_{e-1} - P_{s-1}) * base**(e-1)``: three passes over
    ``values`` and three gathers, whatever the segment lengths. uint64 arithmetic wraps mod 2**64.
    ``starts`` must be ascending. Inputs longer than ``_HORNER_BLOCK`` (one huge document) are done
    block by block, so the scratch arrays and power tables stay block-sized: linear time, and memory
    a few bytes per value instead of ~40.
    """
    if values.size <= 2 * _HORNER_BLOCK:
        return _horner_span(values, starts, ends, base)
    out = np.empty(starts.size, dtype=np.uint64)
    lengths = ends - starts
    short = np.flatnonzero(lengths <= _HORNER_BLOCK)
    # Short segments, grouped by the block their start falls in: each group spans < 2 blocks.
    edges = np.searchsorted(starts[short], np.arange(0, values.size + _HORNER_BLOCK, _HORNER_BLOCK))
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if a == b:
            continue
        sel = short[a:b]
        lo, hi = int(starts[sel[0]]), int(ends[sel].max())
        out[sel] = _horner_span(values[lo:hi].astype(np.uint64), starts[sel] - lo, ends[sel] - lo, base)
    for i in np.flatnonzero(lengths > _HORNER_BLOCK).tolist():  # a giant token: chain its blocks
        acc = 0
        for lo in range(int(starts[i]), int(ends[i]), _HORNER_BLOCK):
            hi = min(lo + _HORNER_BLOCK, int(ends[i]))
            part = int(_horner_span(values[lo:hi].astype(np.uint64), np.zeros(1, np.intp),
                                    np.array([hi - lo]), base)[0])
            acc = (acc * pow(base, hi - lo, 1 << 64) + part) & _MASK64
        out[i] = acc
    return out


def _horner_span(values: np.ndarray, starts: np.ndarray, ends: np.ndarray, base: int) -> np.ndarray:
    """``_horner`` in one pass over ``values`` (cached power tables of the next power-of-two size)."""
    pow_b, inv_b = _powers(base, 1 << max(int(values.size - 1).bit_length(), 10))
    prefix = np.cumsum(values.astype(np.uint64, copy=False) * inv_b[: values.size])
    last = ends - 1
    before = prefix[starts - 1]
    before[starts == 0] = 0  # index -1 wrapped to the last element
    return (prefix[last] - before) * pow_b[last]


def _hash_group(texts: list[str], ngram_cjk: int, ngram_words: int) -> ShingleBatch:
    """Shingle hashes of a group of raw texts: the table path, with ``normalize`` for SLOW documents."""
    n_docs = len(texts)
    cls_table = _char_tables()
    joined = " ".join(texts)
    if joined.isascii():  # English and code: one byte per character, no CJK, nothing SLOW
        units = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
        lowered = np.frombuffer(joined.lower().encode("ascii"), dtype=np.uint8)
        return _hash_classes(lowered, np.take(cls_table[:128], units), [len(t) + 1 for t in texts],
                             ngram_cjk, ngram_words, has_cjk=False)
    units = np.frombuffer(joined.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    cls = np.take(cls_table, units)
    slow = np.flatnonzero(cls == _SLOW)
    if slow.size:
        if units.size == len(joined):
            char_lengths = [len(t) + 1 for t in texts]
        else:  # characters outside the BMP take two UTF-16 units
            char_lengths = [len(t.encode("utf-16-le", "surrogatepass")) // 2 + 1 for t in texts]
        doc_starts = np.cumsum(char_lengths) - char_lengths
        slow_docs = np.unique(np.searchsorted(doc_starts, slow, side="right") - 1)
        fast_docs = np.setdiff1d(np.arange(n_docs), slow_docs)
        fast = _hash_group([texts[d] for d in fast_docs], ngram_cjk, ngram_words)
        normalized = _hash_normalized([normalize(texts[d]) for d in slow_docs], ngram_cjk, ngram_words)
        return _interleave(n_docs, [(fast_docs, fast), (slow_docs, normalized)])
    # No SLOW character: str.lower() is one code point per code point here and equals the table.
    lowered = np.frombuffer(joined.lower().encode("utf-16-le"), dtype=np.uint16)
    return _hash_classes(lowered, cls, [len(t) + 1 for t in texts], ngram_cjk, ngram_words)


def _interleave(n_docs: int, parts: Sequence[tuple[np.ndarray, ShingleBatch]]) -> ShingleBatch:
    """Merge batches of disjoint document subsets (``docs`` ascending) back into document order."""
    counts = np.zeros(n_docs, dtype=np.int64)
    for docs, part in parts:
        counts[docs] = part.lengths
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.empty(int(offsets[-1]), dtype=np.uint32)
    for docs, part in parts:
        shift = np.repeat(offsets[docs] - part.offsets[:-1], part.lengths)
        hashes[np.arange(part.hashes.size) + shift] = part.hashes
    return ShingleBatch(hashes=hashes, offsets=offsets)


def _hash_classes(
    units: np.ndarray, cls: np.ndarray, char_lengths: list[int], ngram_cjk: int, ngram_words: int,
    *, has_cjk: bool = True,
) -> ShingleBatch:
    """The numpy core of the table path: ``units`` (C,) uint16 lower-cased code points of the joined
    group, ``cls`` their classes (no SLOW), ``char_lengths`` each document's length plus its separator."""
    n_docs = len(char_lengths)
    empty = ShingleBatch(hashes=np.zeros(0, np.uint32), offsets=np.zeros(n_docs + 1, np.int64))
    if units.size == 0:
        return empty
    is_word = np.zeros(units.size + 2, dtype=bool)
    is_word[1:-1] = cls == _WORD
    # Word runs: positions where is_word flips, alternately a run's start and its end (exclusive).
    flips = np.flatnonzero(is_word[1:] != is_word[:-1])
    word_starts, word_ends = flips[0::2], flips[1::2]
    # Token boundaries in text order: every CJK character is a token, every word run is a token.
    if has_cjk:
        is_cjk = cls == _CJK
        marks = is_cjk.copy()
        marks[word_starts] = True
        starts = np.flatnonzero(marks)
        tok_cjk = is_cjk[starts]
    else:
        starts = word_starts
        tok_cjk = np.zeros(starts.size, dtype=bool)
    n_tok = starts.size
    if n_tok == 0:
        return empty
    # Token hash: Horner over the token's code points (a CJK token is one character, hashing to its
    # code point); the prefix sums run over all characters, separators included, and are cut per token.
    lengths = word_ends - word_starts
    tok = units[starts].astype(np.uint64)
    if (lengths > 1).any():
        word_hash = _horner(units, word_starts, word_ends, TOKEN_BASE)
        if has_cjk:
            tok[np.flatnonzero(~tok_cjk)] = word_hash
        else:
            tok = word_hash

    # Runs of one script inside one document; a document starts a run at its first token.
    doc_starts = np.cumsum(char_lengths) - char_lengths
    first_tok = np.searchsorted(starts, doc_starts)
    new_run = np.empty(n_tok, dtype=bool)
    new_run[0] = True
    np.not_equal(tok_cjk[1:], tok_cjk[:-1], out=new_run[1:])
    new_run[first_tok[first_tok < n_tok]] = True
    run_starts = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run_starts, n_tok))
    n = np.where(tok_cjk[run_starts], ngram_cjk, ngram_words)
    # A run of length L >= n gives L - n + 1 shingles of n tokens; a shorter run one shingle of L.
    width = np.minimum(n, run_len)
    count = run_len - width + 1
    before = np.zeros(run_starts.size + 1, dtype=np.int64)  # shingles of the runs before each run
    np.cumsum(count, out=before[1:])
    total = int(before[-1])
    hashes = np.empty(total, dtype=np.uint32)
    # Shingles in blocks of _HORNER_BLOCK (one block for any ordinary group): the int64 and uint64
    # temporaries stay block-sized even when one huge document is a single run of millions of tokens.
    for q0 in range(0, total, _HORNER_BLOCK):
        q1 = min(q0 + _HORNER_BLOCK, total)
        r0 = int(np.searchsorted(before, q0, side="right")) - 1
        r1 = int(np.searchsorted(before, q1, side="left"))
        spans = np.diff(np.clip(before[r0 : r1 + 1], q0, q1))
        first = np.repeat(run_starts[r0:r1] - before[r0:r1], spans) + np.arange(q0, q1)
        ends = first + np.repeat(width[r0:r1], spans)
        lo, hi = int(first[0]), int(ends.max())
        acc = _horner(tok[lo:hi], first - lo, ends - lo, SHINGLE_BASE)
        hashes[q0:q1] = fmix64(acc) >> np.uint64(32)
    offsets = np.empty(n_docs + 1, dtype=np.int64)
    # A document's runs start at or after its first token, so its first shingle's number is the
    # count of shingles in the runs before that token.
    offsets[:-1] = before[np.searchsorted(run_starts, first_tok)]
    offsets[-1] = total
    return ShingleBatch(hashes=hashes, offsets=offsets)


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

    tok = _horner(cp, starts, ends, TOKEN_BASE)

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

    acc = _horner(tok, first, first + width, SHINGLE_BASE)
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
