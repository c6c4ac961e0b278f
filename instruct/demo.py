"""The IE part of ``knowforge demo``: the spine (:mod:`instruct.spine`) over every sample under
``data_samples/ie/``: convert, build, and evaluate each built file against itself, then zh and en files.

Offline and fast: the samples are a few records per dataset. Chinese: DuIE (RE, KnowLM style), DuEE
(EE, IEPile style), People's Daily (NER, KnowLM); English: CoNLL-2003 (NER, IEPile), ACE05 (RE, KnowLM),
CASIE (EE, IEPile). The gold-vs-gold score checks that every answer parses back to its facts (F1 1.0).
LLM-based steps (translation, generation) are not part of this demo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.resources import shipped
from corpus.shards import write_bytes_atomic
from instruct.spine import BuildOptions, ConvertOptions, EvaluateOptions, build, convert, evaluate

SAMPLES = shipped("data_samples/ie")

# (dataset format, sample path, task, language, style)
_JOBS = (
    ("duie", "duie/train.jsonl", "re", "zh", "knowlm"),
    ("duee", "duee/train.jsonl", "ee", "zh", "iepile"),
    ("peoples_daily", "peoples_daily/sample.txt", "ner", "zh", "knowlm"),
    ("conll03", "conll03/sample.iob1.txt", "ner", "en", "iepile"),
    ("ace05", "ace05/dygiepp.jsonl", "re", "en", "knowlm"),
    ("casie", "casie", "ee", "en", "iepile"),
)


def run_ie_demo(output_dir: Path, echo: Callable[[str], None], *, samples: Path = SAMPLES) -> dict[str, Any]:
    """Build ``instructions_zh.jsonl`` and ``instructions_en.jsonl`` in ``output_dir``; return the counts."""
    output_dir = Path(output_dir)
    records_dir = output_dir / "ie_records"
    built: dict[str, list[Path]] = {"zh": [], "en": []}
    report: dict[str, Any] = {"datasets": {}}
    for fmt, rel, task, lang, style in _JOBS:
        records = records_dir / f"{fmt}.jsonl"
        conv = convert(ConvertOptions(format=fmt, input=samples / rel, output=records))
        out = output_dir / "ie_parts" / f"{fmt}.{task}.{style}.jsonl"
        stats = build(BuildOptions(input=records, output=out, task=task, lang=lang, style=style,
                                   output_format="alpaca")).stats
        # Gold against itself: every answer must parse back to the facts it was rendered from.
        scores = evaluate(EvaluateOptions(pred=out, gold=out, task=task))["scores"]
        f1 = min((s["f1"] for s in scores.values()), default=0.0)
        built[lang].append(out)
        report["datasets"][fmt] = {"records": conv["records"], "rejected": conv["rejected"],
                                   "instructions": stats["instructions"], "task": task, "style": style,
                                   "gold_f1": f1}
        echo(f"ie {fmt:<14} {conv['records']:>3} records ({conv['rejected']} rejected) -> "
             f"{stats['instructions']:>3} {style} {task} instructions [{lang}], gold-vs-gold F1 {f1:.2f}")
    for lang, parts in built.items():
        target = output_dir / f"instructions_{lang}.jsonl"
        lines = [line for part in parts for line in part.read_bytes().splitlines(keepends=True)]
        write_bytes_atomic(target, b"".join(lines))
        report[lang] = {"path": str(target), "instructions": len(lines)}
        echo(f"ie {lang}: {len(lines)} instructions -> {target}")
    return report
