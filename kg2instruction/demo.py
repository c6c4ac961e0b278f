"""The KG2Instruction part of ``knowforge demo``: the shipped Wikidata excerpt matched onto the zhwiki sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from corpus.resources import shipped
from instruct.build.run import BuildConfig, build_file
from kg2instruction.build import run_build

WIKIDATA_SAMPLE = shipped("data_samples/wikidata/wikidata-sample.json.bz2")
ZHWIKI_SAMPLE = shipped("data_samples/wiki/zhwiki-sample.xml.bz2")


def run_kg_demo(output_dir: Path, echo: Callable[[str], None], *, workers: int = 1, progress: bool = False) -> dict[str, Any]:
    """Build KG2Instruction records from the samples into ``output_dir`` and echo counts per topic."""
    _, summary = run_build(
        wikidata=[WIKIDATA_SAMPLE], wiki=[ZHWIKI_SAMPLE], output=output_dir, workers=workers, progress=progress
    )
    echo("\nKG2Instruction (data_samples/wikidata + data_samples/wiki/zhwiki-sample)")
    topics = ", ".join(f"{topic} {count}" for topic, count in summary["records_per_topic"].items())
    echo(f"  records per topic: {topics}")
    echo(f"  triples: {summary['counters'].get('triples', 0)}; dropped: "
         + ", ".join(f"{k} {v}" for k, v in summary["dropped"].items()))
    echo(f"  InstructIE records: {output_dir / 'instructie'}; IE records: {output_dir / 'ie_records'}")
    # The IE records feed the same builders as every IE dataset: here IEPile-style zh RE instructions.
    instructions = output_dir / "instructions_re_zh.json"
    result = build_file(output_dir / "ie_records" / "train_zh.jsonl", instructions,
                        BuildConfig(task="re", lang="zh", style="iepile", seed=42))
    echo(f"  {result['instructions']} zh RE instructions (IEPile style) -> {instructions}")
    return summary
