"""The SFT steps of ``instruct`` (mix, select, tokenize, split) and ``batch-ingest``, each a function of one
frozen options dataclass, as :mod:`instruct.spine` defines them (field metadata: ``help``, ``choices``,
``flags``, ``min``/``max``, ``path``; ``argument`` marks a positional argument).

What the CLI did between its options and the library (overriding a mix config, turning ``-1`` and empty
strings into "rule off", parsing ratios) happens here, tested; printing stays with the caller.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from instruct.llm_cache import IngestReport, ResponseCache, ingest_batch_output
from instruct.llm_cost import PriceTable
from instruct.sft.mix import load_mix_config, mix
from instruct.sft.select import COMPARE, SelectSettings, select_file
from instruct.sft.split import split_file
from instruct.sft.templates import TEMPLATES
from instruct.sft.tokenize import TokenizeSettings, tokenize_file
from instruct.spine import Step

_IN_FILE = {"exists": True, "dir_okay": False}
_OUT_FILE = {"dir_okay": False}
_INSTRUCTIONS_HELP = "Alpaca / ShareGPT / OpenAI file (.json or .jsonl)."


# --- mix ----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class MixOptions:
    """``knowforge instruct mix``: a mix YAML, with the command line's overrides."""

    config: Path = field(metadata={"help": "Mix YAML (e.g. configs/sft_mix_knowlm.yaml).",
                                   "flags": ("-c", "--config"), "path": _IN_FILE})
    output: Path = field(metadata={
        "help": "Mixed file (.json array or .jsonl); manifest and provenance are written beside it.",
        "flags": ("-o", "--output"), "path": _OUT_FILE})
    base_dir: Path | None = field(default=None, metadata={
        "help": "Directory the config's relative source paths start from (default: current directory).",
        "path": {"exists": True, "file_okay": False}})
    total: int | None = field(default=None, metadata={"help": "Scale the mix to N records.", "min": 0})
    seed: int | None = field(default=None, metadata={"help": "Override the config's seed."})
    dataset_name: str | None = field(default=None, metadata={
        "help": "Also add a LLaMA-Factory dataset_info.json entry of this name."})


def run_mix(options: MixOptions) -> dict[str, Any]:
    """Mix as the config says, with ``total`` and ``seed`` overriding it when given; return the manifest."""
    config = load_mix_config(options.config, base_dir=options.base_dir)
    overrides = {k: v for k, v in (("total", options.total), ("seed", options.seed)) if v is not None}
    return mix(dataclasses.replace(config, **overrides), Path(options.output), dataset_name=options.dataset_name)


def mix_lines(options: MixOptions, manifest: dict[str, Any]) -> list[str]:
    """What ``instruct mix`` prints: the total and each source's share."""
    shares = ", ".join(f"{s['name']} {s['taken']} ({s['share']:.2%})" for s in manifest["sources"])
    return [f"mixed {manifest['total']} records into {options.output}: {shares}"]


# --- select -------------------------------------------------------------------------------------


def _count(help_text: str, default: int) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True, kw_only=True)
class SelectOptions:
    """``knowforge instruct select``: the SFT selectors over one file (:class:`SelectSettings`)."""

    input: Path = field(metadata={"help": _INSTRUCTIONS_HELP, "flags": ("-i", "--input"), "path": _IN_FILE})
    output: Path = field(metadata={"help": "Directory for kept records, rejected.jsonl, scores.jsonl and _stats.json.",
                                   "flags": ("-o", "--output")})
    min_instruction_tokens: int = _count("Shortest prompt kept, in tokens (a word or a CJK character).", 2)
    max_instruction_tokens: int = _count("Longest prompt kept, in tokens.", 2048)
    min_output_tokens: int = _count("Shortest answer kept, in tokens.", 1)
    max_output_tokens: int = _count("Longest answer kept, in tokens.", 4096)
    languages: str = field(default="zh,en", metadata={"help": "Allowed languages; empty turns the check off."})
    min_mtld: float = field(default=10.0, metadata={"help": "Least lexical diversity (MTLD) of a long answer."})
    max_mtld: float | None = field(default=None, metadata={"help": "Most lexical diversity (MTLD) of an answer."})
    near_threshold: float = field(default=0.8, metadata={
        "help": "Jaccard for near-duplicate prompts; negative turns it off."})
    rouge_threshold: float = field(default=0.7, metadata={
        "help": "ROUGE-L F1 against kept prompts; negative turns it off."})
    compare: str = field(default="prompt", metadata={
        "help": "What duplicate rules compare; for IE sets use 'record' and --rouge-threshold -1.",
        "choices": COMPARE})
    dataset_name: str | None = field(default=None, metadata={
        "help": "Name of the LLaMA-Factory dataset_info.json entry written beside the kept file "
                "(default: the input file's name up to its first dot)."})

    def settings(self) -> SelectSettings:
        """The selector thresholds; an empty language list or a negative threshold switches a rule off."""
        return SelectSettings(
            min_instruction_tokens=self.min_instruction_tokens, max_instruction_tokens=self.max_instruction_tokens,
            min_output_tokens=self.min_output_tokens, max_output_tokens=self.max_output_tokens,
            languages=tuple(x.strip() for x in self.languages.split(",") if x.strip()) or None,
            min_mtld=self.min_mtld, max_mtld=self.max_mtld,
            near_threshold=self.near_threshold if self.near_threshold >= 0 else None,
            rouge_threshold=self.rouge_threshold if self.rouge_threshold >= 0 else None, compare=self.compare,
        )


def run_select(options: SelectOptions) -> dict[str, Any]:
    """Select ``options.input`` into ``options.output``; return the stats."""
    return select_file(Path(options.input), Path(options.output), options.settings(),
                       dataset_name=options.dataset_name)


def select_lines(options: SelectOptions, stats: dict[str, Any]) -> list[str]:
    """What ``instruct select`` prints: kept and rejected with reasons, and the LLaMA-Factory entry."""
    reasons = ", ".join(f"{k} {v}" for k, v in stats["by_reason"].items()) or "none"
    return [f"{stats['records']} records: kept {stats['kept']}, rejected {stats['rejected']} ({reasons})",
            f"LLaMA-Factory entry {stats['dataset_name']!r} in {Path(options.output) / 'dataset_info.json'}"]


# --- tokenize -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TokenizeOptions:
    """``knowforge instruct tokenize``: SFT tokenisation with the prompt masked (:class:`TokenizeSettings`)."""

    input: Path = field(metadata={"help": _INSTRUCTIONS_HELP, "flags": ("-i", "--input"), "path": _IN_FILE})
    output: Path = field(metadata={
        "help": "Output directory (datasets.save_to_disk), plus rejected.jsonl and _manifest.json.",
        "flags": ("-o", "--output")})
    tokenizer: Path = field(metadata={
        "help": "SentencePiece .model, tokenizer.json or HF directory (--template chat: an HF directory).",
        "path": {"exists": True}})
    template: str = field(default="alpaca", metadata={"help": "Prompt template the model is trained with.",
                                                      "choices": TEMPLATES})
    max_source_len: int = field(default=512, metadata={"help": "Prompt token budget per record.", "min": 1})
    max_target_len: int = field(default=512, metadata={"help": "Trained (answer) token budget per record.",
                                                       "min": 1})


def run_tokenize(options: TokenizeOptions) -> dict[str, Any]:
    """Tokenise into ``options.output``; raises ValueError / FileNotFoundError for a tokenizer that cannot
    serve the template."""
    settings = TokenizeSettings(template=options.template, max_source_len=options.max_source_len,
                                max_target_len=options.max_target_len)
    return tokenize_file(Path(options.input), Path(options.output), tokenizer_path=Path(options.tokenizer),
                         settings=settings)


def tokenize_lines(options: TokenizeOptions, result: dict[str, Any]) -> list[str]:
    """What ``instruct tokenize`` prints: records written, truncated and rejected."""
    counts = result["counts"]
    return [f"{counts['records']} records: wrote {counts['written']} to {options.output} "
            f"({counts.get('truncated', 0)} truncated, {counts['records'] - counts['written']} rejected)"]


# --- split --------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SplitOptions:
    """``knowforge instruct split``: train/dev/test by seed, stratified."""

    input: Path = field(metadata={"help": "Instruction file (.json or .jsonl).", "flags": ("-i", "--input"),
                                  "path": _IN_FILE})
    output: Path = field(metadata={"help": "Directory for the train, dev and test files and _split.json.",
                                   "flags": ("-o", "--output")})
    ratios: str = field(default="0.98,0.01,0.01", metadata={"help": "train,dev,test shares."})
    seed: int = field(default=42, metadata={"help": "Seed of the shuffle within each stratum."})
    by: str = field(default="source", metadata={"help": "Record field (dotted path) to stratify by."})
    provenance: Path | None = field(default=None, metadata={
        "help": "A mix's .provenance.jsonl: stratify by the set each record came from instead.", "path": _IN_FILE})


def parse_ratios(text: str) -> list[float]:
    """``"0.98,0.01,0.01"`` -> ``[0.98, 0.01, 0.01]``; ValueError saying what was expected otherwise."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"expected three numbers like 0.98,0.01,0.01, got {text!r}") from None


def run_split(options: SplitOptions) -> dict[str, Any]:
    """Split ``options.input`` into ``options.output``; return the ``_split.json`` report."""
    return split_file(Path(options.input), Path(options.output), ratios=parse_ratios(options.ratios),
                      seed=options.seed, by=options.by, provenance=options.provenance)


def split_lines(options: SplitOptions, report: dict[str, Any]) -> list[str]:
    """What ``instruct split`` prints: records per split."""
    return [f"{report['records']} records -> " + ", ".join(f"{k} {v}" for k, v in report["splits"].items())]


# --- batch-ingest -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BatchIngestOptions:
    """``knowforge instruct batch-ingest``: an OpenAI Batch API output file into the response cache."""

    batch_output: Path = field(metadata={"help": "The Batch API output file.", "argument": True,
                                         "path": _IN_FILE})
    cache: Path = field(metadata={"help": "The cache the `translate --batch` run used.", "path": _OUT_FILE})
    model: str | None = field(default=None, metadata={"help": "Model name, for the cost estimate."})


def run_batch_ingest(options: BatchIngestOptions) -> IngestReport:
    """Store the batch output's answers in the cache (errors are sent again on the next run)."""
    cache = ResponseCache(Path(options.cache))
    try:
        return ingest_batch_output(Path(options.batch_output), cache)
    finally:
        cache.close()


def batch_ingest_lines(options: BatchIngestOptions, report: IngestReport) -> list[str]:
    """What ``instruct batch-ingest`` prints: stored, errors, unknown ids, malformed lines (and the cost)."""
    lines = [f"stored {report.stored}, errors {report.errors} (sent again on the next run), "
             f"unknown ids {report.unknown}, malformed lines {report.malformed}"]
    if options.model:
        lines.append(report.accounting.summary(options.model, PriceTable.load()))
    return lines


SFT_STEPS: MappingProxyType[str, Step] = MappingProxyType({
    "mix": Step(MixOptions, run_mix, mix_lines,
                "Combine instruction sets by counts or weights, seeded, with a provenance file."),
    "select": Step(SelectOptions, run_select, select_lines,
                   "Drop empty, truncated, refused, off-length, off-language, repetitive and duplicate "
                   "instructions."),
    "tokenize": Step(TokenizeOptions, run_tokenize, tokenize_lines,
                     "Tokenise for SFT: input_ids, attention_mask, labels with prompt tokens set to -100."),
    "split": Step(SplitOptions, run_split, split_lines, "Split into train/dev/test by seed, stratified by source."),
    "batch-ingest": Step(BatchIngestOptions, run_batch_ingest, batch_ingest_lines,
                         "Store an OpenAI Batch API output file in the response cache (then rerun `translate`)."),
})
