"""Routing a document to its filter chain, and loading the filter YAML that declares the chains.

A config is either ``filters:`` (one chain for every document) or ``route:`` (a chain per kind: ``code``,
a language such as ``zh``/``en``, ``default``) with optional ``sources:`` that pin a source to a kind.
The kind comes from ``meta`` (source, code markers, ``meta.lang``), else from fastText language ID.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from corpus.builder import ConfigError
from corpus.filters.base import Filter, resolve_path
from corpus.filters.langid import detect
from corpus.filters.registry import build_filter
from corpus.filters.view import TextView
from corpus.text import is_code


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
            lang, _ = detect(view if view is not None else doc.get("text") or "")
            lang = {"wuu": "zh", "yue": "zh"}.get(lang, lang)  # Chinese varieties take the zh chain
        lang = lang.replace("_", "-").split("-")[0]
        return lang if lang in self.chains else "default"


def _chain(spec: Any, base: Path) -> tuple[Filter, ...]:
    """A chain is a list of ``{filter_name: {options}}`` or the name of another YAML holding ``filters:``."""
    if isinstance(spec, str):
        spec = _read_yaml(resolve_path(spec, base)).get("filters")
    if not isinstance(spec, list):
        raise ConfigError(f"a filter chain must be a list of {{name: options}}, got {spec!r}")
    chain = []
    for item in spec:
        if isinstance(item, str):
            item = {item: {}}
        if not isinstance(item, dict) or len(item) != 1:
            raise ConfigError(f"each filter entry is one {{name: options}} mapping, got {item!r}")
        (name, options), = item.items()
        chain.append(build_filter(name, options))
    return tuple(chain)


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return data


@functools.lru_cache(maxsize=16)
def load_plan(config: str) -> Plan:
    """Load a filter YAML once per process: ``filters:`` (one chain for all) or ``route:`` per kind."""
    path = resolve_path(config)
    data = _read_yaml(path)
    unknown = sorted(set(data) - {"filters", "route", "sources"})
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; use filters, route, sources")
    if "filters" in data:
        chains = {"all": _chain(data["filters"], path.parent)}
    elif "route" in data:
        chains = {str(kind): _chain(spec, path.parent) for kind, spec in data["route"].items()}
        chains.setdefault("default", ())
    else:
        raise ConfigError(f"{path}: needs `filters:` or `route:`")
    return Plan(chains=chains, sources={str(k): str(v) for k, v in (data.get("sources") or {}).items()})
