"""The readings filter: pinyin injected after characters is dropped, a gloss or two is kept (texts written here)."""

from __future__ import annotations

import pytest

from corpus.filters.readings import ZH_INJECTED_READINGS, InjectedReadingsFilter
from corpus.filters.registry import build_filter
from corpus.filters.route import load_plan

INJECTED = ("27日，由烟(yan)台市(shi)教育装备(bei)与技术研究中心和烟(yan)台市(shi)科学技术宣传馆共(gong)同主(zhu)办的"
            "第(di)二十(shi)一届(jie)中小学机器人竞赛(sai)在二中东(dong)校区体(ti)育场(chang)举行。")
INJECTED_TONES = "雲南網（wǎng）絡（luò）公司專（zhuān）業（yè）做網（wǎng）站推廣，歡迎您來（lái）電咨詢（xún），責（zé）任公司。"
GLOSSED = ("作用域（scope）决定了一个名字在程序中的可见范围。栈（stack）是一种后进先出的结构，"
           "函数调用时的局部变量就放在栈上，返回时依次弹出。")


@pytest.mark.parametrize("text", [INJECTED, INJECTED_TONES], ids=["toneless", "tone marks, full-width"])
def test_injected_readings_are_dropped_by_name_with_value_and_threshold(text):
    verdict = InjectedReadingsFilter().keep({"text": text, "meta": {}})
    assert (verdict.keep, verdict.reason) == (False, ZH_INJECTED_READINGS)
    assert verdict.value >= verdict.threshold == 3.0


def test_a_text_that_glosses_terms_is_kept():
    scores = InjectedReadingsFilter().score(GLOSSED)
    assert scores["hits"] == 2
    assert InjectedReadingsFilter().decide(scores, {"meta": {}}).keep


def test_few_readings_in_a_long_text_are_kept_and_null_switches_the_rule_off():
    # 14 readings in about 5,300 characters: frequent, but 2.6 per 1,000 is below the density bound.
    long_text = INJECTED + "长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉。" * 150
    scores = InjectedReadingsFilter().score(long_text)
    assert scores["hits"] == 14 and scores["per_1k_chars"] < 3.0
    assert InjectedReadingsFilter().decide(scores, {"meta": {}}).keep
    assert InjectedReadingsFilter(min_hits=None).keep({"text": INJECTED, "meta": {}}).keep


def test_the_zh_chain_runs_it_from_yaml():
    plan = load_plan("configs/filters/mixed.yaml")
    names = [f.name for f in plan.chains["zh"]]
    assert "readings" in names
    assert build_filter("readings", {"min_hits": 8, "min_per_1k_chars": 3.0}) == InjectedReadingsFilter()
