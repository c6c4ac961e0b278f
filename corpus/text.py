"""Text helpers every stage shares: script ranges, Unicode normalisation, OpenCC and "is this code".

One definition of each, so the stages that count Chinese characters, fold full-width forms, convert
Traditional to Simplified or keep code's layout agree with each other. Script ranges come in named
variants where callers differ on purpose (each variant's ``doc`` says who needs it and why). Language
guessing thresholds stay with their callers: they answer different questions.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

# Unicode blocks (inclusive code-point ranges) that the script variants below are made of.
KANA_BLOCKS = (0x3040, 0x30FF)  # Hiragana and Katakana
KATAKANA_PHONETIC = (0x31F0, 0x31FF)  # Katakana Phonetic Extensions (small ㇰ ㇱ ...)
HALFWIDTH_KATAKANA = (0xFF66, 0xFF9D)  # ｦ ... ﾝ of the Halfwidth and Fullwidth Forms block
HAN_EXT_A_BLOCK = (0x3400, 0x4DBF)  # CJK Unified Ideographs Extension A (rare characters)
HAN_BASIC_BLOCK = (0x4E00, 0x9FFF)  # CJK Unified Ideographs: every common Chinese character
HANGUL_SYLLABLES = (0xAC00, 0xD7AF)
HAN_COMPAT_BLOCK = (0xF900, 0xFAFF)  # CJK Compatibility Ideographs (duplicates kept for round trips)
HAN_SUPPLEMENTARY = (0x20000, 0x3134F)  # Extensions B to G and the compatibility supplement (planes 2, 3)


def _escape(cp: int) -> str:
    return f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"


@dataclass(frozen=True)
class Script:
    """A set of characters as inclusive code-point ranges, with its regex class and membership test."""

    name: str
    ranges: tuple[tuple[int, int], ...]
    doc: str = field(default="", repr=False, compare=False)  # which callers use this variant, and why

    @functools.cached_property
    def char_class(self) -> str:
        r"""The inside of a regex character class, e.g. ``\u3400-\u4dbf\u4e00-\u9fff``, to combine with
        other characters (``f"[{HAN.char_class}A-Za-z0-9]"``)."""
        return "".join(f"{_escape(lo)}-{_escape(hi)}" for lo, hi in self.ranges)

    @functools.cached_property
    def regex(self) -> re.Pattern:
        """One character of the script."""
        return re.compile(f"[{self.char_class}]")

    def contains(self, ch: str) -> bool:
        """True if the single character ``ch`` is in one of the ranges."""
        cp = ord(ch)
        return any(lo <= cp <= hi for lo, hi in self.ranges)

    def count(self, text: str) -> int:
        """How many characters of ``text`` are in the script."""
        return len(self.regex.findall(text))

    def search(self, text: str) -> bool:
        """True if ``text`` has at least one character of the script."""
        return self.regex.search(text) is not None


HAN_BASIC = Script("han_basic", (HAN_BASIC_BLOCK,), doc=(
    "U+4E00-9FFF only. The harmful filter's separator rule ('赌 . 博' -> '赌博') and its quick "
    "'any Chinese?' scan: its word lists and OpenCC's t2s output are in this block. kg2instruction's "
    "unit rendering asks whether a unit symbol is Chinese (公里) or Latin (km)."))
HAN_EXT_A_BASIC = Script("han_ext_a_basic", (HAN_BASIC_BLOCK, HAN_EXT_A_BLOCK), doc=(
    "Extension A plus the basic block. instruct/ie records guess zh vs en from any such ideograph; "
    "compatibility ideographs are left out there (they never occur without ordinary ones)."))
HAN = Script("han", (HAN_EXT_A_BLOCK, HAN_BASIC_BLOCK, HAN_COMPAT_BLOCK), doc=(
    "The ideographs of the BMP: Extension A, the basic block, compatibility ideographs. What 'a Chinese "
    "character' means to the corpus stages that measure a share of Chinese (clean, the line and zh quality "
    "filters, the n-gram scorer, the tokenizer trainer) and to instruct's translation and answer checks."))
HAN_CONTIGUOUS = Script("han_contiguous", ((HAN_EXT_A_BLOCK[0], HAN_BASIC_BLOCK[1]),), doc=(
    "U+3400-9FFF as one range: Extension A, the 64 Yijing hexagram symbols between, the basic block. "
    "Token estimates (instruct.llm's rate budget, instruct.chunking) count these one token each; one "
    "comparison per character, and a hexagram symbol is a token either way."))
EAST_ASIAN = Script("east_asian", (KANA_BLOCKS, HAN_EXT_A_BLOCK, HAN_BASIC_BLOCK, HANGUL_SYLLABLES,
                                   HAN_COMPAT_BLOCK), doc=(
    "Characters that are one token each in scripts written without spaces: kana, BMP ideographs, "
    "Hangul syllables. instruct.sft.select counts length and language in these units."))
EAST_ASIAN_ALL_PLANES = Script("east_asian_all_planes", (*EAST_ASIAN.ranges, HAN_SUPPLEMENTARY), doc=(
    "EAST_ASIAN plus the ideographs of planes 2 and 3. Near-dedup shingles these per character: a "
    "rare-character name (𠮷) must shingle like its neighbours, not as a one-character word."))
CJK_AND_FULLWIDTH = Script("cjk_and_fullwidth", ((0x3000, 0x9FFF), (0xFF00, 0xFFEF)), doc=(
    "U+3000-9FFF (CJK punctuation, kana, bopomofo, ... Extension A, the basic block) and the half- and "
    "full-width forms. instruct.build.answers drops spaces next to any of these, so '北京 ，中国' and "
    "'北京，中国' compare equal: punctuation must count, not only ideographs."))
KANA = Script("kana", (KANA_BLOCKS, KATAKANA_PHONETIC, HALFWIDTH_KATAKANA), doc=(
    "Every kana, half-width included. The langid filter: Japanese always has some, so text without "
    "kana that lid.176 calls 'ja' is Chinese."))
ZH_FULLWIDTH_PUNCT = Script("zh_fullwidth_punct", ((0xFF01, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40),
                                                   (0xFF5B, 0xFF60)), doc=(
    "The full-width punctuation of the Halfwidth and Fullwidth Forms block (，：；！？（）...; not its "
    "digits and letters). clean keeps it in Chinese text, where NFKC would turn it into ASCII."))
SCRIPTS = (HAN_BASIC, HAN_EXT_A_BASIC, HAN, HAN_CONTIGUOUS, EAST_ASIAN, EAST_ASIAN_ALL_PLANES,
           CJK_AND_FULLWIDTH, KANA, ZH_FULLWIDTH_PUNCT)


# normalize(): what runs of characters fold to one space, and the case mappings.
_FOLDS = {"space": re.compile(r"\s+"), "punct": re.compile(r"[\W_]+")}
_ZH_PUNCT_RUNS = re.compile(f"([{ZH_FULLWIDTH_PUNCT.char_class}]+)")
Case = Literal["lower", "casefold"]
Fold = Literal["space", "punct"]


@functools.cache
def _nfkd_singles() -> np.ndarray:
    """Per BMP code point, the one character of its NFKD form, or itself when that is not one character
    (uint32, 65,536 entries; built in ~20 ms)."""
    table = np.arange(0x10000, dtype=np.uint32)
    for c in range(0x10000):
        if not 0xD800 <= c < 0xE000:
            decomposed = unicodedata.normalize("NFKD", chr(c))
            if len(decomposed) == 1:
                table[c] = ord(decomposed)
    return table


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, 2-5x faster on Chinese text.

    Chinese punctuation is full-width (，：！（）), which NFKC maps to ASCII, so the quick check fails and
    CPython normalises the whole text (~90 ns a character). Replacing a character by its NFKD form
    leaves the NFKC of the text unchanged (NFKC decomposes every character fully before composing),
    so the characters whose NFKD form is one character are replaced first, with one numpy gather, and
    "…" by "..."; what is left usually passes the quick check, which returns the text as it is.
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text
    text = text.replace("…", "...")
    if not unicodedata.is_normalized("NFKC", text):
        text = _nfkd_single_forms(text)
    return unicodedata.normalize("NFKC", text)


def _nfkd_single_forms(text: str) -> str:
    """``text`` with each code point whose NFKD form is one character replaced by it (one numpy gather,
    a map of each code point on its own; NFKC of the result is NFKC of ``text``)."""
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    table = _nfkd_singles()
    points = table[points] if points.max() <= 0xFFFF else \
        np.where(points <= 0xFFFF, table[np.minimum(points, 0xFFFF)], points)
    return points.tobytes().decode("utf-32-le", "surrogatepass")


# Joins texts for one gather in nfkc_many (Lisu letter BA): NFKD maps it to itself, and the texts are
# checked not to hold it, so the gathered texts split back where they were joined. Only texts below
# _NFKC_MANY_MAX_CHARS are joined: on longer ones the calls saved are a small part, and per text the
# gather is skipped where replacing "…" was enough (2.6-4 KB pages: 9-11 us per text either way,
# Wikipedia articles 64 -> 69 when joined).
_NFKC_JOIN = "\ua4d0"
_NFKC_MANY_MAX_CHARS = 1000


def nfkc_many(texts: Sequence[str]) -> list[str]:
    """``[nfkc(text) for text in texts]``: the texts that fail NFKC's quick check get :func:`nfkc`'s
    replacement of single-character NFKD forms in one numpy gather over them joined (a map of each code
    point on its own, so no text reaches into the next), then NFKC text by text, which after the gather
    is usually the quick check alone. One gather instead of ~8 calls per text: 0.5 KB Chinese texts 4 ->
    ~1.5 us. The composing NFKC itself stays per text: joined, one text that needs NFKC's slow path
    (~90 ns a character) sends every text of the batch down it."""
    todo = [i for i, text in enumerate(texts) if len(text) < _NFKC_MANY_MAX_CHARS and not text.isascii()
            and not unicodedata.is_normalized("NFKC", text)]
    joined = _NFKC_JOIN.join(texts[i] for i in todo)
    if len(todo) < 2 or joined.count(_NFKC_JOIN) != len(todo) - 1:  # a text holds the separator itself
        return [nfkc(text) for text in texts]
    # Short texts left out of todo are NFKC already (ASCII, or the quick check passed); long ones take nfkc.
    out = [text if len(text) < _NFKC_MANY_MAX_CHARS else nfkc(text) for text in texts]
    gathered = _nfkd_single_forms(joined.replace("…", "..."))  # as in nfkc, for all of them at once
    for i, part in zip(todo, gathered.split(_NFKC_JOIN), strict=True):
        out[i] = unicodedata.normalize("NFKC", part)
    return out


def normalize(text: str, *, keep_zh_punct: bool = False, case: Case | None = None, fold: Fold | None = None) -> str:
    """NFKC, then optionally fold runs of characters to one space and map case; folding also strips.

    - ``keep_zh_punct``: runs of :data:`ZH_FULLWIDTH_PUNCT` keep their full-width form (clean, on
      Chinese text); everything else is NFKC.
    - ``fold="space"``: whitespace runs become one space (exact dedup: "the same text").
    - ``fold="punct"``: runs of everything that is not a word character, and ``_``, become one space
      (near-dedup shingles). The fold runs before NFKC as well as after: full-width punctuation sends
      NFKC down its slow path (~130 us per 1,000 characters), and once it is gone most texts pass NFKC's
      quick check (~1 us). That first fold also splits a combining mark from its base ("e\\u0301" ->
      "e "), which dedup's tables rely on.
    - ``case``: ``"lower"`` or ``"casefold"`` (the harmful filter: "STRASSE" matches "straße"), after the fold.
    """
    if fold == "punct":
        pattern = _FOLDS[fold]
        text = pattern.sub(" ", text)
        if not unicodedata.is_normalized("NFKC", text):
            text = pattern.sub(" ", nfkc(text))
    elif keep_zh_punct:
        parts = _ZH_PUNCT_RUNS.split(text)
        # split() with one group alternates: even indexes are ordinary text, odd ones are kept punctuation.
        text = "".join(part if i % 2 else nfkc(part) for i, part in enumerate(parts))
    else:
        text = nfkc(text)
    if fold == "space":
        text = _FOLDS[fold].sub(" ", text)
    if case == "lower":
        text = text.lower()
    elif case == "casefold":
        text = text.casefold()
    return text.strip() if fold else text


@functools.cache
def opencc_converter(config: str) -> Callable[[str], str]:
    """The ``convert`` function of the OpenCC converter ``config`` (``t2s``, ``tw2s``, ``s2t``, ...).

    Loaded once per config and process: building a converter reads its dictionaries (~50 ms)."""
    import opencc  # a compiled extension; only stages that convert need it

    return opencc.OpenCC(config).convert


# Sources whose every document is code, whatever meta says (the code readers' default names). A
# LeetCode problem is its statement and a fenced solution: its layout is the solution's (a reflow
# would merge PEP 8's two blank lines), and the code chain judges it (Gopher's word rules would not).
CODE_SOURCES = frozenset({"code", "stack", "leetcode"})
# Programming-language names (meta.lang) and file extensions (meta.path or meta.filename) that mark
# a document as code; the code readers set meta.lang = "code" and meta.language = the language.
CODE_LANGUAGES = frozenset(
    "python java javascript typescript c c++ cpp c# csharp go rust ruby php scala kotlin swift "
    "shell bash sql html css json yaml markdown r lua perl haskell julia dart matlab makefile "
    "dockerfile jupyter tex code".split()
)
CODE_EXTENSIONS = frozenset(
    ".py .java .js .ts .tsx .jsx .c .h .cc .cpp .hpp .cs .go .rs .rb .php .scala .kt .swift .sh "
    ".sql .html .htm .css .json .yaml .yml .r .lua .pl .hs .jl .dart .m .ipynb .tex".split()
)


def is_code(doc: dict[str, Any]) -> bool:
    """True for a code document: clean never reflows its layout, the filter routes it to the code chain
    (unless the filter YAML's ``sources`` says otherwise) and pack cuts it at line breaks.

    Code is a source of :data:`CODE_SOURCES`, ``meta.kind == "code"``, a ``meta.lang`` of
    :data:`CODE_LANGUAGES` (``"code"`` included) or a ``meta.path``/``meta.filename`` with one of
    :data:`CODE_EXTENSIONS`.
    """
    meta = doc.get("meta") or {}
    if doc.get("source") in CODE_SOURCES or meta.get("kind") == "code":
        return True
    path = str(meta.get("path") or meta.get("filename") or "")
    return str(meta.get("lang") or "").lower() in CODE_LANGUAGES or Path(path).suffix.lower() in CODE_EXTENSIONS
