"""People's Daily (1998) NER → IE records: one character and its BIO tag per line, blank line between sentences.

The common release (e.g. ``example.train`` in the Chinese NER repos) tags PER, LOC and ORG in IOB2;
the shared CoNLL decoder also accepts IOB1. Characters are joined without spaces, so offsets are
character offsets into the sentence. Word segmentation and POS (the 1998 corpus's other layers) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from instruct.ie.conll import tokens_to_record
from instruct.ie.record import REASON_BAD_LINE, IERecord, RecordError
from instruct.io import Rejected

SOURCE = "peoples_daily"


def read_peoples_daily(path: Path, *, source: str = SOURCE, language: str = "zh") -> Iterator[IERecord | Rejected]:
    """Yield one IE record per sentence; a sentence with a broken line or tag is a Rejected."""
    name = Path(path).name
    chars: list[str] = []
    tags: list[str] = []
    bad: str | None = None
    first_line = 0
    count = 0

    def flush() -> IERecord | Rejected:
        nonlocal count
        count += 1
        where = f"{name}:{first_line}"
        if bad is not None:
            return Rejected(reason=REASON_BAD_LINE, detail=bad, where=where, raw="".join(chars))
        try:
            return tokens_to_record(chars, tags, id=f"{source}:{Path(path).stem}:{count}", source=source,
                                    language=language, joiner="")
        except RecordError as err:
            return Rejected(reason=err.reason, detail=err.detail, where=where, raw="".join(chars))

    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            cols = line.split()
            if not cols:
                if chars or bad is not None:
                    yield flush()
                chars, tags, bad = [], [], None
                continue
            if not chars and bad is None:
                first_line = lineno
            if len(cols) != 2 or len(cols[0]) != 1:
                bad = f"line {lineno}: expected one character and a tag, got {line.rstrip()!r}"
                continue
            chars.append(cols[0])
            tags.append(cols[1])
    if chars or bad is not None:
        yield flush()
