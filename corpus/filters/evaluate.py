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
from corpus.filters.stage import DEFAULT_CONFIG, FilterStep
from corpus.records import rejection
from corpus.steps import build_reader


def load_labelled(path: Path) -> list[dict[str, Any]]:
    """The labelled records of ``path``; each must have text, lang, source and a keep/drop label."""
    records = []
    # split("\n"), not splitlines(): JSON strings may hold raw U+0085 or U+2028, which splitlines() breaks on.
    for lineno, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        record = json.loads(line)
        if record.get("label") not in ("keep", "drop") or not isinstance(record.get("text"), str):
            raise ValueError(f"{path}:{lineno}: needs text and label keep|drop, got {sorted(record)}")
        records.append(record)
    return records


def judge(records: list[dict[str, Any]], config: str = DEFAULT_CONFIG, *, clean: CleanStep | None = None
          ) -> list[dict[str, Any]]:
    """Run clean + filter on ``records`` as unlabelled web documents; one outcome per record, in order.

    ``clean``: the clean step to use (default: ``CleanStep()``, the pipeline's defaults).
    Each outcome: ``{id, lang, source, label, kept, reason, doc}`` where ``reason`` is the rejecting
    rule (``None`` if kept) and ``doc`` the document after the two stages.
    """
    docs = [{"id": r["id"], "text": r["text"], "source": "web", "meta": {}} for r in records]
    counters: Counter = Counter()
    cleaned = list((clean or CleanStep())(iter(docs), counters))
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


# The filter configs whose outputs :func:`stage_outputs` records: every default chain.
CHAIN_CONFIGS = ("zh", "en", "mixed", "code")


def stage_outputs(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Every output document of ``clean`` and of each default chain, by variant name, for regression checks.

    Variants: ``clean`` (all documents after clean, rejected ones included); for each config of
    ``CHAIN_CONFIGS``, the chain over the raw documents and over the documents clean kept, dropping
    (``<config>/<input>``) and with ``--annotate`` (``<config>/<input>/annotate``: every filter runs, so
    every score is recorded); and ``mixed`` with ``meta.lang`` removed (routing by language ID). A speed
    change must leave all of them identical (tests/corpus/filters/test_golden.py).
    """
    def fresh(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return json.loads(json.dumps(items))  # deep copies: each stage adds to meta in place

    counters: Counter = Counter()
    cleaned = list(CleanStep()(iter(fresh(docs)), counters))
    inputs = {"raw": docs, "clean": [d for d in cleaned if rejection(d) is None]}
    unlabelled = fresh(docs)
    for doc in unlabelled:
        doc.get("meta", {}).pop("lang", None)
    outputs = {"clean": cleaned}
    for config in CHAIN_CONFIGS:
        path = f"configs/filters/{config}.yaml"
        for name, items in inputs.items():
            outputs[f"{config}/{name}"] = list(FilterStep(config=path)(iter(fresh(items)), counters))
            outputs[f"{config}/{name}/annotate"] = list(
                FilterStep(config=path, annotate=True)(iter(fresh(items)), counters))
    outputs["mixed/raw/no-lang"] = list(FilterStep(config="configs/filters/mixed.yaml")(iter(unlabelled), counters))
    return outputs


# What the demo reads from data_samples/ (configs/demo.yaml): (reader, input, options).
SAMPLE_READS = (
    ("jsonl", "data_samples/jsonl/knowlm-style.jsonl", {"text_field": "content", "source_name": "knowlm"}),
    ("jsonl", "data_samples/jsonl/web-near-duplicates.jsonl", {"source_name": "web"}),
    ("wiki", "data_samples/wiki", {}),
    ("wudao", "data_samples/wudao", {}),
    ("baike", "data_samples/baike", {}),
    ("code", "data_samples/code/repos", {}),
    ("stack", "data_samples/code/the-stack-sample.jsonl", {}),
    ("leetcode", "data_samples/leetcode", {}),
)


def sample_documents(root: Path) -> list[dict[str, Any]]:
    """The documents of ``root/data_samples`` as the demo reads them, then the labelled fixture's (all ours)."""
    docs: list[dict[str, Any]] = []
    for source, path, options in SAMPLE_READS:
        reader = build_reader(source, options)
        for file in reader.discover([root / path]):
            for doc in reader(file, Counter()):
                # An unreadable record names its file: relative to root, so outputs do not depend on
                # where the checkout lies.
                record = (doc.get("meta") or {}).get("reject")
                if isinstance(record, dict) and isinstance(record.get("file"), str):
                    record["file"] = str(Path(record["file"]).relative_to(root)) \
                        if Path(record["file"]).is_relative_to(root) else record["file"]
                docs.append(doc)
    labelled = root / "tests" / "fixtures" / "filters" / "labelled.jsonl"
    docs.extend(json.loads(line) for line in labelled.read_text(encoding="utf-8").split("\n") if line.strip())
    return docs


def write_outputs(outputs: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Store :func:`stage_outputs` as xz-compressed JSONL of ``{variant, doc}`` (xz: the variants repeat
    the same texts, which its large window stores once)."""
    import lzma

    lines = (json.dumps({"variant": k, "doc": d}, ensure_ascii=False, sort_keys=True) for k, v in outputs.items()
             for d in v)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lzma.compress("\n".join(lines).encode("utf-8") + b"\n"))


def read_outputs(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The outputs :func:`write_outputs` stored, by variant, in order."""
    import lzma

    outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in lzma.decompress(path.read_bytes()).decode("utf-8").split("\n"):
        if not line:
            continue
        record = json.loads(line)
        outputs[record["variant"]].append(record["doc"])
    return dict(outputs)


def output_differences(expected: dict[str, list[dict[str, Any]]], got: dict[str, list[dict[str, Any]]],
                       limit: int = 10) -> list[str]:
    """Where ``got`` differs from ``expected`` (variant, document id, first differing meta key), at most
    ``limit`` lines; empty when identical. Both go through JSON, so 1 and 1.0 or a tuple and a list differ
    exactly as they would in a written shard."""
    got = json.loads(json.dumps(got))
    diffs = [f"variants: expected {sorted(expected)}, got {sorted(got)}"] if set(expected) != set(got) else []
    for variant in sorted(set(expected) & set(got)):
        old, new = expected[variant], got[variant]
        if len(old) != len(new):
            diffs.append(f"{variant}: {len(old)} documents expected, {len(new)} produced")
        for a, b in zip(old, new, strict=False):
            if a == b:
                continue
            keys = [k for k in ("id", "text", "source") if a.get(k) != b.get(k)]
            keys += [f"meta.{k}" for k in sorted(set(a["meta"]) | set(b["meta"]))
                     if a["meta"].get(k) != b["meta"].get(k)]
            scores_a, scores_b = a["meta"].get("scores", {}), b["meta"].get("scores", {})
            keys += [f"scores.{f}.{k}={scores_a.get(f, {}).get(k)!r}->{scores_b.get(f, {}).get(k)!r}"
                     for f in sorted(set(scores_a) | set(scores_b))
                     for k in sorted(set(scores_a.get(f, {})) | set(scores_b.get(f, {})))
                     if scores_a.get(f, {}).get(k) != scores_b.get(f, {}).get(k)]
            diffs.append(f"{variant} {a.get('id')}: {', '.join(keys[:6])}")
    return diffs[:limit]
