"""What a reader sees, on real pages: quotes, {{convert}}, <math>, <source>, language and date templates,
table policies, per-language sections and disambiguation, and the per-template counter of what was dropped.

The real pages are seven articles of gensim's enwiki test dump (data_samples/wiki/gensim); each assertion
compares the converted text with what the raw wikitext of that article holds.
"""

from __future__ import annotations

import bz2
import html
import re
from collections import Counter
from pathlib import Path

import pytest

from corpus.readers.templates import RENDERERS, Call, renderer
from corpus.readers.wiki import SKIP_DISAMBIGUATION, TEMPLATE_DROPPED, WikiReader
from corpus.readers.wikitext import MATH_PLACEHOLDER, WikitextConverter

EXCERPT = Path(__file__).parents[3] / "data_samples" / "wiki" / "gensim" / "enwiki-gensim-excerpt.xml.bz2"
FORBIDDEN = ("{{", "}}", "[[", "]]", "<ref", "{|", "|}", "thumb|", "‹!-", "sqmi", "e6acre")


@pytest.fixture(scope="module")
def pages() -> tuple[dict[str, str], Counter]:
    counters: Counter = Counter()
    docs = {d["meta"]["title"]: d["text"] for d in WikiReader()(EXCERPT, counters)}
    return docs, counters


@pytest.fixture(scope="module")
def raw() -> str:
    return html.unescape(bz2.decompress(EXCERPT.read_bytes()).decode("utf-8"))


def test_no_markup_residue_on_real_pages(pages):
    docs, _ = pages
    assert len(docs) == 7
    for title, text in docs.items():
        prose = re.sub(r"```.*?```|\$[^$\n]+\$", "", text, flags=re.S)  # formulas and code keep braces
        for token in FORBIDDEN:
            assert token not in prose, (title, token)


def test_quote_block_kept_after_its_lead_in(pages):
    text = pages[0]["Abraham Lincoln"]
    # Raw: "...was that of preserving the Union:<ref>...</ref>\n\n{{quote|My paramount object in this ..."
    assert "was that of preserving the Union:\nMy paramount object in this struggle is to save the Union, " \
           "and is not either to save or to destroy slavery." in text
    assert "Fondly do we hope—fervently do we pray—that this mighty scourge of war" in text


def test_convert_rendered_as_the_page_shows_it(pages):
    text = pages[0]["Alabama"]
    assert "with 52,419 square miles (135,760 km²) of total area" in text  # {{convert|52419|sqmi|km2|abbr=out|sp=us}}
    assert "consists of 22 million acres (89,000 km²) of forest" in text  # {{convert|22|e6acre|km2}}
    assert "at a height of 2,413 ft (735 m)" in text  # {{convert|2413|ft|0|abbr=on}}
    assert "As of 2010, the three largest denominational groups" in text  # {{As of|2010}}


def test_inline_math_kept_as_latex(pages, raw):
    text = pages[0]["Albedo"]
    assert r"at that solar zenith angle, ${\bar \alpha(\theta_i)}$, and the bi-hemispherical reflectance, " \
           r"$\bar{ \bar \alpha}$ the proportion" in text
    assert raw.count("<math>") and text.count("$") >= 2 * 5


def test_source_block_verbatim_and_fenced(pages, raw):
    text = pages[0]["Algorithm"]
    start = raw.index('<source lang="cbmbas">') + len('<source lang="cbmbas">')
    code = raw[start : raw.index("</source>", start)].strip("\n")
    assert code.startswith("  5 REM Euclid's algorithm") and "  30 IF A > B THEN GOTO 60" in code
    assert f"```cbmbas\n{code}\n```" in text  # indentation, parentheses and quotes as written
    assert "the instruction `LET [] = []` is the assignment" in text  # <source inline>


def test_language_and_date_templates(pages):
    docs, _ = pages
    assert docs["Aikido"].startswith("Aikido (合気道, Aikidō) [a.i.ki.doː] is a modern Japanese martial art")
    rand = docs["Ayn Rand"]
    assert "Ayn Rand (/ˈaɪn ˈrænd/; born Alisa Zinov'yevna Rosenbaum" in rand  # {{IPAc-en}}, {{nowrap}}
    assert "Розенба́ум; February 2 [O.S. January 20] 1905 – March 6, 1982) was a Russian-born" in rand
    assert ", or." not in rand and ",," not in rand


def test_dropped_templates_are_counted_per_name(pages):
    _, counters = pages
    dropped = {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith(TEMPLATE_DROPPED + ":")}
    assert dropped["cite book"] > 100 and dropped["main"] > 10  # citations in the text, hatnotes
    assert "convert" not in dropped and "quote" not in dropped and "lang" not in dropped


def test_table_policies_on_a_real_table():
    rows = {d["meta"]["title"]: d["text"] for d in WikiReader(tables="rows")(EXCERPT, Counter())}
    text = rows["Alabama"]
    assert "Racial composition | 1990 | 2000 | 2010\nWhite | 73.6% | 71.1% | 68.5%\n" in text
    dropped = {d["meta"]["title"]: d["text"] for d in WikiReader()(EXCERPT, Counter())}["Alabama"]
    assert "73.6%" not in dropped


@pytest.mark.parametrize(
    "wikitext,text",
    [
        # A sentence that only introduces a dropped table goes with it; the sentence before stays.
        ("Alabama grew. The census counted:\n{|\n|-\n| a || b\n|}\nLater text.", "Alabama grew.\n\nLater text."),
        ("The census counted:\n{|\n|-\n| a || b\n|}\nLater.", "Later."),
        ("Counts by [[U.S. state|state. And more]] follow:\n{|\n| a\n|}\nLater.", "Later."),  # never cut in a link
        ("A colon: not before a table.\n\nNext.", "A colon: not before a table.\n\nNext."),
        ("Rows:\n* one\n* two\n** two.one", "Rows:\none\ntwo\ntwo.one"),  # one list item per line
    ],
)
def test_structure_policies(wikitext, text):
    assert WikitextConverter().convert(wikitext).text == text


def test_math_and_code_policies():
    page = "Let <math>x^2 + {{y}}</math> be.\n<math display=\"block\">\\sum_i a_i</math>\n<pre>a &lt; b\n  c</pre>"
    assert WikitextConverter().convert(page).text == "Let $x^2 + {{y}}$ be.\n$$\\sum_i a_i$$\n\n```\na < b\n  c\n```"
    # The example: "function init {" lost its indentation and parentheses.
    code = 'function init() {\n    var x = {{a: "b"}};\n  return (x);\n}'
    page = f'Example:\n<syntaxhighlight lang="javascript">\n{code}\n</syntaxhighlight>\nThen {{{{convert|1|km}}}}.'
    assert WikitextConverter().convert(page).text == f"Example:\n```javascript\n{code}\n```\n\nThen 1 kilometre (0.62 mi)."
    assert WikitextConverter(math="placeholder").convert("Let <math>x</math> be.").text == f"Let {MATH_PLACEHOLDER} be."
    assert WikitextConverter(math="drop").convert("Let <math>x</math> be.").text == "Let be."
    with pytest.raises(ValueError, match="tables must be one of"):
        WikiReader(tables="html")


def test_variant_markup_resolved_after_comments():
    # The variant regex used to run first and read "<!--{{Infobox}}-->" as variant markup.
    wikitext = "<!--{{Infobox person\n| name = x}}-->'''亞當斯'''是-{zh-hans:计算机;zh-hant:電腦}-作家。"
    assert WikitextConverter(lang="zh").convert(wikitext).text == "亞當斯是计算机作家。"


def jawiki(tmp_path: Path, pages: dict[str, str]) -> Path:
    """A jawiki export with these pages (title -> wikitext), in the dump's real layout."""
    body = "".join(
        f"  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>{i}</id>\n    <revision>\n"
        f"      <id>{i}0</id>\n      <timestamp>2024-01-01T00:00:00Z</timestamp>\n"
        f"      <text xml:space=\"preserve\">{html.escape(text, quote=False)}</text>\n    </revision>\n  </page>\n"
        for i, (title, text) in enumerate(pages.items(), 1)
    )
    path = tmp_path / "jawiki-test.xml"
    path.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" xml:lang="ja">\n  <siteinfo>\n'
        "    <dbname>jawiki</dbname>\n    <base>https://ja.wikipedia.org/wiki/メインページ</base>\n"
        f"    <case>first-letter</case>\n  </siteinfo>\n{body}</mediawiki>\n",
        encoding="utf-8",
    )
    return path


def test_japanese_sections_and_disambiguation(tmp_path):
    path = jawiki(tmp_path, {
        "合気道": "'''合気道'''は武道である。\n== 歴史 ==\n植芝盛平が創始した。\n== 脚注 ==\n{{Reflist}}\n"
                "== 関連項目 ==\n* [[柔道]]\n== 外部リンク ==\n* [http://example.org 公式]\n",
        "合気": "'''合気'''\n* [[合気道]]\n* [[合気柔術]]\n{{aimai}}",
        "植芝": "'''植芝'''は日本の姓。\n[[Category:曖昧さ回避]]",
    })
    counters: Counter = Counter()
    docs = list(WikiReader()(path, counters))
    assert [d["text"] for d in docs] == ["合気道は武道である。\n\n歴史\n\n植芝盛平が創始した。"]
    assert docs[0]["meta"]["lang"] == "ja" and counters[SKIP_DISAMBIGUATION] == 2
    # The same titles on an English wiki are ordinary sections: the rules follow the wiki's language.
    assert "関連項目" in WikitextConverter(lang="en", sections=frozenset()).convert("a\n== 関連項目 ==\nb").text


@pytest.mark.parametrize(
    "wikitext,text",
    [
        ("{{convert|5|mi|km|0|adj=on}} race", "5-mile (8 km) race"),
        ("{{convert|1|mi|km}}", "1 mile (1.6 km)"),
        ("{{convert|20|C}}", "20 °C (68 °F)"),
        ("{{convert|-6|C|0}}", "−6 °C (21 °F)"),
        ("{{convert|5|-|10|km}}", "5–10 kilometres (3.1–6.2 mi)"),
        ("{{convert|5|ft|6|in|m}}", "5 feet 6 inches (1.7 m)"),
        ("{{convert|100|km|mi nmi}}", "100 kilometres (62 mi; 54 nmi)"),
        ("{{convert|2|m|ft in}}", "2 metres (6 ft 7 in)"),
        ("{{cvt|10|kg}}", "10 kg (22 lb)"),
        ("{{convert|5|km|abbr=on|disp=or}}", "5 km or 3.1 mi"),
        ("{{convert|5|km|mi|sp=us|abbr=off}}", "5 kilometers (3.1 miles)"),
        ("{{lang|grc|ἀναρχία}} and {{lang-de|Haus}}", "ἀναρχία and Haus"),
        ("{{Nihongo|[[bayonet]]|銃剣|jūken}}", "bayonet (銃剣, jūken)"),
        ("{{IPAc-en|lang|æ|l|ˈ|b|iː|d|oʊ}} {{IPA-de|ˈhaʊs}}", "/ælˈbiːdoʊ/ [ˈhaʊs]"),
        ("{{as of|2014|lc=y}}, {{As of|2013|June|8}}", "as of 2014, As of 8 June 2013"),
        ("{{birth date|1809|2|12}}; {{birth date|df=yes|1894|7|26}}", "February 12, 1809; 26 July 1894"),
        ("{{death date and age|2001|5|11|1952|3|11}}", "May 11, 2001 (aged 49)"),
        ("{{OldStyleDate|February 2|1905|January 20}}", "February 2 [O.S. January 20] 1905"),
        ("{{ill|Karl Otto|de|Karl Otto (Politiker)}} {{tsl|ja|外国語|Foreign|shown}}", "Karl Otto shown"),
        ("他是{{link-en|道格拉斯|Douglas Adams}}。", "他是道格拉斯。"),
        ("A claim.{{citation needed|date=May 2020}} {{citation needed span|text=Kept.|date=2020}}", "A claim. Kept."),
        ("{{Fact|这句话保留}}。", "这句话保留。"),
        ("{{仮リンク|ダグラス|en|Douglas Adams}}は{{読み仮名|作家|さっか}}。{{要出典|date=2020年1月}}", "ダグラスは作家（さっか）。"),
        ("1{{snd}}2, {{frac|3|1|2}}, {{chem|H|2|O}}", "1 – 2, 3 1/2, H2O"),
        ("{{hlist|a|b}}", "a\nb"),
        ("the {{RailGauge|1668mm}}-gauge line, {{RailGauge|1000mm|allk=on}}", "the 1,668 mm-gauge line, 1,000 mm"),
        ("{{quote|text=Ask [[not]].|author=JFK|source=Inaugural}}", "Ask not.\n— JFK, Inaugural"),
    ],
)
def test_template_renderers(wikitext, text):
    assert WikitextConverter().convert(wikitext).text == text


def test_ages_count_to_the_revision_day(tmp_path):
    converter = WikitextConverter()
    page = "born {{birth date and age|1970|04|29}}, landed {{start date and age|1969|7|20|paren=yes}}; {{age|1969|7|20}}"
    assert converter.convert(page, today="2016-04-20").text == \
        "born April 29, 1970 (age 45), landed July 20, 1969 (46 years ago); 46"
    unknown = converter.convert(page)  # no revision day: the dates alone, {{age}} dropped and counted
    assert unknown.text == "born April 29, 1970, landed July 20, 1969;" and unknown.dropped_templates["age"] == 1
    # The reader passes each page's revision day (2024-01-01 in this export).
    (doc,) = WikiReader()(jawiki(tmp_path, {"年齢": "{{age|2000|1|2}}歳。"}), Counter())
    assert doc["text"] == "23歳。"


def test_unknown_templates_and_units_are_dropped_and_counted():
    result = WikitextConverter().convert("a{{foo|1}}{{Foo}} b{{convert|3|furlong}}{{convert|3|kg|ft in}} c{{#if:x|y}}")
    assert result.text == "a b c"
    assert result.dropped_templates == Counter({"foo": 2, "convert": 2, "#if:": 1})


def test_renderer_table_lookup():
    assert renderer("lang-fr") is renderer("lang") and renderer("ipa-ca") is not None
    assert renderer("cite web") is None and "convert" in RENDERERS
    assert RENDERERS["nowrap"](Call(name="nowrap", positional=("x",))) == "x"
