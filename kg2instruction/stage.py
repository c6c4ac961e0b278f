"""The ``kg2instruction`` corpus stage: zhwiki/enwiki article documents in, one InstructIE record per paragraph out.

Runs in the ordinary runner (so it is parallel, resumable and explains every drop): each article is
linked (:mod:`kg2instruction.link`), labelled by distant supervision and constrained by the schema
(:mod:`kg2instruction.distant`). A paragraph with at least one triple becomes a document whose ``meta``
holds the InstructIE fields (``cate``, ``relation``) and its linked entities; pages and paragraphs that
yield nothing are rejected with the reason. Each page is read with its language's KB view and schema
(``meta.lang`` from the wiki reader). The optional command plug-ins run here too; the LLM model steps
run after this stage (:mod:`kg2instruction.models`), and with ``defer_other`` a page whose type the
rule table does not map is passed on whole (``meta.topic_pending``) for the topic model to classify.
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
from kg2instruction.kb import LANGS, KnowledgeBase
from kg2instruction.link import link_page
from kg2instruction.plugins import JsonLinesCommand, complete_triples, nli_filter
from kg2instruction.schema import Schema, load_schema, schema_path

PAGE_NOT_IN_KB = "page_not_in_kb"
PAGE_TOPIC_OTHER = "page_topic_other"
PAGE_LANG_NOT_SELECTED = "page_lang_not_selected"
PARAGRAPH_NO_TRIPLES = "paragraph_no_triples"


@lru_cache(maxsize=4)
def resources(kb_path: str, schema_file: str, lang: str) -> tuple[KnowledgeBase, Schema, EntityTyper]:
    """The KB view, schema and typer of one language, opened once per process."""
    kb = KnowledgeBase(Path(kb_path), lang)
    schema = load_schema(Path(schema_file))
    if schema.lang != lang:
        raise ValueError(f"{schema_file} is a schema for {schema.lang!r}, not for {lang!r} pages")
    return kb, schema, EntityTyper(kb, schema)


@lru_cache(maxsize=4)
def _command(cmd: str) -> JsonLinesCommand:
    return JsonLinesCommand(cmd)


def record_id(text: str) -> str:
    """InstructIE's id: the sha256 hex digest of the paragraph text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def page_lang(doc: dict[str, Any]) -> str:
    """``zh`` or ``en`` from the reader's ``meta.lang`` (``zh-classical`` is not ``zh``); else the id's wiki."""
    lang = (doc.get("meta") or {}).get("lang") or str(doc.get("id", "")).split("wiki:")[0]
    return "zh" if lang in ("zh", "zh-hans", "zh-cn") else lang


@dataclasses.dataclass(frozen=True, kw_only=True)
class KG2InstructionStep:
    """Label wiki paragraphs with Wikidata triples; ``kb`` is a KB built by :func:`build_kb`."""

    name: ClassVar[str] = "kg2instruction"
    conform: ClassVar[None] = None  # paragraphs with InstructIE fields, not corpus documents (corpus/schema.py)
    kb: str
    langs: tuple[str, ...] = ("zh",)  # pages of other languages are rejected as page_lang_not_selected
    schema_zh: str = str(schema_path("zh"))
    schema_en: str = str(schema_path("en"))
    max_len: int = 512  # InstructIE's paragraph limit: characters for Chinese, words for English
    min_alias_chars: int = 2  # one-character aliases are too ambiguous unless the page links them
    nli_cmd: str | None = None  # JSON-lines command scoring triples against text (off by default)
    nli_threshold: float = 0.5  # InstructIE drops a triple when every entailment score is <= 0.5
    complete_cmd: str | None = None  # JSON-lines command proposing triples the graph lacks (off)
    defer_other: bool = False  # pass pages of unmapped types on whole, for the topic model

    def __post_init__(self) -> None:
        unknown = set(self.langs) - set(LANGS)  # any sequence of languages; run_build passes a tuple
        if unknown or not self.langs:
            raise ValueError(f"langs must be a non-empty choice of zh and en, not {self.langs!r}")

    def resources(self, lang: str) -> tuple[KnowledgeBase, Schema, EntityTyper]:
        return resources(self.kb, self.schema_zh if lang == "zh" else self.schema_en, lang)

    def __call__(self, docs: Iterator[dict[str, Any]], counters: Counter) -> Iterator[dict[str, Any]]:
        for doc in docs:
            counters["pages"] += 1
            lang = page_lang(doc)
            if lang not in self.langs:
                yield reject(doc, stage=self.name, reason=PAGE_LANG_NOT_SELECTED, value=lang)
                continue
            yield from self.label_page(doc, lang, None, counters)

    def label_page(
        self, doc: dict[str, Any], lang: str, topic: str | None, counters: Counter
    ) -> Iterator[dict[str, Any]]:
        """The page's paragraph records (and rejections); ``topic`` overrides the rule table (topic model)."""
        kb, schema, typer = self.resources(lang)
        page_qid, paras = link_page(
            doc, kb, max_len=self.max_len, min_alias_chars=self.min_alias_chars, counters=counters
        )
        if page_qid is None:
            yield reject(doc, stage=self.name, reason=PAGE_NOT_IN_KB, value=doc["meta"].get("title"))
            return
        page_type = typer.type_of(page_qid)
        known_types = {}
        if topic is not None and schema.topics.get(page_type or "") != topic:
            # The topic model placed the page: its entity takes the topic's type (the rule table inverted).
            known_types[page_qid] = next(t for t, name in schema.topics.items() if name == topic)
        topic = topic or schema.topics.get(page_type or "")
        if topic is None:
            if self.defer_other:
                counters["pages_topic_pending"] += 1
                yield {**doc, "meta": {**doc["meta"], "topic_pending": True, "page_qid": page_qid, "lang": lang}}
            else:
                yield reject(doc, stage=self.name, reason=PAGE_TOPIC_OTHER, value=page_type, page_qid=page_qid)
            return
        value_props = schema.value_properties()
        for offset, text, mentions in paras:
            counters["paragraphs"] += 1
            candidates = raw_triples(mentions, text, kb, value_props, counters, page_qid=page_qid,
                                     pronouns=schema.subject_pronouns, lang=lang)
            counters["pairs_with_statement"] += len(candidates)
            relations = constrain(topic, mentions, candidates, schema, typer, counters, known_types=known_types)
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
                    "lang": lang,
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
