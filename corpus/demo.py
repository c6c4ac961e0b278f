"""``knowforge demo``: run ``configs/demo.yaml`` on ``data_samples/`` and print what every stage did.

The demo needs no network and no API key. Paths in the demo config name shipped files (found through
the package, corpus/resources.py), so the demo works from any directory, in a checkout or installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from corpus.pipeline import load_config, run_pipeline, summary_table
from corpus.resources import shipped
from corpus.runner import StageReport

DEMO_CONFIG = shipped("configs/demo.yaml")


def run_demo(
    output: Path,
    *,
    workers: int,
    force: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> list[StageReport]:
    """Run the demo corpus pipeline into ``output/corpus`` and echo the per-stage table."""
    output = output.resolve()
    # The config's relative paths name shipped files; configs/ and data_samples/ sit side by side (in the
    # repository, and as knowforge_data/ when installed).
    # Only for the pipeline, and restored after: a process left in another directory made later work (Ray
    # workers started afterwards, which import from their cwd first) use another checkout's code.
    with contextlib.chdir(shipped("data_samples").parent):
        config = load_config(DEMO_CONFIG)
        reports = run_pipeline(config.calls, work_dir=output / "corpus", workers=workers, force=force,
                               progress=progress)
    echo("\nPretraining corpus (configs/demo.yaml)")
    echo(summary_table(reports))
    for report in reports:
        if report.stage == "clean":
            from corpus.clean import repair_table
            from corpus.report import collect, drop_table

            echo("\nWhat clean removed before any filter judged (meta.clean per document, counters in _stats/)")
            echo(repair_table(report.counters))
            echo("\nWhy the clean stage dropped documents")
            echo(drop_table(collect(report.output)))
        if report.stage == "filter":
            from corpus.report import collect, drop_table, write_html

            filter_report = collect(report.output)
            page = write_html(filter_report, output / "filter-report.html")
            echo(f"\nWhy the filter stage dropped documents (histograms of the scores: {page})")
            echo(drop_table(filter_report))
        merged = report.output / "merged"
        if report.stage == "pack" and merged.with_suffix(".idx").exists():
            from corpus.pack.inspect import inspect_summary

            echo(f"\nPacked samples: {merged}.bin/.idx (Megatron indexed dataset)")
            echo(inspect_summary(merged, tokenizer=None, decode=0))
    return reports
