from collections import Counter

import pytest

from corpus.clean import CLEAN_EMPTY, CLEAN_LITTLE_PROSE, CLEAN_MOSTLY_BOILERPLATE, REPAIR_RULES, CleanStep
from corpus.records import rejection
from corpus.repair import prose_share


def _run(docs, **options):
    counters = Counter()
    return list(CleanStep(**options)(iter(docs), counters)), counters


def _doc(text, **meta):
    return {"id": "x", "text": text, "source": meta.pop("source", "web"), "meta": meta}


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        # Chinese keeps its full-width punctuation; full-width digits and letters become half-width.
        ("ＫｎｏｗＬＭ使用１０２４个词元，效果很好！（见下文）", "zh", "KnowLM使用1024个词元，效果很好！（见下文）"),
        # English gets full NFKC, punctuation included.
        ("Ｆｕｌｌ－ｗｉｄｔｈ， ｔｅｘｔ！", "en", "Full-width, text!"),
        # Half-width katakana and half-width CJK punctuation are folded to their full forms.
        ("ｶﾀｶﾅ｡", "ja", "カタカナ。"),
    ],
)
def test_width_normalisation_by_language(text, lang, expected):
    (doc,), _ = _run([_doc(text, lang=lang)])
    assert doc["text"] == expected


def test_chinese_is_detected_without_meta_lang():
    (doc,), _ = _run([_doc("这是一段中文，没有语言标记：１２３。")])
    assert doc["text"] == "这是一段中文，没有语言标记：123。"


def test_controls_whitespace_markup_and_navigation():
    text = "Title\r\n\r\n\r\n\r\nBody\u200b text &amp; more<br/>   \n返回顶部\nSkip to content\n\n\n\nEnd\x07"
    (doc,), counters = _run([_doc(text, lang="en")])
    assert doc["text"] == "Title\n\nBody text & more\n\nEnd"
    assert counters["clean_changed"] == 1


def test_code_is_never_reflowed():
    code = "\n\ndef f(x):\r\n    return  x   # ＮＯ  change\n\n\n\n\nprint(f(1))   \n"
    (doc,), _ = _run([_doc(code, lang="code")])
    assert doc["text"] == "def f(x):\n    return  x   # ＮＯ  change\n\n\n\n\nprint(f(1))   "


def test_a_leetcode_solution_is_code_and_survives_byte_for_byte():
    # Through the prose path, "<b and b>" read as an HTML tag (the line became "if ac:"), NFKC folded the
    # full-width string and the two blank lines before the class merged into one.
    text = ("# 1. Two sum\n\nGiven a and b, return\u00a0c.\n\n```python\ndef f(a, b, c):\n"
            "    if a<b and b>c:\n        return \"ｘ，\"\n\n\nclass Solution:\n    pass\n```")
    (doc,), counters = _run([_doc(text, lang="en", source="leetcode")], opencc="t2s")
    assert doc["text"] == text
    assert counters["clean_changed"] == 0


def test_opencc_option():
    (doc,), _ = _run([_doc("劍橋大學", lang="zh")], opencc="t2s")
    assert doc["text"] == "剑桥大学"


def test_link_offsets_follow_the_cleaned_text():
    text = "ＡＢ　说：\n\n\n\n他生于[剑桥]，读过劍橋大學。"
    links = [{"target": "剑桥", "start": text.index("剑桥"), "end": text.index("剑桥") + 2},
             {"target": "剑桥大学", "start": text.index("劍橋"), "end": text.index("劍橋") + 4}]
    (doc,), counters = _run([_doc(text, lang="zh", links=links)], opencc="t2s")
    for link in doc["meta"]["links"]:
        assert doc["text"][link["start"] : link["end"]] == link["target"]
    assert counters["clean_link_lost"] == 0


def test_empty_after_cleaning_is_rejected_by_name():
    (doc,), _ = _run([_doc(" \u200b\n\n\t ")])
    assert rejection(doc)["reason"] == CLEAN_EMPTY


# --- repair before reject -------------------------------------------------------------------------

ARTICLE_EN = (
    "The city council approved the budget for the new library on Tuesday evening.\n"
    "Construction is expected to begin in the spring and to last about two years.\n"
    "The library will have a children's wing, study rooms and a small concert hall."
)
ARTICLE_ZH = (
    "市政府周二批准了新图书馆的预算，工程预计明年春天开工。\n"
    "新馆将设有儿童阅览区、自习室和一个小型音乐厅，建成后免费向市民开放。\n"
    "负责人表示，旧馆的藏书将在新馆落成后分批迁入。"
)


def test_repeated_lines_and_paragraphs_lose_their_second_copy():
    para = "Construction is expected to begin in the spring and to last about two years."
    text = f"{ARTICLE_EN}\n\n{para}\n\n{para}\nShort line\nShort line"
    (doc,), counters = _run([_doc(text, lang="en")])
    assert doc["text"].count(para) == 1
    # A short line that recurs in a page dump is a widget label: its second copy goes as boilerplate,
    # not as a repeat (repeats are content said twice, >= MIN_REPEAT_CHARS).
    assert doc["text"].count("Short line") == 1
    assert doc["meta"]["clean"]["boilerplate_lines"] == 1
    assert doc["meta"]["clean"]["repeated_lines"] == 2
    assert doc["meta"]["clean"]["repeated_chars"] == 2 * len(para)
    assert counters["clean_repeated_lines"] == 2
    assert rejection(doc) is None


def test_repeated_short_lines_stay_in_extracted_articles_and_bare_marks_go_from_page_dumps():
    lines = "\n".join(["Ingredients", "two eggs", "Method", "two eggs"])
    (doc,), _ = _run([_doc(ARTICLE_EN + "\n" + lines, lang="en", source="wiki")])
    assert doc["text"].count("two eggs") == 2  # a list in an extracted article keeps its items
    (doc,), _ = _run([_doc(ARTICLE_EN + "\n-\n• •\n|\n" + ARTICLE_EN.split("\n")[0] + " Again.", lang="en")])
    assert all(line.strip() not in {"-", "• •", "|"} for line in doc["text"].split("\n"))
    assert doc["meta"]["clean"]["boilerplate_lines"] == 3


def test_a_repeated_answer_inside_one_line_goes_and_the_record_stays():
    # The shape of WuDao's Q&A records: question, answer, then the answer again on the same line.
    answer = "信用卡激活失败的常见原因是预留手机号码有误。也可能是申请人带的证件不全，需要到网点核实身份。"
    (doc,), counters = _run([_doc("信用卡上门激活为什么会失败？" + answer + answer, lang="zh")])
    assert doc["text"] == "信用卡上门激活为什么会失败？" + answer
    assert doc["meta"]["clean"]["repeated_chars"] == len(answer)
    assert counters["clean_repeated_chars"] == len(answer)


@pytest.mark.parametrize(
    "junk",
    [
        "請繼續往下閱讀...", "責任編輯：王小明", "下載APP，看更多精彩新聞", "分享到：微信 微博 QQ空间",
        "责任编辑：李四", "打开APP，阅读全文", "本文来源：新华网", "返回顶部",
        "This website uses cookies to improve your experience. Accept", "Please enable JavaScript to view comments.",
        "Share this article", "Continue reading", "Skip to main content", "Copyright © 2024 Example Media",
        "首页 > 新闻 > 正文", "Home | News | Sport | Weather",
    ],
)
def test_boilerplate_lines_go_in_simplified_traditional_and_english(junk):
    article = ARTICLE_ZH if any("\u4e00" <= c <= "\u9fff" for c in junk) else ARTICLE_EN
    lines = article.split("\n")
    text = "\n".join([lines[0], junk, *lines[1:]])
    (doc,), counters = _run([_doc(text)])
    assert doc["text"] == article
    removed = doc["meta"]["clean"]
    assert removed["boilerplate_lines"] + removed["menu_lines"] == 1
    assert counters["clean_boilerplate_lines"] + counters["clean_menu_lines"] == 1


def test_content_that_merely_mentions_a_furniture_word_stays():
    text = ARTICLE_ZH + "\n记者注册了一个账号，登录后发现，责任编辑一栏写着去年的日期，这说明页面很久没有更新过。"
    (doc,), _ = _run([_doc(text)])
    assert doc["text"] == text
    assert sum(doc["meta"]["clean"].values()) == 0


def test_a_menu_block_goes_but_a_list_of_sentences_stays():
    menu = "\n".join(["News", "Sport", "Business", "Weather", "Travel", "Culture"])
    steps = "\n".join(["1. Mix the flour and water.", "2. Leave the jar for a day.", "3. Feed it every morning."])
    (doc,), _ = _run([_doc(f"{menu}\n{ARTICLE_EN}\n{steps}", lang="en")])
    assert doc["text"] == f"{ARTICLE_EN}\n{steps}"
    assert doc["meta"]["clean"]["menu_lines"] == 6


def test_a_trailing_headline_list_goes():
    heads = ["Storm brings heavy rain to the coast", "Museum reopens its bronze gallery",
             "Two new bus lines from March", "Farmers expect a good harvest of apples and pears this autumn"]
    (doc,), counters = _run([_doc(ARTICLE_EN + "\n\n" + "\n".join(heads), lang="en")])
    assert doc["text"] == ARTICLE_EN
    assert doc["meta"]["clean"]["trailing_list_lines"] == 4
    assert counters["clean_trailing_list_lines"] == 4


def test_a_document_that_is_only_a_list_is_left_to_the_filters():
    glossary = "\n".join(["Aardvark", "African anteater", "Abacus", "Counting frame", "Abbey", "Monastery"])
    (doc,), _ = _run([_doc(glossary, lang="en")], drop_navigation=False)
    assert doc["text"] == glossary


def test_a_page_that_is_mostly_furniture_is_rejected_with_value_and_threshold():
    menu = "\n".join(["首页", "新闻", "体育", "财经", "科技", "汽车", "房产", "教育", "旅游", "登录", "注册",
                      "关于我们", "联系我们", "网站地图", "版权所有 © 2020 某某网"] * 3)
    (doc,), counters = _run([_doc(menu + "\n今天天气很好。")])
    reject = rejection(doc)
    assert reject["reason"] == CLEAN_MOSTLY_BOILERPLATE
    assert reject["value"] > reject["threshold"] == 0.3
    assert doc["meta"]["clean"]["boilerplate_lines"] > 0


# A portal page the menu rules do not recognise: widget labels, bylines and headline links, one paragraph.
PORTAL = "\n".join([
    "Marketplace Tech for Friday, April 19, 2013", "Episode Teaser Image:", "Download audio", "Embed player",
    "Listen to more audio from this episode", "Are smart guns ready for market?", "by David Gura", "Apr 19, 2013",
    "Posted In: guns, Tech, sensors", "Everything you need to know about CISPA", "Story By David Brancaccio",
    "Latest Stories", "Why a private equity tycoon is funding a scholarship in China",
    "Mindful spending after the recession?", "Digital billboards in Boston",
    "Gun control advocates are looking for new options, including some tech strategies, after seven measures failed.",
])


def test_a_page_of_titles_and_widgets_with_little_prose_is_rejected_with_value_and_threshold():
    (doc,), counters = _run([_doc(PORTAL, lang="en")])
    reject = rejection(doc)
    assert reject["reason"] == CLEAN_LITTLE_PROSE
    assert reject["value"] < reject["threshold"] == 0.35
    assert reject["filter"] == "clean"


def test_an_article_under_a_menu_keeps_its_prose_share_and_is_kept():
    page = "\n".join(["首页", "新闻", "体育", "财经"]) + "\n" + ARTICLE_ZH
    share, lines = prose_share(page)
    assert share > 0.35 and lines >= 5
    (doc,), _ = _run([_doc(page)])
    assert rejection(doc) is None


@pytest.mark.parametrize("text, expected", [
    ("News\nSport\nWeather", 0.0),
    ("长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉。", 1.0),
    ("The council approved the budget for the new library, and building starts in spring.", 1.0),
    ("版本 3.5 发布于 2019 年 9 月 7 日的北京新闻发布会现场直播回放页面", 0.0),  # long, but no sentence mark
])
def test_prose_share_counts_sentence_lines_only(text, expected):
    assert prose_share(text)[0] == expected


def test_a_tutorial_is_judged_by_its_prose_not_its_code_lines():
    code = ["int main(void) {", "    int fd = open(path, O_RDONLY);", "    read(fd, buf, n);", "    return 0;", "}"] * 3
    prose = "这个例子先打开设备文件，再读取缓冲区里的数据，最后关闭文件描述符并返回。"
    share, lines = prose_share("\n".join(code + [prose]))
    assert share == 1.0 and lines == 1
    python = ["import time", "print(delayed(3))", "f.close()", "def later(seconds):"]
    assert prose_share("\n".join(python + [prose]))[1] == 1
    # A bracket after a space is prose, not a call: the line counts.
    assert prose_share("Shares rose 3% on Tuesday, said the company (AAPL.O)")[1] == 1


def test_short_documents_extracted_sources_and_code_are_not_judged_for_prose():
    unpunctuated = "這家生意挺好的過了下午一點客人依舊絡繹不絕這回朋友小聚帶我來此用餐此處環境算寬敞明亮"
    docs = [_doc(unpunctuated), _doc(PORTAL, lang="en", source="wiki"), _doc("\n".join(["x = 1"] * 12), lang="code")]
    out, _ = _run(docs)
    assert [rejection(d) for d in out] == [None, None, None]
    (doc,), _ = _run([_doc(PORTAL, lang="en")], min_prose_ratio=None)
    assert rejection(doc) is None


def test_meta_clean_has_the_same_keys_for_every_document():
    docs = [_doc(ARTICLE_EN, lang="en"), _doc("def f():\n    return 1\n", lang="code"), _doc(ARTICLE_ZH)]
    out, _ = _run(docs)
    keys = {f"{rule}_{unit}" for rule in REPAIR_RULES for unit in ("lines", "chars")}
    assert all(set(d["meta"]["clean"]) == keys for d in out)
    assert all(isinstance(v, int) for d in out for v in d["meta"]["clean"].values())


def test_wudao_sample_records_are_kept_without_their_repeated_answer():
    from pathlib import Path

    from corpus.filters.stage import FilterStep
    from corpus.readers.wudao import WudaoReader

    sample = Path(__file__).resolve().parents[3] / "shared" / "samples" / "wudao" / "jinrong_data.json"
    if not sample.exists():
        pytest.skip(f"{sample} not present")
    counters = Counter()
    docs = list(WudaoReader()(sample, counters))
    before = {d["id"]: d["text"] for d in docs}
    out = list(FilterStep()(CleanStep()(iter(docs), counters), counters))
    assert len(out) == 21
    assert [rejection(d) for d in out] == [None] * 21
    for d in out:
        assert d["meta"]["clean"]["repeated_chars"] > 0
        assert len(d["text"]) < len(before[d["id"]])
        tail = d["text"][-40:]
        assert d["text"].count(tail) == 1  # the answer's end occurs once now


def _seconds(text: str) -> float:
    """CPU seconds of cleaning ``text``: on a loaded machine wall time measures the neighbours too."""
    import time

    start = time.process_time()
    _run([_doc(text)])
    return time.process_time() - start


@pytest.mark.parametrize(
    "unit",
    [
        "The quick brown fox jumps over the lazy dog. " * 8 + "\n",  # prose
        "word" + " " * 200 + "word\n",  # long runs of spaces (the old trailing-space regex was quadratic)
        "这是一段很长的中文文本，用来测试清洗的速度" * 30 + "\n",  # long lines without a sentence end
        "Menu entry\n",  # one endless menu block
        "重复的一行文字，会被删除第二份。\n",  # every line a repeat
    ],
    ids=["prose", "space-runs", "long-zh-lines", "menu", "repeats"],
)
def test_clean_time_grows_linearly_with_a_huge_document(unit):
    # Loose on purpose (a shared machine): 8x the text may take at most 24x the time.
    small, big = unit * (400_000 // len(unit)), unit * (3_200_000 // len(unit))
    _seconds(small)  # warm caches (word lists, regexes)
    assert _seconds(big) < 24 * max(_seconds(small), 0.02)


def test_lists_in_extracted_articles_and_code_fences_are_kept():
    names = "\n".join(["Robert Bakewell", "Norman Borlaug", "Luther Burbank", "George Washington Carver",
                       "René Dumont", "Albert Howard"])
    text = f"{ARTICLE_EN}\n\nProminent agricultural scientists\n{names}"
    (wiki,), _ = _run([_doc(text, lang="en", source="enwiki")])
    assert wiki["text"] == text
    (web,), _ = _run([_doc(text, lang="en")])
    assert "Norman Borlaug" not in web["text"]  # on a page dump the same run is a menu
    code = "```python\nfor i in range(len(nums)):\n    ans += nums[i]\nfor i in range(len(nums)):\n    ans += nums[i]\n```"
    (fenced,), _ = _run([_doc(f"{ARTICLE_EN}\n{code}", lang="en")])
    assert fenced["text"] == f"{ARTICLE_EN}\n{code}"
    (leetcode,), _ = _run([_doc("Constraints:\n1 <= n <= 105\n1 <= m <= 105\n" * 2, lang="en", source="leetcode")])
    assert leetcode["text"].count("1 <= n <= 105") == 2


def test_a_trailing_list_of_data_stays():
    dates = ["June 24 -- Pavilion, Bristow", "June 26 -- Center, Allentown", "June 27 -- Arena, Camden"]
    text = ARTICLE_EN + "\n\n" + "\n".join(dates)
    (doc,), _ = _run([_doc(text, lang="en")])
    assert doc["text"] == text


def test_a_list_of_quantities_is_data_not_a_menu():
    ingredients = "\n".join(["Ingredients", "500 g flour", "350 ml water", "10 g salt", "2 tbsp olive oil",
                             "1 sachet yeast"])
    text = f"{ARTICLE_EN}\n{ingredients}\nMix everything and leave the dough to rise for two hours."
    (doc,), _ = _run([_doc(text, lang="en")])
    assert doc["text"] == text


@pytest.mark.parametrize(("line", "menu"), [
    ("网站首页 企业简介 企业文化 产品服务 成功案例 联系我们", True),
    ("首页 | 新闻 | 体育", True),
    ("较强冷空气来袭 全国多地开启“抖抖抖”模式", False),
    ("三星 Galaxy S20 系列手机正式发布", False),
    ("赫伯特·乔治·威尔斯的《时间机器》", False),
])
def test_menu_rows(line, menu):
    from corpus.clean import is_menu_row

    assert is_menu_row(line) is menu


def test_traditional_chinese_news_page_comes_out_clean_and_kept():
    from corpus.filters.stage import FilterStep

    page = "\n".join([
        "颱風逼近 氣象局發布海上警報｜自由時報電子報",
        "首頁", "即時", "政治", "社會", "生活", "國際", "財經", "體育",
        "中央氣象局今天上午發布海上颱風警報，預估颱風中心將於明天清晨最接近臺灣東南部海面。",
        "請繼續往下閱讀...",
        "氣象局表示，受颱風外圍環流影響，東半部及恆春半島今晚起將有局部大雨，民眾應注意強風與豪雨。",
        "不用抽 不用搶 現在用APP看新聞 保證天天中獎　點我下載APP　按我看活動辦法",
        "農委會也提醒農民提早搶收農作物，並做好田間排水與防風措施，以減少損失。",
        "交通部表示，各機場與港口將視風雨情況調整航班與船班，旅客出發前應先上網查詢最新資訊，"
        "以免白跑一趟。公路總局也已在山區路段預先部署機具，一旦發生坍方將立即搶通。",
        "氣象專家分析，這個颱風的路徑仍有變數，若太平洋高壓減弱，颱風可能轉向北上，"
        "對北部地區的影響將會增加，民眾不可掉以輕心，應持續留意氣象局發布的最新消息。",
        "（責任編輯：王小明）",
        "相關新聞",
        "颱風假怎麼放？各縣市最新公告",
        "高鐵、台鐵明天班次調整一覽",
        "颱風來襲前該準備哪些物資",
    ])
    counters = Counter()
    (doc,) = list(FilterStep()(CleanStep()(iter([_doc(page)]), counters), counters))
    assert rejection(doc) is None
    for junk in ("請繼續往下閱讀", "下載APP", "責任編輯", "相關新聞", "首頁", "颱風假怎麼放"):
        assert junk not in doc["text"], junk
    assert "農委會也提醒農民" in doc["text"] and doc["text"].startswith("颱風逼近")


def test_documents_with_links_are_not_repaired_so_no_anchor_is_lost():
    line = "Apollo is the god of music and poetry."
    text = f"{line}\n{line}\nHe is the son of [Zeus]."
    links = [["Zeus", text.index("Zeus"), text.index("Zeus") + 4]]
    (doc,), counters = _run([_doc(text, lang="en", source="enwiki", links=links)])
    assert doc["text"] == text and counters["clean_link_lost"] == 0
    assert doc["meta"]["links"] == links


def test_a_trailing_list_of_click_bait_headlines_goes():
    heads = ["他竟然这样做！网友看呆了", "这三种食物千万别一起吃？", "月薪三千和三万的区别在这里！"]
    (doc,), _ = _run([_doc(ARTICLE_ZH + "\n" + "\n".join(heads))])
    assert doc["text"] == ARTICLE_ZH
    # A dialogue ending a story is prose: its lines close with quotes.
    story = ARTICLE_ZH + "\n“真的吗？”\n“真的！”\n“太好了！”"
    (doc,), _ = _run([_doc(story)])
    assert doc["text"] == story
