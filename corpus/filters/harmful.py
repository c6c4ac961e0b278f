"""Harmful-content filter: bilingual per-category word lists matched in one Aho-Corasick pass.

Text is normalised against obfuscation first (NFKC full-width, case, Traditional→Simplified with
OpenCC, separators between CJK characters, spaced-out Latin letters), then a category is dropped when
both its distinct-term count and its hits per 1,000 characters reach the bounds (and, for a category
with a companion in ``needs``, the companion's terms occur: drug names need a selling term); plus a
domain blocklist for documents with ``meta.url``. The word lists are ours (see their headers); classifiers are left out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import numpy as np

from corpus.filters.base import KEEP, Filter, Scores, Verdict, batch_contains, re2_class, resolve_path
from corpus.filters.view import TextView, code_units
from corpus.text import HAN_BASIC, nfkc_many, normalize, opencc_converter

HARM_PORN = "harm_porn"
HARM_GAMBLING = "harm_gambling"
HARM_VIOLENCE = "harm_violence"
HARM_DRUGS = "harm_drugs"
HARM_HATE = "harm_hate"
HARM_FRAUD = "harm_fraud"
HARM_ADS = "harm_ads"
HARM_BLOCKED_DOMAIN = "harm_blocked_domain"
CATEGORY_REASONS = {
    "porn": HARM_PORN, "gambling": HARM_GAMBLING, "violence": HARM_VIOLENCE,
    "drugs": HARM_DRUGS, "hate": HARM_HATE, "fraud": HARM_FRAUD, "ads": HARM_ADS,
}

# Up to three separators (spaces, punctuation, underscores) between two CJK characters: "赌 . 博" → "赌博".
_CJK_GAP = re.compile(rf"(?<=[{HAN_BASIC.char_class}])[\s\W_]{{1,3}}(?=[{HAN_BASIC.char_class}])")
# A text without CJK characters has no such gap: one quick scan saves the lookbehind test at every
# position (a third of the normalisation time on English text).
_CJK = HAN_BASIC.regex
# Three or more single Latin letters/digits separated by one or two separators: "c a s i n o", "v.i.a.g.r.a".
_SPACED_LATIN = re.compile(r"(?<![a-z0-9])[a-z0-9](?:(?:[^\S\n]{1,2}|[.\-_*·]{1,2})[a-z0-9](?![a-z0-9])){2,}")
_SEPARATORS = re.compile(r"[\s\W_]+")
_LATIN = re.compile(r"[a-z0-9]")


def normalise(text: str) -> str:
    """Undo common obfuscation: full-width and case, Traditional script, separators inside words."""
    text = _fold(text)
    if len(text) >= _SPACED_NUMPY_MIN_CHARS and not has_spaced_latin(text):
        return text
    return _join_spaced(text)


def _fold(text: str) -> str:
    """NFKC, casefold, Traditional -> Simplified and no separators between Han characters: the steps of
    :func:`normalise` before the spaced-letter pass."""
    return _after_nfkc(normalize(text, case="casefold"))


def _after_nfkc(text: str) -> str:
    """The steps of :func:`_fold` after NFKC and casefold: Traditional -> Simplified, Han separators."""
    text = opencc_converter("t2s")(text)
    return _CJK_GAP.sub("", text) if _CJK.search(text) else text


# Short texts are folded many at a time, joined by this letter (Lisu BA, as in corpus.text.nfkc_many):
# casefold maps each character on its own; every key of t2s's dictionaries (CJK_Compatibility_Ideographs,
# TSPhrases, TSCharactersExt, TSCharacters) is made of ideographs (category Lo) and none holds this
# letter, so no phrase OpenCC matches spans a join; and the separator rule needs Han on both sides of a
# gap, which this letter (a word character) is not. Texts from _FOLD_JOIN_MAX_CHARS fold alone (OpenCC ran
# slower on joined Wikipedia articles, #20 session 6), and a call takes up to _FOLD_CHUNK_CHARS characters
# (t2s per 0.5 KB Chinese text, 1,024 texts: alone 2.8 us, 64 a call 1.8-1.9, all 1,024 in one call 2.4).
_FOLD_JOIN = "\ua4d0"
_FOLD_JOIN_MAX_CHARS = 1000
_FOLD_CHUNK_CHARS = 16_000


def _fold_many(texts: Sequence[str]) -> list[str]:
    """``[_fold(text) for text in texts]``: NFKC's character replacements for all texts in one gather
    (:func:`corpus.text.nfkc_many`), then casefold, OpenCC and the separator rule once per chunk of short
    texts joined by ``_FOLD_JOIN`` (the rule with numpy, :func:`_drop_han_gaps`) instead of once per text:
    0.5 KB Chinese texts 14.5 -> 7 us, English ones (ASCII: lower() alone) 2.8 -> 0.6."""
    nfkced = nfkc_many(texts)
    out: list[str] = [""] * len(nfkced)
    chunk: list[int] = []
    size = 0
    for i, text in enumerate(nfkced):
        if text.isascii():
            # casefold is lower on ASCII, and neither OpenCC (its keys are ideographs) nor the separator
            # rule (it needs Han) changes an ASCII text; joined to the letter, the text would be widened
            # to two bytes a character, where casefold runs ~6x slower.
            out[i] = text.lower()
            continue
        if len(text) >= _FOLD_JOIN_MAX_CHARS:
            out[i] = _after_nfkc(text.casefold())
            continue
        chunk.append(i)
        size += len(text) + 1
        if size >= _FOLD_CHUNK_CHARS:
            _fold_joined(nfkced, chunk, out)
            chunk, size = [], 0
    if chunk:
        _fold_joined(nfkced, chunk, out)
    return out


def _fold_joined(texts: Sequence[str], chunk: list[int], out: list[str]) -> None:
    """``out[i] = _fold(texts[i])`` (after NFKC) for the positions ``chunk``, from one casefold, one OpenCC
    call and one separator pass over those texts joined by ``_FOLD_JOIN``; a chunk in which a text holds the
    letter itself (so the parts would not split back where they were joined) folds text by text."""
    converted = opencc_converter("t2s")(_FOLD_JOIN.join(texts[i] for i in chunk).casefold())
    if converted.count(_FOLD_JOIN) != len(chunk) - 1:
        for i in chunk:
            out[i] = _after_nfkc(texts[i].casefold())
        return
    if _CJK.search(converted):
        converted = _drop_han_gaps(converted)
    for i, part in zip(chunk, converted.split(_FOLD_JOIN), strict=True):
        out[i] = part


@functools.lru_cache(maxsize=1)
def _gap_table() -> np.ndarray:
    """Per BMP code point, whether ``_CJK_GAP``'s separator class ``[\\s\\W_]`` holds it (bool, from the
    class's own regex; lone surrogates included)."""
    every = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=bool)
    for match in re.finditer(r"[\s\W_]+", every):
        table[match.start() : match.end()] = True
    return table


def _drop_han_gaps(text: str) -> str:
    """``_CJK_GAP.sub("", text)`` with numpy: the regex tests its lookbehind at every character (~30 ns a
    character of Chinese text), this a few array passes. A removed gap is a whole run of 1-3 separators
    with a Han character on each side: the match starts right after a Han character (so at a run's start)
    and must be followed by one, which no separator is, so it ends where the run does; a longer run has
    no match at all. Texts with characters outside the BMP take the regex."""
    units = np.frombuffer(text.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    if len(units) != len(text):
        return _CJK_GAP.sub("", text)
    (lo, hi), = HAN_BASIC.ranges
    han = (units >= lo) & (units <= hi)
    edges = np.diff(_gap_table()[units].view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # separator runs [start, end)
    short = (ends - starts <= 3) & (starts > 0) & (ends < len(units))
    starts, ends = starts[short], ends[short]
    gaps = han[starts - 1] & han[ends]
    if not gaps.any():
        return text
    starts, ends = starts[gaps], ends[gaps]
    keep = np.ones(len(units), dtype=bool)
    for offset in range(3):
        inside = starts + offset < ends
        keep[starts[inside] + offset] = False
    return units[keep].tobytes().decode("utf-16-le", "surrogatepass")


def _join_spaced(text: str) -> str:
    return _SPACED_LATIN.sub(lambda m: _SEPARATORS.sub("", m.group()), text)


@functools.lru_cache(maxsize=1)
def _spaced_candidates() -> str:
    """An RE2 pattern that matches a text exactly when ``_SPACED_LATIN`` matches somewhere in it.

    RE2 has no lookaround; for "is there a match" the characters the lookarounds test can be matched
    instead: a non-alphanumeric character (or an end of the text) before the first and after the last
    spaced letter (the letters between have gaps, which are non-alphanumeric, on both sides).
    """
    space = re2_class(r"[^\S\n]")
    return rf"(?:^|[^a-z0-9])[a-z0-9](?:(?:[{space}]{{1,2}}|[.\-_*·]{{1,2}})[a-z0-9]){{2,}}(?:[^a-z0-9]|$)"


def normalise_many(texts: Sequence[str]) -> list[str]:
    """``[normalise(text) for text in texts]``, with the spaced-letter pass run only on the texts where
    one RE2 pass over all of them finds a match (:func:`corpus.filters.base.batch_contains`; few texts have
    one). Per text that regex tries its lookbehind at every character: 0.5 KB English 12.5 -> 4.1 us for
    all of the normalisation, 4 KB pages (numpy test) 74 -> 49 us. The separator pass between Han characters
    stays per text: nearly every Chinese text has such a gap, and ``_CJK`` finds none in English fast.
    """
    folded = _fold_many(texts)
    return [_join_spaced(text) if hit else text
            for text, hit in zip(folded, batch_contains(folded, _spaced_candidates()), strict=True)]


# From this length the spaced-letter test below beats the regex, which tries its lookbehind at every
# character (4 KB English pages: 68 -> 32 us, 12 KB: 201 -> 86 us; at 0.5 KB the regex is faster).
_SPACED_NUMPY_MIN_CHARS = 2000
_ALNUM_BIT, _SPACE_BIT, _MARK_BIT = 1, 2, 4  # [a-z0-9], [^\S\n], [.\-_*·]: the classes of _SPACED_LATIN


@functools.lru_cache(maxsize=1)
def _spacing_classes() -> np.ndarray:
    """Per BMP code point, its _SPACED_LATIN classes (uint8 bits), from the classes' own regexes."""
    every = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=np.uint8)
    for pattern, bit in ((r"[a-z0-9]", _ALNUM_BIT), (r"[^\S\n]", _SPACE_BIT), (r"[.\-_*·]", _MARK_BIT)):
        for match in re.finditer(pattern, every):
            table[match.start()] |= bit
    return table


def has_spaced_latin(text: str) -> bool:
    """Whether ``_SPACED_LATIN`` matches somewhere in ``text``, from per-character classes (numpy).

    A match is three single letters or digits (none next to another one) with a gap between each two
    of one or two spaces, or one or two of ``.-_*·``. Per position i: ``single`` (an alnum without an
    alnum on either side), ``gap1``/``gap2`` (a gap of that length after i leads to a single), ``link``
    (i is a single with such a gap after it); a match is a link whose gap leads to another link.
    Worked example: "c a s" is single, gap1, single, gap1, single: the link at "c" leads to the link at "a".
    """
    units = code_units(text)
    if units is None:
        return _SPACED_LATIN.search(text) is not None
    classes = np.zeros(len(units) + 5, dtype=np.uint8)  # one position of padding before, four after
    classes[1 : len(units) + 1] = _spacing_classes()[units]
    alnum = (classes & _ALNUM_BIT).astype(bool)
    space = (classes & _SPACE_BIT).astype(bool)
    mark = (classes & _MARK_BIT).astype(bool)
    single = alnum.copy()
    single[1:] &= ~alnum[:-1]
    single[:-1] &= ~alnum[1:]
    gap1 = np.zeros_like(single)
    gap1[:-2] = (space | mark)[1:-1] & single[2:]
    gap2 = np.zeros_like(single)
    gap2[:-3] = ((space[1:-2] & space[2:-1]) | (mark[1:-2] & mark[2:-1])) & single[3:]
    link = single & (gap1 | gap2)
    if not link.any():
        return False
    return bool((link[:-3] & ((gap1[:-3] & link[2:-1]) | (gap2[:-3] & link[3:]))).any())


def read_lines(path: Path) -> list[str]:
    """Entries of one word-list file, one per line; a line that is ``#`` or starts with ``# `` is a comment.

    ``#`` followed by a letter is an entry, not a comment: hashtags (``#ad``, ``#sponsored``) are the
    disclosures sponsored posts carry. Every list under ``configs/wordlists`` is read with this.
    """
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and line != "#" and not line.startswith("# ")]


def normalised_text(view: TextView) -> str:
    """:func:`normalise` of the document, once per view: the harmful and promo filters both match on it."""
    return view.memo(_NORMALISED, lambda: normalise(view.text))


_NORMALISED = ("normalised",)


def normalised_texts(views: Sequence[TextView]) -> list[str]:
    """:func:`normalised_text` of each view; those not yet known are normalised together (:func:`normalise_many`)."""
    todo = [view for view in views if not view.knows(_NORMALISED)]
    for view, normalised in zip(todo, normalise_many([view.text for view in todo]), strict=True):
        view.memo(_NORMALISED, lambda normalised=normalised: normalised)
    return [normalised_text(view) for view in views]


def _as_bytes(text: str) -> str:
    """UTF-8 bytes of ``text`` as a latin-1 string (one char per byte).

    pyahocorasick scans a node's edges linearly, so a root with thousands of CJK first characters
    makes matching ~50x slower; over bytes no node has more than 256 edges.
    """
    return text.encode("utf-8").decode("latin-1")


def _word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


# The characters _word_char holds, for a set lookup in Matcher.count's loop instead of a call per match.
_WORD_CHARS = frozenset(c for c in map(chr, range(128)) if _word_char(c))


@dataclass(frozen=True)
class Matcher:
    """An Aho-Corasick automaton over all categories' terms (as UTF-8 bytes); values ``(category, term, latin, n)``."""

    automaton: Any
    categories: tuple[str, ...]

    def count(self, normalised: str) -> dict[str, dict[str, int]]:
        """``{category: {term: hits}}`` in one pass (longest non-overlapping matches, so "online casino"
        counts once, not also as "casino"); Latin terms must sit on ASCII word boundaries."""
        found: dict[str, dict[str, int]] = {}
        data = _as_bytes(normalised)
        size = len(data)
        word_chars = _WORD_CHARS
        for end, (category, term, latin, length) in self.automaton.iter_long(data):
            if latin:
                start = end - length + 1
                if (start > 0 and data[start - 1] in word_chars) or (end + 1 < size and data[end + 1] in word_chars):
                    continue  # "class" must not hit "ass"; "sussex" must not hit "sex"
            terms = found.setdefault(category, {})
            terms[term] = terms.get(term, 0) + 1
        return found


def build_matcher(lists: dict[str, list[str]]) -> Matcher:
    """Build the automaton from ``{category: terms}``; a term listed twice keeps its first category."""
    import ahocorasick

    automaton = ahocorasick.Automaton()
    for category, terms in lists.items():
        for term in terms:
            key = _as_bytes(term)
            if key not in automaton:
                automaton.add_word(key, (category, term, bool(_LATIN.search(term)), len(key)))
    automaton.make_automaton()
    return Matcher(automaton=automaton, categories=tuple(lists))


@functools.lru_cache(maxsize=8)
def load_matcher(directory: str) -> Matcher:
    """Load every ``<category>.<lang>.txt`` under ``directory`` into one matcher, once per process."""
    root = resolve_path(directory)
    lists: dict[str, list[str]] = {}
    for path in sorted(root.glob("*.txt")):
        lists.setdefault(path.name.split(".", 1)[0], []).extend(map(normalise, read_lines(path)))
    if not lists:
        raise FileNotFoundError(f"no word lists (*.txt) in {root}")
    return build_matcher(lists)


@functools.lru_cache(maxsize=8)
def load_domains(path: str) -> frozenset[str]:
    """Blocked domains, one per line; a domain blocks its subdomains too."""
    return frozenset(d.lower().rstrip(".") for d in read_lines(resolve_path(path)))


def blocked_domain(url: str, domains: frozenset[str]) -> str | None:
    """The blocklisted domain that ``url``'s host is or belongs to, else None."""
    host = (urlsplit(url if "//" in url else f"//{url}").hostname or "").lower().rstrip(".")
    parts = host.split(".")
    for i in range(len(parts) - 1):
        if ".".join(parts[i:]) in domains:
            return ".".join(parts[i:])
    return None


@functools.lru_cache(maxsize=8)
def _zero_scores(categories: tuple[str, ...]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The scores of a document matching no category (``_terms`` left to the caller: a list per document),
    and the ``_terms`` keys."""
    zeros: dict[str, Any] = {}
    for category in categories:
        zeros.update({f"{category}_hits": 0, f"{category}_distinct": 0, f"{category}_per_1k_chars": 0.0,
                      f"{category}_terms": None})
    return zeros, tuple(f"{category}_terms" for category in categories)


def _scores(matcher: Matcher, normalised: str, zeros: dict[str, Any], term_keys: tuple[str, ...]) -> Scores:
    """:meth:`HarmfulFilter.score` of a normalised text, given ``_zero_scores`` of the matcher's categories."""
    found = matcher.count(normalised)
    length = max(len(normalised), 1)
    # Every category gets all four keys (zeros when absent): the same score names, in the same order,
    # in every document. Most documents match no category: a copy of the zeros, a fresh list each.
    scores: Scores = zeros.copy()
    for key in term_keys:
        scores[key] = []
    for category, terms in found.items():
        hits = sum(terms.values())
        scores[f"{category}_hits"] = hits
        scores[f"{category}_distinct"] = len(terms)
        scores[f"{category}_per_1k_chars"] = round(1000 * hits / length, 3)
        scores[f"{category}_terms"] = sorted(terms, key=terms.get, reverse=True)[:10]
    return scores


@functools.lru_cache(maxsize=8)
def _judged(categories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``(category, its hits score)`` in the order :meth:`HarmfulFilter.decide` judges them. Advertising
    is checked last: a casino page full of "注册送" is gambling first, an ad second."""
    return tuple((category, f"{category}_hits") for category in sorted(categories, key=lambda c: c == "ads"))


@dataclass(frozen=True, kw_only=True)
class HarmfulFilter(Filter):
    """Drop documents dense in one category's terms.

    A category is dropped when it has at least ``min_distinct`` different terms *and* at least
    ``min_per_1k_chars`` hits per 1,000 normalised characters. ``thresholds[category]`` overrides both
    for one category; ``thresholds[category] = None`` switches the category off.

    ``needs[category] = companion``: the category is dropped only when the document also holds at least
    one term of ``companion``, a context category never judged on its own. Substance names alone are the
    vocabulary of drug news, policy and encyclopedia articles as much as of drug spam; what a drug-selling
    page adds is the sale (``drugs_trade``: "for sale", "货到付款", ...).
    """

    name: ClassVar[str] = "harmful"
    wordlists: str = "configs/wordlists/harmful"
    min_distinct: int = 3
    min_per_1k_chars: float = 2.0
    thresholds: dict[str, dict[str, float] | None] = field(default_factory=dict)
    needs: dict[str, str] = field(default_factory=lambda: {"drugs": "drugs_trade"})
    domain_blocklist: str | None = "configs/wordlists/blocked_domains.txt"

    def __post_init__(self) -> None:
        for category, bounds in self.thresholds.items():
            if bounds is not None and set(bounds) != {"min_distinct", "min_per_1k_chars"}:
                raise ValueError(f"harmful: thresholds[{category!r}] needs exactly min_distinct, min_per_1k_chars")
        categories = load_matcher(self.wordlists).categories
        for category, companion in self.needs.items():
            if category in categories and companion not in categories:
                raise ValueError(f"harmful: needs[{category!r}] names {companion!r}, which has no word list "
                                 f"({companion}.<lang>.txt) in {self.wordlists}")

    def score(self, text: str | TextView) -> Scores:
        """Per category: hits, distinct terms, hits per 1,000 normalised characters, top matched terms."""
        matcher = load_matcher(self.wordlists)
        return _scores(matcher, normalised_text(TextView.of(text)), *_zero_scores(matcher.categories))

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the texts normalised together first (:func:`normalised_texts`) and
        the matcher and zero scores looked up once for the batch."""
        matcher = load_matcher(self.wordlists)
        zeros, term_keys = _zero_scores(matcher.categories)
        return [_scores(matcher, normalised, zeros, term_keys) for normalised in normalised_texts(views)]

    @functools.cached_property
    def _judged_order(self) -> tuple[tuple[str, str], ...]:
        """:func:`_judged` of this filter's categories, looked up once per filter rather than per document."""
        return _judged(load_matcher(self.wordlists).categories)

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Blocked domain first, then the first category whose distinct and density bounds are both met
        (and whose ``needs`` companion occurs); companions are context, not judged alone."""
        url = (doc.get("meta") or {}).get("url")
        if self.domain_blocklist and url:
            domain = blocked_domain(str(url), load_domains(self.domain_blocklist))
            if domain:
                return Verdict(False, HARM_BLOCKED_DOMAIN, domain, self.domain_blocklist)
        # Most documents hit no category: those are decided by one look at each category's hits.
        hit = [category for category, key in self._judged_order if scores.get(key)]
        if not hit:
            return KEEP
        default = {"min_distinct": self.min_distinct, "min_per_1k_chars": self.min_per_1k_chars}
        companions = set(self.needs.values())
        for category in hit:
            bounds = self.thresholds.get(category, default)
            if bounds is None or category in companions:
                continue
            distinct, density = scores[f"{category}_distinct"], scores[f"{category}_per_1k_chars"]
            if distinct < bounds["min_distinct"] or density < bounds["min_per_1k_chars"]:
                continue
            value = {"distinct": distinct, "per_1k_chars": density, "terms": scores[f"{category}_terms"]}
            threshold: dict[str, Any] = dict(bounds)
            companion = self.needs.get(category)
            if companion is not None:
                if not scores.get(f"{companion}_hits"):
                    continue
                value[f"{companion}_terms"] = scores[f"{companion}_terms"]
                threshold["needs"] = companion
            return Verdict(False, CATEGORY_REASONS.get(category, f"harm_{category}"), value, threshold)
        return KEEP
