"""Judge ``clean`` + ``filter`` against documents labelled keep/drop by hand: recall, precision, lost reasons.

The labelled file is JSONL of ``{id, text, lang, source, label, why}`` (``../shared/quality/dev.jsonl``).
Documents are fed as plain web text would arrive from ``read --source jsonl``: no ``meta.lang``,
source ``web``, so routing and language ID are part of what is measured.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from corpus.clean import CleanStep
from corpus.filters.base import DEFAULT_CONFIG, FilterStep
from corpus.records import rejection


def load_labelled(path: Path) -> list[dict[str, Any]]:
    """The labelled records of ``path``; each must have text, lang, source and a keep/drop label."""
    records = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("label") not in ("keep", "drop") or not isinstance(record.get("text"), str):
            raise ValueError(f"{path}:{lineno}: needs text and label keep|drop, got {sorted(record)}")
        records.append(record)
    return records


def judge(records: list[dict[str, Any]], config: str = DEFAULT_CONFIG) -> list[dict[str, Any]]:
    """Run clean + filter on ``records`` as unlabelled web documents; one outcome per record, in order.

    Each outcome: ``{id, lang, source, label, kept, reason, doc}`` where ``reason`` is the rejecting
    rule (``None`` if kept) and ``doc`` the document after the two stages.
    """
    docs = [{"id": r["id"], "text": r["text"], "source": "web", "meta": {}} for r in records]
    counters: Counter = Counter()
    cleaned = list(CleanStep()(iter(docs), counters))
    # As the runner does: a document clean rejected never reaches the filter stage.
    kept = [d for d in cleaned if rejection(d) is None]
    by_id = {d["id"]: d for d in cleaned}
    by_id.update((d["id"], d) for d in FilterStep(config=config)(iter(kept), counters))
    outcomes = []
    for r in records:
        doc = by_id[r["id"]]
        rej = rejection(doc)
        outcomes.append({
            "id": r["id"], "lang": r["lang"], "source": r["source"].split(":")[0], "label": r["label"],
            "kept": rej is None, "reason": rej and rej["reason"], "doc": doc,
        })
    return outcomes


def rates(outcomes: list[dict[str, Any]]) -> dict[str, float | int]:
    """keep-recall (keep docs kept), drop-recall (drop docs dropped), precision of the drops, counts."""
    keep = [o for o in outcomes if o["label"] == "keep"]
    drop = [o for o in outcomes if o["label"] == "drop"]
    dropped = [o for o in outcomes if not o["kept"]]
    return {
        "keep": len(keep),
        "drop": len(drop),
        "keep_recall": sum(o["kept"] for o in keep) / len(keep) if keep else float("nan"),
        "drop_recall": sum(not o["kept"] for o in drop) / len(drop) if drop else float("nan"),
        "drop_precision": sum(o["label"] == "drop" for o in dropped) / len(dropped) if dropped else float("nan"),
    }


def report(outcomes: list[dict[str, Any]]) -> str:
    """The tables this benchmark prints: per language, per source, and reasons that dropped keep docs."""
    lines = [f"{'group':<48} {'keep':>5} {'drop':>5} {'keep-rec':>9} {'drop-rec':>9} {'drop-prec':>9}"]
    groups: dict[str, list] = defaultdict(list)
    for o in outcomes:
        groups[f"lang={o['lang']}"].append(o)
    for o in outcomes:
        groups[f"source={o['source']}"].append(o)
    for name, group in groups.items():
        r = rates(group)
        lines.append(f"{name:<48} {r['keep']:>5} {r['drop']:>5} {r['keep_recall']:>9.3f} "
                     f"{r['drop_recall']:>9.3f} {r['drop_precision']:>9.3f}")
    lost = Counter((o["lang"], o["reason"]) for o in outcomes if o["label"] == "keep" and not o["kept"])
    lines.append("\nreasons that dropped `keep` documents")
    lines.extend(f"  {lang}  {reason:<32} {n}" for (lang, reason), n in lost.most_common())
    caught = Counter((o["lang"], o["reason"]) for o in outcomes if o["label"] == "drop" and not o["kept"])
    lines.append("reasons that dropped `drop` documents")
    lines.extend(f"  {lang}  {reason:<32} {n}" for (lang, reason), n in sorted(caught.items(), key=lambda kv: -kv[1]))
    missed = Counter(o["lang"] for o in outcomes if o["label"] == "drop" and o["kept"])
    lines.append(f"`drop` documents kept: {dict(missed)}")
    return "\n".join(lines)
