"""The ``filter`` stage: each document's filter chain from YAML, every decision explained.

Counting, timing, ``meta.reject`` and ``--annotate`` live here once, for every filter (the filters
only score and decide, ``base.py``); which chain a document takes is ``route.py``'s. No filter modifies text.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.route import load_plan
from corpus.filters.view import TextView
from corpus.records import reject

STAGE = "filter"
DEFAULT_CONFIG = "configs/filters/mixed.yaml"


@dataclass(frozen=True, kw_only=True)
class FilterStep:
    """Run the filter chain of each document's route; reject on the first failing filter.

    With ``annotate`` every filter of the chain runs, scores land in ``meta["scores"][filter]`` and the
    verdicts that would have rejected in ``meta["would_reject"]``; nothing is dropped.
    """

    name: ClassVar[str] = STAGE
    config: str = DEFAULT_CONFIG
    annotate: bool = False

    def __post_init__(self) -> None:
        load_plan(self.config)  # fail at construction, with the path, not inside a worker

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        plan = load_plan(self.config)
        for doc in docs:
            # One view per document: lines, words, language ID and the like are computed once for the chain.
            view = TextView(doc["text"])
            kind = plan.kind(doc, view)
            counters[f"filter_route_{kind}"] += 1
            meta = doc.setdefault("meta", {})
            scores = meta.setdefault("scores", {})
            failed: list[dict[str, Any]] = []
            for flt in plan.chains.get(kind, ()):
                start = time.perf_counter()
                scores[flt.name] = result = flt.score(view)
                verdict = flt.decide(result, doc)
                counters[f"filter_seconds_{flt.name}"] += time.perf_counter() - start
                if verdict.keep:
                    continue
                failed.append({"filter": flt.name, "reason": verdict.reason, "value": verdict.value,
                               "threshold": verdict.threshold})
                if not self.annotate:
                    break
            if failed and self.annotate:
                meta["would_reject"] = failed
                for f in failed:
                    counters[f"would_reject_{f['reason']}"] += 1
            elif failed:
                first = failed[0]
                reject(doc, stage=STAGE, reason=first["reason"], value=first["value"],
                       threshold=first["threshold"], filter=first["filter"])
            yield doc
