"""WuDaoCorpora 2.0 JSON files: a bare array or ``{"RECORDS": [...]}`` of ``{id, uniqueKey, titleUkey,
dataType, title, content}``, streamed record by record (the public files are ~200 MB each).

``content`` becomes the text; title, dataType and the keys go to ``meta``. No cleaning happens here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from corpus.readers.jsonl import discover_files
from corpus.readers.jsonstream import JSON_SUFFIXES, iter_records
from corpus.records import new_doc
from corpus.shards import MISSING_TEXT, malformed_doc, shard_name


@dataclass(frozen=True, kw_only=True)
class WudaoReader:
    """One document per WuDao record; id ``wudao:{uniqueKey}`` when set, else ``wudao:{file}:{id}``."""

    name: ClassVar[str] = "wudao"
    source_name: str | None = None
    lang: str = "zh"

    def discover(self, paths: Sequence[Path]) -> list[Path]:
        """JSON files named in ``paths`` or found under directories, sorted."""
        return discover_files([Path(p) for p in paths], JSON_SUFFIXES)

    def __call__(self, path: Path, counters: Counter) -> Iterator[dict[str, Any]]:
        """Documents of ``path`` in file order; malformed records come out rejected."""
        source = self.source_name or self.name
        for number, record, bad in iter_records(Path(path)):
            if bad is not None:
                yield bad
                continue
            text = record.get("content")
            if not isinstance(text, str) or not text.strip():
                yield malformed_doc(path, number, MISSING_TEXT, orjson.dumps(record)[:2000], field="content")
                continue
            key = record.get("uniqueKey")
            record_id = record.get("id", number)
            doc_id = f"{source}:{key}" if isinstance(key, str) and key else f"{source}:{shard_name(Path(path))}:{record_id}"
            meta = {k: record[k] for k in ("title", "dataType", "titleUkey", "uniqueKey") if record.get(k)}
            meta["record_id"] = record_id
            meta["lang"] = self.lang
            yield new_doc(doc_id, text, source, meta)
