"""KnowLM/DeepKE-style IE instructions: a natural-language template with the schema and the answer format.

Follows KnowLM ``examples/ie_prompt.py`` and DeepKE ``kg2instruction`` (templates with ``{s_schema}`` /
``{s_format}``, several answer formats, NAN for absent schema types, "open" templates without a schema);
the wording is ours (``configs/ie/templates.yaml``). Template and format are drawn from an RNG seeded by
(seed, record id), so output is reproducible and independent of record order. SPO is built as RE.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from instruct.build.answers import FORMATS, describe, render
from instruct.build.common import fact_label, record_facts
from instruct.build.sampling import SchemaOptions, plan_chunks
from instruct.ie.record import IERecord
from instruct.ie.schema import Schema


@dataclass(frozen=True, kw_only=True)
class KnowLMOptions:
    """``open_rate``: share of training records given one schema-less ("open") instruction instead.

    ``formats``: the answer formats drawn from (subset of :data:`instruct.build.answers.FORMATS`).
    """

    task: str
    lang: str
    seed: int = 42
    open_rate: float = 0.1
    formats: tuple[str, ...] = FORMATS
    schema: SchemaOptions = field(default_factory=SchemaOptions)


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def schema_text(task: str, labels: Sequence[str], schema: Schema) -> str:
    """The ``{s_schema}`` slot: a JSON list of labels, or for EE/EEA a JSON object type → roles."""
    if task in ("ee", "eea"):
        return _dump({t: list(schema.type_roles.get(t, ())) for t in labels})
    return _dump(list(labels))


def build_knowlm(records: Iterable[IERecord], *, schema: Schema, options: KnowLMOptions,
                 templates: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield instruction rows ``{id, task, source, instruction, input, output, meta}`` for ``records``."""
    task = "re" if options.task == "spo" else options.task
    by_kind = templates["knowlm"][task][options.lang]
    for record in records:
        rng = random.Random(f"{options.seed}|{record.id}")
        facts = record_facts(record, task)
        if options.schema.split == "train" and task != "eea" and rng.random() < options.open_rate:
            if not facts:
                chunks: list[list[str] | None] = []
            else:
                chunks = [None]
        else:
            chunks = list(plan_chunks(record, task, schema, options.schema, rng))
        for k, labels in enumerate(chunks):
            kind = "open" if labels is None else "schema"
            tid = rng.randrange(len(by_kind[kind]))
            fmt = rng.choice(options.formats)
            mine = facts if labels is None else [f for f in facts if fact_label(task, f) in set(labels)]
            slots = {"s_format": describe(task, fmt, options.lang)}
            if labels is not None:
                slots["s_schema"] = schema_text(task, labels, schema)
            if task == "eea":
                slots["s_schema2"] = _dump([f"{t}({trig})" for t, trig, _ in mine] or list(labels or ()))
            yield {
                "id": f"{record.id}#{k}",
                "task": options.task,
                "source": record.source,
                "instruction": by_kind[kind][tid].format(**slots),
                "input": record.text,
                "output": render(task, fmt, options.lang, mine, labels),
                "meta": {"record_id": record.id, "style": "knowlm", "lang": options.lang,
                         "template": f"{task}.{options.lang}.{kind}.{tid}", "format": fmt,
                         "schema": labels, "split": options.schema.split, **_cate(record)},
            }


def _cate(record: IERecord) -> dict[str, Any]:
    return {"cate": record.meta["cate"]} if record.meta.get("cate") else {}
