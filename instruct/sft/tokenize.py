"""SFT tokenisation: records → ``input_ids``, ``attention_mask``, ``labels`` (prompt tokens = -100).

Follows the Stanford-Alpaca / ChatGLM2 p-tuning data flow (seed 003): prompt and answer are tokenised
apart, joined (answer + EOS), the prompt's labels set to -100, the prompt truncated to
``max_source_len`` (keeping its head, as ChatGLM2 does) and the answers to ``max_target_len``.
Multi-turn records train every assistant turn and mask every user turn. Tokenizers come from
:func:`corpus.tokenizers.load.load_tokenizer`, the loader ``pack`` uses (a SentencePiece ``.model``, a
``tokenizer.json`` or an HF directory); segments after the first are encoded as continuations, so no
dummy-prefix ``▁`` appears where the whole text has none. The result is a HF ``datasets`` dataset on
disk that ``Trainer`` + ``DataCollatorForSeq2Seq`` read directly. Packing is left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from corpus.records import reject
from corpus.shards import write_bytes_atomic
from corpus.tokenizers.load import Tokenizer, load_tokenizer
from instruct.sft.io import read_records, to_conversation, write_records
from instruct.sft.templates import appends_eos, render

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy (and HF models) skip
STAGE = "sft-tokenize"
BAD_RECORD = "bad_record"  # not a readable Alpaca/ShareGPT/OpenAI record, or the template cannot render it
NO_ANSWER_TOKENS = "no_answer_tokens"  # nothing left to train on after truncation
BATCH_RECORDS = 1000  # records whose segments go to the tokenizer in one batched call


@dataclass(frozen=True, kw_only=True)
class TokenizeSettings:
    """Template and length budgets (in tokens).

    ``max_source_len`` bounds all prompt tokens of a record (BOS, template text, user turns) and
    ``max_target_len`` all trained tokens (answers and their EOS), so a record is at most their sum.
    A prompt that overflows is cut at its end when it is the first turn, and the conversation stops
    before it otherwise; an answer that overflows is cut and ends the conversation.
    """

    template: str = "alpaca"
    max_source_len: int = 512
    max_target_len: int = 512

    def __post_init__(self) -> None:
        if self.max_source_len < 1 or self.max_target_len < 1:
            raise ValueError("max_source_len and max_target_len must be >= 1")


def load_chat_renderer(path: Path) -> Any:
    """The ``transformers`` tokenizer whose Jinja chat template ``--template chat`` renders (text only).

    Ids never come from it (they come from the one loader); it only renders the template, so it needs
    an HF directory (or a ``tokenizer.json`` inside one) with a ``chat_template``. Never downloads.
    """
    from transformers import AutoTokenizer

    p = Path(path)
    directory = p if p.is_dir() else p.parent if p.name == "tokenizer.json" else None
    if directory is None:
        raise ValueError(f"template 'chat' needs a Hugging Face tokenizer directory with a chat_template, got {p}")
    renderer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
    if not getattr(renderer, "chat_template", None):
        raise ValueError(f"template 'chat' needs a chat_template; {directory} has none")
    return renderer


def assemble(
    pieces: Sequence[tuple[list[int], list[int]]],
    *,
    bos: int | None,
    eos: int | None,
    settings: TokenizeSettings,
) -> tuple[list[int], list[int], bool]:
    """Join (prompt ids, answer ids) turns into ``(input_ids, labels, truncated)`` within the budgets."""
    input_ids: list[int] = []
    labels: list[int] = []
    src_left, tgt_left = settings.max_source_len, settings.max_target_len
    truncated = False
    for k, (prompt, answer) in enumerate(pieces):
        prompt = ([bos] if k == 0 and bos is not None else []) + prompt
        answer = answer + ([eos] if eos is not None else [])
        if len(prompt) > src_left:
            truncated = True
            if k:
                break
            prompt = prompt[:src_left]
        if tgt_left <= 0:
            truncated = True
            break
        if len(answer) > tgt_left:
            truncated = True
            answer = answer[:tgt_left]
        input_ids += prompt + answer
        labels += [IGNORE_INDEX] * len(prompt) + answer
        src_left -= len(prompt)
        tgt_left -= len(answer)
    return input_ids, labels, truncated


def _pair_segments(segments: Sequence[Any]) -> list[tuple[int, int]]:
    """Indices (prompt, answer) per turn; templates emit prompt/answer segments alternately."""
    if len(segments) % 2 or any(s.train != (i % 2 == 1) for i, s in enumerate(segments)):
        raise ValueError("template must emit alternating prompt/answer segments")
    return [(i, i + 1) for i in range(0, len(segments), 2)]


def tokenize_records(
    rows: Sequence[dict[str, Any]], tokenizer: Tokenizer, settings: TokenizeSettings, *, chat_renderer: Any = None
) -> tuple[list[dict[str, list[int]]], list[dict[str, Any]], Counter]:
    """Tokenise ``rows``; returns (examples, rejected rows with ``meta.reject``, counters).

    ``tokenizer`` comes from :func:`load_tokenizer`; ``chat_renderer`` (template ``chat`` only) from
    :func:`load_chat_renderer`. Segments are tokenised without special tokens, in batches: a record's
    first segment as the start of a text, the others as continuations. BOS (if the tokenizer has one)
    starts a string template's text and EOS ends each of its answers. A chat template writes its own.
    """
    eos_needed = appends_eos(settings.template)
    bos = tokenizer.bos_id if eos_needed else None
    eos = tokenizer.eos_id if eos_needed else None
    examples: list[dict[str, list[int]]] = []
    rejected: list[dict[str, Any]] = []
    counts: Counter = Counter()
    for start in range(0, len(rows), BATCH_RECORDS):
        batch = rows[start : start + BATCH_RECORDS]
        rendered: list[tuple[dict[str, Any], list[Any]]] = []
        for row in batch:
            try:
                segments = render(to_conversation(row), settings.template, chat_renderer)
                _pair_segments(segments)
            except (ValueError, KeyError, TypeError) as exc:
                rejected.append(reject(dict(row), stage=STAGE, reason=BAD_RECORD, value=str(exc)))
                continue
            rendered.append((row, segments))
        firsts = iter(tokenizer.encode([segments[0].text for _, segments in rendered]) if rendered else [])
        rest = [s.text for _, segments in rendered for s in segments[1:]]
        later = iter(tokenizer.encode_continued(rest) if rest else [])
        for row, segments in rendered:
            seg_ids = [next(firsts).tolist()] + [next(later).tolist() for _ in segments[1:]]
            pieces = [(seg_ids[i], seg_ids[j]) for i, j in _pair_segments(segments)]
            input_ids, labels, truncated = assemble(pieces, bos=bos, eos=eos, settings=settings)
            trained = sum(label != IGNORE_INDEX for label in labels)
            if trained == 0:
                rejected.append(reject(dict(row), stage=STAGE, reason=NO_ANSWER_TOKENS, value=0))
                continue
            examples.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels})
            counts["truncated"] += truncated
            counts["tokens"] += len(input_ids)
            counts["trained_tokens"] += trained
    counts["records"] = len(rows)
    counts["written"] = len(examples)
    for row in rejected:
        counts[f"rejected:{row['meta']['reject']['reason']}"] += 1
    return examples, rejected, counts


def tokenize_file(
    input_path: Path, output_dir: Path, *, tokenizer_path: Path, settings: TokenizeSettings
) -> dict[str, Any]:
    """Tokenise one Alpaca/ShareGPT/OpenAI file into ``output_dir`` (``datasets.save_to_disk``).

    ``tokenizer_path``: a SentencePiece ``.model``, a ``tokenizer.json`` or an HF tokenizer directory.
    Also writes ``rejected.jsonl`` (every dropped record with its reason) and ``_manifest.json``
    (settings, tokenizer, counts). Returns the manifest.
    """
    from datasets import Dataset, Features, Sequence, Value

    tokenizer = load_tokenizer(str(tokenizer_path))
    chat_renderer = load_chat_renderer(tokenizer_path) if settings.template == "chat" else None
    rows = read_records(input_path)
    examples, rejected, counts = tokenize_records(rows, tokenizer, settings, chat_renderer=chat_renderer)
    features = Features({name: Sequence(Value("int32")) for name in ("input_ids", "attention_mask", "labels")})
    columns = {name: [ex[name] for ex in examples] for name in features}
    output_dir = Path(output_dir)
    Dataset.from_dict(columns, features=features).save_to_disk(str(output_dir))
    write_records(output_dir / "rejected.jsonl", rejected)
    manifest = {
        "stage": STAGE,
        "input": str(input_path),
        "tokenizer": str(tokenizer_path),
        "settings": asdict(settings),
        "counts": dict(sorted(counts.items())),
    }
    write_bytes_atomic(output_dir / "_manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest
