"""Train a SentencePiece tokenizer for Chinese-English text, or extend one with new pieces.

Training follows LLaMA's SentencePiece settings (BPE, byte fallback, split digits, identity normalisation,
``<unk>``/``<s>``/``</s>`` = 0/1/2); extension appends pieces to the model proto the way Chinese-LLaMA
grew LLaMA's 32k vocabulary by ~7k Chinese characters (seed 002). Both also write a Hugging Face
directory (``tokenizer.model`` + ``tokenizer.json``) that ``transformers`` loads as a Llama tokenizer.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from corpus.shards import is_shard, list_shards, read_docs
from corpus.text import HAN

MAX_SENTENCE_BYTES = 4192  # SentencePiece's default max_sentence_length; longer lines are cut


def iter_texts(paths: Iterable[Path]) -> Iterator[str]:
    """Document texts from shard files, directories of shards, or plain ``.txt`` files (one doc per file)."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            yield from iter_texts(sorted(p for p in path.iterdir() if is_shard(p) or p.suffix == ".txt"))
        elif path.suffix == ".txt":
            yield path.read_text(encoding="utf-8")
        elif is_shard(path):
            for doc in read_docs(path, require_id=False):
                if isinstance(doc.get("text"), str):
                    yield doc["text"]


def _training_lines(texts: Iterable[str]) -> Iterator[str]:
    """Non-empty lines, cut to SentencePiece's sentence limit (it would skip longer ones)."""
    for text in texts:
        for line in text.split("\n"):
            line = line.strip()
            while line:
                head = line.encode()[:MAX_SENTENCE_BYTES].decode("utf-8", errors="ignore")
                yield head
                line = line[len(head):]


MODEL_TYPES = ("bpe", "unigram")  # the SentencePiece model types we train (and `tokenizer train` offers)


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """SentencePiece trainer settings; defaults suit mixed Chinese-English corpora (LLaMA-style)."""

    vocab_size: int = 32000
    model_type: str = "bpe"
    character_coverage: float = 0.9995  # rare CJK characters fall back to bytes instead of <unk>
    byte_fallback: bool = True
    split_digits: bool = True  # "2023" → 2 0 2 3, as LLaMA: numbers stay learnable
    max_sentencepiece_length: int = 16
    input_sentence_size: int = 2_000_000  # lines sampled for training (memory bound)
    num_threads: int = 2
    seed_sentencepiece_size: int = 1_000_000


def train_sentencepiece(texts: Iterable[str], out_model: Path, settings: TrainSettings) -> Path:
    """Train a model on ``texts`` and write it to ``out_model`` (``.model``); returns the path."""
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=_training_lines(texts),
        model_writer=buffer,
        vocab_size=settings.vocab_size,
        model_type=settings.model_type,
        character_coverage=settings.character_coverage,
        byte_fallback=settings.byte_fallback,
        split_digits=settings.split_digits,
        max_sentencepiece_length=settings.max_sentencepiece_length,
        input_sentence_size=settings.input_sentence_size,
        shuffle_input_sentence=True,
        num_threads=settings.num_threads,
        seed_sentencepiece_size=settings.seed_sentencepiece_size,
        # LLaMA's choices: text kept as is (offsets stay exact), spaces kept, "▁" dummy prefix
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        allow_whitespace_only_pieces=True,
        split_by_unicode_script=True,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        hard_vocab_limit=False,  # a small corpus may not support the full vocab_size
        minloglevel=2,
    )
    out_model.parent.mkdir(parents=True, exist_ok=True)
    out_model.write_bytes(buffer.getvalue())
    return out_model


def extend_model(base: Path, pieces: Iterable[str], out_model: Path) -> list[str]:
    """Append ``pieces`` missing from ``base`` as NORMAL pieces; returns the pieces actually added.

    New pieces get scores below every existing one (in the given order), so they never outrank the
    base model's merges; a single character added this way replaces its byte-fallback bytes.
    """
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    proto = model_pb2.ModelProto()
    proto.ParseFromString(Path(base).read_bytes())
    have = {p.piece for p in proto.pieces}
    score = min((p.score for p in proto.pieces), default=0.0)
    added: list[str] = []
    for piece in pieces:
        piece = piece.replace(" ", "\u2581")
        if not piece or piece in have:
            continue
        score -= 1.0
        new = proto.pieces.add()
        new.piece, new.score, new.type = piece, score, model_pb2.ModelProto.SentencePiece.NORMAL
        have.add(piece)
        added.append(piece)
    out_model.parent.mkdir(parents=True, exist_ok=True)
    out_model.write_bytes(proto.SerializeToString())
    return added


def frequent_new_chars(texts: Iterable[str], base: Path, count: int) -> list[str]:
    """The ``count`` most frequent CJK characters in ``texts`` that ``base`` has no piece for."""
    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    proto = model_pb2.ModelProto()
    proto.ParseFromString(Path(base).read_bytes())
    have = {p.piece for p in proto.pieces}
    freq: Counter = Counter()
    for text in texts:
        freq.update(HAN.regex.findall(text))  # one C-level scan, not a Python test per character
    ranked = sorted((c for c in freq if c not in have), key=lambda c: (-freq[c], c))
    return ranked[:count]


def save_hf_directory(model: Path, out_dir: Path) -> Path:
    """Write a Hugging Face tokenizer directory (slow ``tokenizer.model`` and fast ``tokenizer.json``)."""
    from transformers import LlamaTokenizerFast

    # legacy=True + add_prefix_space=True reproduce SentencePiece's dummy "▁" prefix, so the fast ids equal
    # the .model's (transformers 4.57 without add_prefix_space drops the prefix: every first token differs)
    fast = LlamaTokenizerFast(vocab_file=str(model), legacy=True, add_prefix_space=True, from_slow=True,
                              add_bos_token=True, add_eos_token=False)
    fast.save_pretrained(str(out_dir))
    return out_dir


def chars_per_token(model: Path, texts: list[str]) -> float:
    """Characters per token of ``texts`` under ``model`` (higher = more compact); 0.0 for no tokens."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    tokens = sum(len(ids) for ids in sp.encode(texts))
    return sum(len(t) for t in texts) / tokens if tokens else 0.0


def split_by_language(texts: Iterable[str], limit: int = 2000) -> dict[str, list[str]]:
    """Texts grouped as ``zh`` (CJK characters >= 30% of letters) or ``en`` (else), at most ``limit`` each."""
    groups: dict[str, list[str]] = {"zh": [], "en": []}
    for text in texts:
        letters = [c for c in text[:2000] if c.isalpha()]
        if not letters:
            continue
        lang = "zh" if HAN.count("".join(letters)) >= 0.3 * len(letters) else "en"
        if len(groups[lang]) < limit:
            groups[lang].append(text)
    return groups


def compare_report(before: Path | None, after: Path, texts: dict[str, list[str]]) -> str:
    """Lines of characters-per-token on zh and en text, before (if given) and after."""
    lines = []
    for lang, group in texts.items():
        if not group:
            lines.append(f"{lang}: no evaluation text")
            continue
        now = chars_per_token(after, group)
        if before is None:
            lines.append(f"{lang}: {now:.3f} chars/token ({len(group)} docs)")
        else:
            old = chars_per_token(before, group)
            lines.append(f"{lang}: {old:.3f} -> {now:.3f} chars/token ({len(group)} docs)")
    return "\n".join(lines)


def input_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their shard files (for error messages and counting)."""
    out: list[Path] = []
    for p in paths:
        out.extend(list_shards(p) if Path(p).is_dir() else [Path(p)])
    return out
