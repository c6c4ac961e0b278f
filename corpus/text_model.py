"""A keep/drop classifier that reads words: hashed n-grams and a linear model fitted in numpy.

Features (:class:`Hashing`): the text lower-cased, split into tokens (a Han character each, a run of other
letters one word, a run of digits one shape token), n-grams of 1-2 tokens plus Han-only 3-grams (Chinese
has no spaces: character 1-3-grams stand in for its words), hashed into ``2**bits`` buckets, ``log(1 +
count)``, each row L2-normalised (the usual text-classification scaling). Methods: an L2-regularised
logistic regression fitted by L-BFGS over sparse rows, or naive Bayes log-count ratios (Wang & Manning
2012) with a Platt scale; cross-validation chose (benchmarks/RESULTS.md, qtm8). The model file (``.npz``)
holds the weights, the hashing scheme, the threshold and provenance, never document text. Deliberately
left out: word segmentation (jieba), embeddings, scipy or scikit-learn at run time.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import zipfile
import zlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from corpus.atomic import temp_path
from corpus.page_model import balanced_weights, fit_logistic
from corpus.resources import resolve

MODEL_FORMAT = "knowforge-text-model/1"
METHODS = ("logistic", "naive_bayes")

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # corpus.text.HAN's BMP ideographs
# A Han character; a run of letters that are not Han (Latin, Cyrillic, kana...); a run of digits. With
# ``symbols``, also each character that is neither a word character nor a space (【, |, »): SEO pages and
# link lists are made of them.
_WORDS = f"[{_HAN}]|[^\\W\\d_{_HAN}]+|\\d+"
_TOKEN = re.compile(_WORDS)
_TOKEN_SYMBOLS = re.compile(_WORDS + r"|[^\w\s]")
_IS_HAN = re.compile(f"[{_HAN}]")
# Digits keep only their shape: a phone number, a year and a price differ by length, not by value.
_DIGIT_SHAPE = 4

_U64 = np.uint64
_MASK32 = (1 << 32) - 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class Hashing:
    """How a text becomes a feature row; stored in the model, so training and scoring hash alike.

    ``bits``: ``2**bits`` buckets (18: 262,144; a few thousand distinct n-grams per page collide rarely).
    ``word_orders``: n-grams of up to this many tokens of any kind. ``han_orders``: longer n-grams, up to
    this many, where every token is a Han character. ``symbols``: punctuation and symbols are tokens (on
    by default: leaving one source out, English drop-recall 0.872 -> 0.923 with them, 0.872 without, at the
    chosen bound; benchmarks/RESULTS.md, qtm8).
    ``max_chars``: only the start of a longer text is read (a bound on the cost of one huge document).
    """

    bits: int = 18
    word_orders: int = 2
    han_orders: int = 3
    symbols: bool = True
    max_chars: int = 100_000

    def __post_init__(self) -> None:
        if not 8 <= self.bits <= 26:
            raise ValueError(f"text model: bits {self.bits} outside 8..26")
        if self.word_orders < 1 or self.han_orders < 0 or self.max_chars < 1:
            raise ValueError("text model: word_orders >= 1, han_orders >= 0 and max_chars >= 1 are needed")

    @property
    def orders(self) -> int:
        """The longest n-gram of either kind."""
        return max(self.word_orders, self.han_orders)


def tokens(text: str, hashing: Hashing) -> list[str]:
    """The tokens of ``text`` the features are n-grams of, lower-cased, characters as written:
    ``"長江 is 6300 KM"`` -> ``["長", "江", "is", "0000", "km"]`` (a digit run becomes zeros, at most four)."""
    pattern = _TOKEN_SYMBOLS if hashing.symbols else _TOKEN
    found = pattern.findall(text[:hashing.max_chars].lower())
    return [("0" * min(len(t), _DIGIT_SHAPE)) if t[0].isdigit() else t for t in found]


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 values (wrapping arithmetic): every input bit moves every output bit."""
    z = z ^ (z >> _U64(30))
    z = z * _U64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> _U64(27))
    z = z * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def ngram_buckets(toks: Sequence[str], hashing: Hashing, cache: dict[str, int] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per n-gram of ``toks``: its bucket, its order and its first token's position (three int arrays of
    one length). A token hashes by CRC-32 of its UTF-8 (stable across processes and machines, unlike
    ``hash``); an n-gram folds its tokens' hashes with :func:`_mix`, salted by the order, so "a b" and
    "b a" and the unigram "a" land in different buckets. ``cache`` keeps each token's code (below) across calls."""
    cache = {} if cache is None else cache
    # One int per token: its CRC-32 in the low 32 bits, bit 32 set for a Han character (read once per
    # distinct token; a list lookup and one array build, where per-token numpy stores cost ~3x more).
    codes = [cache.get(tok) for tok in toks]
    if None in codes:
        for i, tok in enumerate(toks):
            if codes[i] is None:
                codes[i] = cache[tok] = zlib.crc32(tok.encode("utf-8", "surrogatepass")) | \
                    ((len(tok) == 1 and _IS_HAN.match(tok) is not None) << 32)
    packed = np.array(codes, dtype=_U64)
    hashes = packed & _U64(_MASK32)
    han = (packed >> _U64(32)).astype(bool)
    buckets, orders, starts = [], [], []
    running = hashes.copy()  # running[i]: the hash of the n-gram starting at i, extended one token per order
    all_han = han.copy()
    shift = _U64(64 - hashing.bits)
    for n in range(1, hashing.orders + 1):
        if n > 1:
            running = _mix(running[:-1] * _U64(0x9E3779B97F4A7C15) + hashes[n - 1:])
            all_han = all_han[:-1] & han[n - 1:]
        if not len(running):
            break
        chosen = np.arange(len(running)) if n <= hashing.word_orders else \
            np.flatnonzero(all_han) if n <= hashing.han_orders else np.arange(0)
        buckets.append((_mix(running[chosen] ^ _U64(n)) >> shift).astype(np.int64))
        orders.append(np.full(len(chosen), n, dtype=np.int8))
        starts.append(chosen)
    if not buckets:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0, np.int64)
    return np.concatenate(buckets), np.concatenate(orders), np.concatenate(starts)


@dataclasses.dataclass(frozen=True)
class Rows:
    """Sparse feature rows in CSR form: row ``i`` holds ``data[indptr[i]:indptr[i+1]]`` at columns
    ``indices[...]`` (sorted). Only the two products a linear model needs, each one ``np.bincount``."""

    indptr: np.ndarray  # (n + 1,) int64
    indices: np.ndarray  # (nnz,) int64 buckets
    data: np.ndarray  # (nnz,) float64
    width: int  # number of buckets

    @property
    def n(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.n), np.diff(self.indptr))

    def dot(self, w: np.ndarray) -> np.ndarray:
        """``X @ w``: (n,)."""
        return np.bincount(self.row_ids, weights=self.data * w[self.indices], minlength=self.n)

    def tdot(self, g: np.ndarray) -> np.ndarray:
        """``X.T @ g``: (width,)."""
        return np.bincount(self.indices, weights=self.data * g[self.row_ids], minlength=self.width)

    def take(self, rows: Sequence[int]) -> Rows:
        """The sub-matrix of ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = np.diff(self.indptr)[rows]
        parts = [np.arange(self.indptr[r], self.indptr[r + 1]) for r in rows]
        at = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return Rows(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), self.indices[at], self.data[at],
                    self.width)


def hashed(texts: Sequence[str], hashing: Hashing) -> list[tuple[list[str], np.ndarray, np.ndarray, np.ndarray]]:
    """Per text, its tokens and :func:`ngram_buckets` (one token cache for the batch)."""
    cache: dict[str, int] = {}
    out = []
    for text in texts:
        toks = tokens(text, hashing)
        out.append((toks, *ngram_buckets(toks, hashing, cache)))
    return out


def featurize(texts: Sequence[str], hashing: Hashing, grams: Sequence[tuple] | None = None) -> Rows:
    """The feature rows of ``texts``: per text, ``log(1 + count)`` of each bucket its n-grams fall in, the
    row scaled to unit L2 norm (an empty text is an empty row). One ``np.unique`` over the whole batch
    (keys ``row * 2**bits + bucket``) counts every (text, bucket) pair at once. ``grams``: the texts'
    :func:`hashed` already computed."""
    grams = hashed(texts, hashing) if grams is None else grams
    width = 1 << hashing.bits
    keys = [buckets + i * width for i, (_, buckets, _, _) in enumerate(grams)]
    flat = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    unique, counts = np.unique(flat, return_counts=True)
    rows, cols = unique // width, unique % width
    values = np.log1p(counts.astype(np.float64))
    norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(texts)))
    values /= norms[rows]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(texts)))]).astype(np.int64)
    return Rows(indptr, cols.astype(np.int64), values, width)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TextModel:
    """A fitted text model: ``P(keep) = 1 / (1 + exp(-(bias + sum_b weight_b * x_b)))`` over the hashed
    row ``x`` of :func:`featurize`. ``threshold``: the least P(keep) kept (at exactly it, kept).
    ``weights`` is dense (``2**bits`` float64) in memory, sparse (non-zero buckets, float32) on disk."""

    hashing: Hashing
    weights: np.ndarray = dataclasses.field(compare=False)
    bias: float
    threshold: float
    method: str
    l2: float
    provenance: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.weights.shape != (1 << self.hashing.bits,):
            raise ValueError(f"text model: {self.weights.shape[0]} weights for {1 << self.hashing.bits} buckets")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError(f"text model: threshold {self.threshold} is not a probability")
        if self.method not in METHODS:
            raise ValueError(f"text model: method {self.method!r}; known: {', '.join(METHODS)}")

    def logits(self, rows: Rows) -> np.ndarray:
        """Log-odds of keep per row: one sparse product for the batch."""
        return rows.dot(self.weights) + self.bias

    def probabilities(self, rows: Rows) -> np.ndarray:
        """P(keep) per feature row (made with this model's hashing)."""
        return _sigmoid(self.logits(rows))

    def keep_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(keep) per text."""
        return self.probabilities(featurize(texts, self.hashing))

    def score_texts(self, texts: Sequence[str], top: int = 3) -> tuple[np.ndarray, list[list[str]]]:
        """P(keep) per text and, per text, the ``top`` n-grams that moved its log-odds most, as ``"term
        -0.31"`` (negative: towards drop), strongest first: the evidence a rejected document carries. The
        texts are hashed once for both."""
        grams = hashed(texts, self.hashing)
        rows = featurize(texts, self.hashing, grams)
        terms = []
        for i, (toks, buckets, orders, starts) in enumerate(grams):
            lo, hi = rows.indptr[i], rows.indptr[i + 1]
            contribution = rows.data[lo:hi] * self.weights[rows.indices[lo:hi]]
            best = np.argsort(-np.abs(contribution), kind="stable")[:top]
            found = []
            for j in best:
                at = int(np.argmax(buckets == rows.indices[lo + j]))  # the n-gram's first occurrence
                gram = toks[starts[at]:starts[at] + orders[at]]
                term = "".join(gram) if all(_IS_HAN.match(t) for t in gram) else " ".join(gram)
                found.append(f"{term} {contribution[j]:+.3f}")
            terms.append(found)
        return self.probabilities(rows), terms

    def explain(self, text: str, top: int = 3) -> list[str]:
        """:meth:`score_texts`'s terms for one text."""
        return self.score_texts([text], top)[1][0]

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the ``.npz`` file: the non-zero buckets, their weights (float32) and a JSON header."""
        nonzero = np.flatnonzero(self.weights).astype(np.uint32)
        header = {"format": MODEL_FORMAT, "hashing": dataclasses.asdict(self.hashing), "bias": self.bias,
                  "threshold": self.threshold, "method": self.method, "l2": self.l2,
                  "provenance": self.provenance}
        return {"header": np.frombuffer(json.dumps(header, sort_keys=True, ensure_ascii=False).encode("utf-8"),
                                        dtype=np.uint8),
                "buckets": nonzero, "weights": self.weights[nonzero].astype(np.float32)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TextModel:
        """Build a model from :meth:`to_arrays`'s arrays, checking the format."""
        header = json.loads(bytes(arrays["header"]).decode("utf-8"))
        if header.get("format") != MODEL_FORMAT:
            raise ValueError(f"text model: format {header.get('format')!r}, expected {MODEL_FORMAT!r}")
        hashing = Hashing(**header["hashing"])
        weights = np.zeros(1 << hashing.bits)
        weights[arrays["buckets"].astype(np.int64)] = arrays["weights"].astype(np.float64)
        return cls(hashing=hashing, weights=weights, bias=float(header["bias"]), threshold=float(header["threshold"]),
                   method=header["method"], l2=float(header["l2"]), provenance=header.get("provenance") or {})


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))


# --- the file -------------------------------------------------------------------------------------------

# A zip entry's date is part of its bytes; numpy's savez stamps the current time, so the same model written
# twice would differ. Every entry gets this date instead (the earliest a zip can hold).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def write_model(model: TextModel, path: Path) -> None:
    """Write ``model`` as an ``.npz`` numpy reads with ``np.load`` (entries ``header.npy``, ``buckets.npy``,
    ``weights.npy``), byte for byte the same for the same model; written to a temporary, then renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in model.to_arrays().items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())
    os.replace(tmp, path)


@lru_cache(maxsize=4)
def load_model(path: str) -> TextModel:
    """Read a text model once per process (``path`` as given, then among the shipped ``configs/``)."""
    try:
        file = resolve(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"text model not found: {path}") from None
    with np.load(file, allow_pickle=False) as arrays:
        return TextModel.from_arrays({name: arrays[name] for name in ("header", "buckets", "weights")})


# --- fitting ------------------------------------------------------------------------------------------

# ours: chosen by leave-one-source-out cross-validation over the four tuning sets, the model appended to
# the rules' chains (benchmarks/filter_quality.py --cv-text; benchmarks/RESULTS.md, qtm8, lists every value
# tried). Naive Bayes ratios lose many more zh keeps at every bound; l2 1e-3 and 1e-2 squeeze the
# probabilities towards 0.5, so a bound that catches drops takes keeps with them. 0.3: the bound at which the
# English chain gained 4 of 78 drops for 1 of 180 keeps; no bound gained a Chinese drop without losing
# more than 1% of the Chinese keeps, so the zh chain is best left without the model.
DEFAULT_METHOD = "logistic"
DEFAULT_L2 = 1e-4
DEFAULT_THRESHOLD = 0.3


def fit_lbfgs(rows: Rows, y: np.ndarray, weights: np.ndarray, *, l2: float, iterations: int = 300,
              memory: int = 10, tolerance: float = 1e-6) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression over sparse ``rows``, by L-BFGS.

    Minimises ``sum_i s_i * logloss_i / sum(s) + l2/2 * |w|^2`` (``s`` = ``weights``, the bias not
    penalised): strictly convex for ``l2 > 0``, so the minimum is unique and the result depends only on the
    data (deterministic: no random start, no sampling). The two-loop recursion (Nocedal & Wright, alg. 7.4)
    with a backtracking Armijo line search; each step is two sparse products.
    """
    s = weights / weights.sum()

    def value_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        z = rows.dot(w) + b
        # log(1 + exp(z)) - y z, computed stably
        loss = np.sum(s * (np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(w @ w)
        g = s * (_sigmoid(z) - y)
        return float(loss), np.concatenate([rows.tdot(g) + l2 * w, [g.sum()]])

    theta = np.zeros(rows.width + 1)
    f, g = value_grad(theta)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(iterations):
        if np.max(np.abs(g)) < tolerance:
            break
        q = g.copy()
        alphas = []
        for s_k, y_k, rho in reversed(history):
            a = rho * float(s_k @ q)
            alphas.append(a)
            q -= a * y_k
        if history:
            s_k, y_k, _ = history[-1]
            q *= float(s_k @ y_k) / float(y_k @ y_k)
        for (s_k, y_k, rho), a in zip(history, reversed(alphas), strict=True):
            q += (a - rho * float(y_k @ q)) * s_k
        direction = -q
        slope = float(g @ direction)
        if slope >= 0:  # not a descent direction (rounding): restart from the gradient
            history.clear()
            direction, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            candidate = theta + step * direction
            f_new, g_new = value_grad(candidate)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s_k, y_k = candidate - theta, g_new - g
        curvature = float(s_k @ y_k)
        if curvature > 1e-12:
            history.append((s_k, y_k, 1.0 / curvature))
            del history[:-memory]
        theta, f, g = candidate, f_new, g_new
    return theta[:-1], float(theta[-1])


def fit_naive_bayes(rows: Rows, y: np.ndarray, weights: np.ndarray, *, alpha: float = 1.0) -> tuple[np.ndarray, float]:
    """Naive Bayes log-count ratios ``r = log(p / |p|_1) - log(q / |q|_1)`` (Wang & Manning 2012), ``p``
    and ``q`` the ``weights``-weighted sums of the keep and drop rows plus ``alpha``, on the buckets seen
    in training (the others weigh 0); then a Platt scale (a one-feature logistic regression on ``X @ r``)
    turns the ratio's score into a probability the threshold can be read on."""
    seen = np.zeros(rows.width, dtype=bool)
    seen[rows.indices] = True
    p = rows.tdot(weights * y)[seen] + alpha
    q = rows.tdot(weights * (1 - y))[seen] + alpha
    ratio = np.zeros(rows.width)
    ratio[seen] = np.log(p / p.sum()) - np.log(q / q.sum())
    score = rows.dot(ratio)
    scale = score.std() or 1.0
    coef, intercept = fit_logistic((score / scale)[:, None], y, l2=1.0, weights=weights)
    return ratio * (coef[0] / scale), intercept


def train(texts: Sequence[str], labels: Sequence[int], *, langs: Sequence[str] | None = None,
          hashing: Hashing | None = None, method: str = DEFAULT_METHOD, l2: float = DEFAULT_L2,
          threshold: float = DEFAULT_THRESHOLD, provenance: dict[str, Any] | None = None) -> TextModel:
    """Fit a :class:`TextModel` on ``texts`` and ``labels`` (1 keep, 0 drop): :func:`featurize`, then :func:`fit`."""
    hashing = hashing or Hashing()
    return fit(featurize(texts, hashing), labels, langs=langs, hashing=hashing, method=method, l2=l2,
               threshold=threshold, provenance=provenance)


def fit(rows: Rows, labels: Sequence[int], *, hashing: Hashing, langs: Sequence[str] | None = None,
        method: str = DEFAULT_METHOD, l2: float = DEFAULT_L2, threshold: float = DEFAULT_THRESHOLD,
        provenance: dict[str, Any] | None = None) -> TextModel:
    """Fit a :class:`TextModel` on feature ``rows`` (made with ``hashing``) and ``labels`` (1 keep, 0 drop).

    Samples are weighted so keep and drop weigh alike within each language (``langs``; default one group:
    corpus.page_model.balanced_weights). Raises ``ValueError`` for no rows, labels not one 0/1 per row, or
    one class only. Weights are rounded to float32, as the file stores them, so a model read back scores
    exactly as the one trained.
    """
    if method not in METHODS:
        raise ValueError(f"text model: method {method!r}; known: {', '.join(METHODS)}")
    if not rows.n:
        raise ValueError("no labelled texts to train on")
    y = np.asarray(labels, dtype=float)
    if len(y) != rows.n or not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("labels must be one 0/1 per text")
    if len(np.unique(y)) < 2:
        raise ValueError(f"training needs both keep and drop texts; all {len(y)} are {'keep' if y[0] else 'drop'}")
    groups = list(langs) if langs is not None else ["all"] * rows.n
    sample = balanced_weights(y.astype(int), groups)
    if method == "logistic":
        weights, bias = fit_lbfgs(rows, y, sample, l2=l2)
    else:
        weights, bias = fit_naive_bayes(rows, y, sample)
    return TextModel(hashing=hashing, weights=weights.astype(np.float32).astype(np.float64),
                     bias=round(float(bias), 6), threshold=threshold, method=method, l2=l2,
                     provenance=provenance or {})
