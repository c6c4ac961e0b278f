"""CoNLL-2003 NER (token per line, tag in the last column) → IE records, one per sentence.

Reads the original IOB1 files (an entity may start with ``I-``; ``B-`` only splits two adjacent
entities of one type) and the IOB2/BIO re-releases with one decoder, so both give the same spans.
``-DOCSTART-`` lines start a new document; blank lines end a sentence. POS/chunk columns are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from instruct.ie.record import REASON_BAD_LINE, REASON_BAD_TAG, Entity, IERecord, RecordError, validate
from instruct.io import Rejected

SOURCE = "conll03"


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Decode IOB1 or IOB2 tags into (first, last + 1, type) spans over token indices.

    A span starts at ``B-X``, or at ``I-X`` whose predecessor is ``O`` or of another type (IOB1,
    and the usual repair of a broken IOB2 file). ``I-X`` after ``X`` continues it.
    Example: IOB1 ``I-PER I-PER B-PER`` and IOB2 ``B-PER I-PER B-PER`` both give (0,2,PER), (2,3,PER).
    """
    spans: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, tag in enumerate(tags):
        if tag == "O":
            prefix, label = "O", ""
        else:
            prefix, sep, label = tag.partition("-")
            if not sep or prefix not in ("B", "I") or not label:
                raise RecordError(REASON_BAD_TAG, f"tag {tag!r} at token {i} is not O, B-X or I-X")
        continues = prefix == "I" and kind == label
        if kind and not continues:
            spans.append((start, i, kind))
            start, kind = -1, ""
        if prefix in ("B", "I") and not continues:
            start, kind = i, label
    if kind:
        spans.append((start, len(tags), kind))
    return spans


def tokens_to_record(
    tokens: Sequence[str], tags: Sequence[str], *, id: str, source: str, language: str, joiner: str
) -> IERecord:
    """Join tokens with ``joiner`` into a text and turn tag spans into entities with char offsets."""
    starts: list[int] = []
    pos = 0
    for tok in tokens:
        starts.append(pos)
        pos += len(tok) + len(joiner)
    text = joiner.join(tokens)
    entities = []
    for first, stop, label in bio_spans(tags):
        begin, end = starts[first], starts[stop - 1] + len(tokens[stop - 1])
        entities.append(Entity(mention=text[begin:end], type=label, span=(begin, end)))
    return validate(IERecord(id=id, text=text, language=language, source=source, entities=tuple(entities)))


def read_conll(path: Path, *, source: str = SOURCE, language: str = "en") -> Iterator[IERecord | Rejected]:
    """Yield one IE record per sentence of a CoNLL-2003 file; a broken sentence is a Rejected."""
    stem = Path(path).stem
    doc, sent = 0, 0
    tokens: list[str] = []
    tags: list[str] = []
    bad: str | None = None
    first_line = 0

    def flush() -> IERecord | Rejected | None:
        nonlocal sent
        if not tokens and bad is None:
            return None
        where = f"{Path(path).name}:{first_line}"
        sent += 1
        if bad is not None:
            return Rejected(reason=REASON_BAD_LINE, detail=bad, where=where, raw=" ".join(tokens))
        try:
            return tokens_to_record(tokens, tags, id=f"{source}:{stem}:{doc}:{sent}", source=source,
                                    language=language, joiner=" ")
        except RecordError as err:
            return Rejected(reason=err.reason, detail=err.detail, where=where,
                            raw=[f"{t} {g}" for t, g in zip(tokens, tags, strict=True)])

    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            cols = line.split()
            if not cols or cols[0] == "-DOCSTART-":
                out = flush()
                if out is not None:
                    yield out
                tokens, tags, bad = [], [], None
                if cols:
                    doc, sent = doc + 1, 0
                continue
            if not tokens and bad is None:
                first_line = lineno
            if len(cols) < 2:
                bad = f"line {lineno} has {len(cols)} column(s), need token and tag"
                continue
            tokens.append(cols[0])
            tags.append(cols[-1])
    out = flush()
    if out is not None:
        yield out
