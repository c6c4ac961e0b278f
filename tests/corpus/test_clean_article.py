"""clean's page rules judge what clean leaves: a nav-heavy page that still holds a substantial article is kept,
one whose article is a snippet is dropped (pages written for these tests)."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus.clean import CLEAN_LITTLE_PROSE, CLEAN_MOSTLY_BOILERPLATE, CleanStep
from corpus.records import rejection
from corpus.repair import LATIN_PER_HAN, article_chars, han_equivalent


def story(paragraphs: int) -> str:
    """Distinct Chinese news paragraphs of ~90 characters each (numbers differ, so none is a repeat)."""
    return "\n".join(
        f"本市教育部门第{i}次通报显示，今年全市共新建中小学校{i + 3}所，新增学位{i * 1100 + 7}个，"
        f"其中第{i}批项目已于{i % 12 + 1}月底前完工并投入使用，有效缓解了城区学校的入学压力。"
        f"有关负责人表示，第{i}阶段将继续优化学校布局，确保适龄儿童就近入学。"
        for i in range(1, paragraphs + 1)
    )


_PLACES = "本地 国内 国际 港澳 台湾 财经 体育 娱乐 科技 汽车 房产 教育 旅游 健康 军事 文化".split()
_KINDS = "新闻 快讯 图片 视频 专题 评论 直播 排行 热点 频道 论坛 博客 访谈 数据 人物 资讯".split()


def nav(entries: int) -> str:
    """A portal's channel menu, one short entry per line ("本地新闻", "国际快讯", ...; all distinct)."""
    return "\n".join(f"{_PLACES[i // 16 % 16]}{_KINDS[i % 16]}" for i in range(entries))


def page(paragraphs: int, entries: int) -> dict:
    return {"id": "p", "text": f"{nav(entries)}\n{story(paragraphs)}\n{nav(entries // 2)}", "source": "web", "meta": {}}


def clean(doc: dict, **options) -> tuple[dict, Counter]:
    counters: Counter = Counter()
    return next(CleanStep(**options)(iter([doc]), counters)), counters


def test_a_nav_heavy_page_holding_a_full_article_is_kept_and_counted() -> None:
    doc, counters = clean(page(paragraphs=16, entries=150))
    assert rejection(doc) is None and counters["clean_article_kept"] == 1
    assert article_chars(doc["text"]) >= 1200
    # Without the article rule the furniture share drops it: the rule, not a looser bound, kept it.
    off, _ = clean(page(paragraphs=16, entries=150), min_article_chars=None)
    assert rejection(off)["reason"] == CLEAN_MOSTLY_BOILERPLATE


@pytest.mark.parametrize(("paragraphs", "entries"), [(5, 120), (16, 900)], ids=["article-too-short", "article-a-minor-part"])
def test_a_short_article_or_one_that_is_a_minor_part_of_the_page_is_still_dropped(paragraphs, entries) -> None:
    doc, counters = clean(page(paragraphs=paragraphs, entries=entries))
    assert rejection(doc)["reason"] in (CLEAN_MOSTLY_BOILERPLATE, CLEAN_LITTLE_PROSE)
    assert counters["clean_article_kept"] == 0


def test_latin_text_counts_a_third_so_an_english_page_needs_a_long_article() -> None:
    sentence = "The council approved the new school budget on Tuesday, and building work starts in spring. "
    english = "\n".join(f"{sentence}Phase {i} adds {i + 2} classrooms." for i in range(12))  # ~1,350 characters
    assert article_chars(english) == pytest.approx(len(english.replace("\n", "")) / LATIN_PER_HAN, abs=12)
    menu = "\n".join(f"{place} {kind}" for place in ("World", "Local", "Business", "Sport", "Travel", "Science")
                     for kind in ("News", "Video", "Opinion", "Live", "Photos", "Weather", "Blogs", "Podcasts"))
    page = {"id": "e", "text": f"{menu}\n{english}\n{menu}", "source": "web", "meta": {}}
    doc, counters = clean(dict(page))
    # 1,350 Latin characters are 450 Han-equivalent: not an article that overrides the furniture share.
    assert rejection(doc)["reason"] == CLEAN_MOSTLY_BOILERPLATE and counters["clean_article_kept"] == 0


def test_a_subheading_does_not_end_the_run_but_a_headline_block_does() -> None:
    text = story(3) + "\n二、下一步工作安排\n" + story(3)
    assert article_chars(text) == article_chars(story(3)) * 2
    block = "相关新闻：市教育局召开会议部署秋季开学工作 全市中小学校园安全大检查启动 多所学校举行开学典礼"
    assert article_chars(story(3) + "\n" + block + "\n" + story(3)) == article_chars(story(3))
    assert han_equivalent("长江\nriver") == 2 + 5 // LATIN_PER_HAN
