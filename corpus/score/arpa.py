"""Interpolated modified Kneser-Ney n-gram models written as ARPA files, computed with numpy.

This is what KenLM's ``lmplz`` estimates (Heafield et al. 2013, following Chen & Goodman 1998 §3), for
users who have no ``lmplz`` binary: the ARPA file it writes is read by KenLM's query code (``kenlm.Model``,
``build_binary``) and by any other ARPA reader. The steps, per order ``n`` (1..N):

- counts: the highest order keeps raw counts; lower orders take *adjusted* counts, the number of distinct
  words seen to the left (``N1+(• w)``), except n-grams that begin with ``<s>``, which cannot be extended to
  the left and keep their raw count (lmplz's rule);
- discounts ``D1, D2, D3+`` from the count-of-counts ``t1..t4`` of the adjusted counts:
  ``Y = t1 / (t1 + 2 t2)``, ``Dk = k - (k + 1) Y t(k+1) / tk``;
- ``u(w|h) = (a(hw) - D(a(hw))) / Σ a(h•)`` and the backoff ``γ(h) = (D1 N1(h•) + D2 N2(h•) + D3+ N3+(h•))
  / Σ a(h•)``; probabilities are interpolated, ``p(w|h) = u(w|h) + γ(h) p(w|h')``, down to the unigrams,
  which interpolate with the uniform distribution over the vocabulary (``<unk>`` included, so ``<unk>``
  gets ``γ(ε) / |V|``).

In the ARPA file an n-gram line carries ``log10 p(w|h)`` (already interpolated) and, for contexts, ``log10
γ(hw)``: a reader's back-off rule then gives exactly the interpolated model for unseen n-grams. Where a
count-of-counts is zero (tiny training sets) the discounts fall back to the absolute-discount estimate
``D = t1 / (t1 + 2 t2)`` clipped into (0, k) instead of failing as lmplz does (``BadDiscountException``).

N-grams are rows of int32 token ids; grouping is ``np.unique`` over rows and sorted-key lookups, so the
cost is a few sorts per order, not a Python loop per n-gram.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
# log10 probability KenLM and SRILM write for <s>, which is never predicted.
NEVER = -99.0


@dataclass(frozen=True)
class OrderTable:
    """One order's n-grams: ``grams`` (rows of ids, sorted), ``log_prob`` and ``log_backoff`` (log10)."""

    grams: np.ndarray
    log_prob: np.ndarray
    log_backoff: np.ndarray | None


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One comparable scalar per row (a void view), so rows can be sorted and searched as keys."""
    rows = np.ascontiguousarray(rows, dtype=np.int32)
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


def _lookup(table_rows: np.ndarray, query_rows: np.ndarray) -> np.ndarray:
    """Index of each query row in the sorted, unique ``table_rows`` (every query must be present)."""
    keys, queries = _row_keys(table_rows), _row_keys(query_rows)
    order = np.argsort(keys, kind="stable")
    at = order[np.searchsorted(keys[order], queries)]
    if not np.array_equal(table_rows[at], query_rows):
        raise AssertionError("an n-gram's lower-order suffix is missing")  # cannot happen for counted text
    return at


def _discounts(counts: np.ndarray) -> np.ndarray:
    """``[0, D1, D2, D3+]`` from the count-of-counts of ``counts`` (see the module docstring)."""
    t = [int((counts == k).sum()) for k in (1, 2, 3, 4)]
    d = np.zeros(4)
    if t[0] and t[1] and t[2] and t[3]:
        y = t[0] / (t[0] + 2 * t[1])
        d[1:] = [k - (k + 1) * y * t[k] / t[k - 1] for k in (1, 2, 3)]
    if not np.all((d[1:] > 0) & (d[1:] < np.arange(1, 4))):
        y = t[0] / (t[0] + 2 * t[1]) if t[0] else 0.5
        d[1:] = np.clip([y, y, y], 1e-3, [0.999, 1.999, 2.999])
    return d


def _ngram_rows(sentences: Iterable[Sequence[int]], order: int, bos: int, eos: int) -> list[np.ndarray]:
    """For each n = 1..order, every n-gram occurrence of the padded sentences as rows of ids."""
    chunks: list[list[np.ndarray]] = [[] for _ in range(order)]
    for ids in sentences:
        seq = np.asarray([bos, *ids, eos], dtype=np.int32)
        for n in range(1, order + 1):
            if len(seq) >= n:
                # Rows of n consecutive ids; unigram <s> is not an event (it is never predicted).
                rows = np.lib.stride_tricks.sliding_window_view(seq, n)
                chunks[n - 1].append(rows[1:] if n == 1 else rows)
    return [np.concatenate(c) if c else np.empty((0, n + 1), np.int32) for n, c in enumerate(chunks)]


def estimate(sentences: Iterable[Sequence[int]], *, order: int, vocab_size: int, bos: int, eos: int,
             unk: int) -> list[OrderTable]:
    """Estimate the model from token-id ``sentences`` (ids < ``vocab_size``; ``bos``/``eos``/``unk`` among
    them). Returns one :class:`OrderTable` per order, unigrams first; every word of the vocabulary except
    ``bos`` has a unigram (unseen ones, ``unk`` included, get only the uniform share)."""
    if order < 1:
        raise ValueError("order must be at least 1")
    # <unk> is an ordinary vocabulary entry with count 0: only the uniform share of the unigrams reaches it.
    if not 0 <= unk < vocab_size:
        raise ValueError("unk must be an id of the vocabulary")
    occurrences = _ngram_rows(sentences, order, bos, eos)
    if not len(occurrences[0]):
        raise ValueError("no training text")
    # Orders longer than every padded sentence have no n-grams: the model ends at the longest one seen.
    while not len(occurrences[-1]):
        occurrences.pop()
    order = len(occurrences)
    # Distinct n-grams and their raw counts, per order.
    grams, raw = [], []
    for rows in occurrences:
        uniq, counts = np.unique(rows, axis=0, return_counts=True)
        grams.append(uniq)
        raw.append(counts.astype(np.float64))
    # Adjusted counts: lower orders count distinct left extensions, except n-grams starting with <s>.
    adjusted = [None] * order
    adjusted[order - 1] = raw[order - 1]
    for n in range(order - 1, 0, -1):  # n = length of the lower order
        longer = grams[n]  # (n + 1)-grams
        suffix_at = _lookup(grams[n - 1], longer[:, 1:])
        left = np.bincount(suffix_at, minlength=len(grams[n - 1])).astype(np.float64)
        starts_bos = grams[n - 1][:, 0] == bos
        adjusted[n - 1] = np.where(starts_bos, raw[n - 1], left)
    # Unigrams over the whole vocabulary: unseen words (<unk> among them) get adjusted count 0. <s> has a
    # row too, since it is a context, but no probability (it is never predicted).
    vocab = np.arange(vocab_size, dtype=np.int32)[:, None]
    uni_counts = np.zeros(vocab_size)
    uni_counts[_lookup(vocab, grams[0])] = adjusted[0]
    uni_counts[bos] = 0.0
    grams[0], adjusted[0] = vocab, uni_counts

    tables: list[OrderTable] = []
    lower_prob: np.ndarray | None = None
    backoffs: list[np.ndarray] = []
    for n in range(1, order + 1):
        rows, a = grams[n - 1], adjusted[n - 1]
        d = _discounts(a[a > 0])
        disc = np.where(a >= 3, d[3], d[np.minimum(a, 3).astype(int)])
        disc[a == 0] = 0.0
        if n == 1:
            total = a.sum()
            gamma = float((d[1] * (a == 1).sum() + d[2] * (a == 2).sum() + d[3] * (a >= 3).sum()) / total)
            prob = (a - disc) / total + gamma / (len(rows) - 1)  # uniform over the vocabulary less <s>
            prob[bos] = 0.0
        else:
            context_keys = _row_keys(rows[:, :-1])
            # rows are sorted, so equal contexts are adjacent: group boundaries by key change.
            starts = np.flatnonzero(np.r_[True, context_keys[1:] != context_keys[:-1]])
            group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
            total = np.add.reduceat(a, starts)
            n1 = np.add.reduceat((a == 1).astype(float), starts)
            n2 = np.add.reduceat((a == 2).astype(float), starts)
            n3 = np.add.reduceat((a >= 3).astype(float), starts)
            gamma = (d[1] * n1 + d[2] * n2 + d[3] * n3) / total
            lower = lower_prob[_lookup(grams[n - 2], rows[:, 1:])]
            prob = (a - disc) / total[group] + gamma[group] * lower
            # The context's backoff weight belongs to the (n-1)-gram line of that context.
            bo = np.zeros(len(grams[n - 2]))
            bo_at = _lookup(grams[n - 2], rows[starts, :-1])
            bo[bo_at] = gamma
            backoffs.append((bo_at, bo[bo_at]))
        with np.errstate(divide="ignore"):  # log10(0) = -inf for <s>, written as NEVER
            tables.append(OrderTable(rows, np.log10(prob), None))
        lower_prob = prob
    # Attach log10 backoffs to orders 1..N-1 (0 where the n-gram is never a context).
    for n in range(1, order):
        at, gamma = backoffs[n - 1]
        log_bo = np.zeros(len(tables[n - 1].grams))
        log_bo[at] = np.log10(gamma)
        tables[n - 1] = OrderTable(tables[n - 1].grams, tables[n - 1].log_prob, log_bo)
    return tables


class Vocabulary:
    """Token strings ↔ ids, with ``<s>``, ``</s>`` and ``<unk>`` first."""

    def __init__(self) -> None:
        self.words: list[str] = [BOS, EOS, UNK]
        self.ids: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of ``tokens``, adding new words."""
        out = []
        for token in tokens:
            i = self.ids.get(token)
            if i is None:
                i = self.ids[token] = len(self.words)
                self.words.append(token)
            out.append(i)
        return out


def train_arpa(sentences: Iterable[Sequence[str]], *, order: int) -> tuple[Vocabulary, list[OrderTable]]:
    """Estimate a modified Kneser-Ney model of ``order`` from token sequences (one per sentence/document;
    tokens must not contain whitespace)."""
    vocab = Vocabulary()
    encoded = [vocab.encode(tokens) for tokens in sentences]
    ids = vocab.ids
    tables = estimate(encoded, order=order, vocab_size=len(vocab.words), bos=ids[BOS], eos=ids[EOS],
                      unk=ids[UNK])
    return vocab, tables


def write_arpa(path: Path, vocab: Vocabulary, tables: list[OrderTable]) -> None:
    """Write the ARPA text file (``\\data\\`` header, one section per order, ``\\end\\``); ``<s>`` gets
    log10 probability :data:`NEVER`, as lmplz writes it. Written to a temporary name and renamed, so a
    killed run leaves no half model."""
    words = vocab.words
    tmp = path.with_name(path.name + ".knowforge-tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(tmp, "w", encoding="utf-8") as out:
        out.write("\\data\\\n")
        for n, table in enumerate(tables, start=1):
            out.write(f"ngram {n}={len(table.grams)}\n")
        for n, table in enumerate(tables, start=1):
            out.write(f"\n\\{n}-grams:\n")
            names = [" ".join(words[i] for i in row) for row in table.grams.tolist()]
            probs = [NEVER if p == -math.inf else p for p in table.log_prob.tolist()]
            if table.log_backoff is None:
                out.writelines(f"{p:.6f}\t{name}\n" for p, name in zip(probs, names, strict=True))
            else:
                out.writelines(f"{p:.6f}\t{name}\t{b:.6f}\n"
                               for p, name, b in zip(probs, names, table.log_backoff.tolist(), strict=True))
        out.write("\n\\end\\\n")
    tmp.replace(path)


# zh is written without spaces, so its models are over characters; English models are over words, as
# CCNet's are over tokens: a character model sees each word of a word-shuffled text intact and passes it
# (RESULTS, #20 session 3: en junk in tail 71% with characters, 79% with words).
DEFAULT_ARPA_UNITS = {"zh": "char", "en": "word"}
ARPA_UNITS = ("char", "word")
# Orders chosen on held-out text, not on the benchmark's mix: characters zh 4 / en 6 (Kneser-Ney keeps
# longer contexts useful), words 5 (held-out perplexity of the books, orders 2-5: 615, 553, 545, 544; CCNet's
# models are 5-grams too).
DEFAULT_ARPA_ORDERS = {"char": {"zh": 4, "en": 6}, "word": {}}
DEFAULT_ORDER = {"char": 5, "word": 5}


def arpa_order(lang: str, unit: str, orders: dict[str, int] | None = None) -> int:
    """The n-gram order of ``lang``'s model of ``unit`` tokens: ``orders`` first, else the defaults above."""
    return (orders or {}).get(lang) or DEFAULT_ARPA_ORDERS[unit].get(lang, DEFAULT_ORDER[unit])


def write_arpa_models(texts: Iterable[tuple[str, str]], directory: Path, *, orders: dict[str, int] | None = None,
                      units: dict[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Train one modified Kneser-Ney model per language from ``(lang, text)`` pairs and write
    ``directory/<lang>.arpa`` plus ``kenlm.json`` (each language's units), the layout
    :class:`corpus.score.kenlm_models.KenLMModels` loads. ``units`` maps a language to ``char`` or ``word``
    (default :data:`DEFAULT_ARPA_UNITS`; other languages ``char``). Returns the n-gram counts per order and
    language."""
    from corpus.score.kenlm_models import MANIFEST, char_tokens, word_tokens

    units = {**DEFAULT_ARPA_UNITS, **(units or {})}
    for lang, unit in units.items():
        if unit not in ARPA_UNITS:
            raise ValueError(f"units of {lang!r} must be one of {', '.join(ARPA_UNITS)}, not {unit!r}")
    by_lang: dict[str, list[list[str]]] = {}
    for lang, text in texts:
        line = word_tokens(text) if units.get(lang, "char") == "word" else char_tokens(text, lang)
        if line:
            by_lang.setdefault(lang, []).append(line.split(" "))
    if not by_lang:
        raise ValueError("no training text")
    summary = {}
    for lang, sentences in sorted(by_lang.items()):
        # KenLM's query code needs at least bigrams.
        vocab, tables = train_arpa(sentences, order=max(2, arpa_order(lang, units.get(lang, "char"), orders)))
        write_arpa(directory / f"{lang}.arpa", vocab, tables)
        summary[lang] = {f"{n}-grams": len(t.grams) for n, t in enumerate(tables, start=1)}
    manifest = {"format": "knowforge-kenlm", "units": {lang: units.get(lang, "char") for lang in sorted(by_lang)}}
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return summary
