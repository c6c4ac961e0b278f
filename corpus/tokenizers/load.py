"""The one tokenizer loader of knowforge (pack and SFT): a SentencePiece ``.model``, a ``tokenizer.json`` or a
directory holding either, behind one small interface.

Encoding adds BOS/EOS only when the caller asks (``encode(texts, bos=True, eos=True)``, one pair around
each text), so where special tokens go is decided in one place (``corpus.pack``, ``instruct.sft.tokenize``).
Ids come as int32 arrays; on request each token's end as a character offset into the text, so sentence
ends can be mapped onto token boundaries of the *whole-document* encoding. ``encode_continued`` encodes
text that follows other text (SFT answers after their prompt) without the dummy-prefix ``▁`` a fresh
encode adds. Slow Python tokenizers (``AutoTokenizer`` without tokenizer.json) are left out.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

LONG_TEXT_CHARS = 1 << 20  # longer texts are encoded in pieces where the model allows (_encode_long)
_WORD_GAP = re.compile(r"(?<=\S) (?=\S)")  # a single space between two words


class Encoding:
    """Token ids of one text (int32, shape (T,)) and, per token, the character offset where it ends.

    ``ends`` is non-decreasing. A token ending inside a character (the leading bytes of a byte-fallback
    character) ends after that character, so no cut falls inside one; the dummy-prefix ``▁`` ends at 0.
    ``ends`` is computed on first use (only documents that need splitting ever ask for it).
    """

    __slots__ = ("ids", "_ends", "_make_ends")

    def __init__(self, ids: np.ndarray, ends: np.ndarray | None = None,
                 make_ends: Callable[[], np.ndarray] | None = None) -> None:
        self.ids = ids
        self._ends = ends
        self._make_ends = make_ends

    @property
    def ends(self) -> np.ndarray:
        if self._ends is None:
            self._ends = self._make_ends()
        return self._ends


class Tokenizer(Protocol):
    """What packing needs from a tokenizer."""

    path: str
    vocab_size: int
    bos_id: int | None
    eos_id: int | None

    def encode(self, texts: list[str], *, bos: bool = False, eos: bool = False) -> list[np.ndarray]:
        """Ids of each text as an int32 array, with ``bos_id`` before / ``eos_id`` after it if asked."""

    def encode_lazy(self, texts: list[str], *, bos: bool = False, eos: bool = False
                    ) -> tuple[list[np.ndarray], Callable[[int], Encoding]]:
        """``encode``'s ids, and a function giving text ``i``'s ``Encoding`` (ids without specials, token
        ends computed on first use): only documents that need splitting ask for it."""

    def encode_batch(self, texts: list[str]) -> list[Encoding]:
        """Every text's ``Encoding`` (tests and small inputs)."""

    def encode_continued(self, texts: list[str]) -> list[np.ndarray]:
        """Ids of each text as it is tokenized when it follows other text: no dummy prefix, no specials."""

    def decode(self, ids: list[int] | np.ndarray) -> str:
        """Text of ``ids``; special tokens are dropped."""


def utf8_offsets(text: str) -> np.ndarray:
    """Byte offset of every character boundary: shape (len(text)+1,), ``[0, ..., len(text.encode())]``.

    Index it with character offsets to get byte offsets. Example: ``"a中b"`` → ``[0, 1, 4, 5]``.
    """
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    width = 1 + (cps >= 0x80).astype(np.int64) + (cps >= 0x800) + (cps >= 0x10000)
    out = np.zeros(len(cps) + 1, dtype=np.int64)
    np.cumsum(width, out=out[1:])
    return out


@dataclass(frozen=True)
class SentencePieceTokenizer:
    """A SentencePiece model (LLaMA-style: ``<s>``/``</s>``, byte fallback, dummy prefix).

    Fast path: with identity normalisation every piece stands for a fixed number of input characters
    (``▁`` = one space; a byte piece counts 1 if it starts a UTF-8 character, 0 for a continuation
    byte), so token ends are a cumulative sum over a per-id table. Example: ``"中a"`` with byte
    fallback → ``▁ <0xE4> <0xB8> <0xAD> a`` → counts 1 1 0 0 1, minus the dummy prefix → ends 0 1 1 1 2.
    A document whose table sum disagrees with its length (unknown pieces, other normalisers) is
    re-encoded through SentencePiece's proto output, which carries exact (byte) offsets.
    """

    path: str
    processor: object = field(repr=False)
    piece_chars: np.ndarray = field(repr=False)  # (vocab,) int64 characters started per piece; -2**40 unknown
    dummy_prefix: bool = True
    identity: bool = True
    numpy_out: bool = True  # the installed sentencepiece supports encode(..., return_type="numpy")
    continued: object = field(default=None, repr=False)  # the same model without the dummy prefix, or None
    # Whitespace pre-splitting, dummy prefix, identity normaliser: a long text may be encoded in pieces.
    chunkable: bool = False

    @property
    def vocab_size(self) -> int:
        return self.processor.get_piece_size()

    @property
    def bos_id(self) -> int | None:
        return _none_if_negative(self.processor.bos_id())

    @property
    def eos_id(self) -> int | None:
        return _none_if_negative(self.processor.eos_id())

    def encode(self, texts: list[str], *, bos: bool = False, eos: bool = False) -> list[np.ndarray]:
        if self.chunkable and any(len(t) > LONG_TEXT_CHARS for t in texts):
            ids = self._encode([t if len(t) <= LONG_TEXT_CHARS else "" for t in texts], bos, eos)
            return [self._encode_long(t, bos, eos) if len(t) > LONG_TEXT_CHARS else one
                    for t, one in zip(texts, ids, strict=True)]
        return self._encode(texts, bos, eos)

    def _encode_long(self, text: str, bos: bool, eos: bool) -> np.ndarray:
        """A huge text (SentencePiece needs ~45 bytes per character of it) in pieces of at most
        ``LONG_TEXT_CHARS``, cut at a single space between two words and dropping that space: the next
        piece's dummy prefix ``▁`` stands for it, and no token crosses a space, so the ids are those of
        the whole text (tested). Text with no such space left (CJK) is encoded whole from there on."""
        parts, start = [], 0
        while len(text) - start > LONG_TEXT_CHARS:
            gap = next((m.start() for m in _WORD_GAP.finditer(text, start + LONG_TEXT_CHARS // 2,
                                                             start + LONG_TEXT_CHARS)), None)
            if gap is None:
                break
            parts.append(text[start:gap])
            start = gap + 1
        parts.append(text[start:])
        ends = ([np.array([self.bos_id], np.int32)] if bos else []) + self._encode(parts, False, False)
        return np.concatenate(ends + ([np.array([self.eos_id], np.int32)] if eos else []), dtype=np.int32)

    def _encode(self, texts: list[str], bos: bool, eos: bool) -> list[np.ndarray]:
        # One thread: workers are processes. SentencePiece 0.2.3 hands back int32 buffers; its Python
        # int lists cost ~20 ns more per token to build, and ~15-35 more to turn into an array afterwards.
        # Its add_bos/add_eos cost nothing; adding them afterwards costs a copy or 2 arrays per text.
        if self.numpy_out:
            return self.processor.encode(texts, num_threads=1, return_type="numpy", add_bos=bos, add_eos=eos)
        return [np.array(ids, dtype=np.int32)
                for ids in self.processor.encode(texts, num_threads=1, add_bos=bos, add_eos=eos)]

    def encode_continued(self, texts: list[str]) -> list[np.ndarray]:
        # The dummy prefix stands for "a space before the text", true only at the start of a document:
        # a second processor of the same model with add_dummy_prefix off encodes the rest, so an answer
        # "Paris" after its prompt is "Paris" as in the whole text's encoding, not "▁Paris".
        if self.continued is None:
            return self.encode(texts)
        return [np.array(ids, dtype=np.int32) for ids in self.continued.encode(texts, num_threads=1)]

    def encode_lazy(self, texts: list[str], *, bos: bool = False, eos: bool = False
                    ) -> tuple[list[np.ndarray], Callable[[int], Encoding]]:
        ids = self.encode(texts, bos=bos, eos=eos)
        return ids, functools.partial(self._encoding, texts, ids, int(bos), int(eos))

    def encode_batch(self, texts: list[str]) -> list[Encoding]:
        return [self._encoding(texts, self.encode(texts), 0, 0, i) for i in range(len(texts))]

    def _encoding(self, texts: list[str], ids: list[np.ndarray], lead: int, tail: int, i: int) -> Encoding:
        body = ids[i][lead : len(ids[i]) - tail]
        return Encoding(body, make_ends=functools.partial(self._ends, texts[i], body))

    def _ends(self, text: str, ids: np.ndarray) -> np.ndarray:
        """Character ends by the piece table; SentencePiece's own offsets if the table disagrees."""
        if self.identity and ids.size:
            ends = np.cumsum(self.piece_chars[ids])
            if self.dummy_prefix:  # the dummy "▁" stands for no input character
                ends -= 1
            if int(ends[-1]) == len(text):
                return ends
        return self._encode_exact(text).ends

    def _encode_exact(self, text: str) -> Encoding:
        pieces = self.processor.encode(text, return_type="proto").pieces
        ids = np.fromiter((p.id for p in pieces), dtype=np.int32, count=len(pieces))
        begins = np.fromiter((p.begin for p in pieces), dtype=np.int64, count=len(pieces))
        ends = np.fromiter((p.end for p in pieces), dtype=np.int64, count=len(pieces))
        # Pieces covering no input (the dummy "▁", all but the last byte of a byte-fallback character)
        # belong with the next piece that does: take its end, so no cut falls inside a character.
        width = np.flatnonzero(ends > begins)
        if width.size:
            nxt = np.minimum(np.searchsorted(width, np.arange(len(pieces))), width.size - 1)
            # (pieces at offset 0, the dummy prefix among them, keep end 0 as on the fast path)
            ends = np.where((ends > begins) | (ends == 0), ends, ends[width[nxt]])
        if ends.size:
            ends = np.maximum.accumulate(ends)
            if not text.isascii():  # bytes → characters (ends now fall on character boundaries)
                ends = np.searchsorted(utf8_offsets(text), ends)
        return Encoding(ids, ends)

    def decode(self, ids: list[int] | np.ndarray) -> str:
        return self.processor.decode([int(i) for i in ids])


@dataclass(frozen=True)
class HFTokenizer:
    """A Hugging Face ``tokenizers`` tokenizer (``tokenizer.json``); BOS/EOS from the directory's config."""

    path: str
    backend: object = field(repr=False)
    bos_id: int | None = None
    eos_id: int | None = None

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def encode(self, texts: list[str], *, bos: bool = False, eos: bool = False) -> list[np.ndarray]:
        return self.encode_lazy(texts, bos=bos, eos=eos)[0]

    def encode_lazy(self, texts: list[str], *, bos: bool = False, eos: bool = False
                    ) -> tuple[list[np.ndarray], Callable[[int], Encoding]]:
        encs = self.backend.encode_batch(texts, add_special_tokens=False)
        head, tail = [self.bos_id] if bos else [], [self.eos_id] if eos else []
        ids = [np.array(head + e.ids + tail, dtype=np.int32) for e in encs]
        return ids, functools.partial(self._encoding, encs, ids, int(bos), int(eos))

    def encode_batch(self, texts: list[str]) -> list[Encoding]:
        ids, encoding = self.encode_lazy(texts)
        return [encoding(i) for i in range(len(ids))]

    def encode_continued(self, texts: list[str]) -> list[np.ndarray]:
        # A tokenizer.json may prepend "▁" (LLaMA's Prepend normaliser) to every call: encode the text
        # behind a newline and cut the newline's ids off. Where the newline merges with the text (so its
        # ids are not a clean prefix) the plain encoding is kept: the ids then still decode to the text.
        lead = self.backend.encode(CONTINUATION_LEAD, add_special_tokens=False).ids
        encs = self.backend.encode_batch([CONTINUATION_LEAD + t for t in texts], add_special_tokens=False)
        plain = None
        out = []
        for i, enc in enumerate(encs):
            if enc.ids[: len(lead)] == lead:
                out.append(np.array(enc.ids[len(lead):], dtype=np.int32))
            else:
                plain = plain if plain is not None else self.encode(texts)
                out.append(plain[i])
        return out

    @staticmethod
    def _encoding(encs: list, ids: list[np.ndarray], lead: int, tail: int, i: int) -> Encoding:
        return Encoding(ids[i][lead : len(ids[i]) - tail], make_ends=functools.partial(_offset_ends, encs[i]))

    def decode(self, ids: list[int] | np.ndarray) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=True)


def _offset_ends(enc) -> np.ndarray:
    """Character ends of a ``tokenizers`` encoding, made non-decreasing."""
    ends = np.fromiter((e for _, e in enc.offsets), dtype=np.int64, count=len(enc.offsets))
    return np.maximum.accumulate(ends) if ends.size else ends


CONTINUATION_LEAD = "\n"  # text a continuation is encoded behind: a newline rarely merges with what follows


def _none_if_negative(value: int) -> int | None:
    return None if value < 0 else value


def _load_sentencepiece(path: Path) -> SentencePieceTokenizer:
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    proto = model_pb2.ModelProto()
    proto.ParseFromString(path.read_bytes())
    processor = spm.SentencePieceProcessor(model_file=str(path))
    unknown = -(2**40)  # any doc containing an unknown piece fails the length check → exact path
    table = np.full(len(proto.pieces), unknown, dtype=np.int64)
    kind = model_pb2.ModelProto.SentencePiece
    for i, piece in enumerate(proto.pieces):
        if piece.type in (kind.NORMAL, kind.USER_DEFINED):
            table[i] = len(piece.piece)  # "▁" stands for one space: one character either way
        elif piece.type == kind.BYTE:  # "<0xE4>": a lead byte starts a character, 0x80-0xBF continue one
            table[i] = int(not 0x80 <= int(piece.piece[3:5], 16) <= 0xBF)
        elif piece.type == kind.CONTROL:
            table[i] = 0
    norm = proto.normalizer_spec
    identity = norm.name == "identity" and not norm.remove_extra_whitespaces
    trainer = proto.trainer_spec
    chunkable = (identity and norm.add_dummy_prefix and trainer.split_by_whitespace
                 and not trainer.treat_whitespace_as_suffix)
    try:  # sentencepiece 0.2.0 has no numpy output
        processor.encode([""], num_threads=1, return_type="numpy")
        numpy_out = True
    except (TypeError, ValueError):
        numpy_out = False
    continued = None
    if norm.add_dummy_prefix:
        plain = model_pb2.ModelProto()
        plain.CopyFrom(proto)
        plain.normalizer_spec.add_dummy_prefix = False
        continued = spm.SentencePieceProcessor(model_proto=plain.SerializeToString())
    return SentencePieceTokenizer(
        path=str(path), processor=processor, piece_chars=table,
        dummy_prefix=norm.add_dummy_prefix, identity=identity, numpy_out=numpy_out, continued=continued,
        chunkable=chunkable,
    )


def _special_id(backend, config: dict, key: str) -> int | None:
    token = config.get(key)
    if isinstance(token, dict):  # tokenizer_config.json may hold AddedToken dicts
        token = token.get("content")
    return backend.token_to_id(token) if isinstance(token, str) else None


def _load_hf(tokenizer_json: Path) -> HFTokenizer:
    from tokenizers import Tokenizer as Backend

    backend = Backend.from_file(str(tokenizer_json))
    config: dict = {}
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        candidate = tokenizer_json.parent / name
        if candidate.exists():
            config.update(json.loads(candidate.read_text(encoding="utf-8")))
    return HFTokenizer(
        path=str(tokenizer_json), backend=backend,
        bos_id=_special_id(backend, config, "bos_token"), eos_id=_special_id(backend, config, "eos_token"),
    )


@functools.lru_cache(maxsize=8)
def load_tokenizer(path: str | Path) -> SentencePieceTokenizer | HFTokenizer:
    """Load a tokenizer once per process: a ``.model`` file, a ``tokenizer.json``, or a directory.

    A directory is read through its ``tokenizer.json`` if present, else its ``tokenizer.model``.
    Raises FileNotFoundError with the path when neither is there.
    """
    p = Path(path)
    if p.is_dir():
        if (p / "tokenizer.json").exists():
            return _load_hf(p / "tokenizer.json")
        if (p / "tokenizer.model").exists():
            return _load_sentencepiece(p / "tokenizer.model")
        raise FileNotFoundError(f"{p}: no tokenizer.json or tokenizer.model in this directory")
    if not p.exists():
        raise FileNotFoundError(f"tokenizer not found: {p}")
    if p.suffix == ".json":
        return _load_hf(p)
    return _load_sentencepiece(p)
