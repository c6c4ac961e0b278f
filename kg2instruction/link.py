"""Entity mentions in zhwiki/enwiki paragraphs, linked to Wikidata (InstructIE steps 2 and 4, without NER).

Paragraphs are the reader's text split at line breaks and cut at sentence ends to at most ``max_len``
(characters for Chinese, words for English, as InstructIE's ``get_length``).
Mentions come from three places, in this order of trust: the page's wiki links (``meta.links``, title →
QID), names of the page's own entity, and labels/aliases of entities near the page in the graph (the
linked ones and their statement targets) found with Aho-Corasick, longest match first, never overlapping
an earlier mention. A string naming several candidates is resolved to the one with most graph neighbours
mentioned on the page; aliases shorter than ``min_alias_chars``, or all digits, count only where the page links them.
In English a name must start and end at word boundaries ("Agassi" is not found inside "Agassian"), and
a name found by the dictionary must not touch another capitalised word ("US" in "US Open").
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator

import ahocorasick

from corpus.sentences import split_sentences
from kg2instruction.kb import KnowledgeBase

WORD = re.compile(r"\S+")
# Book-title marks and quotes that link anchors often include: 《银河便车指南》 names 银河便车指南.
WRAPPERS = "《》〈〉「」『』“”\"'（）()"

# Counter keys for mentions that were not kept.
UNRESOLVED_LINK = "mention_unresolved_link"
SHORT_ALIAS = "mention_short_alias"
OVERLAP = "mention_overlap"
INSIDE_NAME = "mention_inside_longer_name"  # English: part of a word or of a longer capitalised name


@dataclasses.dataclass(frozen=True)
class Mention:
    """A span of the paragraph text naming entity ``qid``; offsets are relative to the paragraph."""

    text: str
    qid: str
    start: int
    end: int


def text_length(text: str, lang: str) -> int:
    """InstructIE's paragraph length: characters for Chinese, whitespace-separated words for English."""
    return len(text) if lang == "zh" else len(WORD.findall(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text`` (lossless: the spans tile the text)."""
    spans, start = [], 0
    for sentence in split_sentences(text, "prose"):
        spans.append((start, start + len(sentence)))
        start += len(sentence)
    return spans


def paragraphs(text: str, max_len: int, lang: str = "zh") -> Iterator[tuple[int, str]]:
    """(offset in ``text``, paragraph) for each line, lines longer than ``max_len`` cut at sentence ends."""
    offset = 0
    for line in text.split("\n"):
        start = offset
        offset += len(line) + 1
        if not line.strip():
            continue
        piece_start, piece, piece_len = start, "", 0
        for sentence in split_sentences(line, "prose"):
            length = text_length(sentence, lang)
            if piece and piece_len + length > max_len:
                yield piece_start, piece
                piece_start, piece, piece_len = piece_start + len(piece), "", 0
            piece += sentence
            piece_len += length
        if piece.strip():
            yield piece_start, piece


def _at_word_boundaries(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (end == len(text) or not text[end].isalnum())


SENTENCE_OPENERS = frozenset(
    "in the at on by for from with during after before since when while although its his her their as like "
    "unlike both of to a an and but if then thus however also".split()
)
NEXT_WORD = re.compile(r" ([A-Z][\w'’-]*)")
# The capitalised word before the match, directly or across a name-joining word ("Council of Europe").
PREVIOUS_WORD = re.compile(r"([A-Z][\w'’.-]*) (?:(?:of|of the|for|in|de|la|du|del|von|der) )?$")


def _inside_longer_name(text: str, start: int, end: int) -> bool:
    """True when a capitalised word touches the match: "US" in "US Open", "Andre Agassi" in "Andre Agassi
    College Preparatory Academy", "Europe" in "Southwestern Europe" or "Council of Europe" name other
    things. The word that opens a sentence does not count."""
    if NEXT_WORD.match(text, end):
        return True
    before = PREVIOUS_WORD.search(text[max(0, start - 40):start])
    if before is None:
        return False
    word_start = start - len(before.group(0))
    opens_sentence = word_start == 0 or text[:word_start].rstrip()[-1:] in (".", "!", "?", '"', "")
    # "In Andorra ..." opens with a capitalised function word; "FC Andorra, a club ..." with a name.
    return not (opens_sentence and before.group(1).lower() in SENTENCE_OPENERS)


def _disambiguate(candidates: list[str], kb: KnowledgeBase, page_qids: set[str]) -> str:
    """The candidate with most statement targets among the page's entities; ties go to the lowest QID."""

    def score(qid: str) -> tuple[int, int]:
        neighbours = {tail for _, tail in kb.edges(qid)}
        return (len(neighbours & page_qids), -int(qid[1:]) if qid[1:].isdigit() else 0)

    return max(candidates, key=score)


def link_page(
    doc: dict, kb: KnowledgeBase, *, max_len: int, min_alias_chars: int, counters: Counter
) -> tuple[str | None, list[tuple[int, str, list[Mention]]]]:
    """The page entity's QID and, per paragraph, (offset, text, mentions sorted by start)."""
    text = doc["text"]
    meta = doc.get("meta") or {}
    page_qid = kb.qid_for_title(meta.get("title", ""))
    linked: list[tuple[int, int, str]] = []
    for title, start, end in ((link["target"], link["start"], link["end"]) for link in meta.get("links", [])):
        qid = kb.qid_for_title(title)
        if qid is None:
            counters[UNRESOLVED_LINK] += 1
            continue
        while start < end and text[start] in WRAPPERS:
            start += 1
        while end > start and text[end - 1] in WRAPPERS:
            end -= 1
        if start < end:
            linked.append((start, end, qid))
    page_qids = {q for _, _, q in linked} | ({page_qid} if page_qid else set())
    neighbours = {tail for qid in page_qids for _, tail in kb.edges(qid) if tail.startswith("Q")}
    linked_strings = {text[s:e] for s, e, _ in linked}

    names: dict[str, set[str]] = {}
    for mention, qid in kb.mentions_of(page_qids | neighbours):
        names.setdefault(mention, set()).add(qid)
    automaton = ahocorasick.Automaton()
    for mention, qids in names.items():
        # Numbers ("1984", the novel's alias) read as years and counts far more often than as names.
        if (len(mention) >= min_alias_chars and not mention.isdigit()) or mention in linked_strings:
            automaton.add_word(mention, (mention, sorted(qids)))
        else:
            counters[SHORT_ALIAS] += 1
    if len(automaton):
        automaton.make_automaton()

    result = []
    word_boundaries = kb.lang != "zh"
    for offset, para in paragraphs(text, max_len, kb.lang):
        end_of_para = offset + len(para)
        mentions = [
            Mention(text[s:e], q, s - offset, e - offset) for s, e, q in linked if offset <= s and e <= end_of_para
        ]
        taken = [(m.start, m.end) for m in mentions]
        found = list(automaton.iter(para)) if len(automaton) else []
        # Longest first, then leftmost: "剑桥大学" wins over "剑桥" inside it.
        found.sort(key=lambda hit: (-len(hit[1][0]), hit[0]))
        for last, (mention, qids) in found:
            start, end = last - len(mention) + 1, last + 1
            if word_boundaries and (not _at_word_boundaries(para, start, end) or _inside_longer_name(para, start, end)):
                counters[INSIDE_NAME] += 1
                continue
            if any(s < end and start < e for s, e in taken):
                counters[OVERLAP] += 1
                continue
            qid = qids[0] if len(qids) == 1 else _disambiguate(qids, kb, page_qids)
            mentions.append(Mention(mention, qid, start, end))
            taken.append((start, end))
        result.append((offset, para, sorted(mentions, key=lambda m: m.start)))
    return page_qid, result
