"""WuDaoCorpora 2.0 JSON files: a bare array or ``{"RECORDS": [...]}`` of ``{id, uniqueKey, titleUkey,
dataType, title, content}``, streamed record by record (the public files are ~200 MB each).

``content`` becomes the text; title, dataType and the keys go to ``meta``. No cleaning happens here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from corpus.readers.jsonstream import JsonRecordReader
from corpus.records import new_doc
from corpus.shards import MISSING_TEXT, malformed_doc, shard_name


@dataclass(frozen=True, kw_only=True)
class WudaoReader(JsonRecordReader):
    """One document per WuDao record; id ``wudao:{uniqueKey}`` when set, else ``wudao:{file}:{id}``."""

    name: ClassVar[str] = "wudao"

    def document(self, path: Path, number: int, record: dict[str, Any], source: str,
                 counters: Counter) -> dict[str, Any]:
        text = record.get("content")
        if not isinstance(text, str) or not text.strip():
            return malformed_doc(path, number, MISSING_TEXT, orjson.dumps(record)[:2000], field="content")
        key = record.get("uniqueKey")
        record_id = record.get("id", number)
        doc_id = f"{source}:{key}" if isinstance(key, str) and key else f"{source}:{shard_name(path)}:{record_id}"
        meta = {k: record[k] for k in ("title", "dataType", "titleUkey", "uniqueKey") if record.get(k)}
        meta["record_id"] = record_id
        meta["lang"] = self.lang
        return new_doc(doc_id, text, source, meta)
