"""On-disk knowledge base (SQLite) built from a Wikidata dump and zhwiki/enwiki dumps, queried with flat memory.

Tables: ``entity`` (QID, zh/en label, kind), ``title`` (language, wiki title or redirect → QID; zh titles
in Simplified), ``mention`` (language, label or alias → QID), ``edge`` (head QID, property, tail QID:
entity-valued statements), ``value`` (QID, property, time|quantity, value, unit/precision) for the
properties the schemas render. The rows of each entity are built in the dump-reading workers; the main
process only bulk-inserts them (``executemany``) in one transaction with journaling off, and creates
the indexes after loading (faster than maintaining them). Memory holds one batch of rows.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from tqdm import tqdm

from kg2instruction.wikidata import Entity, read_dump

BATCH = 2_000  # entities per executemany round: ~60k statement rows, a few MB, whatever the dump size
LANGS = ("zh", "en")

SCHEMA = """
CREATE TABLE IF NOT EXISTS entity (qid TEXT, kind TEXT, label_zh TEXT, label_en TEXT);
CREATE TABLE IF NOT EXISTS title (lang TEXT, title TEXT, qid TEXT, PRIMARY KEY (lang, title)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mention (lang TEXT, mention TEXT, qid TEXT, is_label INTEGER);
CREATE TABLE IF NOT EXISTS edge (head TEXT, prop TEXT, tail TEXT);
CREATE TABLE IF NOT EXISTS value (head TEXT, prop TEXT, kind TEXT, value TEXT, unit TEXT);
"""
# Build-time settings: the file is written once to a temporary name and renamed, so a crash loses
# nothing worth journaling. The page cache is bounded (64 MiB); index sorts spill to temporary files,
# not to memory, since the full dump's edge table has over a billion rows.
PRAGMAS = "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=-65536;"
INDEXES = """
CREATE INDEX IF NOT EXISTS entity_by_qid ON entity (qid);
CREATE INDEX IF NOT EXISTS mention_by_text ON mention (lang, mention);
CREATE INDEX IF NOT EXISTS mention_by_qid ON mention (lang, qid);
CREATE INDEX IF NOT EXISTS edge_by_head ON edge (head);
CREATE INDEX IF NOT EXISTS value_by_head ON value (head);
"""


def normalise_title(title: str) -> str:
    """MediaWiki title normal form: underscores as spaces, trimmed, first letter upper case."""
    title = title.replace("_", " ").strip()
    return title[:1].upper() + title[1:]


class KnowledgeBase:
    """Read access to a built KB file for one wiki language; cheap to open in each worker process."""

    def __init__(self, path: Path, lang: str = "zh"):
        if not Path(path).exists():
            raise FileNotFoundError(f"knowledge base {path} not found; build it with `knowforge kg2instruction build`")
        if lang not in LANGS:
            raise ValueError(f"KB language must be one of {LANGS}, not {lang!r}")
        self.path = Path(path)
        self.lang = lang
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def qid_for_title(self, title: str) -> str | None:
        row = self.db.execute("SELECT qid FROM title WHERE lang = ? AND title = ?",
                              (self.lang, normalise_title(title))).fetchone()
        return row[0] if row else None

    def label(self, qid: str, lang: str | None = None) -> str | None:
        column = "label_zh" if (lang or self.lang) == "zh" else "label_en"
        row = self.db.execute(f"SELECT {column} FROM entity WHERE qid = ?", (qid,)).fetchone()
        return row[0] if row else None

    def mentions_of(self, qids: Iterable[str]) -> list[tuple[str, str]]:
        """(mention, QID) for every label and alias of ``qids`` in the KB's language."""
        qids = list(dict.fromkeys(qids))
        rows: list[tuple[str, str]] = []
        for start in range(0, len(qids), 500):
            chunk = qids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self.db.execute(f"SELECT mention, qid FROM mention WHERE lang = ? AND qid IN ({marks})",
                                    [self.lang, *chunk]).fetchall()
        return rows

    def candidates(self, mention: str) -> list[str]:
        rows = self.db.execute("SELECT qid FROM mention WHERE lang = ? AND mention = ?", (self.lang, mention))
        return [r[0] for r in rows]

    def edges(self, qid: str) -> list[tuple[str, str]]:
        """(property, tail QID) of the statements of ``qid``."""
        return self.db.execute("SELECT prop, tail FROM edge WHERE head = ?", (qid,)).fetchall()

    def values(self, qid: str) -> list[tuple[str, str, str, str]]:
        """(property, kind, value, unit) of the time and quantity statements of ``qid``."""
        return self.db.execute("SELECT prop, kind, value, unit FROM value WHERE head = ?", (qid,)).fetchall()

    def close(self) -> None:
        self.db.close()


def entity_rows(entity: Entity, value_props: frozenset[str]) -> dict[str, list[tuple]]:
    """The rows of one entity, per table; runs in the dump-reading workers (see :func:`read_dump`), so the
    main process only extends its batches (a handful of list operations per entity, not one per row)."""
    titles = [(lang, normalise_title(title), entity.id)
              for lang, title in (("zh", entity.zhwiki_title), ("en", entity.enwiki_title)) if title]
    mentions = []
    for lang, label, aliases in (("zh", entity.label_zh, entity.aliases_zh), ("en", entity.label_en, entity.aliases_en)):
        if label:
            mentions.append((lang, label, entity.id, 1))
        mentions += [(lang, alias, entity.id, 0) for alias in aliases]
    return {
        "entity": [(entity.id, entity.kind, entity.label_zh, entity.label_en)],
        "title": titles,
        "mention": mentions,
        "edge": [(entity.id, prop, tail) for prop, tail in entity.edges],
        "value": [(entity.id, prop, kind, value, unit)
                  for prop, kind, value, unit in entity.values if prop in value_props],
    }


INSERT = {
    "entity": "INSERT INTO entity VALUES (?, ?, ?, ?)",
    "title": "INSERT OR IGNORE INTO title VALUES (?, ?, ?)",
    "mention": "INSERT INTO mention VALUES (?, ?, ?, ?)",
    "edge": "INSERT INTO edge VALUES (?, ?, ?)",
    "value": "INSERT INTO value VALUES (?, ?, ?, ?, ?)",
}


def build_kb(
    dumps: Sequence[Path],
    output: Path,
    *,
    value_props: frozenset[str],
    redirects: Iterable[tuple[str, str, str]] = (),
    workers: int = 1,
    progress: bool = True,
) -> Counter:
    """Build the KB at ``output`` (atomically) from Wikidata ``dumps`` and wiki ``redirects``.

    ``redirects`` are (language, redirect title, target title); a redirect maps to its target's QID,
    so links written with a redirect title still resolve.
    """
    counters: Counter = Counter()
    tmp = output.with_name(output.name + ".tmp")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp, isolation_level=None)  # transactions are ours: one for the whole load
    db.executescript(PRAGMAS + SCHEMA)
    db.execute("BEGIN")
    pending: dict[str, list[tuple]] = {table: [] for table in INSERT}
    entities = 0

    def flush() -> None:
        for table, rows in pending.items():
            if rows:
                db.executemany(INSERT[table], rows)
                counters[f"rows_{table}"] += len(rows)
                rows.clear()

    bar = tqdm(desc="wikidata", unit=" entities", disable=not progress)
    rows_of = functools.partial(entity_rows, value_props=value_props)
    for dump in dumps:
        for rows in read_dump(dump, counters, workers=workers, transform=rows_of):
            for table, table_rows in rows.items():
                pending[table] += table_rows
            entities += 1
            if entities % BATCH == 0:
                flush()
                bar.update(BATCH)
    flush()
    bar.close()
    for lang, redirect, target in redirects:
        qid = db.execute("SELECT qid FROM title WHERE lang = ? AND title = ?",
                         (lang, normalise_title(target))).fetchone()
        if qid:
            db.execute(INSERT["title"], (lang, normalise_title(redirect), qid[0]))
            counters["redirects_resolved"] += 1
        else:
            counters["redirects_unresolved"] += 1
    db.execute("COMMIT")
    db.executescript(INDEXES)
    db.close()
    tmp.replace(output)
    return counters
