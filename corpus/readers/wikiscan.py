"""The wikitext pre-pass: cut what renders as nothing in one linear scan, before the parser sees the page.

Comments, ``<ref>``/``<gallery>``/... elements (up to their first closing tag, as MediaWiki reads
extension tags), and balanced ``{{...}}``/``{{{...}}}`` and line-start ``{|...|}`` spans, matched by
counting brace runs on a stack as MediaWiki's preprocessor does (not by regexes over nested text);
unbalanced markup is left for the parser; zhwiki's ``-{...}-`` variant markup is resolved. Also the
private-use marks, the tag sets and the token-stream helpers that the converter
(:mod:`corpus.readers.wikitext`) and the finishing pass (:mod:`corpus.readers.wikisections`) share.
"""

from __future__ import annotations

import functools
import re
from collections import Counter

from mwparserfromhell.parser import tokens as tk

from corpus.readers import templates

# Private-use code points that bracket a link anchor while the text is post-processed and converted
# with OpenCC; they survive both untouched and are removed (and turned into offsets) at the very end.
LINK_OPEN = "\ue000"
LINK_CLOSE = "\ue001"
# Marks a heading line so that headings of sections left empty (all tables/templates) can be dropped.
HEADING_MARK = "\ue002"
# Where a dropped table stood, so that a lead-in sentence that only introduces it goes with it.
TABLE_MARK = "\ue003"
# Brackets the index of a verbatim piece (math, code) kept aside until the text is finished, so that
# no cleanup rule (quotes, spaces, braces, OpenCC) touches it: VERBATIM_OPEN + "12" + VERBATIM_CLOSE.
VERBATIM_OPEN = "\ue004"
VERBATIM_CLOSE = "\ue005"
VERBATIM_PIECE = re.compile("\ue004(\\d+)\ue005")
BLOCK_MARK = templates.BLOCK
MARKS = (LINK_OPEN, LINK_CLOSE, HEADING_MARK, TABLE_MARK, VERBATIM_OPEN, VERBATIM_CLOSE, BLOCK_MARK, "\x1f")

# HTML/extension tags whose content is not running prose.
DROP_TAGS = frozenset(
    {"ref", "references", "table", "gallery", "timeline", "score", "imagemap",
     "graph", "templatestyles", "noinclude", "includeonly", "mapframe", "maplink", "hiero", "inputbox",
     "categorytree", "section", "indicator", "syntaxhighlight-none", "style", "script"}
)

# Tags whose body ends at the first closing tag (extension tags; nothing nests in them): the pre-pass
# cuts the dropped ones whole and copies the verbatim ones unchanged, so braces in them stay text.
CUT_TAGS = DROP_TAGS - {"table", "syntaxhighlight-none"}
CODE_TAGS = frozenset({"pre", "source", "syntaxhighlight"})
MATH_TAGS = frozenset({"math", "chem", "ce"})
VERBATIM_TAGS = frozenset({"nowiki", "templatedata"}) | MATH_TAGS | CODE_TAGS
# The pre-pass's tokens (a lexer, not a matcher of nested spans): a comment opening, runs of two or more
# braces, a table opening/closing at the start of a line (after its newline, so every branch starts with
# a fixed character and the search skips ahead fast), and the opening of a cut or verbatim tag.
PREPASS_TOKEN = re.compile(
    r"<!--|\{\{+|\}\}+|\n[ \t]*\{\||\n[ \t]*\|\}|<(" + "|".join(sorted(CUT_TAGS | VERBATIM_TAGS)) + r")(?=[\s/>])",
    re.I,
)

# zhwiki language-variant markup: -{text}- or -{zh-hans:简;zh-hant:繁;}- (not parsed by mwparserfromhell).
VARIANT = re.compile(r"-\{(?:[A-Za-z]\|)?(.*?)\}-", re.S)
VARIANT_PART = re.compile(r"(zh(?:-[a-z]+)?)\s*:\s*([^;]*)")
VARIANT_PREFERENCE = ("zh-hans", "zh-cn", "zh", "zh-sg", "zh-my", "zh-hant", "zh-tw", "zh-hk", "zh-mo")


def template_name(body: str) -> str:
    """Normalised name of a template from the text between its braces: ``Lang_de|x`` -> ``lang de``;
    parser functions and magic words keep the part before their colon (``#if:``, ``DEFAULTSORT:``)."""
    name = body.split("|", 1)[0]
    if ":" in name:
        head = name.split(":", 1)[0].strip()
        if head.startswith("#") or (head.isupper() and head.lower() not in {"template", "msg"}):
            return head.lower() + ":"
    # Capped: a stray "{{" can make a whole paragraph look like a name, and names become counter keys.
    return templates.normalise(name)[:80]


@functools.lru_cache(maxsize=64)
def _closing_tag(name: str) -> re.Pattern:
    return re.compile(rf"</{name}\s*>", re.I)


def strip_unrendered(wikitext: str, *, tables: str = "drop", dropped: Counter | None = None) -> str:
    """Cut what the converter would render as nothing, in one left-to-right pass over ``wikitext``.

    Removes comments, cut-tag elements (``<ref>...</ref>``, ``<ref/>``, ``<gallery>``, ...), balanced
    ``{{...}}`` templates and ``{{{...}}}`` arguments (nested; templates with a renderer in
    :mod:`corpus.readers.templates` stay, every other one is counted in ``dropped`` by name) and, with
    ``tables="drop"``, ``{|...|}`` tables opened and closed at line starts (nested), leaving
    :data:`TABLE_MARK` where they stood. Open spans sit on a stack; closing one deletes its output pieces,
    so the pass is linear. Unclosed spans stay as text, as MediaWiki shows them, except an unclosed
    comment, which hides the rest of the page as in MediaWiki.
    """
    keep_tables = tables == "rows"
    wikitext = "\n" + wikitext  # the page starts a line; the newline is dropped on return
    pieces: list[str] = []
    # Open spans: [is_table, index in pieces of the opening token, braces still open (0 for tables)].
    stack: list[list] = []
    pos = 0
    search = PREPASS_TOKEN.search
    while match := search(wikitext, pos):
        start, end = match.span()
        if start > pos:
            pieces.append(wikitext[pos:start])
        token = match.group()
        first = token[0]
        if first == "<" and token[1] == "!":  # <!-- ... -->
            close = wikitext.find("-->", end)
            pos = len(wikitext) if close < 0 else close + 3
        elif first == "<":
            name = match.group(1).lower()
            gt = wikitext.find(">", end)
            if gt < 0:
                pieces.append(token)
                pos = end
                continue
            if wikitext[gt - 1] == "/":
                element_end = gt + 1
            else:
                closing = _closing_tag(name).search(wikitext, gt + 1)
                if closing is None:  # unclosed: the opening tag is text (the parser sees it as such)
                    pieces.append(wikitext[start : gt + 1])
                    pos = gt + 1
                    continue
                element_end = closing.end()
            if name in VERBATIM_TAGS:
                pieces.append(wikitext[start:element_end])
            pos = element_end
        elif token.endswith("{|"):
            if keep_tables:
                pieces.append(token)
                pos = end
                continue
            pieces.append("\n")
            stack.append([True, len(pieces), 0])
            pieces.append(token[1:])
            pos = end
        elif first == "{":
            stack.append([False, len(pieces), len(token)])
            pieces.append(token)
            pos = end
        elif first == "}":
            pos = end
            _close_braces(len(token), stack, pieces, dropped)
        elif stack and stack[-1][0]:  # |} closing the innermost open table
            del pieces[stack.pop()[1] :]
            pieces.append(TABLE_MARK + "\n")
            pos = end
        else:  # a |} that closes no table: the '|' is text and the '}' may start a '}}'
            pieces.append(token[:-1])
            pos = end - 1
    pieces.append(wikitext[pos:])
    return "".join(pieces)[1:]


def _close_braces(count: int, stack: list[list], pieces: list[str], dropped: Counter | None) -> None:
    """Match a run of ``count`` closing braces against the open brace spans, as MediaWiki's preprocessor
    does: three braces close an argument, two a template; tables still open inside are left as text."""
    while count >= 2:
        at = len(stack) - 1
        while at >= 0 and stack[at][0]:
            at -= 1
        if at < 0:
            break
        del stack[at + 1 :]
        frame = stack[at]
        index, opened = frame[1], frame[2]
        used = 3 if min(count, opened) >= 3 else 2
        body = ""
        if used == 2:
            body = "".join(pieces[index + 1 :])
            name = template_name(body)
            if templates.renderer(name) is not None:
                body = "{{" + body + "}}"
            else:
                body = ""
                if dropped is not None:
                    dropped[name] += 1
        del pieces[index + 1 :]
        pieces[index] = "{" * (opened - used)
        if body:
            pieces.append(body)
        count -= used
        frame[2] = opened - used
        if frame[2] < 2:
            stack.pop()
    if count:
        pieces.append("}" * count)


def _variant(match: re.Match) -> str:
    body = match.group(1)
    parts = dict(VARIANT_PART.findall(body))
    if not parts:
        return body
    for code in VARIANT_PREFERENCE:
        if code in parts:
            return parts[code].strip()
    return next(iter(parts.values())).strip()


def resolve_variants(wikitext: str) -> str:
    """Replace zhwiki's language-variant markup by one variant: the first of :data:`VARIANT_PREFERENCE`
    that the markup has (Simplified first), else its first one, else its text."""
    return VARIANT.sub(_variant, wikitext)


# Tokens that open a node and the tokens that close one (a tag closes with either of its two enders).
OPEN_TOKENS = frozenset(
    {tk.TemplateOpen, tk.ArgumentOpen, tk.WikilinkOpen, tk.ExternalLinkOpen, tk.HTMLEntityStart,
     tk.HeadingStart, tk.CommentStart, tk.TagOpenOpen}
)
CLOSE_TOKENS = frozenset(
    {tk.TemplateClose, tk.ArgumentClose, tk.WikilinkClose, tk.ExternalLinkClose, tk.HTMLEntityEnd,
     tk.HeadingEnd, tk.CommentEnd, tk.TagCloseSelfclose, tk.TagCloseClose}
)


def node_end(tokens: list, start: int) -> int:
    """Index just past the node opened by ``tokens[start]`` (the tokenizer's output is well nested)."""
    depth = 0
    for i in range(start, len(tokens)):
        kind = type(tokens[i])
        if kind in OPEN_TOKENS:
            depth += 1
        elif kind in CLOSE_TOKENS:
            depth -= 1
            if not depth:
                return i + 1
    raise ValueError(f"unbalanced wikitext tokens from {start}")


def find_at_depth(tokens: list, start: int, stop: int, kind: type) -> int | None:
    """Index of the first ``kind`` token directly inside the node ``tokens[start:stop]``, or None."""
    depth = 0
    for i in range(start + 1, stop - 1):
        token_kind = type(tokens[i])
        if token_kind is kind and not depth:
            return i
        if token_kind in OPEN_TOKENS:
            depth += 1
        elif token_kind in CLOSE_TOKENS:
            depth -= 1
    return None
