"""Keep/drop quality of the default ``clean`` + ``filter`` on real documents labelled by hand.

Reads ``../shared/quality/dev.jsonl`` (or ``--input``; records ``{id, text, lang, source, label, why}``)
the way ``read --source jsonl`` would see plain web text: no ``meta.lang``, source ``web``. Prints
keep-recall, drop-recall and precision (of the drop decision) per language and per source repository,
and which reasons dropped ``keep`` documents. Run: ``python benchmarks/filter_quality.py [--show N]``;
``--reason R [--show N]`` lists every document rule ``R`` dropped (``promo_commercial``: what the promo
rule took, good and bad), with its label, value and first N characters.
``--clean OPTION=VALUE`` (repeatable) runs clean with a bound other than its default, e.g.
``--clean max_furniture_ratio=0.5 --clean min_prose_ratio=none``, to measure what a rule costs and gains.
``--cv FILE`` (repeatable, with ``--threshold T``, repeatable) cross-validates clean's page model
(corpus/page_model.py) against the hand-set page rules: leave one labelled file out, then leave one source
repository out; each held-out part is judged by clean + filter with a model trained on the other parts
only, and keep/drop recall per language is printed for the rules and the model on the same documents.
``--huge MB`` instead times ``clean`` on one generated document of that size (prose, menu runs, repeats,
runs of spaces) at MB/8 and MB, and prints seconds and peak RSS: the scaling should be linear.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import time
from collections import Counter
from pathlib import Path

import yaml

from corpus.clean import CleanStep
from corpus.filters.evaluate import judge, load_labelled, report
from corpus.filters.stage import DEFAULT_CONFIG
from corpus.records import rejection

DEV = Path(__file__).resolve().parents[2] / "shared" / "quality" / "dev.jsonl"


HUGE_UNIT = (
    "The council approved the budget for the new library, and building starts in spring.\n"
    "长江是中国第一大河，全长约六千三百公里，发源于青藏高原的唐古拉山脉。\n"
    + "News\nSport\nWeather\nTravel\nCulture\n"
    + "word" + " " * 300 + "word\n"
    + "这一行会重复出现很多次，第二份起都会被删除。\n"
)


def time_huge(megabytes: float) -> tuple[float, float]:
    """Seconds and peak RSS (MiB, whole process) of ``clean`` on one document of ``megabytes`` MB."""
    text = HUGE_UNIT * int(megabytes * 1e6 / len(HUGE_UNIT.encode()))
    start = time.perf_counter()
    list(CleanStep()(iter([{"id": "huge", "text": text, "source": "web", "meta": {}}]), Counter()))
    return time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clean_options(pairs: list[str]) -> dict[str, object]:
    """``["max_furniture_ratio=0.5", "min_prose_ratio=none"]`` as CleanStep keyword arguments (YAML values)."""
    fields = {f.name for f in dataclasses.fields(CleanStep)}
    options = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in fields:
            raise SystemExit(f"--clean {pair!r}: give OPTION=VALUE with one of {', '.join(sorted(fields))}")
        options[name] = None if value.lower() == "none" else yaml.safe_load(value)
    return options


def cross_validation(paths: list[Path], config: str, thresholds: list[float], modes: tuple[str, ...] = ("replace", "gate")
                     ) -> str:
    """The ``--cv`` table: per scheme (leave one file out, one source out), per language, keep/drop recall of
    today's page rules and of the page model (per threshold and mode) on the held-out parts, pooled."""
    import tempfile

    from corpus.filters.evaluate import rates
    from corpus.page_model import train, write_model
    from corpus.page_training import labelled_pages

    parts = []  # (file name, labelled records)
    for path in paths:
        parts.append((path.name, load_labelled(path)))
    pages = {path.name: labelled_pages([path])[0] for path in paths}
    rules = {name: judge(records, config) for name, records in parts}
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in ("file", "source"):
            def part_of(name: str, record: dict) -> str:
                return name if scheme == "file" else record["source"].split(":")[0]  # noqa: B023 (used at once)

            groups = sorted({part_of(name, r) for name, records in parts for r in records})
            held: dict[tuple[float, str], list] = {}
            baseline: list = []
            for group in groups:
                train_pages = [p for name, ps in pages.items() for p in ps
                               if (name if scheme == "file" else p["source"]) != group]
                test = [(name, r) for name, records in parts for r in records if part_of(name, r) == group]
                if len({p["label"] for p in train_pages}) < 2:
                    continue
                baseline += [{**o, "part": group} for name, records in parts
                             for r, o in zip(records, rules[name], strict=True) if part_of(name, r) == group]
                for threshold in thresholds:
                    model = train([p["features"] for p in train_pages],
                                  [int(p["label"] == "keep") for p in train_pages],
                                  langs=[p["lang"] for p in train_pages], threshold=threshold)
                    path = Path(tmp) / f"{scheme}-{len(held)}-{group.replace('/', '_')}-{threshold}.json"
                    write_model(model, path)
                    for mode in modes:
                        clean = CleanStep(page_model=str(path), page_model_mode=mode)
                        held.setdefault((threshold, mode), []).extend(
                            {**o, "part": group} for o in judge([r for _, r in test], config, clean=clean))
            lines.append(f"\nleave one {scheme} out ({len(groups)} parts): keep-recall / drop-recall on the held-out parts")
            for lang in ("zh", "en"):
                base = rates([o for o in baseline if o["lang"] == lang])
                row = [f"  {lang} (keep {base['keep']}, drop {base['drop']}): rules {base['keep_recall']:.3f} / "
                       f"{base['drop_recall']:.3f}"]
                for (threshold, mode), outcomes in sorted(held.items()):
                    got = rates([o for o in outcomes if o["lang"] == lang])
                    row.append(f"model {mode} t={threshold} {got['keep_recall']:.3f} / {got['drop_recall']:.3f}")
                lines.append("; ".join(row))
            # Per part, at the first threshold: where the model gains and loses against the rules.
            first = [key for key in sorted(held) if key[0] == thresholds[0]]
            for group in groups:
                for lang in ("zh", "en"):
                    base = rates([o for o in baseline if o["part"] == group and o["lang"] == lang])
                    if not base["keep"] + base["drop"]:
                        continue
                    row = [f"    {group:<42} {lang} keep {base['keep']:>3} drop {base['drop']:>3}: rules "
                           f"{base['keep_recall']:.3f} / {base['drop_recall']:.3f}"]
                    for key in first:
                        got = rates([o for o in held[key] if o["part"] == group and o["lang"] == lang])
                        row.append(f"{key[1]} {got['keep_recall']:.3f} / {got['drop_recall']:.3f}")
                    lines.append("; ".join(row))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEV)
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--show", type=int, default=0, help="print the first N chars of every wrong decision")
    parser.add_argument("--reason", help="list the documents this rejection reason dropped, with their labels")
    parser.add_argument("--huge", type=float, default=0, help="time clean on one generated document of MB")
    parser.add_argument("--clean", action="append", default=[], metavar="OPTION=VALUE",
                        help="a clean option other than its default, e.g. max_furniture_ratio=0.5 or "
                             "min_prose_ratio=none (repeatable): to measure what a bound costs and gains")
    parser.add_argument("--cv", action="append", type=Path, default=[], metavar="FILE",
                        help="cross-validate the page model against the page rules over these labelled files")
    parser.add_argument("--threshold", action="append", type=float, default=[],
                        help="--cv: the page model's threshold (repeatable; default the trainer's)")
    args = parser.parse_args()
    if args.cv:
        from corpus.page_model import DEFAULT_THRESHOLD

        print(cross_validation(args.cv, args.config, args.threshold or [DEFAULT_THRESHOLD]))
        return
    if args.huge:
        for mb in (args.huge / 8, args.huge):
            seconds, rss = time_huge(mb)
            print(f"clean, one {mb:.1f} MB document: {seconds:.2f} s ({mb / seconds:.1f} MB/s), peak RSS {rss:.0f} MiB")
        return
    outcomes = judge(load_labelled(args.input), args.config, clean=CleanStep(**clean_options(args.clean)))
    print(report(outcomes))
    if args.reason:
        hits = [o for o in outcomes if o["reason"] == args.reason]
        print(f"\n{args.reason}: {len(hits)} documents "
              f"({sum(o['label'] == 'drop' for o in hits)} labelled drop, {sum(o['label'] == 'keep' for o in hits)} keep)")
        for o in hits:
            snippet = " ".join(o["doc"]["text"][:args.show or 80].split())
            print(f"  {o['id']} {o['label']:<4} {(rejection(o['doc']) or {}).get('value')}\n    {snippet}")
        return
    if args.show:
        for o in outcomes:
            if (o["label"] == "keep") != o["kept"]:
                print(f"\n--- {o['id']} label={o['label']} reason={o['reason']} "
                      f"value={(rejection(o['doc']) or {}).get('value')}\n{o['doc']['text'][:args.show]}")


if __name__ == "__main__":
    main()
