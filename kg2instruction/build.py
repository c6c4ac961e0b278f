"""``knowforge kg2instruction build``: from a Wikidata dump and zhwiki/enwiki dumps to InstructIE and IE records.

Steps, each resumable: (1) the KB (``OUT/kb.sqlite``; rebuilt only with ``force``), with wiki redirects;
(2) the wiki reader and (3) the ``kg2instruction`` stage, through the ordinary runner
(``OUT/01-read-wiki``, ``OUT/02-kg2instruction`` with ``rejected/`` and ``_stats/``); (4) optionally the
LLM model steps (topic, completion, NLI: ``OUT/03-models``, cached, see :mod:`kg2instruction.models`);
(5) the export, named as InstructIE's release: ``instructie/{train,valid,test}_{lang}.json`` lines
``{id, cate, text, relation}`` and IE records split by page (a hash of the page id, so a page's
paragraphs never straddle splits), plus ``summary.json`` with counts per topic and per drop reason.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from corpus.pipeline import StageCall, run_pipeline
from corpus.readers.wiki import WikiReader
from corpus.runner import StageReport
from corpus.shards import list_shards, read_docs, write_bytes_atomic
from kg2instruction.kb import LANGS, build_kb
from kg2instruction.schema import load_schema, schema_path
from kg2instruction.stage import KG2InstructionStep, page_lang

SPLITS = (("train", 0.8), ("valid", 0.1), ("test", 0.1))  # InstructIE's split names
# The pages a build labels, by the name the command line gives them (`--lang both`): one language of the
# KB's, or all of them; a language added to kg2instruction.kb.LANGS becomes a choice here.
LANG_CHOICES: dict[str, tuple[str, ...]] = {**{lang: (lang,) for lang in LANGS}, "both": LANGS}


def split_of(page_id: str) -> str:
    """train/dev/test for a page, stable across runs and machines (80/10/10 by a hash of the id)."""
    bucket = int.from_bytes(hashlib.sha256(page_id.encode()).digest()[:4], "big") / 2**32
    cumulative = 0.0
    for name, share in SPLITS:
        cumulative += share
        if bucket < cumulative:
            return name
    return SPLITS[-1][0]


def _redirects(wiki: Sequence[Path]) -> list[tuple[str, str, str]]:
    """(language, redirect title, target title) of every redirect page in the dumps."""
    reader = WikiReader(keep_redirects=True)
    pairs = []
    for path in reader.discover(list(wiki)):
        for doc in reader(path, Counter()):
            target = doc["meta"].get("redirect")
            if target:
                pairs.append((page_lang(doc), doc["meta"]["title"], target))
    return pairs


def export(stage_dirs: Sequence[Path], output: Path, langs: Sequence[str]) -> dict[str, Any]:
    """Write ``instructie/{split}_{lang}.json`` and ``ie_records/{split}_{lang}.jsonl``; return the counts.

    ``stage_dirs`` hold the labelled paragraphs (the stage's, then the model step's, when it ran).
    """
    from instruct.ie.instructie import convert_instructie
    from instruct.ie.record import to_dict

    rows: dict[tuple[str, str], list[bytes]] = {(n, lang): [] for n, _ in SPLITS for lang in langs}
    records: dict[tuple[str, str], list[bytes]] = {key: [] for key in rows}
    per_topic: Counter = Counter()
    for stage_dir in stage_dirs:
        for shard in list_shards(stage_dir):
            for doc in read_docs(shard):
                meta = doc["meta"]
                if meta.get("topic_pending"):
                    continue  # a whole page waiting for the topic model: the model step's output has it
                lang = meta.get("lang", "zh")
                line = {"id": doc["id"], "cate": meta["cate"], "text": doc["text"], "relation": meta["relation"]}
                key = (split_of(meta["page_id"]), lang)
                rows[key].append(orjson.dumps(line))
                record = convert_instructie(line, source="kg2instruction", language=lang)
                records[key].append(orjson.dumps(to_dict(record)))
                per_topic[f"{lang}:{meta['cate']}"] += 1
    for (split, lang), lines in rows.items():
        write_bytes_atomic(output / "instructie" / f"{split}_{lang}.json", b"".join(r + b"\n" for r in lines))
        write_bytes_atomic(output / "ie_records" / f"{split}_{lang}.jsonl",
                           b"".join(r + b"\n" for r in records[(split, lang)]))
    return {"records_per_topic": dict(sorted(per_topic.items())),
            "records_per_split": {f"{split}_{lang}": len(v) for (split, lang), v in rows.items()}}


def run_build(
    *,
    wikidata: Sequence[Path],
    wiki: Sequence[Path],
    output: Path,
    langs: Sequence[str] = ("zh",),
    schemas: dict[str, Path] | None = None,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    step_options: dict[str, Any] | None = None,
    kb_workers: int = 1,
    models: Any = None,
) -> tuple[list[StageReport], dict[str, Any]]:
    """Run every step into ``output`` and return the stage reports and the summary.

    ``schemas`` maps a language to its schema file (default ``configs/kg2instruction/schema_{lang}.yaml``).
    ``kb_workers`` processes parse the Wikidata dump while the main one decompresses it and inserts rows
    (benchmarks/wikidata.py). ``models`` (a :class:`kg2instruction.models.ModelSteps`) runs the LLM steps.
    """
    langs = tuple(dict.fromkeys(langs))
    files = {lang: Path((schemas or {}).get(lang) or schema_path(lang)) for lang in LANGS}
    output.mkdir(parents=True, exist_ok=True)
    kb_path = output / "kb.sqlite"
    kb_counts: dict[str, int] = {}
    if force or not kb_path.exists():
        value_props = frozenset().union(*(load_schema(files[lang]).value_properties() for lang in langs))
        kb_counts = dict(
            build_kb(list(wikidata), kb_path, value_props=value_props, redirects=_redirects(wiki),
                     workers=kb_workers, progress=progress)
        )
    options = dict(step_options or {})
    if models is not None and models.topic is not None:
        options["defer_other"] = True
    step = KG2InstructionStep(kb=str(kb_path), langs=langs, schema_zh=str(files["zh"]),
                              schema_en=str(files["en"]), **options)
    reports = run_pipeline(
        [StageCall(WikiReader(), list(wiki)), StageCall(step)],
        work_dir=output, workers=workers, force=force, progress=progress,
    )
    stage = reports[-1]
    summary: dict[str, Any] = {}
    if models is None:
        summary.update(export([stage.output], output, langs))
    else:
        model_report = models.run(step, stage.output, output / "03-models", progress=progress)
        summary.update(export([output / "03-models"], output, langs))
        summary["models"] = model_report.as_dict()
    summary["kb"] = kb_counts
    summary["dropped"] = {k: v for k, v in sorted(stage.reasons.items())}
    summary["counters"] = {k: v for k, v in sorted(stage.counters.items()) if not k.startswith("topic:")}
    write_bytes_atomic(output / "summary.json", orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return reports, summary
