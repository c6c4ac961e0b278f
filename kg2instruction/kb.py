"""On-disk knowledge base (SQLite) built from a Wikidata dump and a zhwiki dump, queried with flat memory.

Tables: ``entity`` (QID, zh/en label, kind), ``title`` (zhwiki title or redirect, Simplified → QID),
``mention`` (zh label or alias → QID), ``edge`` (head QID, property, tail QID: entity-valued statements),
``value`` (QID, property, time|quantity, value, unit/precision) for the properties the schema renders.
Rows are inserted in batches inside one transaction per batch, so building reads the dump once and
holds only a batch in memory. Indexes are created after loading (faster than maintaining them).
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from kg2instruction.wikidata import Entity, read_dump

BATCH = 2_000  # entities per transaction: ~60k statement rows, a few MB, whatever the dump size

SCHEMA = """
CREATE TABLE IF NOT EXISTS entity (qid TEXT PRIMARY KEY, kind TEXT, label_zh TEXT, label_en TEXT);
CREATE TABLE IF NOT EXISTS title (title TEXT PRIMARY KEY, qid TEXT);
CREATE TABLE IF NOT EXISTS mention (mention TEXT, qid TEXT, is_label INTEGER);
CREATE TABLE IF NOT EXISTS edge (head TEXT, prop TEXT, tail TEXT);
CREATE TABLE IF NOT EXISTS value (head TEXT, prop TEXT, kind TEXT, value TEXT, unit TEXT);
"""
INDEXES = """
CREATE INDEX IF NOT EXISTS mention_by_text ON mention (mention);
CREATE INDEX IF NOT EXISTS mention_by_qid ON mention (qid);
CREATE INDEX IF NOT EXISTS edge_by_head ON edge (head);
CREATE INDEX IF NOT EXISTS value_by_head ON value (head);
"""


def normalise_title(title: str) -> str:
    """MediaWiki title normal form: underscores as spaces, trimmed, first letter upper case."""
    title = title.replace("_", " ").strip()
    return title[:1].upper() + title[1:]


class KnowledgeBase:
    """Read access to a built KB file; cheap to open in each worker process."""

    def __init__(self, path: Path):
        if not Path(path).exists():
            raise FileNotFoundError(f"knowledge base {path} not found; build it with `knowforge kg2instruction kb`")
        self.path = Path(path)
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def qid_for_title(self, title: str) -> str | None:
        row = self.db.execute("SELECT qid FROM title WHERE title = ?", (normalise_title(title),)).fetchone()
        return row[0] if row else None

    def label(self, qid: str, lang: str = "zh") -> str | None:
        column = "label_zh" if lang == "zh" else "label_en"
        row = self.db.execute(f"SELECT {column} FROM entity WHERE qid = ?", (qid,)).fetchone()
        return row[0] if row else None

    def mentions_of(self, qids: Iterable[str]) -> list[tuple[str, str]]:
        """(mention, QID) for every zh label and alias of ``qids``."""
        qids = list(dict.fromkeys(qids))
        rows: list[tuple[str, str]] = []
        for start in range(0, len(qids), 500):
            chunk = qids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT mention, qid FROM mention WHERE qid IN ({marks})", chunk).fetchall()
        return rows

    def candidates(self, mention: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT qid FROM mention WHERE mention = ?", (mention,))]

    def edges(self, qid: str) -> list[tuple[str, str]]:
        """(property, tail QID) of the statements of ``qid``."""
        return self.db.execute("SELECT prop, tail FROM edge WHERE head = ?", (qid,)).fetchall()

    def values(self, qid: str) -> list[tuple[str, str, str, str]]:
        """(property, kind, value, unit) of the time and quantity statements of ``qid``."""
        return self.db.execute("SELECT prop, kind, value, unit FROM value WHERE head = ?", (qid,)).fetchall()

    def close(self) -> None:
        self.db.close()


def _entity_rows(entity: Entity, value_props: frozenset[str]):
    yield "entity", (entity.id, entity.kind, entity.label_zh, entity.label_en)
    if entity.zhwiki_title:
        yield "title", (normalise_title(entity.zhwiki_title), entity.id)
    if entity.label_zh:
        yield "mention", (entity.label_zh, entity.id, 1)
    for alias in entity.aliases_zh:
        yield "mention", (alias, entity.id, 0)
    for prop, tail in entity.edges:
        yield "edge", (entity.id, prop, tail)
    for prop, kind, value, unit in entity.values:
        if prop in value_props:
            yield "value", (entity.id, prop, kind, value, unit)


INSERT = {
    "entity": "INSERT OR REPLACE INTO entity VALUES (?, ?, ?, ?)",
    "title": "INSERT OR IGNORE INTO title VALUES (?, ?)",
    "mention": "INSERT INTO mention VALUES (?, ?, ?)",
    "edge": "INSERT INTO edge VALUES (?, ?, ?)",
    "value": "INSERT INTO value VALUES (?, ?, ?, ?, ?)",
}


def build_kb(
    dumps: Sequence[Path],
    output: Path,
    *,
    value_props: frozenset[str],
    redirects: Iterable[tuple[str, str]] = (),
    workers: int = 1,
    progress: bool = True,
) -> Counter:
    """Build the KB at ``output`` (atomically) from Wikidata ``dumps`` and zhwiki ``redirects``.

    ``redirects`` are (redirect title, target title) pairs; a redirect maps to its target's QID,
    so links written with a redirect title still resolve.
    """
    counters: Counter = Counter()
    tmp = output.with_name(output.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
    pending: dict[str, list[tuple]] = {table: [] for table in INSERT}

    def flush() -> None:
        with db:
            for table, rows in pending.items():
                if rows:
                    db.executemany(INSERT[table], rows)
                    counters[f"rows_{table}"] += len(rows)
                    rows.clear()

    bar = tqdm(desc="wikidata", unit=" entities", disable=not progress)
    for dump in dumps:
        for entity in read_dump(dump, counters, workers=workers):
            for table, row in _entity_rows(entity, value_props):
                pending[table].append(row)
            bar.update()
            if len(pending["entity"]) >= BATCH:
                flush()
    flush()
    bar.close()
    for redirect, target in redirects:
        qid = db.execute("SELECT qid FROM title WHERE title = ?", (normalise_title(target),)).fetchone()
        if qid:
            db.execute(INSERT["title"], (normalise_title(redirect), qid[0]))
            counters["redirects_resolved"] += 1
        else:
            counters["redirects_unresolved"] += 1
    db.commit()
    db.executescript(INDEXES)
    db.close()
    tmp.replace(output)
    return counters
