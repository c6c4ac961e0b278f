"""clean's opt-in headline-list rule (``drop_headline_lists``): related-story blocks of long titles."""

from collections import Counter

import pytest

from corpus.clean import CLEAN_MOSTLY_BOILERPLATE, CleanStep
from corpus.records import rejection
from corpus.repair import is_headline

ARTICLE_EN = (
    "The city council approved the new library budget on Tuesday after a long debate about costs.\n"
    "Construction will begin in the spring, and the building should open to readers within two years.\n"
    "Residents who spoke at the meeting asked for longer opening hours and a larger children's section."
)
# Titles longer than a menu entry (4+ words), so neither the menu-block rule nor the trailing-list
# rule (at most 40 characters or 12 words) takes the longest of them.
HEADLINES_EN = [
    "2 US service members die in Afghanistan chopper crash",
    "7 key questions heading into the 2020 Democratic debate",
    "Stalled talks between the two largest economies raise the threat of another long impasse",
    "Ferris wheel becomes giant Christmas lantern",
    "Amateur fighter dies after brain injury in a bout at a small regional arena",
    "Southern California to get its first significant rain since May",
    "Teen used remote-controlled car to smuggle goods across the border",
]
ARTICLE_ZH = (
    "长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉各拉丹冬峰西南侧。\n"
    "长江流域面积约一百八十万平方公里，约占中国陆地总面积的五分之一，沿岸城市众多，人口稠密。"
)
HEADLINES_ZH = [
    "一家人乘车赴跨国婚礼 丢了嫁妆多亏铁警找回",
    "素洁高雅 花之君子——历代文人兰花图简评",
    "湖州山村箍桶匠坚守五十七年 做了无数嫁妆",
    "张大千和溥心畬书画作品在省博物馆展出",
    "有重大变动！骑共享单车的一定要注意了",
    "农民画家阿卜力克木追梦六十载",
]


def clean_web_text(text, **options):
    """One web document of ``text`` through ``CleanStep(**options)``: the document and the counters."""
    counters = Counter()
    (doc,) = CleanStep(**options)(iter([{"id": "x", "text": text, "source": "web", "meta": {}}]), counters)
    return doc, counters


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2 US service members die in Afghanistan chopper crash", True),
        ("Worst deal ever? S. Korea fumes as US tries to raise price tag", True),
        ("这些美出天际的公路 你走过吗？", True),
        ("Read more", False),  # a menu entry: too short for a title
        ("The council approved the budget on Tuesday.", False),  # a sentence
        ("Now, for the start of the performance!", False),  # an English exclamation is a blog's voice
        ("And the sky was grey over the harbour,", False),  # a poem's line continues
        ("from selenium.webdriver.common.by import By", False),  # program text
        ("1. Preheat the oven to two hundred degrees", False),  # a list item informs
        ("长江是中国第一大河。全长约六千三百公里", False),  # two sentences
    ],
)
def test_is_headline(line, expected):
    assert is_headline(line) is expected


@pytest.mark.parametrize(("article", "heads"), [(ARTICLE_EN, HEADLINES_EN), (ARTICLE_ZH, HEADLINES_ZH)])
def test_a_headline_block_in_the_middle_goes_when_switched_on(article, heads):
    lines = article.split("\n")
    text = "\n".join([lines[0], *heads, *lines[1:]])
    doc, counters = clean_web_text(text, drop_headline_lists=True, max_furniture_ratio=None)
    assert doc["text"].split() == article.split()
    assert doc["meta"]["clean"]["headline_list_lines"] == len(heads)
    assert counters["clean_headline_list_lines"] == len(heads)
    # Off by default: the block stays.
    doc, counters = clean_web_text(text)
    assert doc["text"] == text and counters["clean_headline_list_lines"] == 0


def test_headline_lines_count_as_furniture():
    text = "\n".join([ARTICLE_EN.split("\n")[0], *HEADLINES_EN * 2])
    doc, _ = clean_web_text(text, drop_headline_lists=True, drop_repeats=False)
    assert rejection(doc)["reason"] == CLEAN_MOSTLY_BOILERPLATE


@pytest.mark.parametrize(
    "heads",
    [
        HEADLINES_EN[:5],  # five titles: an article's few subheadings or a short list
        [f"Round {i}: team {i} beat team {i + 1} by 3 points" for i in range(8)],  # results: data
    ],
)
def test_short_runs_and_data_stay(heads):
    text = "\n".join([ARTICLE_EN, *heads, ARTICLE_EN.replace("Tuesday", "Monday")])
    doc, _ = clean_web_text(text, drop_headline_lists=True, drop_repeats=False)
    assert doc["meta"]["clean"]["headline_list_lines"] == 0


def test_a_page_of_only_headlines_is_left_whole():
    # No prose line outside the run: an index or a list page, for the filters to judge.
    text = "\n".join(HEADLINES_EN)
    doc, _ = clean_web_text(text, drop_headline_lists=True, max_furniture_ratio=None, min_prose_ratio=None)
    assert doc["text"] == text
