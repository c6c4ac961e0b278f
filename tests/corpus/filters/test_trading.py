"""The trading-calls filter: a signal column with the tipster's handle is dropped, market news and finance
answers that name levels are kept (texts written for these tests)."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus.filters.registry import build_filter
from corpus.filters.route import load_plan
from corpus.filters.stage import FilterStep
from corpus.filters.trading import ZH_TRADING_CALLS, TradingCallsFilter
from corpus.records import rejection
from corpus.schema import conform_meta

SIGNAL_COLUMN = (
    "12月3日黄金日内操作建议：昨日金价冲高回落，日线收出长上影线，短线多空分歧加大。今日亚盘先看震荡整理，"
    "欧美盘关注非农数据前的资金动向。操作上，1935附近做多，止损1928，目标1950；反弹1962一线做空，止损1970，"
    "下看1945。以上仅为个人观点，更多实时策略可加老师微信：gold8866 交流。"
)
# The same column in Traditional characters with full-width digits and the handle spelt to pass keyword filters.
SIGNAL_COLUMN_HANT = (
    "黃金日內操作建議：１９３５附近做多，止損１９２８，目標１９５０；反彈１９６２一線做空，止損１９７０。"
    "想要第一時間獲取點位，請加薇信ｇｏｌｄ８８６６。"
)
MARKET_NEWS = (
    "国际金价周二小幅回落。分析人士指出，美元走强令金价承压，若金价跌破1900美元关口，部分多头可能止损离场，"
    "下方支撑位于1880美元附近；但央行购金需求仍为金价提供支撑。某期货公司研究员表示，短期内金价或维持区间震荡，"
    "激进的投资者可在1880美元附近做多，止损设在1870美元，但应控制仓位。"
)
FINANCE_ANSWER = (
    "您好，止损是指在价格向不利方向变动时及时卖出以限制亏损。比如您在10元买入一只股票，可以把止损设在9.5元，"
    "跌破就卖出。新手建议轻仓操作，不要频繁加仓。如有疑问，可以拨打券商客服热线95553咨询。"
)
ONE_CALL_WITH_HANDLE = "今天我在3200点附近建仓了一些指数基金，准备长期持有。想交流基金定投的朋友可以加我微信：fund2024。"


def test_a_signal_column_with_a_private_contact_is_dropped_by_name_with_value_and_threshold() -> None:
    scores = TradingCallsFilter().score(SIGNAL_COLUMN)
    assert scores["calls"] == 6 and scores["contacts"] == 1
    assert scores["terms"][:2] == ["1935附近做多", "止损1928"]
    verdict = TradingCallsFilter().decide(scores, {"meta": {}})
    assert (verdict.keep, verdict.reason, verdict.value, verdict.threshold) == (False, ZH_TRADING_CALLS, 6, 2)


def test_traditional_full_width_and_a_spelt_handle_are_matched() -> None:
    verdict = TradingCallsFilter().keep({"text": SIGNAL_COLUMN_HANT, "meta": {}})
    assert (verdict.keep, verdict.reason) == (False, ZH_TRADING_CALLS)


@pytest.mark.parametrize("text", [MARKET_NEWS, FINANCE_ANSWER, ONE_CALL_WITH_HANDLE],
                         ids=["market-news", "finance-answer", "one-call-and-a-handle"])
def test_levels_without_a_private_contact_or_a_single_call_are_kept(text: str) -> None:
    scores = TradingCallsFilter().score(text)
    assert TradingCallsFilter().decide(scores, {"meta": {}}).keep, scores
    assert scores["calls"] >= 1  # each names at least one level to trade at


def test_news_calls_need_the_contact_a_hotline_is_not_one_and_null_switches_the_rule_off() -> None:
    assert TradingCallsFilter().score(MARKET_NEWS)["calls"] == 2  # a researcher's levels, quoted in news
    scores = TradingCallsFilter().score(FINANCE_ANSWER)
    assert scores["calls"] == 1 and scores["contacts"] == 0  # a broker's hotline invites no one into a group
    assert TradingCallsFilter(min_calls=None).keep({"text": SIGNAL_COLUMN, "meta": {}}).keep


def test_the_zh_chain_runs_it_from_yaml_and_the_drop_is_explained() -> None:
    plan = load_plan("configs/filters/mixed.yaml")
    names = [f.name for f in plan.chains["zh"]]
    assert names.index("trading_calls") < names.index("promo")
    assert build_filter("trading_calls", {"min_calls": 2, "min_contacts": 1}) == TradingCallsFilter()
    docs = [{"id": "signal", "text": SIGNAL_COLUMN, "source": "web", "meta": {"lang": "zh"}},
            {"id": "news", "text": MARKET_NEWS, "source": "web", "meta": {"lang": "zh"}}]
    out = {d["id"]: d for d in FilterStep()(iter(docs), Counter())}
    reject = rejection(out["signal"])
    assert (reject["filter"], reject["reason"], reject["value"], reject["threshold"]) == \
        ("trading_calls", ZH_TRADING_CALLS, 6, 2)
    assert rejection(out["news"]) is None
    for doc in out.values():
        conform_meta(doc["meta"])  # the new scores are declared in corpus/schema.py
