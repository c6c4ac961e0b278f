"""Distant supervision and the schema constraint: linked paragraphs → InstructIE triples (steps 5 and 7).

For every pair of mentioned entities, a statement between them (either direction) becomes a triple when
one sentence carries it (:func:`raw_triples` gives the precision rules); a time or quantity statement
of a mentioned entity becomes a triple when one of its surface forms occurs in a sentence naming the
entity. Relations may require a cue word in that sentence (``born`` for place of birth). Then, as InstructIE does: mentions of one entity are merged under the first one with
``别名`` triples; only the topic's relations survive, mapped to their schema names; head/tail types must
fit the relation; ``位于`` chains are reduced (A⊂B⊂C drops A→C). Every dropped triple is counted by reason.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from kg2instruction.kb import KnowledgeBase
from kg2instruction.link import Mention, sentence_spans
from kg2instruction.render import value_forms
from kg2instruction.schema import Schema

# Counter keys for triples that were not kept.
NOT_IN_SCHEMA = "triple_not_in_schema"
TYPE_LIMIT = "triple_type_limit"
TRANSITIVE = "triple_transitive_located_in"
DUPLICATE = "triple_duplicate"
PAIR_NO_STATEMENT = "pair_no_statement"
PAIR_NOT_IN_ONE_SENTENCE = "triple_not_in_one_sentence"
THIRD_ENTITY_ATTRIBUTE = "triple_third_entity_attribute"
NO_CUE = "triple_no_cue_word"


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


Candidate = tuple[Mention, str, bool, "Mention | str", str, tuple[str, ...]]
# (head mention, property, reversed, tail mention or value text, tail kind, supporting sentences)

ADJACENT_GAP = frozenset(" ,，、(（")  # "英格兰剑桥", "Cambridge, England": the names read as one phrase
# A value written this close to a third entity's name modifies it ("英国作家亚当斯", "the American author
# X"): characters for Chinese (about two words), and for English about three words.
ATTRIBUTE_GAP = {"zh": 4, "en": 16}


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Characters between two spans (0 when they touch or overlap)."""
    return max(0, max(a[0], b[0]) - min(a[1], b[1]))


def _modifies(t: tuple[int, int], o: tuple[int, int], h: tuple[int, int], near: int) -> bool:
    """Whether the name at ``t`` modifies the name at ``o`` rather than the one at ``h``: it stands right
    before ``o`` (a modifier precedes its noun: "英国作家亚当斯", "the American player Andre Agassi"),
    unless ``h`` follows it even more closely."""
    if o[0] < t[1] or _gap(t, o) > near:
        return False
    return not (h[0] >= t[1] and _gap(t, h) <= _gap(t, o))


def _adjacent(text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    left, right = sorted((a, b))
    between = text[left[1]:right[0]]
    return len(between) <= 2 and all(ch in ADJACENT_GAP for ch in between)


class _Sentence:
    """One sentence of a paragraph: its text, and the spans of each entity mentioned in it."""

    def __init__(self, text: str, start: int, end: int, mentions: list[Mention]):
        self.text = text[start:end]
        self.start = start
        self.spans: dict[str, list[tuple[int, int]]] = {}
        for m in mentions:
            if start <= m.start and m.end <= end:
                self.spans.setdefault(m.qid, []).append((m.start, m.end))

    def subject_span(self, page_qid: str | None, pronouns: re.Pattern[str] | None) -> tuple[int, int] | None:
        """Where the sentence names the page's subject: a mention, or a pronoun before any other mention."""
        if page_qid in self.spans:
            return self.spans[page_qid][0]
        if page_qid is None or pronouns is None:
            return None
        match = pronouns.search(self.text)
        if match is None:
            return None
        first_other = min((s for spans in self.spans.values() for s, _ in spans), default=None)
        at = (self.start + match.start(1), self.start + match.end(1))
        return at if first_other is None or at[0] < first_other else None


def _pronoun_pattern(pronouns: tuple[str, ...], lang: str) -> re.Pattern[str] | None:
    """Chinese: the pronoun anywhere before other names ("1978年，他为BBC……"); English: the first word."""
    if not pronouns:
        return None
    words = "|".join(re.escape(p) for p in sorted(pronouns, key=len, reverse=True))
    return re.compile(f"({words})" if lang == "zh" else rf"^\W*({words})\b")


def raw_triples(
    mentions: list[Mention],
    paragraph: str,
    kb: KnowledgeBase,
    value_props: frozenset[str],
    counters: Counter,
    *,
    page_qid: str | None = None,
    pronouns: tuple[str, ...] = (),
    lang: str = "zh",
) -> list[Candidate]:
    """Statements of mentioned entities that a sentence of ``paragraph`` can carry, before the schema.

    A statement ``A p B`` needs one sentence naming both (or the page subject, named or as a leading
    pronoun, and the other); a sentence does not carry it when a third entity E named there holds B
    too and B stands right before E, modifying it ("是英国作家亚当斯": 英国 is the author's country, not
    the book's), nor when E, leading the sentence or the page's subject, holds both A and B, listed apart (UK: "由英格兰……组成，首都是伦敦" does not say
    London is in England). A time/quantity value needs a sentence naming its entity and one of its forms.
    """
    first: dict[str, Mention] = {}
    for m in mentions:
        first.setdefault(m.qid, m)
    pattern = _pronoun_pattern(pronouns, lang)
    near = ATTRIBUTE_GAP.get(lang, ATTRIBUTE_GAP["en"])
    sentences = [_Sentence(paragraph, s, e, mentions) for s, e in sentence_spans(paragraph)]
    subject_at = [sent.subject_span(page_qid, pattern) for sent in sentences]
    edges = {qid: kb.edges(qid) for qid in first}
    holds = {qid: {tail for _, tail in out} for qid, out in edges.items()}

    def spans_of(qid: str, i: int) -> list[tuple[int, int]]:
        spans = list(sentences[i].spans.get(qid, []))
        if qid == page_qid and subject_at[i] is not None and subject_at[i] not in spans:
            spans.append(subject_at[i])
        return spans

    def carried(head: str, tail: str, i: int) -> str | None:
        """None if sentence ``i`` carries ``head -> tail``, else the counter key saying why not."""
        heads, tails = spans_of(head, i), spans_of(tail, i)
        if not heads or not tails:
            return PAIR_NOT_IN_ONE_SENTENCE
        h, t = min(((h, t) for h in heads for t in tails), key=lambda pair: _gap(*pair))
        for other, other_spans in sentences[i].spans.items():
            if other in (head, tail) or other not in holds:
                continue
            if tail in holds[other] and any(_modifies(t, o, h, near) for o in other_spans):
                return THIRD_ENTITY_ATTRIBUTE
            # E lists both (its capital, its parts): only when E leads the sentence or is the page's subject,
            # so that "London" (in England and in the UK) does not veto "England is in the UK".
            leads = other == page_qid or min(other_spans)[0] < min(h[0], t[0])
            if leads and head in holds[other] and tail in holds[other] and not _adjacent(paragraph, h, t):
                return THIRD_ENTITY_ATTRIBUTE
        return None

    found: list[Candidate] = []
    linked_pairs: set[frozenset[str]] = set()
    for head in first.values():
        for prop, tail_qid in edges[head.qid]:
            if tail_qid not in first or tail_qid == head.qid:
                continue
            linked_pairs.add(frozenset((head.qid, tail_qid)))
            verdicts = [carried(head.qid, tail_qid, i) for i in range(len(sentences))]
            support = tuple(sentences[i].text for i, v in enumerate(verdicts) if v is None)
            if not support:
                counters[THIRD_ENTITY_ATTRIBUTE if THIRD_ENTITY_ATTRIBUTE in verdicts else PAIR_NOT_IN_ONE_SENTENCE] += 1
                continue
            found.append((head, prop, False, first[tail_qid], "entity", support))
            found.append((first[tail_qid], prop, True, head, "entity", support))  # for ^P relations
    entity_count = len(first)
    counters[PAIR_NO_STATEMENT] += entity_count * (entity_count - 1) // 2 - len(linked_pairs)
    for head in first.values():
        taken_props: set[str] = set()
        for prop, kind, value, unit in kb.values(head.qid):
            if prop not in value_props or prop in taken_props:
                continue  # one value per (head, property), as InstructIE keeps
            forms = value_forms(kind, value, unit)
            for i, sentence in enumerate(sentences):
                if not spans_of(head.qid, i):
                    continue
                compact = sentence.text.replace(" ", "")
                form = next((f for f in forms if f in sentence.text or f.replace(" ", "") in compact), None)
                if form is not None:
                    found.append((head, prop, False, form, kind, (sentence.text,)))
                    taken_props.add(prop)
                    break
    return found


def _has_cue(sentence: str, cues: tuple[str, ...], lang: str, names: dict[str, set[str]]) -> bool:
    """Whether ``sentence`` holds one of ``cues``; ``{head}``/``{tail}`` in a cue stand for any name of that
    end in the paragraph ("by {tail}": "novella by George Orwell"). English cues start a word ("national"
    in "nationality", not in "international"); Chinese has no spaces."""
    alternatives = []
    for cue in cues:
        parts = re.split(r"(\{head\}|\{tail\})", cue)
        alternatives.append("".join(
            "(?:" + "|".join(re.escape(n) for n in sorted(names[p[1:-1]], key=len, reverse=True)) + ")"
            if p in ("{head}", "{tail}") else re.escape(p) for p in parts if p))
    pattern = "|".join(alternatives)
    return re.search(f"({pattern})" if lang == "zh" else rf"\b({pattern})", sentence, re.IGNORECASE) is not None


def constrain(
    topic: str,
    mentions: list[Mention],
    candidates: list[Candidate],
    schema: Schema,
    typer: EntityTyper,
    counters: Counter,
    *,
    known_types: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Apply the schema to raw triples; returns InstructIE relation dicts in text order.

    ``known_types`` (QID -> type) wins over the typer: the page entity of a page the topic model
    classified has the topic's type even when its P31 classes map to none.
    """

    def type_of(qid: str) -> str:
        return (known_types or {}).get(qid) or typer.type_of(qid) or schema.other_type

    rules = schema.relations[topic]
    prop_map = schema.property_map(topic)
    main: dict[str, Mention] = {}
    names_of: dict[str, set[str]] = {}
    for m in mentions:
        main.setdefault(m.qid, m)
        names_of.setdefault(m.qid, set()).add(m.text)
    kept: dict[tuple[str, str, str], dict[str, str]] = {}
    order: dict[tuple[str, str, str], int] = {}

    def add(head: Mention, relation: str, tail_text: str, tail_type: str, at: int) -> None:
        head_type = type_of(head.qid)
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

    alias = schema.alias_relation
    if alias in rules:
        for m in mentions:
            if m.text != main[m.qid].text:
                add(main[m.qid], alias, m.text, type_of(m.qid), m.start)

    for head, prop, reverse, tail, kind, support in candidates:
        relation = prop_map.get((prop, reverse))
        if relation is None:
            if not reverse:  # the mirrored candidate of a forward statement is not a miss of its own
                counters[NOT_IN_SCHEMA] += 1
            continue
        cues = rules[relation].cues
        if cues:
            tail_names = names_of.get(tail.qid, set()) if isinstance(tail, Mention) else {str(tail)}
            names = {"head": names_of[head.qid], "tail": tail_names}
        if cues and not any(_has_cue(sentence, cues, schema.lang, names) for sentence in support):
            counters[NO_CUE] += 1
            continue
        if kind == "entity":
            assert isinstance(tail, Mention)
            tail_text, tail_type = main[tail.qid].text, type_of(tail.qid)
        else:
            tail_text, tail_type = str(tail), schema.time_type if kind == "time" else schema.quantity_type
        add(head, relation, tail_text, tail_type, head.start)

    for relation in schema.transitive:
        edges = {(h, t) for (h, r, t) in kept if r == relation}
        for h, t in list(edges):
            if any((h, mid) in edges and (mid, t) in edges for (_, mid) in edges if mid not in (h, t)):
                del kept[(h, relation, t)]
                counters[TRANSITIVE] += 1
    return [kept[k] for k in sorted(kept, key=lambda k: (order[k], k))]
