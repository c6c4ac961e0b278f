"""The wikitext pre-pass (strip_unrendered) and the token-stream renderer against the tree renderer."""

from __future__ import annotations

import bz2
import html
import re
from pathlib import Path

import mwparserfromhell
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.readers.wikitext import TABLE_MARK, WikitextConverter, _Tokenizer, strip_unrendered

SAMPLES = Path(__file__).parents[3] / "data_samples" / "wiki"


@pytest.mark.parametrize(
    "wikitext,kept",
    [
        ("a{{outer|x={{inner|{{deep}}}}|y}}b", "ab"),  # nested templates
        ("a{{{arg|{{default}}}}}b", "ab"),  # template arguments
        ("[[Foo|bar{{efn|note}}]] [[File:X.png|thumb|{{center|cap}}]]", "[[Foo|bar]] [[File:X.png|thumb|]]"),
        ("text {{unclosed|a {{closed}} b", "text {{unclosed|a  b"),  # unbalanced braces at the end of a page
        ("text }} more", "text }} more"),
        ("a{{{{x}}|y}}b", "ab"),  # a template whose name is a template: brace runs matched like MediaWiki
        ("x<ref name=\"a b\" group=n>{{cite web|url=u}}</ref>y<ref name=c />z<REF>q</Ref>", "xyz"),
        ("x<ref>never closed", "x<ref>never closed"),
        # tables leave a mark, so that a lead-in that introduced them can go with them
        ("a\n{| class=\"wikitable\"\n|-\n| {{flag|X}} || b\n|}\nafter", f"a\n{TABLE_MARK}\n\nafter"),
        ("a\n{|\n|\n{|\n| inner\n|}\n| outer\n|}\nb", f"a\n{TABLE_MARK}\n\nb"),  # nested tables
        ("a\n{|\n| never closed", "a\n{|\n| never closed"),
        ("a {| not at a line start |}", "a {| not at a line start |}"),
        ("{{t|\n{|\n| a\n|}}}b", "b"),  # |}} inside a template closes the template
        ("a<!-- one\ntwo {{x\n-->b", "ab"),  # comments spanning lines, hiding an unbalanced brace
        ("a<!-- never closed\nrest", "a"),  # MediaWiki hides the rest of the page
        ("{{x|<!-- }} -->}}b", "b"),
        ("<nowiki>{{kept}}</nowiki><pre>{{also}}</pre>", "<nowiki>{{kept}}</nowiki><pre>{{also}}</pre>"),
        ("a<math>\\frac{{1}}{2}</math>b", "a<math>\\frac{{1}}{2}</math>b"),  # kept verbatim for the renderer
        ("{{lang|fr|la {{dropped}}vie}} {{Nowrap|x}} {{lang-de|Haus}}", "{{lang|fr|la vie}} {{Nowrap|x}} {{lang-de|Haus}}"),
    ],
)
def test_strip_unrendered(wikitext, kept):
    assert strip_unrendered(wikitext) == kept


@pytest.mark.parametrize(
    "wikitext,text",
    [
        ("{{lang|fr|la {{dropped}}vie}} and [[Foo|bar{{efn|n}}]]", "la vie and bar"),
        ("See <nowiki>[[x]] ''y''</nowiki>.", "See x ''y''."),  # nowiki text stays, bar leftover brackets
        ("Caf&eacute; [http://x.org site] ''it'' __NOTOC__ {{convert|5|km}}", "Café site it 5 kilometres (3.1 mi)"),
        ("; Term : definition\n* item <br/> next", "Term definition\nitem\nnext"),
    ],
)
def test_converter_after_prepass(wikitext, text):
    assert WikitextConverter().convert(wikitext).text == text


def sample_pages() -> list[str]:
    pages = []
    for name in ("enwiki-sample.xml.bz2", "zhwiki-sample.xml.bz2"):
        xml = bz2.decompress((SAMPLES / name).read_bytes()).decode()
        pages += [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", xml, re.S)]
    return pages


def test_token_renderer_matches_tree_renderer_on_samples():
    # The fast path reads text off mwparserfromhell's tokens; its tree, walked by the reference
    # renderer, must give the same text for every sample page.
    converter = WikitextConverter()
    for page in sample_pages():
        stripped = strip_unrendered(page)
        tokens = _Tokenizer().tokenize(stripped, 0, True)
        fast: list[str] = []
        converter._render_range(tokens, 0, len(tokens), fast)
        tree: list[str] = []
        converter._walk(mwparserfromhell.parse(stripped, skip_style_tags=True).nodes, tree)
        assert "".join(fast) == "".join(tree)


PLAIN = st.text(alphabet=st.characters(blacklist_characters="{}<|", blacklist_categories=("Cs",)), max_size=20)
# (markup, what survives of it): each cut span with what the pre-pass leaves in its place.
MARKUP = st.sampled_from([
    ("{{cite web|url=http://x|title=T {{!}} U}}", ""),
    ("{{Infobox\n| a = {{b|{{c}}}}\n| d = [[e]]\n}}", ""),
    ("<ref name=\"r\">{{cite|x}} text</ref>", ""),
    ("<ref name=r/>", ""),
    ("<!-- a\n{{b\n-->", ""),
    ("{{{1|{{x}}}}}", ""),
    ("\n{| class=t\n|-\n| {{a}} || b\n|}\n", f"\n{TABLE_MARK}\n\n"),
    ("[[L|{{x}}anchor]]", "[[L|anchor]]"),
])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(PLAIN.map(lambda s: (s, s)), MARKUP), max_size=12))
def test_prepass_keeps_text_outside_markup(parts):
    assert strip_unrendered("".join(raw for raw, _ in parts)) == "".join(kept for _, kept in parts)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}[]|<>!-/=*:;'\n refmathowik&#", max_size=80))
def test_prepass_and_converter_never_raise(wikitext):
    stripped = strip_unrendered(wikitext)
    assert len(stripped) <= len(wikitext)
    WikitextConverter().convert(wikitext)
