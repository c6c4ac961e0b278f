"""Every named reason is triggered, by name, by a tiny inline text (STYLE.md: reasons are constants)."""

from __future__ import annotations

import pytest

from corpus.filters import c4, code, gopher, harmful, langid, quality_zh
from corpus.filters.base import Filter

GOOD_EN = (
    "A volcano is an opening in the crust of a planet through which molten rock, ash and gases escape. "
    "Most volcanoes on Earth are found along the boundaries of tectonic plates, where the crust is pulled apart "
    "or pushed together. When magma reaches the surface it is called lava, and its temperature can exceed one "
    "thousand degrees. Scientists monitor earthquakes, ground swelling and gas emissions to forecast eruptions."
)
GOOD_ZH = (
    "长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉。\n"
    "上游水流湍急，三峡河段两岸山势陡峭，自古就是交通的险要之处。\n"
    "中下游地区地势平坦，湖泊众多，洞庭湖和鄱阳湖都与长江相通。\n"
    "近年来，沿江各地推进生态保护，实行十年禁渔以恢复鱼类资源。"
)


def en_words(n: int) -> str:
    words = "the cat sat with a dog and they ran to the park of our town".split()
    return " ".join(words[i % len(words)] for i in range(n))


CASES: list[tuple[Filter, dict, str]] = [
    # Gopher quality
    (gopher.GopherQualityFilter(), {"text": "The cat sat with the dog."}, gopher.GOPHER_SHORT_DOC),
    (gopher.GopherQualityFilter(min_words=3, max_words=10), {"text": en_words(20)}, gopher.GOPHER_LONG_DOC),
    (gopher.GopherQualityFilter(min_words=3), {"text": "a an to of the be it is"}, gopher.GOPHER_SHORT_WORDS),
    (gopher.GopherQualityFilter(min_words=3),
     {"text": "the and pneumonoultramicroscopic supercalifragilistic"}, gopher.GOPHER_LONG_WORDS),
    (gopher.GopherQualityFilter(min_words=3), {"text": "#tag #the #and #word #more"}, gopher.GOPHER_SYMBOLS),
    (gopher.GopherQualityFilter(min_words=3), {"text": "- the apples tree\n- and pears trees\n- of plums pies"}, gopher.GOPHER_BULLETS),
    (gopher.GopherQualityFilter(min_words=3, max_symbol_word_ratio=None),
     {"text": "the apple and\nthe pear and\nthe plum is…"}, gopher.GOPHER_ELLIPSIS),
    (gopher.GopherQualityFilter(min_words=3), {"text": "the and 1234 5678 9012 3456 7890"}, gopher.GOPHER_NON_ALPHA),
    (gopher.GopherQualityFilter(min_words=3), {"text": "cheap flights london paris deals"}, gopher.GOPHER_STOP_WORDS),
    # Gopher repetition
    (gopher.GopherRepetitionFilter(), {"text": "same line\nsame line\nother"}, gopher.GOPHER_DUP_LINES),
    (gopher.GopherRepetitionFilter(max_dup_line_frac=None),
     {"text": "a b\n\nsame para\n\nsame para"}, gopher.GOPHER_DUP_PARAGRAPHS),
    (gopher.GopherRepetitionFilter(max_dup_line_frac=None, max_dup_para_frac=None),
     {"text": "x\ny\nz\nw\na long repeated line here\na long repeated line here"}, gopher.GOPHER_DUP_LINE_CHARS),
    (gopher.GopherRepetitionFilter(max_dup_line_frac=None, max_dup_para_frac=None, max_dup_line_char_frac=None),
     {"text": "p\n\nq\n\nr\n\ns\n\nt\n\nu\n\na long para\n\na long para"}, gopher.GOPHER_DUP_PARAGRAPH_CHARS),
    (gopher.GopherRepetitionFilter(), {"text": "buy now " * 5 + "the river runs"}, gopher.GOPHER_TOP_NGRAM),
    (gopher.GopherRepetitionFilter(top_ngram_max={}),
     {"text": "one two three four five six " * 2 + "seven"}, gopher.GOPHER_DUP_NGRAM),
    # C4
    (c4.C4Filter(), {"text": GOOD_EN + "\nLorem ipsum dolor sit amet."}, c4.C4_LOREM_IPSUM),
    (c4.C4Filter(), {"text": GOOD_EN + " Use {name} here."}, c4.C4_CURLY_BRACE),
    (c4.C4Filter(max_curly_braces=None, max_curly_braces_per_1k_chars=3.0),
     {"text": GOOD_EN + " function f(x) { if (x) { return {a: 1}; } }"}, c4.C4_CURLY_BRACE),
    (c4.C4Filter(), {"text": "Hello there.\nPlease enable JavaScript.\nThanks."}, c4.C4_JAVASCRIPT),
    (c4.C4Filter(), {"text": "Hello there.\nSee our privacy policy.\nThanks."}, c4.C4_POLICY),
    (c4.C4Filter(), {"text": "Just one sentence here."}, c4.C4_FEW_SENTENCES),
    (c4.C4Filter(), {"text": "A. B. C. D.\nheadline one\nheadline two\nheadline three"}, c4.C4_TERMINAL_PUNCT),
    # Chinese quality
    (quality_zh.ZhQualityFilter(), {"text": "欢迎光临本站！"}, quality_zh.ZH_SHORT_DOC),
    (quality_zh.ZhQualityFilter(min_chars=5), {"text": "This page is mostly English 中文"}, quality_zh.ZH_LOW_CJK),
    (quality_zh.ZhQualityFilter(min_chars=5), {"text": "今天天气很好。\n今天天气很好。\n明天下雨。"},
     quality_zh.ZH_DUP_LINES),
    (quality_zh.ZhQualityFilter(min_chars=5, max_dup_line_frac=None),
     {"text": "第一段。\n\n重复的段落。\n\n重复的段落。"}, quality_zh.ZH_DUP_PARAGRAPHS),
    (quality_zh.ZhQualityFilter(min_chars=5, max_dup_line_frac=None, max_dup_para_frac=None),
     {"text": "甲。\n乙。\n丙。\n丁。\n戊。\n这是一个比较长的重复句子。\n这是一个比较长的重复句子。"},
     quality_zh.ZH_DUP_LINE_CHARS),
    (quality_zh.ZhQualityFilter(min_chars=5), {"text": GOOD_ZH + "\n上一篇：新闻\n下一篇：通知"},
     quality_zh.ZH_BOILERPLATE),
    (quality_zh.ZhQualityFilter(min_chars=5), {"text": "首页\n新闻\n体育\n财经\n科技"}, quality_zh.ZH_SHORT_LINES),
    (quality_zh.ZhQualityFilter(min_chars=5),
     {"text": "今天的天气很好我们去公园\n明天的天气也不错可以爬山\n后天可能会下雨还是在家"}, quality_zh.ZH_FEW_END_PUNCT),
    # A one- or two-line document is judged by its clauses, not by its line shares.
    (quality_zh.ZhQualityFilter(min_chars=5), {"text": "新品上市 全场包邮 欢迎选购 火爆热卖"}, quality_zh.ZH_FEW_SENTENCES),
    (quality_zh.ZhQualityFilter(min_chars=5, min_clauses=None), {"text": "限时抢购★★★★★☆☆☆♥♥♥全场五折起。"},
     quality_zh.ZH_SPECIAL_CHARS),
    (quality_zh.ZhQualityFilter(min_chars=5, min_clauses=None), {"text": "股价12.34元成交量5678901手换手率1.23%市值98765亿。"},
     quality_zh.ZH_DIGITS),
    (quality_zh.ZhQualityFilter(min_chars=5, min_clauses=None), {"text": "买买买买买买买买买买买买，快来看看吧。"},
     quality_zh.ZH_TOP_NGRAM),
    (quality_zh.ZhQualityFilter(min_chars=5, top_ngram_max={}),
     {"text": "中国的首都是北京市，" * 3 + "。"}, quality_zh.ZH_DUP_NGRAM),
    # Code
    (code.CodeFilter(), {"text": "x = 1\ny = " + "a + " * 300}, code.CODE_LONG_LINE),
    (code.CodeFilter(), {"text": "v = '" + "a, " * 80 + "'"}, code.CODE_LONG_MEAN_LINE),
    (code.CodeFilter(), {"text": "/* ---- ==== **** //// */\n# |||| ++++\n"}, code.CODE_LOW_ALNUM),
    (code.CodeFilter(), {"text": "# Code generated by protoc. DO NOT EDIT.\nx = 1\n"}, code.CODE_AUTOGENERATED),
    (code.CodeFilter(), {"text": "d = '" + "QUJD" * 400 + "'\n"}, code.CODE_ENCODED_DATA),
    (code.CodeFilter(max_chars=10), {"text": "print('hello world')\n"}, code.CODE_TOO_LONG),
    (code.CodeFilter(per_language={"json": {"min_chars": 50}}),
     {"text": '{"a": 1}', "meta": {"lang": "code", "language": "JSON"}}, code.CODE_TOO_SHORT),
    # Language ID
    (langid.LangIdFilter(languages=["zh"]), {"text": GOOD_EN}, langid.LANGID_WRONG_LANGUAGE),
    (langid.LangIdFilter(languages=["en"], min_score=0.9999), {"text": "The cat sat on the mat with a hat."},
     langid.LANGID_LOW_SCORE),
    # Harmful
    (harmful.HarmfulFilter(), {"text": "百家乐 老虎机 六合彩"}, harmful.HARM_GAMBLING),
    (harmful.HarmfulFilter(), {"text": "porn xxx nude"}, harmful.HARM_PORN),
    (harmful.HarmfulFilter(), {"text": "冰毒 海洛因 摇头丸 货到付款"}, harmful.HARM_DRUGS),
    (harmful.HarmfulFilter(), {"text": "beheading massacre gore video"}, harmful.HARM_VIOLENCE),
    (harmful.HarmfulFilter(), {"text": "subhuman vermin inferior race"}, harmful.HARM_HATE),
    (harmful.HarmfulFilter(), {"text": "办证 刻章 代开发票"}, harmful.HARM_FRAUD),
    (harmful.HarmfulFilter(), {"text": "特价促销，参考价格999元，咨询电话见下。"}, harmful.HARM_ADS),
    (harmful.HarmfulFilter(), {"text": "A harmless page.", "meta": {"url": "https://www.pornhub.com/x"}},
     harmful.HARM_BLOCKED_DOMAIN),
]


@pytest.mark.parametrize(("flt", "doc", "reason"), CASES, ids=[c[2] for c in CASES])
def test_reason_is_triggered(flt: Filter, doc: dict, reason: str) -> None:
    verdict = flt.keep({"meta": {}, **doc})
    assert not verdict.keep
    assert verdict.reason == reason, verdict


def test_every_reason_constant_has_a_case() -> None:
    modules = [c4, code, gopher, harmful, langid, quality_zh]
    constants = {
        value for m in modules for name, value in vars(m).items()
        if name.isupper() and isinstance(value, str) and name.split("_")[0] in {"C4", "CODE", "GOPHER", "HARM", "LANGID", "ZH"}
    }
    assert constants == {c[2] for c in CASES}


@pytest.mark.parametrize("flt", [gopher.GopherQualityFilter(), gopher.GopherRepetitionFilter(), c4.C4Filter(),
                                 quality_zh.ZhQualityFilter(), code.CodeFilter(), harmful.HarmfulFilter()],
                         ids=lambda f: f.name)
def test_good_text_is_kept(flt: Filter) -> None:
    text = {"quality_zh": GOOD_ZH, "code": "def add(a, b):\n    return a + b\n"}.get(flt.name, GOOD_EN)
    assert flt.keep({"text": text, "meta": {}}).keep
