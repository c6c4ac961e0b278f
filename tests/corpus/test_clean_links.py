"""``clean`` keeps each ``meta.links`` span on the occurrence it was on, whatever lines cleaning removes.

The property tests build documents of numbered content lines (``L3: apple pie apple``), with words that
repeat (so an earlier, unlinked occurrence of each anchor exists), noise that cleaning rewrites inside
words (HTML tags, entities, zero-width marks, full-width letters, traditional characters), navigation
lines and runs of blank lines. After ``clean`` every link must sit on the same line number and word
index it was on; only links on removed lines may be lost, and they are counted. They run on the real
CleanStep (links on content lines) and on a CleanStep with two more line rules (every navigation line
and every repeated line dropped), with links on navigation lines too: the sentinels stop such a rule
from matching a marked line, the path where offsets come back through the lines both texts share.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.clean import CleanStep

# Repeated words, some with the noise clean_text rewrites inside them (tags, entities, zero-width marks,
# full-width letters, traditional characters under t2s).
WORDS = ["apple", "<b>apple</b>", "pie", "Ｐｉｅ", "fish&amp;chips", "ap\u200bple", "劍橋", "剑桥", "大學", "top"]
NAVIGATION = ["Back to top", "返回顶部", "Skip to content"]

content_line = st.lists(st.integers(0, len(WORDS) - 1), min_size=1, max_size=6)
line = st.one_of(content_line, st.sampled_from(NAVIGATION), st.just(""))


@dataclasses.dataclass(frozen=True, kw_only=True)
class DropsMoreLines(CleanStep):
    """CleanStep plus line rules like those a later clean may add: navigation and repeated lines go."""

    def clean_text(self, text: str, *, code: bool = False, chinese: bool = False) -> str:
        seen, kept = set(), []
        for line in super().clean_text(text, code=code, chinese=chinese).split("\n"):
            if line.strip() in NAVIGATION or (line and line in seen):
                continue
            seen.add(line)
            kept.append(line)
        return "\n".join(kept)


def build(lines: list, link_choices: list[int], *, link_navigation: bool) -> tuple[str, list[dict], list[tuple]]:
    """Document text, its links, and per link ``(content line number or None, word index)``."""
    text_lines, candidates = [], []  # candidates: (start, end, line number or None, word index)
    at = 0
    for number, item in enumerate(lines):
        if isinstance(item, list):
            words = [f"L{number}:"] + [WORDS[w] for w in item]
            position = at
            for index, word in enumerate(words):
                if index:
                    candidates.append((position, position + len(word), number, index))
                position += len(word) + 1
            raw = " ".join(words) + "  "  # trailing spaces, which clean removes
        else:
            raw = item
            if item and link_navigation:  # a link on the last word of a navigation line
                last = item.rsplit(" ", 1)[-1]
                candidates.append((at + len(item) - len(last), at + len(item), None, 0))
        text_lines.append(raw)
        at += len(raw) + 1
    chosen = sorted({candidates[c % len(candidates)] for c in link_choices}) if candidates else []
    links = [{"target": f"T{i}", "start": s, "end": e} for i, (s, e, _, _) in enumerate(chosen)]
    return "\n".join(text_lines), links, [(n, w) for _, _, n, w in chosen]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line, min_size=1, max_size=12), link_choices=st.lists(st.integers(0, 10_000), max_size=8),
       lang=st.sampled_from(["en", "zh"]), more_rules=st.booleans())
def test_links_stay_on_their_occurrence(lines, link_choices, lang, more_rules):
    text, links, truth = build(lines, link_choices, link_navigation=more_rules)
    counters = Counter()
    step = (DropsMoreLines if more_rules else CleanStep)(opencc="t2s" if lang == "zh" else None)
    (doc,) = step(iter([{"id": "x", "text": text, "source": "wiki", "meta": {"lang": lang, "links": links}}]),
                  counters)
    cleaned = doc["text"]
    kept = {link["target"]: link for link in doc["meta"]["links"]}
    assert len(kept) + counters["clean_link_lost"] == len(links)
    cleaned_lines = cleaned.split("\n")
    for i, (number, word_index) in enumerate(truth):
        link = kept.get(f"T{i}")
        line_there = number is not None and any(ln.startswith(f"L{number}: ") or ln == f"L{number}:"
                                                for ln in cleaned_lines)
        if link is None:
            assert not line_there, (text, links, i)  # only links on removed lines may be lost
            continue
        start, end = link["start"], link["end"]
        line_start = cleaned.rfind("\n", 0, start) + 1
        line_text = cleaned[line_start : cleaned.find("\n", start) % (len(cleaned) + 1)]
        assert number is not None and line_text.startswith(f"L{number}:"), (text, cleaned, link)
        assert cleaned[line_start:start].count(" ") == word_index, (text, cleaned, link)
        assert cleaned[start:end] == step.clean_text(WORDS[lines[number][word_index - 1]], chinese=lang == "zh")


def test_earlier_unlinked_occurrence_is_not_taken():
    # The old in-order search put the second link on the first "apple" once text before it changed.
    text = "Ｘ apple pie.\nBack to top\nShe ate an apple."
    links = [{"target": "Apple", "start": text.rindex("apple"), "end": text.rindex("apple") + 5}]
    counters = Counter()
    (doc,) = DropsMoreLines()(iter([{"id": "x", "text": text, "source": "wiki", "meta": {"links": links}}]), counters)
    assert doc["text"] == "X apple pie.\nShe ate an apple."
    at = doc["text"].rindex("apple")
    assert at > doc["text"].index("apple") and doc["meta"]["links"] == [{"target": "Apple", "start": at, "end": at + 5}]


def test_links_on_a_navigation_line_are_lost_and_counted():
    # The sentinels stop the navigation rule from matching the marked line; the line is still removed
    # (the text is cleaned without them) and its link counted lost, while the next link survives.
    text = "Back to top\nSee the top."
    links = [{"target": "Top", "start": 8, "end": 11}, {"target": "Top", "start": 20, "end": 23}]
    counters = Counter()
    docs = iter([{"id": "x", "text": text, "source": "wiki", "meta": {"links": links}}])
    (doc,) = DropsMoreLines()(docs, counters)
    assert doc["text"] == "See the top." and doc["meta"]["links"] == [{"target": "Top", "start": 8, "end": 11}]
    assert counters["clean_link_lost"] == 1
