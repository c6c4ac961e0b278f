"""Knowledge-guided instruction generation from corpus passages (the TCM model's self-QA; EasyInstruct's
self-instruct, evol-instruct and instruction back-translation, Li et al. 2023) through ``instruct.llm``:
strict JSON replies, malformed ones re-asked then failed with a reason, answers checked for grounding in
the passage, exact-dedup/length selection and optional LLM-as-judge (1-5). Left out: seed-task pools.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.records import rejection
from corpus.resources import shipped
from corpus.runner import upstream_count
from corpus.score.ngram import guess_lang
from corpus.shards import list_shards, read_docs
from corpus.text import HAN
from instruct.chunking import Passage, estimate_tokens, passages
from instruct.jobs import (
    Failure,
    JobOutput,
    JobReport,
    LLMJob,
    Outcome,
    ReplyError,
    RequestFailed,
    Task,
    ask_json,
    default_cache_path,
    default_failures_path,
    run_job,
    run_with_client,
)
from instruct.jobs import format_report as jobs_format_report
from instruct.jobs import parse_json_reply as parse_json_reply  # re-exported: the reply parser lived here
from instruct.llm import DeferredToBatch, LLMClient, LLMConfig
from instruct.llm_cost import PriceTable
from instruct.sft.select import exact_key

PROMPTS_DIR = shipped("configs/prompts")
METHODS = ("self-qa", "self-instruct", "evol-instruct", "backtranslate")
LANGS = ("zh", "en")

# Failure reasons (one failures-file line each, with the passage's doc id and offsets).
REASON_MALFORMED = "generate_malformed_json"  # not JSON of the required shape after every attempt
REASON_UNGROUNDED = "generate_ungrounded"  # the answer shares too little with the passage
REASON_BACKTRANSLATE_LOW = "generate_backtranslate_low_score"  # self-curation score under the threshold
REASON_DUPLICATE = "select_duplicate"  # same normalised instruction and output as an earlier example
REASON_TOO_SHORT = "select_too_short"
REASON_TOO_LONG = "select_too_long"
REASON_JUDGE_LOW = "judge_low_score"
REASON_JUDGE_MALFORMED = "judge_malformed_json"

_CJK_RE = HAN.regex
_ZH_UNIT_RE = re.compile(f"[{HAN.char_class}A-Za-z0-9]")
_EN_WORD_RE = re.compile(r"[a-z0-9]+")
# Function words carry no evidence of grounding; left out of the English overlap.
EN_STOPWORDS = frozenset(
    "a an the of to in on at for from by with and or but is are was were be been being it its this that these "
    "those as not no do does did has have had which who whom what when where why how can could would should "
    "will may might than then there their they them he she his her we our you your i me my so if into about".split()
)


# --- grounding ---------------------------------------------------------------------------------------


def _zh_bigrams(text: str) -> list[str]:
    units = _ZH_UNIT_RE.findall(text.lower())
    return [a + b for a, b in zip(units, units[1:], strict=False)]


def _en_words(text: str) -> list[str]:
    return [w for w in _EN_WORD_RE.findall(text.lower()) if w not in EN_STOPWORDS]


def grounding(answer: str, passage: str) -> float:
    """Share of the answer's units found in the passage: character bigrams (punctuation removed) when the
    answer is mostly Chinese, content words (stopwords removed) otherwise. 1.0 for an answer copied from
    the passage, near 0 for one written from outside knowledge; an empty answer scores 0."""
    if len(_CJK_RE.findall(answer)) * 2 >= len(re.sub(r"\s", "", answer)):
        units, source = _zh_bigrams(answer), set(_zh_bigrams(passage))
    else:
        units, source = _en_words(answer), set(_en_words(passage))
    if not units:
        return 0.0
    return sum(1 for u in units if u in source) / len(units)


# --- strict JSON (the reply parser and ReplyError are instruct.jobs', shared with KG2Instruction) -----


def _strings(item: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, str]:
    if not isinstance(item, dict):
        raise ReplyError(f"list item is {type(item).__name__}, not an object")
    out: dict[str, str] = {}
    for key in required:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ReplyError(f"item has no non-empty string {key!r}")
        out[key] = value.strip()
    for key in optional:
        value = item.get(key, "")
        if not isinstance(value, str):
            raise ReplyError(f"item field {key!r} is not a string")
        out[key] = value.strip()
    return out


def _items(data: Any, key: str) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get(key), list) or not data[key]:
        raise ReplyError(f"expected an object with a non-empty list {key!r}")
    return data[key]


def parse_examples(method: str, data: Any) -> list[dict[str, Any]]:
    """Turn the parsed reply of ``method`` into ``{"instruction", "input", "output", ...}`` examples;
    raises :class:`ReplyError` when the shape is wrong (the whole reply is then re-asked)."""
    if method == "self-qa":
        pairs = [_strings(p, ("question", "answer")) for p in _items(data, "pairs")]
        return [{"instruction": p["question"], "input": "", "output": p["answer"]} for p in pairs]
    if method == "self-instruct":
        tasks = [_strings(t, ("instruction", "output"), ("input",)) for t in _items(data, "tasks")]
        return [{"instruction": t["instruction"], "input": t["input"], "output": t["output"]} for t in tasks]
    if method == "evol-instruct":
        tasks = [_strings(t, ("instruction", "output"), ("seed",)) for t in _items(data, "tasks")]
        return [{"instruction": t["instruction"], "input": "", "output": t["output"], "seed": t["seed"]}
                for t in tasks]
    if method == "backtranslate":
        item = _strings(data, ("instruction",))
        score = data.get("score")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 5:
            raise ReplyError("expected a numeric 'score' from 1 to 5")
        return [{"instruction": item["instruction"], "input": "", "output": None, "curation": float(score)}]
    raise ValueError(f"unknown method {method!r}")


def parse_judge(data: Any) -> tuple[float, str]:
    """(score 1-5, reason) from a judge reply."""
    score = data.get("score") if isinstance(data, dict) else None
    if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 5:
        raise ReplyError("expected a numeric 'score' from 1 to 5")
    reason = data.get("reason", "")
    return float(score), reason if isinstance(reason, str) else ""


# --- configuration -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class GenerateConfig:
    """What to generate and how to check it; None switches a check off.

    ``min_grounding``: least :func:`grounding` of an answer. 0.5 means half the answer's bigrams (zh) or
    content words (en) occur in the passage; our fake-model tests put copied answers at 1.0 and answers
    from outside knowledge below 0.2, and a faithful paraphrase of a passage sits around 0.5-0.8.
    ``parse_attempts``: a reply that is not JSON of the required shape is re-asked with an attempt note
    (a new request, so a new cache key) this many times in all before the passage is failed.
    """

    method: str = "self-qa"
    lang: str = "auto"  # prompt language; auto: per passage from its text (or meta.lang)
    per_passage: int = 3  # $n in the prompt: questions or tasks asked for per passage
    max_tokens: int = 512  # passage budget (estimated tokens)
    min_passage_chars: int = 40
    max_passages: int | None = None
    min_grounding: float | None = 0.5
    backtranslate_threshold: float = 4.0  # Li et al. 2023 keep self-curation scores >= 4 (of 5)
    parse_attempts: int = 3
    min_instruction_chars: int | None = 4
    max_instruction_chars: int | None = 2_000
    min_output_chars: int | None = 2
    max_output_chars: int | None = 8_000
    dedup: bool = True
    judge_threshold: float | None = None  # e.g. 4: LLM-as-judge keeps scores >= 4; None: no judging
    prompts_dir: Path = PROMPTS_DIR
    window: int = 64  # passages in flight; output order follows the input

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.lang not in ("auto", *LANGS):
            raise ValueError(f"lang must be auto, zh or en, not {self.lang!r}")
        if self.parse_attempts < 1 or self.per_passage < 1:
            raise ValueError("parse_attempts and per_passage must be at least 1")

    def prompt(self, name: str, lang: str) -> str:
        """``configs/prompts/generate_<name>.<lang>.txt`` with ``$n`` filled in."""
        text = (self.prompts_dir / f"generate_{name}.{lang}.txt").read_text(encoding="utf-8")
        return string.Template(text).substitute(n=self.per_passage).strip()


@dataclass(kw_only=True)
class GenerateReport(JobReport):
    """Totals of one run: passages read and their estimated tokens, examples generated; the rest as in
    :class:`~instruct.jobs.JobReport`."""

    passages: int = 0
    passage_tokens: int = 0
    generated: int = 0

    def unfinished(self) -> int:
        """Failures that left work undone (a request failed, no usable reply after every attempt); an
        example dropped by a quality check (ungrounded, duplicate, low score) was done, and dropped."""
        return sum(n for reason, n in self.failure_reasons.items()
                   if reason.startswith("llm_") or reason in (REASON_MALFORMED, REASON_JUDGE_MALFORMED))


# --- the generator -----------------------------------------------------------------------------------


class Generator:
    """Generates examples for one passage at a time through an :class:`LLMClient`."""

    def __init__(self, config: GenerateConfig, client: LLMClient, *, model: str) -> None:
        self.config = config
        self.client = client
        self.model = model

    def lang_of(self, passage: Passage, meta_lang: str | None) -> str:
        if self.config.lang != "auto":
            return self.config.lang
        if meta_lang and meta_lang[:2] in LANGS:
            return meta_lang[:2]
        return guess_lang(passage.text)

    async def process(self, passage: Passage, meta_lang: str | None) -> Outcome:
        """Generate, parse, ground-check and (optionally) judge the examples of one passage; the outcome's
        item is ``passage``."""
        cfg = self.config
        lang = self.lang_of(passage, meta_lang)
        try:
            examples = await ask_json(self.client, cfg.prompt(cfg.method, lang), passage.text,
                                      lambda data: parse_examples(cfg.method, data),
                                      attempts=cfg.parse_attempts, malformed=REASON_MALFORMED)
        except DeferredToBatch:
            return Outcome(item=passage, deferred=True)
        except RequestFailed as err:
            return Outcome(item=passage, failures=[Failure(reason=err.reason, detail=err.detail)])
        kept, failures = [], []
        for index, example in enumerate(examples):
            example = self._annotate(example, passage, lang, index)
            problem = self._check(example, passage)
            if problem is None:
                kept.append(example)
            else:
                failures.append(Failure(reason=problem[0], detail=problem[1], example=example))
        if cfg.judge_threshold is not None and kept:
            try:
                judged = await asyncio.gather(*(self._judge(e, passage, lang) for e in kept))
            except DeferredToBatch:
                return Outcome(item=passage, deferred=True)
            kept = [e for e, f in zip(kept, judged, strict=True) if f is None]
            failures += [f for f in judged if f is not None]
        return Outcome(item=passage, records=kept, failures=failures)

    def _annotate(self, example: dict[str, Any], passage: Passage, lang: str, index: int) -> dict[str, Any]:
        extra = {k: example.pop(k) for k in ("seed", "curation") if k in example}
        if example["output"] is None:  # back-translation: the passage is the response
            example["output"] = passage.text
        example["meta"] = {
            "method": self.config.method, "doc_id": passage.doc_id, "passage": [passage.start, passage.end],
            "lang": lang, "model": self.model, "index": index, **extra, "scores": {},
        }
        return example

    def _check(self, example: dict[str, Any], passage: Passage) -> tuple[str, str] | None:
        cfg = self.config
        meta = example["meta"]
        if cfg.method == "backtranslate":
            meta["scores"]["curation"] = meta.pop("curation")
            if meta["scores"]["curation"] < cfg.backtranslate_threshold:
                return REASON_BACKTRANSLATE_LOW, f"score {meta['scores']['curation']:g} < {cfg.backtranslate_threshold:g}"
            return None
        score = grounding(example["output"], passage.text)
        meta["scores"]["grounding"] = round(score, 4)
        if cfg.min_grounding is not None and score < cfg.min_grounding:
            return REASON_UNGROUNDED, f"overlap {score:.2f} < {cfg.min_grounding}"
        return None

    async def _judge(self, example: dict[str, Any], passage: Passage, lang: str) -> Failure | None:
        labels = ("段落", "指令", "回复") if lang == "zh" else ("Passage", "Instruction", "Response")
        instruction = example["instruction"] + (f"\n{example['input']}" if example["input"] else "")
        user = "\n\n".join(f"[{label}]\n{text}" for label, text in zip(labels, (passage.text, instruction,
                                                                              example["output"]), strict=True))
        try:
            score, why = await ask_json(self.client, self.config.prompt("judge", lang), user, parse_judge,
                                        attempts=self.config.parse_attempts, malformed=REASON_JUDGE_MALFORMED)
        except RequestFailed as err:
            return Failure(reason=err.reason, detail=err.detail, example=example)
        example["meta"]["scores"]["judge"] = score
        example["meta"]["judge_reason"] = why
        if self.config.judge_threshold is not None and score < self.config.judge_threshold:
            return Failure(reason=REASON_JUDGE_LOW, detail=f"score {score:g} < {self.config.judge_threshold:g}",
                           example=example)
        return None


# --- selection -----------------------------------------------------------------------------------------


class Selector:
    """Cheap checks while generating: length bounds in characters and exact dedup of instruction, input
    and output by ``instruct.sft.select.exact_key`` (the SFT selector's normalisation). The full SFT
    selectors (near-duplicates, ROUGE-L diversity, refusals) run after generation with ``knowforge
    instruct generate --select DIR`` (``instruct.sft.select.select_file``)."""

    def __init__(self, config: GenerateConfig) -> None:
        self.config = config
        self.seen: set[tuple[int, ...]] = set()

    def check(self, example: dict[str, Any]) -> tuple[str, str] | None:
        cfg = self.config
        for name, low, high in (("instruction", cfg.min_instruction_chars, cfg.max_instruction_chars),
                                ("output", cfg.min_output_chars, cfg.max_output_chars)):
            size = len(example[name].strip())
            if low is not None and size < low:
                return REASON_TOO_SHORT, f"{name} {size} chars < {low}"
            if high is not None and size > high:
                return REASON_TOO_LONG, f"{name} {size} chars > {high}"
        if cfg.dedup:
            key = exact_key(example["instruction"], example["input"], example["output"])
            if key in self.seen:
                return REASON_DUPLICATE, "same instruction, input and output as an earlier example"
            self.seen.add(key)
        return None


# --- input and output ----------------------------------------------------------------------------------


def iter_passages(inputs: list[Path], config: GenerateConfig) -> Iterator[tuple[Passage, str | None]]:
    """(passage, meta.lang) for every valid document of the input shards (directories or shard files),
    in order, up to ``config.max_passages``."""
    count = 0
    for path in inputs:
        for shard in list_shards(path) if path.is_dir() else [path]:
            for doc in read_docs(shard):
                if rejection(doc) is not None:
                    continue
                lang = (doc.get("meta") or {}).get("lang")
                for passage in passages(str(doc["id"]), doc["text"], max_tokens=config.max_tokens,
                                        min_chars=config.min_passage_chars):
                    if config.max_passages is not None and count >= config.max_passages:
                        return
                    count += 1
                    yield passage, lang if isinstance(lang, str) else None


def document_total(inputs: list[Path]) -> int | None:
    """Documents in the input shards, from the ``_stats`` of the stage that wrote them; None if any is unknown.

    A document too short for any passage never moves the bar, which may then end a little short.
    """
    total = 0
    for path in inputs:
        for shard in list_shards(path) if path.is_dir() else [path]:
            count = upstream_count(shard)
            if count is None:
                return None
            total += count
    return total


class GenerateJob(LLMJob):
    """Every passage of the input shards, in order: its examples that pass :class:`Selector`, failures."""

    def __init__(self, inputs: list[Path], config: GenerateConfig, generator: Generator, report: GenerateReport,
                 *, progress: bool) -> None:
        from tqdm import tqdm

        self.inputs = inputs
        self.config = config
        self.generator = generator
        self.selector = Selector(config)
        self.report = report
        self.window = config.window
        # The bar counts documents when the shards' document counts are known (a stage wrote them), so it
        # has a total and an ETA; else passages, up to --max-passages if given.
        self.documents = None if config.max_passages is not None else document_total(inputs)
        self.bar = tqdm(total=self.documents or config.max_passages, unit="doc" if self.documents else "passage",
                        desc=f"generate {config.method}", disable=not progress)
        self.last_doc: str | None = None

    def tasks(self) -> Iterator[Task]:
        for passage, lang in iter_passages(self.inputs, self.config):
            yield lambda passage=passage, lang=lang: self.generator.process(passage, lang)

    def advance(self, outcome: Outcome) -> None:
        passage: Passage = outcome.item
        self.report.passages += 1
        self.report.passage_tokens += estimate_tokens(passage.text)
        if not self.documents or passage.doc_id != self.last_doc:
            self.bar.update(1)
        self.last_doc = passage.doc_id

    def failure_line(self, outcome: Outcome, failure: Failure) -> dict[str, Any]:
        p: Passage = outcome.item
        return {"reason": failure.reason, "detail": failure.detail, "doc_id": p.doc_id,
                "passage": [p.start, p.end], "example": failure.example}

    def take(self, outcome: Outcome, out: JobOutput) -> None:
        for failure in outcome.failures:
            out.fail(failure.reason, self.failure_line(outcome, failure))
        for example in outcome.records:
            self.report.generated += 1
            problem = self.selector.check(example)
            if problem is None:
                out.write(example)
            else:
                failure = Failure(reason=problem[0], detail=problem[1], example=example)
                out.fail(failure.reason, self.failure_line(outcome, failure))


async def generate_records(
    inputs: list[Path], output: Path, *, config: GenerateConfig, client: LLMClient, model: str,
    failures_path: Path, progress: bool = True,
) -> GenerateReport:
    """Generate examples for every passage of ``inputs`` into ``output`` (JSONL, Alpaca fields + meta),
    failures into ``failures_path``; both are replaced only when no response is pending in a batch."""
    report = GenerateReport(accounting=client.accounting)
    job = GenerateJob(inputs, config, Generator(config, client, model=model), report, progress=progress)
    return await run_job(job, report, output=output, failures_path=failures_path, close=job.bar.close)


def generate_file(
    inputs: list[Path], output: Path, *, config: GenerateConfig, llm: LLMConfig, api_key: str,
    cache_path: Path | None = None, failures_path: Path | None = None, batch_path: Path | None = None,
    progress: bool = True,
) -> GenerateReport:
    """Run :func:`generate_records` with a cached client (the CLI's entry point); ``batch_path`` writes
    uncached requests as an OpenAI Batch API file instead of sending them (see ``instruct.jobs``)."""
    failures = failures_path or default_failures_path(output)

    def run(client: LLMClient) -> Awaitable[GenerateReport]:
        return generate_records(inputs, output, config=config, client=client, model=llm.model,
                                failures_path=failures, progress=progress)

    return run_with_client(run, llm=llm, api_key=api_key, cache_path=cache_path or default_cache_path(output),
                           batch_path=batch_path)


def format_report(report: GenerateReport, model: str, prices: PriceTable | None) -> str:
    """The end-of-run summary printed by the CLI."""
    rows = [("passages", report.passages), ("examples generated", report.generated),
            ("examples written", report.written)]
    return jobs_format_report(report, report.summary(rows, "failures", "passages"), model, prices)
