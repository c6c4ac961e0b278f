"""What both instruction builders share: templates, label maps, and an IE record's facts in text order.

Facts are the tuples :mod:`instruct.build.answers` renders and the evaluation compares; they are ordered
by where their first mention sits in the text (IEPile intends this but its NER/RE converters skip it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from corpus.resources import shipped
from instruct.build.answers import Fact
from instruct.ie.record import Argument, Entity, Event, IERecord, Relation, position
from instruct.ie.schema import Schema, split_spo_key, spo_key

DEFAULT_TEMPLATES = shipped("configs/ie/templates.yaml")


def load_templates(path: Path | None = None) -> dict[str, Any]:
    """Read the template file (default ``configs/ie/templates.yaml``) and check every slot is present."""
    data = yaml.safe_load(Path(path or DEFAULT_TEMPLATES).read_text(encoding="utf-8"))
    for task, by_lang in data["knowlm"].items():
        for lang, kinds in by_lang.items():
            for kind, texts in kinds.items():
                for text in texts:
                    needed = ["{s_format}"] + (["{s_schema}"] if kind == "schema" else [])
                    if task == "eea":
                        needed.append("{s_schema2}")
                    missing = [slot for slot in needed if slot not in text]
                    if missing:
                        raise ValueError(f"template knowlm.{task}.{lang}.{kind} {text[:40]!r} lacks {missing}")
    return data


def load_label_map(path: Path | None) -> dict[str, str]:
    """A YAML/JSON mapping raw label → label shown in instructions (e.g. ``PER: person``); {} if none."""
    if path is None:
        return {}
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"{path}: a label map is a flat mapping of strings")
    return {str(k): v for k, v in data.items()}


def relabel(record: IERecord, labels: Mapping[str, str]) -> IERecord:
    """``record`` with every type, relation and role renamed through ``labels`` (unknown labels kept)."""
    if not labels:
        return record

    def m(x: str) -> str:
        return labels.get(x, x)

    return record.replace(
        entities=tuple(Entity(mention=e.mention, type=m(e.type), span=e.span) for e in record.entities),
        relations=tuple(Relation(head=r.head, relation=m(r.relation), tail=r.tail, head_type=m(r.head_type),
                                 tail_type=m(r.tail_type), head_span=r.head_span, tail_span=r.tail_span,
                                 qualifiers=r.qualifiers) for r in record.relations),
        events=tuple(Event(type=m(ev.type), trigger=ev.trigger, trigger_span=ev.trigger_span,
                           arguments=tuple(Argument(mention=a.mention, role=m(a.role), span=a.span)
                                           for a in ev.arguments)) for ev in record.events),
    )


def relabel_schema(schema: Schema, labels: Mapping[str, str]) -> Schema:
    """``schema`` renamed through ``labels``; SPO keys are renamed part by part."""
    if not labels:
        return schema

    def m(x: str) -> str:
        return labels.get(x, x)

    types = []
    for t in schema.types:
        if schema.roles and any(f"_{r}_" in t for r in schema.roles):
            h, r, tail = split_spo_key(t, schema.roles)
            types.append(spo_key(m(h), m(r), m(tail)))
        else:
            types.append(m(t))
    return Schema(types=tuple(dict.fromkeys(types)), roles=tuple(dict.fromkeys(m(r) for r in schema.roles)),
                  type_roles={m(k): tuple(m(r) for r in v) for k, v in schema.type_roles.items()})


def fact_label(task: str, fact: Fact) -> str:
    """The schema label a fact belongs to (NER type, relation, event type)."""
    return fact[1] if task in ("ner", "re", "spo") else fact[0]


def record_facts(record: IERecord, task: str) -> list[Fact]:
    """The record's facts for ``task`` in text order, duplicates removed.

    NER (mention, type); RE (head, relation, tail); SPO (head, spo_key, tail);
    EET (type, trigger); EE/EEA (type, trigger, ((argument, role), ...)).
    """
    text = record.text
    keyed: list[tuple[int, Fact]] = []
    if task == "ner":
        keyed = [(position(text, e.mention, e.span), (e.mention, e.type)) for e in record.entities]
    elif task in ("re", "spo"):
        for r in record.relations:
            rel = r.relation if task == "re" else spo_key(r.head_type, r.relation, r.tail_type)
            keyed.append((position(text, r.head, r.head_span), (r.head, rel, r.tail)))
    elif task == "eet":
        keyed = [(position(text, ev.trigger, ev.trigger_span), (ev.type, ev.trigger)) for ev in record.events]
    else:
        for ev in record.events:
            args = tuple(dict.fromkeys((a.mention, a.role) for a in ev.arguments))
            keyed.append((position(text, ev.trigger, ev.trigger_span), (ev.type, ev.trigger, args)))
    keyed.sort(key=lambda kv: kv[0])  # stable: ties keep annotation order
    return list(dict.fromkeys(f for _, f in keyed))
