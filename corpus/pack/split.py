"""From one document's text and whole-document encoding to its samples (token arrays).

Sentence ends (character offsets, ``corpus.sentences``) are mapped onto token boundaries of the
document's single encoding: a token belongs to the sentence in which it *ends*, so a token straddling
a boundary (e.g. SentencePiece's ``▁The`` that starts with the space after ``.``) opens the next one.
Encoding the whole document, not each sentence, keeps the token count equal to the document's own.
"""

from __future__ import annotations

import numpy as np

from corpus.pack.greedy import CUT_SENTENCE, Piece, Specials, plan_document
from corpus.sentences import Kind, clause_ends, sentence_ends
from corpus.tokenizers.load import Encoding


def _to_tokens(char_offsets: list[int], enc: Encoding) -> np.ndarray:
    """Token index of each character offset: the number of tokens ending at or before it."""
    return np.searchsorted(enc.ends, char_offsets, side="right")


def document_pieces(
    text: str, enc: Encoding, *, max_tokens: int, specials: Specials, kind: Kind = "auto"
) -> list[Piece]:
    """Greedy pieces of one document (see ``corpus.pack.greedy``); ``[]`` for a document with no tokens."""
    n = int(enc.ids.size)
    if n == 0:
        return []
    if n + specials.lead(0) + specials.tail(n, n) <= max_tokens:  # fits whole: no sentence search needed
        return [Piece(0, n, specials.lead(0), specials.tail(n, n), CUT_SENTENCE)]
    cuts = _to_tokens(sentence_ends(text, kind), enc)
    return plan_document(n, cuts, lambda: _to_tokens(clause_ends(text, kind=kind), enc),
                         max_tokens=max_tokens, specials=specials)


def piece_tokens(piece: Piece, ids: np.ndarray, bos_id: int | None, eos_id: int | None,
                 dtype: type = np.int64) -> np.ndarray:
    """The token ids of ``piece``: ``[BOS] ids[start:end] [EOS]`` as its lead/tail say, in ``dtype``."""
    out = np.empty(piece.length, dtype=dtype)  # one allocation: this runs once per sample
    out[piece.lead : piece.length - piece.tail] = ids[piece.start : piece.end]
    if piece.lead:
        out[0] = bos_id
    if piece.tail:
        out[-1] = eos_id
    return out
