"""Small HTML-to-text for problem statements (LeetCode, doocs): paragraphs, lists, ``<pre>`` and ``<code>``.

Built on the standard library's ``html.parser``: block tags become line breaks, list items get ``-`` or
``1.`` markers, ``<pre>`` keeps its whitespace, inline ``<code>`` becomes `backticks` and ``<sup>``
becomes ``^``. Scripts, styles, tables' layout and images are not rendered (tables become lines).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

BLOCK_TAGS = frozenset({"p", "div", "ul", "ol", "li", "pre", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                        "table", "blockquote", "hr", "section", "dl", "dt", "dd"})
SKIP_TAGS = frozenset({"script", "style", "head", "title"})
SPACES = re.compile(r"[ \t\u00a0]+")
BLANK_LINES = re.compile(r"\n{3,}")
INDENT = "\x01"  # nested-list indentation, kept apart from spaces until lines are stripped


class _TextBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.pre = 0
        self.skip = 0
        self.lists: list[list] = []  # stack of [kind, counter]

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in SKIP_TAGS:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
            self.out.append("\n\n")
        elif tag in {"ul", "ol"}:
            self.lists.append([tag, 0])
            self.out.append("\n")
        elif tag == "li":
            marker = "- "
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}. "
            self.out.append("\n" + INDENT * max(len(self.lists) - 1, 0) + marker)
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag == "sup":
            self.out.append("^")
        elif tag in {"td", "th"}:
            self.out.append(" ")
        elif tag in BLOCK_TAGS:
            self.out.append("\n" if tag in {"br", "tr", "li", "dt", "dd"} else "\n\n")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in {"br", "hr"}:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS:
            self.skip = max(self.skip - 1, 0)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self.out.append("\n\n")
        elif tag in {"ul", "ol"}:
            if self.lists:
                self.lists.pop()
            self.out.append("\n\n")
        elif tag == "code" and not self.pre:
            self.out.append("`")
        elif tag in BLOCK_TAGS and tag not in {"li", "br"}:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre:
            self.out.append("\x00PRE" + data.replace("\n", "\x00NL") + "\x00END")
        else:
            self.out.append(SPACES.sub(" ", data.replace("\n", " ")))


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML fragment; ``<pre>`` blocks keep their line breaks and spacing."""
    builder = _TextBuilder()
    builder.feed(html)
    builder.close()
    lines = []
    for line in "".join(builder.out).split("\n"):
        # Outside <pre>, collapse spaces; inside, keep them (protected by \x00 markers until here).
        parts = re.split(r"(\x00PRE.*?\x00END)", line)
        line = "".join(p[4:-4] if p.startswith("\x00PRE") else SPACES.sub(" ", p.replace("\u00a0", " "))
                       for p in parts)
        lines.append(line.rstrip() if "\x00NL" in line else line.strip())
    text = "\n".join(lines).replace("\x00NL", "\n").replace(INDENT, "  ")
    text = re.sub(r"`\s*`", "", text)
    return BLANK_LINES.sub("\n\n", "\n".join(x.rstrip() for x in text.split("\n"))).strip()
