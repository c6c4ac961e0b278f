"""The on-disk response cache of ``instruct.llm`` (SQLite, keyed by sha256 of model, messages and sampling
parameters) and the ingestion of OpenAI Batch API output files into it, so no request is paid twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from instruct.llm_cost import Accounting


def cache_key(model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of (model, messages, params): equal requests, equal keys."""
    payload = {"model": model, "messages": [dict(m) for m in messages], "params": dict(params)}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()



class ResponseCache:
    """Completed chat responses on disk (SQLite, WAL), keyed by :func:`cache_key`.

    Each response is committed as soon as it arrives, so a run killed with ``kill -9`` loses at most
    the requests in flight. Batch request bodies are kept too, so ``batch-ingest`` accepts only
    answers to requests this cache wrote.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process kills
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, model TEXT, response TEXT,"
            " source TEXT, created REAL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS batch_requests (key TEXT PRIMARY KEY, body TEXT)")

    def get(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, model: str, response: Mapping[str, Any], *, source: str = "online") -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
            (key, model, json.dumps(response, ensure_ascii=False), source, time.time()),
        )

    def __contains__(self, key: object) -> bool:
        return self._db.execute("SELECT 1 FROM responses WHERE key = ?", (key,)).fetchone() is not None

    def keys(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT key FROM responses")}

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def add_batch_request(self, key: str, body: Mapping[str, Any]) -> None:
        self._db.execute("INSERT OR REPLACE INTO batch_requests VALUES (?, ?)", (key, json.dumps(body)))

    def batch_request(self, key: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT body FROM batch_requests WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        self._db.close()



# --- batch output ingestion ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class IngestReport:
    """What :func:`ingest_batch_output` did with each line of a batch output file."""

    stored: int
    errors: int
    unknown: int
    malformed: int
    accounting: Accounting


def ingest_batch_output(path: Path, cache: ResponseCache) -> IngestReport:
    """Store the successful answers of an OpenAI Batch API output file in ``cache``.

    Each line is ``{"custom_id", "response": {"status_code", "body"}, "error"}``; ``custom_id`` is the
    cache key written by ``--batch``. Lines with an error or a non-200 status are counted and left out,
    so the next run sends those requests again; ids this cache never wrote are counted as unknown.
    """
    stored = errors = unknown = malformed = 0
    accounting = Accounting()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                key = item["custom_id"]
                response = item.get("response") or {}
            except (ValueError, KeyError, TypeError):
                malformed += 1
                continue
            request = cache.batch_request(key)
            if request is None:
                unknown += 1
                continue
            body = response.get("body")
            if item.get("error") or response.get("status_code") != 200 or not isinstance(body, dict):
                errors += 1
                continue
            cache.put(key, request["model"], body, source="batch")
            accounting.add_usage(body.get("usage"), batch=True)
            stored += 1
    return IngestReport(stored=stored, errors=errors, unknown=unknown, malformed=malformed, accounting=accounting)
