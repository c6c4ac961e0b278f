"""The SEO-spam filter: casino brands injected into prose, betting tips, keyword stuffing and code lists are
dropped by name; news naming a casino resort once, match reports, FAQs, forum threads quoting a question
and spec sheets are kept (texts written for these tests)."""

from __future__ import annotations

from collections import Counter

import pytest

from corpus.filters.registry import build_filter
from corpus.filters.route import load_plan
from corpus.filters.seo import (
    ZH_BETTING_TIPS,
    ZH_CASINO_BRAND,
    ZH_CODE_LIST,
    ZH_KEYWORD_STUFFING,
    SeoSpamFilter,
    code_list_tokens,
    stuffed_phrase,
)
from corpus.filters.stage import FilterStep
from corpus.records import rejection
from corpus.schema import conform_meta

# A school notice with a casino brand put where the school's name was.
INJECTED_SCHOOL = (
    "星河贵宾会顺利完成秋季学期新生入学教育工作\n"
    "9月5日上午，星河贵宾会在体育馆举行新生入学教育大会，全体新生和辅导员参加。\n"
    "会上，学校领导介绍了星河贵宾会的办学历史和专业设置，勉励新生珍惜大学时光。"
)
# Traditional characters, the brand once but in the title line.
INJECTED_TITLE_HANT = "開雲體育官網\n本校圖書館將於下週一起延長開放時間，方便同學們複習備考。"
# A recipe page whose keyword line slips a betting brand between the dish's words: the keyword line is
# the slot an SEO page fills with the queries it wants to rank for.
INJECTED_KEYWORDS = (
    "香菇炒青菜的家常做法\n"
    "材料：青菜两颗、香菇十朵、油、盐。做法：香菇切片，青菜洗净控水，热锅下油，先炒香菇再下青菜，加盐出锅。\n"
    "本文关键词：香菇,青菜,欧宝体育,家常菜,做法"
)
# A bank notice: 现金网点 (cash outlets) holds the entry 现金网 but is no casino site (casino_not.zh.txt).
BANK_OUTLETS = (
    "关于调整部分现金网点营业时间的公告\n"
    "为更好服务客户，我行自下月起调整城区部分现金网点的营业时间，周末照常办理现金存取业务。\n"
    "关键词：营业时间 现金网点"
)
# News naming a casino resort once, in a sentence: kept.
MACAU_NEWS = (
    "澳门特区政府旅游局公布，今年国庆黄金周期间入境旅客超过八十万人次，酒店平均入住率达到九成。\n"
    "业内人士表示，威尼斯人等大型综合度假村的会展活动带动了非博彩业务增长，特区政府将继续推动经济适度多元发展。"
)
# A shop's loyalty scheme: 贵宾会员 holds the brand entry 贵宾会 but is no brand (casino_not.zh.txt).
VIP_MEMBERS = (
    "贵宾会员章程\n凡在本店累计消费满五千元的顾客均可申请成为贵宾会员，贵宾会员购物享受九折优惠，"
    "生日当月另有礼品赠送。贵宾会所每周六对会员开放。"
)
BETTING_TIPS = (
    "英超第10轮 阿森纳vs切尔西 比分预测\n"
    "阿森纳主场作战，近期状态出色。亚盘开出主让半球，水位偏低，欧赔主胜1.85。\n"
    "推荐：主胜，比分2-1。大小球开2.5球，看好大球。"
)
MATCH_REPORT = (
    "英超第10轮 阿森纳对阵切尔西\n"
    "阿森纳主场2比1战胜切尔西。上半场萨卡为主队先拔头筹，下半场切尔西扳平比分，"
    "第80分钟厄德高远射破门，帮助球队取胜，阿森纳积分升至联赛第二。"
)
STUFFED = (
    "空气炸锅怎么样？很多人都在问空气炸锅怎么样，其实空气炸锅是一种用热空气代替热油的厨房电器。\n"
    "它的好处是少油健康，空气炸锅怎么样要看你平时做什么菜。\n"
    "清洗也很方便，内胆可以直接放进洗碗机。空气炸锅怎么样？总的来说是值得买的。\n"
    "使用时注意不要超过最大刻度，空气炸锅怎么样的问题就解决了。\n"
    "标签：空气炸锅怎么样 空气炸锅哪个牌子好"
)
# A forum thread quotes the question in every reply, but declares no keywords: kept.
FORUM = (
    "网友甲：这个政策是什么意思？是不是以后都要网上办理？\n"
    "网友乙：这个政策是什么意思？我理解是可以网上办，也可以去窗口办。\n"
    "网友丙：这个政策是什么意思？看通知原文第三条就清楚了。\n"
    "网友丁：这个政策是什么意思？其实就是多了一个选择，不用担心。"
)
FAQ = (
    "常见问题\n标签：办事指南\n"
    "问：居住证怎么办理？答：携带身份证和租房合同到社区服务中心申请。\n"
    "问：办理需要多少钱？答：首次办理不收费。\n"
    "问：多久可以拿到？答：一般十五个工作日。"
)
CODE_LIST = " ".join(
    ["KX 300 HMW 絮凝剂 PX-8165 AN 923 VHM 聚合氯化铝 ZT 7557 FO 4440 SSH KB156 絮凝剂 C492 HMW",
     "AN 926 SHU 聚合氯化铝 絮凝剂 ZT 8140 FO 4650 SH ZT 7565 聚丙烯酰胺 聚合氯化铝"]
) + "\n本公司专业生产各类水处理药剂，欢迎来电咨询。"
SPEC_SHEET = (
    "产品型号：PX-200 额定电压：220V 额定功率：1500W 容量：5L 重量：4.2kg 尺寸：320×280×300mm "
    "颜色：白色 材质：ABS 温控范围：80-200℃ 定时：0-60分钟 认证：CCC CE RoHS 包装：彩盒 保修：1年 "
    "产地：广东 条码：6901234567890 箱规：4台 毛重：5.1kg 净重：4.2kg 电源线：1.2m"
)


@pytest.mark.parametrize(("text", "reason", "value", "threshold"), [
    (INJECTED_SCHOOL, ZH_CASINO_BRAND, 3, 2),
    (INJECTED_TITLE_HANT, ZH_CASINO_BRAND, 1, 1),
    (INJECTED_KEYWORDS, ZH_CASINO_BRAND, 1, 1),
    (BETTING_TIPS, ZH_BETTING_TIPS, 6, 3),
    (STUFFED, ZH_KEYWORD_STUFFING, 6, 4),
    (CODE_LIST, ZH_CODE_LIST, 25, 20),
], ids=["brand-in-prose", "brand-in-title-traditional", "brand-in-keyword-line", "betting-tips", "keyword-stuffing", "code-list"])
def test_each_kind_is_dropped_by_name_with_value_and_threshold(text, reason, value, threshold) -> None:
    verdict = SeoSpamFilter().keep({"text": text, "meta": {}})
    assert (verdict.keep, verdict.reason, verdict.value, verdict.threshold) == (False, reason, value, threshold)


@pytest.mark.parametrize("text", [MACAU_NEWS, VIP_MEMBERS, BANK_OUTLETS, MATCH_REPORT, FORUM, FAQ, SPEC_SHEET],
                         ids=["resort-named-once", "vip-members", "bank-cash-outlets", "match-report", "forum-quotes",
                              "faq", "spec-sheet"])
def test_text_of_the_same_topics_is_kept(text) -> None:
    scores = SeoSpamFilter().score(text)
    assert SeoSpamFilter().decide(scores, {"meta": {}}).keep, scores


def test_the_measures_behind_the_verdicts() -> None:
    assert SeoSpamFilter().score(MACAU_NEWS)["brand_hits"] == 0  # 威尼斯人 alone is the resort, not a brand entry
    assert SeoSpamFilter().score(VIP_MEMBERS)["brand_hits"] == 0  # 贵宾会员 and 贵宾会所 hide the entry 贵宾会
    assert SeoSpamFilter().score(BANK_OUTLETS)["brand_hits"] == 0  # 现金网点 hides the entry 现金网
    injected = SeoSpamFilter().score(INJECTED_KEYWORDS)
    assert (injected["brand_hits"], injected["title_brand"], injected["tag_brand"]) == (1, False, True)
    assert SeoSpamFilter().score(MATCH_REPORT)["tip_terms"] == 0
    assert stuffed_phrase(FORUM)[:2] == (4, 4)  # repeated as often as the stuffed page, but no keyword line
    assert not SeoSpamFilter().score(FORUM)["tag_line"]
    assert stuffed_phrase(FAQ)[0] == 1
    assert code_list_tokens(SPEC_SHEET) == 0  # codes, but no Chinese word repeated: each value given once


def test_null_switches_each_rule_off() -> None:
    off = SeoSpamFilter(min_brand_hits=None, min_tip_terms=None, min_stuffed_repeats=None, min_code_tokens=None)
    for text in (INJECTED_SCHOOL, INJECTED_TITLE_HANT, INJECTED_KEYWORDS, BETTING_TIPS, STUFFED, CODE_LIST):
        assert off.keep({"text": text, "meta": {}}).keep


def test_the_zh_chain_runs_it_from_yaml_and_the_drop_is_explained() -> None:
    plan = load_plan("configs/filters/mixed.yaml")
    names = [f.name for f in plan.chains["zh"]]
    assert names.index("trading_calls") < names.index("seo_spam") < names.index("promo")
    assert build_filter("seo_spam", {"min_brand_hits": 2}) == SeoSpamFilter()
    docs = [{"id": "spam", "text": INJECTED_SCHOOL, "source": "web", "meta": {"lang": "zh"}},
            {"id": "news", "text": MACAU_NEWS, "source": "web", "meta": {"lang": "zh"}}]
    out = {d["id"]: d for d in FilterStep()(iter(docs), Counter())}
    reject = rejection(out["spam"])
    assert (reject["filter"], reject["reason"], reject["value"], reject["threshold"]) == \
        ("seo_spam", ZH_CASINO_BRAND, 3, 2)
    assert rejection(out["news"]) is None
    for doc in out.values():
        conform_meta(doc["meta"])  # the scores are declared in corpus/schema.py


def test_the_whole_text_screens_answer_as_reading_every_line() -> None:
    # stuffed_phrase skips a text without a question word and code_list_tokens one of fewer than 30 words;
    # reading every line must give the same on texts that have them and texts that do not.
    import random

    from corpus.filters import seo
    from corpus.filters.view import TextView

    def plain_codes(text):
        best = 0
        for line in TextView(text).lines:
            tokens = line.split()
            codes = sum(1 for t in tokens if seo._CODE.fullmatch(t.strip("®™,，、")))
            words = Counter(seo._HAN_WORD.findall(line))
            if len(tokens) >= 30 and codes * 2 >= len(tokens) and words and max(words.values()) >= 3:
                best = max(best, codes)
        return best

    rng = random.Random(2)
    pieces = ["电子烟", "有什么", "好处", "怎么样", "吗", "？", "\n", " ", "C494", "HMW", "空气炸锅", "标签：", "。", "x"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 90)))
        view = TextView(text)
        counts, lines = Counter(), {}
        for number, line in enumerate(view.lines):
            squeezed = "".join(line.split())
            for match in seo._ASK.finditer(squeezed):
                start = match.start() - seo._PHRASE_BEFORE
                phrase = squeezed[max(start, 0):match.end()]
                if start >= 0 and seo._WORD_CHAR.fullmatch(phrase):
                    counts[phrase] += 1
                    lines.setdefault(phrase, set()).add(number)
        expected = (0, 0, "")
        if counts:
            phrase, n = max(counts.items(), key=lambda item: (len(lines[item[0]]), item[1]))
            expected = (n, len(lines[phrase]), phrase)
        assert seo.stuffed_phrase(view) == expected, text
        assert seo.code_list_tokens(TextView(text)) == plain_codes(text), text
    # At the bound: a keyword line of exactly 30 words, half of them codes, is one; 29 words are not.
    from corpus.filters.seo import code_list_tokens

    assert code_list_tokens(" ".join(["C494"] * 15 + ["空气炸锅"] * 15)) == 15
    assert code_list_tokens(" ".join(["C494"] * 15 + ["空气炸锅"] * 14)) == 0
