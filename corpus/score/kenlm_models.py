"""Perplexity under KenLM models (the ``[kenlm]`` extra): ARPA or KenLM binary files, one per language.

A model directory holds ``<lang>.arpa``, ``<lang>.arpa.bin`` or ``<lang>.bin`` per language; how text is
cut into tokens is said per language by:

- ``<lang>.sp.model`` beside it: CCNet's layout (``lm_sp/``, Wenzek et al. 2020) — each line is
  normalised as CCNet's ``text_normalizer.normalize`` does (lower case, accents removed, digits to 0,
  Unicode punctuation to ASCII) and cut into SentencePiece pieces; perplexity is CCNet's
  ``10 ** (-Σ log10 p / Σ (pieces + 1))`` over the lines;
- else ``kenlm.json`` (written by ``knowforge corpus score-train --format arpa``): ``{"units": {lang:
  "char" | "word"}}``. ``char`` models see :func:`corpus.score.ngram.units` (the stream the pure-Python
  models see) one character a token, spaces as ``▁``; ``word`` models see lower-cased whitespace tokens;
- with neither, ``word``.

The first :data:`~corpus.score.ngram.MAX_SCORED_CHARS` units of a document are scored, as with the
pure-Python models.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.score.ngram import MAX_SCORED_CHARS, units

MANIFEST = "kenlm.json"
MODEL_SUFFIXES = (".arpa.bin", ".bin", ".arpa")
UNIT_KINDS = ("char", "word", "sentencepiece")
SPACE_TOKEN = "▁"  # a space in a char model's token stream (ARPA tokens cannot contain whitespace)

_DIGITS = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
# CCNet's text_normalizer.PUNCT_MAP / non-printing removal, the part that matters for scoring.
_PUNCT = str.maketrans({
    "，": ",", "。": ".", "、": ",", "„": '"', "”": '"', "“": '"', "«": '"', "»": '"', "１": '"', "」": '"',
    "「": '"', "《": '"', "》": '"', "´": "'", "∶": ":", "：": ":", "？": "?", "！": "!", "（": "(", "）": ")",
    "；": ";", "–": "-", "—": " - ", "．": ". ", "～": "~", "’": "'", "…": "...", "━": "-", "〈": "<",
    "〉": ">", "【": "[", "】": "]", "％": "%", "►": "-",
})
_NON_PRINTING = re.compile("[" + "".join(map(chr, [*range(0, 32), *range(127, 160)])) + "]")


def ccnet_normalize(line: str) -> str:
    """CCNet's default normalisation of a line before SentencePiece (accents, case, digits, punctuation)."""
    line = line.strip()
    if not line:
        return line
    line = line.lower()
    line = "".join(ch for ch in unicodedata.normalize("NFD", line) if unicodedata.category(ch) != "Mn")
    line = _DIGITS.sub("0", line)
    line = line.translate(_PUNCT)
    return _NON_PRINTING.sub("", line)


def char_tokens(text: str, lang: str) -> str:
    """The space-separated token line a ``char`` model scores: :func:`units`, one character a token."""
    return " ".join(units(text, lang)[:MAX_SCORED_CHARS].replace(" ", SPACE_TOKEN))


def word_tokens(text: str) -> str:
    """The token line a ``word`` model scores: lower-cased whitespace tokens, digits folded to 0."""
    return _SPACES.sub(" ", _DIGITS.sub("0", text[:MAX_SCORED_CHARS].lower())).strip()


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block (KenLM's C++ loader writes there directly);
    failures still arrive as Python exceptions with their message."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _import_kenlm():
    try:
        import kenlm
    except ImportError as exc:  # an optional extra: say how to get it
        raise ValueError("KenLM models need the kenlm package: pip install 'knowforge[kenlm]'") from exc
    return kenlm


@dataclass
class KenLMModel:
    """One language's KenLM model and how its text is tokenised."""

    lang: str
    path: Path
    kind: str
    sp_model: Path | None = None
    _model: Any = field(default=None, repr=False)
    _sp: Any = field(default=None, repr=False)

    def _loaded(self):
        if self._model is None:
            kenlm = _import_kenlm()
            config = kenlm.Config()
            config.show_progress = False  # a progress bar per worker and shard on stderr is noise
            with _stderr_silenced():  # "Loading the LM will be faster if you build a binary file." per load
                self._model = kenlm.Model(str(self.path), config)
            if self.kind == "sentencepiece":
                import sentencepiece

                self._sp = sentencepiece.SentencePieceProcessor(model_file=str(self.sp_model))
        return self._model

    def _lines(self, text: str) -> Iterator[str]:
        if self.kind == "char":
            line = char_tokens(text, self.lang)
            if line:
                yield line
        elif self.kind == "word":
            line = word_tokens(text)
            if line:
                yield line
        else:
            budget = MAX_SCORED_CHARS
            for raw in text.split("\n"):
                line = ccnet_normalize(raw)
                if not line:
                    continue
                yield " ".join(self._sp.encode(line[:budget], out_type=str))
                budget -= len(line)
                if budget <= 0:
                    break

    def perplexity(self, text: str) -> float | None:
        """Per-token perplexity of ``text`` (every line with its end-of-sentence); None if no tokens."""
        model = self._loaded()
        log10_sum, tokens = 0.0, 0
        for line in self._lines(text):
            log10_sum += model.score(line, bos=True, eos=True)
            tokens += line.count(" ") + 2  # the line's tokens and its </s>
        if not tokens:
            return None
        return 10.0 ** (-log10_sum / tokens)


@dataclass
class KenLMModels:
    """The KenLM models of a directory, by language (same interface as ``PerplexityModels``)."""

    models: dict[str, KenLMModel]

    def perplexity(self, text: str, lang: str) -> float | None:
        """Perplexity under the ``lang`` model; None when there is no such model or no text."""
        model = self.models.get(lang)
        return None if model is None else model.perplexity(text)

    @classmethod
    def load(cls, directory: Path) -> KenLMModels:
        """Find the models of ``directory`` (see the module docstring); ValueError when there are none."""
        manifest_path = directory / MANIFEST
        declared = json.loads(manifest_path.read_text(encoding="utf-8")).get("units", {}) \
            if manifest_path.exists() else {}
        found: dict[str, Path] = {}
        for suffix in MODEL_SUFFIXES:  # binary first: it loads in a fraction of the ARPA's time
            for path in sorted(directory.glob(f"*{suffix}")):
                lang = path.name[: -len(suffix)]
                if "." not in lang:  # "en.arpa.bin" also matches "*.bin": its stem "en.arpa" is no language
                    found.setdefault(lang, path)
        models: dict[str, KenLMModel] = {}
        for lang, path in sorted(found.items()):
            sp = directory / f"{lang}.sp.model"
            kind = "sentencepiece" if sp.exists() else declared.get(lang, "word")
            if kind not in UNIT_KINDS:
                raise ValueError(f"{manifest_path}: units of {lang!r} must be one of {UNIT_KINDS}, not {kind!r}")
            models[lang] = KenLMModel(lang=lang, path=path, kind=kind, sp_model=sp if sp.exists() else None)
        if not models:
            raise ValueError(f"{directory}: no <lang>.arpa, <lang>.arpa.bin or <lang>.bin KenLM model in it")
        _import_kenlm()
        return cls(models=models)
