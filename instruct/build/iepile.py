"""IEPile-style IE instructions: ``instruction`` = JSON {instruction, schema, input}, ``output`` = JSON keyed by schema item.

Follows IEPile's ``ie2instruction/convert_func.py`` (arXiv 2402.14710): schema chunks from
:mod:`instruct.build.sampling`, absent types → ``[]``, EE missing roles → ``"NAN"``, RE values as
``{"head", "tail"}`` and SPO values as ``{"subject", "object"}`` (what IEPile's released RE and SPO rows
hold), every chunk of one text with the same ``id`` (sha256 of the text), and ``--split test`` rows
carrying ``label`` (the text's gold annotations) besides ``output``.
Values are ordered by text position (IEPile intends this; its NER/RE code forgets). KG is left out.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from instruct.build.answers import NAN
from instruct.build.common import fact_label, record_facts
from instruct.build.sampling import SchemaOptions, binomial, plan_chunks
from instruct.ie.iepile import raw_annotations
from instruct.ie.record import IERecord
from instruct.ie.schema import Schema, split_spo_key, spo_key


@dataclass(frozen=True, kw_only=True)
class IEPileOptions:
    """Options of one IEPile-style build (``schema`` holds split-num, neg-schema, random-sort, hard negatives)."""

    task: str
    lang: str
    seed: int = 42
    schema: SchemaOptions = field(default_factory=SchemaOptions)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def gold_label(record: IERecord, task: str) -> list[dict[str, Any]]:
    """The record's gold annotations in IEPile's source format (the ``label`` of test rows)."""
    if task == "ner":
        return [{"entity": e.mention, "entity_type": e.type} for e in record.entities]
    if task in ("re", "spo"):
        return [{"head": r.head, "relation": r.relation, "tail": r.tail,
                 **({"head_type": r.head_type, "tail_type": r.tail_type} if task == "spo" else {})}
                for r in record.relations]
    return [{"event_type": ev.type, "event_trigger": ev.trigger,
             "arguments": [{"argument": a.mention, "role": a.role} for a in ev.arguments]}
            for ev in record.events]


def _roles_for(label: str, gold_roles: Sequence[str], schema: Schema, options: IEPileOptions,
               rng: random.Random) -> list[str]:
    """EE roles shown for one event type: the gold roles plus a Bernoulli share of the others (IEPile)."""
    all_roles = list(dict.fromkeys([*schema.type_roles.get(label, ()), *gold_roles]))
    if options.schema.split == "test":
        return all_roles
    missing = [r for r in all_roles if r not in gold_roles]
    k = min(len(missing), binomial(len(missing), options.schema.neg_schema, rng))
    keep = set(gold_roles) | set(rng.sample(missing, k))
    if not keep and all_roles:  # a negative event type still shows at least one role
        keep = {rng.choice(all_roles)}
    return [r for r in all_roles if r in keep]


def _item_label(item: Any) -> str:
    """The label a schema item stands for (SPO: its ``subject_type_predicate_object_type`` key)."""
    if isinstance(item, Mapping):
        if "predicate" in item:
            return spo_key(item.get("subject_type", ""), item["predicate"], item.get("object_type", ""))
        return item["event_type"]
    return item


def render_output(task: str, items: Sequence[Any], facts: Sequence[tuple]) -> dict[str, Any]:
    """The answer dict of one instruction showing schema ``items``, given the text's ``facts``.

    Keys follow the items' order; a label without facts answers ``[]``. RE values are
    ``{"head", "tail"}`` as in IEPile's released RE rows, SPO values ``{"subject", "object"}`` as in its
    SPO rows; EE roles the item lists but the event lacks are ``"NAN"`` (all missing: ``{}``).
    """
    output: dict[str, Any] = {}
    for item in items:
        label = _item_label(item)
        mine = [f for f in facts if fact_label(task, f) == label]
        if task == "ner":
            output[label] = list(dict.fromkeys(f[0] for f in mine))
        elif task == "re":
            output[label] = [{"head": h, "tail": t} for h, _, t in mine]
        elif task == "spo":
            output.setdefault(item["predicate"], []).extend({"subject": h, "object": t} for h, _, t in mine)
        elif task == "eet":
            output[label] = list(dict.fromkeys(trig for _, trig in mine))
        else:
            events = []
            for _, trigger, args in mine:
                values: dict[str, Any] = {}
                for role in item["arguments"]:
                    found = [a for a, r in args if r == role]
                    values[role] = found[0] if len(found) == 1 else (found or NAN)
                if all(v == NAN for v in values.values()):
                    values = {}
                events.append({"trigger": trigger, "arguments": values} if task == "ee" else values)
            output[label] = events
    return output


def chunk_instance(task: str, labels: Sequence[str], facts: Sequence[tuple], schema: Schema,
                   options: IEPileOptions, rng: random.Random) -> tuple[list[Any], dict[str, Any]]:
    """(schema items, output dict) of one instruction over ``labels``."""
    items: list[Any] = []
    for label in labels:
        if task == "spo":
            head_type, pred, tail_type = split_spo_key(label, schema.roles)
            items.append({"subject_type": head_type, "predicate": pred, "object_type": tail_type})
        elif task in ("ee", "eea"):
            mine = [f for f in facts if fact_label(task, f) == label]
            gold_roles = list(dict.fromkeys(role for f in mine for _, role in f[2]))
            roles = _roles_for(label, gold_roles, schema, options, rng)
            trigger: Any = True if task == "ee" else [f[1] for f in mine]
            items.append({"event_type": label, "trigger": trigger, "arguments": roles})
        else:
            items.append(label)
    return items, render_output(task, items, facts)


def answer_from_label(task: str, row: Mapping[str, Any]) -> str:
    """The answer a perfect model gives to an IEPile test row: its ``label`` rendered for the chunk it shows."""
    items = orjson.loads(row["instruction"])["schema"]
    label = orjson.loads(row["label"]) if isinstance(row["label"], str) else row["label"]
    key = {"ner": "entity", "re": "relation", "spo": "relation"}.get(task, "event")
    entities, relations, events = raw_annotations({key: label})
    record = IERecord(id="", text="", language="", source="", entities=entities, relations=relations, events=events)
    return _dumps(render_output(task, items, record_facts(record, task)))


def text_id(text: str) -> str:
    """IEPile's row id: sha256 of the text (``stable_hash``), the same for every schema chunk of it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_iepile(records: Iterable[IERecord], *, schema: Schema, options: IEPileOptions,
                 templates: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield IEPile rows ``{id, task, source, instruction, output | label, meta}`` for ``records``."""
    task = options.task
    text = templates["iepile"][task][options.lang]
    for record in records:
        rng = random.Random(f"{options.seed}|{record.id}")
        facts = record_facts(record, task)
        for k, labels in enumerate(plan_chunks(record, task, schema, options.schema, rng)):
            items, output = chunk_instance(task, labels, facts, schema, options, rng)
            row: dict[str, Any] = {
                "id": text_id(record.text),
                "task": task.upper(),
                "source": record.source,
                "instruction": _dumps({"instruction": text, "schema": items, "input": record.text}),
            }
            if options.schema.split == "test":
                row["label"] = _dumps(gold_label(record, task))
            row["output"] = _dumps(output)
            row["meta"] = {"record_id": record.id, "chunk": k, "style": "iepile", "lang": options.lang,
                           "template": f"iepile.{task}.{options.lang}", "format": "json", "schema": list(labels),
                           "split": options.schema.split,
                           **({"cate": record.meta["cate"]} if record.meta.get("cate") else {})}
            yield row
