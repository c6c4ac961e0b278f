"""Commercial and promotional text: one score for the advertising register, from devices that co-occur in it.

Advertorials, shop and landing pages and app or game promotions are fluent prose, so line-shape rules
keep them; what gives them away is the mix of calls to action, offers and prices, contact details, a
business pitching itself, hype, addressing the reader and disclosures (#ad), with reporting voice (记者,
"said") as counter-evidence. Word lists (``configs/wordlists/promo/``) and two patterns count each
device; a page is dropped when several kinds are dense. No learned model (no shippable training data).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import mul
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict, batch_contains, re2_class, resolve_path
from corpus.filters.harmful import Matcher, load_matcher, normalised_text, normalised_texts
from corpus.filters.view import TextView

PROMO_COMMERCIAL = "promo_commercial"

# Devices found by pattern rather than by word list, on the normalised text (NFKC, casefold, t2s). Each
# alternative starts with a literal or a character class, never a lookbehind, so the regex engine skips
# ahead to candidate positions instead of trying every character (contacts: 2.9 -> 0.3 ms per dev page).
# price: a currency sign before a number (not "$3 billion"), a number directly before 元/块钱/€ (so
# "3000万元" in a company report is not a shop price), or "20% off".
_PRICE = re.compile(
    r"[¥￥$€£]\s?\d[\d,]*(?:\.\d+)?(?![\d,.]|\s?(?:million|billion|trillion|bn|亿|万))"
    r"|\d[\d,]*(?:\.\d+)?\s?(?:元|块钱|€)"
    r"|\d+\s?%\s?off\b"
)
# contact: URLs, e-mail domains, bare shop domains (one hit each), QQ and WeChat handles ... A URL is
# printable ASCII: Chinese text has no space after it, so "\S+" ran on to the end of the paragraph and
# counted "请记住官方网站：http://a.com/…http://b.cn/" as one contact.
_CONTACT = re.compile(
    r"https?://[!-~]+|www\.[!-~]+|@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]+|\.(?:com|cn|net|cc|top|shop|store|vip)(?![a-z0-9])"
    r"|qq\s?[:：号群]?\s?\d{5,11}|微信号|微信[:：]|wechat"
)
# WeChat spelt to get past keyword filters (薇信, V信, 加V, vx) and followed by a handle: a seller's or a
# tipster's contact ("更多行情可与笔者薇信1771443606交流"); not 威信 (prestige), and never without a handle.
# "vx" only with a separator after it: inside base64 data it is two random letters. A pattern of its own,
# tried only when one of its literals occurs (`in` scans; as an alternative of _CONTACT, whose first
# characters "v" and "加" are everywhere, it made the contact scan 4x slower).
# The spellings are shared with the trading-calls rule (corpus/filters/trading.py), which needs the same
# tipster's contact.
WECHAT_SPELLINGS = ("薇信", "徽信", "v信", "加v", "加薇")
_WECHAT_SPELT = re.compile(rf"(?:{'|'.join(WECHAT_SPELLINGS)})\s?[:：号]?\s?[a-z0-9_-]{{5,}}"
                           r"|vx(?:\s?[:：号]|\s)\s?[a-z0-9_-]{5,}")
_WECHAT_SPELT_LITERALS = (*WECHAT_SPELLINGS, "vx")
# ... and telephone numbers: Chinese mobiles and 400 hotlines, landlines with area code, North-American
# numbers, checked only inside runs of digits and separators (rare, and found by a fast scan).
_PHONE_RUN = re.compile(r"[\d(][\d()\-. ]{9,}\d")
CN_MOBILE = r"(?<!\d)1[3-9]\d{9}(?!\d)"  # a mainland mobile number (trading.py uses it too)
_PHONE = re.compile(
    CN_MOBILE + r"|(?<!\d)400[-\s]?\d{3}[-\s]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"
    r"|\(\d{3}\)\s?\d{3}-\d{4}|(?<!\d)\d{3}[-.]\d{3}[-.]\d{4}(?!\d)"
)
PATTERNS = {"price": _PRICE, "contact": _CONTACT}


@functools.lru_cache(maxsize=1)
def _candidate_patterns() -> tuple[str, str, str]:
    """RE2 patterns matching a text exactly when ``_PHONE_RUN`` matches in it / one of
    ``_WECHAT_SPELT_LITERALS`` occurs in it, and one matching wherever ``_PRICE`` does: its alternatives
    without the look-ahead and ``\\b`` (``\\d``, ``\\s`` spelt out as Python's: RE2's are ASCII)."""
    digit, space = re2_class(r"\d"), re2_class(r"\s")
    phone_runs = rf"[{digit}(][{digit}()\-. ]{{9,}}[{digit}]"
    prices = (rf"[¥￥$€£][{space}]?[{digit}]|[{digit}][{digit},]*(?:\.[{digit}]+)?[{space}]?(?:元|块钱|€)"
              rf"|[{digit}]+[{space}]?%[{space}]?off")
    return phone_runs, "|".join(map(re.escape, _WECHAT_SPELT_LITERALS)), prices
# _PRICE's matches, found faster. Its alternatives start with a class ([¥￥$€£], \d), so `re` gets no
# first-character set and tries all three at every position (~27 ns a character). The same alternatives
# behind one class of their first characters let it skip to a currency sign or a digit; the lookbehind
# then picks the alternatives that first character starts (the two classes are disjoint; "\d+" is
# "\d\d*"). A text without 元, 块钱, € and "%" can only hold the first alternative, whose first character
# is rarer still. 4 KB English pages: 110 -> 21 us; Wikipedia articles 437 -> 95 us.
_PRICE_CURRENCY = r"[¥￥$€£]"
_PRICE_AFTER_CURRENCY = r"\s?\d[\d,]*(?:\.\d+)?(?![\d,.]|\s?(?:million|billion|trillion|bn|亿|万))"
_PRICE_ONLY_CURRENCY = re.compile(_PRICE_CURRENCY + _PRICE_AFTER_CURRENCY)
_PRICE_ONE_CLASS = re.compile(
    rf"[¥￥$€£\d](?:(?<={_PRICE_CURRENCY}){_PRICE_AFTER_CURRENCY}"
    r"|(?<=\d)(?:[\d,]*(?:\.\d+)?\s?(?:元|块钱|€)|\d*\s?%\s?off\b))"
)


def count_prices(normalised: str) -> int:
    """``len(_PRICE.findall(normalised))``: the same matches, from a pattern ``re`` can skip ahead in."""
    if "%" in normalised or "元" in normalised or "块钱" in normalised or "€" in normalised:
        return len(_PRICE_ONE_CLASS.findall(normalised))
    return len(_PRICE_ONLY_CURRENCY.findall(normalised))

# Word-list categories (configs/wordlists/promo/<category>.<lang>.txt) and pattern categories. ``report``
# (reporting voice: 记者, "said") is counter-evidence and takes a negative weight.
LIST_CATEGORIES = ("address", "business", "cta", "disclosure", "hype", "offer", "report", "self")
CATEGORIES = tuple(sorted((*LIST_CATEGORIES, *PATTERNS)))
DISTINCT = frozenset({"business", "cta", "hype", "offer"})
# The order of the hit scores: the list categories, then the pattern ones.
_HIT_CATEGORIES = (*LIST_CATEGORIES, "price", "contact")
_HIT_KEYS = tuple(f"{c}_hits" for c in _HIT_CATEGORIES)
# The seller's voice, as against the topic of trade (offers, prices, contacts, a business's services),
# which news about markets shares: two kinds suffice only when one of them is a voice. 您 and "we" are
# not enough for that: advice and Q&A answers say "您好，建议您…" and memoirs say 我们.
VOICE = frozenset({"cta", "disclosure", "hype"})


@functools.lru_cache(maxsize=8)
def load_promo_matcher(directory: str) -> Matcher:
    """The harmful filter's matcher over ``directory``'s lists, refusing a category the score does not know."""
    matcher = load_matcher(directory)
    unknown = sorted(set(matcher.categories) - set(LIST_CATEGORIES))
    if unknown:
        raise ValueError(f"{resolve_path(directory)}: promo lists of unknown category {', '.join(unknown)}; "
                         f"known: {', '.join(LIST_CATEGORIES)}")
    return matcher


def _default_weights() -> dict[str, float]:
    """The zh chain's weights (configs/filters/zh.yaml); en.yaml sets its own."""
    return {"disclosure": 4.0, "cta": 3.0, "address": 2.0, "offer": 1.0, "price": 1.0, "contact": 1.0,
            "business": 1.5, "hype": 1.0, "self": 0.5, "report": -2.0}


def _default_caps() -> dict[str, int]:
    """The zh chain's caps (configs/filters/zh.yaml)."""
    return {"disclosure": 2, "cta": 3, "address": 4, "offer": 4, "price": 3, "contact": 3, "business": 5,
            "hype": 4, "self": 4, "report": 5}


@dataclass(frozen=True, kw_only=True)
class PromoFilter(Filter):
    """Drop text written to sell: several kinds of promotional device, densely.

    Per category, hits are capped (``caps``: a price list or a page of links is one device repeated, not
    advertising) and weighted (``weights``: a call to action says more than a superlative). The score is
    ``sum(weight * min(hits, cap)) * 1000 / max(chars, min_chars_norm)``: points per 1,000 characters,
    with short texts counted as ``min_chars_norm`` long so that two hits in a tweet-length text do not
    make a high density. A document is dropped when ``score > max_score`` and at least ``min_kinds``
    categories are present, one of them the seller's voice (``VOICE``: a call to action, hype, a
    disclosure), or ``min_kinds + 1`` categories of any: a market report has prices and trade words, and a
    Q&A answer says 您 and names a hotline, but neither sells. Addressing the reader and a seller's "we"
    count as one kind between them. Worked example (zh weights): a 400-character camera
    promotion with one call to action, two offer words, one price and two 您 scores
    (3 + 2 + 1 + 4) * 1000 / 500 = 20 over 4 kinds, above the bound 8.
    """

    name: ClassVar[str] = "promo"
    wordlists: str = "configs/wordlists/promo"
    max_score: float | None = 8.0
    min_kinds: int = 2
    min_chars_norm: int = 500
    weights: dict[str, float] = field(default_factory=_default_weights)
    caps: dict[str, int] = field(default_factory=_default_caps)

    def __post_init__(self) -> None:
        for name, table in (("weights", self.weights), ("caps", self.caps)):
            if set(table) != set(CATEGORIES):
                raise ValueError(f"promo: {name} needs exactly the categories {', '.join(CATEGORIES)}")

    @functools.cached_property
    def _tables(self) -> tuple[tuple[float, ...], tuple[int, ...], tuple[bool, ...]]:
        """The weights, the caps and whether the weight is positive (the category counts as a kind), in
        ``_HIT_CATEGORIES`` order: looked up once, not per document and category."""
        return (tuple(self.weights[c] for c in _HIT_CATEGORIES), tuple(self.caps[c] for c in _HIT_CATEGORIES),
                tuple(self.weights[c] > 0 for c in _HIT_CATEGORIES))

    def score(self, text: str | TextView) -> Scores:
        """Hits per category, the number of categories present, and the weighted points per 1,000 chars."""
        return self._score(TextView.of(text), phone_runs=True, spelt=True, prices=True)

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view; one RE2 pass over the batch per pattern finds the texts that can
        hold a phone number, a spelt WeChat handle or a price, and only those get the Python passes (most
        texts have none: 4 KB pages ~50 us less, Wikipedia articles ~140)."""
        normalised = normalised_texts(views)
        found = [batch_contains(normalised, pattern) for pattern in _candidate_patterns()]
        return [self._score(view, phone_runs=run, spelt=literal, prices=price)
                for view, run, literal, price in zip(views, *found, strict=True)]

    def _score(self, view: TextView, *, phone_runs: bool, spelt: bool, prices: bool) -> Scores:
        """:meth:`score`; ``phone_runs`` / ``spelt`` / ``prices`` False: the text has no ``_PHONE_RUN``
        match / none of ``_WECHAT_SPELT_LITERALS`` / no ``_PRICE`` match, so those passes are skipped
        (they would count nothing)."""
        normalised = normalised_text(view)
        found = load_promo_matcher(self.wordlists).count(normalised)
        # Phrase categories count distinct terms: a promotion strings many different devices together,
        # while an article about merchants repeats its topic word (商家, "deals") without becoming one.
        # Hits in _HIT_CATEGORIES order: the list categories, then price and contact.
        hits = [0 if category not in found else len(found[category]) if category in DISTINCT else
                sum(found[category].values()) for category in LIST_CATEGORIES]
        hits.append(count_prices(normalised) if prices else 0)  # PATTERNS["price"]'s matches
        contacts = len(_CONTACT.findall(normalised))
        if phone_runs:
            contacts += sum(len(_PHONE.findall(run)) for run in _PHONE_RUN.findall(normalised))
        if spelt and any(literal in normalised for literal in _WECHAT_SPELT_LITERALS):
            contacts += len(_WECHAT_SPELT.findall(normalised))
        hits.append(contacts)
        weights, caps, weighs = self._tables
        # The terms added in the category order, as before (a float sum depends on its order).
        points = sum(map(mul, weights, map(min, hits, caps)))  # weight * min(hits, cap), left to right
        length = max(len(normalised), self.min_chars_norm)
        terms = [t for c in ("disclosure", "cta", "offer", "business", "hype") if c in found for t in found[c]]
        scores: Scores = dict(zip(_HIT_KEYS, hits, strict=True))
        present = [c for c, n, positive in zip(_HIT_CATEGORIES, hits, weighs, strict=True) if n > 0 and positive]
        # 您 and "we" together are one kind, a persona: a service reply says "您的快递…我们会为您处理".
        scores["kinds"] = len(present) - ("address" in present and "self" in present)
        scores["voice_kinds"] = len(VOICE.intersection(present))
        scores["score"] = round(1000 * points / length, 3)
        scores["terms"] = terms[:10]
        return scores

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Drop when the score is above ``max_score`` with enough kinds of device: ``min_kinds`` of which
        one is the seller's voice, or ``min_kinds + 1`` of any."""
        kinds = scores["kinds"]
        enough = kinds > self.min_kinds or (kinds == self.min_kinds and scores["voice_kinds"] > 0)
        if self.max_score is None or not enough or scores["score"] <= self.max_score:
            return KEEP
        # value and threshold are the score and the bound it crossed (numbers, so the drop table shows
        # them); the kinds and terms behind the score stay in meta.scores.promo.
        return Verdict(False, PROMO_COMMERCIAL, scores["score"], self.max_score)
