"""IE evaluation: parse model answers (every knowforge answer format) back into facts, micro P/R/F1.

Scores as IEPile's ``ie2instruction/eval_func.py`` does in "normal" mode — rows grouped by source +
text id (IEPile repeats one id over all schema chunks of a text; predictions are matched to rows by id
*and* chunk), gold from a test row's ``label`` list or else from the rows' own answers, multiset
matching, micro averages; entities, triples, event (type, trigger) and (type, argument, role) — with
these deliberate differences:

* F1 is computed from unrounded P and R (IEPile rounds P and R to 2 dp first, which can move F1 by 0.01).
* SPO gold triples use ``tail`` (IEPile's ``convert_kg`` reads ``object`` from gold and scores 0).
* EET is scored (IEPile's ``EETExtracter`` lacks ``post_process`` and crashes).
* Strings are compared after NFKC, whitespace and quote normalisation (:func:`answers.norm`), so
  full-width punctuation or spacing alone never costs a match; IEPile compares raw strings.
* RE/SPO answers may use ``head``/``tail`` (IEPile's released RE rows and converter) or
  ``subject``/``object`` (its released SPO rows; its RE extracter reads only these).
JSON answers are parsed strictly: an unreadable answer is one error and contributes no predictions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from instruct.build.answers import NAN, Fact, norm_fact, parse
from instruct.build.common import record_facts
from instruct.build.iepile import text_id
from instruct.build.run import STYLES
from instruct.ie.iepile import raw_annotations
from instruct.ie.record import IERecord


@dataclass(frozen=True, kw_only=True)
class Score:
    """Micro counts; ``p = tp / pred``, ``r = tp / gold``, ``f1 = 2pr / (p + r)`` (0 when undefined)."""

    tp: int
    pred: int
    gold: int

    @property
    def p(self) -> float:
        return self.tp / self.pred if self.pred else 0.0

    @property
    def r(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        return 2 * self.p * self.r / (self.p + self.r) if self.p + self.r else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Counts plus P/R/F1 as fractions rounded to 6 dp (rounding only for display)."""
        return {"tp": self.tp, "pred": self.pred, "gold": self.gold,
                "p": round(self.p, 6), "r": round(self.r, 6), "f1": round(self.f1, 6)}


def _family(task: str) -> str:
    return "re" if task == "spo" else task


# ---------------------------------------------------------------------------------------------
# Answers → facts
# ---------------------------------------------------------------------------------------------


def _vals(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items if isinstance(v, str | int | float) and str(v) and str(v) != NAN]


def parse_iepile(task: str, answer: str, schema: Sequence[Any] = ()) -> tuple[list[Fact], int]:
    """(facts, errors) of an IEPile-style JSON answer; anything but a JSON object is one error."""
    try:
        data = orjson.loads(answer)
    except (orjson.JSONDecodeError, TypeError):
        return [], 1
    if not isinstance(data, dict):
        return [], 1
    items = {(s.get("predicate") or s.get("event_type")) if isinstance(s, Mapping) else s: s for s in schema}
    facts: list[Fact] = []
    try:
        for key, found in data.items():
            if not isinstance(found, list):
                return [], 1
            for val in found:
                if task == "ner":
                    facts += [(m, key) for m in _vals(val)]
                elif task in ("re", "spo"):
                    head = val.get("subject", val.get("head"))
                    tail = val.get("object", val.get("tail"))
                    if isinstance(head, str) and isinstance(tail, str):
                        facts.append((head, key, tail))
                elif task == "eet":
                    facts += [(key, t) for t in _vals(val)]
                elif task == "ee":
                    args = tuple((m, role) for role, v in (val.get("arguments") or {}).items() for m in _vals(v))
                    facts.append((key, str(val.get("trigger", "")), args))
                else:  # eea: triggers come from the schema item
                    item = items.get(key)
                    triggers = item.get("trigger") if isinstance(item, Mapping) else None
                    trigger = triggers[0] if isinstance(triggers, list) and triggers else ""
                    roles = val.get("arguments", val) if "arguments" in val else val
                    facts.append((key, trigger, tuple((m, role) for role, v in roles.items() for m in _vals(v))))
    except (AttributeError, TypeError):
        return [], 1
    return [norm_fact(f) for f in facts], 0


def label_facts(task: str, label: str | list[Any]) -> list[Fact]:
    """Gold facts of an IEPile test row's ``label`` (the text's annotations in source format, JSON or decoded)."""
    data = orjson.loads(label) if isinstance(label, str | bytes) else label
    entities, relations, events = raw_annotations(_label_obj(task, data))
    record = IERecord(id="", text="", language="", source="", entities=entities, relations=relations,
                      events=events)
    return [norm_fact(f) for f in record_facts(record, _family(task))]


def _label_obj(task: str, data: list[Any]) -> dict[str, Any]:
    key = {"ner": "entity", "re": "relation", "spo": "relation"}.get(task, "event")
    return {key: data}


def _iepile_instruction(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """An IEPile row's instruction decoded (JSON ``{instruction, schema, input}``), else None."""
    try:
        inst = orjson.loads(row["instruction"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return inst if isinstance(inst, dict) and "schema" in inst and "input" in inst else None


def parsed_style(row: Mapping[str, Any]) -> str:
    """The style read from the instruction text: ``iepile`` if it is IEPile's JSON, else ``knowlm``.

    Only for rows no build step described (IEPile's released rows, files without a manifest or meta).
    """
    return "iepile" if _iepile_instruction(row) is not None else "knowlm"


def row_style(row: Mapping[str, Any], recorded: str | None = None) -> str:
    """A gold row's instruction style: ``recorded`` (the file's build manifest), else the row's own
    ``meta.style`` (every row our builders write carries it), else :func:`parsed_style`."""
    if recorded in STYLES:
        return recorded
    style = (row.get("meta") or {}).get("style")
    return style if style in STYLES else parsed_style(row)


def parse_answer(task: str, row: Mapping[str, Any], answer: str, *,
                 style: str | None = None) -> tuple[list[Fact], int]:
    """Facts of ``answer`` given the gold row it answers (which fixes format and schema).

    ``style``: the style the build recorded for the whole file, if known (see :func:`row_style`).
    """
    meta = row.get("meta") or {}
    if row_style(row, style) == "iepile":
        # IEPile's schema items live in its JSON instruction (EEA items carry the trigger); meta.schema
        # holds only their labels.
        inst = _iepile_instruction(row)
        return parse_iepile(task, answer, list(inst["schema"]) if inst else list(meta.get("schema") or []))
    if "format" not in meta:
        raise ValueError(f"row {row.get('id')!r}: a KnowLM-style row needs meta.format to be scored")
    return parse(task, meta["format"], answer, labels=meta.get("schema") or ())


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _score_keys(task: str, fact: Fact) -> list[tuple[str, str, tuple]]:
    """(score name, type, compared tuple) entries a fact contributes."""
    fam = _family(task)
    if fam == "ner":
        return [("entity", fact[1], fact)]
    if fam == "re":
        return [("triple", fact[1], fact)]
    if fam == "eet":
        return [("trigger", fact[0], fact)]
    out = [("event", fact[0], (fact[0], fact[1]))] if task == "ee" else []
    return out + [("argument", fact[0], (fact[0], arg, role)) for arg, role in fact[2]]


def _count(task: str, gold: Iterable[Fact], pred: Iterable[Fact], sink: dict[str, dict[str, Counter]]) -> None:
    g: Counter = Counter()
    p: Counter = Counter()
    for fact in gold:
        for name, kind, key in _score_keys(task, fact):
            g[(name, kind, key)] += 1
    for fact in pred:
        for name, kind, key in _score_keys(task, fact):
            p[(name, kind, key)] += 1
    for (name, kind, key), n in g.items():
        sink[name][kind]["gold"] += n
        sink[name][kind]["tp"] += min(n, p.get((name, kind, key), 0))
    for (name, kind, _), n in p.items():
        sink[name][kind]["pred"] += n


def _scores(sink: Mapping[str, Mapping[str, Counter]]) -> tuple[dict[str, Any], dict[str, Any]]:
    totals, per_type = {}, {}
    for name, kinds in sorted(sink.items()):
        tot = Counter()
        per_type[name] = {}
        for kind, c in sorted(kinds.items()):
            tot.update(c)
            per_type[name][kind] = Score(tp=c["tp"], pred=c["pred"], gold=c["gold"]).to_dict()
        totals[name] = Score(tp=tot["tp"], pred=tot["pred"], gold=tot["gold"]).to_dict()
    return totals, per_type


def _sink() -> defaultdict[str, defaultdict[str, Counter]]:
    return defaultdict(lambda: defaultdict(Counter))


def text_key(row: Mapping[str, Any]) -> tuple[str, str]:
    """(source, text id) of a row: the group its gold belongs to, as IEPile's ``eval_func`` groups.

    IEPile gives every schema chunk of one text the same ``id`` (sha256 of the text); our rows also carry
    ``meta.record_id``. Rows without either (IEPile's train rows) are keyed by their input text's hash.
    """
    meta = row.get("meta") or {}
    rid = meta.get("record_id") or row.get("id")
    if not rid:
        try:
            rid = text_id(orjson.loads(row["instruction"])["input"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            rid = text_id(f"{row.get('instruction', '')}\n{row.get('input', '')}")
    return str(row.get("source", "")), str(rid)


def evaluate_rows(task: str, gold_rows: Sequence[Mapping[str, Any]],
                  predictions: Sequence[str | None], *, style: str | None = None) -> dict[str, Any]:
    """Score ``predictions`` (one answer per gold row, None = missing) against ``gold_rows``.

    ``style``: the instruction style the gold file's build manifest records, if any (:func:`row_style`).

    Rows of one text are grouped by :func:`text_key`; a group's gold comes from ``label`` when the rows
    carry it (IEPile test rows: the text's annotations as a list, whichever chunk the row shows), else
    from every row's own gold ``output`` (the answer format of its chunk).
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    errors = missing = 0
    for row, answer in zip(gold_rows, predictions, strict=True):
        meta = row.get("meta") or {}
        group = groups.setdefault(text_key(row), {"gold": [], "pred": [], "label": None,
                                                  "category": meta.get("cate") or row.get("source", "")})
        if "label" in row:
            group["label"] = row["label"]
        else:
            gold, bad = parse_answer(task, row, row.get("output", ""), style=style)
            if bad:
                raise ValueError(f"gold row {row.get('id')!r} has an answer that does not parse")
            group["gold"] += gold
        if answer is None:
            missing += 1
            continue
        pred, bad = parse_answer(task, row, answer, style=style)
        errors += bad
        group["pred"] += pred
    overall = _sink()
    by_cat: dict[str, Any] = defaultdict(_sink)
    for group in groups.values():
        gold = label_facts(task, group["label"]) if group["label"] is not None else group["gold"]
        _count(task, gold, group["pred"], overall)
        _count(task, gold, group["pred"], by_cat[group["category"]])
    totals, per_type = _scores(overall)
    return {
        "task": task, "rows": len(gold_rows), "groups": len(groups), "errors": errors, "missing": missing,
        "scores": totals, "per_type": per_type,
        "per_category": {cat: _scores(sink)[0] for cat, sink in sorted(by_cat.items())},
    }


def prediction_of(row: Mapping[str, Any]) -> str | None:
    """A prediction row's answer: ``output``, or ``predict`` (LLaMA-Factory), or ``prediction``."""
    for key in ("output", "predict", "prediction"):
        if isinstance(row.get(key), str):
            return row[key]
    return None


def _chunk_keys(rows: Sequence[Mapping[str, Any]], with_instruction: bool) -> list[tuple[str, str, int]]:
    """One key per row naming its text, its schema chunk and which repeat of that pair it is.

    The chunk is the instruction string (it shows the chunk's schema) when both files carry it; ids alone
    repeat across the chunks of one text. The n-th row with the same (id, chunk) is repeat n, so a
    dataset that holds one text twice pairs its rows in order instead of overwriting one with another.
    """
    seen: Counter[tuple[str, str]] = Counter()
    keys = []
    for r in rows:
        pair = (str(r["id"]), r["instruction"] if with_instruction else "")
        keys.append((*pair, seen[pair]))
        seen[pair] += 1
    return keys


def align(gold_rows: Sequence[Mapping[str, Any]], pred_rows: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """Each gold row's prediction, matched by text id and schema chunk when both sides have ids, else by position."""
    if all(r.get("id") for r in gold_rows) and all(r.get("id") for r in pred_rows):
        with_inst = all(isinstance(r.get("instruction"), str) for r in [*gold_rows, *pred_rows])
        by_key = {key: prediction_of(row)
                  for key, row in zip(_chunk_keys(pred_rows, with_inst), pred_rows, strict=True)}
        return [by_key.get(key) for key in _chunk_keys(gold_rows, with_inst)]
    if len(gold_rows) != len(pred_rows):
        raise ValueError(f"{len(pred_rows)} predictions for {len(gold_rows)} gold rows and no ids to match them")
    return [prediction_of(r) for r in pred_rows]
