"""Train or extend a tokenizer and report its chars/token, reading the corpus once.

``train_tokenizer`` feeds the texts to SentencePiece and keeps the evaluation sample (the first
``split_by_language`` texts per language) as they go by; ``extend_tokenizer`` does the same while
counting the characters to add. Before, the command read the corpus a second time for the report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from corpus.tokenizers import train


class _Sampler:
    """Passes texts through unchanged and keeps the sample ``train.split_by_language`` would pick."""

    def __init__(self, texts: Iterable[str], limit: int = 2000) -> None:
        self._texts = iter(texts)
        self.limit = limit
        self.groups: dict[str, list[str]] = {"zh": [], "en": []}

    def _keep(self, text: str) -> None:
        # One text at a time through the same rule, so the sample is the one a second read would give.
        for lang, group in train.split_by_language([text], self.limit).items():
            if group and len(self.groups[lang]) < self.limit:
                self.groups[lang].append(text)

    def __iter__(self) -> Iterator[str]:
        for text in self._texts:
            self._keep(text)
            yield text

    def sample(self) -> dict[str, list[str]]:
        """The sample, after reading what the consumer left unread only while a group is still short."""
        while any(len(group) < self.limit for group in self.groups.values()):
            text = next(self._texts, None)
            if text is None:
                break
            self._keep(text)
        return self.groups


def _hf_dir(output: Path, hf_dir: Path | None) -> Path:
    return hf_dir or output.with_name(output.stem + "-hf")


@dataclass(frozen=True)
class Trained:
    """What ``train_tokenizer`` wrote: the model, its HF directory, the pieces reached, the chars/token lines."""

    model: Path
    hf_dir: Path
    pieces: int
    report: str


def train_tokenizer(inputs: Sequence[Path], output: Path, settings: train.TrainSettings,
                    *, hf_dir: Path | None = None) -> Trained:
    """Train a SentencePiece model on ``inputs``, write its HF directory, and report chars/token on a
    sample of the same texts (one read of the corpus)."""
    import sentencepiece as spm

    texts = _Sampler(train.iter_texts(inputs))
    model = train.train_sentencepiece(texts, output, settings)
    hf = train.save_hf_directory(model, _hf_dir(output, hf_dir))
    pieces = spm.SentencePieceProcessor(model_file=str(model)).get_piece_size()
    return Trained(model, hf, pieces, train.compare_report(None, model, texts.sample()))


@dataclass(frozen=True)
class Extended:
    """What ``extend_tokenizer`` wrote: the pieces added, the HF directory, the report (empty: no text)."""

    added: list[str]
    hf_dir: Path
    report: str


def extend_tokenizer(base: Path, output: Path, *, add_chars: Path | None = None, from_corpus: Path | None = None,
                     count: int = 7000, eval_paths: Sequence[Path] = (), hf_dir: Path | None = None) -> Extended:
    """Append the pieces of ``add_chars`` (one per line) or the ``count`` most frequent CJK characters of
    ``from_corpus`` that ``base`` lacks; report chars/token before and after on ``eval_paths`` (default:
    the corpus, sampled while its characters are counted)."""
    if (add_chars is None) == (from_corpus is None):
        raise ValueError("give exactly one of add_chars or from_corpus")
    corpus_sample = None
    if add_chars is not None:
        pieces = [line.strip() for line in Path(add_chars).read_text(encoding="utf-8").splitlines()]
    else:
        corpus_sample = _Sampler(train.iter_texts([from_corpus]))
        pieces = train.frequent_new_chars(corpus_sample, base, count)
    added = train.extend_model(base, pieces, output)
    hf = train.save_hf_directory(output, _hf_dir(output, hf_dir))
    if eval_paths:
        sample = train.split_by_language(train.iter_texts(eval_paths))
    elif corpus_sample is not None:
        sample = corpus_sample.sample()
    else:
        return Extended(added, hf, "")
    return Extended(added, hf, train.compare_report(base, output, sample))
