"""The ``filter`` stage: an ordered list of document filters from YAML, every decision explained.

A filter is a small frozen dataclass with a pure ``score(text) -> dict`` and a ``decide(scores, doc)
-> Verdict``; counting, timing, ``meta.reject`` and ``--annotate`` live once, in :class:`FilterStep`
(datatrove's filter/writer split, data-juicer's stats-then-decide). A mixed config routes each document
to the zh, en or code chain by ``meta.lang``, source or language ID. No filter modifies text.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import yaml

from corpus.filters.view import TextView
from corpus.records import reject
from corpus.resources import resolve
from corpus.text import is_code

Scores = dict[str, Any]

STAGE = "filter"
DEFAULT_CONFIG = "configs/filters/mixed.yaml"


class Verdict(NamedTuple):
    """A filter's decision: keep, or the named reason plus the measured value and the bound it crossed."""

    keep: bool
    reason: str | None = None
    value: Any = None
    threshold: Any = None


KEEP = Verdict(True)


def first_violation(scores: Scores, rules: list[tuple[str, str, float | None, str]]) -> Verdict:
    """The first rule ``(reason, score_key, bound, "min"|"max")`` that ``scores`` break, else KEEP.

    A bound of None switches its rule off, so every threshold in YAML can be disabled with ``null``.
    """
    for reason, key, bound, kind in rules:
        if bound is None:
            continue
        value = scores[key]
        if (kind == "max" and value > bound) or (kind == "min" and value < bound):
            return Verdict(False, reason, round(float(value), 4), bound)
    return KEEP


class Filter:
    """Behaviour shared by all filters; subclasses are frozen keyword-only dataclasses with a ``name``."""

    name: ClassVar[str]

    def score(self, text: str | TextView) -> Scores:
        """Measure ``text`` (a string, or the stage's shared :class:`TextView` of it); pure, no side effects.
        Override in subclasses."""
        return {}

    def decide(self, scores: Scores, doc: dict[str, Any]) -> Verdict:
        """Turn scores (and, where needed, ``doc["meta"]``) into a verdict. Override in subclasses."""
        return KEEP

    def keep(self, doc: dict[str, Any]) -> Verdict:
        """Score ``doc["text"]`` and decide, in one call (handy in tests and notebooks)."""
        return self.decide(self.score(doc["text"]), doc)


def filter_table() -> dict[str, type[Filter]]:
    """The one explicit table of filter names usable in a filter YAML."""
    from corpus.filters.c4 import C4Filter
    from corpus.filters.code import CodeFilter
    from corpus.filters.gopher import GopherQualityFilter, GopherRepetitionFilter
    from corpus.filters.harmful import HarmfulFilter
    from corpus.filters.langid import LangIdFilter
    from corpus.filters.promo import PromoFilter
    from corpus.filters.quality_zh import ZhQualityFilter

    return {
        cls.name: cls
        for cls in (
            ZhQualityFilter,
            GopherQualityFilter,
            GopherRepetitionFilter,
            C4Filter,
            CodeFilter,
            LangIdFilter,
            HarmfulFilter,
            PromoFilter,
        )
    }


def build_filter(name: str, options: dict[str, Any] | None) -> Filter:
    """Construct filter ``name`` from YAML options, rejecting unknown keys with one clear line."""
    table = filter_table()
    if name not in table:
        raise ValueError(f"unknown filter {name!r}; known: {', '.join(sorted(table))}")
    cls = table[name]
    options = dict(options or {})
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"filter {name!r} has no option {', '.join(unknown)}; it takes: {', '.join(sorted(known))}")
    return cls(**options)


def resolve_path(path: str | Path, base: Path | None = None) -> Path:
    """Find a config or list file: as given, then beside ``base``, then among the shipped ``configs/``."""
    try:
        return resolve(path, base)
    except FileNotFoundError:
        raise FileNotFoundError(f"filter config or list not found: {path}") from None


@dataclass(frozen=True)
class Plan:
    """A loaded filter config: filter chains per document kind, and how to tell the kind."""

    chains: dict[str, tuple[Filter, ...]]
    sources: dict[str, str]

    def kind(self, doc: dict[str, Any], view: TextView | None = None) -> str:
        """The route for ``doc``: ``code``, a language code such as ``zh``/``en``, or ``default``.

        ``view`` (of ``doc["text"]``) keeps the language ID result for the chain's langid filter."""
        if "all" in self.chains:
            return "all"
        meta = doc.get("meta") or {}
        source = str(doc.get("source") or "")
        if source in self.sources:
            return self.sources[source]
        if is_code(doc):
            return "code"
        lang = str(meta.get("lang") or "").lower()
        if not lang:
            from corpus.filters.langid import detect

            lang, _ = detect(view if view is not None else doc.get("text") or "")
            lang = {"wuu": "zh", "yue": "zh"}.get(lang, lang)  # Chinese varieties take the zh chain
        lang = lang.replace("_", "-").split("-")[0]
        return lang if lang in self.chains else "default"


def _chain(spec: Any, base: Path) -> tuple[Filter, ...]:
    """A chain is a list of ``{filter_name: {options}}`` or the name of another YAML holding ``filters:``."""
    if isinstance(spec, str):
        spec = _read_yaml(resolve_path(spec, base)).get("filters")
    if not isinstance(spec, list):
        raise ValueError(f"a filter chain must be a list of {{name: options}}, got {spec!r}")
    chain = []
    for item in spec:
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ValueError(f"each filter entry is one {{name: options}} mapping, got {item!r}")
        (name, options), = item.items()
        chain.append(build_filter(name, options))
    return tuple(chain)


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


@functools.lru_cache(maxsize=16)
def load_plan(config: str) -> Plan:
    """Load a filter YAML once per process: ``filters:`` (one chain for all) or ``route:`` per kind."""
    path = resolve_path(config)
    data = _read_yaml(path)
    unknown = sorted(set(data) - {"filters", "route", "sources"})
    if unknown:
        raise ValueError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; use filters, route, sources")
    if "filters" in data:
        chains = {"all": _chain(data["filters"], path.parent)}
    elif "route" in data:
        chains = {str(kind): _chain(spec, path.parent) for kind, spec in data["route"].items()}
        chains.setdefault("default", ())
    else:
        raise ValueError(f"{path}: needs `filters:` or `route:`")
    return Plan(chains=chains, sources={str(k): str(v) for k, v in (data.get("sources") or {}).items()})


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
