"""Throughput of the filter chains (zh, en) per core, each rule's share, and datatrove's rules beside ours.

Document sets, each repeated to about ``--mb`` MB: the labelled fixture's zh and en documents (ours,
~0.5 KB each: per-document costs dominate), the 16 real English Wikipedia articles of data_samples/wiki,
and the real labelled pages of ../shared/quality/dev.jsonl when present. On each: the full chain
(MB/s by wall clock and per CPU-second of this process, and each filter's share of the chain's time),
for English our gopher_quality + gopher_repetition + c4 alone and datatrove 0.10's GopherQuality +
GopherRepetition + C4Quality on the same documents, in the same process; and ``clean`` for scale.

datatrove 0.10 needs a newer huggingface_hub than our pins, so it lives in its own directory, and its
English word tokenizer needs spaCy (additive in our venv)::

    pip install spacy
    pip install --target /tmp/datatrove --no-deps datatrove==0.10.1 huggingface_hub==2.4.0 loguru humanize
    python benchmarks/filters.py --mb 2 --datatrove /tmp/datatrove

Before/after figures: ``PYTHONPATH=OLD python benchmarks/filters.py`` times the code of another tree
(``git archive <commit> | tar -x -C OLD``) on the same documents.

``--overhead`` adds what the stage costs around the filters (views, scores into meta, verdicts), timed with
a chain of as many filters that do nothing. ``--matcher`` adds the harmful matcher with our lists padded to 10,000 terms against one ``re``
alternation. ``--dump FILE`` / ``--compare FILE`` write and check every output of clean and the default
chains on dev.jsonl (kept out of the repository: its licences vary), around a speed change.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter, deque
from pathlib import Path

import yaml

from corpus.clean import CleanStep
from corpus.filters.evaluate import load_labelled
from corpus.filters.harmful import build_matcher, load_matcher, normalise, read_lines
from corpus.filters.stage import FilterStep, batches
from corpus.steps import build_reader

REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "tests" / "fixtures" / "filters" / "labelled.jsonl"
DEV = REPO.parent / "shared" / "quality" / "dev.jsonl"


def repeat_to(base: list[dict], megabytes: float) -> list[dict]:
    """``base`` documents cycled (with distinct ids, fresh meta) until about ``megabytes`` MB of text."""
    out, size, i = [], 0, 0
    while size < megabytes * 1e6:
        d = base[i % len(base)]
        out.append({"id": f"{d['id']}:{i}", "text": d["text"], "source": d["source"], "meta": dict(d["meta"])})
        size += len(d["text"].encode())
        i += 1
    return out


def _docs(lang: str, megabytes: float) -> list[dict]:
    """The benchmark's documents: the labelled fixture's ``lang`` documents (ours, ~0.5 KB each), repeated."""
    base = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    return repeat_to([d for d in base if d["meta"].get("lang") == lang], megabytes)


def wiki_docs(megabytes: float) -> list[dict]:
    """The 16 real English Wikipedia articles of data_samples/wiki (27 KB each on average), repeated."""
    reader = build_reader("wiki")
    base = [d for f in reader.discover([REPO / "data_samples" / "wiki"]) for d in reader(f, Counter())
            if d["source"] == "enwiki"]
    for d in base:
        d["meta"]["lang"] = "en"
    return repeat_to(base, megabytes)


def dev_docs(lang: str, megabytes: float) -> list[dict]:
    """The real labelled web pages of ../shared/quality/dev.jsonl in ``lang`` (3 KB each), repeated."""
    base = [{"id": r["id"], "text": r["text"], "source": "web", "meta": {"lang": lang}}
            for r in load_labelled(DEV) if r["lang"] == lang]
    return repeat_to(base, megabytes)


def timed(run, docs: list[dict]) -> tuple[float, float]:
    """(MB/s by wall clock, MB/s per CPU-second of this process) of ``run(docs)``."""
    size = sum(len(d["text"].encode()) for d in docs) / 1e6
    wall, cpu = time.perf_counter(), time.process_time()
    run(docs)
    return size / (time.perf_counter() - wall), size / (time.process_time() - cpu)


def chain(config: str, docs: list[dict]) -> tuple[float, float, dict[str, float]]:
    """Rates of FilterStep(config) over ``docs`` and each filter's share of the chain's time."""
    step = FilterStep(config=config)
    list(step(iter(copy.deepcopy(docs[:50])), Counter()))  # load word lists, automaton and langid model first
    counters: Counter = Counter()
    start = time.perf_counter()
    wall, cpu = timed(lambda ds: deque(step(iter(ds), counters), maxlen=0), copy.deepcopy(docs))
    seconds = time.perf_counter() - start
    shares = {k.removeprefix("filter_seconds_"): v / seconds for k, v in counters.items()
              if k.startswith("filter_seconds_")}
    return wall, cpu, shares


def stage_overhead(docs: list[dict], filters: int) -> float:
    """CPU us per document that the filter stage spends around its filters (views, routing, scores into
    meta, verdicts, counters): the stage over ``docs`` with a chain of ``filters`` filters that score
    nothing and keep everything."""
    from corpus.filters.base import KEEP, Filter
    from corpus.filters.route import Plan

    class NoOp(Filter):
        name = "noop"

        def score_batch(self, views):
            return [{} for _ in views]

        def decide(self, scores, doc):
            return KEEP

    plan = Plan(chains={"all": tuple(type(f"noop{i}", (NoOp,), {"name": f"noop{i}"})() for i in range(filters))},
                sources={})
    step = FilterStep(config="configs/filters/zh.yaml")  # any valid config: the plan above is what runs
    ds = copy.deepcopy(docs)
    start = time.process_time()
    for batch in batches(iter(ds)):
        step._run(plan, batch, Counter())
    return (time.process_time() - start) / len(docs) * 1e6


def three_rules_config(directory: Path) -> str:
    """en.yaml reduced to the three rules datatrove has too: gopher_quality, gopher_repetition, c4."""
    data = yaml.safe_load((REPO / "configs" / "filters" / "en.yaml").read_text(encoding="utf-8"))
    data["filters"] = [f for f in data["filters"] if next(iter(f)) in ("gopher_quality", "gopher_repetition", "c4")]
    path = directory / "en-three-rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def datatrove_rate(docs: list[dict]) -> tuple[float, float]:
    """datatrove's GopherQuality + GopherRepetition + C4Quality (defaults), a document stopping at its
    first drop as in a datatrove pipeline."""
    from datatrove.data import Document
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

    filters = [GopherQualityFilter(), GopherRepetitionFilter(), C4QualityFilter()]

    def run(ds: list[dict]) -> None:
        for d in ds:
            doc = Document(text=d["text"], id=d["id"])
            for flt in filters:
                kept = flt.filter(doc)
                if not (kept[0] if isinstance(kept, tuple) else kept):
                    break

    run(docs[:20])  # load spaCy's English tokenizer first
    return timed(run, docs)


def clean_rate(docs: list[dict]) -> tuple[float, float]:
    """Rates of the default ``clean`` (repair included) over ``docs``."""
    step = CleanStep()
    return timed(lambda ds: deque(step(iter(ds), Counter()), maxlen=0), copy.deepcopy(docs))


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
    from corpus.filters.evaluate import stage_outputs

    return stage_outputs(docs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="MB of text per measurement")
    parser.add_argument("--datatrove", type=Path, help="directory holding datatrove 0.10 (see the module docstring)")
    parser.add_argument("--matcher", action="store_true", help="also time the harmful matcher with 10,000 terms")
    parser.add_argument("--overhead", action="store_true",
                        help="also time the stage around the filters (a chain of as many no-op filters)")
    parser.add_argument("--dump", type=Path, help=f"write every output of clean and the chains on {DEV.name} here")
    parser.add_argument("--compare", type=Path, help="check that those outputs equal a --dump made earlier")
    args = parser.parse_args()
    # Imported here: the timings below also run on an older tree (PYTHONPATH=OLD) that lacks these.
    if args.dump:
        from corpus.filters.evaluate import write_outputs

        write_outputs(dev_outputs(), args.dump)
        print(f"wrote {args.dump}")
        return
    if args.compare:
        from corpus.filters.evaluate import output_differences, read_outputs

        diffs = output_differences(read_outputs(args.compare), dev_outputs())
        print("\n".join(diffs) or f"identical to {args.compare}")
        raise SystemExit(1 if diffs else 0)
    if args.datatrove:
        sys.path.insert(0, str(args.datatrove))
        try:  # fail before the timings, saying how to repair the reference, not halfway with a traceback
            import datatrove.pipeline.filters  # noqa: F401
        except ImportError as error:
            raise SystemExit(f"datatrove does not import from {args.datatrove} ({error}); reinstall it there "
                             "with the pip --target line of this script's docstring") from None
    print(f"one process; MB/s by wall clock and per CPU-second (the machine is shared: load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start)\n")
    sets = [("fixture", "zh", _docs("zh", args.mb)), ("fixture", "en", _docs("en", args.mb)),
            ("enwiki", "en", wiki_docs(args.mb))]
    if DEV.exists():
        sets += [("dev", "zh", dev_docs("zh", args.mb)), ("dev", "en", dev_docs("en", args.mb))]
    with tempfile.TemporaryDirectory() as tmp:
        three = three_rules_config(Path(tmp))
        for name, lang, docs in sets:
            size = sum(len(d["text"].encode()) for d in docs) / len(docs)
            # Load beside every set: on a shared machine it moves during the run and colours each figure.
            print(f"{name} {lang}: {len(docs)} docs, {size / 1e3:.1f} KB each (load average {os.getloadavg()[0]:.1f})")
            wall, cpu, shares = chain(f"configs/filters/{lang}.yaml", docs)
            print(f"  {lang} chain{'':<27}{wall:7.2f} MB/s wall {cpu:7.2f} MB/s per CPU-s   shares: "
                  + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
            if args.overhead:
                print(f"  stage around {len(shares)} no-op filters   {stage_overhead(docs, len(shares)):7.2f} us/doc CPU")
            if lang == "en":
                wall, cpu, _ = chain(three, docs)
                print(f"  ours: gopher_quality+repetition+c4   {wall:7.2f} MB/s wall {cpu:7.2f} MB/s per CPU-s")
                if args.datatrove or importlib.util.find_spec("datatrove"):
                    wall, cpu = datatrove_rate(docs)
                    print(f"  reference: datatrove Gopher x2 + C4  {wall:7.2f} MB/s wall {cpu:7.2f} MB/s per CPU-s")
            wall, cpu = clean_rate(docs)
            print(f"  clean (for scale){'':<19}{wall:7.2f} MB/s wall {cpu:7.2f} MB/s per CPU-s")
    if args.matcher:
        load_matcher.cache_clear()
        rates = matcher_rates(args.mb)
        print(f"\nharmful matcher, {int(rates.pop('terms'))} terms, {args.mb:.0f} MB zh+en text:")
        for name, rate in rates.items():
            print(f"  {name:<28}{rate:8.2f} MB/s")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
