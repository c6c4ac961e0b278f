"""The LLM steps of ``instruct``: ``translate`` and ``generate`` (optionally followed by SFT selection), each
a function of one frozen options dataclass, with the endpoint options both share (:class:`LLMOptions`).

Field metadata follows :mod:`instruct.spine` (``help``, ``choices``, ``flags``, ``min``/``max``, ``path``).
Setting up the client (the key, batch mode) and chaining generation into selection are library logic
and live here; printing and exit codes stay with the CLI (``report_lines``, ``report.unfinished()``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from instruct.generate import LANGS, METHODS, GenerateConfig, generate_file
from instruct.generate import format_report as generate_report
from instruct.jobs import JobReport
from instruct.llm import LLMConfig
from instruct.llm_cost import PriceTable
from instruct.llm_errors import DEFAULT_API_KEY_ENV, resolve_api_key
from instruct.sft.select import SelectSettings, select_file
from instruct.spine import Step
from instruct.translate import FORMATS as TRANSLATE_FORMATS
from instruct.translate import LANG_NAMES as TRANSLATE_LANGS
from instruct.translate import STRATEGIES, TranslateConfig, translate_file
from instruct.translate import format_report as translate_report

_OUT_FILE = {"dir_okay": False}
BATCH_KEY = "unused-in-batch-mode"  # batch mode sends nothing, so it needs no key

# LLMConfig is where these defaults live; the options take them from it so the two cannot drift.
_LLM_DEFAULTS = {f.name: f.default for f in fields(LLMConfig)}


@dataclass(frozen=True, kw_only=True)
class LLMOptions:
    """Options every LLM step shares: endpoint, key, limits, retries, sampling, cache, failures, batch."""

    model: str = field(metadata={"help": "Model name as the endpoint knows it, e.g. gpt-4o."})
    base_url: str | None = field(default=None, metadata={
        "help": "OpenAI-compatible endpoint, e.g. http://localhost:8000/v1 (vLLM)."})
    api_key_env: str = field(default=DEFAULT_API_KEY_ENV, metadata={
        "help": "Environment variable holding the API key (never printed or stored)."})
    concurrency: int = field(default=_LLM_DEFAULTS["concurrency"], metadata={"help": "Requests in flight.", "min": 1})
    rpm: int | None = field(default=_LLM_DEFAULTS["rpm"], metadata={"help": "Requests-per-minute limit.", "min": 1})
    tpm: int | None = field(default=_LLM_DEFAULTS["tpm"], metadata={"help": "Tokens-per-minute limit (estimated).", "min": 1})
    timeout: float = field(default=_LLM_DEFAULTS["timeout"], metadata={"help": "Seconds per attempt."})
    max_attempts: int = field(default=_LLM_DEFAULTS["max_attempts"], metadata={"help": "Attempts per request, retries included.", "min": 1})
    temperature: float = field(default=_LLM_DEFAULTS["temperature"], metadata={"help": "Sampling temperature sent with every request."})
    max_tokens: int | None = field(default=_LLM_DEFAULTS["max_tokens"], metadata={"help": "Completion token limit.", "min": 1})
    cache: Path | None = field(default=None, metadata={
        "help": "SQLite response cache (default: OUTPUT_STEM.llm-cache.sqlite beside the output).",
        "path": _OUT_FILE})
    failures: Path | None = field(default=None, metadata={
        "help": "Failed records with reasons (default: OUTPUT_STEM.failures.jsonl).", "path": _OUT_FILE})
    batch: Path | None = field(default=None, metadata={
        "help": "Write missing requests to this OpenAI Batch API file instead of sending them.",
        "path": _OUT_FILE})
    quiet: bool = field(default=False, metadata={"help": "No progress bar."})

    def llm_config(self) -> LLMConfig:
        """The client settings (``instruct.llm.LLMConfig``); raises ValueError on impossible ones."""
        return LLMConfig(model=self.model, base_url=self.base_url, concurrency=self.concurrency, rpm=self.rpm,
                         tpm=self.tpm, timeout=self.timeout, max_attempts=self.max_attempts,
                         temperature=self.temperature, max_tokens=self.max_tokens)

    def api_key(self) -> str:
        """The key from ``api_key_env`` (raises ``LLMSetupError`` if unset); batch mode needs none."""
        return resolve_api_key(self.api_key_env) if self.batch is None else BATCH_KEY


def report_lines(options: LLMOptions, report: JobReport, format_report: Callable[..., str]) -> list[str]:
    """What an LLM command prints after its run: the accounting, and what to do with a batch file."""
    lines = [format_report(report, options.model, PriceTable.load())]
    if report.deferred:
        lines.append(f"{report.accounting.deferred} requests written to {options.batch}: submit it to the Batch "
                     "API, then `knowforge instruct batch-ingest` the output and run this command again.")
    return lines


def unfinished_message(report: JobReport) -> str | None:
    """The error line for work a rerun would retry (the CLI then exits 1), None when all is done."""
    if unfinished := report.unfinished():
        return (f"error: {unfinished} failed; {report.failures_path} says which and why "
                "(rerun to retry them)")
    return None


# --- translate ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TranslateOptions(LLMOptions):
    """``knowforge instruct translate``: instruction data into another language, resumably."""

    input: Path = field(metadata={
        "help": "Alpaca JSON/JSONL, ShareGPT JSON/JSONL, or generic JSONL (with --fields).",
        "flags": ("-i", "--input"), "path": {"exists": True, "dir_okay": False}})
    output: Path = field(metadata={
        "help": "Output file, same format as the input (.json: a JSON array, else JSON Lines).",
        "flags": ("-o", "--output"), "path": _OUT_FILE})
    strategy: str = field(default="translate", metadata={
        "help": "translate: every text field; answer: translate the question, let the model answer it.",
        "choices": STRATEGIES})
    source_lang: str = field(default="en", metadata={"help": "Language of the input.",
                                                     "choices": tuple(TRANSLATE_LANGS)})
    target_lang: str = field(default="zh", metadata={"help": "Language to write.",
                                                     "choices": tuple(TRANSLATE_LANGS)})
    input_format: str = field(default="auto", metadata={
        "help": "Layout of the input; auto: detected per record.", "choices": TRANSLATE_FORMATS,
        "flags": ("--format",)})
    fields: str = field(default="", metadata={"help": "Generic JSONL: comma-separated text fields (the question)."})
    answer_field: str | None = field(default=None, metadata={
        "help": "Generic JSONL: the answer field (filled by --strategy answer)."})

    def config(self) -> TranslateConfig:
        """The translation settings; ``fields`` split at commas."""
        return TranslateConfig(strategy=self.strategy, source_lang=self.source_lang, target_lang=self.target_lang,
                               input_format=self.input_format, answer_field=self.answer_field,
                               fields=tuple(f.strip() for f in self.fields.split(",") if f.strip()))


class EmptyInputError(ValueError):
    """The input holds no records: a mistake in the options, found before any request."""


def translate(options: TranslateOptions) -> JobReport:
    """Translate ``options.input`` into ``options.output``; return the report (check ``unfinished()``)."""
    with open(options.input, "rb") as handle:
        head = handle.read(4096).strip()
    if head in (b"", b"[]"):
        raise EmptyInputError(f"{options.input} holds no records: nothing to translate")
    config, llm = options.config(), options.llm_config()
    return translate_file(Path(options.input), Path(options.output), config=config, llm=llm,
                          api_key=options.api_key(), cache_path=options.cache, failures_path=options.failures,
                          batch_path=options.batch, progress=not options.quiet)


def translate_lines(options: TranslateOptions, report: JobReport) -> list[str]:
    """What ``instruct translate`` prints after its run."""
    return report_lines(options, report, translate_report)


# --- generate (then select) ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GenerateOptions(LLMOptions):
    """``knowforge instruct generate``: grounded instruction data from corpus passages, then optionally the
    SFT selectors over it."""

    method: str = field(default="self-qa", metadata={
        "help": "Prompts: configs/prompts/generate_<method>.<lang>.txt.", "choices": METHODS})
    inputs: tuple[Path, ...] = field(metadata={
        "help": "Corpus shards: a directory of shards or a shard file (.jsonl[.gz|.zst], .parquet); repeatable.",
        "flags": ("-i", "--input"), "path": {"exists": True}})
    output: Path = field(metadata={
        "help": "Output JSON Lines: instruction/input/output plus meta (doc id, passage offsets, scores).",
        "flags": ("-o", "--output"), "path": _OUT_FILE})
    lang: str = field(default="auto", metadata={"help": "Prompt language; auto: per passage.",
                                                "choices": ("auto", *LANGS)})
    per_passage: int = field(default=3, metadata={"help": "Questions or tasks asked for per passage.", "min": 1})
    passage_tokens: int = field(default=512, metadata={
        "help": "Passage budget in estimated tokens (whole sentences).", "min": 16})
    max_passages: int | None = field(default=None, metadata={"help": "Stop after this many passages.", "min": 1})
    min_grounding: float = field(default=0.5, metadata={
        "help": "Least share of answer bigrams (zh) / content words (en) found in the passage; 0 disables."})
    judge_threshold: float | None = field(default=None, metadata={
        "help": "Also score each example 1-5 with the same model and keep those >= this."})
    select: Path | None = field(default=None, metadata={
        "help": "Then run the SFT selectors (dedup, near-dup, ROUGE-L diversity, length, refusals) on the "
                "output into this directory, every drop with its reason.", "path": {"file_okay": False}})

    def config(self) -> GenerateConfig:
        """The generation settings; ``min_grounding`` 0 switches the grounding check off."""
        return GenerateConfig(method=self.method, lang=self.lang, per_passage=self.per_passage,
                              max_tokens=self.passage_tokens, max_passages=self.max_passages,
                              min_grounding=self.min_grounding or None, judge_threshold=self.judge_threshold)


@dataclass(frozen=True, kw_only=True)
class GenerateResult:
    """The generation report, and the selection's stats (None when selection did not run)."""

    report: JobReport
    selected: dict[str, Any] | None = None


def generate(options: GenerateOptions) -> GenerateResult:
    """Generate into ``options.output``; then, if ``options.select`` is set and the generation finished
    (nothing deferred to a batch file, nothing failed that a rerun would retry), select into it."""
    config, llm = options.config(), options.llm_config()
    report = generate_file(list(options.inputs), Path(options.output), config=config, llm=llm,
                           api_key=options.api_key(), cache_path=options.cache, failures_path=options.failures,
                           batch_path=options.batch, progress=not options.quiet)
    # Selecting a partial output would report counts a rerun changes: select only once generation is done.
    if options.select is None or report.deferred or report.unfinished():
        return GenerateResult(report=report)
    return GenerateResult(report=report, selected=select_file(Path(options.output), Path(options.select),
                                                              SelectSettings()))


def generate_lines(options: GenerateOptions, result: GenerateResult) -> list[str]:
    """What ``instruct generate`` prints after its run: the accounting, then the selection's counts."""
    lines = report_lines(options, result.report, generate_report)
    if (stats := result.selected) is not None:
        lines.append(f"selected: {stats['kept']} kept, {stats['rejected']} rejected {stats['by_reason']} "
                     f"-> {options.select}")
    return lines


LLM_STEPS: MappingProxyType[str, Step] = MappingProxyType({
    "translate": Step(TranslateOptions, translate, translate_lines,
                      "Translate instruction data with an OpenAI-compatible LLM; resumable: rerun to finish a "
                      "killed run."),
    "generate": Step(GenerateOptions, generate, generate_lines,
                     "Generate grounded instruction data from corpus passages with an OpenAI-compatible LLM "
                     "(resumable)."),
})
