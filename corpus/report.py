"""``knowforge corpus report DIR``: the drop table of a stage output and an HTML page of score histograms;
``knowforge corpus show ID WORK``: one document's fate through every stage of a work directory.

Reads ``_stats/*.json`` (per-reason counts), ``rejected/`` (which filter, value and threshold, and a few
example documents per reason) and the ``meta["scores"]`` that the filter stage keeps on every document;
each histogram marks the threshold its rejections record. The page is one self-contained file: inline
SVG, no script, no CDN. Documents are sampled (the first ``max_docs``) so huge outputs stay cheap;
``show`` scans every shard of every stage, so it is for looking into one document, not for bulk use.
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
EXAMPLES = 3  # example documents listed per reason


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
    # "filter.score" -> the threshold rejections on that score record (drawn on its histogram)
    score_thresholds: dict[str, float] = field(default_factory=dict)
    # (filter, reason) -> up to EXAMPLES (id, value, start of the text)
    examples: dict[tuple[str, str], list[tuple[str, Any, str]]] = field(default_factory=lambda: defaultdict(list))


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


def _score_key(doc: dict[str, Any], flt: str, value: Any) -> str | None:
    """Which of the filter's scores decided: the one equal to the rejection's recorded value."""
    scores = ((doc.get("meta") or {}).get("scores") or {}).get(flt)
    if not isinstance(scores, dict) or not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return next((f"{flt}.{key}" for key, v in scores.items() if v == value), None)


def _snippet(text: Any, width: int = 70) -> str:
    flat = " ".join(str(text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def is_stage_dir(directory: Path) -> bool:
    """A stage output directory: it has ``_stats/`` or ``rejected/`` (or at least a manifest)."""
    return any((directory / name).exists() for name in ("_stats", "rejected", "_manifest.json"))


def stage_dirs(work_dir: Path) -> list[Path]:
    """The stage directories of a work directory (``01-read-wiki``, ``02-clean``, ...), in order."""
    work_dir = Path(work_dir)
    return sorted(p for p in work_dir.iterdir() if p.is_dir() and is_stage_dir(p)) if work_dir.is_dir() else []


def collect(directory: Path, max_docs: int = MAX_DOCS) -> Report:
    """Read a stage output directory into a :class:`Report`."""
    directory = Path(directory)
    stats_dir = directory / "_stats"
    if not stats_dir.is_dir() and not (directory / "rejected").is_dir():
        hint = " (a work directory: report one of its stages, or all of them with `corpus report WORK`)" \
            if stage_dirs(directory) else ""
        raise FileNotFoundError(f"{directory} has no _stats/ or rejected/: is it a stage output directory?{hint}")
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
        flt = filter_of.setdefault(reason, str(record.get("filter") or record.get("stage") or ""))
        report.thresholds.setdefault((flt, reason), record.get("threshold"))
        threshold = record.get("threshold")
        key = _score_key(doc, str(record.get("filter") or ""), record.get("value"))
        if key and isinstance(threshold, int | float) and not isinstance(threshold, bool):
            report.score_thresholds.setdefault(key, float(threshold))
        if len(report.examples[(flt, reason)]) < EXAMPLES:
            report.examples[(flt, reason)].append((str(doc.get("id")), record.get("value"), _snippet(doc.get("text"))))
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
    lines = [f"in {report.docs_in}  kept {report.docs_out}  dropped {report.rejected}"]
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=False)))
                     + "  " + row[4])
    examples = [(key, docs) for key, docs in sorted(report.examples.items()) if docs]
    if examples:
        lines.append("examples")
        for (_, reason), docs in examples:
            for doc_id, value, text in docs:
                shown = "" if value is None else f" (value {json.dumps(value, ensure_ascii=False)})"
                lines.append(f"  {reason}: {doc_id}{shown}: {text}")
    return "\n".join(lines)


def histogram_svg(kept: list[float], rejected: list[float], bins: int = BINS, width: int = 360,
                  height: int = 140, threshold: float | None = None) -> str:
    """A stacked histogram (kept blue, rejected red) as an inline SVG string; ``threshold`` is drawn as
    a dashed line (the axis widens to include it)."""
    values = kept + rejected + ([threshold] if threshold is not None else [])
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
    if threshold is not None:
        x = (threshold - lo) / span * width
        labels += (f'<line class="threshold" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{plot_h}" stroke="#222" '
                   f'stroke-dasharray="4 3"/><text x="{min(max(x, 30), width - 30):.1f}" y="{height - 4}" '
                   f'font-size="10" text-anchor="middle">threshold {threshold:.4g}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">{"".join(rects)}{labels}</svg>')


def write_html(report: Report, path: Path, title: str = "knowforge filter report") -> Path:
    """Write the drop table and one histogram per numeric score into a self-contained HTML file."""
    figures = []
    for key in sorted(report.scores):
        kept, rejected = report.scores[key]
        if len(set(kept + rejected)) < 2:
            continue  # a constant score has nothing to show
        threshold = report.score_thresholds.get(key)
        figures.append(f"<figure><figcaption>{html.escape(key)} <small>(kept {len(kept)}, rejected "
                       f"{len(rejected)})</small></figcaption>{histogram_svg(kept, rejected, threshold=threshold)}"
                       "</figure>")
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


# --- one document through every stage -------------------------------------------------------------------


def _find(directory: Path, doc_id: str) -> dict[str, Any] | None:
    for shard in list_shards(directory) if directory.is_dir() else []:
        for doc in read_docs(shard, require_id=False):
            if doc.get("id") == doc_id:
                return doc
    return None


def _fused_next(stage: Path) -> str | None:
    """The stage a fused run passed this stage's kept documents to (its manifest says), or None."""
    try:
        fused = json.loads((stage / "_manifest.json").read_text(encoding="utf-8")).get("fused") or {}
    except (OSError, ValueError, AttributeError):
        return None
    kept = str(fused.get("kept_documents", ""))
    return kept.split(" to ", 1)[1].split(",", 1)[0] if kept.startswith("passed on") and " to " in kept else None


def document_fate(work_dir: Path, doc_id: str) -> list[str]:
    """One line per stage of ``work_dir``: whether document ``doc_id`` was kept, changed or dropped (why).

    A stage that writes no documents (``pack``) says the document went into it; an intermediate stage of a
    fused run keeps no copy, so it says the document was passed on, and the next copy's change is told
    since the last stage that has one; after a drop the later stages never saw the document.
    """
    stages = stage_dirs(Path(work_dir))
    if not stages:
        raise FileNotFoundError(f"{work_dir} holds no stage directories (NN-STAGE with _stats/): is it a work directory?")
    lines: list[str] = []
    previous: dict[str, Any] | None = None
    copied_in = ""  # the last stage that holds a copy of the document, when a fused stage came between
    dropped = False
    for stage in stages:
        if dropped:
            lines.append(f"{stage.name}: not reached (dropped earlier)")
            continue
        kept = _find(stage, doc_id)
        if kept is not None:
            old, new = (previous or {}).get("text"), kept.get("text")
            since = f" since {copied_in}" if copied_in else ""
            if previous is None or old == new:
                what = ("kept" + since) if previous is not None else "read"
            else:
                what = f"changed{since} ({len(old or ''):,} -> {len(new or ''):,} characters)"
            lines.append(f"{stage.name}: {what}: {_snippet(new)}")
            previous, copied_in = kept, ""
            continue
        gone = _find(stage / "rejected", doc_id)
        if gone is not None:
            record = (gone.get("meta") or {}).get("reject") or {}
            details = ", ".join(f"{k} {json.dumps(record[k], ensure_ascii=False)}"
                                for k in ("filter", "value", "threshold", "kept_id") if record.get(k) is not None)
            lines.append(f"{stage.name}: dropped: {record.get('reason')}" + (f" ({details})" if details else ""))
            dropped = True
        elif previous is not None and (passed_to := _fused_next(stage)):
            lines.append(f"{stage.name}: kept, passed on to {passed_to} in memory (a fused run keeps no copy here; "
                         "--no-fuse writes one)")
            copied_in = copied_in or stages[stages.index(stage) - 1].name
        elif previous is not None and not list_shards(stage):
            lines.append(f"{stage.name}: went in (this stage writes no documents, e.g. packed samples)")
        else:
            lines.append(f"{stage.name}: not found")
    if all(line.endswith("not found") for line in lines):
        raise LookupError(f"no document with id {doc_id!r} in any stage of {work_dir}")
    return lines
