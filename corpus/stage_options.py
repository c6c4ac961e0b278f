"""The command-line options of the corpus stages and readers: an ``Opt`` (help text, flag) per field.

Type, default and choices come from the stage dataclass's field (``corpus/options.py``); the help text
lives here, not in the field's metadata, because a stage module's source is part of its shards'
fingerprints: a help text edited there would redo every shard. ``corpus/commands.py`` generates the
commands from these tables and ``corpus/pipeline.py`` checks YAML values against the same choices.
Fields not listed are YAML-only (``YAML_ONLY``, ``READ_YAML_ONLY``; tested), so a new field is a choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from corpus.clean import CleanStep
from corpus.dedup.exact import ExactDedupStep
from corpus.dedup.lines import LineDedupStep
from corpus.dedup.near import NearDedupStep
from corpus.filters.pii import PiiStep
from corpus.filters.stage import FilterStep
from corpus.options import Opt, literal_choices, params, user_fields
from corpus.pack.stage import FORMATS, PackStep
from corpus.readers.leetcode import DOOCS_LANGS
from corpus.readers.wikitext import MATH_POLICIES, TABLE_POLICIES
from corpus.score.stage import SCORERS, ScoreStep
from corpus.stats import StatsStep

POSITIVE = click.IntRange(min=1)


@dataclass(frozen=True)
class StageOptions:
    """A stage's class, its command's help line, and the Opt of each field the command line offers."""

    cls: type
    help: str
    options: dict[str, Opt]


def _absolute_if_local(path: str) -> str:
    # Absolute when it is a local path, so the manifest names it from anywhere (`inspect --decode`).
    return str(Path(path).resolve()) if Path(path).exists() else path


STAGE_OPTIONS: dict[str, StageOptions] = {
    "clean": StageOptions(CleanStep, "Normalise text: widths (Chinese punctuation kept), markup, controls, "
                   "whitespace; code is never reflowed.", {
        "opencc": Opt("OpenCC conversion for every document, e.g. t2s."),
        "nfkc": Opt("Keep full-width forms (no Unicode NFKC).", flags=("--no-nfkc",), invert=True),
        "strip_markup": Opt("Keep leftover HTML tags and entities.", flags=("--keep-markup",), invert=True),
        "drop_navigation": Opt('Keep navigation lines such as "返回顶部".', flags=("--keep-navigation",), invert=True),
        "page_model": Opt("Page model JSON (`corpus train-page-model`): it judges page dumps instead of the "
                          "furniture and prose-share rules (docs/filters.md)."),
    }),
    "dedup-exact": StageOptions(ExactDedupStep, "Drop documents whose normalised text was seen before (keeps the "
                   "first by source priority, shard, line).", {
        "source_priority": Opt("Source kept first among equal texts; repeatable, in order.", multiple=True),
    }),
    "stats": StageOptions(StatsStep, "Count documents, characters and bytes per source; passes documents through "
                   "unchanged.", {}),
    "filter": StageOptions(FilterStep, "Quality, language and harmful-content filters; every drop goes to "
                   "rejected/ with its reason.", {
        "config": Opt("Filter YAML: `filters:` for one chain, or `route:` per zh/en/code (see configs/filters/)."),
        "annotate": Opt("Score with every filter into meta.scores; drop nothing."),
    }),
    "pii": StageOptions(PiiStep, "Mask emails, phones, Chinese IDs (checksum), bank cards (Luhn) and IPs with "
                   "<TYPE> placeholders.", {
        "kinds": Opt("Comma-separated kinds of personal data to mask.", sep=","),
    }),
    "dedup-lines": StageOptions(LineDedupStep, "Remove lines repeated across many documents (footers, "
                   "navigation); documents left empty are rejected.", {
        "min_docs": Opt("A line found in at least this many documents is boilerplate.", type=click.IntRange(min=2)),
        "min_chars": Opt("Shorter lines (normalised) are never removed: headings and list markers recur.",
                         type=POSITIVE),
    }),
    "dedup": StageOptions(NearDedupStep, "Remove near-duplicate documents with MinHash LSH (Chinese-aware "
                   "shingles); keeps one per cluster.", {
        "threshold": Opt("Jaccard similarity of shingle sets at which documents are duplicates.",
                         type=click.FloatRange(0, 1, min_open=True, max_open=True)),
        "num_perm": Opt("MinHash signature length.", type=POSITIVE),
        "ngram": Opt("CJK character n-gram size (see docs/dedup.md).", type=POSITIVE),
        "word_ngram": Opt("Word n-gram size for other scripts.", type=POSITIVE),
        "bands": Opt("LSH bands (with --rows); default derived.", type=POSITIVE),
        "rows": Opt("LSH rows per band (with --bands).", type=POSITIVE),
        "minhash": Opt("fast: one-permutation hashing; classic: datasketch-identical k permutations."),
        "verify": Opt("Confirm candidates with exact shingle Jaccard; --no-verify uses the MinHash estimate."),
        "annotate": Opt("Only mark duplicates in meta.minhash; reject nothing."),
        "source_priority": Opt("Source kept first within a cluster; repeatable, in order.", multiple=True),
    }),
    "score": StageOptions(ScoreStep, "Score documents into meta.scores.ppl and optionally split them into quality "
                   "buckets.", {
        "scorer": Opt("ppl: per-character perplexity under our n-gram models (no fastText classifier here).",
                      choices=SCORERS),
        "model": Opt("Model: a .json.gz from `corpus score-train`, or a directory of KenLM models (<lang>.arpa or "
                     "<lang>.bin, CCNet's <lang>.sp.model beside them; needs the [kenlm] extra). Default: "
                     "data_samples/score/char-ngram.json.gz.", default=None),
        "buckets": Opt("Comma-separated bucket names, best first (e.g. head,middle,tail): per-language perplexity "
                       "quantiles, written to OUT/<bucket>/.", sep=",", convert=lambda names: names or None),
        "quantiles": Opt("Cut points for the buckets, e.g. 0.3,0.6 (default: equal parts).", sep=",",
                         convert=lambda cuts: tuple(float(q) for q in cuts) or None),
    }),
    "pack": StageOptions(PackStep, "Tokenize and pack documents into samples of complete sentences; merges shards "
                   "into OUTPUT/merged.", {
        "tokenizer": Opt("SentencePiece .model, tokenizer.json or HF directory (default: the embedded demo model).",
                         default=None, convert=_absolute_if_local),
        "max_tokens": Opt("Most tokens per sample, BOS/EOS included.", type=click.IntRange(min=3)),
        "pack_docs": Opt("Also fill samples with consecutive short documents (EOS between)."),
        "bos_eos": Opt("doc: BOS on a document's first sample, EOS on its last (KnowLM); sample: on every sample."),
        "min_tokens": Opt("Drop samples shorter than this (KnowLM drops <= 20 tokens: use 21).",
                          type=click.IntRange(min=0)),
        "format": Opt("Megatron .bin/.idx, KnowLM's .bin/.idx, or Parquet input_ids.", choices=FORMATS),
    }),
}

# Fields only a YAML pipeline sets (tuning knobs and lists a command line would make unreadable).
YAML_ONLY = {
    "clean": {"boilerplate_lists", "drop_repeats", "drop_trailing_lists", "drop_headline_lists", "keep_layout_sources",
              "extracted_sources", "max_furniture_ratio", "min_prose_ratio", "min_prose_lines", "min_article_chars",
              "min_article_share", "page_model_mode", "min_keep_probability"},
    "dedup": {"seed"},
    "pack": {"batch_docs"},
}


# `read`'s options are fields of the reader --source picks; each applies to the readers that have it, and
# one not given keeps that reader's own default.
READ_OPTIONS: dict[str, Opt] = {
    "text_field": Opt("jsonl/parquet/csv: field holding the text (default: text).", default=None),
    "id_field": Opt("jsonl/parquet/csv: field holding a stable id (default: id).", default=None),
    "lang": Opt("wiki: dump language (zh or en); default from the file name.", default=None),
    "source_name": Opt("Value of the `source` field (default: --source).", flags=("--name",), default=None),
    "namespaces": Opt("wiki: comma-separated namespace numbers to read (default: 0).", default=None, sep=",",
                      convert=lambda items: tuple(int(n) for n in items) or None),  # "": not given
    "keep_redirects": Opt("wiki: emit redirects (text = target title).", type=bool, default=None),
    "opencc": Opt("wiki: OpenCC config (default auto: t2s for zh; 'none' to keep).", default=None),
    "tables": Opt("wiki: drop tables with their lead-in sentence (default) or keep them as text rows.",
                  choices=TABLE_POLICIES, default=None),
    "math": Opt("wiki: <math> as $LaTeX$ (default), as a placeholder, or dropped.", choices=MATH_POLICIES,
                default=None),
    "doocs_lang": Opt("leetcode: doocs README language (default: en).", choices=tuple(DOOCS_LANGS),
                      default=None),
    "solution_ext": Opt("leetcode: doocs Solution.<ext> to include (default: py).", default=None),
    "delimiter": Opt("csv: one-character cell delimiter (default: a tab in .tsv files, a comma otherwise).",
                     default=None),
    "encoding": Opt("csv: the file's text encoding, any Python codec, e.g. gb18030 (default: utf-8).", default=None),
}

# Reader fields only a YAML pipeline sets.
READ_YAML_ONLY = {"max_line_bytes", "disambiguation_templates"}


def yaml_choices(kind: str, name: str, cls: type) -> dict[str, tuple]:
    """The choices the command line offers for the fields of step (``kind`` "step") or reader ``name``
    (class ``cls``), so a YAML value outside them fails before the run as a flag's would."""
    spec = STAGE_OPTIONS.get(name) if kind == "step" else None
    options, groups = (spec.options, {"stage": spec.cls}) if spec else (READ_OPTIONS if kind == "reader" else {}, {})
    fields = user_fields(cls)
    found: dict[str, tuple] = {}
    for param in params(options, groups):
        choices = param.opt.choices or literal_choices(param.annotation)
        if choices and param.key in fields:
            found[param.key] = tuple(choices)
    return found
