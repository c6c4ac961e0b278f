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
``--cv-text FILE`` (repeatable, with ``--threshold T``) cross-validates the word-reading text model
(corpus/text_model.py) as one more filter at the end of the zh and en chains (a document is dropped if
the rules or the model drop it) over the grid :data:`TEXT_GRID`, by the same two schemes, and picks the
setting by :func:`choose` (``--grid I``: only those settings); ``--text-model MODEL [--text-bound en=0.3]``
judges ``--input`` with the rules alone and with a trained model appended to the chains named (default zh
and en at the model's own threshold), per-language figures only (for held-out sets).
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
from corpus.filters.evaluate import judge, load_labelled, rates, report
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


# --cv-text: the settings tried. ``train_on``: which labelled records the model learns from, as clean left
# them: all, those clean kept (what the filter sees), or those the rules keep (the residual the model is
# for). Fixed before the run; the one chosen is the best by :func:`choose`.
TEXT_GRID = tuple(
    {"method": method, "l2": l2, "train_on": train_on, "symbols": symbols}
    for train_on in ("all", "seen", "residual")
    for method, l2 in (("logistic", 1e-4), ("logistic", 1e-3), ("logistic", 1e-2), ("naive_bayes", 1e-3))
    for symbols in (False, True)
)
TEXT_THRESHOLDS = (0.2, 0.3, 0.4, 0.5, 0.6)
# choose(): the most drops caught, zh and en together, among the settings that lose at most this share of
# either language's keep documents against the rules alone, leaving one source out (the harder scheme).
# A setting is one model; its bound may differ per chain (zh, en), or the chain may go without it (None).
MAX_KEEP_LOSS = 0.01


def with_text_model(config: str, model: Path, bounds: dict[str, float | str]) -> dict:
    """The filter config ``config`` (a ``route:`` config) with ``text_model`` appended to the chain of each
    kind in ``bounds`` (its ``min_keep_prob``: a number or ``"model"``), the chains inlined (so the YAML
    can live anywhere)."""
    from corpus.filters.base import resolve_path

    path = resolve_path(config)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    route = {}
    for kind, spec in data["route"].items():
        chain = yaml.safe_load(resolve_path(spec, path.parent).read_text(encoding="utf-8"))["filters"] \
            if isinstance(spec, str) else list(spec)
        if kind in bounds:
            chain = [*chain, {"text_model": {"model": str(model), "min_keep_prob": bounds[kind]}}]
        route[kind] = chain
    return {**data, "route": route}


def labelled_outcomes(paths: list[Path], config: str) -> list[dict]:
    """Every record of ``paths`` through the real clean + filter path once: ``{file, source, lang, label,
    text (as clean left it), clean_kept, rules_kept, kind (its filter route)}``, with the record itself."""
    from corpus.filters.route import load_plan

    plan = load_plan(config)
    items = []
    for path in paths:
        records = load_labelled(path)
        for record, outcome in zip(records, judge(records, config), strict=True):
            doc = outcome["doc"]
            stage = (rejection(doc) or {}).get("stage")
            items.append({"file": path.name, "source": record["source"].split(":")[0], "lang": record["lang"],
                          "label": record["label"], "text": doc["text"], "clean_kept": stage != "clean",
                          "rules_kept": outcome["kept"], "kind": plan.kind({**doc, "meta": {}}), "record": record})
    return items


LEARN_FROM = {"all": lambda i: True, "seen": lambda i: i["clean_kept"], "residual": lambda i: i["rules_kept"]}


def fold_model(items: list[dict], rows, train: list[int], setting: dict, threshold: float = 0.5):
    """A text model of ``setting`` fitted on ``items[train]`` (``rows``: every item's features)."""
    from corpus.text_model import Hashing, fit

    return fit(rows.take(train), [int(items[k]["label"] == "keep") for k in train],
               langs=[items[k]["lang"] for k in train], hashing=Hashing(symbols=setting["symbols"]),
               method=setting["method"], l2=setting["l2"], threshold=threshold)


def folds(items: list[dict], scheme: str, setting: dict):
    """Per part of ``scheme`` (file or source): the part, the items to train on (the other parts' that
    ``setting["train_on"]`` learns from) and the part's items; parts without two classes to learn are skipped."""
    learn = LEARN_FROM[setting["train_on"]]
    for group in sorted({i[scheme] for i in items}):
        train = [k for k, i in enumerate(items) if i[scheme] != group and learn(i)]
        held = [k for k, i in enumerate(items) if i[scheme] == group]
        if len({items[k]["label"] for k in train}) == 2:
            yield group, train, held


def text_model_probabilities(items: list[dict], rows, scheme: str, setting: dict) -> list[float | None]:
    """Per item, P(keep) from a model trained on the other parts (``scheme``: file or source), for the items
    the model would judge (the rules keep it, its route is zh or en); None for the others."""
    probabilities: list[float | None] = [None] * len(items)
    for _, train, held in folds(items, scheme, setting):
        judged = [k for k in held if items[k]["rules_kept"] and items[k]["kind"] in ("zh", "en")]
        if judged:
            model = fold_model(items, rows, train, setting)
            for k, p in zip(judged, model.probabilities(rows.take(judged)), strict=True):
                probabilities[k] = round(float(p), 4)  # as the filter stores and decides on it
    return probabilities


def combined_rates(items: list[dict], probabilities: list[float | None], bounds: dict[str, float | None]) -> dict:
    """Per language, keep/drop recall of the rules plus the model at the bound of each document's chain
    (``bounds``: kind -> bound, None or absent: that chain runs without the model)."""
    out = {}
    for lang in ("zh", "en"):
        decided = []
        for i, p in zip(items, probabilities, strict=True):
            if i["lang"] == lang:
                bound = bounds.get(i["kind"])
                decided.append((i["label"], i["rules_kept"] and (bound is None or p is None or p >= bound)))
        keep = [k for label, k in decided if label == "keep"]
        drop = [k for label, k in decided if label == "drop"]
        out[lang] = {"keep": len(keep), "drop": len(drop), "kept": sum(keep), "caught": sum(not k for k in drop)}
    return out


def choose(results: dict, rules: dict, *, joint: bool) -> tuple | None:
    """The (setting index, zh bound, en bound) that catches most drops (zh + en) while losing at most
    MAX_KEEP_LOSS of each language's keeps against the rules; ``joint``: one bound for both chains. Ties go
    to fewer keeps lost, then the earlier setting and the lower bounds (None, no model, first). None when
    nothing qualifies."""
    best, best_key = None, None
    for (index, zh, en), got in results.items():
        if joint and zh != en:
            continue
        lost = {lang: rules[lang]["kept"] - got[lang]["kept"] for lang in got}
        if any(lost[lang] > MAX_KEEP_LOSS * got[lang]["keep"] for lang in got):
            continue
        key = (-sum(r["caught"] for r in got.values()), sum(lost.values()), index, zh or 0.0, en or 0.0)
        if best_key is None or key < best_key:
            best, best_key = (index, zh, en), key
    return best


def _fmt(rates: dict) -> str:
    return " ".join(f"{lang} {r['kept'] / r['keep']:.3f}/{r['caught'] / r['drop']:.3f}" for lang, r in rates.items())


def text_cross_validation(paths: list[Path], config: str, thresholds: tuple[float, ...],
                         grid: tuple[int, ...] | None = None) -> str:
    """The ``--cv-text`` report: for each setting of :data:`TEXT_GRID` (or the indices ``grid``) and
    threshold, keep/drop recall per language of rules + model on the held-out parts, pooled, leaving one
    file and one source out; the rules alone on the same documents; what :func:`choose` picks, with one
    bound for both chains and with a bound per chain; and that pick judged again through the real filter
    stage (the model appended to the chains) to check the two paths agree."""
    import itertools
    import tempfile

    from corpus.text_model import Hashing, featurize, write_model

    items = labelled_outcomes(paths, config)
    features = {symbols: featurize([i["text"] for i in items], Hashing(symbols=symbols)) for symbols in (False, True)}
    indices = tuple(range(len(TEXT_GRID))) if grid is None else grid
    bounds = (None, *thresholds)
    lines = []
    by_scheme = {}
    probabilities = {}
    for scheme in ("file", "source"):
        rules = combined_rates(items, [None] * len(items), {})
        lines.append(f"\nleave one {scheme} out ({len({i[scheme] for i in items})} parts): keep-recall/drop-recall "
                     f"pooled over the held-out parts; rules alone: {_fmt(rules)}")
        results = {}
        for index in indices:
            setting = TEXT_GRID[index]
            probabilities[(scheme, index)] = probs = text_model_probabilities(
                items, features[setting["symbols"]], scheme, setting)
            for zh, en in itertools.product(bounds, bounds):
                results[(index, zh, en)] = combined_rates(items, probs, {"zh": zh, "en": en})
            lines.append(f"  [{index:>2}] {setting}: " + "; ".join(
                f"t={t} {_fmt(results[(index, t, t)])}" for t in thresholds))
        by_scheme[scheme] = (results, rules)
    results, rules = by_scheme["source"]
    picks = {joint: choose(results, rules, joint=joint) for joint in (True, False)}
    for joint, pick in picks.items():
        what = "one bound for both chains" if joint else "a bound per chain"
        lines.append(f"\nchosen, {what} (leave one source out, at most {MAX_KEEP_LOSS:.0%} of each language's keeps "
                     f"lost): " + ("nothing qualifies" if pick is None else
                                   f"[{pick[0]}] {TEXT_GRID[pick[0]]} zh {pick[1]} en {pick[2]}: {_fmt(results[pick])} "
                                   f"(rules {_fmt(rules)}); leaving one file out: {_fmt(by_scheme['file'][0][pick])}"))
    pick = picks[False]
    if pick is None or pick[1] is None and pick[2] is None:
        return "\n".join(lines)
    # The pick's decisions through the real filter stage: per held-out part, the model trained on the rest,
    # appended to the chains with a bound, judging the part's records from the start (clean).
    index, zh, en = pick
    setting, rows = TEXT_GRID[index], features[TEXT_GRID[index]["symbols"]]
    chains = {kind: bound for kind, bound in (("zh", zh), ("en", en)) if bound is not None}
    with tempfile.TemporaryDirectory() as tmp:
        for scheme in ("file", "source"):
            kept: dict[int, bool] = {}
            for n, (_, train, held) in enumerate(folds(items, scheme, setting)):
                model_path, config_path = Path(tmp) / f"{scheme}-{n}.npz", Path(tmp) / f"{scheme}-{n}.yaml"
                write_model(fold_model(items, rows, train, setting), model_path)
                config_path.write_text(yaml.safe_dump(with_text_model(config, model_path, chains), allow_unicode=True),
                                       encoding="utf-8")
                outcomes = judge([items[k]["record"] for k in held], str(config_path))
                kept.update((k, o["kept"]) for k, o in zip(held, outcomes, strict=True))
            expected = [i["rules_kept"] and (chains.get(i["kind"]) is None or p is None or p >= chains[i["kind"]])
                        for i, p in zip(items, probabilities[(scheme, index)], strict=True)]
            agree = sum(kept.get(k) == e for k, e in enumerate(expected))
            real = [{**items[k], "kept": kept[k]} for k in sorted(kept)]
            by_lang = {lang: rates([o for o in real if o["lang"] == lang]) for lang in ("zh", "en")}
            lines.append(f"  through the filter stage, leaving one {scheme} out: " + " ".join(
                f"{lang} {r['keep_recall']:.3f}/{r['drop_recall']:.3f}" for lang, r in by_lang.items())
                + f" ({agree} of {len(items)} decisions as computed above)")
    return "\n".join(lines)


def text_model_figures(path: Path, config: str, model: Path, bounds: dict[str, float | str]) -> str:
    """Per-language keep/drop recall and drop precision on ``path``: the rules alone, then the rules with
    ``model`` appended to the chains of ``bounds`` (kind -> min_keep_prob). Aggregates only (for held-out sets)."""
    import tempfile

    records = load_labelled(path)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        combined = Path(tmp) / "with-text-model.yaml"
        combined.write_text(yaml.safe_dump(with_text_model(config, model.resolve(), bounds), allow_unicode=True),
                            encoding="utf-8")
        for name, cfg in (("rules", config), ("rules + text model", str(combined))):
            outcomes = judge(records, cfg)
            for lang in ("zh", "en"):
                r = rates([o for o in outcomes if o["lang"] == lang])
                if r["keep"] + r["drop"]:
                    lines.append(f"{name:<20} {lang} keep {r['keep']:>3} drop {r['drop']:>3}: keep-recall "
                                 f"{r['keep_recall']:.3f} drop-recall {r['drop_recall']:.3f} "
                                 f"drop-precision {r['drop_precision']:.3f}")
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
                        help="--cv: the page model's threshold (repeatable; default the trainer's); "
                             "--cv-text: the text model's (default TEXT_THRESHOLDS)")
    parser.add_argument("--cv-text", action="append", type=Path, default=[], metavar="FILE",
                        help="cross-validate the text model as one more filter over these labelled files")
    parser.add_argument("--text-model", type=Path, help="judge --input by the rules alone and with this trained "
                                                         "text model appended to the zh and en chains")
    parser.add_argument("--text-bound", action="append", default=[], metavar="KIND=T",
                        help="--text-model: the chains it joins and its min_keep_prob there, e.g. en=0.3 "
                             "(repeatable; default zh=model en=model: the model's own threshold)")
    parser.add_argument("--grid", action="append", type=int, default=[], metavar="I",
                        help="--cv-text: only these settings of TEXT_GRID (repeatable; default all)")
    args = parser.parse_args()
    if args.cv_text:
        print(text_cross_validation(args.cv_text, args.config, tuple(args.threshold) or TEXT_THRESHOLDS,
                                    tuple(args.grid) or None))
        return
    if args.text_model:
        pairs = [b.partition("=") for b in args.text_bound] or [("zh", "=", "model"), ("en", "=", "model")]
        bounds = {kind: value if value == "model" else float(value) for kind, _, value in pairs}
        print(text_model_figures(args.input, args.config, args.text_model, bounds))
        return
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
