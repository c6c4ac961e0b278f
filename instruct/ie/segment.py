"""Split long IE records at sentence boundaries, keeping every annotation that fits inside one piece.

IEPile builds instances from sentence-level texts; CASIE and DuEE documents can run to thousands of
characters. A cut is made only after sentence-final punctuation and never inside an annotated span;
annotations that still straddle a cut (a relation whose ends fall in two pieces) are dropped and counted.
"""

from __future__ import annotations

import re

from instruct.ie.record import Argument, Entity, Event, IERecord, Relation, Span

# After 。！？；… or after .!? followed by whitespace: the usual zh/en sentence ends.
SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.!?]['\"”’)\]])(?=\s)|(?<=[.!?])(?=\s)")


def _spans(record: IERecord) -> list[tuple[int, int]]:
    out: list[Span] = [e.span for e in record.entities]
    for r in record.relations:
        out += [r.head_span, r.tail_span]
    for ev in record.events:
        out.append(ev.trigger_span)
        out += [a.span for a in ev.arguments]
    return [s for s in out if s is not None]


def _locate(piece: str, start: int, mention: str, span: Span) -> Span | bool:
    """Span shifted into the piece, True if (span-less) the mention occurs in it, False if not inside."""
    if span is None:
        return mention in piece
    if start <= span[0] and span[1] <= start + len(piece):
        return (span[0] - start, span[1] - start)
    return False


def _shift(found: Span | bool) -> Span:
    return found if isinstance(found, tuple) else None


def split_record(record: IERecord, max_chars: int) -> list[IERecord]:
    """Pieces of at most ``max_chars`` characters (a single longer sentence stays whole)."""
    text = record.text
    if len(text) <= max_chars:
        return [record]
    inside = _spans(record)
    cuts = [m.start() for m in SENTENCE_END.finditer(text)
            if 0 < m.start() < len(text) and not any(a < m.start() < b for a, b in inside)]
    bounds = [0]
    last_ok = None
    for cut in cuts + [len(text)]:
        if cut - bounds[-1] > max_chars and last_ok is not None and last_ok > bounds[-1]:
            bounds.append(last_ok)
        last_ok = cut
    bounds.append(len(text))
    pieces = []
    dropped = 0
    for k, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        raw = text[a:b]
        lead = len(raw) - len(raw.lstrip())
        piece, start = raw.strip(), a + lead
        if not piece:
            continue
        ents, rels, evs = [], [], []
        for e in record.entities:
            f = _locate(piece, start, e.mention, e.span)
            if f:
                ents.append(Entity(mention=e.mention, type=e.type, span=_shift(f)))
        for r in record.relations:
            h, t = _locate(piece, start, r.head, r.head_span), _locate(piece, start, r.tail, r.tail_span)
            if h and t:
                rels.append(Relation(head=r.head, relation=r.relation, tail=r.tail, head_type=r.head_type,
                                     tail_type=r.tail_type, head_span=_shift(h), tail_span=_shift(t),
                                     qualifiers=r.qualifiers))
            elif h or t:
                dropped += 1
        for ev in record.events:
            trig = _locate(piece, start, ev.trigger, ev.trigger_span)
            if not trig:
                continue
            args = []
            for arg in ev.arguments:
                f = _locate(piece, start, arg.mention, arg.span)
                if f:
                    args.append(Argument(mention=arg.mention, role=arg.role, span=_shift(f)))
                else:
                    dropped += 1
            evs.append(Event(type=ev.type, trigger=ev.trigger, trigger_span=_shift(trig), arguments=tuple(args)))
        meta = {**record.meta, "piece": k, "piece_of": record.id}
        pieces.append(record.replace(id=f"{record.id}#p{k}", text=piece, entities=tuple(ents),
                                     relations=tuple(rels), events=tuple(evs), meta=meta))
    for p in pieces:
        p.meta["dropped_annotations"] = dropped  # type: ignore[index]
    return pieces
