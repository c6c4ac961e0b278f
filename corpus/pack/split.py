"""From one document's text and whole-document encoding to its samples (token arrays).

Sentence ends (character offsets, ``corpus.sentences``) are mapped onto token boundaries of the
document's single encoding: a token belongs to the sentence in which it *ends*, so a token straddling
a boundary (e.g. SentencePiece's ``▁The`` that starts with the space after ``.``) opens the next one.
Encoding the whole document, not each sentence, keeps the token count equal to the document's own.
"""

from __future__ import annotations

import numpy as np

from corpus.pack.greedy import Piece, Specials, plan_document
from corpus.sentences import Kind, clause_ends, sentence_ends
from corpus.tokenizers.load import Encoding, utf8_offsets


def _to_tokens(text: str, char_offsets: list[int], enc: Encoding, byte_map: np.ndarray | None) -> np.ndarray:
    """Token index of each character offset: the number of tokens ending at or before it."""
    offs = np.asarray(char_offsets, dtype=np.int64)
    if byte_map is not None:
        offs = byte_map[offs]
    return np.searchsorted(enc.ends, offs, side="right")


def document_pieces(
    text: str, enc: Encoding, *, max_tokens: int, specials: Specials, kind: Kind = "auto"
) -> list[Piece]:
    """Greedy pieces of one document (see ``corpus.pack.greedy``); ``[]`` for a document with no tokens."""
    n = int(enc.ids.size)
    if n == 0:
        return []
    byte_map = None if text.isascii() else utf8_offsets(text)
    cuts = _to_tokens(text, sentence_ends(text, kind), enc, byte_map)
    # clause ends are only needed when some sentence cannot fit a sample on its own
    longest = int(np.diff(cuts, prepend=0).max()) if cuts.size else n
    if longest > max_tokens - 2:
        clauses = _to_tokens(text, clause_ends(text, kind=kind), enc, byte_map)
    else:
        clauses = np.zeros(0, dtype=np.int64)
    return plan_document(n, cuts, clauses, max_tokens=max_tokens, specials=specials)


def piece_tokens(piece: Piece, ids: np.ndarray, bos_id: int | None, eos_id: int | None) -> np.ndarray:
    """The token ids of ``piece``: ``[BOS] ids[start:end] [EOS]`` as its lead/tail say (int64)."""
    body = ids[piece.start : piece.end]
    if not piece.lead and not piece.tail:
        return body
    parts = []
    if piece.lead:
        parts.append(np.array([bos_id], dtype=np.int64))
    parts.append(body)
    if piece.tail:
        parts.append(np.array([eos_id], dtype=np.int64))
    return np.concatenate(parts)
