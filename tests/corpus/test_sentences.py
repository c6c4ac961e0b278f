"""Sentence boundaries: Chinese, English edge cases, code, mixed; lossless on any text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.sentences import clause_ends, looks_like_code, sentence_ends, split_sentences


def test_chinese_terminators_keep_closing_quotes_and_brackets():
    text = "他说：“今天下雨了。”然后走了！真的吗？（是的。）好吧；再见……最后"
    assert split_sentences(text) == ["他说：“今天下雨了。”", "然后走了！", "真的吗？", "（是的。）", "好吧；", "再见……", "最后"]


def test_chinese_sentence_keeps_following_newlines():
    assert split_sentences("第一句。\n\n第二句。") == ["第一句。\n\n", "第二句。"]


def test_english_abbreviations_decimals_initials_ellipses_quotes():
    text = (
        "Dr. Smith paid $3.50 for it. J. R. R. Tolkien wrote books. Wait... and then it rained. "
        '"Really?" she asked. It was 5 p.m. now. The U.S. Army left. e.g. this stays. Done! Next one.'
    )
    assert split_sentences(text) == [
        "Dr. Smith paid $3.50 for it. ",
        "J. R. R. Tolkien wrote books. ",
        "Wait... and then it rained. ",
        '"Really?" she asked. ',
        "It was 5 p.m. now. ",
        "The U.S. Army left. e.g. this stays. ",
        "Done! ",
        "Next one.",
    ]


def test_english_quote_after_full_stop_stays_on_sentence():
    assert split_sentences('He said "stop." Then he left.') == ['He said "stop." ', "Then he left."]


def test_mixed_chinese_and_english():
    assert split_sentences("模型很大。It works well. 再来一次！") == ["模型很大。", "It works well. ", "再来一次！"]


def test_code_splits_between_lines_at_blank_lines_and_top_level_definitions():
    code = "import os\n\ndef f(x):\n    y = x + 1\n\n    return y\nclass A:\n    pass\n"
    assert looks_like_code(code)
    pieces = split_sentences(code, kind="code")
    assert pieces == ["import os\n\n", "def f(x):\n    y = x + 1\n\n", "    return y\n", "class A:\n    pass\n"]
    assert all(p.endswith("\n") for p in pieces)


def test_markdown_fence_is_split_as_code_and_prose_around_it():
    text = "Intro. More text.\n```python\nx = 1. \ny = 2\n```\nAfter it. Done."
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    # "x = 1. " inside the fence is not a sentence end: code only splits between lines
    assert not any(p.endswith("1. ") for p in pieces)
    assert pieces[0] == "Intro. " and pieces[-1] == "Done."


def test_clause_ends_for_prose_and_code():
    text = "第一部分，第二部分、第三部分"
    assert [text[:e] for e in clause_ends(text)] == ["第一部分，", "第一部分，第二部分、"]
    code = "a = 1\nb = 2\nc = 3"
    assert clause_ends(code, kind="code") == [6, 12]


def test_empty_text_has_no_sentences():
    assert split_sentences("") == []
    assert sentence_ends("") == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Z.。！？…”\"\n\t)(e1 ，`")) | st.characters(), max_size=200),
       st.sampled_from(["auto", "prose", "code"]))
def test_splitting_is_lossless(text, kind):
    ends = sentence_ends(text, kind)
    assert "".join(split_sentences(text, kind)) == text
    assert ends == sorted(set(ends))
    assert (ends[-1] == len(text)) if text else ends == []
