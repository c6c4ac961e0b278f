"""Character n-gram language models for document perplexity (CCNet's quality signal, Wenzek et al. 2020),
in pure Python: one model per language, Witten-Bell interpolated (Chen & Goodman 1998, §2.5) over
characters (Chinese order 3, English order 5, lower-cased, whitespace folded). Stored as gzipped JSON.
Left out: KenLM's modified Kneser-Ney and word-level models (too sparse on a few MB of reference text).
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.text import HAN

FORMAT_VERSION = 1
BOS = "\x02"  # context padding at the start of a document
DEFAULT_ORDERS = {"zh": 3, "en": 5}  # zh characters carry ~a morpheme each; en needs ~a word of context
MAX_SCORED_CHARS = 20_000  # perplexity of the first 20k units: stable by then, and bounds the cost per doc

_CJK_RE = HAN.regex
_SPACE_RE = re.compile(r"\s+")
_DIGIT_RE = re.compile(r"\d")


def guess_lang(text: str) -> str:
    """``zh`` when at least 20% of the first 2,000 non-space characters are CJK, else ``en``."""
    head = _SPACE_RE.sub("", text[:4000])[:2000]
    if not head:
        return "en"
    return "zh" if len(_CJK_RE.findall(head)) >= 0.2 * len(head) else "en"


def units(text: str, lang: str) -> str:
    """The character stream a model sees: digits folded to ``0`` (numbers are not style), and for English
    lower case with whitespace runs folded to one space; Chinese drops whitespace altogether."""
    text = _DIGIT_RE.sub("0", text)
    if lang == "zh":
        return _SPACE_RE.sub("", text)
    return _SPACE_RE.sub(" ", text.lower()).strip()


@dataclass(frozen=True, kw_only=True)
class CharNgramModel:
    """One language's model. ``counts[k]`` maps a context of ``k`` characters to its follower counts.

    Witten-Bell: ``P(w|h) = (c(h,w) + T(h) * P(w|h')) / (c(h) + T(h))`` with ``T(h)`` the number of
    distinct followers of ``h`` and ``h'`` the context shortened by one; the recursion ends in a uniform
    distribution over the vocabulary plus one unknown symbol, so every character has non-zero probability.
    """

    lang: str
    order: int
    vocab_size: int
    counts: list[dict[str, dict[str, int]]]

    @functools.cached_property
    def _tables(self) -> list[dict[str, tuple[int, int, dict[str, int]]]]:
        # (c(h), T(h), followers) per context: computed once per model object. cached_property stores it
        # in the instance's __dict__ without __setattr__, so it works on this frozen dataclass.
        return [{h: (sum(f.values()), len(f), f) for h, f in level.items()} for level in self.counts]

    def log_prob_stream(self, stream: str) -> tuple[float, int]:
        """(sum of natural-log probabilities, number of predicted characters) of ``stream``."""
        tables = self._tables
        uniform = 1.0 / (self.vocab_size + 1)
        padded = BOS * (self.order - 1) + stream
        total = 0.0
        for i in range(self.order - 1, len(padded)):
            w = padded[i]
            p = uniform
            for k in range(self.order):  # k = context length, from unigram upwards
                entry = tables[k].get(padded[i - k:i]) if k else tables[0].get("")
                if entry is None:
                    break  # a longer context is unseen too: its estimate is the shorter one
                c_h, t_h, followers = entry
                p = (followers.get(w, 0) + t_h * p) / (c_h + t_h)
            total += math.log(p)
        return total, len(padded) - (self.order - 1)

    def perplexity(self, text: str) -> float | None:
        """Per-character perplexity of ``text`` (first :data:`MAX_SCORED_CHARS` units); None if empty."""
        stream = units(text, self.lang)[:MAX_SCORED_CHARS]
        if not stream:
            return None
        log_prob, n = self.log_prob_stream(stream)
        return math.exp(-log_prob / n)


def train_model(texts: Iterable[str], *, lang: str, order: int | None = None, min_count: int = 1) -> CharNgramModel:
    """Count the n-grams of ``texts`` (already in ``lang``). ``min_count`` > 1 prunes rarer n-grams of
    order 3 and up (the model shrinks several-fold; shorter contexts take over their mass)."""
    order = order or DEFAULT_ORDERS.get(lang, 4)
    levels: list[defaultdict[str, Counter[str]]] = [defaultdict(Counter) for _ in range(order)]
    vocab: set[str] = set()
    for text in texts:
        stream = units(text, lang)
        if not stream:
            continue
        vocab.update(stream)
        padded = BOS * (order - 1) + stream
        for i in range(order - 1, len(padded)):
            w = padded[i]
            for k in range(order):
                levels[k][padded[i - k:i]][w] += 1
    counts: list[dict[str, dict[str, int]]] = []
    for k, level in enumerate(levels):
        keep = 1 if k + 1 < 3 else min_count
        pruned = {h: {w: c for w, c in f.items() if c >= keep} for h, f in level.items()}
        counts.append({h: f for h, f in pruned.items() if f})
    return CharNgramModel(lang=lang, order=order, vocab_size=len(vocab), counts=counts)


@dataclass(frozen=True, kw_only=True)
class PerplexityModels:
    """The models of several languages, saved together in one ``.json.gz`` file."""

    models: dict[str, CharNgramModel]

    def perplexity(self, text: str, lang: str) -> float | None:
        """Perplexity under the ``lang`` model; None when there is no such model or no text."""
        model = self.models.get(lang)
        return None if model is None else model.perplexity(text)

    def save(self, path: Path) -> None:
        """Write gzipped JSON (no name, mtime 0 in the header: equal models give equal bytes)."""
        data: dict[str, Any] = {
            "format": "knowforge-char-ngram",
            "version": FORMAT_VERSION,
            "models": {
                lang: {"order": m.order, "vocab_size": m.vocab_size, "counts": m.counts}
                for lang, m in sorted(self.models.items())
            },
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle, gzip.GzipFile(filename="", fileobj=handle, mode="wb", mtime=0) as gz:
            gz.write(raw)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> PerplexityModels:
        """Read a file written by :meth:`save`; raises ValueError for another format."""
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != "knowforge-char-ngram" or data.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a knowforge character n-gram model (version {FORMAT_VERSION})")
        models = {
            lang: CharNgramModel(lang=lang, order=m["order"], vocab_size=m["vocab_size"], counts=m["counts"])
            for lang, m in data["models"].items()
        }
        return cls(models=models)


def train_models(
    texts: Iterable[tuple[str, str]], *, orders: dict[str, int] | None = None, min_count: int = 1,
    max_chars: int | None = None,
) -> PerplexityModels:
    """Train one model per language from ``(lang, text)`` pairs; ``max_chars`` caps each language's
    training text (in order of arrival), which bounds the model size."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    seen: Counter[str] = Counter()
    for lang, text in texts:
        if max_chars is not None and seen[lang] >= max_chars:
            continue
        by_lang[lang].append(text)
        seen[lang] += len(text)
    orders = {**DEFAULT_ORDERS, **(orders or {})}
    return PerplexityModels(models={
        lang: train_model(docs, lang=lang, order=orders.get(lang), min_count=min_count)
        for lang, docs in sorted(by_lang.items())
    })
