"""The ``kg2instruction`` corpus stage: zhwiki article documents in, one InstructIE record per paragraph out.

Runs in the ordinary runner (so it is parallel, resumable and explains every drop): each article is
linked (:mod:`kg2instruction.link`), labelled by distant supervision and constrained by the schema
(:mod:`kg2instruction.distant`). A paragraph with at least one triple becomes a document whose ``meta``
holds the InstructIE fields (``cate``, ``relation``) and its linked entities; pages and paragraphs that
yield nothing are rejected with the reason. The optional model plug-ins run here too.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from corpus.records import new_doc, reject
from kg2instruction.distant import EntityTyper, constrain, raw_triples
from kg2instruction.kb import KnowledgeBase
from kg2instruction.link import link_page
from kg2instruction.plugins import JsonLinesCommand, complete_triples, nli_filter
from kg2instruction.schema import DEFAULT_SCHEMA, Schema, load_schema

PAGE_NOT_IN_KB = "page_not_in_kb"
PAGE_TOPIC_OTHER = "page_topic_other"
PARAGRAPH_NO_TRIPLES = "paragraph_no_triples"


@lru_cache(maxsize=4)
def _resources(kb_path: str, schema_path: str) -> tuple[KnowledgeBase, Schema, EntityTyper]:
    kb = KnowledgeBase(Path(kb_path))
    schema = load_schema(Path(schema_path))
    return kb, schema, EntityTyper(kb, schema)


@lru_cache(maxsize=4)
def _command(cmd: str) -> JsonLinesCommand:
    return JsonLinesCommand(cmd)


def record_id(text: str) -> str:
    """InstructIE's id: the sha256 hex digest of the paragraph text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True, kw_only=True)
class KG2InstructionStep:
    """Label zhwiki paragraphs with Wikidata triples; ``kb`` is a KB built by ``kg2instruction kb``."""

    name: ClassVar[str] = "kg2instruction"
    conform: ClassVar[None] = None  # paragraphs with InstructIE fields, not corpus documents (corpus/schema.py)
    kb: str
    schema: str = str(DEFAULT_SCHEMA)
    max_chars: int = 512  # InstructIE's paragraph limit, in characters for Chinese
    min_alias_chars: int = 2  # one-character aliases are too ambiguous unless the page links them
    nli_cmd: str | None = None  # JSON-lines command scoring triples against text (off by default)
    nli_threshold: float = 0.5  # InstructIE drops a triple when every entailment score is <= 0.5
    complete_cmd: str | None = None  # JSON-lines command proposing triples the graph lacks (off)

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        kb, schema, typer = _resources(self.kb, self.schema)
        value_props = schema.value_properties()
        for doc in docs:
            counters["pages"] += 1
            page_qid, paras = link_page(
                doc, kb, max_chars=self.max_chars, min_alias_chars=self.min_alias_chars, counters=counters
            )
            if page_qid is None:
                yield reject(doc, stage=self.name, reason=PAGE_NOT_IN_KB, value=doc["meta"].get("title"))
                continue
            page_type = typer.type_of(page_qid)
            topic = schema.topics.get(page_type or "")
            if topic is None:
                yield reject(doc, stage=self.name, reason=PAGE_TOPIC_OTHER, value=page_type, page_qid=page_qid)
                continue
            for offset, text, mentions in paras:
                counters["paragraphs"] += 1
                candidates = raw_triples(mentions, text, kb, value_props, counters)
                counters["pairs_with_statement"] += len(candidates)
                relations = constrain(topic, mentions, candidates, schema, typer, counters)
                if self.complete_cmd:
                    relations = complete_triples(_command(self.complete_cmd), text, topic, relations, schema, counters)
                if self.nli_cmd:
                    relations = nli_filter(_command(self.nli_cmd), text, relations, self.nli_threshold, counters)
                para = new_doc(
                    record_id(text),
                    text,
                    "kg2instruction",
                    {
                        "cate": topic,
                        "relation": relations,
                        "page_id": doc["id"],
                        "title": doc["meta"].get("title"),
                        "page_qid": page_qid,
                        "offset": offset,
                        "entity": [[m.text, m.qid, m.start, m.end] for m in mentions],
                    },
                )
                if not relations:
                    yield reject(para, stage=self.name, reason=PARAGRAPH_NO_TRIPLES, value=len(mentions))
                    continue
                counters[f"topic:{topic}"] += 1
                counters["triples"] += len(relations)
                yield para
