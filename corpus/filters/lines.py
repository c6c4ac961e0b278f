"""Line shapes shared by ``clean`` and the quality filters: list items, headings, prose, sentences.

C4 and Gopher judge a page by the share of lines ending in punctuation; on real pages headings and
list items end without it and are not junk, so they are told apart here and left out of those shares.
Everything is one pass over the lines with anchored, bounded regexes (linear in the text).
"""

from __future__ import annotations

import functools
import re

import numpy as np

from corpus.text import HAN

# A sentence ends in one of these, optionally followed by closing quotes/brackets.
SENTENCE_END = "。！？!?.…"
CLOSERS = "\"'”’」』）)】》"
TERMINAL = tuple(SENTENCE_END) + tuple(CLOSERS) + ("；", ";", ":", "：")
# Each of them is one character, so "ends with one of them" is a set lookup of the last character (an
# endswith of the 20-string tuple tries each in turn).
_TERMINAL_CHARS = frozenset(TERMINAL)
# List markers: bullets, "1." "1)" "(1)" "（一）" "一、" "a)" — at most 3 digits so years stay prose.
_LIST_ITEM = re.compile(
    r"^\s{0,8}(?:[-*•●○■□▪►‣⁃◦·–—]\s?|\d{1,3}\s?[.)、．:：]\s?|[（(]\s?(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s?[)）]"
    r"|[一二三四五六七八九十]{1,3}\s?[、.．]|[a-zA-Z][.)]\s|#{1,6}\s)"
)
# The characters a _LIST_ITEM match can start with, but ASCII letters: its leading whitespace and the
# first character of each other alternative, in one class spelt from the regex's own. A line that starts
# with a letter can match only "[a-zA-Z][.)]\s", so its second character decides; most lines start with
# neither (a word, a Han character, a quote), and a set lookup answers them where the regex match cost
# ~0.2 us a line.
_LIST_FIRST = re.compile(r"[\s\d\-*•●○■□▪►‣⁃◦·–—（(一二三四五六七八九十#]")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CJK = HAN.regex
_CJK_RUNS = re.compile(_CJK.pattern + "+")
# Sentence ends inside a line: a Chinese mark anywhere, or a Latin one followed by a space.
_ZH_SENTENCE = re.compile(r"[。！？!?；]+[”’」』）)]*")
_EN_SENTENCE = re.compile(r"[.!?]+[\"'”’)]*(?:\s|$)")
# Either kind, for "is there a sentence end": one scan that stops at the first, where searching for one
# kind and then the other scans all of an English text for a Chinese mark first (41 -> 4 us on 12 KB).
_ANY_SENTENCE = re.compile(f"{_ZH_SENTENCE.pattern}|{_EN_SENTENCE.pattern}")
# The same question without the alternation, which re cannot skip ahead in (it tries both branches at
# every character: 3.8 us on a 0.5 KB English text): a Chinese mark, "!" or "?" anywhere is a sentence
# end by _ZH_SENTENCE (its closers are optional), so _EN_SENTENCE is needed only for a run of dots, a
# pattern that starts with a literal, which re finds by a fast scan.
_ZH_MARKS = "。！？!?；"
_DOTS_END = re.compile(r"\.+[\"'”’)]*(?:\s|$)")
# A heading is at most this long: about a short title line (en words / zh characters).
HEADING_MAX_WORDS = 12
HEADING_MAX_CJK = 30


@functools.cache
def _list_item_first() -> frozenset[str]:
    """Every character ``_LIST_FIRST`` matches (717, astral digits included; ~16 ms, once)."""
    every = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype("<u4").tobytes()
    return frozenset(_LIST_FIRST.findall(every.decode("utf-32-le")))


def is_list_item(line: str) -> bool:
    """True for a line that starts with a bullet, a number or letter marker, or a Markdown heading mark."""
    first = line[:1]
    if first in _ASCII_LETTERS:
        return line[1:2] in (".", ")") and _LIST_ITEM.match(line) is not None
    return first in _list_item_first() and _LIST_ITEM.match(line) is not None


def ends_sentence(line: str) -> bool:
    """True when the stripped line ends in terminal punctuation (C4's test, with Chinese marks added)."""
    return line.rstrip()[-1:] in _TERMINAL_CHARS


def has_sentence_end(text: str) -> bool:
    """``_ANY_SENTENCE.search(text) is not None``: a Chinese sentence mark anywhere, or a Latin end before a
    space or the end."""
    return any(mark in text for mark in _ZH_MARKS) or _DOTS_END.search(text) is not None


def sentence_count(text: str) -> int:
    """Sentences in ``text``: Chinese end marks, Latin end marks before a space or the end; after at
    least one of those, an unterminated tail counts too (the cut-off last sentence of an excerpt)."""
    n = len(_ZH_SENTENCE.findall(text)) + len(_EN_SENTENCE.findall(text))
    return n + (n > 0 and not text.rstrip().endswith(TERMINAL))


def _is_short(line: str) -> bool:
    # Runs, not single characters: one match object per run of CJK (1.8x faster on Chinese lines). An
    # ASCII line has none, and the words are counted only up to one past the bound (maxsplit: a long
    # line is not cut into all its words): 2.3x faster on the menu-heavy English pages of dev.jsonl.
    cjk = 0 if line.isascii() else sum(map(len, _CJK_RUNS.findall(line)))
    if cjk * 3 >= len(line):
        return cjk <= HEADING_MAX_CJK
    return len(line.split(None, HEADING_MAX_WORDS)) <= HEADING_MAX_WORDS


def line_kinds(lines: list[str]) -> list[str]:
    """One kind per non-empty stripped line: ``list``, ``heading``, ``prose`` or ``fragment``.

    - ``list``: starts with a list marker (see :func:`is_list_item`).
    - ``prose``: ends a sentence, or is long and holds a sentence end inside (a cut paragraph).
    - ``heading``: short, not a sentence, and followed by a prose line (a title over its text).
    - ``fragment``: the rest — menu entries, link titles, captions in a run, widget text.
    """
    kinds = []
    short: dict[int, bool] = {}  # _is_short of the lines that are neither list items nor sentences
    # is_list_item, ends_sentence and _is_short inlined, the same tests in the same order: most lines of
    # a page are short menu entries and link titles, and three calls a line were a third of the time.
    first_chars, match, append, terminal = _list_item_first(), _LIST_ITEM.match, kinds.append, _TERMINAL_CHARS
    for i, line in enumerate(lines):
        first = line[:1]
        if (first in first_chars or (first in _ASCII_LETTERS and line[1:2] in (".", ")"))) and match(line):
            append("list")
        elif line.rstrip()[-1:] in terminal:  # ends_sentence
            append("prose")
        else:
            if line.isascii():  # no CJK, so the word count decides (0 * 3 >= len(line) only when empty)
                is_short = not line or len(line.split(None, HEADING_MAX_WORDS)) <= HEADING_MAX_WORDS
            else:
                is_short = _is_short(line)
            short[i] = is_short
            # sentence_count(line) >= 2 on a line that does not end a sentence: its unterminated tail
            # counts once there is one sentence end inside, so one search (not two findall) answers.
            append("prose" if not is_short and has_sentence_end(line) else "short")
    for i, kind in enumerate(kinds):
        if kind == "short":
            follows = kinds[i + 1] if i + 1 < len(kinds) else ""
            kinds[i] = "heading" if follows in ("prose", "list") and short[i] else "fragment"
    return kinds


def prose_chars_ratio(lines: list[str], kinds: list[str]) -> tuple[float, int]:
    """Share of body characters (prose and fragment lines; headings and list items left out) that are
    in prose lines, and the number of body lines. Weighted by characters, so a caption or a byline
    between paragraphs weighs what it is worth, not as much as a paragraph."""
    ratio, count, _ = body_shape(lines, kinds)
    return ratio, count


def body_shape(lines: list[str], kinds: list[str]) -> tuple[float, int, int]:
    """:func:`prose_chars_ratio` and the body lines' characters, from one pass over the lines."""
    body = prose = count = 0
    for line, kind in zip(lines, kinds, strict=True):
        if kind in ("prose", "fragment"):
            count += 1
            body += len(line)
            prose += len(line) if kind == "prose" else 0
    return (prose / body if body else 0.0), count, body


def is_complete_entry(text: str, min_sentences: int = 1) -> bool:
    """True when ``text`` is whole sentences: at least ``min_sentences`` sentence ends, and it ends in one.

    A short encyclopedia entry or a Q&A answer ("英国是位于欧洲西北部的岛国，首都是伦敦。") passes; a
    title, a keyword list or a cut fragment does not.
    """
    stripped = text.rstrip()
    if not stripped.endswith(TERMINAL):
        return False  # the cheap test first; most texts are decided here or by the first sentence end
    if min_sentences <= 1:
        return min_sentences <= 0 or has_sentence_end(stripped)
    return len(_ZH_SENTENCE.findall(stripped)) + len(_EN_SENTENCE.findall(stripped)) >= min_sentences
