"""Build one instruction file from an IE-records file: read, relabel, split long texts, build, write, count.

Bad input records (broken JSON, missing fields, offsets that miss their mention) are written beside the
output as ``NAME.rejected.jsonl`` with the reason; counts per source, type, template and format go to
``NAME.stats.json``. The same inputs and seed give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic
from instruct.build.answers import FORMATS, NAN, norm
from instruct.build.common import load_label_map, load_templates, record_facts, relabel, relabel_schema
from instruct.build.iepile import IEPileOptions, build_iepile
from instruct.build.knowlm import KnowLMOptions, build_knowlm
from instruct.build.sampling import SchemaOptions
from instruct.formats import read_rows, write_rows
from instruct.ie.convert import read_records, rejected_path, stats_path
from instruct.ie.record import IERecord, RecordError, validate
from instruct.ie.schema import TASKS, Schema, read_schema, schema_from_records
from instruct.ie.segment import split_record
from instruct.io import Rejected, write_jsonl

STYLES = ("knowlm", "iepile")


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    """Everything one ``knowforge instruct build`` run needs.

    ``max_chars``: records longer than this are split at sentence boundaries (0 = never); 512 follows
    KG2Instruction's paragraph limit. ``hard_negatives``: path of a ``{label: [similar labels]}`` JSON.
    ``negatives``: ``sampled`` (IEPile's corpus rule) or ``binomial`` (its script's), see
    :class:`instruct.build.sampling.SchemaOptions`; both styles use it.
    """

    task: str
    lang: str
    style: str = "knowlm"
    seed: int = 42
    split_num: int = 4
    negatives: str = "sampled"
    neg_schema: float = 1.0
    random_sort: bool = False
    split: str = "train"
    open_rate: float = 0.1
    formats: tuple[str, ...] = FORMATS
    output_format: str = "alpaca"
    max_chars: int = 512
    schema_path: Path | None = None
    hard_negatives: Path | None = None
    label_map: Path | None = None
    templates: Path | None = None
    source: str | None = None


def _check(config: BuildConfig) -> None:
    if config.task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {config.task!r}")
    if config.style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {config.style!r}")
    if config.split not in ("train", "test"):
        raise ValueError(f"split must be train or test, got {config.split!r}")
    if not 0.0 <= config.neg_schema <= 1.0:
        raise ValueError(f"neg_schema is a probability in [0, 1], got {config.neg_schema}")


def load_hard_negatives(path: Path | None) -> dict[str, list[str]] | None:
    """``{label: [similar labels]}`` from JSON (IEPile's per-dataset slice of ``hard_dict.json``)."""
    if path is None:
        return None
    data = orjson.loads(Path(path).read_bytes())
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in data.values()):
        raise ValueError(f"{path}: hard negatives are a JSON object label -> [labels]")
    return data


def all_empty(row: Mapping[str, Any]) -> bool:
    """True if a built row's gold answer names nothing: every schema item absent (IEPile ``[]``, KnowLM NAN).

    Works on our rows (``meta.style``) and on IEPile's released rows (a JSON ``output`` dict).
    """
    meta = row.get("meta") or {}
    if meta.get("style", "iepile") == "knowlm":
        return norm(row["output"]) == NAN
    output = orjson.loads(row["output"])
    return all(not v for v in output.values())


def count_empty(path: Path) -> tuple[int, int]:
    """(all-empty answers, rows) of an instruction file, ours or IEPile's released rows."""
    rows = read_rows(path)
    return sum(map(all_empty, rows)), len(rows)


def build_file(input_path: Path, output: Path, config: BuildConfig) -> dict[str, Any]:
    """Build instructions from ``input_path`` (IE-records JSONL) into ``output``; return the counts."""
    _check(config)
    templates = load_templates(config.templates)
    labels = load_label_map(config.label_map)
    rejected: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    records: list[IERecord] = []
    for item in read_records(input_path):
        if not isinstance(item, Rejected):
            try:
                item = validate(item)
            except RecordError as err:
                item = Rejected(reason=err.reason, detail=err.detail, where=item.id)
        if isinstance(item, Rejected):
            reasons[item.reason] += 1
            rejected.append(item.to_dict())
            continue
        item = relabel(item, labels)
        if config.source:
            item = item.replace(source=config.source)
        records.extend(split_record(item, config.max_chars) if config.max_chars > 0 else [item])
    schema_task = "re" if config.style == "knowlm" and config.task == "spo" else config.task
    schema: Schema = (relabel_schema(read_schema(config.schema_path), labels) if config.schema_path
                      else schema_from_records(records, schema_task))
    sopts = SchemaOptions(split_num=config.split_num, negatives=config.negatives, neg_schema=config.neg_schema,
                          random_sort=config.random_sort, hard_negatives=load_hard_negatives(config.hard_negatives),
                          split=config.split)
    if config.style == "knowlm":
        rows: Iterator[dict[str, Any]] = build_knowlm(
            records, schema=schema, templates=templates,
            options=KnowLMOptions(task=config.task, lang=config.lang, seed=config.seed, open_rate=config.open_rate,
                                  formats=config.formats, schema=sopts))
    else:
        rows = build_iepile(records, schema=schema, templates=templates,
                            options=IEPileOptions(task=config.task, lang=config.lang, seed=config.seed, schema=sopts))

    counts: dict[str, Counter[str]] = {k: Counter() for k in ("source", "type", "template", "format")}
    empty = 0

    def counted() -> Iterator[dict[str, Any]]:
        nonlocal empty
        for row in rows:
            empty += all_empty(row)
            counts["source"][row["source"]] += 1
            counts["template"][row["meta"]["template"]] += 1
            counts["format"][row["meta"]["format"]] += 1
            yield row

    n = write_rows(output, counted(), config.output_format)
    for rec in records:
        for fact in record_facts(rec, schema_task):
            counts["type"][fact[1] if schema_task in ("ner", "re", "spo") else fact[0]] += 1
    write_jsonl(rejected_path(output), rejected)
    stats = {
        "style": config.style, "task": config.task, "lang": config.lang, "split": config.split,
        "instructions": n, "empty_answers": empty, "empty_share": round(empty / n, 4) if n else 0.0,
        "records": len(records), "rejected": sum(reasons.values()), "reasons": dict(reasons),
        "per_source": dict(sorted(counts["source"].items())), "per_type": dict(sorted(counts["type"].items())),
        "per_template": dict(sorted(counts["template"].items())), "per_format": dict(sorted(counts["format"].items())),
    }
    write_bytes_atomic(stats_path(output), orjson.dumps(stats, option=orjson.OPT_INDENT_2))
    return stats
