"""Keep/drop quality of the default ``clean`` + ``filter`` on real documents labelled by hand.

Reads ``../shared/quality/dev.jsonl`` (or ``--input``; records ``{id, text, lang, source, label, why}``)
the way ``read --source jsonl`` would see plain web text: no ``meta.lang``, source ``web``. Prints
keep-recall, drop-recall and precision (of the drop decision) per language and per source repository,
and which reasons dropped ``keep`` documents. Run: ``python benchmarks/filter_quality.py [--show N]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from corpus.filters.base import DEFAULT_CONFIG
from corpus.filters.evaluate import judge, load_labelled, report
from corpus.records import rejection

DEV = Path(__file__).resolve().parents[2] / "shared" / "quality" / "dev.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEV)
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--show", type=int, default=0, help="print the first N chars of every wrong decision")
    args = parser.parse_args()
    outcomes = judge(load_labelled(args.input), args.config)
    print(report(outcomes))
    if args.show:
        for o in outcomes:
            if (o["label"] == "keep") != o["kept"]:
                print(f"\n--- {o['id']} label={o['label']} reason={o['reason']} "
                      f"value={(rejection(o['doc']) or {}).get('value')}\n{o['doc']['text'][:args.show]}")


if __name__ == "__main__":
    main()
