"""IEPile-style IE instructions: ``instruction`` = JSON {instruction, schema, input}, ``output`` = JSON keyed by schema item.

Follows IEPile's ``ie2instruction/convert_func.py`` (arXiv 2402.14710): schema chunks from
:mod:`instruct.build.sampling`, absent types → ``[]``, EE missing roles → ``"NAN"``, RE values as
``{"subject", "object"}`` (the released data's keys, not the converter code's ``head``/``tail``), and
``--split test`` rows carrying ``id`` and ``label`` (the gold record) instead of ``output``.
Values are ordered by text position (IEPile intends this; its NER/RE code forgets). KG is left out.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from instruct.build.answers import NAN
from instruct.build.common import fact_label, record_facts
from instruct.build.sampling import SchemaOptions, binomial, plan_chunks
from instruct.ie.record import IERecord
from instruct.ie.schema import Schema, split_spo_key


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


def chunk_instance(task: str, labels: Sequence[str], facts: Sequence[tuple], schema: Schema,
                   options: IEPileOptions, rng: random.Random) -> tuple[list[Any], dict[str, Any]]:
    """(schema items, output dict) of one instruction over ``labels``."""
    items: list[Any] = []
    output: dict[str, Any] = {}
    for label in labels:
        mine = [f for f in facts if fact_label(task, f) == label]
        if task == "ner":
            items.append(label)
            output[label] = list(dict.fromkeys(f[0] for f in mine))
        elif task == "re":
            items.append(label)
            output[label] = [{"subject": h, "object": t} for h, _, t in mine]
        elif task == "spo":
            head_type, pred, tail_type = split_spo_key(label, schema.roles)
            items.append({"subject_type": head_type, "predicate": pred, "object_type": tail_type})
            output.setdefault(pred, []).extend({"subject": h, "object": t} for h, _, t in mine)
        elif task == "eet":
            items.append(label)
            output[label] = list(dict.fromkeys(trig for _, trig in mine))
        else:
            gold_roles = list(dict.fromkeys(role for f in mine for _, role in f[2]))
            roles = _roles_for(label, gold_roles, schema, options, rng)
            if task == "ee":
                items.append({"event_type": label, "trigger": True, "arguments": roles})
            else:
                items.append({"event_type": label, "trigger": [f[1] for f in mine], "arguments": roles})
            events = []
            for _, trigger, args in mine:
                values: dict[str, Any] = {}
                for role in roles:
                    found = [a for a, r in args if r == role]
                    values[role] = found[0] if len(found) == 1 else (found or NAN)
                if all(v == NAN for v in values.values()):
                    values = {}
                events.append({"trigger": trigger, "arguments": values} if task == "ee" else values)
            output[label] = events
    return items, output


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
                "id": f"{record.id}#{k}",
                "task": task.upper(),
                "source": record.source,
                "instruction": _dumps({"instruction": text, "schema": items, "input": record.text}),
            }
            if options.schema.split == "test":
                row["label"] = _dumps(gold_label(record, task))
            row["output"] = _dumps(output)
            row["meta"] = {"record_id": record.id, "style": "iepile", "lang": options.lang,
                           "template": f"iepile.{task}.{options.lang}", "format": "json", "schema": list(labels),
                           "split": options.schema.split,
                           **({"cate": record.meta["cate"]} if record.meta.get("cate") else {})}
            yield row
