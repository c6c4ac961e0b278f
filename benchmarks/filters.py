"""Throughput of the filter chains (zh, en) and of the harmful-term matcher, in MB/s on one core.

The chains run over the labelled fixture's good documents, repeated to about ``--mb`` MB of text. The
matcher is measured with our word lists padded to 10,000 terms, against the usual alternative (one
compiled ``re`` alternation of all terms) in the same run. Run: ``python benchmarks/filters.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter
from pathlib import Path

from corpus.filters.base import FilterStep
from corpus.filters.evaluate import (
    load_labelled,
    output_differences,
    read_outputs,
    stage_outputs,
    write_outputs,
)
from corpus.filters.harmful import build_matcher, load_matcher, normalise, read_lines

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "filters" / "labelled.jsonl"
DEV = REPO.parent / "shared" / "quality" / "dev.jsonl"


def _docs(lang: str, megabytes: float) -> list[dict]:
    base = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    base = [d for d in base if d["meta"].get("lang") == lang]
    out, size, i = [], 0, 0
    while size < megabytes * 1e6:
        d = base[i % len(base)]
        out.append({"id": f"{d['id']}:{i}", "text": d["text"], "source": d["source"], "meta": dict(d["meta"])})
        size += len(d["text"].encode())
        i += 1
    return out


def chain_rate(config: str, lang: str, megabytes: float) -> tuple[float, int]:
    """MB/s of FilterStep(config) over ``lang`` documents, one process."""
    docs = _docs(lang, megabytes)
    size = sum(len(d["text"].encode()) for d in docs)
    step = FilterStep(config=config)
    list(step(iter(docs[:50]), Counter()))  # load word lists, automaton and langid model first
    start = time.perf_counter()
    for _ in step(iter(docs), Counter()):
        pass
    return size / 1e6 / (time.perf_counter() - start), len(docs)


def ten_thousand_terms() -> dict[str, list[str]]:
    """Our lists plus synthetic CJK and Latin terms, 10,000 in all, split over the real categories."""
    rng = random.Random(0)
    root = REPO / "configs" / "wordlists" / "harmful"
    lists: dict[str, list[str]] = {}
    for path in sorted(root.glob("*.txt")):
        lists.setdefault(path.name.split(".")[0], []).extend(map(normalise, read_lines(path)))
    categories = list(lists)
    n = sum(map(len, lists.values()))
    while n < 10_000:
        if rng.random() < 0.5:
            term = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4)))
        else:
            term = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(5, 10)))
        lists[categories[n % len(categories)]].append(term)
        n += 1
    return lists


def matcher_rates(megabytes: float) -> dict[str, float]:
    """MB/s of: normalise only; Aho-Corasick count on normalised text; both; a re alternation."""
    lists = ten_thousand_terms()
    matcher = build_matcher(lists)
    text = "\n\n".join(d["text"] for d in _docs("zh", megabytes / 2) + _docs("en", megabytes / 2))
    size = len(text.encode()) / 1e6
    rates = {}
    start = time.perf_counter()
    normalised = normalise(text)
    rates["normalise"] = size / (time.perf_counter() - start)
    start = time.perf_counter()
    matcher.count(normalised)
    rates["aho-corasick count"] = size / (time.perf_counter() - start)
    start = time.perf_counter()
    matcher.count(normalise(text))
    rates["normalise + count"] = size / (time.perf_counter() - start)
    terms = sorted({t for ts in lists.values() for t in ts}, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, terms)))
    start = time.perf_counter()
    Counter(m.group() for m in pattern.finditer(normalised))
    rates["reference: re alternation"] = size / (time.perf_counter() - start)
    rates["terms"] = len(terms)
    return rates


def dev_outputs() -> dict[str, list[dict]]:
    """clean and every default chain over the real labelled documents (not committed: their licences vary)."""
    docs = [{"id": r["id"], "text": r["text"], "source": "web", "meta": {"lang": r["lang"]}}
            for r in load_labelled(DEV)]
    return stage_outputs(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=4.0, help="MB of text per measurement")
    parser.add_argument("--dump", type=Path, help=f"write every output of clean and the chains on {DEV.name} here")
    parser.add_argument("--compare", type=Path, help="check that those outputs equal a --dump made earlier")
    args = parser.parse_args()
    if args.dump:
        write_outputs(dev_outputs(), args.dump)
        print(f"wrote {args.dump}")
        return
    if args.compare:
        diffs = output_differences(read_outputs(args.compare), dev_outputs())
        print("\n".join(diffs) or f"identical to {args.compare}")
        raise SystemExit(1 if diffs else 0)
    print("one process (MB/s per core); the machine's cores may be shared with other work\n")
    for lang, config in (("zh", "configs/filters/zh.yaml"), ("en", "configs/filters/en.yaml")):
        rate, n = chain_rate(config, lang, args.mb)
        print(f"{lang} chain ({config}, {n} docs): {rate:8.2f} MB/s")
    load_matcher.cache_clear()
    rates = matcher_rates(args.mb)
    print(f"\nharmful matcher, {int(rates.pop('terms'))} terms, {args.mb:.0f} MB zh+en text:")
    for name, rate in rates.items():
        print(f"  {name:<28}{rate:8.2f} MB/s")


if __name__ == "__main__":
    main()
