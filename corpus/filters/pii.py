"""The ``pii`` stage: mask personal data with typed placeholders and count what was masked.

Emails, Chinese resident IDs (GB 11643 checksum), bank cards (Luhn), Chinese mobiles and international
numbers written with ``+``, IPv4/IPv6 (validated by :mod:`ipaddress`). Regexes with checksums, in the
spirit of BigScience/StarCoder PII redaction; names and street addresses (which need NER) are left out.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

EMAIL = "email"
ID_CN = "id_cn"
BANK_CARD = "bank_card"
PHONE = "phone"
IP = "ip"
PLACEHOLDERS = {EMAIL: "<EMAIL>", ID_CN: "<ID_CN>", BANK_CARD: "<BANK_CARD>", PHONE: "<PHONE>", IP: "<IP>"}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# 6-digit area, birth date 18xx-20xx, 3-digit sequence, check digit or X.
_ID_CN = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])"
)
# 13-19 digits, optionally in groups separated by one space or dash ("6222 0212 3456 7890").
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_PHONE_CN = re.compile(r"(?<![\d+])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
# International numbers must carry a leading + (or 00) country code, else too many false hits on numbers.
_PHONE_INTL = re.compile(r"(?<![\w+])(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{2,4}){2,5}(?!\d)")
_IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:){1,7}(?::|(?::[0-9A-Fa-f]{1,4}){1,7}|[0-9A-Fa-f]{1,4})(?![\w:])")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_cn(number: str) -> bool:
    """GB 11643-1999 check digit: sum of digit×weight mod 11 indexes ``10X98765432``."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """Luhn (ISO/IEC 7812) checksum: double every second digit from the right, sum mod 10 == 0."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _valid_card(match: str) -> bool:
    digits = re.sub(r"[ -]", "", match)
    # An ID-shaped number with a bad check digit is not a card either: leave it (and count nothing).
    return 13 <= len(digits) <= 19 and luhn_ok(digits) and not _ID_CN.fullmatch(digits)


def _valid_ip(match: str) -> bool:
    try:
        ipaddress.ip_address(match)
    except ValueError:
        return False
    return True


# Order matters: IDs before cards (an 18-digit ID can pass Luhn), cards before phones.
_RULES: tuple[tuple[str, re.Pattern[str], Callable[[str], bool] | None], ...] = (
    (EMAIL, _EMAIL, None),
    (ID_CN, _ID_CN, valid_id_cn),
    (BANK_CARD, _CARD, _valid_card),
    (PHONE, _PHONE_CN, None),
    (PHONE, _PHONE_INTL, None),
    (IP, _IPV6, _valid_ip),
    (IP, _IPV4, None),
)


def mask_pii(text: str, kinds: frozenset[str] | None = None) -> tuple[str, Counter]:
    """Replace every valid match of ``kinds`` (all by default) with its placeholder; return text and counts."""
    counts: Counter = Counter()
    for kind, pattern, valid in _RULES:
        if kinds is not None and kind not in kinds:
            continue

        def replace(m: re.Match[str], kind: str = kind, valid: Callable[[str], bool] | None = valid) -> str:
            if valid is not None and not valid(m.group()):
                return m.group()
            counts[kind] += 1
            return PLACEHOLDERS[kind]

        text = pattern.sub(replace, text)
    return text, counts


@dataclass(frozen=True, kw_only=True)
class PiiStep:
    """Mask PII in every document; counts go to ``counters["pii_<kind>"]`` and ``meta["pii"]``."""

    name: ClassVar[str] = "pii"
    kinds: tuple[str, ...] | list[str] = tuple(PLACEHOLDERS)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"pii: unknown kind(s) {', '.join(unknown)}; known: {', '.join(PLACEHOLDERS)}")

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        kinds = frozenset(self.kinds)
        for doc in docs:
            text, counts = mask_pii(doc["text"], kinds)
            if counts:
                doc["text"] = text
                doc.setdefault("meta", {})["pii"] = dict(counts)
                for kind, n in counts.items():
                    counters[f"pii_{kind}"] += n
                counters["pii_docs"] += 1
            yield doc
