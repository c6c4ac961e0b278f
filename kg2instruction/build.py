"""``knowforge kg2instruction build``: from a Wikidata dump and a zhwiki dump to InstructIE and IE records.

Steps, each resumable: (1) the KB (``OUT/kb.sqlite``; rebuilt only with ``force``), with zhwiki redirects;
(2) the zhwiki reader and (3) the ``kg2instruction`` stage, through the ordinary runner
(``OUT/01-read-zhwiki``, ``OUT/02-kg2instruction`` with ``rejected/`` and ``_stats/``); (4) the export:
InstructIE JSON lines and IE records split train/dev/test by page (a hash of the page id, so a page's
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
from kg2instruction.kb import build_kb
from kg2instruction.schema import DEFAULT_SCHEMA, load_schema
from kg2instruction.stage import KG2InstructionStep

SPLITS = (("train", 0.8), ("dev", 0.1), ("test", 0.1))


def split_of(page_id: str) -> str:
    """train/dev/test for a page, stable across runs and machines (80/10/10 by a hash of the id)."""
    bucket = int.from_bytes(hashlib.sha256(page_id.encode()).digest()[:4], "big") / 2**32
    cumulative = 0.0
    for name, share in SPLITS:
        cumulative += share
        if bucket < cumulative:
            return name
    return SPLITS[-1][0]


def _redirects(wiki: Sequence[Path]) -> list[tuple[str, str]]:
    reader = WikiReader(keep_redirects=True)
    pairs = []
    for path in reader.discover(list(wiki)):
        for doc in reader(path, Counter()):
            target = doc["meta"].get("redirect")
            if target:
                pairs.append((doc["meta"]["title"], target))
    return pairs


def export(stage_dir: Path, output: Path) -> dict[str, Any]:
    """Write ``instructie/{split}.json`` and ``ie_records/{split}.jsonl``; return the counts."""
    from instruct.ie.instructie import convert_instructie
    from instruct.ie.record import to_dict

    rows: dict[str, list[bytes]] = {name: [] for name, _ in SPLITS}
    records: dict[str, list[bytes]] = {name: [] for name, _ in SPLITS}
    per_topic: Counter = Counter()
    for shard in list_shards(stage_dir):
        for doc in read_docs(shard):
            meta = doc["meta"]
            line = {"id": doc["id"], "cate": meta["cate"], "text": doc["text"], "relation": meta["relation"]}
            split = split_of(meta["page_id"])
            rows[split].append(orjson.dumps(line))
            records[split].append(orjson.dumps(to_dict(convert_instructie(line, source="kg2instruction"))))
            per_topic[meta["cate"]] += 1
    for split in rows:
        write_bytes_atomic(output / "instructie" / f"{split}.json", b"".join(r + b"\n" for r in rows[split]))
        write_bytes_atomic(output / "ie_records" / f"{split}.jsonl", b"".join(r + b"\n" for r in records[split]))
    return {"records_per_topic": dict(sorted(per_topic.items())), "records_per_split": {k: len(v) for k, v in rows.items()}}


def run_build(
    *,
    wikidata: Sequence[Path],
    wiki: Sequence[Path],
    output: Path,
    schema: Path = DEFAULT_SCHEMA,
    workers: int = 1,
    force: bool = False,
    progress: bool = True,
    step_options: dict[str, Any] | None = None,
    kb_workers: int = 1,
) -> tuple[list[StageReport], dict[str, Any]]:
    """Run every step into ``output`` and return the stage reports and the summary.

    ``kb_workers`` processes parse the Wikidata dump while the main one decompresses it: reading is
    ~1.25x faster with 2 free cores, but the build is bound by SQLite inserts (benchmarks/RESULTS.md).
    """
    output.mkdir(parents=True, exist_ok=True)
    kb_path = output / "kb.sqlite"
    kb_counts: dict[str, int] = {}
    if force or not kb_path.exists():
        kb_counts = dict(
            build_kb(
                list(wikidata), kb_path, value_props=load_schema(schema).value_properties(),
                redirects=_redirects(wiki), workers=kb_workers, progress=progress,
            )
        )
    step = KG2InstructionStep(kb=str(kb_path), schema=str(schema), **(step_options or {}))
    reports = run_pipeline(
        [StageCall(WikiReader(source_name="zhwiki"), list(wiki)), StageCall(step)],
        work_dir=output, workers=workers, force=force, progress=progress,
    )
    summary = export(reports[-1].output, output)
    summary["kb"] = kb_counts
    summary["dropped"] = {k: v for k, v in sorted(reports[-1].reasons.items())}
    summary["counters"] = {k: v for k, v in sorted(reports[-1].counters.items()) if not k.startswith("topic:")}
    write_bytes_atomic(output / "summary.json", orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return reports, summary
