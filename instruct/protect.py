"""Placeholder protection for machine translation: code blocks, inline code, LaTeX, URLs, e-mail, markup
tags, template placeholders and numbers become ``⟦n⟧`` markers before the LLM call and are restored
byte for byte after it, with every lost or repeated marker reported. Indented (four-space) code blocks
are not protected: they cannot be told from indented prose without a Markdown parser."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

MARK_OPEN, MARK_CLOSE = "⟦", "⟧"  # U+27E6/U+27E7: rare in real text, kept intact by GPT-class models
MARKER_RE = re.compile(r"⟦(\d+)⟧")

REASON_MARKER_IN_SOURCE = "protect_marker_in_source"
REASON_PLACEHOLDER_MISSING = "protect_placeholder_missing"
REASON_PLACEHOLDER_DUPLICATED = "protect_placeholder_duplicated"
REASON_PLACEHOLDER_UNKNOWN = "protect_placeholder_unknown"

# Alternatives in priority order: at one position the first that matches wins, and the regex engine
# takes the leftmost match, so a URL inside a code block stays inside the block's span.
_PATTERNS: tuple[tuple[str, str], ...] = (
    # ```lang ... ``` or ~~~ ... ~~~ at line start; an unclosed fence runs to the end of the text.
    ("fence", r"(?m:^)[ \t]*(?P<f>`{3,}|~{3,})[^\n]*\n(?s:.*?)(?:(?m:^)[ \t]*(?P=f)[ \t]*(?=\n|\Z)|\Z)"),
    ("latex_env", r"\\begin\{(?P<env>[A-Za-z]+\*?)\}(?s:.*?)\\end\{(?P=env)\}"),
    ("latex_display", r"\$\$(?s:.+?)\$\$|\\\[(?s:.+?)\\\]"),
    ("latex_inline", r"\\\((?s:.+?)\\\)|(?<![\\$\w])\$(?=[^\s$])[^$\n]*?(?<=[^\s\\])\$(?![\w$])"),
    ("inline_code", r"``[^\n]+?``|`[^`\n]+`"),
    ("url", r"(?:https?|ftp)://[^\s<>\"'`]+?(?=[.,;:!?)\]}>'\"]*(?:\s|$))|www\.[^\s<>\"'`]+?(?=[.,;:!?)\]]*(?:\s|$))"),
    ("email", r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\b"),
    ("template", r"\{\{[^{}\n]*\}\}|\$\{[^{}\n]*\}|\{[A-Za-z_0-9.]*(?:[:!][^{}\n]*)?\}"
                 r"|%(?:\([A-Za-z_]\w*\))?[-+#0]*\d*(?:\.\d+)?[sdifrxXeEgGc](?![A-Za-z])|\[[A-Z][A-Z0-9_]*\]"),
    ("markup", r"</?[A-Za-z][\w-]*(?:\s[^<>\n]*)?/?>"),
    # ASCII look-arounds: "2020年" and "v2" keep their digits protected / unprotected as intended.
    ("number", r"(?<![A-Za-z0-9_.])[-+]?\d+(?:[.,:]\d+)*%?(?![A-Za-z0-9_])"),
)
SPAN_KINDS = tuple(name for name, _ in _PATTERNS)
_SPAN_RE = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS))


@dataclass(frozen=True, kw_only=True)
class Masked:
    """A text with protected spans replaced by ``⟦i⟧``; ``spans[i]`` is the original of marker i."""

    text: str
    spans: tuple[str, ...]
    kinds: tuple[str, ...]


class MarkerInSourceError(ValueError):
    """The source already contains ``⟦n⟧`` markers, so protection would be ambiguous."""

    reason = REASON_MARKER_IN_SOURCE


def protect(text: str, *, kinds: tuple[str, ...] = SPAN_KINDS) -> Masked:
    """Replace every protected span of the given ``kinds`` by a numbered marker.

    >>> protect("Run `ls -l` on 3 hosts").text
    'Run ⟦0⟧ on ⟦1⟧ hosts'
    """
    if MARKER_RE.search(text):
        raise MarkerInSourceError("source text already contains ⟦n⟧ markers")
    spans: list[str] = []
    span_kinds: list[str] = []
    out: list[str] = []
    pos = 0
    for match in _SPAN_RE.finditer(text):
        # lastgroup can name an inner backreference group (f, env), so look the kind up explicitly.
        kind = next(name for name in SPAN_KINDS if match.group(name) is not None)
        if kind not in kinds:
            continue
        start, end = match.span()
        if kind == "fence" and text[start:end].endswith("\n"):
            end -= 1  # keep the newline after a closing fence outside, so paragraphs stay visible
        out.append(text[pos:start])
        out.append(f"{MARK_OPEN}{len(spans)}{MARK_CLOSE}")
        spans.append(text[start:end])
        span_kinds.append(kind)
        pos = end
    out.append(text[pos:])
    return Masked(text="".join(out), spans=tuple(spans), kinds=tuple(span_kinds))


def restore(text: str, masked: Masked) -> tuple[str, str | None, str | None]:
    """Put the original spans back into a translated ``text``.

    Returns ``(restored, reason, detail)``; ``reason`` is None when every marker appears exactly
    once, else one of the ``protect_placeholder_*`` reasons (and ``restored`` is best effort).
    """
    seen = Counter(int(m) for m in MARKER_RE.findall(text))
    expected = set(range(len(masked.spans)))
    reason = detail = None
    if unknown := sorted(set(seen) - expected):
        reason, detail = REASON_PLACEHOLDER_UNKNOWN, f"markers {unknown} not in the source"
    elif missing := sorted(expected - set(seen)):
        lost = [masked.spans[i][:40] for i in missing[:3]]
        reason, detail = REASON_PLACEHOLDER_MISSING, f"markers {missing} lost: {lost}"
    elif duplicated := sorted(i for i, n in seen.items() if n > 1):
        reason, detail = REASON_PLACEHOLDER_DUPLICATED, f"markers {duplicated} repeated"

    def put_back(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return masked.spans[index] if index < len(masked.spans) else match.group(0)

    return MARKER_RE.sub(put_back, text), reason, detail


def unmasked_text(masked_text: str) -> str:
    """The translatable prose of a masked text: markers removed."""
    return MARKER_RE.sub("", masked_text)
