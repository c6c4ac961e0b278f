"""Trading-signal spam (喊单): a day's entry, stop-loss and target prices, and the tipster's private contact.

Crude-oil, forex, precious-metal and stock "signal" columns give levels to trade at ("回调50.6做多，止损50，
先看51.6") and end by inviting readers to a private channel ("更多行情可与笔者薇信…交流"), the hook of the
paid-group schemes that Chinese regulators warn about (非法荐股). Market news and finance Q&A name levels
and stop-losses too, but not the writer's own WeChat, QQ or mobile: the rule needs both. Chinese only;
written by the knowforge authors (no published list or rule covers it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.base import KEEP, Filter, Scores, Verdict, batch_contains
from corpus.filters.harmful import normalised_text, normalised_texts
from corpus.filters.promo import CN_MOBILE, WECHAT_SPELLINGS
from corpus.filters.view import TextView

ZH_TRADING_CALLS = "zh_trading_calls"

# Trade actions of signal jargon. Not 买入/卖出/低吸 alone: investment advice and Q&A answers say
# "3点买入" without calling a trade.
_ACTIONS = ("做多", "做空", "多单", "空单", "进多", "进空", "加仓", "减仓", "建仓", "开仓", "平仓", "补仓",
            "止损", "止盈", "进场", "入场", "离场")
_ACTION = "(?:" + "|".join(_ACTIONS) + ")"
_ANY_ACTION = "|".join(map(re.escape, _ACTIONS))  # RE2: a text holds one of the actions (literals)
_LEVEL = r"\d+(?:\.\d+)?"
# A call is a price level beside a trade action, in either order, on the normalised text (NFKC: full-width
# digits are ASCII; OpenCC t2s: 止損 is 止损): "50.6做多", "51.7美元做空", "50美元附近轻仓多单" (level, unit,
# place word, size word, action) or "止损50", "目标位51.2", "下看51" (action or target, link word, level).
_CALL = re.compile(
    rf"{_LEVEL}\s?(?:美元|元|点)?\s?(?:附近|一线|上方|下方|区域|左右|处)?\s?(?:轻仓|重仓|逢低|逢高|顺势)?{_ACTION}"
    rf"|(?:止损|止盈|目标位?|防守|上看|下看|先看|再看)\s?(?:位|价|设在|设|在|于|看|至|到)?\s?{_LEVEL}"
)
# The tipster's private contact: a mainland mobile number, or a WeChat/QQ handle written out (微信, spelt
# 薇信/v信/vx to pass keyword filters, QQ/扣扣, with or without 号/群 and a colon) and followed by the handle.
# Not hotlines, URLs or company e-mails: a broker's or a newspaper's address is not an invitation.
_CONTACT = re.compile(
    CN_MOBILE
    + rf"|(?:微信|{'|'.join(WECHAT_SPELLINGS)}|(?<![a-z])(?:wx|vx|qq)|扣扣)\s?(?:号|群)?\s?[:：]?\s?[a-z0-9_-]{{5,}}"
)


@dataclass(frozen=True, kw_only=True)
class TradingCallsFilter(Filter):
    """Drop a text with at least ``min_calls`` trading calls (a price level beside a trade action) and at
    least ``min_contacts`` private contacts. Both are the least evidence that drops; ``min_calls: null``
    switches the rule off. Worked example: an oil-signal column of 830 characters with "回调50.6做多",
    "50美元加仓", "先看51.2", "再看51.6", "51.7美元做空", "下看51" (6 calls) and "薇信1771443606" (1 contact)."""

    name: ClassVar[str] = "trading_calls"
    min_calls: int | None = 2
    min_contacts: int = 1

    def score(self, text: str | TextView) -> Scores:
        """Calls and private contacts found, and the first five calls as written (for the reader of a drop)."""
        normalised = normalised_text(TextView.of(text))
        # Most texts name no trade action at all: one scan per literal is cheaper than the regex over every
        # digit. Targets ("下看51") are counted only beside an action: a target alone calls no trade.
        return self._score(normalised, any(action in normalised for action in _ACTIONS))

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view; which texts name a trade action comes from one RE2 pass over the
        batch (:func:`corpus.filters.base.batch_contains`) instead of 17 substring scans a text (0.5 KB
        Chinese: ~4 us a text)."""
        normalised = normalised_texts(views)
        # RE2 also answers True for a text it cannot read (a lone surrogate): the literal scan decides those
        # (and confirms the few texts that hold an action), since a target alone ("目标50") is no call.
        return [self._score(text, hit and any(action in text for action in _ACTIONS))
                for text, hit in zip(normalised, batch_contains(normalised, _ANY_ACTION), strict=True)]

    def _score(self, normalised: str, named: bool) -> Scores:
        """:meth:`score` of a normalised text; ``named``: whether it holds one of ``_ACTIONS``."""
        if not named:
            return {"calls": 0, "contacts": 0, "terms": []}
        calls = _CALL.findall(normalised)
        contacts = len(_CONTACT.findall(normalised)) if calls else 0
        return {"calls": len(calls), "contacts": contacts, "terms": calls[:5]}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Drop when both bounds are reached; ``value`` is the number of calls, ``threshold`` its bound."""
        if self.min_calls is None or scores["calls"] < self.min_calls or scores["contacts"] < self.min_contacts:
            return KEEP
        return Verdict(False, ZH_TRADING_CALLS, scores["calls"], self.min_calls)
