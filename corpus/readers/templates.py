"""Content templates rendered as the page shows them, in one table: template name -> renderer.

A renderer gets a :class:`Call` (the template's arguments, already rendered to text, links kept as the
converter's sentinels) and returns the visible text, or None when it cannot (then the template is
dropped and counted like an unknown one). Names are normalised (no ``Template:``, lower case, ``_`` as
space); :data:`PREFIX_RENDERERS` covers families (``lang-xx``, ``IPA-xx``, ``link-xx``). Every template
not in the table is dropped by the converter's pre-pass and counted per name. To add one: write a
function of a Call and add one line to :data:`RENDERERS`. Left out: anything needing Lua or the network
(``{{inflation}}``, ``{{coord}}``). Ages (``{{birth date and age}}``, ``{{age}}``) are counted to the day of
the page's revision, what the page showed then, so a rerun gives the same text.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from corpus.readers import convert

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
# Starts a block (quote, list) on a line of its own: the converter turns it into a paragraph break, or a
# plain line break after a lead-in ending in a colon, so that "He wrote:" stays with the quote.
BLOCK = "\ue006"
YES = frozenset({"y", "yes", "on", "true", "1"})
CJK_LANGS = ("zh", "ja", "ko")
# Labels in {{IPAc-en}} that name the pronunciation, not a sound ("lang" -> "English pronunciation:").
IPAC_LABELS = frozenset({"lang", "local", "ipa", "pron", "pronunciation", "also", "uk", "us", "uklang", "uslang",
                         "alsouk", "alsous", "audio", "ipac"})


@dataclass(frozen=True, kw_only=True)
class Call:
    """One template call: its normalised name, positional and named arguments (rendered), page language
    and the day of the page's revision (ISO ``YYYY-MM-DD``, empty when unknown)."""

    name: str
    positional: tuple[str, ...] = ()
    named: dict[str, str] = field(default_factory=dict)
    lang: str = "en"
    today: str = ""

    def arg(self, key: int | str, default: str = "") -> str:
        """Positional argument ``key`` (1-based) or named argument ``key``, stripped; ``default`` if empty."""
        if isinstance(key, int):
            value = self.positional[key - 1] if len(self.positional) >= key else ""
            value = value or self.named.get(str(key), "")
        else:
            value = self.named.get(key, "")
        return value.strip() or default

    def first(self, *keys: int | str) -> str:
        """The first non-empty argument among ``keys``."""
        for key in keys:
            if value := self.arg(key):
                return value
        return ""

    def flag(self, key: str) -> bool:
        return self.arg(key).lower() in YES


Renderer = Callable[[Call], "str | None"]


def normalise(name: str) -> str:
    """``Template:Lang_de`` -> ``lang de``; a ``subst:`` prefix and surrounding space are ignored."""
    name = name.strip().replace("_", " ")
    for prefix in ("subst:", "safesubst:", "template:", "msg:"):
        if name.lower().startswith(prefix):
            name = name[len(prefix):].strip()
    return " ".join(name.lower().split())


def renderer(name: str) -> Renderer | None:
    """The renderer of a normalised template name, or None (the template is dropped)."""
    found = RENDERERS.get(name)
    if found is None:
        for prefix, family in PREFIX_RENDERERS:
            if name.startswith(prefix):
                return family
    return found


# ---- text and language ----

def first_positional(call: Call) -> str:
    return call.arg(1)


def lang_text(call: Call) -> str:
    """``{{lang|fr|la vie}}`` -> "la vie"; ``{{lang-fr|la vie}}`` -> "la vie"."""
    if call.name.startswith("lang-"):
        return call.first(1, "text")
    return call.first(2, "text")


def transliteration(call: Call) -> str:
    """``{{transl|ar|ALA|text}}`` has a system before the text; ``{{transl|ar|text}}`` not."""
    return call.arg(3) or call.arg(2)


def nihongo(call: Call) -> str:
    """``{{nihongo|Aikido|合気道|Aikidō}}`` -> "Aikido (合気道, Aikidō)"; 2/3/4 variants put the parts in their order."""
    english, kanji, romaji, extra = call.arg(1), call.arg(2), call.arg(3), call.first(4, "extra")
    if call.name == "nihongo2":
        return english
    if call.name == "nihongo3":  # romaji (kanji, english)
        english, romaji = romaji, english
    if call.name == "nihongo4":  # english (kanji romaji)
        inside = " ".join(p for p in (kanji, romaji) if p)
    else:
        inside = ", ".join(p for p in (kanji, romaji, extra) if p)
    if not english:
        return inside
    return f"{english} ({inside})" if inside else english


def chinese(call: Call) -> str:
    """``{{zh|s=中国|t=中國|p=Zhōngguó}}`` -> "simplified Chinese: 中国; traditional Chinese: 中國; pinyin: Zhōngguó"."""
    labels = (("c", "Chinese"), ("s", "simplified Chinese"), ("t", "traditional Chinese"), ("p", "pinyin"),
              ("w", "Wade–Giles"), ("j", "Jyutping"), ("poj", "Pe̍h-ōe-jī"), ("l", "lit."))
    parts = [f"{label}: {call.arg(key)}" for key, label in labels if call.arg(key)]
    return "; ".join(parts) or call.arg(1)


def ipa(call: Call) -> str:
    """``{{IPA|/a/}}`` -> "/a/"; ``{{IPA-de|ˈhaʊs}}`` -> "[ˈhaʊs]" (brackets kept if given)."""
    sound = call.arg(1)
    if not sound or call.name == "ipa":
        return sound
    return sound if sound[0] in "/[" else f"[{sound}]"


def ipac(call: Call) -> str:
    """``{{IPAc-en|lang|æ|l|ˈ|b|iː|d|oʊ}}`` -> "/ælˈbiːdoʊ/": the sounds joined, labels left out."""
    sounds = [p.strip() for p in call.positional if p.strip() and p.strip().lower() not in IPAC_LABELS]
    sounds = [" " if s == "_" else s for s in sounds]  # "_" is a word space
    return f"/{''.join(sounds)}/" if sounds else ""


def respell(call: Call) -> str:
    """``{{respell|AL|bə|BAH|mə}}`` -> "AL-bə-BAH-mə" (a ``_`` argument is a space)."""
    out = ""
    for part in (p.strip() for p in call.positional):
        if not part:
            continue
        out += part if part == "_" or not out or out.endswith(" ") else "-" + part
        out = out.replace("_", " ")
    return out.replace("- ", " ")


def interlanguage_link(call: Call) -> str:
    """The visible text of links to an article another wiki has: ``{{ill|Title|de|Titel|lt=shown}}``,
    zh ``{{link-en|中文名|English|显示}}``, ``{{tsl|ja|外国語題|English title|shown}}``."""
    if call.name in {"tsl", "translink"}:
        return call.first(4, 3, 2)
    if call.name in {"ill", "interlanguage link", "interlanguage link multi", "仮リンク"}:
        return call.first("lt", "label", 1)  # jawiki: {{仮リンク|日本語名|en|English}}
    return call.first(3, "d", 1)  # link-xx, le: 1 = local title, 2 = foreign title, 3 = shown text


def citation_needed(call: Call) -> str:
    """The marker is dropped; a span form (``{{citation needed span|text=...}}``, ``{{Fact|text}}``) keeps its text."""
    return call.first("text", 1) if call.name not in {"citation needed", "cn", "要出典"} else ""


def reading(call: Call) -> str:
    """jawiki ``{{読み仮名|漢字|かんじ}}`` -> "漢字（かんじ）"."""
    word, kana = call.arg(1), call.arg(2)
    return f"{word}（{kana}）" if kana else word


def quotation(call: Call) -> str:
    """A quote template as its own paragraph, followed by "— author, source" when they are given."""
    if call.name == "quote box":
        text, author, source = call.first("quote", 1), call.first("author", 2), call.first("source", 3)
    elif call.name == "cquote":
        text, author, source = call.first("text", "quote", 1), call.first("author", 4), call.first("source", 5)
    else:
        text, author, source = call.first("text", "quote", 1), call.first("author", "sign", 2), \
            call.first("source", "title", 3)
    if not text:
        return ""
    attribution = ", ".join(p for p in (author, source) if p)
    return f"{BLOCK}{text}\n" + (f"— {attribution}\n" if attribution else "") + "\n"


def item_list(call: Call) -> str:
    """``{{hlist|a|b}}``, ``{{ubl|a|b}}``, ``{{plainlist|* a\\n* b}}``: one item per line."""
    items = [p.strip().lstrip("*#").strip() for p in call.positional]
    if call.name in {"plainlist", "flatlist"} and len(items) == 1:
        items = [line.lstrip("*#").strip() for line in items[0].split("\n")]
    items = [item for item in items if item]
    return BLOCK + "\n".join(items) + "\n" if items else ""


def chemical(call: Call) -> str:
    """``{{chem|H|2|O}}`` -> "H2O": the element symbols and counts run together."""
    return "".join(p.strip() for p in call.positional)


GAUGE_NAMES = {"ussg": "standard", "standard": "standard", "sg": "standard", "metre": "metre", "meter": "metre",
               "cape": "3 ft 6 in", "ng": "narrow", "bg": "broad"}


def rail_gauge(call: Call) -> str:
    """``{{RailGauge|1435mm}}`` -> "1,435 mm" (the page adds "-gauge"); named gauges by their name."""
    gauge = call.arg(1)
    millimetres = gauge.replace(" ", "").lower().removesuffix("mm")
    if millimetres.isdigit():
        return f"{int(millimetres):,} mm"
    return GAUGE_NAMES.get(gauge.lower(), gauge)


def fraction(call: Call) -> str:
    """``{{frac|1|2}}`` -> "1/2"; ``{{frac|3|1|2}}`` -> "3 1/2"; ``{{frac|2}}`` -> "1/2"."""
    parts = [p.strip() for p in call.positional if p.strip()]
    if len(parts) == 1:
        return f"1/{parts[0]}"
    if len(parts) == 2:
        return f"{parts[0]}/{parts[1]}"
    return f"{parts[0]} {parts[1]}/{parts[2]}" if len(parts) >= 3 else ""


def value(call: Call) -> str:
    """``{{val|1.2|e=3|u=m}}`` -> "1.2×10^3 m"; ``{{val|5|ul=km}}`` -> "5 km"."""
    number = call.arg(1)
    if call.arg(2) and not call.arg(3):
        number += f"±{call.arg(2)}"
    if call.arg("e"):
        number += f"×10^{call.arg('e')}"
    unit = call.first("u", "ul", "up", "upl")
    return f"{number} {unit}".strip()


def convert_template(call: Call) -> str | None:
    return convert.render(convert.ConvertCall(positional=call.positional, named=call.named, lang=call.lang,
                                              abbreviate_default="on" if call.name == "cvt" else "out"))


# ---- dates ----

def _month(text: str) -> int | None:
    text = text.strip()
    if text.isdigit() and 1 <= int(text) <= 12:
        return int(text)
    for number, name in enumerate(MONTHS, 1):
        if name.lower().startswith(text.lower()) and len(text) >= 3:
            return number
    return None


def format_date(year: str, month: str = "", day: str = "", *, dmy: bool, lang: str) -> str:
    """A date as the page shows it: "February 12, 1809", "12 February 1809" (``dmy``), "1809年2月12日"."""
    number = _month(month) if month else None
    day = day.strip().lstrip("0") or ""
    if lang.startswith(CJK_LANGS):
        return f"{year}年" + (f"{number}月" if number else "") + (f"{day}日" if number and day else "")
    if number is None:
        return year
    name = MONTHS[number - 1]
    if not day:
        return f"{name} {year}"
    return f"{day} {name} {year}" if dmy else f"{name} {day}, {year}"


def _date_parts(call: Call) -> list[str]:
    return [p.strip() for p in call.positional if p.strip()]


def date(call: Call) -> str:
    """``{{birth date|1809|2|12}}``, ``{{start date|1993|2|24|df=y}}``: the date; the "and age" forms add
    the age on the revision's day ("(age 45)", "; 87 years ago"), death dates the age at death."""
    parts = _date_parts(call)
    if not parts:
        return ""
    text = format_date(*parts[:3], dmy=call.flag("df"), lang=call.lang)
    if call.name in {"death date and age", "death-date and age"} and len(parts) >= 4:
        age = _years(_parse_date(parts[3:6]), _parse_date(parts[:3]))
        if age is not None:
            text += f" (aged {age})"
    elif call.name in {"birth date and age", "birth-date and age"}:
        age = _years(_parse_date(parts[:3]), _parse_date(call.today.split("-")))
        if age is not None:
            text += f" (age {age})"
    elif call.name in {"start date and age", "end date and age"}:
        age = _years(_parse_date(parts[:3]), _parse_date(call.today.split("-")))
        if age is not None:
            ago = f"{age} year{'s' if age != 1 else ''} ago"
            text += f" ({ago})" if call.flag("paren") else f"; {ago}"
    return text


def age(call: Call) -> str | None:
    """``{{age|1969|7|20}}`` -> years from that day to the revision's day (or to a second date given)."""
    parts = _date_parts(call)
    if len(parts) >= 4:
        years = _years(_parse_date(parts[:3]), _parse_date(parts[3:6]))
    else:
        years = _years(_parse_date(parts[:3]), _parse_date(call.today.split("-")))
    return None if years is None else str(years)


def _parse_date(parts: list[str]) -> datetime.date | None:
    """A date from ``[year, month, day]`` (month as a number or an English name; missing parts are 1)."""
    try:
        year = int(parts[0])
        month = _month(parts[1]) if len(parts) > 1 else 1
        return datetime.date(year, month or 1, int(parts[2]) if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        return None


def _years(earlier: datetime.date | None, later: datetime.date | None) -> int | None:
    """Whole years from ``earlier`` to ``later`` (None if either is unknown or they are reversed)."""
    if earlier is None or later is None or later < earlier:
        return None
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def old_style_date(call: Call) -> str:
    """``{{OldStyleDate|February 2|1905|January 20}}`` -> "February 2 [O.S. January 20] 1905"."""
    new, year, old = call.arg(1), call.arg(2), call.arg(3)
    return f"{new} [O.S. {old}] {year}".replace("  ", " ").strip() if old else f"{new} {year}".strip()


def as_of(call: Call) -> str:
    """``{{as of|2010}}`` -> "As of 2010"; ``{{as of|2013|6|8}}`` -> "As of 8 June 2013"; ``lc=y`` -> "as of"."""
    parts = _date_parts(call)
    if call.arg("alt"):
        return call.arg("alt")
    words = "Since" if call.flag("since") else "As of"
    if call.flag("lc"):
        words = words.lower()
    if not parts:
        return words
    return f"{words} {format_date(*parts[:3], dmy=call.arg('df').lower() != 'us', lang='en')}"


def constant(text: str) -> Renderer:
    """A renderer for templates that stand for one piece of punctuation (``{{snd}}`` -> " – ")."""
    return lambda call: text


RENDERERS: dict[str, Renderer] = {
    "convert": convert_template, "cvt": convert_template,
    "lang": lang_text, "lang-x": lang_text, "transl": transliteration, "transliteration": transliteration,
    "nihongo": nihongo, "nihongo2": nihongo, "nihongo3": nihongo, "nihongo4": nihongo, "zh": chinese,
    "ipa": ipa, "respell": respell,
    "as of": as_of,
    "quote": quotation, "blockquote": quotation, "cquote": quotation, "quote box": quotation,
    "quotation": quotation, "bquote": quotation, "quote frame": quotation, "centered pull quote": quotation,
    "nowrap": first_positional, "nobr": first_positional, "nobreak": first_positional,
    "small": first_positional, "smaller": first_positional, "big": first_positional, "larger": first_positional,
    "noitalic": first_positional, "linktext": first_positional, "sc": first_positional,
    "smallcaps": first_positional, "abbr": first_positional, "vr": first_positional, "nowrap begin": constant(""),
    "start date": date, "start date and age": date, "end date": date, "end date and age": date,
    "birth date": date, "birth date and age": date, "death date": date, "death date and age": date,
    "birth-date": date, "death-date": date, "oldstyledate": old_style_date, "age": age, "age in years": age,
    "tsl": interlanguage_link, "translink": interlanguage_link, "le": interlanguage_link,
    "ill": interlanguage_link, "interlanguage link": interlanguage_link,
    "interlanguage link multi": interlanguage_link, "link": interlanguage_link,
    "fact": citation_needed, "citation needed": citation_needed, "cn": citation_needed,
    "citation needed span": citation_needed, "来源请求": citation_needed, "來源請求": citation_needed,
    "要出典": citation_needed, "要出典範囲": citation_needed,
    "仮リンク": interlanguage_link, "読み仮名": reading, "読み仮名 ruby不使用": reading,
    "hlist": item_list, "flatlist": item_list, "plainlist": item_list, "unbulleted list": item_list,
    "ubl": item_list,
    "frac": fraction, "val": value, "chem": chemical, "chem2": first_positional,
    "railgauge": rail_gauge, "track gauge": rail_gauge,
    "!": constant("|"), "pipe": constant("|"), "·": constant(" · "), "dot": constant(" · "),
    "snd": constant(" – "), "spnd": constant(" – "), "spaced ndash": constant(" – "), "ndash": constant("–"),
    "mdash": constant("—"), "'": constant("'"), "'s": constant("'s"), "nbsp": constant(" "),
    "angbr": lambda call: f"⟨{call.arg(1)}⟩",
}
# Families matched by name prefix, checked in this order after the exact names.
PREFIX_RENDERERS: tuple[tuple[str, Renderer], ...] = (
    ("lang-", lang_text), ("ipac-", ipac), ("ipa-", ipa), ("link-", interlanguage_link),
)
