"""KnowLM/DeepKE-style answer formats: render gold facts as text, and parse answers back into facts.

Four formats per task family (after DeepKE ``kg2instruction/convert/converter``, our own wording):
``tuple`` ``(h,r,t)`` lines, ``colon`` ``r: h;t``, ``sentence`` ``Subject is h, Relation is r, ...``
and ``json``. Schema types absent from the text are answered with ``NAN`` lines; all absent → ``NAN``.
Parsing normalises full-width punctuation (NFKC), spaces and quotes, and uses the schema labels to split
a line whose mentions contain commas. Facts: NER (mention, type); RE (head, relation, tail);
EET (type, trigger); EE (type, trigger, ((argument, role), ...)).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from corpus.text import CJK_AND_FULLWIDTH, normalize

NAN = "NAN"
FORMATS = ("tuple", "colon", "sentence", "json")
Fact = tuple[Any, ...]

# The wording of the sentence format and of the format descriptions put in the prompt's {s_format}.
_WORDS = {
    "zh": {"head": "头实体", "rel": "关系", "tail": "尾实体", "ent": "实体", "etype": "实体类型",
           "type": "事件类型", "trig": "触发词", "args": "论元", "is": "是", "are": "是", "sep": ","},
    "en": {"head": "Subject", "rel": "Relation", "tail": "Object", "ent": "Entity", "etype": "Type",
           "type": "Event type", "trig": "Trigger", "args": "Arguments", "is": " is ", "are": " are ",
           "sep": ", "},
}


def family(task: str) -> str:
    """The answer family of a task: spo answers like re, eea like ee."""
    return {"spo": "re", "eea": "ee"}.get(task, task)


_CJK_SPACE = re.compile(rf"\s+(?=[{CJK_AND_FULLWIDTH.char_class}])|(?<=[{CJK_AND_FULLWIDTH.char_class}])\s+")
_QUOTES = "'\"“”‘’「」『』`"


def norm(value: Any) -> str:
    """Canonical form of a mention or label: NFKC, no spaces beside CJK, single spaces, quotes stripped."""
    text = normalize(str(value))
    text = _CJK_SPACE.sub("", text)
    return " ".join(text.split()).strip().strip(_QUOTES).strip()


def norm_fact(fact: Fact) -> Fact:
    """Normalise every string of a fact (nested argument tuples sorted, so order never matters)."""
    out = []
    for part in fact:
        if isinstance(part, tuple):
            out.append(tuple(sorted({(norm(a), norm(r)) for a, r in part})))
        else:
            out.append(norm(part))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Prompt descriptions of each format
# ---------------------------------------------------------------------------------------------


def describe(task: str, fmt: str, lang: str) -> str:
    """The ``{s_format}`` text telling the model how to answer."""
    w = _WORDS[lang]
    fam = family(task)
    if fmt == "json":
        keys = {"re": '{"head": "", "relation": "", "tail": ""}', "ner": '{"entity": "", "type": ""}',
                "eet": '{"event_type": "", "trigger": ""}',
                "ee": '{"event_type": "", "trigger": "", "arguments": [{"argument": "", "role": ""}]}'}[fam]
        return f"JSON列表[{keys}, ...]" if lang == "zh" else f"a JSON list [{keys}, ...]"
    args = f"{w['args']}1#{'角色' if lang == 'zh' else 'Role'}1;{w['args']}2#{'角色' if lang == 'zh' else 'Role'}2"
    colon = "：" if lang == "zh" else ": "
    return {
        ("re", "tuple"): f"({w['head']},{w['rel']},{w['tail']})",
        ("re", "colon"): f"{w['rel']}{colon}{w['head']};{w['tail']}",
        ("re", "sentence"): w["sep"].join(f"{w[k]}{w['is']}..." for k in ("head", "rel", "tail")),
        ("ner", "tuple"): f"({w['ent']},{w['etype']})",
        ("ner", "colon"): f"{w['etype']}{colon}{w['ent']}1;{w['ent']}2",
        ("ner", "sentence"): w["sep"].join(f"{w[k]}{w['is']}..." for k in ("ent", "etype")),
        ("eet", "tuple"): f"({w['trig']},{w['type']})",
        ("eet", "colon"): f"{w['type']}{colon}{w['trig']}1;{w['trig']}2",
        ("eet", "sentence"): w["sep"].join(f"{w[k]}{w['is']}..." for k in ("trig", "type")),
        ("ee", "tuple"): f"({w['trig']},{w['type']},{args})",
        ("ee", "colon"): f"{w['type']}{colon}{w['trig']};{args}",
        ("ee", "sentence"): w["sep"].join(f"{w[k]}{w['are' if k == 'args' else 'is']}..."
                                          for k in ("type", "trig", "args")),
    }[(fam, fmt)]


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _label_of(fam: str, fact: Fact) -> str:
    return fact[1] if fam in ("ner", "re") else fact[0]


def _is_nan(fam: str, fact: Fact) -> bool:
    """NAN facts stand for "this schema type is absent": mention slot 0 (NER, RE) or 1 (EET, EE)."""
    return fact[0 if fam in ("ner", "re") else 1] == NAN


def _args(args: Iterable[tuple[str, str]]) -> str:
    return ";".join(f"{a}#{r}" for a, r in args) or NAN


def _line(fam: str, fmt: str, lang: str, fact: Fact) -> str:
    w = _WORDS[lang]
    colon = "：" if lang == "zh" else ": "
    if fam == "re":
        h, r, t = fact
        return {"tuple": f"({h},{r},{t})", "colon": f"{r}{colon}{h};{t}",
                "sentence": w["sep"].join([f"{w['head']}{w['is']}{h}", f"{w['rel']}{w['is']}{r}",
                                           f"{w['tail']}{w['is']}{t}"])}[fmt]
    if fam == "ner":
        e, t = fact
        return {"tuple": f"({e},{t})", "colon": f"{t}{colon}{e}",
                "sentence": w["sep"].join([f"{w['ent']}{w['is']}{e}", f"{w['etype']}{w['is']}{t}"])}[fmt]
    if fam == "eet":
        t, trig = fact
        return {"tuple": f"({trig},{t})", "colon": f"{t}{colon}{trig}",
                "sentence": w["sep"].join([f"{w['trig']}{w['is']}{trig}", f"{w['type']}{w['is']}{t}"])}[fmt]
    t, trig, args = fact
    return {"tuple": f"({trig},{t},{_args(args)})", "colon": f"{t}{colon}{trig};{_args(args)}",
            "sentence": w["sep"].join([f"{w['type']}{w['is']}{t}", f"{w['trig']}{w['is']}{trig}",
                                       f"{w['args']}{w['are']}{_args(args)}"])}[fmt]


def _nan_fact(fam: str, label: str) -> Fact:
    return {"re": (NAN, label, NAN), "ner": (NAN, label), "eet": (label, NAN)}.get(fam, (label, NAN, ()))


def _json_obj(fam: str, fact: Fact) -> dict[str, Any]:
    if fam == "re":
        return {"head": fact[0], "relation": fact[1], "tail": fact[2]}
    if fam == "ner":
        return {"entity": fact[0], "type": fact[1]}
    if fam == "eet":
        return {"event_type": fact[0], "trigger": fact[1]}
    return {"event_type": fact[0], "trigger": fact[1],
            "arguments": [{"argument": a, "role": r} for a, r in fact[2]]}


def render(task: str, fmt: str, lang: str, facts: Sequence[Fact], labels: Sequence[str] | None) -> str:
    """The answer text for ``facts`` (already in answer order); ``labels`` = the schema shown (None: open).

    Facts come grouped by label in schema order; a label with no fact gets one NAN line.
    """
    fam = family(task)
    rows: list[Fact] = []
    if labels is None:
        rows = list(facts)
    else:
        for label in labels:
            mine = [f for f in facts if _label_of(fam, f) == label]
            rows += mine or [_nan_fact(fam, label)]
    if not rows or all(_is_nan(fam, f) for f in rows):
        return NAN
    if fmt == "json":
        return orjson.dumps([_json_obj(fam, f) for f in rows]).decode()
    # colon lines group one label's mentions for NER/EET: "type: a;b"
    if fmt == "colon" and fam in ("ner", "eet"):
        grouped: dict[str, list[str]] = {}
        for f in rows:
            label, mention = (f[1], f[0]) if fam == "ner" else (f[0], f[1])
            grouped.setdefault(label, []).append(mention)
        colon = "：" if lang == "zh" else ": "
        return "\n".join(f"{label}{colon}{';'.join(ms)}" for label, ms in grouped.items())
    return "\n".join(_line(fam, fmt, lang, f) for f in rows)


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------


def _split_on_label(parts: list[str], labels: set[str], first: int, last: int) -> int | None:
    """Index of the part that is a schema label, searching ``first..last``; None if none or ambiguous."""
    hits = [i for i in range(first, last + 1) if norm(parts[i]) in labels]
    if len(hits) == 1:
        return hits[0]
    return None


def _parse_args(text: str) -> tuple[tuple[str, str], ...] | None:
    text = text.strip()
    if not text or norm(text) == NAN:
        return ()
    out = []
    for piece in text.split(";"):
        if not piece.strip():
            continue
        arg, sep, role = piece.rpartition("#")
        if not sep:
            return None
        out.append((arg, role))
    return tuple(out)


_SENTENCE = {
    fam: {lang: re.compile(
        r"\s*,\s*".join(
            re.escape(_WORDS[lang][k]) + (r"\s*是\s*" if lang == "zh" else r"\s+(?:is|are)\s+") + r"(.*?)"
            for k in keys
        ) + r"\s*$", re.IGNORECASE) for lang in ("zh", "en")}
    for fam, keys in {"re": ("head", "rel", "tail"), "ner": ("ent", "etype"), "eet": ("trig", "type"),
                      "ee": ("type", "trig", "args")}.items()
}


def _parse_line(fam: str, fmt: str, line: str, labels: set[str]) -> list[Fact] | None:
    """Facts of one answer line, [] for a NAN line, None if the line cannot be read."""
    if fmt == "tuple":
        if not (line.startswith("(") and line.endswith(")")):
            return None
        parts = line[1:-1].split(",")
        if fam == "re":
            if len(parts) < 3:
                return None
            i = 1 if len(parts) == 3 else _split_on_label(parts, labels, 1, len(parts) - 2)
            if i is None:
                return None
            return [(",".join(parts[:i]), parts[i], ",".join(parts[i + 1:]))]
        if fam in ("ner", "eet"):
            if len(parts) < 2:
                return None
            i = len(parts) - 1
            mention = ",".join(parts[:i])
            return [(mention, parts[i])] if fam == "ner" else [(parts[i], mention)]
        if len(parts) < 3:
            return None
        i = 1 if len(parts) == 3 else _split_on_label(parts, labels, 1, len(parts) - 2)
        if i is None:
            return None
        args = _parse_args(",".join(parts[i + 1:]))
        return None if args is None else [(parts[i], ",".join(parts[:i]), args)]
    if fmt == "colon":
        label, sep, rest = line.partition(":")
        if not sep:
            return None
        if fam == "re":
            # ";" separates head and tail: mentions contain commas far more often than semicolons
            parts = rest.split(";")
            if norm(rest) == NAN:
                return [(NAN, label, NAN)]
            if len(parts) != 2:
                return None
            return [(parts[0], label, parts[1])]
        if fam in ("ner", "eet"):
            mentions = [m for m in rest.split(";") if m.strip()]
            return [(m, label) if fam == "ner" else (label, m) for m in mentions]
        trigger, _, args_text = rest.partition(";")
        args = _parse_args(args_text)
        return None if args is None else [(label, trigger, args)]
    for lang in ("zh", "en"):
        m = _SENTENCE[fam][lang].match(line)
        if m:
            g = m.groups()
            if fam == "re":
                return [(g[0], g[1], g[2])]
            if fam == "ner":
                return [(g[0], g[1])]
            if fam == "eet":
                return [(g[1], g[0])]
            args = _parse_args(g[2])
            return None if args is None else [(g[0], g[1], args)]
    return None


def _from_json(fam: str, obj: Any) -> Fact:
    if fam == "re":
        return (obj["head"], obj["relation"], obj["tail"])
    if fam == "ner":
        return (obj["entity"], obj["type"])
    if fam == "eet":
        return (obj["event_type"], obj["trigger"])
    return (obj["event_type"], obj["trigger"],
            tuple((a["argument"], a["role"]) for a in obj.get("arguments") or ()))


def parse(task: str, fmt: str, answer: str, labels: Sequence[str] = ()) -> tuple[list[Fact], int]:
    """(normalised facts, number of unreadable lines) of a KnowLM-style answer; NAN facts are dropped.

    ``json`` is strict: an answer that is not a JSON list of the expected objects is one error.
    """
    fam = family(task)
    label_set = {norm(x) for x in labels}
    facts: list[Fact] = []
    errors = 0
    if norm(answer) == NAN:
        return [], 0
    if fmt == "json":
        try:
            data = orjson.loads(answer)
            facts = [_from_json(fam, obj) for obj in data]
        except (orjson.JSONDecodeError, KeyError, TypeError, IndexError):
            return [], 1
    else:
        text = normalize(answer)
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            got = _parse_line(fam, fmt, line, label_set)
            if got is None:
                errors += 1
            else:
                facts += got
    kept = [norm_fact(f) for f in facts]
    return [f for f in kept if not _is_nan(fam, f) and "" not in f[:2]], errors
