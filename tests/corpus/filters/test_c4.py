"""C4 rules: the one-pass sentence count and the substring test for policy lines equal their plain forms."""

from __future__ import annotations

import random
import re

from corpus.filters import c4
from corpus.filters.c4 import POLICY_SUBSTRINGS, C4Filter, mentions_policy_or_javascript

_PIECES = [*POLICY_SUBSTRINGS, "javascript", "cookie", "cookies", "terms of", "policy", "use", "privacy",
           ".", "!", "?", " ", "\n", ". ", "?\n", "word", "中文。", "…"]


def test_sentences_and_the_policy_test_equal_their_plain_definitions():
    policy = re.compile("|".join(map(re.escape, POLICY_SUBSTRINGS)))
    rng = random.Random(7)
    for _ in range(5000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 12)))
        lower = text.lower()
        plain = sum(lower.count(p) for p in (". ", "! ", "? ", ".\n", "!\n", "?\n")) + \
            lower.rstrip().endswith((".", "!", "?"))
        assert C4Filter().score(text)["sentences"] == plain, ascii(text)
        assert mentions_policy_or_javascript(lower) == bool("javascript" in lower or policy.search(lower)), ascii(text)


def test_policy_and_javascript_lines_are_counted():
    text = "We use cookies on this site.\nRead our privacy policy.\nA line of prose.\nEnable JavaScript."
    scores = C4Filter().score(text)
    assert scores["policy_lines_ratio"] == 0.5 and scores["javascript_lines_ratio"] == 0.25
    assert c4._SENTENCE_END.findall("a. b!\nc") == [". ", "!\n"]
