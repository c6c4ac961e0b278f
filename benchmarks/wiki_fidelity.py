"""How much of a page survives conversion: knowforge's wiki reader (+ clean) beside WikiExtractor 3.x.

Both convert the same dumps; counts are per 1,000 articles, over the pages both kept (same page ids):
- residue in the text: ``{{``, ``}}``, ``[[``, ``]]``, ``{|``, ``|}``, ``thumb|``, ``‹!-``/``<!--``, raw
  ``{{convert}}`` unit codes (``sqmi``, ``km2``, ``e6acre``...), doubled punctuation (``,,``, ``, ,``,
  ``;;``, ``，，``) and empty parentheses; LaTeX between ``$`` and fenced code are not text and are skipped;
- dangling colons: an output line ending in ":" whose wikitext went on (in the same raw paragraph:
  a quote, table, list, math, code) but whose next output line is not from that continuation (its words
  are not in it): the structure it introduced was lost;
- lost texts: ``{{quote}}``-family openings, ``{{convert}}`` input values and ``{{lang}}`` texts of the
  raw wikitext that the output lacks;
- template names dropped (ours: the reader's ``wiki_template_dropped:*`` counters).
Needs the reference: ``pip install wikiextractor==3.1.0`` (not a dependency of knowforge).
Run: PYTHONPATH=. python benchmarks/wiki_fidelity.py [--dump path/to/enwiki...bz2 ...]
(default: ../shared/samples/wiki, data_samples/wiki and data_samples/wiki/gensim; see
data_samples/wiki/gensim/make_enwiki_gensim_excerpt.py for gensim's whole 206-page dump).
"""

from __future__ import annotations

import argparse
import bz2
import html
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from corpus.clean import CleanStep
from corpus.readers.wiki import TEMPLATE_DROPPED, WikiReader
from corpus.records import rejection

ROOT = Path(__file__).parents[1]
DEFAULT_DIRS = (ROOT.parent / "shared" / "samples" / "wiki", ROOT / "data_samples" / "wiki",
                ROOT / "data_samples" / "wiki" / "gensim")
RESIDUE = {
    "{{": re.compile(r"\{\{"), "}}": re.compile(r"\}\}"), "[[": re.compile(r"\[\["), "]]": re.compile(r"\]\]"),
    "{|": re.compile(r"\{\|"), "|}": re.compile(r"\|\}"), "thumb|": re.compile(r"thumb\|"),
    "comment": re.compile(r"‹!-|<!--"),
    # km2/m2 are not counted: clean's NFKC folds the symbols km²/m² to them
    "unit code": re.compile(r"\d\s?(?:sqmi|sqft|sqkm|mi2|e\d+acre|e\d+m3|cuft|USgal|impgal)\b"),
    "doubled punct": re.compile(r",\s*,|;\s*;|，\s*，|、\s*、"),
    "empty parens": re.compile(r"\(\s*[,;]?\s*\)|（\s*[，；]?\s*）"),
}
NOT_TEXT = re.compile(r"```.*?```|\$\$.+?\$\$|\$[^$\n]+\$", re.S)
WORD = re.compile(r"[^\W\d_]{3,}")
TOKEN = re.compile(r"[^\W_]+")
# Not running text, which neither tool keeps: references, image lines, tables, infobox-like boxes.
HIDDEN = re.compile(r"<ref[^>/]*>.*?</ref>|(?m:^\[\[(?:File|Image):[^\n]*)|(?m:^\{\|.*?^\|\})", re.S | re.I)
REFS = re.compile(r"<ref[^>/]*>.*?</ref>|<ref[^>]*/>", re.S | re.I)
BOX = re.compile(r"\{\{\s*(?:infobox|climate chart|weather box|taxobox|automatic taxobox|chembox)", re.I)
PAGE = re.compile(r"<page>.*?</page>", re.S)
QUOTE = re.compile(r"\{\{\s*(?:quote|blockquote|cquote|quote box|bquote|quotation)\s*\|", re.I)
CONVERT = re.compile(r"\{\{\s*(?:convert|cvt)\s*\|\s*(-?[\d.,]*\d)\s*\|", re.I)
LANG = re.compile(r"\{\{\s*lang\s*\|[^|{}]*\|\s*([^|{}=]+?)\s*[|}]|\{\{\s*lang-[a-z-]+\s*\|\s*([^|{}=]+?)\s*[|}]", re.I)
INLINE_MARKUP = re.compile(r"\[\[(?:[^|\]]*\|)?|\]\]|'{2,}|<[^>]*>|&nbsp;")  # templates' text stays
MARKUP = re.compile(r"\[\[(?:[^|\]]*\|)?|\]\]|'{2,}|<[^>]*>|\{\{[^{}]*\}\}")


def raw_pages(dump: Path) -> dict[str, str]:
    """Page id -> unescaped wikitext, from the dump's XML."""
    xml = bz2.decompress(dump.read_bytes()).decode("utf-8") if dump.suffix == ".bz2" else dump.read_text()
    pages = {}
    for page in PAGE.findall(xml):
        page_id = re.search(r"<id>(\d+)</id>", page).group(1)
        text = re.search(r"<text[^>]*>(.*?)</text>", page, re.S)
        pages[page_id] = html.unescape(text.group(1)) if text else ""
    return pages


def ours(dump: Path) -> tuple[dict[str, str], Counter]:
    counters: Counter = Counter()
    docs = CleanStep()(WikiReader()(dump, counters), counters)
    return {d["id"].split(":", 1)[1]: d["text"] for d in docs if rejection(d) is None}, counters


def wikiextractor(dump: Path, tmp: Path) -> dict[str, str]:
    out = tmp / "we"
    subprocess.run([sys.executable, "-m", "wikiextractor.WikiExtractor", str(dump), "--processes", "1",
                    "--json", "-q", "-o", str(out)], check=True, capture_output=True)
    texts = {}
    for path in sorted(out.rglob("wiki_*")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts[record["id"]] = record["text"]
    return texts


def residue(text: str) -> Counter:
    text = NOT_TEXT.sub("X", text)
    return Counter({name: len(pattern.findall(text)) for name, pattern in RESIDUE.items()})


def dangling_colons(text: str, raw: str) -> int:
    """Colon lines whose raw paragraph went on, followed in the output by a line not from it."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    raw = REFS.sub("", raw)  # a reference after the colon is not what the colon introduced
    count = 0
    for at, line in enumerate(lines):
        if not line.endswith((":", "：")):
            continue
        words = WORD.findall(line)[-3:]
        if len(words) < 2:
            continue
        found = re.search(r"\W+(?:\S+\W+){0,3}?".join(map(re.escape, words)) + r"[^\n]{0,120}?[:：]", raw)
        if not found:
            continue
        paragraph_end = raw.find("\n\n", found.end())
        heading = raw.find("\n=", found.end())
        end = min(p for p in (paragraph_end, heading, len(raw)) if p >= 0)
        continuation = INLINE_MARKUP.sub("", raw[found.end():end])
        if not WORD.search(continuation) and "<math" not in raw[found.end():end]:
            continue  # the raw paragraph ended with the colon: nothing was there to lose
        next_line = NOT_TEXT.sub("", lines[at + 1]) if at + 1 < len(lines) else ""
        following = (WORD.findall(next_line) or TOKEN.findall(next_line))[:3]
        if at + 1 < len(lines) and NOT_TEXT.match(lines[at + 1]):
            continue  # the next line is the kept math or code
        if not following or sum(word in continuation for word in following) < min(2, len(following)):
            count += 1
    return count


def without_boxes(raw: str) -> str:
    """``raw`` without the balanced ``{{Infobox ...}}``-like templates (brace pairs counted)."""
    while match := BOX.search(raw):
        depth, at = 0, match.start()
        while at < len(raw) - 1:
            pair = raw[at : at + 2]
            depth += (pair == "{{") - (pair == "}}")
            at += 2 if pair in {"{{", "}}"} else 1
            if depth == 0:
                break
        raw = raw[: match.start()] + raw[at:]
    return raw


def lost_texts(text: str, raw: str) -> Counter:
    """Quote openings, convert values and lang texts of ``raw`` missing from ``text`` (and how many)."""
    flat = " ".join(text.split())
    raw = without_boxes(HIDDEN.sub("", raw))
    counts: Counter = Counter()
    for match in QUOTE.finditer(raw):
        body = raw[match.end(): match.end() + 400]
        named = re.search(r"\|\s*(?:text|quote)\s*=", "|" + body.split("}}", 1)[0])
        body = body[named.end() - 1 :] if named else body
        words = TOKEN.findall(MARKUP.sub(" ", body))[:5]
        if len(words) < 3:
            continue
        counts["quote"] += 1
        if not re.search(r"\W+".join(map(re.escape, words)), flat):
            counts["quote lost"] += 1
    for match in CONVERT.finditer(raw):
        value = match.group(1).replace(",", "")
        counts["convert"] += 1
        shown = {value, f"{float(value):,.{len(value.split('.')[1]) if '.' in value else 0}f}"}
        shown |= {v.replace("-", "−") for v in shown}  # Module:Convert writes a real minus sign
        if not any(v in flat for v in shown):
            counts["convert lost"] += 1
    for match in LANG.finditer(raw):
        value = MARKUP.sub("", match.group(1) or match.group(2)).strip()
        if not value:
            continue
        counts["lang"] += 1
        if value not in flat:
            counts["lang lost"] += 1
    return counts


def measure(texts: dict[str, str], raws: dict[str, str], ids: list[str]) -> Counter:
    total: Counter = Counter()
    for page_id in ids:
        text, raw = texts[page_id], raws[page_id]
        total.update(residue(text))
        total["dangling colon"] += dangling_colons(text, raw)
        total.update(lost_texts(text, raw))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dump", type=Path, action="append", help="a dump to convert (repeatable)")
    args = parser.parse_args()
    # The same dump under two names (the shared sample is a copy of ours) is read once.
    dumps = args.dump or sorted({p.read_bytes(): p for d in DEFAULT_DIRS if d.is_dir()
                                 for p in d.glob("*.xml.bz2")}.values())
    grand: dict[str, Counter] = {"knowforge": Counter(), "WikiExtractor": Counter()}
    dropped: Counter = Counter()
    articles = 0
    for dump in dumps:
        with tempfile.TemporaryDirectory() as tmp:
            raws = raw_pages(dump)
            mine, counters = ours(dump)
            theirs = wikiextractor(dump, Path(tmp))
        ids = sorted(set(mine) & set(theirs))
        articles += len(ids)
        print(f"{dump}: {len(ids)} articles in both (knowforge {len(mine)}, WikiExtractor {len(theirs)})")
        for name, texts in (("knowforge", mine), ("WikiExtractor", theirs)):
            grand[name].update(measure(texts, raws, ids))
        dropped.update({k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith(TEMPLATE_DROPPED)})
    print(f"\n{articles} articles; per 1,000 articles (lost: lost / present in the wikitext)")
    keys = [*RESIDUE, "dangling colon"]
    print(f"{'':22s} {'knowforge':>12s} {'WikiExtractor':>14s}")
    for key in keys:
        row = [grand[name][key] * 1000 / max(articles, 1) for name in grand]
        print(f"{key:22s} {row[0]:12.1f} {row[1]:14.1f}")
    for kind in ("quote", "convert", "lang"):
        cells = [f"{grand[name][kind + ' lost']}/{grand[name][kind]}" for name in grand]
        print(f"{kind + ' lost':22s} {cells[0]:>12s} {cells[1]:>14s}")
    print(f"\ntemplates dropped by knowforge ({sum(dropped.values())} calls, {len(dropped)} names), most frequent:")
    print(", ".join(f"{name} {n}" for name, n in dropped.most_common(25)))


if __name__ == "__main__":
    main()
