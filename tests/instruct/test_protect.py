"""Placeholder protection: every kind is found, restored byte for byte, and every loss is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from instruct.protect import (
    REASON_PLACEHOLDER_DUPLICATED,
    REASON_PLACEHOLDER_MISSING,
    REASON_PLACEHOLDER_UNKNOWN,
    MarkerInSourceError,
    protect,
    restore,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "translate"


@pytest.mark.parametrize(
    ("text", "span", "kind"),
    [
        ("See:\n```python\nprint('hi')  # https://x.org\n```\nok", "```python\nprint('hi')  # https://x.org\n```", "fence"),
        ("Tilde\n~~~\ncode\n~~~", "~~~\ncode\n~~~", "fence"),
        ("Run `ls -l` now", "`ls -l`", "inline_code"),
        ("Visit https://example.com/a?b=1. Then stop", "https://example.com/a?b=1", "url"),
        ("Mail me@example.org today", "me@example.org", "email"),
        ("Solve $x^2 = 4$ fast", "$x^2 = 4$", "latex_inline"),
        ("Sum $$\\sum_i i$$ here", "$$\\sum_i i$$", "latex_display"),
        ("Eq \\begin{align}a&=b\\end{align} here", "\\begin{align}a&=b\\end{align}", "latex_env"),
        ("Hi {name}!", "{name}", "template"),
        ("Hi {{site}}!", "{{site}}", "template"),
        ("Code %(user)s done", "%(user)s", "template"),
        ("Path ${HOME} set", "${HOME}", "template"),
        ("Fill [MASK] in", "[MASK]", "template"),
        ("Input <noinput> here", "<noinput>", "markup"),
        ("It costs 3.14 now", "3.14", "number"),
        ("Up 40% today", "40%", "number"),
    ],
)
def test_each_kind_is_protected(text: str, span: str, kind: str) -> None:
    masked = protect(text)
    assert span in masked.spans
    assert masked.kinds[masked.spans.index(span)] == kind
    assert span not in masked.text


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("costs $5 and $10", ("latex_inline", "template")),  # currency, not a formula
        ("50% discount", ("template",)),  # not a printf "% d"
        ("v2 and COVID19 in 2020s", ("number",)),  # digits glued to letters are words
    ],
)
def test_prose_that_looks_special_is_left_alone(text: str, kinds: tuple[str, ...]) -> None:
    assert protect(text, kinds=kinds).spans == ()


def test_url_inside_code_block_stays_in_the_block() -> None:
    masked = protect("x\n```\ncurl https://a.b/c\n```\n")
    assert masked.kinds == ("fence",)


def test_unclosed_fence_runs_to_the_end() -> None:
    masked = protect("text\n```\ncode here\n")
    assert masked.spans == ("```\ncode here",)
    assert masked.text == "text\n⟦0⟧\n"


def test_restore_reorders_and_round_trips_fixture_records() -> None:
    for record in json.loads((FIXTURES / "alpaca_en.json").read_text(encoding="utf-8")):
        for text in record.values():
            masked = protect(text)
            restored, reason, _ = restore(masked.text, masked)
            assert reason is None and restored == text


def test_restore_accepts_markers_moved_by_translation() -> None:
    masked = protect("Call `f()` then `g()`")
    restored, reason, _ = restore("先调用 ⟦1⟧，再调用 ⟦0⟧", masked)
    assert reason is None
    assert restored == "先调用 `g()`，再调用 `f()`"


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("只有 ⟦0⟧", REASON_PLACEHOLDER_MISSING),
        ("⟦0⟧ ⟦1⟧ ⟦1⟧", REASON_PLACEHOLDER_DUPLICATED),
        ("⟦0⟧ ⟦1⟧ ⟦7⟧", REASON_PLACEHOLDER_UNKNOWN),
    ],
)
def test_restore_names_each_loss(output: str, reason: str) -> None:
    masked = protect("Call `f()` then `g()`")
    _, got, detail = restore(output, masked)
    assert got == reason and detail


def test_marker_already_in_source_is_refused() -> None:
    with pytest.raises(MarkerInSourceError):
        protect("a ⟦3⟧ b")
