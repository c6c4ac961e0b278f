"""The corpus document record: a plain dict ``{"id", "text", "source", "meta"}``.

Documents stay plain dicts (not a class) so they serialise with orjson at full speed and
cross process and Ray boundaries untouched. Stages add keys to ``meta`` and never drop them.
A stage rejects a document by calling :func:`reject`, which records why in
``meta["reject"]``; the runner routes such documents to ``rejected/``.
"""

from __future__ import annotations

from typing import Any

REQUIRED_FIELDS = ("id", "text")


def new_doc(id: str, text: str, source: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build a document record; ``id`` must be stable across reruns (e.g. ``zhwiki:12345``)."""
    return {"id": id, "text": text, "source": source, "meta": dict(meta or {})}


def reject(
    doc: dict[str, Any],
    *,
    stage: str,
    reason: str,
    value: Any = None,
    threshold: Any = None,
    **details: Any,
) -> dict[str, Any]:
    """Mark ``doc`` as rejected by ``stage`` for ``reason`` (a named constant) and return it.

    ``value`` is the measured score that decided, ``threshold`` the bound it crossed;
    ``details`` (e.g. ``filter=``, ``kept_id=``, ``line=``) are stored beside them. Each key must be
    declared in ``corpus/schema.py``; on write, a value or threshold that is not a number goes to
    ``value_text`` / ``threshold_text`` as JSON text.
    """
    record: dict[str, Any] = {"stage": stage, "reason": reason, "value": value, "threshold": threshold}
    record.update(details)
    doc.setdefault("meta", {})["reject"] = record
    return doc


def rejection(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The ``meta["reject"]`` record of a rejected document, or None if it was kept."""
    meta = doc.get("meta")
    return meta.get("reject") if isinstance(meta, dict) else None
