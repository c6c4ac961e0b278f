"""``{{convert}}`` rendered as Wikipedia shows it: "52,419 square miles (135,760 km²)".

Follows en Module:Convert for the common length, area, volume, mass, speed, power, density and
temperature units: exact conversion factors (NIST / international yard and pound), input unit spelled
out and output unit as a symbol by default, ``abbr``, ``adj``, ``disp``, ``order=flip``, ``sp=us``,
ranges (``5|-|10|km``), two-part inputs (``5|ft|6|in``), several outputs (``km|mi nmi``), an explicit
precision (the positional after the units) or ``sigfig``. Default rounding as the module does it: the
input's decimals, less the order of magnitude of the factor, with at least two significant figures.
Left out: engineering notation, fractions as input, the rarer units (those render as "value code").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

# Words between two values of a range, as the module shows them.
RANGE_WORDS = {
    "-": "–", "–": "–", "to": " to ", "to(-)": " to ", "and": " and ", "and(-)": " and ", "or": " or ",
    "x": " × ", "×": " × ", "by": " by ", "+/-": " ± ", "±": " ± ", "&": " & ", ",": ", ", "+": " + ",
}
NUMBER = re.compile(r"^[-−+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:e[-+]?\d+)?$", re.I)
SCALE_PREFIX = re.compile(r"^e(3|6|9|12)(.+)$")
SCALE_WORDS = {"3": "thousand", "6": "million", "9": "billion", "12": "trillion"}


@dataclass(frozen=True)
class Unit:
    """A unit: its dimension, size in the dimension's SI unit (offset for temperatures), names, symbol."""

    dimension: str
    factor: float
    name: str
    plural: str
    symbol: str
    offset: float = 0.0  # for temperatures: SI value = value * factor + offset


def _unit(dimension, factor, name, symbol, plural=None, offset=0.0) -> Unit:
    return Unit(dimension, factor, name, plural or name + "s", symbol, offset)


MILE, FOOT, INCH, YARD = 1609.344, 0.3048, 0.0254, 0.9144
POUND = 0.45359237
UNITS: dict[str, Unit] = {
    # length, in metres
    "m": _unit("length", 1, "metre", "m"),
    "km": _unit("length", 1e3, "kilometre", "km"),
    "cm": _unit("length", 1e-2, "centimetre", "cm"),
    "mm": _unit("length", 1e-3, "millimetre", "mm"),
    "um": _unit("length", 1e-6, "micrometre", "μm"),
    "nm": _unit("length", 1e-9, "nanometre", "nm"),
    "mi": _unit("length", MILE, "mile", "mi"),
    "ft": _unit("length", FOOT, "foot", "ft", plural="feet"),
    "in": _unit("length", INCH, "inch", "in", plural="inches"),
    "yd": _unit("length", YARD, "yard", "yd"),
    "nmi": _unit("length", 1852, "nautical mile", "nmi"),
    "smi": _unit("length", MILE, "statute mile", "mi"),
    "fathom": _unit("length", 1.8288, "fathom", "fathoms"),
    "Gm": _unit("length", 1e9, "gigametre", "Gm"),
    "ly": _unit("length", 9.4607304725808e15, "light-year", "ly"),
    "au": _unit("length", 1.495978707e11, "astronomical unit", "AU"),
    "AU": _unit("length", 1.495978707e11, "astronomical unit", "AU"),
    # area, in square metres
    "m2": _unit("area", 1, "square metre", "m²"),
    "km2": _unit("area", 1e6, "square kilometre", "km²"),
    "sqkm": _unit("area", 1e6, "square kilometre", "km²"),
    "cm2": _unit("area", 1e-4, "square centimetre", "cm²"),
    "ha": _unit("area", 1e4, "hectare", "ha"),
    "sqmi": _unit("area", MILE**2, "square mile", "sq mi"),
    "sqft": _unit("area", FOOT**2, "square foot", "sq ft", plural="square feet"),
    "sqyd": _unit("area", YARD**2, "square yard", "sq yd"),
    "sqin": _unit("area", INCH**2, "square inch", "sq in", plural="square inches"),
    "acre": _unit("area", 4046.8564224, "acre", "acres"),
    # volume, in cubic metres
    "m3": _unit("volume", 1, "cubic metre", "m³"),
    "km3": _unit("volume", 1e9, "cubic kilometre", "km³"),
    "cm3": _unit("volume", 1e-6, "cubic centimetre", "cm³"),
    "L": _unit("volume", 1e-3, "litre", "L"),
    "l": _unit("volume", 1e-3, "litre", "L"),
    "mL": _unit("volume", 1e-6, "millilitre", "mL"),
    "ml": _unit("volume", 1e-6, "millilitre", "mL"),
    "cuft": _unit("volume", FOOT**3, "cubic foot", "cu ft", plural="cubic feet"),
    "cuin": _unit("volume", INCH**3, "cubic inch", "cu in", plural="cubic inches"),
    "cumi": _unit("volume", MILE**3, "cubic mile", "cu mi"),
    "USgal": _unit("volume", 3.785411784e-3, "US gallon", "US gal"),
    "impgal": _unit("volume", 4.54609e-3, "imperial gallon", "imp gal"),
    "bbl": _unit("volume", 0.158987294928, "barrel", "bbl"),
    "oilbbl": _unit("volume", 0.158987294928, "barrel", "bbl"),
    "Moilbbl": _unit("volume", 0.158987294928e6, "million barrels", "million barrels", plural="million barrels"),
    "Goilbbl": _unit("volume", 0.158987294928e9, "billion barrels", "billion barrels", plural="billion barrels"),
    "Tcuft": _unit("volume", FOOT**3 * 1e12, "trillion cubic feet", "trillion cubic feet",
                   plural="trillion cubic feet"),
    # flow, in cubic metres per second
    "m3/d": _unit("flow", 1 / 86400, "cubic metre per day", "m³/d", plural="cubic metres per day"),
    "oilbbl/d": _unit("flow", 0.158987294928 / 86400, "barrel per day", "bbl/d", plural="barrels per day"),
    "koilbbl/d": _unit("flow", 0.158987294928e3 / 86400, "thousand barrels per day", "thousand barrels per day",
                       plural="thousand barrels per day"),
    "Moilbbl/d": _unit("flow", 0.158987294928e6 / 86400, "million barrels per day", "million barrels per day",
                       plural="million barrels per day"),
    # mass, in kilograms
    "kg": _unit("mass", 1, "kilogram", "kg"),
    "g": _unit("mass", 1e-3, "gram", "g"),
    "mg": _unit("mass", 1e-6, "milligram", "mg"),
    "t": _unit("mass", 1e3, "tonne", "t"),
    "lb": _unit("mass", POUND, "pound", "lb"),
    "oz": _unit("mass", POUND / 16, "ounce", "oz"),
    "st": _unit("mass", POUND * 14, "stone", "st", plural="stone"),
    "ST": _unit("mass", POUND * 2000, "short ton", "short tons"),
    "LT": _unit("mass", POUND * 2240, "long ton", "long tons"),
    # speed, in metres per second
    "m/s": _unit("speed", 1, "metre per second", "m/s", plural="metres per second"),
    "km/h": _unit("speed", 1 / 3.6, "kilometre per hour", "km/h", plural="kilometres per hour"),
    "mph": _unit("speed", MILE / 3600, "mile per hour", "mph", plural="miles per hour"),
    "kn": _unit("speed", 1852 / 3600, "knot", "kn"),
    "ft/s": _unit("speed", FOOT, "foot per second", "ft/s", plural="feet per second"),
    # power, in watts
    "W": _unit("power", 1, "watt", "W"),
    "kW": _unit("power", 1e3, "kilowatt", "kW"),
    "MW": _unit("power", 1e6, "megawatt", "MW"),
    "hp": _unit("power", 745.69987158227022, "horsepower", "hp", plural="horsepower"),
    # population density, per square metre
    "/km2": _unit("density", 1e-6, "per square kilometre", "/km²", plural="per square kilometre"),
    "/sqmi": _unit("density", 1 / MILE**2, "per square mile", "/sq mi", plural="per square mile"),
    "PD/km2": _unit("density", 1e-6, "inhabitants per square kilometre", "/km²",
                    plural="inhabitants per square kilometre"),
    "PD/sqmi": _unit("density", 1 / MILE**2, "inhabitants per square mile", "/sq mi",
                     plural="inhabitants per square mile"),
    # temperature, in kelvin
    "C": _unit("temperature", 1, "degree Celsius", "°C", plural="degrees Celsius", offset=273.15),
    "F": _unit("temperature", 5 / 9, "degree Fahrenheit", "°F", plural="degrees Fahrenheit",
               offset=273.15 - 32 * 5 / 9),
    "K": _unit("temperature", 1, "kelvin", "K"),
}
UNITS["°C"], UNITS["°F"] = UNITS["C"], UNITS["F"]
UNITS["ft3"], UNITS["MT"] = UNITS["cuft"], UNITS["t"]  # other codes of the same units
# Output unit when the template names none (Module:Convert's defaults for these inputs).
DEFAULT_OUTPUT = {
    "m": "ft", "km": "mi", "cm": "in", "mm": "in", "um": "in", "nm": "in", "mi": "km", "ft": "m", "in": "cm",
    "yd": "m", "nmi": "km", "ly": "km", "au": "km", "AU": "km", "m2": "sqft", "km2": "sqmi", "sqkm": "sqmi",
    "cm2": "sqin", "ha": "acre", "sqmi": "km2", "sqft": "m2", "sqyd": "m2", "sqin": "cm2", "acre": "ha",
    "m3": "cuft", "km3": "cumi", "cm3": "cuin", "L": "USgal", "l": "USgal", "mL": "USoz", "ml": "USoz",
    "cuft": "m3", "cuin": "cm3", "cumi": "km3", "USgal": "L", "impgal": "L", "bbl": "m3", "kg": "lb", "g": "oz",
    "mg": "oz", "t": "ST", "lb": "kg", "oz": "g", "st": "kg", "ST": "t", "LT": "t", "m/s": "ft/s",
    "km/h": "mph", "mph": "km/h", "kn": "km/h", "ft/s": "m/s", "W": "hp", "kW": "hp", "MW": "hp", "hp": "kW",
    "/km2": "/sqmi", "/sqmi": "/km2", "PD/km2": "PD/sqmi", "PD/sqmi": "PD/km2", "smi": "km", "fathom": "m",
    "Gm": "mi", "oilbbl": "m3", "Moilbbl": "m3", "Goilbbl": "m3", "Tcuft": "km3", "m3/d": "oilbbl/d",
    "oilbbl/d": "m3/d", "koilbbl/d": "m3/d", "Moilbbl/d": "m3/d", "ft3": "m3", "MT": "ST", "C": "F", "°C": "F", "F": "C", "°F": "C", "K": "C",
}
# Output pairs shown as one combined value ("16 ft 5 in").
COMBINATIONS = {"ft in": ("ft", "in"), "mi yd": ("mi", "yd"), "st lb": ("st", "lb"), "lb oz": ("lb", "oz")}


def unit(code: str) -> tuple[Unit, float, str] | None:
    """The unit of ``code``, its scale (``e6acre`` = a million acres) and the scale's word, or None."""
    if code in UNITS:
        return UNITS[code], 1.0, ""
    scaled = SCALE_PREFIX.match(code)
    if scaled and scaled.group(2) in UNITS:
        return UNITS[scaled.group(2)], 10.0 ** int(scaled.group(1)), SCALE_WORDS[scaled.group(1)]
    return None


def is_number(text: str) -> bool:
    return bool(text) and bool(NUMBER.match(text.strip())) and any(ch.isdigit() for ch in text)


def parse_number(text: str) -> tuple[float, int]:
    """Value and decimal places of a number as written ("1,300" -> 1300.0, 0; "5.25" -> 5.25, 2)."""
    text = text.strip().replace(",", "").replace("−", "-")
    mantissa = re.split(r"[eE]", text)[0]
    decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
    return float(text), decimals


def format_number(value: float, decimals: int) -> str:
    """``value`` rounded to ``decimals`` places (negative: tens, hundreds...), with thousands commas."""
    if decimals < 0:
        step = 10 ** -decimals
        value = round(value / step) * step
        decimals = 0
    text = f"{value:,.{decimals}f}"
    return "0" if text in {"-0", "-0.0"} else text.replace("-", "−")


def default_decimals(decimals_in: int, value_out: float, ratio: float) -> int:
    """Module:Convert's default precision: the input's decimals less the order of magnitude of the
    conversion, raised until the output keeps at least two significant figures.
    Worked example: 52419 sqmi -> km2, ratio 2.59, log10 0.41 -> ceil 1 -> tens: 135,760."""
    decimals = decimals_in - (math.ceil(math.log10(abs(ratio)) - 1e-12) if ratio else 0)
    if value_out:
        magnitude = math.floor(math.log10(abs(value_out)))
        decimals = max(decimals, 1 - magnitude)  # two significant figures at least
    return decimals


def to_si(value: float, u: Unit, scale: float) -> float:
    return value * scale * u.factor + u.offset


def from_si(value: float, u: Unit, scale: float = 1.0) -> float:
    return (value - u.offset) / u.factor / scale


def unit_text(u: Unit, scale_word: str, *, plural: bool, spelled: bool, us: bool) -> str:
    """The name (singular or plural; ``us``: "meter", "liter") or the symbol of a unit, after its scale word."""
    if spelled:
        text = u.plural if plural else u.name
        if us:
            text = text.replace("metre", "meter").replace("litre", "liter")
    else:
        text = u.symbol
    return f"{scale_word} {text}".strip()


def _with_unit(number: str, unit_part: str, joiner: str = " ") -> str:
    """A value and its unit: "94/sq mi" for per-area symbols, else separated by ``joiner``."""
    return number + unit_part if unit_part.startswith("/") else number + joiner + unit_part


@dataclass(frozen=True, kw_only=True)
class ConvertCall:
    """The arguments of one ``{{convert}}`` call, already rendered to text."""

    positional: tuple[str, ...]
    named: dict
    lang: str = "en"
    abbreviate_default: str = "out"  # {{cvt}} is {{convert}} with abbr=on


def render(call: ConvertCall) -> str | None:
    """The text of a ``{{convert}}`` call, or None when its units are not in :data:`UNITS`."""
    pos = [p.strip() for p in call.positional]
    named = {k: v.strip() for k, v in call.named.items()}
    if not pos or not is_number(pos[0]):
        return None
    values, joiners, i = [pos[0]], [], 1
    while i + 1 < len(pos) and pos[i] in RANGE_WORDS and is_number(pos[i + 1]):
        joiners.append(RANGE_WORDS[pos[i]])
        values.append(pos[i + 1])
        i += 2
    if i >= len(pos) or unit(pos[i]) is None:
        return None
    parts = [(values, pos[i])]
    i += 1
    # A two-part input, "5|ft|6|in": a value and a unit of the same dimension follow.
    if (len(values) == 1 and i + 1 < len(pos) and is_number(pos[i]) and unit(pos[i + 1])
            and unit(pos[i + 1])[0].dimension == unit(parts[0][1])[0].dimension):
        parts.append(([pos[i]], pos[i + 1]))
        i += 2
    in_code = parts[0][1]
    out_spec = pos[i] if i < len(pos) and not is_number(pos[i]) and pos[i] else DEFAULT_OUTPUT.get(in_code, "")
    if i < len(pos) and not is_number(pos[i]):
        i += 1
    precision = pos[i] if i < len(pos) and re.fullmatch(r"-?\d+", pos[i]) else named.get("round") or None
    in_unit, in_scale, in_word = unit(in_code)

    # SI value of each range value (two-part inputs add up).
    si_values = [to_si(parse_number(v)[0], in_unit, in_scale) for v in values]
    if len(parts) == 2:
        second, second_scale, _ = unit(parts[1][1])
        si_values[0] += parse_number(parts[1][0][0])[0] * second.factor * second_scale
    decimals_in = max(parse_number(v)[1] for v in values)

    # Temperatures show symbols on both sides by default ("20 °C (68 °F)"), as the module does.
    default_abbr = "on" if in_unit.dimension == "temperature" else call.abbreviate_default
    abbr = named.get("abbr", default_abbr).lower()
    if call.lang != "en":  # other wikis' convert shows symbols; we do not translate unit names
        abbr = "on"
    adjective = named.get("adj", "").lower() in {"on", "yes", "y"}
    us = named.get("sp", "").lower() == "us"
    in_spelled = abbr in {"out", "off", ""}
    out_spelled = abbr in {"off", "in"}

    # Input text.
    shown = [format_number(*parse_number(v)) if "e" not in v.lower() else v for v in values]
    single = len(values) == 1 and abs(parse_number(values[0])[0]) == 1 and len(parts) == 1
    in_units = unit_text(in_unit, in_word, plural=not (single or adjective), spelled=in_spelled, us=us)
    if abbr == "values":
        in_text = "".join(_join(shown, joiners))
    elif len(parts) == 2:
        second, second_scale, second_word = unit(parts[1][1])
        second_value = parse_number(parts[1][0][0])
        in_text = (f"{shown[0]} {in_units} {format_number(*second_value)} "
                   f"{unit_text(second, second_word, plural=second_value[0] != 1, spelled=in_spelled, us=us)}")
    else:
        in_text = _with_unit("".join(_join(shown, joiners)), in_units, "-" if adjective and in_spelled else " ")

    outputs = []
    for spec in ([out_spec] if out_spec in COMBINATIONS else out_spec.split()):
        text = _output(spec, si_values, joiners, decimals_in, in_unit, in_scale, precision, named,
                       spelled=out_spelled, bare=abbr == "values", us=us)
        if text is None:
            return None
        outputs.append(text)
    if not outputs:
        return None
    out_text = "; ".join(outputs)
    disp = named.get("disp", "b").lower()
    if named.get("order", "").lower() == "flip" or named.get("disp", "").lower() == "flip":
        in_text, out_text = out_text, in_text
    if disp in {"out", "output only"}:
        return out_text
    if disp == "output number only":
        return re.sub(r"\s*\D*$", "", out_text)
    if disp == "or":
        return f"{in_text} or {out_text}"
    if disp in {"comma", ","}:
        return f"{in_text}, {out_text}"
    if disp == "sqbr":
        return f"{in_text} [{out_text}]"
    if disp == "slash":
        return f"{in_text}/{out_text}"
    return f"{in_text} ({out_text})"


def _join(values: list[str], joiners: list[str]) -> list[str]:
    pieces = [values[0]]
    for joiner, value in zip(joiners, values[1:], strict=True):
        pieces += [joiner, value]
    return pieces


def _output(spec: str, si_values: list[float], joiners: list[str], decimals_in: int, in_unit: Unit, in_scale: float,
            precision: str | None, named: dict, *, spelled: bool, bare: bool, us: bool) -> str | None:
    """The converted text for one output spec (a unit code or a combination such as "ft in")."""
    if spec in COMBINATIONS:
        big, small = (UNITS[c] for c in COMBINATIONS[spec])
        if big.dimension != in_unit.dimension:
            return None
        total = from_si(si_values[0], small)
        per = big.factor / small.factor
        whole, rest = divmod(round(total), round(per))
        return f"{whole:,} {big.symbol} {rest} {small.symbol}"
    found = unit(spec)
    if found is None or found[0].dimension != in_unit.dimension:
        return None
    out_unit, out_scale, out_word = found
    converted = [from_si(v, out_unit, out_scale) for v in si_values]
    if named.get("sigfig", "").isdigit():
        figures = int(named["sigfig"])
        decimals = figures - 1 - math.floor(math.log10(abs(converted[0]))) if converted[0] else 0
    elif precision is not None and re.fullmatch(r"-?\d+", str(precision)):
        decimals = int(precision)
    elif in_unit.dimension == "temperature":
        decimals = decimals_in  # offsets make a ratio meaningless; degrees keep the input's decimals
    else:
        decimals = default_decimals(decimals_in, converted[0], in_unit.factor * in_scale / (out_unit.factor * out_scale))
    shown = [format_number(v, decimals) for v in converted]
    text = "".join(_join(shown, joiners))
    if bare:
        return text
    plural = not (len(converted) == 1 and shown[0] == "1")
    return _with_unit(text, unit_text(out_unit, out_word, plural=plural, spelled=spelled, us=us))
