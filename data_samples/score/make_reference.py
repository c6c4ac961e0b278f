"""Build the English reference text of the shipped perplexity model: twelve public-domain books from
Project Gutenberg, as the GITenberg project mirrors them on GitHub (pinned commits, sha256-checked),
with Project Gutenberg's licence header and footer and the producers' credits removed.

Writes ``OUT/train/part-00000.jsonl.zst`` (nine of every ten chunks, what `score-train` reads) and
``OUT/heldout/part-00000.jsonl.zst`` (every tenth chunk: text for choosing model settings that neither
the model nor benchmarks/score.py's evaluation mix has seen). A chunk is consecutive paragraphs of one
book, up to CHUNK_CHARS, with the book's hard line wraps joined. Each book is read from
``--local DIR/<repo name>/<path>`` when given (e.g. a `git show` of the mirror), else downloaded from
raw.githubusercontent.com at the pinned commit.

    python data_samples/score/make_reference.py --out /tmp/scoreref/gutenberg [--local DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from corpus.shards import ShardWriter  # noqa: E402

# (GITenberg repository, commit, file, sha256 of the file, encoding). All first published in the USA or
# the UK before 1923 by authors who died before 1940: public domain in the USA (the GITenberg metadata
# says "Public domain in the USA." for every one) and in the countries of life + 70 years.
BOOKS = (
    # Mark Twain, 1869: travel writing
    ("GITenberg/The-Innocents-Abroad_3176", "09f22c19048dd45835bd52da24e76bbd8f249b13", "3176-0.txt",
     "4c57ac3434eb59a86ff1817251b9166398dc6a1f1abfbf119024c52cd14e799c", "utf-8-sig"),
    # Julian Street, 1917: magazine travel reportage
    ("GITenberg/American-AdventuresA-Second-Trip-Abroad-at-home-_18304", "748434ca594b6997cc8e8ff6af53cb9d343071bd",
     "18304-8.txt", "870ad5acfcfc664a9ce0d14b764dd6176081e31afc878dc0646045e96eea33b0", "latin-1"),
    # Alexander Hamilton, James Madison, John Jay, 1788: argued essays
    ("GITenberg/The-Federalist-Papers_1404", "7effe9c7518aa38e80f23664419a3e28b7993127", "1404-8.txt",
     "a163b394950a4e59c8b8ef3b32cd021200b4b54cccd808110aed6fe4dbb248e6", "latin-1"),
    # Booker T. Washington, 1901: memoir
    ("GITenberg/Up-from-Slavery--An-Autobiography_2376", "f458c3084b1e1e269aac2ebb1a04ae743ae923e5", "2376.txt",
     "a5769b384951cf65f41950d4c181471c01474318eaffbe64aaceb91cb01fd776", "ascii"),
    # Edward MacDowell, 1912: lectures
    ("GITenberg/Critical-and-Historical-Essays--13-Lectures-delivered-at-Columbia-University_16351",
     "462f29e0b3d7ecf8e302fe9757d0be5ab182b210", "16351-8.txt",
     "55e2f2ab532e25f122ffa1a2df658ed2bb54b865bd11b7782431e40013c35d44", "latin-1"),
    # H. E. Krehbiel, 1896: popular explanation
    ("GITenberg/How-to-Listen-to-Music-7th-ed.Hints-and-Suggestions-to-Untaught-Lovers-of-the-Art_17474",
     "ea7589aba5feb585e0983ab0bb8f3f5f582e89c8", "17474-8.txt",
     "5f73b447bfd578853c7929500e4ab9bb0de006af157a5dfdfb71942a9b253334", "latin-1"),
    # William Morris, 1890: novel
    ("GITenberg/News-from-Nowhere--Or-An-Epoch-of-Rest--13-Being-Some-Chapters-from-a-Utopian-Romance_3261",
     "79bd67b0ae225cd64f7bbc25c0449850b3131069", "3261.txt",
     "e5182ca7efdcfdb806cc6c981df49e0d40a1b578ad1c22beb9db1e69872da914", "ascii"),
    # Jack London, 1903: undercover reportage from the East End of London
    ("GITenberg/The-People-of-the-Abyss_1688", "e0ccb8fc9594cffecfe4c1c46c9297d9c8cbb879", "1688.txt",
     "ea9f363d294173ae081cc4ddce7a4fc1f4f748e52411b817d9a6619f10f364f8", "ascii"),
    # Arnold Bennett, 1908: popular advice in plain modern prose
    ("GITenberg/How-to-Live-on-24-Hours-a-Day_2274", "3d5a652be9676276b67920ca85905ac49f94ce4c", "2274.txt",
     "93a174f7564a935bb8442669e483ad0360dd65cfb052d549a122d378a6a96af1", "ascii"),
    # Mark Twain, 1883: memoir and travel reporting
    ("GITenberg/Life-on-the-Mississippi_245", "fde8587b79059511c85d0fc9c07db60eb440dd29", "245-0.txt",
     "19d1a2416d894ef992687528f285e8b955cdaf94897018ff23dd18732387980d", "utf-8-sig"),
    # Frederick Winslow Taylor, 1911: business and management writing
    ("GITenberg/The-Principles-of-Scientific-Management_6435", "f71efbb7b82d9d58cf8e4fdc7a795500190b9dfe", "6435.txt",
     "f44094afc0b9fb5b9f05fa991e8d51ba871be15a7f66ef3a63aceb3dde3c3e5b", "ascii"),
    # Thorstein Veblen, 1899: economics for the general reader
    ("GITenberg/The-Theory-of-the-Leisure-Class_833", "e5fcc7c758aad8ca13213c14d87da549de93ac84", "833-8.txt",
     "e52e1d8ad2b4d309f462a79a5596d75c56a84767760ad17793924096550e7a3d", "latin-1"),
)
CHUNK_CHARS = 4000  # about a web page's length, the kind of document the model will score
HELDOUT_EVERY = 10  # every tenth chunk is held out

_START = re.compile(r"^\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG EBOOK.*$", re.M | re.I)
_END = re.compile(r"^(\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG EBOOK|End of (the )?Project Gutenberg)", re.M | re.I)
# Paragraphs that are Project Gutenberg's or its volunteers', not the book's.
_NOT_THE_BOOK = re.compile(r"project gutenberg|produced by|distributed proofread|transcriber'?s note|"
                           r"\[illustration|e-?text prepared|http://|www\.", re.I)


def book_text(raw: str) -> str:
    """The book between Project Gutenberg's START and END markers; raises ValueError without them."""
    start, end = _START.search(raw), _END.search(raw)
    if start is None or end is None or end.start() < start.end():
        raise ValueError("no Project Gutenberg START/END markers: not a Project Gutenberg text file")
    return raw[start.end() : end.start()]


def paragraphs(text: str) -> list[str]:
    """Paragraphs of prose (blank-line separated, line wraps joined); headings, lists of contents and
    other short lines (under 200 characters) and anything naming the producers are left out."""
    out = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        joined = " ".join(line.strip() for line in block.splitlines() if line.strip())
        if len(joined) >= 200 and not _NOT_THE_BOOK.search(joined):
            out.append(joined.replace("_", ""))  # _italics_ markers are markup, not text
    return out


def chunks(paras: list[str]) -> list[str]:
    """Consecutive paragraphs joined by blank lines, each chunk up to CHUNK_CHARS (or one paragraph)."""
    out, current = [], []
    for para in paras:
        if current and sum(map(len, current)) + len(para) > CHUNK_CHARS:
            out.append("\n\n".join(current))
            current = []
        current.append(para)
    if current:
        out.append("\n\n".join(current))
    return out


def load(repo: str, commit: str, path: str, digest: str, local: Path | None) -> bytes:
    """The file's bytes, from ``local`` or GitHub; checked against ``digest`` when one is pinned."""
    if local is not None:
        data = (local / repo.split("/")[1] / path).read_bytes()
    else:
        with urllib.request.urlopen(f"https://raw.githubusercontent.com/{repo}/{commit}/{path}") as response:
            data = response.read()
    found = hashlib.sha256(data).hexdigest()
    if digest and found != digest:
        raise SystemExit(f"{repo}/{path}@{commit}: sha256 {found}, expected {digest}")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--local", type=Path, help="a directory with <repo name>/<file> of every book")
    args = parser.parse_args()
    with ShardWriter(args.out / "train" / "part-00000.jsonl.zst") as train, \
            ShardWriter(args.out / "heldout" / "part-00000.jsonl.zst") as heldout:
        for repo, commit, path, digest, encoding in BOOKS:
            text = book_text(load(repo, commit, path, digest, args.local).decode(encoding))
            parts = chunks(paragraphs(text))
            for i, chunk in enumerate(parts):
                doc = {"id": f"gutenberg:{path.split('.')[0]}:{i}", "text": chunk, "source": "gutenberg",
                       "meta": {"lang": "en", "url": f"https://github.com/{repo}/blob/{commit}/{path}"}}
                (heldout if i % HELDOUT_EVERY == HELDOUT_EVERY - 1 else train).write(doc)
            print(f"{repo}: {len(parts)} chunks, {sum(map(len, parts)):,} characters")


if __name__ == "__main__":
    main()
