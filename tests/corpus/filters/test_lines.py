"""Line shapes: the one-pass ``line_kinds`` gives the kinds of its plain definition."""

from __future__ import annotations

import random
import re

from corpus.filters import lines
from corpus.filters.lines import (
    HEADING_MAX_CJK,
    HEADING_MAX_WORDS,
    ends_sentence,
    is_list_item,
    sentence_count,
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def plain_kinds(text_lines: list[str]) -> list[str]:
    """``line_kinds`` as it was written before issue 20's speed work: every measure counted in full."""
    def is_short(line: str) -> bool:
        cjk = len(_CJK.findall(line))
        return cjk <= HEADING_MAX_CJK if cjk * 3 >= len(line) else len(line.split()) <= HEADING_MAX_WORDS

    kinds = []
    for line in text_lines:
        if is_list_item(line):
            kinds.append("list")
        elif ends_sentence(line) or (not is_short(line) and sentence_count(line) >= 2):
            kinds.append("prose")
        else:
            kinds.append("short")
    for i, kind in enumerate(kinds):
        if kind == "short":
            follows = kinds[i + 1] if i + 1 < len(kinds) else ""
            kinds[i] = "heading" if follows in ("prose", "list") and is_short(text_lines[i]) else "fragment"
    return kinds


_PIECES = ["长江大河", "中国", "。", "！", "？", "；", "”", "，", "the river", "word", " ", ". ", "! ", "?", "\"",
           "1. ", "- ", "一、", "(2)", "# ", "…", ":", "x" * 40, "长" * 35]


def test_line_kinds_equal_the_plain_definition_on_random_lines():
    rng = random.Random(11)
    for _ in range(2000):
        text_lines = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14))).strip() or "x"
                      for _ in range(rng.randint(1, 8))]
        assert lines.line_kinds(text_lines) == plain_kinds(text_lines), text_lines


def test_short_line_test_counts_words_and_cjk_as_in_full():
    # _is_short counts words only up to one past HEADING_MAX_WORDS and skips the CJK scan on ASCII
    # lines; around both bounds it must answer as counting everything does.
    rng = random.Random(5)
    pieces = ["a", "bb", " ", "  ", "\t", "\u3000", "\x1c", "长", "长江", "。", "x" * 5, "é"]
    for _ in range(5000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 45)))
        cjk = len(_CJK.findall(line))
        expected = cjk <= HEADING_MAX_CJK if cjk * 3 >= len(line) else len(line.split()) <= HEADING_MAX_WORDS
        assert lines._is_short(line) == expected, ascii(line)


def test_complete_entry_equals_searching_each_kind_of_sentence_end():
    # One regex for both kinds of sentence end must answer as the two searches did.
    rng = random.Random(8)
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES + ["\n", "x.y", "a!b"]) for _ in range(rng.randint(0, 10)))
        stripped = text.rstrip()
        expected = stripped.endswith(lines.TERMINAL) and bool(
            lines._ZH_SENTENCE.search(stripped) or lines._EN_SENTENCE.search(stripped))
        assert lines.is_complete_entry(text) == expected, ascii(text)


# Sentence marks of both kinds, closers, dots in runs, spaces, newlines (Python's "$" also matches before
# a final newline), letters and Han between them.
_END_PIECES = [".", "..", "!", "?", "。", "！", "？", "；", ";", "”", "’", ")", "'", '"', "」", " ", "\n", "\t", "a",
               "中", "…", "\u3000", ",", "x.y"]


def test_has_sentence_end_answers_as_the_alternation():
    rng = random.Random(4)
    for _ in range(20000):
        text = "".join(rng.choice(_END_PIECES) for _ in range(rng.randint(0, 8)))
        assert lines.has_sentence_end(text) == (lines._ANY_SENTENCE.search(text) is not None), repr(text)
    assert lines.has_sentence_end("ends with a dot.") and lines.has_sentence_end('he said "no." then')
    assert not lines.has_sentence_end("v1.2 and e.g") and lines.has_sentence_end("v1.2 and e.g.\n")


def test_list_item_screen_answers_as_the_regex():
    # is_list_item looks at the first one or two characters before the regex; it must never skip a line
    # the regex matches. Every BMP character, and astral digits, before the endings of each alternative.
    endings = ["", ". x", ") x", "、x", " 1. x", "1) x", " - x", "）x", "一、x", "# x", "x"]
    starts = [chr(c) for c in range(0x10000)] + ["\U0001d7ce", "\U000104a0", "\U0001f600", "a.", "Z)", "b"]
    for start in starts:
        for ending in endings:
            line = start + ending
            assert lines.is_list_item(line) == bool(lines._LIST_ITEM.match(line)), ascii(line)
    rng = random.Random(3)
    pieces = _PIECES + ["\u3000", "\x1c", "\t", "a", "a.", "b)", "(", "（", "一", "十、", "12", "٣", "𝟙", "•", "#"]
    for _ in range(20000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        assert lines.is_list_item(line) == bool(lines._LIST_ITEM.match(line)), ascii(line)


def test_sentence_end_is_a_last_character_test():
    # ends_sentence and line_kinds look up the last character in a set: every terminal must be one character.
    assert all(len(end) == 1 for end in lines.TERMINAL)
    for line in ["", " ", "a.", "a. ", "a.\n", "a", "“a”", "a：", "a…", "a\u3000"]:
        assert lines.ends_sentence(line) == line.rstrip().endswith(lines.TERMINAL), ascii(line)
