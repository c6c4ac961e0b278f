"""Checks of a translation (both texts still masked by ``instruct.protect``): no translator's preamble,
the target language's share of the text, the length ratio the direction predicts, and the same number
of paragraphs and list/heading lines. Each failed check is a named reason with a detail; what the model
meant is not judged (no back-translation, no scoring model).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from corpus.text import HAN
from instruct.protect import unmasked_text

REASON_PREAMBLE = "translate_preamble"  # "Here is the translation:" / "以下是翻译" in front of the text
REASON_WRONG_LANGUAGE = "translate_wrong_language"  # target-language share below the minimum
REASON_LENGTH_RATIO = "translate_length_ratio"  # output length far from what the direction predicts
REASON_STRUCTURE = "translate_structure_changed"  # paragraphs or list/heading lines differ in number

_CJK_RE = HAN.regex
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_PREAMBLE_RES = (
    re.compile(
        r"^\W*(?:(?:sure|certainly|of course|okay|ok)\W+)?(?:here(?:'s| is| are)|below is|the following is)"
        r"[^\n]{0,60}translat", re.I,
    ),
    re.compile(r"^\W*(?:translation|translated text)\s*[:：]", re.I),
    re.compile(r"^\W*(?:(?:好的|当然)\W*)?(?:以下是|下面是|这是)[^\n]{0,30}(?:翻译|译文)"),
    re.compile(r"^\W*(?:翻译|译文)(?:结果|如下)?\s*[:：]"),
)
_BLOCK_LINE_RE = re.compile(r"^\s*(?:[-*+•]|(?:\d+|⟦\d+⟧)[.)、]|#{1,6})\s", re.M)
_PARAGRAPH_SPLIT_RE = re.compile(r"\n\s*\n")


@dataclass(frozen=True, kw_only=True)
class Checks:
    """Validation thresholds; None switches a check off.

    ``min_target_share``: target units / all units, where a unit is a CJK character or a Latin word
    (a word, not a letter, so "使用 Python 的 pandas 库" scores 4/6 for Chinese, not 4/16).
    ``length_ratio``: (min, max) of output/source non-space characters, markers removed; en->zh
    prose runs about 0.25-0.5, zh->en about 2-4 (our measurements on parallel Alpaca pairs are
    within these), so the bounds flag only gross failures (a summary, a cut, an answer instead).
    Both are skipped for texts shorter than ``min_chars`` (names and one-word fields vary too much).
    """

    min_target_share: float | None = 0.5
    length_ratio: tuple[float, float] | None = None
    min_chars: int = 20
    check_structure: bool = True
    check_preamble: bool = True

    @classmethod
    def for_direction(cls, source_lang: str, target_lang: str) -> Checks:
        ratio = {("en", "zh"): (0.1, 1.2), ("zh", "en"): (0.8, 8.0)}.get((source_lang, target_lang))
        return cls(min_target_share=0.5 if target_lang == "zh" else 0.7, length_ratio=ratio)


def target_share(text: str, lang: str) -> tuple[float, int]:
    """(share of ``lang`` units, total units) in ``text``, markers removed; see :class:`Checks`."""
    prose = unmasked_text(text)
    cjk = len(_CJK_RE.findall(prose))
    latin = len(_LATIN_WORD_RE.findall(prose))
    total = cjk + latin
    if total == 0:
        return 1.0, 0
    return (cjk if lang == "zh" else latin) / total, total


def has_preamble(text: str) -> bool:
    """True if the text opens with a translator's preamble ("Here is the translation", "以下是译文")."""
    head = text.lstrip()[:120]
    return any(pattern.search(head) for pattern in _PREAMBLE_RES)


def structure(masked_text: str) -> tuple[int, int]:
    """(paragraphs, list/heading lines) of a masked text; code is one marker, so its lines do not count."""
    paragraphs = sum(1 for part in _PARAGRAPH_SPLIT_RE.split(masked_text.strip()) if part.strip())
    return paragraphs, len(_BLOCK_LINE_RE.findall(masked_text))


def check_translation(
    source_masked: str, output_masked: str, *, target_lang: str, checks: Checks
) -> tuple[str, str] | None:
    """Validate a translation (both texts still masked); returns ``(reason, detail)`` or None."""
    if checks.check_preamble and has_preamble(output_masked) and not has_preamble(source_masked):
        return REASON_PREAMBLE, repr(output_masked.lstrip()[:60])
    source_chars = len(re.sub(r"\s", "", unmasked_text(source_masked)))
    long_enough = source_chars >= checks.min_chars
    if checks.min_target_share is not None and long_enough:
        share, units = target_share(output_masked, target_lang)
        if units and share < checks.min_target_share:
            return REASON_WRONG_LANGUAGE, f"{target_lang} share {share:.2f} < {checks.min_target_share}"
    if checks.length_ratio is not None and long_enough:
        ratio = len(re.sub(r"\s", "", unmasked_text(output_masked))) / source_chars
        low, high = checks.length_ratio
        if not low <= ratio <= high:
            return REASON_LENGTH_RATIO, f"ratio {ratio:.2f} outside [{low}, {high}]"
    if checks.check_structure:
        before, after = structure(source_masked), structure(output_masked)
        if before != after:
            return REASON_STRUCTURE, f"(paragraphs, list/heading lines) {before} -> {after}"
    return None
