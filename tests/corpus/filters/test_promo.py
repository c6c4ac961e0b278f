"""The promo filter: sales copy is dropped, writing *about* sales and prices is kept (texts written for these tests)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from corpus.clean import CleanStep
from corpus.filters.evaluate import sample_documents
from corpus.filters.harmful import read_lines
from corpus.filters.promo import CATEGORIES, PROMO_COMMERCIAL, PromoFilter
from corpus.filters.route import load_plan
from corpus.filters.stage import FilterStep
from corpus.records import rejection
from corpus.schema import PROMO_CATEGORIES, conform_meta

ROOT = Path(__file__).resolve().parents[3]

APP_PROMO_ZH = (
    "《星海物语》今日火爆上线！由某某互娱倾力打造的全新3D航海手游，隆重推出“远洋舰队”玩法，"
    "海量福利等您来拿。新用户注册即送豪华大礼包，首充双倍，限时三天，千万不要错过！"
    "还等什么？立即下载客户端，和百万船长一起扬帆起航，给您带来前所未有的震撼体验！"
)
APP_PROMO_ZH_HANT = (
    "《星海物語》今日火爆上線！全新3D航海手遊，隆重推出「遠洋艦隊」玩法，海量福利等您來拿。"
    "新用戶註冊即送豪華大禮包，限時三天，千萬不要錯過！還等什麼？立即下載客戶端，給您帶來前所未有的震撼體驗！"
)
DEAL_PAGE_EN = (
    "Best Early Black Friday Deals on Robot Vacuums\n"
    "Looking for a bargain? These are the hottest deals we found today, and some of them won't last.\n"
    "Eufy RoboVac 11S for $129.99 (was $229.99). Save $100 on our favourite budget robot vacuum, "
    "with free shipping and a coupon that knocks another 10% off at checkout.\n"
    "Roomba 694 for $179 - the lowest price we have seen this year. Add to cart before the discount ends.\n"
    "Shark ION Robot RV761 for $149.99. Limited time offer: buy now and get a free gift bundle.\n"
    "Don't miss out: shop now and claim your savings while stocks last!"
)
# An advertorial in fluent prose: no listed ad phrase is dense enough for harm_ads, the register gives it away.
ADVERTORIAL_ZH = (
    "木语家居：用匠心守护您的每一个家\n"
    "从一间不足百平方米的小作坊起步，木语家居如今已在全国各地拥有三百多家销售网点，产品远销海外。"
    "我们始终坚持质量为本、服务至上，引进德国顶级生产线，只为给您带来更环保、更舒适的家具。\n"
    "木语家居荣获中国名牌、驰名商标等多项荣誉认证，品牌实力有目共睹。无论您喜欢简约北欧还是典雅中式，"
    "都能在这里找到心仪的款式。欢迎来电咨询，让木语为您打造理想的家！"
)
ADVERTORIAL_EN = (
    "Harbourside Plumbing & Heating - Trusted Local Plumbers\n"
    "Harbourside is an award-winning, family-run plumbing company serving homes and businesses across the county. "
    "We specialise in boiler installation, emergency repairs and bathroom fitting, and our team of Gas Safe "
    "engineers has over 25 years of experience.\n"
    "Our Popular Services\n"
    "Boiler servicing from $79. Emergency call-outs 24/7 with no call-out charge. Save 15% on a new boiler this month.\n"
    "We take care of everything, from the first visit to the final safety check, and every job comes with our "
    "satisfaction guaranteed promise. Whatever your needs, we provide a fast, friendly service at a fair price.\n"
    "Request a quote today: call us on (555) 014-2297 or visit our website."
)
NEWS_ABOUT_SALES_ZH = (
    "年底促销季来临，家电卖场客流回升\n"
    "记者近日走访了本市多家家电卖场，发现随着年底临近，各商家纷纷推出促销活动，部分电视和冰箱的价格比上月下降一成左右。"
    "一家卖场的负责人告诉记者，今年的促销力度与去年相当，但消费者更看重能效和售后服务。\n"
    "据了解，受原材料价格上涨影响，部分品牌的出厂价并未下调，商家让利的空间有限。业内人士表示，"
    "消费者在购买时应比较不同渠道的价格，并保留好发票，以便日后维修。\n"
    "市消费者协会提醒，节日期间如遇价格欺诈，可拨打12315投诉。"
)
NEWS_ABOUT_SALES_EN = (
    "Retailers report a slower start to the holiday season\n"
    "Shoppers spent less in the first week of the holiday season than a year ago, according to figures released on "
    "Monday by the national retail federation. Discounts were deeper, the federation said, but fewer people visited "
    "stores in person.\n"
    "\"People are waiting for the best deal,\" said an analyst at a consulting firm, who told reporters that online "
    "sales had grown by about 8 percent. Several chains reported that a television which sold for $499 last year "
    "was on sale for $379.\n"
    "Economists said the figures reflect higher interest rates and a cooling job market rather than a change in habits."
)
# Ordinary texts that mention prices, shops and the reader: a user review, a travel guide, a product
# review and a how-to. None of them sells.
REVIEW_ZH = (
    "这款电饭煲用了一个月，说说真实感受。外观简洁，内胆是不粘涂层，清洗很方便。煮饭的口感比我家以前那台好，"
    "米粒比较饱满，但是煮粥的时候容易溢出来，需要少放一点水。预约功能很实用，早上起来就有热粥喝。价格是399元，"
    "活动的时候买的，感觉性价比还可以。缺点是按键有点硬，提示音也比较大，晚上用会吵到家人。总体来说，适合三口之家，"
    "如果你经常煮粥，建议买容量大一点的型号。"
)
TRAVEL_ZH = (
    "九寨沟旅游攻略\n九寨沟位于四川省阿坝州，以翠海、叠瀑、彩林、雪峰闻名，是世界自然遗产。\n"
    "最佳季节是秋季，十月中下旬彩林最美，但游客也最多，建议提前在官网预约门票。旺季门票169元，观光车90元。\n"
    "景区很大，建议安排两天：第一天游览日则沟，第二天游览树正沟和则查洼沟。景区内海拔较高，注意保暖，避免剧烈运动。\n"
    "交通方面，可以从成都乘飞机到九黄机场，再坐大巴约一个半小时到达沟口。"
)
REVIEW_EN = (
    "Review: The Acme X2 headphones\nI have used the Acme X2 for three weeks on my commute and at my desk. The sound "
    "is warm, with a little too much bass for my taste, and the noise cancelling is good but not class-leading. "
    "Battery life matched the claimed 30 hours.\nThe ear cups are comfortable for about two hours; after that they "
    "press on my glasses. The app lets you adjust the equaliser, which fixed most of the bass.\nAt $249 they cost "
    "less than the market leaders, and they are a sensible buy if you value battery life over the best noise "
    "cancelling. The case is bulky, though, and the controls take some getting used to."
)
HOWTO_EN = (
    "How to repot a houseplant\nYour plant needs a bigger pot when roots grow out of the drainage holes or circle "
    "the bottom of the pot. Spring is the best time, because the plant is starting to grow.\nChoose a pot one or two "
    "inches wider than the old one. Water the plant a day before, so the root ball holds together. Tip the pot on "
    "its side, support the stem with your hand, and ease the plant out.\nLoosen the outer roots with your fingers, "
    "set the plant at the same depth as before, and fill around it with fresh potting mix. Water well and keep it "
    "out of direct sun for a week while it settles."
)
RECIPE_EN = (
    "Easy weeknight lentil soup\nThis is my favourite soup for busy evenings. You only need one pot, and most of the "
    "ingredients are probably already in your cupboard.\nStart by softening an onion, two carrots and a stick of "
    "celery in olive oil. Add garlic, cumin and smoked paprika, then stir in a cup of red lentils and a litre of "
    "stock. Simmer for twenty minutes until the lentils collapse.\nFinish with lemon juice and a handful of spinach. "
    "It keeps for four days in the fridge and freezes well. If you make it, let me know in the comments! Sign up "
    "for my newsletter to get new recipes every week."
)
# Q&A and customer-service replies address the asker (您好，建议您…) and name a hotline without selling.
ANSWER_ZH = (
    "您好，信用卡逾期会产生罚息和滞纳金，并影响个人征信。建议您尽快还款，如确实有困难，可以拨打银行客服热线"
    "400-820-8888协商分期还款。"
)
SERVICE_REPLY_ZH = (
    "您好，您的快递显示已经到达网点，如果超过两天没有派送，您可以联系快递员，或者拨打客服电话021-61234567反映情况，"
    "我们会尽快为您处理。"
)
PRICE_LIST_ZH = (
    "本周蔬菜批发价格：白菜每斤1.2元，土豆每斤1.8元，西红柿每斤3.5元，黄瓜每斤2.6元，青椒每斤4元，"
    "茄子每斤3元，芹菜每斤2.2元，胡萝卜每斤1.5元。与上周相比，叶菜价格略有下降，根茎类基本持平。"
)

# A platform profiling itself to its users at the end of a game write-up: user counts, creed, reputation and
# the sites' addresses run on into the Chinese text (no space after a URL).
PLATFORM_PITCH_ZH = (
    "《龙城传说》是一款以宋代为背景的角色扮演网页游戏，玩家可以组建帮派、经营城池，体验攻城略地的乐趣，"
    "自上线以来人气火爆。星游平台成立于2010年，“用心、沟通、服务”一直是平台的核心理念。平台目前已拥有超过"
    "800万注册用户，活跃用户超过100万，凭借真诚的服务赢得了良好的口碑。请记住《龙城传说》官方网站："
    "http://www.lcwar.com/星游平台——玩游戏，上星游！http://www.xingyou.cn/"
)
# An encyclopedia entry on the same kind of company names a user count and its history, and sells nothing.
COMPANY_ENTRY_ZH = (
    "星游网络是杭州的一家网页游戏运营商，成立于2010年。公司早期代理运营多款武侠题材游戏，2015年注册用户超过"
    "800万。2018年，公司被一家上市企业收购，原平台于次年停止运营，部分游戏转由其他平台代理。"
)


def promo() -> PromoFilter:
    """The filter as the zh chain of the default config builds it."""
    (flt,) = [f for f in load_plan("configs/filters/zh.yaml").chains["all"] if f.name == "promo"]
    return flt


def promo_en() -> PromoFilter:
    (flt,) = [f for f in load_plan("configs/filters/en.yaml").chains["all"] if f.name == "promo"]
    return flt


def test_reason_is_triggered_by_name_with_value_and_threshold() -> None:
    flt = promo()
    scores = flt.score(APP_PROMO_ZH)
    verdict = flt.decide(scores, {})
    assert not verdict.keep and verdict.reason == PROMO_COMMERCIAL
    assert verdict.value == scores["score"] > verdict.threshold == flt.max_score
    assert scores["kinds"] >= flt.min_kinds and scores["voice_kinds"] >= 1
    assert "立即下载" in scores["terms"]


@pytest.mark.parametrize(("make", "text"), [(promo, APP_PROMO_ZH), (promo, APP_PROMO_ZH_HANT),
                                            (promo, ADVERTORIAL_ZH), (promo_en, DEAL_PAGE_EN),
                                            (promo_en, ADVERTORIAL_EN), (promo, PLATFORM_PITCH_ZH)],
                         ids=["zh", "zh-hant", "zh-advertorial", "en", "en-landing-page", "zh-platform-pitch"])
def test_sales_copy_is_dropped(make, text: str) -> None:
    assert make().keep({"text": text, "meta": {}}).reason == PROMO_COMMERCIAL


@pytest.mark.parametrize(("make", "text"), [(promo, NEWS_ABOUT_SALES_ZH), (promo_en, NEWS_ABOUT_SALES_EN),
                                            (promo, PRICE_LIST_ZH), (promo, REVIEW_ZH), (promo, TRAVEL_ZH),
                                            (promo_en, REVIEW_EN), (promo_en, HOWTO_EN), (promo, ANSWER_ZH),
                                            (promo, SERVICE_REPLY_ZH), (promo_en, RECIPE_EN), (promo, COMPANY_ENTRY_ZH)],
                         ids=["zh-news", "en-news", "price-list", "zh-review", "zh-travel", "en-review", "en-howto",
                              "zh-answer", "zh-service-reply", "en-recipe-blog", "zh-company-entry"])
def test_writing_about_sales_and_prices_is_kept(make, text: str) -> None:
    flt = make()
    scores = flt.score(text)
    assert flt.decide(scores, {}).keep, scores


def test_reporting_voice_counts_against_and_trade_words_need_a_selling_voice() -> None:
    flt = promo()
    news = flt.score(NEWS_ABOUT_SALES_ZH)
    assert news["report_hits"] >= 3
    without_report = PromoFilter(**{**_options(flt), "weights": {**flt.weights, "report": 0.0}}).score(NEWS_ABOUT_SALES_ZH)
    assert without_report["score"] > news["score"]
    prices = flt.score(PRICE_LIST_ZH)
    # Dense prices and a trade word (批发) score above the bound, but nothing in the text sells.
    assert prices["score"] > flt.max_score and prices["kinds"] == 2 and prices["voice_kinds"] == 0
    assert flt.decide(prices, {}).keep
    assert not flt.decide({**prices, "voice_kinds": 1}, {}).keep


def test_hashtag_entries_are_terms_and_a_disclosure_is_the_sellers_voice(tmp_path: Path) -> None:
    lists = tmp_path / "promo"
    lists.mkdir()
    (lists / "disclosure.en.txt").write_text("# a comment\n#\n#ad\ncompensated by\n", encoding="utf-8")
    assert read_lines(lists / "disclosure.en.txt") == ["#ad", "compensated by"]
    post = ("This post was compensated by a water brand. All opinions are mine. #ad\n"
            "We hiked to the lake on Saturday and the views were worth every step of the climb.")
    scores = promo_en().score(post)
    assert scores["disclosure_hits"] == 2 and scores["voice_kinds"] >= 1


@pytest.mark.parametrize(
    ("text", "contacts"),
    [
        ("更多行情可与笔者薇信1771443606交流，注意风控。", 1),  # WeChat spelt to pass keyword filters
        ("资料已整理好，加V：kk_9988776 免费领取。", 1),
        ("请加vx号 abc12345，备注来意。", 1),
        ("ICON = \"YqDO25k/Nj3vxBdS7qEAMP69MV3Vr3b\"", 0),  # base64 data, not a handle
        ("他在村里很有威信，大家都听他的。", 0),  # 威信 is prestige, not a contact
        ("听说薇信这个名字很好听，她的同学都这样叫她。", 0),  # no handle after it
    ],
)
def test_obfuscated_wechat_handles_are_contacts(text: str, contacts: int) -> None:
    assert promo().score(text)["contact_hits"] == contacts


def test_a_url_ends_where_the_chinese_text_starts_and_a_platform_profile_is_business() -> None:
    scores = promo().score(PLATFORM_PITCH_ZH)
    # Before session 5, "https?://\\S+" ran on through the Chinese text to the next space: one contact, not two.
    assert scores["contact_hits"] == 2
    assert {"注册用户", "活跃用户", "核心理念", "良好的口碑", "官方网站"} <= set(scores["terms"])
    assert promo_en().score("Read more at https://example.com/a, or https://example.org/b.")["contact_hits"] == 2


def test_null_threshold_switches_the_rule_off() -> None:
    flt = PromoFilter(**{**_options(promo()), "max_score": None})
    assert flt.keep({"text": APP_PROMO_ZH, "meta": {}}).keep


def test_weights_and_caps_must_name_every_category() -> None:
    with pytest.raises(ValueError, match="weights"):
        PromoFilter(weights={"cta": 1.0})
    assert CATEGORIES == PROMO_CATEGORIES  # the schema declares one score key per category


def test_default_chain_drops_with_meta_reject_and_scores_conform_to_the_schema() -> None:
    docs = [{"id": "ad", "text": ADVERTORIAL_ZH, "source": "web", "meta": {}},
            {"id": "news", "text": NEWS_ABOUT_SALES_ZH, "source": "web", "meta": {}},
            {"id": "deals", "text": ADVERTORIAL_EN, "source": "web", "meta": {}},
            {"id": "retail", "text": NEWS_ABOUT_SALES_EN, "source": "web", "meta": {}}]
    out = {d["id"]: d for d in FilterStep()(iter(docs), Counter())}
    for doc_id in ("ad", "deals"):
        reject = rejection(out[doc_id])
        assert reject["filter"] == "promo" and reject["reason"] == PROMO_COMMERCIAL, reject
        assert reject["value"] > reject["threshold"] > 0
        assert out[doc_id]["meta"]["scores"]["promo"]["terms"]  # what made the score, kept beside it
    assert rejection(out["news"]) is None and rejection(out["retail"]) is None
    for doc in out.values():
        conform_meta(doc["meta"])  # raises on an undeclared key or a wrong type


def test_no_shipped_sample_document_is_dropped_as_promotion() -> None:
    """data_samples (Wikipedia, WuDao, Baike, web, KnowLM-style) and the labelled fixture's keep documents."""
    docs = sample_documents(ROOT)
    cleaned = [d for d in CleanStep()(iter(docs), Counter()) if rejection(d) is None]
    out = FilterStep()(iter(cleaned), Counter())
    lost = [d["id"] for d in out if (rejection(d) or {}).get("filter") == "promo" and d.get("label", "keep") == "keep"]
    assert lost == []


def _options(flt: PromoFilter) -> dict:
    return {"wordlists": flt.wordlists, "max_score": flt.max_score, "min_kinds": flt.min_kinds,
            "min_chars_norm": flt.min_chars_norm, "weights": dict(flt.weights), "caps": dict(flt.caps)}
