"""``knowforge corpus report DIR``: the drop table of a stage output and an HTML page of score histograms.

Reads ``_stats/*.json`` (per-reason counts), ``rejected/`` (which filter, value and threshold) and the
``meta["scores"]`` that the filter stage keeps on every document. The page is one self-contained file:
inline SVG, no script, no CDN. Documents are sampled (the first ``max_docs``) so huge outputs stay cheap.
"""

from __future__ import annotations

import html
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.shards import list_shards, read_docs

BINS = 30
MAX_DOCS = 100_000


@dataclass
class Report:
    """What a stage directory says about its drops and scores."""

    docs_in: int = 0
    docs_out: int = 0
    rejected: int = 0
    # (filter, reason) -> count; filter is "" when the rejection record names none
    drops: Counter = field(default_factory=Counter)
    thresholds: dict[tuple[str, str], Any] = field(default_factory=dict)
    # "filter.score" -> (values of kept docs, values of rejected docs)
    scores: dict[str, tuple[list[float], list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: ([], []))
    )


def _docs(directory: Path, limit: int) -> Iterator[dict[str, Any]]:
    if not directory.is_dir():
        return
    n = 0
    for shard in list_shards(directory):
        for doc in read_docs(shard, require_id=False):
            yield doc
            n += 1
            if n >= limit:
                return


def _add_scores(report: Report, doc: dict[str, Any], rejected: bool) -> None:
    for flt, scores in ((doc.get("meta") or {}).get("scores") or {}).items():
        if not isinstance(scores, dict):
            continue
        for key, value in scores.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                report.scores[f"{flt}.{key}"][1 if rejected else 0].append(float(value))


def collect(directory: Path, max_docs: int = MAX_DOCS) -> Report:
    """Read a stage output directory into a :class:`Report`."""
    directory = Path(directory)
    stats_dir = directory / "_stats"
    if not stats_dir.is_dir() and not (directory / "rejected").is_dir():
        raise FileNotFoundError(f"{directory} has no _stats/ or rejected/: is it a stage output directory?")
    report = Report()
    stat_reasons: Counter = Counter()
    for path in sorted(stats_dir.glob("*.json")) if stats_dir.is_dir() else []:
        stats = json.loads(path.read_text(encoding="utf-8"))
        report.docs_in += stats.get("in", 0)
        report.docs_out += stats.get("out", 0)
        report.rejected += stats.get("rejected", 0)
        stat_reasons.update(stats.get("reasons") or {})
    filter_of: dict[str, str] = {}
    for doc in _docs(directory / "rejected", max_docs):
        record = (doc.get("meta") or {}).get("reject") or {}
        reason = str(record.get("reason"))
        filter_of.setdefault(reason, str(record.get("filter") or record.get("stage") or ""))
        report.thresholds.setdefault((filter_of[reason], reason), record.get("threshold"))
        _add_scores(report, doc, rejected=True)
    # _stats counts every drop; rejected/ (sampled) tells which filter each reason belongs to.
    for reason, n in stat_reasons.items():
        report.drops[(filter_of.get(reason, ""), reason)] += n
    for doc in _docs(directory, max_docs):
        _add_scores(report, doc, rejected=False)
    return report


def drop_table(report: Report) -> str:
    """The drop table as aligned text: filter, reason, count, share of input, threshold."""
    rows = [("filter", "reason", "docs", "% of in", "threshold")]
    for (flt, reason), n in sorted(report.drops.items(), key=lambda kv: (-kv[1], kv[0])):
        share = f"{100 * n / report.docs_in:.1f}" if report.docs_in else "-"
        threshold = json.dumps(report.thresholds.get((flt, reason)), ensure_ascii=False)
        rows.append((flt, reason, str(n), share, threshold))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"in {report.docs_in}  out {report.docs_out}  rejected {report.rejected}"]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False)))
                     + "  " + row[4])
    return "\n".join(lines)


def histogram_svg(kept: list[float], rejected: list[float], bins: int = BINS, width: int = 360,
                  height: int = 140) -> str:
    """A stacked histogram (kept blue, rejected red) as an inline SVG string."""
    values = kept + rejected
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    counts = [[0, 0] for _ in range(bins)]
    for j, series in enumerate((kept, rejected)):
        for v in series:
            counts[min(int((v - lo) / span * bins), bins - 1)][j] += 1
    top = max(a + b for a, b in counts) or 1
    bar_w = width / bins
    plot_h = height - 20
    rects = []
    for i, (k, r) in enumerate(counts):
        x = i * bar_w
        hk, hr = plot_h * k / top, plot_h * r / top
        rects.append(f'<rect x="{x:.1f}" y="{plot_h - hk:.1f}" width="{bar_w - 1:.1f}" height="{hk:.1f}" fill="#4c78a8"/>')
        rects.append(f'<rect x="{x:.1f}" y="{plot_h - hk - hr:.1f}" width="{bar_w - 1:.1f}" height="{hr:.1f}" '
                     f'fill="#e45756"/>')
    labels = (f'<text x="0" y="{height - 4}" font-size="10">{lo:.4g}</text>'
              f'<text x="{width}" y="{height - 4}" font-size="10" text-anchor="end">{hi:.4g}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(rects)}{labels}</svg>')


def write_html(report: Report, path: Path, title: str = "knowforge filter report") -> Path:
    """Write the drop table and one histogram per numeric score into a self-contained HTML file."""
    figures = []
    for key in sorted(report.scores):
        kept, rejected = report.scores[key]
        if len(set(kept + rejected)) < 2:
            continue  # a constant score has nothing to show
        figures.append(f"<figure><figcaption>{html.escape(key)} <small>(kept {len(kept)}, rejected "
                       f"{len(rejected)})</small></figcaption>{histogram_svg(kept, rejected)}</figure>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}pre{{background:#f6f6f6;padding:1em}}
figure{{display:inline-block;margin:0 1.5em 1.5em 0}}figcaption{{font-size:13px}}</style></head>
<body><h1>{html.escape(title)}</h1>
<h2>Drops</h2><pre>{html.escape(drop_table(report))}</pre>
<h2>Scores</h2><p>Blue: kept documents; red: rejected documents (stacked). Run the filter stage with
<code>--annotate</code> to see every score of every document without dropping any.</p>
{"".join(figures) or "<p>No scores found: run the filter stage first.</p>"}
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
