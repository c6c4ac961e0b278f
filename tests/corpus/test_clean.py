from collections import Counter

import pytest

from corpus.clean import CLEAN_EMPTY, CleanStep
from corpus.records import rejection


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
