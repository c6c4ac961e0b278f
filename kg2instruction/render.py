"""Surface forms of Wikidata time and quantity values, as Chinese (and English) text writes them.

A value becomes a triple only when one of its forms occurs in the paragraph (InstructIE step 5), so
forms are generated from the value's precision (day, month, year) and unit, longest first.
Units outside the table render as bare numbers; calendar models other than Gregorian are ignored.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from corpus.text import HAN_BASIC

# Wikidata unit items -> surface forms (zh first, then symbols).
UNITS = {
    "Q712226": ("平方公里", "平方千米", "km²", "km2"),
    "Q25343": ("平方米", "m²"),
    "Q11573": ("米", "公尺", "m", "metres", "meters"),
    "Q828224": ("公里", "千米", "km"),
    "Q11570": ("千克", "公斤", "kg"),
    "Q174728": ("厘米", "cm"),
    "Q4917": ("美元", "USD"),
    "1": ("人", ""),  # dimensionless counts, e.g. population
}
EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December")


def time_forms(value: str, precision: int) -> list[str]:
    """Forms of a Wikidata time ``+1952-03-11T00:00:00Z`` at ``precision`` (11 day, 10 month, 9 year)."""
    sign = "-" if value.startswith("-") else ""
    year_text, month_text, rest = value.lstrip("+-").split("-", 2)
    year, month, day = int(year_text), int(month_text), int(rest[:2])
    y = f"{sign}{year}"
    forms: list[str] = []
    if precision >= 11 and month and day:
        forms += [f"{y}年{month}月{day}日", f"{y}年{month:02d}月{day:02d}日", f"{day} {EN_MONTHS[month - 1]} {y}",
                  f"{EN_MONTHS[month - 1]} {day}, {y}", f"{y}-{month:02d}-{day:02d}"]
    if precision >= 10 and month:
        forms += [f"{y}年{month}月", f"{EN_MONTHS[month - 1]} {y}"]
    if precision >= 9:
        forms += [f"{y}年"]
    if precision == 9:
        forms += [y]  # a value known to the year only is written as the bare year in English ("in 1209")
    return sorted(dict.fromkeys(forms), key=len, reverse=True)


def quantity_forms(amount: str, unit: str) -> list[str]:
    """Forms of a Wikidata quantity ``+943.5`` in ``unit`` (a Q-id or "1"), e.g. ``943.5平方公里``."""
    try:
        number = Decimal(amount)
    except InvalidOperation:
        return []
    plain = format(number.normalize(), "f").lstrip("+")
    numbers = [plain]
    if number == number.to_integral_value() and abs(number) >= 1000:
        numbers.append(f"{int(number):,}")
    forms = []
    for text in numbers:
        for symbol in UNITS.get(unit, ("",)):
            forms.append(f"{text}{symbol}")
            # Latin-script symbols are spaced in English prose ("468 km²", as the wiki reader renders
            # {{convert}}); Chinese unit names never are.
            if symbol and not HAN_BASIC.search(symbol):
                forms.append(f"{text} {symbol}")
    return sorted(dict.fromkeys(f for f in forms if f), key=len, reverse=True)


def value_forms(kind: str, value: str, unit: str) -> list[str]:
    """Surface forms of a stored KB value (``kind`` is ``time`` or ``quantity``)."""
    if kind == "time":
        return time_forms(value, int(unit))
    return quantity_forms(value, unit)
