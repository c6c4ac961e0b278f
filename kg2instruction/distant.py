"""Distant supervision and the schema constraint: linked paragraphs → InstructIE triples (steps 5 and 7).

For every pair of mentioned entities, a statement between them (either direction) becomes a triple;
a time or quantity statement of a mentioned entity becomes a triple when one of its surface forms occurs
in the paragraph. Then, as InstructIE does: mentions of one entity are merged under the first one with
``别名`` triples; only the topic's relations survive, mapped to their schema names; head/tail types must
fit the relation; ``位于`` chains are reduced (A⊂B⊂C drops A→C). Every dropped triple is counted by reason.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from kg2instruction.kb import KnowledgeBase
from kg2instruction.link import Mention
from kg2instruction.render import value_forms
from kg2instruction.schema import ALIAS_RELATION, QUANTITY_TYPE, TIME_TYPE, Schema

# Counter keys for triples that were not kept.
NOT_IN_SCHEMA = "triple_not_in_schema"
TYPE_LIMIT = "triple_type_limit"
TRANSITIVE = "triple_transitive_located_in"
DUPLICATE = "triple_duplicate"
PAIR_NO_STATEMENT = "pair_no_statement"


class EntityTyper:
    """Coarse type of a QID from its P31 classes, walking P279 up to the schema's depth; cached."""

    def __init__(self, kb: KnowledgeBase, schema: Schema):
        self.kb = kb
        self.schema = schema
        self.type_of = lru_cache(maxsize=200_000)(self._type_of)

    def _parents(self, qid: str, prop: str) -> list[str]:
        return [tail for p, tail in self.kb.edges(qid) if p == prop]

    def _type_of(self, qid: str) -> str | None:
        frontier = self._parents(qid, "P31")
        seen: set[str] = set()
        for _ in range(self.schema.max_class_depth + 1):
            for cls in frontier:
                if cls in self.schema.class_types:
                    return self.schema.class_types[cls]
            seen.update(frontier)
            frontier = [p for cls in frontier for p in self._parents(cls, "P279") if p not in seen]
            if not frontier:
                return None
        return None


def raw_triples(
    mentions: list[Mention], paragraph: str, kb: KnowledgeBase, value_props: frozenset[str], counters: Counter
) -> list[tuple[Mention, str, bool, Mention | str, str]]:
    """(head mention, property, reversed, tail mention or value text, tail kind) before the schema.

    Pairs of mentioned entities with no statement either way are counted as ``pair_no_statement``.
    """
    first: dict[str, Mention] = {}
    for m in mentions:
        first.setdefault(m.qid, m)
    found = []
    linked_pairs: set[frozenset[str]] = set()
    for head in first.values():
        for prop, tail_qid in kb.edges(head.qid):
            if tail_qid in first and tail_qid != head.qid:
                found.append((head, prop, False, first[tail_qid], "entity"))
                found.append((first[tail_qid], prop, True, head, "entity"))  # for ^P relations
                linked_pairs.add(frozenset((head.qid, tail_qid)))
    entity_count = len(first)
    counters[PAIR_NO_STATEMENT] += entity_count * (entity_count - 1) // 2 - len(linked_pairs)
    for head in first.values():
        taken_props: set[str] = set()
        for prop, kind, value, unit in kb.values(head.qid):
            if prop not in value_props or prop in taken_props:
                continue  # one value per (head, property), as InstructIE keeps
            compact = paragraph.replace(" ", "")
            for form in value_forms(kind, value, unit):
                if form in paragraph or form.replace(" ", "") in compact:
                    found.append((head, prop, False, form, kind))
                    taken_props.add(prop)
                    break
    return found


def constrain(
    topic: str,
    mentions: list[Mention],
    candidates: list[tuple[Mention, str, bool, Mention | str, str]],
    schema: Schema,
    typer: EntityTyper,
    counters: Counter,
) -> list[dict[str, str]]:
    """Apply the schema to raw triples; returns InstructIE relation dicts in text order."""
    rules = schema.relations[topic]
    prop_map = schema.property_map(topic)
    main: dict[str, Mention] = {}
    for m in mentions:
        main.setdefault(m.qid, m)
    kept: dict[tuple[str, str, str], dict[str, str]] = {}
    order: dict[tuple[str, str, str], int] = {}

    def add(head: Mention, relation: str, tail_text: str, tail_type: str, at: int) -> None:
        head_type = typer.type_of(head.qid) or "其他"
        rule = rules[relation]
        if head_type not in rule.head_types or tail_type not in rule.tail_types:
            counters[TYPE_LIMIT] += 1
            return
        key = (main[head.qid].text, relation, tail_text)
        if key in kept:
            counters[DUPLICATE] += 1
            return
        kept[key] = {"head": key[0], "head_type": head_type, "relation": relation, "tail": tail_text,
                     "tail_type": tail_type}
        order[key] = at

    if ALIAS_RELATION in rules:
        for m in mentions:
            if m.text != main[m.qid].text:
                add(main[m.qid], ALIAS_RELATION, m.text, typer.type_of(m.qid) or "其他", m.start)

    for head, prop, reverse, tail, kind in candidates:
        relation = prop_map.get((prop, reverse))
        if relation is None:
            if not reverse:  # the mirrored candidate of a forward statement is not a miss of its own
                counters[NOT_IN_SCHEMA] += 1
            continue
        if kind == "entity":
            assert isinstance(tail, Mention)
            tail_text, tail_type = main[tail.qid].text, typer.type_of(tail.qid) or "其他"
        else:
            tail_text, tail_type = str(tail), TIME_TYPE if kind == "time" else QUANTITY_TYPE
        add(head, relation, tail_text, tail_type, head.start)

    for relation in schema.transitive:
        edges = {(h, t) for (h, r, t) in kept if r == relation}
        for h, t in list(edges):
            if any((h, mid) in edges and (mid, t) in edges for (_, mid) in edges if mid not in (h, t)):
                del kept[(h, relation, t)]
                counters[TRANSITIVE] += 1
    return [kept[k] for k in sorted(kept, key=lambda k: (order[k], k))]
