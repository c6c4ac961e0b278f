"""Gopher quality and repetition rules for English (Rae et al. 2021, "Scaling Language Models", App. A).

Thresholds default to the paper's values (as also used by datatrove's GopherQualityFilter and
GopherRepetitionFilter). Words are whitespace tokens, as in the paper; the repetition helpers are shared
with the Chinese rules, which feed them characters instead of words.
"""

from __future__ import annotations

import functools
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, compress, islice
from operator import methodcaller
from typing import Any, ClassVar, NamedTuple

import numpy as np

from corpus.filters.base import Filter, Scores, Verdict, _arrow_strings, first_violation, re2_class
from corpus.filters.lines import ends_sentence, is_complete_entry
from corpus.filters.view import LETTER, TextView

GOPHER_SHORT_DOC = "gopher_short_doc"
GOPHER_LONG_DOC = "gopher_long_doc"
GOPHER_SHORT_WORDS = "gopher_short_words"
GOPHER_LONG_WORDS = "gopher_long_words"
GOPHER_SYMBOLS = "gopher_symbol_ratio"
GOPHER_BULLETS = "gopher_bullet_lines"
GOPHER_ELLIPSIS = "gopher_ellipsis_lines"
GOPHER_NON_ALPHA = "gopher_non_alpha_words"
GOPHER_STOP_WORDS = "gopher_few_stop_words"
GOPHER_DUP_LINES = "gopher_dup_lines"
GOPHER_DUP_PARAGRAPHS = "gopher_dup_paragraphs"
GOPHER_DUP_LINE_CHARS = "gopher_dup_line_chars"
GOPHER_DUP_PARAGRAPH_CHARS = "gopher_dup_paragraph_chars"
GOPHER_TOP_NGRAM = "gopher_top_ngram"
GOPHER_DUP_NGRAM = "gopher_dup_ngram"

# The paper's stop words ("the, be, to, of, and, that, have, with"); Gopher requires two of them.
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "●", "○", "■", "□", "▪", "►", "-", "*", "‣", "⁃", "◦")
ELLIPSES = ("...", "…", ". . .")
# Whole whitespace tokens (str.split's words: \s is str.isspace here too) without an alphabetic
# character ([^\W\d_]), and tokens that are a stop word inside .,;:!?"'() (what strip leaves). Each
# regex starts at the whitespace before a token, so the engine skips to whitespace characters instead
# of testing a lookbehind at every position (1.5x faster); the first token, with no whitespace before
# it, is tried once with ``match``. Texts of BMP characters count alphabetic words from the view's
# character bits instead (3.5-4x faster than the regex on 4-12 KB pages).
_NON_ALPHA_CHARS = r"(?:[^\w\s]|[\d_])+(?!\S)"
_NON_ALPHA_WORD = re.compile(r"\s" + _NON_ALPHA_CHARS)
_NON_ALPHA_FIRST = re.compile(_NON_ALPHA_CHARS)
_STOP_CHARS = r"[.,;:!?\"'()]*(?:" + "|".join(sorted(STOP_WORDS)) + r")[.,;:!?\"'()]*(?!\S)"
_STOP_WORD = re.compile(r"\s" + _STOP_CHARS)
_STOP_FIRST = re.compile(_STOP_CHARS)


def alpha_words(view: TextView) -> int:
    r"""Whitespace tokens of the text holding at least one alphabetic character ([^\W\d_]).

    From the character bits: drop every character that is neither a letter nor whitespace; a token
    with a letter is then a run of letters, counted by its first letter (one not after a letter).
    Worked example: "a1 22 b-c" keeps "a", " ", " ", "bc" (as letter, space, space, letter, letter):
    two runs, two alphabetic words of three.
    """
    bits = view.bits
    if bits is None:
        return len(view.words) - len(_NON_ALPHA_WORD.findall(view.text)) - \
            (_NON_ALPHA_FIRST.match(view.text) is not None)
    letters = bits[bits != 0] == LETTER  # SPACE and LETTER are exclusive
    return int(np.count_nonzero(letters[1:] > letters[:-1])) + bool(letters[:1].any())


def stop_words(lower: str) -> int:
    """Whitespace tokens of ``lower`` (lower-cased text) that are a stop word inside .,;:!?"'() marks."""
    return len(_STOP_WORD.findall(lower)) + (_STOP_FIRST.match(lower) is not None)


_CHECK_PIECE = 1 << 14  # code points a piece of _arrow_splits_as_python's check


@functools.lru_cache(maxsize=1)
def _arrow_splits_as_python() -> bool:
    """Whether pyarrow's ``utf8_split_whitespace`` splits on the very characters ``str.split`` does (it
    does in pyarrow 26: both are Python's 29 whitespace characters, \x1c-\x1f, U+0085 and U+3000
    included), checked once on every code point between letters: a character one of them takes for
    whitespace and the other not gives different tokens. ~80 ms. In pieces of 2**14 code points: the
    whole range at once made 2 x 1.1 M token strings, ~60 MiB of peak RSS in every filter worker
    (benchmarks/RESULTS.md, #20 session 8, lead); each piece ends in a letter, so no whitespace character
    ends pyarrow's buffer (see arrow_words)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for start in range(0, 0x110000, _CHECK_PIECE):
        codes = np.arange(start, min(start + _CHECK_PIECE, 0x110000), dtype="<u4")
        codes = codes[(codes < 0xD800) | (codes > 0xDFFF)]  # surrogates are no characters
        text = "a".join(codes.tobytes().decode("utf-32-le")) + "a"
        arrow = pc.utf8_split_whitespace(pa.array([text])).flatten().to_pylist()
        if [token for token in arrow if token] != text.split():
            return False
    return True


_SENTINEL = "xxxx"  # ASCII, as long as the longest UTF-8 character


class ArrowWords(NamedTuple):
    """The whitespace tokens of a batch of texts (``str.split`` of each) as one pyarrow string array."""

    tokens: Any  # every text's tokens, in order (pyarrow StringArray)
    token_chars: np.ndarray  # characters of each token (int64)
    counts: np.ndarray  # tokens of each text (int64)
    read: list[bool] | None  # None, or which texts were read (False: a lone surrogate: take str.split)


def arrow_words(texts: Sequence[str]) -> ArrowWords | None:
    """``[text.split() for text in texts]`` in pyarrow: one ``utf8_split_whitespace`` over the batch, the
    empty tokens it gives where a text starts or ends with whitespace dropped. None when pyarrow's
    whitespace is not Python's (:func:`_arrow_splits_as_python`). The count, length and stop-word passes
    over these run in C++ for all the batch's words (0.5 KB English texts: str.split and the stop-word regex
    14.8 us, this split and stop_words_many 8.8)."""
    if not texts or not _arrow_splits_as_python():
        return None
    import pyarrow.compute as pc

    # The sentinel ends the array's data: pyarrow 26 reads a multi-byte whitespace character in the last
    # bytes of the data buffer as part of a word (["a\t\u1680"] gives the word "\u1680" when the buffer is
    # full), so no text may end the buffer.
    array, read = _arrow_strings([*texts, _SENTINEL])
    lists = pc.utf8_split_whitespace(array).slice(0, len(texts))
    read = None if read is None else read[:-1]
    tokens = lists.flatten()
    chars = pc.utf8_length(tokens).to_numpy().astype(np.int64)  # code points: len() of a valid string
    kept = chars > 0
    seen = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(kept, out=seen[1:])
    offsets = lists.offsets.to_numpy()
    return ArrowWords(tokens.filter(kept), chars[kept], seen[offsets[1:]] - seen[offsets[:-1]], read)


def _per_text(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of ``values`` (one per token, batch order) per text of ``counts`` tokens (int64)."""
    total = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values, out=total[1:])
    ends = np.cumsum(counts)
    return total[ends] - total[ends - counts]


# The marks stop_words strips from a token (the class around the stop words of _STOP_CHARS), for pyarrow.
_STOP_MARKS = ".,;:!?\"'()"


def stop_words_many(words: ArrowWords) -> np.ndarray:
    """:func:`stop_words` of the lower-cased text of each text of ``words``: its tokens ASCII-lower-cased,
    stripped of ``.,;:!?"'()`` and looked up among the stop words, all in pyarrow.

    The same count: ``lower()`` makes and removes no whitespace, so the tokens of the lower-cased text are
    the lower-cased tokens, and a token is a stop word inside marks after ``lower()`` exactly when it is
    after ASCII lower-casing: both results are ASCII only for an ASCII token (what ``lower()`` maps into
    ASCII besides ASCII letters is the Kelvin sign's k, in no stop word; İ becomes i and a combining dot),
    on which the two agree. Texts not read (``words.read``) must be counted by the caller."""
    import pyarrow as pa
    import pyarrow.compute as pc

    stripped = pc.utf8_trim(pc.ascii_lower(words.tokens), characters=_STOP_MARKS)
    hits = pc.is_in(stripped, value_set=pa.array(sorted(STOP_WORDS))).to_numpy(zero_copy_only=False)
    return _per_text(hits, words.counts)


class Words(NamedTuple):
    """One text's whitespace words (``text.split()``) as :func:`word_table` measures them."""

    count: int
    chars: int  # characters of the words
    stop_words: int  # stop_words() of the lower-cased text
    ids: np.ndarray  # an id per word, equal for equal words (int32; shared by the texts measured together)
    token_chars: np.ndarray  # characters of each word (int64)
    alpha_words: int | None  # alpha_words() of a text under _ALPHA_ARROW_MAX_CHARS characters, else None


_WORDS = ("words",)
# Texts from this length are split in Python (the view's words): their n-grams are measured document by
# document (from _BATCH_MAX_TOKENS words, ~6,000 characters of English), which needs the words as strings,
# so a pyarrow split would be paid twice (Wikipedia articles: pyarrow's words 155 us, str.split 115).
_ARROW_MAX_CHARS = 6000
# Below this length a text's alphabetic words are counted on its pyarrow words (one RE2 test a word, ~50 ns),
# longer ones from the view's character bits, whose numpy passes cost ~5 us a text and less a character
# (0.5 KB English texts 9.1 -> 5.1 us, 4 KB pages 28 -> 33 by RE2).
_ALPHA_ARROW_MAX_CHARS = 1000
_LETTER = r"[^\W\d_]"  # a letter: a word character that is neither a digit nor "_"


def word_table(views: Sequence[TextView]) -> list[Words | None]:
    """:class:`Words` of each view (None: a text of ``_ARROW_MAX_CHARS`` or more, or one pyarrow cannot read),
    those not yet known measured together in pyarrow (:func:`arrow_words`, :func:`stop_words_many`, one
    ``dictionary_encode`` for the ids) and remembered in the views: gopher_quality and gopher_repetition
    share them, and neither splits a short text in Python."""
    todo = [view for view in views if not view.knows(_WORDS) and len(view.text) < _ARROW_MAX_CHARS]
    words = arrow_words([view.text for view in todo])
    if words is not None:
        import pyarrow.compute as pc

        ids = pc.dictionary_encode(words.tokens).indices.to_numpy()
        stops, chars = stop_words_many(words).tolist(), _per_text(words.token_chars, words.counts).tolist()
        short = np.array([len(view.text) < _ALPHA_ARROW_MAX_CHARS for view in todo], dtype=bool)
        alpha = np.full(len(todo), -1, dtype=np.int64)  # -1: counted from the bits
        if short.any():
            # A word holding a letter ([^\W\d_] spelt out for RE2 as Python's re reads it), per short text.
            letters = pc.match_substring_regex(words.tokens.filter(np.repeat(short, words.counts)),
                                               "[" + re2_class(_LETTER) + "]")
            alpha[short] = _per_text(letters.to_numpy(zero_copy_only=False), words.counts[short])
        ends = np.cumsum(words.counts).tolist()
        read = words.read or [True] * len(todo)
        for view, n, c, stop, a, end, ok in zip(todo, words.counts.tolist(), chars, stops, alpha.tolist(), ends,
                                               read, strict=True):
            record = Words(n, c, stop, ids[end - n : end], words.token_chars[end - n : end],
                           None if a < 0 else a) if ok else None
            view.memo(_WORDS, lambda record=record: record)
    return [view.memo(_WORDS, lambda: None) for view in views]


def duplicate_fractions(elements: Sequence[str]) -> tuple[float, float]:
    """Share of ``elements`` that repeat an earlier one, by count and by characters.

    Worked example: lines ``a, b, a`` → 1 of 3 lines is a repeat (0.33); by chars 1/3 too.
    """
    seen: set[str] = set()
    dup_count = dup_chars = total_chars = 0
    for element in elements:
        total_chars += len(element)
        if element in seen:
            dup_count += 1
            dup_chars += len(element)
        else:
            seen.add(element)
    n = len(elements)
    return (dup_count / n if n else 0.0, dup_chars / total_chars if total_chars else 0.0)


def _ngram_keys(tokens: str | Sequence[str], starts: Sequence[int] | None, n: int) -> list:
    """One hashable key per n-gram starting at ``starts`` (all starts if None): substrings of a
    character string, tuples of words. Two keys are equal exactly when the joined n-grams are (words
    hold no whitespace). Built with ``map`` over slices: no Python bytecode per position."""
    if starts is None:
        if not isinstance(tokens, str):
            return list(zip(*(islice(tokens, k, None) for k in range(n)), strict=False))  # shifted: shorter
        starts = range(len(tokens) - n + 1)
    grams = map(tokens.__getitem__, map(slice, starts, map(n.__add__, starts)))
    return list(grams if isinstance(tokens, str) else map(tuple, grams))


def _token_ids(tokens: str | Sequence[str]) -> tuple[np.ndarray, int]:
    """Integer ids of ``tokens`` (code points of a string; for words, the index of the word's first
    occurrence) and a bound above every id."""
    if isinstance(tokens, str):
        return np.frombuffer(tokens.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64), 0x110000
    index: dict[str, int] = {}
    return np.fromiter(map(index.setdefault, tokens, range(len(tokens))), dtype=np.int64, count=len(tokens)), \
        max(len(tokens), 1)


def _dup_chars(starts: Sequence[int], keys: Sequence, n: int, span) -> int:
    """Characters in n-grams seen before, scanning left to right and skipping each repeat's span.

    ``starts`` (increasing) and ``keys`` cover at least every start whose n-gram occurs twice: the
    other starts hold n-grams that occur once, so they are never a repeat and never met again.
    """
    return sum(span(i, n) for i in _repeats(starts, keys, n))


def _repeats(starts: Sequence[int], keys: Sequence, n: int) -> list[int]:
    """The starts :func:`_dup_chars` counts: those whose n-gram was seen before, outside a counted span.

    Several documents may be scanned in one call when their keys differ and no n-gram crosses into the
    next document's starts (a skip then ends at the latest where the next document begins).
    """
    seen: set = set()
    hits: list[int] = []
    after = 0
    for i, key in zip(starts, keys, strict=True):
        if i < after:
            continue
        if key in seen:
            hits.append(i)
            after = i + n  # skip the repeated span so overlapping repeats are not counted twice
        else:
            seen.add(key)
            after = i + 1
    return hits


# Sizes up to this are counted with numpy over integer n-gram ids (sorting beats hashing substrings);
# larger sizes only look at the few starts whose shorter n-gram repeats, with Python sets. Texts whose
# tokens fit in 16 bits (every BMP string, fewer than 65,535 words) take the packed path below at any
# length: one np.sort for sizes 2-4 beats Counter over slices even at 90 words or 190 characters
# (benchmarks/RESULTS.md, #20 session 3). The others take np.unique from these lengths, map/Counter
# below them, where numpy's per-call cost lost (128-192 characters 83 vs 72 us, 192-300 characters 122
# vs 145 us; ~90 words 113 vs 76 us).
_NUMPY_MAX_N = 4
_NUMPY_MIN_CHARS = 180
_NUMPY_MIN_WORDS = 256


# Four 16-bit token ids pack into one uint64, the first token in the high bits, so one sort of the
# 4-gram keys also sorts the 2- and 3-grams: an n-gram is the key's top 16*n bits. 0xFFFF pads the keys of the last three starts and is no token's id, so a padded prefix
# occurs once and is never counted as a repeat.
_PAD = 0xFFFF


def _packed_keys(tokens: str | Sequence[str]) -> np.ndarray | None:
    """Per start of ``tokens``, the packed key of the four tokens from there (uint64); None when the
    16-bit ids do not fit (astral characters, a U+FFFF, 65,535 words or more).

    Ids are the code points of a string of BMP characters, for words the index of the word's first
    occurrence. The ids, big-endian and followed by three 0xFFFF, are read as big-endian uint64 at every
    second byte: the key of start i is ids i..i+3 with id i in the high bits, made in one numpy call
    instead of seven shifts and ors.
    """
    units = _packed_units(tokens)
    if units is None:
        return None
    return np.ndarray((len(tokens),), dtype=">u8", buffer=units, strides=(2,)).astype(np.uint64)


def _packed_units(tokens: str | Sequence[str]) -> bytes | None:
    """The 16-bit ids of :func:`_packed_keys`, big-endian, and the three 0xFFFF after them; None when
    they do not fit."""
    m = len(tokens)
    if isinstance(tokens, str):
        if "\uffff" in tokens:
            return None
        units = (tokens + "\uffff\uffff\uffff").encode("utf-16-be", "surrogatepass")
        return units if len(units) == 2 * (m + 3) else None
    if m >= _PAD:
        return None
    index: dict[str, int] = {}
    return np.fromiter(map(index.setdefault, tokens, range(m)), dtype=">u2", count=m).tobytes() + b"\xff" * 6


def _packed_levels(key: np.ndarray, words: bool, n_max: int, top_ns: Sequence[int], dup_ns: Sequence[int],
                   span, top, found: Scores, total: int) -> tuple[list[int], np.ndarray]:
    """The measures of sizes 2..``n_max`` (<= 4) from one sort of the packed keys (:func:`_packed_keys`),
    into ``found``; returns the starts (increasing) whose ``n_max``-gram occurs more than once, and ``key``.

    In the sorted keys an n-gram's occurrences are one run; two neighbours share their first n tokens
    when their XOR is below 2**(16*(4-n)). Worked example, tokens ``a b a b`` (ids 1 2 1 2): keys
    ``1 2 1 2 | 2 1 2 P | 1 2 P P | 2 P P P``; sorted, the 2-gram runs are ``[1 2 1 2, 1 2 P P]`` and
    ``[2 1 2 P]``, ``[2 P P P]`` (``2 P`` is no 2-gram): "a b" occurs twice.
    """
    m = len(key)
    # argsort, not np.sort (2-4x slower alone): the starts of the repeated n-grams are the permutation's
    # entries at sorted positions in runs of two or more, where with np.sort they took a searchsorted of
    # every start's n-gram among the repeated ones (800 characters: 42 -> 15 us; 190: 12 -> 7 us).
    order = np.argsort(key)
    ordered = key[order]
    xor = ordered[1:] ^ ordered[:-1]
    new = np.ones(m + 1, dtype=bool)  # new[i]: a new n-gram run starts at sorted position i (and at m)
    starts: list[int] = []
    for n in range(2, n_max + 1):
        shift = np.uint64(16 * (4 - n))
        np.greater_equal(xor, np.uint64(1) << shift, out=new[1:m])
        bounds = np.flatnonzero(new)
        first, counts = bounds[:-1], bounds[1:] - bounds[:-1]
        best = int(counts.max())
        if best < 2:
            return [], key  # no n-gram repeats, so no longer one does: the rest are 0 (filled in by the caller)
        grams = key >> shift if words or n in dup_ns else None  # each start's n-gram
        if n in top_ns:
            chars = n
            if words:
                # The first-seen of the most frequent n-grams, as Counter.most_common(1) picks it: the
                # first start holding one of them (characters: every n-gram spans n).
                best_grams = ordered[first[counts == best]] >> shift  # sorted
                holds = grams == best_grams[0] if len(best_grams) == 1 else _members(grams, best_grams)
                chars = span(int(holds.argmax()), n)
            found[f"top_{n}gram_frac"] = top(best, chars)
        if n in dup_ns or n == n_max:
            # A sorted position is in a run of two or more unless a run starts both there and after it.
            starts_n = np.sort(order[~(new[:m] & new[1:])])
            starts = starts_n.tolist()
            if n in dup_ns:
                found[f"dup_{n}gram_frac"] = _dup_chars(starts, grams[starts_n].tolist(), n, span) / total \
                    if total else 0.0
    return starts, key


# From this many surviving starts a size above 4 is counted with numpy over the packed 4-gram keys
# (lexsort of a few columns) rather than Counter over substrings or word tuples; below it numpy's
# per-call cost loses. Pages with long repeated passages keep hundreds of starts through every size.
_NUMPY_MIN_STARTS = 64


def _packed_survivors(key: np.ndarray, starts: list[int], n: int, top_ns: Sequence[int], dup_ns: Sequence[int],
                      span, top, found: Scores, total: int) -> list[int]:
    """Size ``n`` > 4 over ``starts`` (increasing, every start of a repeated shorter n-gram, none past
    m - n) into ``found``; returns the starts whose n-gram occurs more than once.

    An n-gram is the tuple of the 4-gram keys at offsets 0, 4, 8, ... and n - 4 (windows of 4 tokens
    that cover its n tokens): equal n-grams have equal tuples and unequal ones differ in some window.
    """
    at = np.array(starts, dtype=np.int64)
    columns = [key[at + offset] for offset in (*range(0, n - 4, 4), n - 4)]
    order = np.lexsort(columns[::-1])  # stable: equal n-grams stay in start order
    changed = np.zeros(len(at) - 1, dtype=bool)
    for column in columns:
        ordered = column[order]
        changed |= ordered[1:] != ordered[:-1]
    bounds = np.flatnonzero(np.concatenate(([True], changed, [True])))
    counts = np.diff(bounds)
    if n in top_ns:
        best = int(counts.max())
        # The first-seen of the most frequent n-grams (Counter.most_common(1)): runs are in start order.
        first = int(at[order[bounds[:-1]]][counts == best].min())
        found[f"top_{n}gram_frac"] = top(best, span(first, n))
    run = np.empty(len(at), dtype=np.int64)
    run[order] = np.repeat(np.arange(len(counts)), counts)  # each start's n-gram, as a number
    repeated = counts[run] > 1
    kept = at[repeated].tolist()
    if n in dup_ns:
        found[f"dup_{n}gram_frac"] = _dup_chars(kept, run[repeated].tolist(), n, span) / total if total else 0.0
    return kept


def _members(values: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Per element of ``values``: is it in ``sorted_set`` (non-empty, increasing)."""
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return sorted_set[at] == values


def ngram_fractions(tokens: str | Sequence[str], top_ns: Sequence[int], dup_ns: Sequence[int]) -> Scores:
    """Gopher's n-gram repetition measures over ``tokens`` (a string of characters, or whitespace-free words).

    ``top_<n>gram_frac``: characters covered by the most frequent n-gram (count x its characters; the
    first-seen of equally frequent ones) over all token characters, 0 unless it occurs twice, at most 1.
    ``dup_<n>gram_frac``: characters in n-grams that occurred before, over all characters; scanning left
    to right, a repeated n-gram's span is skipped so overlapping repeats count once (as in Gopher).

    Sizes 2..4 come from one np.sort of packed 16-bit token ids (:func:`_packed_levels`), or, when the
    ids do not fit, from integer ids with np.unique: the id of an n-gram is the rank of (id of its
    (n-1)-gram prefix, id of its last token), which also gives each n-gram's count and first start.
    Larger sizes look only at the starts whose shorter n-gram repeats: an n-gram that occurs twice has a
    prefix that occurs twice, so every other start holds an n-gram that occurs once and can be neither
    the most frequent nor a repeat. On ordinary text few starts survive; many survive on repetitive
    pages, and those take numpy too (:func:`_packed_survivors`).
    """
    words = not isinstance(tokens, str)
    m = len(tokens)
    cum = list(accumulate(map(len, tokens), initial=0)) if words else None
    total = cum[-1] if words else m

    def span(i: int, n: int) -> int:
        return cum[i + n] - cum[i] if words else n

    def top(count: int, chars: int) -> float:
        return min(1.0, count * chars / total) if count >= 2 and total else 0.0

    found: Scores = {}
    sizes = sorted(set(top_ns) | set(dup_ns))
    starts: list[int] | None = None  # None: every start
    n_numpy = min(_NUMPY_MAX_N, sizes[-1]) if sizes and sizes[0] >= 2 else 1
    packed = _packed_keys(tokens) if n_numpy >= 2 and m else None
    if packed is None and m < (_NUMPY_MIN_WORDS if words else _NUMPY_MIN_CHARS):
        n_numpy = 1
    packed_keys = None
    if packed is not None:
        starts, packed_keys = _packed_levels(packed, words, n_numpy, top_ns, dup_ns, span, top, found, total)
    elif n_numpy >= 2:
        ids, bound = _token_ids(tokens)
        prefix = ids
        for n in range(2, n_numpy + 1):
            if m < n:
                starts = []
                break
            # prefix ids are < max(m, bound) and last-token ids < bound: the product fits in int64.
            key = prefix[:-1] * bound + ids[n - 1 :]
            _, first, prefix, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
            repeats = counts[prefix] > 1
            starts = np.flatnonzero(repeats).tolist()
            if n in top_ns:
                best = int(counts.max())
                # The first-seen of the most frequent n-grams, as Counter.most_common(1) picks it.
                found[f"top_{n}gram_frac"] = top(best, span(int(first[counts == best].min()), n))
            if n in dup_ns:
                found[f"dup_{n}gram_frac"] = _dup_chars(starts, prefix[repeats].tolist(), n, span) / total \
                    if total else 0.0
            bound = max(bound, m)
    for n in sizes:
        if n <= n_numpy:
            continue
        if starts == []:
            break  # no shorter n-gram repeats, so no longer one does: the rest are 0 (filled in below)
        if starts is not None:  # sorted: cut the starts too close to the end for an n-gram
            starts = starts[: bisect_right(starts, m - n)]
        if packed_keys is not None and n_numpy == 4 and len(starts) >= _NUMPY_MIN_STARTS:
            starts = _packed_survivors(packed_keys, starts, n, top_ns, dup_ns, span, top, found, total)
            continue
        keys = _ngram_keys(tokens, starts, n) if m >= n else []
        counts = Counter(keys)
        if n in top_ns:
            found[f"top_{n}gram_frac"] = 0.0
            if keys:
                # most_common(1) is the first-inserted of the largest counts: the first seen n-gram,
                # as over all starts, since the kept starts hold every occurrence of a repeated n-gram.
                gram, count = counts.most_common(1)[0]
                found[f"top_{n}gram_frac"] = top(count, sum(map(len, gram)) if words else n)
        repeats = list(map((1).__lt__, map(counts.__getitem__, keys)))  # count > 1, per start
        starts = list(compress(range(len(keys)) if starts is None else starts, repeats))
        if n in dup_ns:
            found[f"dup_{n}gram_frac"] = _dup_chars(starts, list(compress(keys, repeats)), n, span) / total \
                if total else 0.0
    for n in sizes:  # sizes longer than the text
        found.setdefault(f"top_{n}gram_frac", 0.0)
        found.setdefault(f"dup_{n}gram_frac", 0.0)
    # The scores in the order the sizes are configured, as they were stored before.
    return {**{f"top_{n}gram_frac": found[f"top_{n}gram_frac"] for n in top_ns},
            **{f"dup_{n}gram_frac": found[f"dup_{n}gram_frac"] for n in dup_ns}}


# Documents of fewer tokens than this are measured together by ngram_fractions_many, longer ones alone:
# the batch saves numpy's per-call cost, which is most of the work on short documents only, and a batch
# sort over long documents cost more than their own sorts (us per document, all together / from 1,000
# tokens alone: dev zh pages 165 / 121, Wikipedia articles 399 / 330; 300-2,000 within a few us).
_BATCH_MAX_TOKENS = 1000


def ngram_fractions_many(token_lists: Sequence[str | Sequence[str]], top_ns: Sequence[int],
                         dup_ns: Sequence[int]) -> list[Scores]:
    """``[ngram_fractions(tokens, top_ns, dup_ns) for tokens in token_lists]``, every size for the whole
    batch at once.

    On a 0.5 KB document each size of :func:`ngram_fractions` is a handful of numpy calls on ~200 keys,
    so the per-call cost (~1 us) is most of the work. Here the packed keys of every document that takes
    the packed path (:func:`_packed_units`) are concatenated and sorted by key and then, stably, by
    document: each document's n-grams are runs of the sorted batch, which also break where the document
    changes. Counts, the most frequent n-gram and the repeated starts of every document come from a few
    calls on the batch; sizes above 4 are one sort of the batch's surviving starts, each numbered by
    two run numbers of a smaller size (:func:`_batch_survivors`). The other documents take
    :func:`ngram_fractions` itself.
    """
    sizes = sorted(set(top_ns) | set(dup_ns))
    n_max = min(_NUMPY_MAX_N, sizes[-1]) if sizes and sizes[0] >= 2 else 1
    if not token_lists or (n_max < 4 and sizes and sizes[-1] > n_max):
        # Sizes above 2-3 without 4-gram keys to build them from: no batch path, each document on its own.
        return [ngram_fractions(tokens, top_ns, dup_ns) for tokens in token_lists]
    words = not isinstance(token_lists[0], str)
    results: list[Scores | None] = [None] * len(token_lists)
    units: list[bytes] = []
    batch: list[int] = []  # positions in token_lists of the documents taken together
    for i, tokens in enumerate(token_lists):
        packed = _packed_units(tokens) if n_max >= 2 and 0 < len(tokens) < _BATCH_MAX_TOKENS and \
            isinstance(tokens, str) != words else None
        if packed is None:
            results[i] = ngram_fractions(tokens, top_ns, dup_ns)
        else:
            units.append(packed)
            batch.append(i)
    if not batch:
        return results  # type: ignore[return-value]
    lengths = np.array([len(token_lists[i]) for i in batch], dtype=np.int64)
    token_chars = np.fromiter(map(len, chain.from_iterable(token_lists[i] for i in batch)), dtype=np.int64,
                              count=int(lengths.sum())) if words else None
    for i, found in zip(batch, _batch_fractions(b"".join(units), lengths, token_chars, top_ns, dup_ns), strict=True):
        results[i] = found
    return results  # type: ignore[return-value]


def word_ngram_fractions_many(views: Sequence[TextView], top_ns: Sequence[int], dup_ns: Sequence[int]) -> list[Scores]:
    """``ngram_fractions_many([view.words for view in views], top_ns, dup_ns)`` with the words' ids from
    pyarrow (:func:`word_table`: the batch's words dictionary-encoded in one C++ pass), where a dict lookup
    a word and a few calls a document gave each document its ids (0.5 KB English texts: str.split and those
    ids 12.5 us, the pyarrow split and dictionary_encode 4.6). Any id works that is equal for equal words of one document; these fit the 16 bits of
    the packed keys while the texts measured together had fewer than 65,535 distinct words (else, and for
    documents of no or _BATCH_MAX_TOKENS+ words or without :class:`Words`, the views' own words)."""
    sizes = sorted(set(top_ns) | set(dup_ns))
    if not views or not sizes or sizes[0] < 2 or sizes[-1] < 4:
        return ngram_fractions_many([view.words for view in views], top_ns, dup_ns)
    records = word_table(views)
    together = [record is not None and 0 < record.count < _BATCH_MAX_TOKENS for record in records]
    taken = [record for record, joined in zip(records, together, strict=True) if joined]
    ids = np.concatenate([record.ids for record in taken]) if taken else np.zeros(0, dtype=np.int32)
    if not taken or ids.max() >= _PAD:
        return ngram_fractions_many([view.words for view in views], top_ns, dup_ns)
    lengths = np.array([record.count for record in taken], dtype=np.int64)
    # The ids big-endian, each document's followed by three 0xFFFF pads, as _packed_units writes them.
    padded = np.full(len(ids) + 3 * len(lengths), _PAD, dtype=">u2")
    padded[np.arange(len(ids)) + 3 * np.repeat(np.arange(len(lengths)), lengths)] = ids
    token_chars = np.concatenate([record.token_chars for record in taken])
    found = iter(_batch_fractions(padded.tobytes(), lengths, token_chars, top_ns, dup_ns))
    return [next(found) if joined else ngram_fractions(view.words, top_ns, dup_ns)
            for view, joined in zip(views, together, strict=True)]


def _batch_fractions(data: bytes, lengths: np.ndarray, token_chars: np.ndarray | None, top_ns: Sequence[int],
                     dup_ns: Sequence[int]) -> list[Scores]:
    """:func:`ngram_fractions` of each document of a batch (the core of :func:`ngram_fractions_many`, for
    a configuration with 4-gram keys). ``data``: each document's 16-bit token ids, big-endian, each followed
    by three 0xFFFF (:func:`_packed_units`; ids need only be equal for equal tokens of one document);
    ``lengths``: the documents' token counts (int64, each above 0); ``token_chars``: for words, every
    token's characters in batch order, None for characters."""
    sizes = sorted(set(top_ns) | set(dup_ns))
    n_max = min(_NUMPY_MAX_N, sizes[-1])
    words = token_chars is not None
    documents = len(lengths)
    # Every document's ids and three pads, read as uint64 at every second byte (as in _packed_keys); the
    # keys that start at a pad are no document's and are dropped, leaving one key per token. A batch
    # position p is start p - starts_at[d] of document d.
    own = np.ones(len(data) // 2, dtype=bool)
    pads = np.cumsum(lengths + 3) - 3  # the first pad of each document
    own[np.concatenate([pads, pads + 1, pads + 2])] = False
    key = np.ndarray((len(data) // 2 - 3,), dtype=">u8", buffer=data, strides=(2,))[own[:-3]].astype(np.uint64)
    m = len(key)
    starts_at = np.zeros(documents + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts_at[1:])
    # 16-bit document numbers take numpy's radix sort for the stable pass.
    doc = np.repeat(np.arange(documents, dtype=np.uint16 if documents <= 0xFFFF else np.int64), lengths)
    by_key = np.argsort(key)
    order = by_key[np.argsort(doc[by_key], kind="stable")]
    ordered = key[order]
    xor = ordered[1:] ^ ordered[:-1]
    cum = None  # words: characters before each batch position
    if words:
        cum = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(token_chars, out=cum[1:])
        totals = cum[starts_at[1:]] - cum[starts_at[:-1]]
    else:
        totals = lengths
    measures: dict[str, list[float]] = {}  # measure -> its value in each document of the batch
    new = np.zeros(m + 1, dtype=bool)  # new[i]: a run starts at sorted position i (and at m)
    repeated = np.zeros(0, dtype=np.int64)
    for n in range(2, n_max + 1):
        if n < n_max and n not in top_ns and n not in dup_ns:
            continue  # a size is measured from the sorted keys alone: one nobody asks for is skipped
        shift = np.uint64(16 * (4 - n))
        new[:] = False
        new[starts_at] = True  # runs also break where the document changes: its keys end there, sorted
        np.logical_or(new[1:m], xor >= (np.uint64(1) << shift), out=new[1:m])
        bounds = np.flatnonzero(new)
        counts = np.diff(bounds)
        first_run = np.searchsorted(bounds, starts_at[:-1])  # each document's first run
        if n in top_ns:
            best = np.maximum.reduceat(counts, first_run)
            first = None
            if words:
                # The first-seen of the most frequent n-grams (Counter.most_common(1)): the smallest start
                # among the runs of the largest count.
                run_doc = np.repeat(np.arange(documents), np.diff(np.append(first_run, len(counts))))
                first = np.minimum.reduceat(np.where(counts == best[run_doc], np.minimum.reduceat(order, bounds[:-1]),
                                                     m), first_run)
            measures[f"top_{n}gram_frac"] = _top_shares(best, first, n, cum, totals)
        if n in dup_ns or n == n_max:
            # Sorted positions in runs of two or more, back in start order (grouped by document).
            repeated = np.sort(order[~(new[:m] & new[1:])])
            if n == n_max and sizes[-1] > n_max:
                repeated_doc = doc[repeated].astype(np.int64)  # carried to the larger sizes with the starts
                # Each position's run number: equal n-grams of one document share it, and it grows with
                # the document (the runs are sorted by document first). The larger sizes are built from it.
                ranks = np.empty(m, dtype=np.int64)
                # int32: numpy's cumsum of bools into its default int64 ran 2.4x slower (200,000: 1.2 ms).
                ranks[order] = np.cumsum(new[:m], dtype=np.int32) - 1
            if n in dup_ns:  # the n-gram ids are a document's own: one scan per document
                grams = (key >> shift)[repeated].tolist()
                cuts = np.searchsorted(repeated, starts_at).tolist()
                flat, span = repeated.tolist(), _batch_span(cum)
                measures[f"dup_{n}gram_frac"] = [
                    _dup_chars(flat[lo:hi], grams[lo:hi], n, span) / total if total else 0.0
                    for lo, hi, total in zip(cuts[:-1], cuts[1:], totals.tolist(), strict=True)]
    below = n_max  # the size ``ranks`` numbers
    for n in sizes:
        if n > n_max:
            repeated, ranks, repeated_doc = _batch_survivors(ranks, below, repeated, repeated_doc, starts_at, n,
                                                             cum, totals, measures, n in top_ns, n in dup_ns)
            below = n
    # Every measure is in ``measures`` (0 where nothing repeats); the configured order, as ngram_fractions.
    names = [*(f"top_{n}gram_frac" for n in top_ns), *(f"dup_{n}gram_frac" for n in dup_ns)]
    return [dict(zip(names, values, strict=True)) for values in zip(*(measures[name] for name in names), strict=True)]


def _batch_span(cum: np.ndarray | None):
    """``span(i, n)`` of :func:`ngram_fractions` at batch positions: characters of the n-gram at i."""
    if cum is None:
        return lambda i, n: n
    cum_list = cum.tolist()
    return lambda i, n: cum_list[i + n] - cum_list[i]


def _top_shares(best: np.ndarray, first: np.ndarray | None, n: int, cum: np.ndarray | None,
                totals: np.ndarray) -> list[float]:
    """Per document, ``top(best, span(first, n))`` of :func:`ngram_fractions` (``first``: the batch position of
    its first most frequent n-gram, for words): min(1, count * characters / total), 0 below two
    occurrences. Integer products over integer totals, as Python divides them."""
    chars = n if cum is None else cum[np.minimum(first + n, len(cum) - 1)] - cum[first]
    share = np.minimum(1.0, best * chars / np.maximum(totals, 1))
    return np.where((best >= 2) & (totals > 0), share, 0.0).tolist()


def _batch_survivors(ranks: np.ndarray, below: int, starts: np.ndarray, starts_doc: np.ndarray,
                     starts_at: np.ndarray, n: int, cum: np.ndarray | None, totals: np.ndarray,
                     measures: dict[str, list[float]], top: bool, dup: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_packed_survivors` of size ``n`` for every document of a batch at once, into ``measures``.

    ``starts`` are the batch positions (increasing) whose ``below``-gram repeats; ``ranks`` numbers each
    position's ``below``-gram: equal ``below``-grams of one document share a number, which grows with the
    document, and a position whose ``below``-gram occurs once may have a number of its own. An n-gram is
    the tuple of the numbers at offsets 0, ``below``, ... and ``n - below`` (windows that cover its n
    tokens), so equal tuples are equal n-grams of one document and no document column is needed. For
    ``n <= 2 * below`` (every shipped configuration) the tuple is two numbers, packed with the start's index
    into one int64 and sorted with ``np.sort`` (40,000 starts: 0.2 ms, where a lexsort of the 4-gram keys
    and the document took 2.7-4 ms); otherwise a lexsort of the numbers. Returns the positions whose
    n-gram occurs more than once and the numbers of size ``n`` for the next size (positions that were
    no candidate get ``m + position``, their own), and the documents of those positions (``starts_doc``:
    of ``starts``, carried from size to size instead of a search of every start among the documents)."""
    documents, m = len(starts_at) - 1, len(ranks)
    fits = starts <= starts_at[starts_doc + 1] - n  # the n-gram ends inside the document
    at, doc = starts[fits], starts_doc[fits]
    if not len(at):
        for name, wanted in ((f"top_{n}gram_frac", top), (f"dup_{n}gram_frac", dup)):
            if wanted:
                measures[name] = [0.0] * documents
        return at, ranks, doc
    columns = [ranks[at + offset] for offset in (*range(0, n - below, below), n - below)]
    bits = (2 * m).bit_length()  # numbers are below 2m, indexes into ``at`` below m
    if len(columns) == 2 and 3 * bits <= 63:
        # Sorted by (first number, second number, index): equal n-grams stay in start order, as in a
        # stable sort, and the index is the permutation.
        packed = ((columns[0] << bits | columns[1]) << bits) | np.arange(len(at), dtype=np.int64)
        packed.sort()
        order = packed & ((1 << bits) - 1)
        gram = packed >> bits
        changed = gram[1:] != gram[:-1]
    else:
        order = np.lexsort(columns[::-1])  # stable: equal n-grams stay in start order
        changed = np.zeros(len(at) - 1, dtype=bool)
        for column in columns:
            ordered = column[order]
            changed |= ordered[1:] != ordered[:-1]
    run_doc = doc[order]  # non-decreasing: the first number grows with the document
    bounds = np.flatnonzero(np.concatenate(([True], changed, [True])))
    counts = np.diff(bounds)
    if top:
        present = np.flatnonzero(np.bincount(doc, minlength=documents))  # documents with a start left
        run_doc = run_doc[bounds[:-1]]
        first_run = np.searchsorted(run_doc, present)
        best = np.zeros(documents, dtype=np.int64)
        best[present] = np.maximum.reduceat(counts, first_run)
        first = np.zeros(documents, dtype=np.int64)
        # The first-seen of the most frequent n-grams (Counter.most_common(1)): runs are in start order,
        # so a run's first entry is its first start; the smallest of those among the largest counts.
        first[present] = np.minimum.reduceat(np.where(counts == best[run_doc], at[order[bounds[:-1]]], m),
                                             first_run)
        measures[f"top_{n}gram_frac"] = _top_shares(best, first, n, cum, totals)
    run = np.empty(len(at), dtype=np.int64)
    run[order] = np.repeat(np.arange(len(counts)), counts)  # each start's n-gram, as a number
    repeated = counts[run] > 1
    survivors = at[repeated]
    if dup:
        # Run numbers differ between documents, and a counted span ends inside its document: one scan
        # of the whole batch finds every document's repeats.
        hits = np.array(_repeats(survivors.tolist(), run[repeated].tolist(), n), dtype=np.int64)
        chars = np.full(len(hits), n, dtype=np.int64) if cum is None else cum[hits + n] - cum[hits]
        hit_doc = np.searchsorted(starts_at, hits, side="right") - 1
        dup_chars = np.bincount(hit_doc, weights=chars, minlength=documents).astype(np.int64)  # exact: < 2**53
        measures[f"dup_{n}gram_frac"] = np.where(totals > 0, dup_chars / np.maximum(totals, 1), 0.0).tolist()
    numbers = np.arange(m, 2 * m, dtype=np.int64)
    numbers[at] = run  # run numbers are below len(at) <= m
    return survivors, numbers, doc[repeated]


def repetition_scores(view: TextView, tokens: str | Sequence[str] | None, top_ns: Sequence[int],
                      dup_ns: Sequence[int], ngrams: Scores | None = None) -> Scores:
    """Line, paragraph and n-gram repetition scores of a text (``view``) tokenised into ``tokens``;
    ``ngrams``: its :func:`ngram_fractions` when already measured (:func:`ngram_fractions_many`; then
    ``tokens`` is not read and may be None)."""
    dup_lines, dup_line_chars = duplicate_fractions(view.lines)
    dup_paras, dup_para_chars = duplicate_fractions(view.paragraphs)
    return {
        "dup_line_frac": dup_lines,
        "dup_line_char_frac": dup_line_chars,
        "dup_para_frac": dup_paras,
        "dup_para_char_frac": dup_para_chars,
        **(ngram_fractions(tokens, top_ns, dup_ns) if ngrams is None else ngrams),
    }


def ngram_violation(scores: Scores, top: dict[int, float], dup: dict[int, float],
                    top_reason: str, dup_reason: str) -> Verdict | None:
    """The first n-gram bound broken, as a rejecting verdict, or None."""
    return first_ngram_violation(scores, _ngram_rules(tuple(top.items()), tuple(dup.items()), top_reason, dup_reason))


def ngram_rules(top: dict[int, float], dup: dict[int, float], top_reason: str,
                dup_reason: str) -> tuple[tuple[str, float, str], ...]:
    """The ``(score key, bound, reason)`` rules :func:`ngram_violation` checks, in its order."""
    return _ngram_rules(tuple(top.items()), tuple(dup.items()), top_reason, dup_reason)


def first_ngram_violation(scores: Scores, rules: tuple[tuple[str, float, str], ...]) -> Verdict | None:
    """:func:`ngram_violation` with its rules built already (a filter keeps them: building the key of the
    rules' cache per document cost ~0.8 us)."""
    for key, bound, reason in rules:
        if scores[key] > bound:
            return Verdict(False, reason, round(scores[key], 4), bound)
    return None


@functools.lru_cache(maxsize=64)
def _ngram_rules(top: tuple[tuple[int, float], ...], dup: tuple[tuple[int, float], ...], top_reason: str,
                 dup_reason: str) -> tuple[tuple[str, float, str], ...]:
    """``(score key, bound, reason)`` of :func:`ngram_violation`, top sizes then duplicate sizes, each by
    size, switched-off bounds left out: built once per configuration, not per document."""
    return (*((f"top_{n}gram_frac", bound, top_reason) for n, bound in sorted(top) if bound is not None),
            *((f"dup_{n}gram_frac", bound, dup_reason) for n, bound in sorted(dup) if bound is not None))


@dataclass(frozen=True, kw_only=True)
class GopherQualityFilter(Filter):
    """Gopher's quality heuristics; every default is the paper's value (Rae et al. 2021, App. A.1.1)."""

    name: ClassVar[str] = "gopher_quality"
    min_words: int | None = 50
    min_entry_words: int | None = None  # shorter than min_words is kept if whole sentences of this many words
    max_words: int | None = 100_000
    min_mean_word_length: float | None = 3
    max_mean_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2

    def score(self, text: str | TextView) -> Scores:
        """Word count, mean word length, symbol, bullet, ellipsis, alphabetic and stop-word measures."""
        view = TextView.of(text)
        words = view.words
        # A word of the lower-cased text is the lower-cased word (lower() makes no whitespace).
        return self._score(view, len(words), sum(map(len, words)), stop_words(view.lower))

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the words counted, measured and matched against the stop words for
        the whole batch in pyarrow (:func:`word_table`) instead of a split and a regex pass a text."""
        return [self.score(view) if words is None else
                self._score(view, words.count, words.chars, words.stop_words, words.alpha_words)
                for view, words in zip(views, word_table(views), strict=True)]

    def _score(self, view: TextView, n: int, word_chars: int, stops: int, alpha: int | None = None) -> Scores:
        """:meth:`score` given the text's word count, the words' characters, its :func:`stop_words` and
        (None: counted here) its :func:`alpha_words`."""
        text, lines = view.text, view.lines
        symbols = text.count("#") + sum(text.count(e) for e in ELLIPSES[:2])
        return {
            "words": n,
            "complete_entry": is_complete_entry(text),
            "mean_word_length": word_chars / n if n else 0.0,
            "symbol_word_ratio": symbols / n if n else 0.0,
            # Bullet lines that are whole sentences are an informative list (a list-shaped answer), not
            # the menu or link list Gopher's rule is after: only bullets without a sentence end count.
            "bullet_lines_ratio": (
                sum(line.startswith(BULLETS) and not ends_sentence(line) for line in lines) / len(lines)
                if lines else 0.0
            ),
            "ellipsis_lines_ratio": sum(map(methodcaller("endswith", ELLIPSES), lines)) / len(lines) if lines else 0.0,
            "alpha_words_ratio": (alpha_words(view) if alpha is None else alpha) / n if n else 0.0,
            "stop_words": stops,
        }

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first quality bound broken, in the paper's order."""
        plain, entry = self._rules
        return first_violation(scores, entry if scores["complete_entry"] else plain)

    @functools.cached_property
    def _rules(self) -> tuple[list[tuple[str, str, float | None, str]], ...]:
        """The rules of :meth:`decide` for a text that is not a complete entry and for one that is (the
        bound :meth:`_min_words` gives each), built once per filter rather than per document."""
        return tuple([
            (GOPHER_SHORT_DOC, "words", min_words, "min"),
            (GOPHER_LONG_DOC, "words", self.max_words, "max"),
            (GOPHER_SHORT_WORDS, "mean_word_length", self.min_mean_word_length, "min"),
            (GOPHER_LONG_WORDS, "mean_word_length", self.max_mean_word_length, "max"),
            (GOPHER_SYMBOLS, "symbol_word_ratio", self.max_symbol_word_ratio, "max"),
            (GOPHER_BULLETS, "bullet_lines_ratio", self.max_bullet_lines_ratio, "max"),
            (GOPHER_ELLIPSIS, "ellipsis_lines_ratio", self.max_ellipsis_lines_ratio, "max"),
            (GOPHER_NON_ALPHA, "alpha_words_ratio", self.min_alpha_words_ratio, "min"),
            (GOPHER_STOP_WORDS, "stop_words", self.min_stop_words, "min"),
        ] for min_words in (self._min_words({"complete_entry": False}), self._min_words({"complete_entry": True})))

    def _min_words(self, scores: Scores) -> int | None:
        """``min_words``, or ``min_entry_words`` for a short text of whole sentences (an entry, an answer)."""
        if scores["complete_entry"] and self.min_entry_words is not None and self.min_words is not None:
            return min(self.min_words, self.min_entry_words)
        return self.min_words


@dataclass(frozen=True, kw_only=True)
class GopherRepetitionFilter(Filter):
    """Gopher's repetition removal (App. A.1.1, Table A1); defaults are the paper's thresholds."""

    name: ClassVar[str] = "gopher_repetition"
    max_dup_line_frac: float | None = 0.3
    max_dup_para_frac: float | None = 0.3
    max_dup_line_char_frac: float | None = 0.2
    max_dup_para_char_frac: float | None = 0.2
    # n-gram size → bound on the share of characters in the most frequent n-gram
    top_ngram_max: dict[int, float] = field(default_factory=lambda: {2: 0.2, 3: 0.18, 4: 0.16})
    # n-gram size → bound on the share of characters in n-grams seen earlier in the document
    dup_ngram_max: dict[int, float] = field(
        default_factory=lambda: {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
    )

    def score(self, text: str | TextView) -> Scores:
        """Duplicate line/paragraph fractions and top/duplicate word n-gram character fractions."""
        view = TextView.of(text)
        return repetition_scores(view, view.words, self.top_ngram_max, self.dup_ngram_max)

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the word n-grams of all of them measured together
        (:func:`word_ngram_fractions_many`)."""
        ngrams = word_ngram_fractions_many(views, self.top_ngram_max, self.dup_ngram_max)
        return [repetition_scores(view, None, self.top_ngram_max, self.dup_ngram_max, found)
                for view, found in zip(views, ngrams, strict=True)]

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject on the first repetition bound broken: lines, paragraphs, then n-grams."""
        line_rules, ngram_rules = self._rules
        verdict = first_violation(scores, line_rules)
        if not verdict.keep:
            return verdict
        return first_ngram_violation(scores, ngram_rules) or verdict

    @functools.cached_property
    def _rules(self) -> tuple[list[tuple[str, str, float | None, str]], tuple[tuple[str, float, str], ...]]:
        """The line and paragraph rules and the n-gram rules (:func:`ngram_violation`) of :meth:`decide`,
        built once per filter rather than per document."""
        return [
            (GOPHER_DUP_LINES, "dup_line_frac", self.max_dup_line_frac, "max"),
            (GOPHER_DUP_PARAGRAPHS, "dup_para_frac", self.max_dup_para_frac, "max"),
            (GOPHER_DUP_LINE_CHARS, "dup_line_char_frac", self.max_dup_line_char_frac, "max"),
            (GOPHER_DUP_PARAGRAPH_CHARS, "dup_para_char_frac", self.max_dup_para_char_frac, "max"),
        ], ngram_rules(self.top_ngram_max, self.dup_ngram_max, GOPHER_TOP_NGRAM, GOPHER_DUP_NGRAM)
