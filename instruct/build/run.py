"""Build one instruction file from an IE-records file: read, relabel, split long texts, build, write, count.

Bad input records (broken JSON, missing fields, offsets that miss their mention) are written beside the
output as ``NAME.rejected.jsonl`` with the reason; counts per source, type, template and format go to
``NAME.stats.json``; what made the file (style, options, its sha256) to ``NAME.jsonl.meta.json``
(:mod:`instruct.build.manifest`). The same inputs and seed give the same bytes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import orjson

from corpus.shards import write_bytes_atomic
from instruct.build.answers import FORMATS, NAN, norm
from instruct.build.common import load_label_map, load_templates, record_facts, relabel, relabel_schema
from instruct.build.iepile import IEPileOptions, build_iepile
from instruct.build.knowlm import KnowLMOptions, build_knowlm
from instruct.build.manifest import write_manifest
from instruct.build.sampling import NEGATIVES, SchemaOptions
from instruct.formats import OUTPUT_FORMATS, read_rows, write_rows
from instruct.ie.convert import read_records, rejected_path, stats_path
from instruct.ie.record import IERecord, RecordError, validate
from instruct.ie.schema import TASKS, Schema, read_schema, schema_from_records
from instruct.ie.segment import split_record
from instruct.io import Rejected, write_jsonl

STYLES = ("knowlm", "iepile")
LANGS = ("zh", "en")  # the languages configs/ie/templates.yaml has templates for
SPLITS = ("train", "test")

# Field metadata is the option's contract, read by the CLI: ``help``; ``choices`` (from the tables above
# and the library's own: TASKS, NEGATIVES, FORMATS, OUTPUT_FORMATS); ``flags`` when the option is not
# spelled ``--field-name``; ``min``/``max`` for a bounded number; ``path`` for click.Path's settings.
_IN_FILE = {"exists": True}


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    """Everything one ``knowforge instruct build`` run needs.

    ``max_chars``: records longer than this are split at sentence boundaries (0 = never); 512 follows
    KG2Instruction's paragraph limit. ``hard_negatives``: path of a ``{label: [similar labels]}`` JSON.
    ``negatives``: ``sampled`` (IEPile's corpus rule) or ``binomial`` (its script's), see
    :class:`instruct.build.sampling.SchemaOptions`; both styles use it.
    """

    task: str = field(metadata={"help": "IE task the instructions ask for.", "choices": TASKS})
    lang: str = field(metadata={"help": "Language of the templates.", "choices": LANGS})
    style: str = field(default="knowlm", metadata={
        "help": "knowlm: natural-language templates (KnowLM/DeepKE); iepile: JSON instruction with a schema.",
        "choices": STYLES})
    schema_path: Path | None = field(default=None, metadata={
        "help": "IEPile 3-line schema.json (default: the labels seen in the input).", "flags": ("--schema",),
        "path": _IN_FILE})
    split_num: int = field(default=4, metadata={"help": "Schema items per instruction; -1 = all."})
    negatives: str = field(default="sampled", metadata={
        "help": "sampled: positives + hard negatives + split-num random others per text (IEPile's corpus); "
                "binomial: each other label with probability --neg-schema (IEPile's script default).",
        "choices": NEGATIVES})
    neg_schema: float = field(default=1.0, metadata={
        "help": "binomial: probability of keeping each negative schema slot; sampled: sets how many labels "
                "a text without positives is shown.", "min": 0.0, "max": 1.0})
    random_sort: bool = field(default=False, metadata={"help": "Shuffle schema items instead of sorting them."})
    hard_negatives: Path | None = field(default=None, metadata={
        "help": "JSON {label: [similar labels]}: IEPile's hard-negative (cluster) mode.", "path": _IN_FILE})
    split: str = field(default="train", metadata={
        "help": "test: full schema in file order, rows carry the text's gold annotations as label.",
        "choices": SPLITS})
    seed: int = field(default=42, metadata={"help": "Seed of template, format and schema sampling."})
    open_rate: float = field(default=0.1, metadata={
        "help": "knowlm: share of training records given a schema-less template.", "min": 0.0, "max": 1.0})
    max_chars: int = field(default=512, metadata={
        "help": "Split longer texts at sentence boundaries; 0 = never."})
    label_map: Path | None = field(default=None, metadata={
        "help": "YAML raw label -> shown label (e.g. configs/ie/labels_en.yaml).", "path": _IN_FILE})
    templates: Path | None = field(default=None, metadata={
        "help": "Template file (default configs/ie/templates.yaml).", "path": _IN_FILE})
    output_format: str = field(default="alpaca", metadata={
        "help": "Row layout: alpaca, IEPile rows or one-turn ShareGPT.", "choices": OUTPUT_FORMATS})
    formats: tuple[str, ...] = field(default=FORMATS, metadata={
        "help": "knowlm: answer formats drawn from per record (repeatable; default: all).", "choices": FORMATS,
        "flags": ("--answer-format",)})
    source: str | None = field(default=None, metadata={
        "help": "Value of every row's source (default: each record's own)."})


def _check(config: BuildConfig) -> None:
    if config.task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {config.task!r}")
    if config.style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {config.style!r}")
    if config.split not in SPLITS:
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
    # After the rows, so a manifest always describes bytes that exist (it carries their sha256).
    write_manifest(output, rows=n, options={f.name: getattr(config, f.name) for f in fields(BuildConfig)})
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
