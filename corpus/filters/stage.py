"""The ``filter`` stage: each document's filter chain from YAML, every decision explained.

Counting, timing, ``meta.reject`` and ``--annotate`` live here once, for every filter (the filters
only score and decide, ``base.py``); which chain a document takes is ``route.py``'s. No filter modifies text.
Documents are taken in small batches and each filter of a chain scores the batch's documents in one call.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from corpus.filters.route import Plan, load_plan
from corpus.filters.view import TextView
from corpus.records import reject

STAGE = "filter"
# The reason of a document on which a filter raised (its value: the error): quarantined, not fatal.
FILTER_ERROR = "filter_error"
DEFAULT_CONFIG = "configs/filters/mixed.yaml"
# A batch ends after this many documents or characters. Running one filter over many documents in a
# row keeps its tables warm in the CPU caches (lid.176's quantised matrices, the Aho-Corasick automaton,
# compiled regexes): lid.176's predict took 31 us on a 0.5 KB Chinese document in a loop of predicts and
# 56-62 us between the other filters' calls; the zh chain on 0.5 KB documents ran 2.0 -> 2.6 MB/s per
# CPU-second (benchmarks/RESULTS.md, #20 session 4). The tables are reloaded once per filter and batch,
# so 1,024 documents amortise it further than 256 where other processes share the caches (0.5 KB
# documents on a saturated machine: langid 60 -> 49 us, zh and en chains ~12% faster; on a quiet one no
# gain was seen, #20 session 5); the pages of ~2-4 KB reach the character bound first, and 4,096 gained
# nothing more. The character bound keeps the batch's views (lines, words, normalised text) to a few
# tens of MB when the documents are large.
BATCH_DOCS = 1024
BATCH_CHARS = 1_000_000


def batches(docs: Iterable[dict[str, Any]], max_docs: int = BATCH_DOCS,
            max_chars: int = BATCH_CHARS) -> Iterator[list[dict[str, Any]]]:
    """``docs`` in order, in lists of at most ``max_docs`` documents that end once they hold ``max_chars``
    characters of text (so one huge document is a batch of its own)."""
    batch: list[dict[str, Any]] = []
    chars = 0
    for doc in docs:
        batch.append(doc)
        chars += len(doc["text"])
        if len(batch) >= max_docs or chars >= max_chars:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _score_guarded(flt: Any, views: list[TextView]) -> list[Any]:
    """``flt.score_batch(views)``; if the batch raises, each view is scored alone, and a view that still
    raises gets its exception in place of scores. A batch call shares passes between documents, so one
    document no filter foresaw (a lone surrogate that OpenCC cannot encode, say) would otherwise stop the
    whole shard, and with it a long run."""
    try:
        return flt.score_batch(views)
    except Exception:  # noqa: BLE001 - any error: the document that caused it is found below
        results: list[Any] = []
        for view in views:
            try:
                results.extend(flt.score_batch([view]))
            except Exception as err:  # noqa: BLE001 - quarantined with its error, the run goes on
                results.append(err)
        return results


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
        for batch in batches(docs, BATCH_DOCS, BATCH_CHARS):  # read here, not bound as defaults: tests set them
            yield from self._run(plan, batch, counters)

    def _run(self, plan: Plan, batch: list[dict[str, Any]], counters: Counter) -> list[dict[str, Any]]:
        """Filter one batch; the documents come back in their order, each with what one pass would give it:
        the same scores in the same (chain) order, the same verdicts. Filters are pure, so the order in
        which documents meet a filter changes nothing but the speed."""
        # One view per document: lines, words, language ID and the like are computed once for the chain.
        views = [TextView(doc["text"]) for doc in batch]
        routes: dict[str, list[int]] = {}  # kind -> positions in the batch, in order
        for i, (doc, view) in enumerate(zip(batch, views, strict=True)):
            kind = plan.kind(doc, view)
            counters[f"filter_route_{kind}"] += 1
            routes.setdefault(kind, []).append(i)
        scores = [doc.setdefault("meta", {}).setdefault("scores", {}) for doc in batch]
        failed: dict[int, list[dict[str, Any]]] = {}
        for kind, alive in routes.items():
            for flt in plan.chains.get(kind, ()):
                if not alive:
                    break
                name, survivors = flt.name, []
                start = time.perf_counter()
                # One call for the batch's documents still in the chain: a filter may measure them all at
                # once (one RE2 pass over the batch instead of a regex per document, base.batch_contains).
                results = _score_guarded(flt, [views[i] for i in alive])
                for i, result in zip(alive, results, strict=True):
                    if isinstance(result, BaseException):
                        # One document a filter cannot score is rejected with the error; the run goes on.
                        counters[f"filter_error_{name}"] += 1
                        failed.setdefault(i, []).append({"filter": name, "reason": FILTER_ERROR,
                                                         "value": f"{type(result).__name__}: {result}"[:200],
                                                         "threshold": None})
                        continue
                    scores[i][name] = result
                    verdict = flt.decide(result, batch[i])
                    if not verdict.keep:
                        failed.setdefault(i, []).append({"filter": name, "reason": verdict.reason,
                                                         "value": verdict.value, "threshold": verdict.threshold})
                        if not self.annotate:
                            continue  # rejected: the rest of its chain does not run
                    survivors.append(i)
                counters[f"filter_seconds_{name}"] += time.perf_counter() - start
                alive = survivors
        for i, failures in failed.items():
            if self.annotate:
                batch[i]["meta"]["would_reject"] = failures
                for f in failures:
                    counters[f"would_reject_{f['reason']}"] += 1
            else:
                first = failures[0]
                reject(batch[i], stage=STAGE, reason=first["reason"], value=first["value"],
                       threshold=first["threshold"], filter=first["filter"])
        return batch
