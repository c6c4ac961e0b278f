"""The KG2Instruction schema: coarse entity types, page topics, and per-topic relations with type limits.

Loaded from ``configs/kg2instruction/schema_{zh,en}.yaml`` (data, editable) and checked on load. A relation
stands for one or more Wikidata properties (InstructIE's "parent relations"); ``^P50`` means a
statement ``tail P50 head`` (the work's author) yields ``head 作品 tail`` for the person. ``cues``
(optional) are words one of which the sentence must contain for the relation to be read from it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from corpus.resources import shipped

SCHEMA_DIR = shipped("configs/kg2instruction")
DEFAULT_SCHEMA = SCHEMA_DIR / "schema_zh.yaml"
# The zh file's words for the special relation and types; an English file names its own.
ALIAS_RELATION = "别名"
TIME_TYPE = "时间"
QUANTITY_TYPE = "度量"
OTHER_TYPE = "其他"


def schema_path(lang: str) -> Path:
    """The shipped schema file of ``lang`` (``zh`` or ``en``)."""
    return SCHEMA_DIR / f"schema_{lang}.yaml"


@dataclasses.dataclass(frozen=True, kw_only=True)
class RelationRule:
    """One schema relation: the properties it maps, and the types its head and tail may have."""

    name: str
    props: tuple[str, ...]  # "P19", or "^P50" for a statement read tail -> head
    head_types: frozenset[str]
    tail_types: frozenset[str]
    cues: tuple[str, ...] = ()  # the sentence must contain one of these (case-insensitive); () = no cue needed


@dataclasses.dataclass(frozen=True, kw_only=True)
class Schema:
    """Types, topics and relations; see the YAML file for the meaning of each part."""

    class_types: dict[str, str]
    max_class_depth: int
    topics: dict[str, str]  # entity type -> topic
    relations: dict[str, dict[str, RelationRule]]  # topic -> relation name -> rule
    transitive: frozenset[str]
    topic_names_en: dict[str, str]
    relation_names_en: dict[str, str]
    lang: str = "zh"
    alias_relation: str = ALIAS_RELATION
    time_type: str = TIME_TYPE
    quantity_type: str = QUANTITY_TYPE
    other_type: str = OTHER_TYPE
    # Words that open a sentence about the page's subject without naming it ("He", "他").
    subject_pronouns: tuple[str, ...] = ()

    def property_map(self, topic: str) -> dict[tuple[str, bool], str]:
        """(property, reversed) -> relation name, for the relations of ``topic``."""
        mapping: dict[tuple[str, bool], str] = {}
        for rule in self.relations.get(topic, {}).values():
            for prop in rule.props:
                mapping[(prop.lstrip("^"), prop.startswith("^"))] = rule.name
        return mapping

    def value_properties(self) -> frozenset[str]:
        """Properties whose time/quantity values any relation renders (what the KB must store)."""
        props = set()
        for rules in self.relations.values():
            for rule in rules.values():
                if rule.tail_types & {self.time_type, self.quantity_type}:
                    props.update(p.lstrip("^") for p in rule.props)
        return frozenset(props)


def load_schema(path: Path = DEFAULT_SCHEMA) -> Schema:
    """Load and check a schema file; a malformed entry raises ValueError naming it."""
    data: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    relations: dict[str, dict[str, RelationRule]] = {}
    for topic, rules in (data.get("relations") or {}).items():
        relations[topic] = {}
        for name, rule in rules.items():
            unknown = set(rule) - {"props", "head", "tail", "cues"}
            if unknown:
                raise ValueError(f"{path}: relation {topic}/{name} has unknown keys {sorted(unknown)}")
            relations[topic][name] = RelationRule(
                name=name,
                props=tuple(rule.get("props") or ()),
                head_types=frozenset(rule.get("head") or ()),
                tail_types=frozenset(rule.get("tail") or ()),
                cues=tuple(str(c).lower() for c in rule.get("cues") or ()),
            )
    topics = dict(data.get("topics") or {})
    missing = sorted(set(topics.values()) - set(relations))
    if missing:
        raise ValueError(f"{path}: topics without relations: {missing}")
    lang = str(data.get("lang", "zh"))
    names_en = dict(data.get("relation_names_en") or {})
    unnamed = sorted({r for rules in relations.values() for r in rules} - set(names_en))
    if lang == "zh" and unnamed:
        raise ValueError(f"{path}: relations without an English name: {unnamed}")
    return Schema(
        class_types=dict(data.get("types") or {}),
        max_class_depth=int(data.get("max_class_depth", 3)),
        topics=topics,
        relations=relations,
        transitive=frozenset(data.get("transitive") or ()),
        topic_names_en=dict(data.get("topic_names_en") or {}),
        relation_names_en=names_en,
        lang=lang,
        alias_relation=str(data.get("alias_relation", ALIAS_RELATION)),
        time_type=str(data.get("time_type", TIME_TYPE)),
        quantity_type=str(data.get("quantity_type", QUANTITY_TYPE)),
        other_type=str(data.get("other_type", OTHER_TYPE)),
        subject_pronouns=tuple(data.get("subject_pronouns") or ()),
    )
