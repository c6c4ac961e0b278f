"""What a run says at the end: the summary table of every stage, and warnings about rejection rates.

``summary_table`` is the table ``knowforge corpus``/``run``/``demo`` print; ``rejection_warnings`` names a
reason that rejected most of a stage's input, with what to try (``--text-field``, the input's format).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from corpus.runner import StageReport

WARN_SHARE = 0.5  # a reason that rejects more than this share of a stage's input is worth a warning


def _rejected_raw(output: Path, reason: str, limit: int = 50) -> list[str]:
    """The raw lines kept by up to ``limit`` rejected placeholders of ``reason`` (see shards.malformed_doc)."""
    from corpus.records import rejection
    from corpus.shards import list_shards, read_docs

    found: list[str] = []
    rejected_dir = output / "rejected"
    for shard in list_shards(rejected_dir) if rejected_dir.is_dir() else []:
        for doc in read_docs(shard, require_id=False):
            if (rejection(doc) or {}).get("reason") == reason:
                found.append(str(doc.get("text") or ""))
                if len(found) >= limit:
                    return found
    return found


def _missing_text_hint(report: StageReport) -> str:
    """Name the fields the rejected records do have, and the likeliest text field among them."""
    import orjson

    fields: dict[str, int] = {}  # field -> characters of string values seen, in first-seen order
    for raw in _rejected_raw(report.output, "missing_text"):
        try:
            record = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        for key, value in record.items() if isinstance(record, dict) else ():
            fields[key] = fields.get(key, 0) + (len(value) if isinstance(value, str) else 0)
    if not fields:
        return "the records have no `text` field: name the field that holds the text with --text-field"
    best = max(fields, key=lambda k: fields[k])
    suggestion = f" --text-field {best}" if fields[best] else " --text-field FIELD"
    return f"the records have the fields {', '.join(fields)}: name the text field with{suggestion} (YAML: text_field)"


HINTS: dict[str, Callable[[StageReport], str]] = {
    "missing_text": _missing_text_hint,
    "bad_utf8": lambda r: "is the input UTF-8 text? compressed input needs its suffix (.gz, .zst, .bz2, .xz)",
    "bad_json": lambda r: "is the input JSON Lines (one object per line)? other layouts have their own --source",
    "missing_id": lambda r: "give each record a stable id, or name the field holding one with --id-field",
}


def rejection_warnings(report: StageReport) -> list[str]:
    """One warning line per reason that rejected more than half of a stage's input, with what to try.

    A wiki reader that read nothing because its input is not XML at all is counted as truncated input
    (no page before the cut), so it gets the question that settles it.
    """
    warnings = []
    # A stage may split documents into records (kg2instruction: paragraphs) and reject records: the
    # share is of what it wrote, kept and rejected.
    total = max(report.docs_in, report.docs_out + report.rejected)
    unit = "documents" if total == report.docs_in else "records"
    for reason, count in sorted(report.reasons.items(), key=lambda kv: -kv[1]):
        if total and count > WARN_SHARE * total:
            hint = HINTS.get(reason, lambda r: f"see the examples in {r.output / 'rejected'}")(report)
            warnings.append(f"warning: {report.stage} rejected {count:,} of {total:,} {unit} as {reason}; {hint}")
    if report.stage.startswith("read-wiki") and report.docs_in == 0 and report.counters.get("truncated_input"):
        warnings.append(f"warning: {report.stage} read no page from {report.counters['truncated_input']} "
                        "input(s) that do not parse as XML: is this a MediaWiki XML dump (pages-articles.xml.bz2)?")
    return warnings


def _format_reasons(reasons: dict[str, int], limit: int = 4) -> str:
    top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{name} {count}" for name, count in top[:limit])
    if len(top) > limit:
        text += f", +{len(top) - limit} more"
    return text or "-"


def summary_table(reports: Sequence[StageReport]) -> str:
    """A plain-text table of what each stage did: shards (done before / redone), documents in/out/rejected,
    top reasons, time, and where the output went."""
    header = ("stage", "shards", "in", "out", "rejected", "time", "rejected by reason", "output")

    def shards(r: StageReport) -> str:
        notes = [f"{n} {what}" for n, what in ((r.shards_skipped, "done"), (r.shards_redone, "redone")) if n]
        return f"{r.shards}" + (f" ({', '.join(notes)})" if notes else "")

    rows = [
        (
            r.stage,
            shards(r),
            f"{r.docs_in:,}",
            f"{r.docs_out:,}",
            f"{r.rejected:,}",
            f"{r.seconds:.1f}s",
            _format_reasons(r.reasons),
            str(r.output),
        )
        for r in reports
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
