"""Translate instruction data with an LLM (KnowLM's recipe): ``translate`` turns every text field into the
target language, ``answer`` translates the questions and has the model answer them. Alpaca, ShareGPT and
generic JSONL in and out; every record written once in input order or failed with its reason; spans
protected by ``instruct.protect``, replies checked by ``instruct.translate_checks``, the run an
``instruct.jobs`` job. Alpaca ``history`` is translated as context, never re-answered."""

from __future__ import annotations

import asyncio
import copy
import string
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpus.resources import shipped
from instruct.io import FORMAT_ALPACA, SPACED, Rejected, count_records, iter_json_records, stdlib_loads
from instruct.io import detect_format as io_detect_format
from instruct.jobs import (
    Failure,
    JobReport,
    LLMJob,
    Outcome,
    RequestFailed,
    Task,
    ask,
    default_cache_path,
    default_failures_path,
    ready,
    run_job,
    run_with_client,
)
from instruct.jobs import format_report as jobs_format_report
from instruct.llm import DeferredToBatch, LLMClient, LLMConfig
from instruct.llm_cost import PriceTable
from instruct.protect import MarkerInSourceError, Masked, protect, restore, unmasked_text
from instruct.translate_checks import (
    REASON_WRONG_LANGUAGE,
    Checks,
    check_translation,
    target_share,
)

PROMPTS_DIR = shipped("configs/prompts")
LANG_NAMES = {"en": "English", "zh": "Simplified Chinese"}  # the languages offered, as prompts name them
STRATEGIES = ("translate", "answer")
FORMAT_SHAREGPT, FORMAT_JSONL = "sharegpt", "jsonl"
FORMATS = ("auto", FORMAT_ALPACA, FORMAT_SHAREGPT, FORMAT_JSONL)

REASON_INPUT_MALFORMED = "input_malformed"  # a line that is not a JSON object, or missing its fields



# --- record formats ---------------------------------------------------------------------------------

FieldPath = tuple[str | int, ...]  # where a text sits inside a record, e.g. ("conversations", 3, "value")
ROLE_QUESTION, ROLE_ANSWER = "question", "answer"
_SHAREGPT_ANSWER_ROLES = {"gpt", "assistant", "model", "bot"}


@dataclass(frozen=True, kw_only=True)
class Slot:
    """One text field of a record: its path and whether it is part of the question or the answer."""

    path: FieldPath
    role: str


@dataclass(frozen=True, kw_only=True)
class RecordFormat:
    """How to find the text fields of a record. ``fields``/``answer_field`` serve generic JSONL."""

    name: str
    fields: tuple[str, ...] = ()
    answer_field: str | None = None

    def slots(self, record: dict[str, Any]) -> list[Slot]:
        """The text slots of ``record``, in reading order; raises KeyError/TypeError if malformed."""
        if self.name == FORMAT_ALPACA:
            slots = [Slot(path=(name,), role=ROLE_QUESTION) for name in ("system", "instruction", "input")
                     if isinstance(record.get(name), str)]
            if not isinstance(record["instruction"], str):
                raise TypeError("instruction is not a string")
            for i, pair in enumerate(record.get("history") or []):
                slots += [Slot(path=("history", i, 0), role="context"), Slot(path=("history", i, 1), role="context")]
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise TypeError("history items must be [question, answer] pairs")
            return slots + [Slot(path=("output",), role=ROLE_ANSWER)]
        if self.name == FORMAT_SHAREGPT:
            key = "conversations" if "conversations" in record else "messages"
            role_key, text_key = ("from", "value") if key == "conversations" else ("role", "content")
            slots = [Slot(path=("system",), role=ROLE_QUESTION)] if isinstance(record.get("system"), str) else []
            for i, turn in enumerate(record[key]):
                if not isinstance(turn[text_key], str):
                    raise TypeError(f"turn {i} has no text")
                role = ROLE_ANSWER if turn[role_key] in _SHAREGPT_ANSWER_ROLES else ROLE_QUESTION
                slots.append(Slot(path=(key, i, text_key), role=role))
            return slots
        slots = [Slot(path=(name,), role=ROLE_QUESTION) for name in self.fields]
        if self.answer_field:
            slots.append(Slot(path=(self.answer_field,), role=ROLE_ANSWER))
        for slot in slots:
            if slot.role == ROLE_QUESTION and not isinstance(record[slot.path[0]], str):
                raise TypeError(f"field {slot.path[0]!r} is not a string")
        return slots


def detect_format(record: dict[str, Any]) -> str:
    """``instruct.io.detect_format``, with OpenAI ``messages`` read as ShareGPT turns and a record of
    neither kind as generic JSONL: a list of turns wins over ``instruction`` (see there why)."""
    found = io_detect_format(record)
    if found is None:
        return FORMAT_JSONL
    return FORMAT_ALPACA if found == FORMAT_ALPACA else FORMAT_SHAREGPT


def get_at(record: Any, path: FieldPath) -> Any:
    for part in path:
        record = record[part]
    return record


def set_at(record: Any, path: FieldPath, value: Any) -> None:
    for part in path[:-1]:
        record = record[part]
    record[path[-1]] = value


# --- the translator -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TranslateConfig:
    """What to translate and how; ``checks`` defaults to :meth:`Checks.for_direction`."""

    strategy: str = "translate"
    source_lang: str = "en"
    target_lang: str = "zh"
    input_format: str = "auto"
    fields: tuple[str, ...] = ()
    answer_field: str | None = None
    prompts_dir: Path = PROMPTS_DIR
    checks: Checks | None = None
    window: int = 256  # records in flight; output order is kept, so this bounds memory and skew

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {self.strategy!r}")
        for lang in (self.source_lang, self.target_lang):
            if lang not in LANG_NAMES:
                raise ValueError(f"language must be one of {sorted(LANG_NAMES)}, not {lang!r}")
        if self.source_lang == self.target_lang:
            raise ValueError("source and target language are the same")
        if self.input_format not in FORMATS:
            raise ValueError(f"input format must be one of {FORMATS}")
        if self.strategy == "answer" and self.input_format == FORMAT_JSONL and not self.answer_field:
            raise ValueError("strategy 'answer' on generic JSONL needs answer_field")

    def prompt(self, name: str) -> str:
        """The system prompt ``configs/prompts/<name>.txt`` with $source and $target filled in."""
        text = (self.prompts_dir / f"{name}.txt").read_text(encoding="utf-8")
        return string.Template(text).substitute(
            source=LANG_NAMES[self.source_lang], target=LANG_NAMES[self.target_lang]
        ).strip()


@dataclass(kw_only=True)
class TranslateReport(JobReport):
    """Totals of one run: ``records`` read; the rest as in :class:`~instruct.jobs.JobReport` (every failure
    of a translation, of a request, a check or the input, leaves a record undone)."""

    records: int = 0


class _FieldFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


class Translator:
    """Turns records into target-language records through an :class:`LLMClient`."""

    def __init__(self, config: TranslateConfig, client: LLMClient) -> None:
        self.config = config
        self.client = client
        self.checks = config.checks or Checks.for_direction(config.source_lang, config.target_lang)
        self.translate_prompt = config.prompt("translate")
        self.answer_prompt = config.prompt("answer")

    async def translate_text(self, text: str, field_name: str) -> str:
        """Translate one text with protection and validation; raises _FieldFailed or DeferredToBatch."""
        if not text.strip():
            return text
        try:
            masked = protect(text)
        except MarkerInSourceError as err:
            raise _FieldFailed(Failure(reason=err.reason, detail=str(err), field=field_name)) from None
        if not any(ch.isalpha() for ch in unmasked_text(masked.text)):
            return text  # only code, numbers or placeholders: nothing to translate
        messages = [{"role": "system", "content": self.translate_prompt}, {"role": "user", "content": masked.text}]
        output = await self._ask(messages, field_name)
        return self._validated(text, masked, output, field_name)

    def _validated(self, text: str, masked: Masked, output: str, field_name: str) -> str:
        output = output.strip()
        problem = check_translation(masked.text, output, target_lang=self.config.target_lang, checks=self.checks)
        if problem is None:
            restored, reason, detail = restore(output, masked)
            if reason is None:
                lead = text[: len(text) - len(text.lstrip())]
                trail = text[len(text.rstrip()):]
                return lead + restored + trail
            problem = (reason, detail)
        raise _FieldFailed(Failure(reason=problem[0], detail=problem[1], field=field_name))

    async def answer(self, messages: list[dict[str, str]], field_name: str) -> str:
        """Ask the model to answer ``messages`` (user/assistant turns) in the target language."""
        system = {"role": "system", "content": self.answer_prompt}
        output = (await self._ask([system, *messages], field_name)).strip()
        share, units = target_share(output, self.config.target_lang)
        minimum = self.checks.min_target_share
        if minimum is not None and units >= self.checks.min_chars // 2 and share < minimum:
            detail = f"{self.config.target_lang} share {share:.2f} < {minimum}"
            raise _FieldFailed(Failure(reason=REASON_WRONG_LANGUAGE, detail=detail, field=field_name))
        return output

    async def _ask(self, messages: list[dict[str, str]], field_name: str) -> str:
        try:
            return await ask(self.client, messages)
        except RequestFailed as err:
            raise _FieldFailed(Failure(reason=err.reason, detail=err.detail, field=field_name)) from None

    async def process(self, index: int, record: dict[str, Any], fmt: RecordFormat) -> Outcome:
        """Translate (or translate and answer) one record; the outcome's item is ``(index, record)``."""
        item = (index, record)
        try:
            slots = fmt.slots(record)
        except (KeyError, TypeError, IndexError) as err:
            failure = Failure(reason=REASON_INPUT_MALFORMED, detail=f"{type(err).__name__}: {err}")
            return Outcome(item=item, failures=[failure])
        result = copy.deepcopy(record)
        try:
            if self.config.strategy == "translate":
                await self._translate_slots(result, [s for s in slots if _has_text(record, s)])
            else:
                await self._translate_slots(result, [s for s in slots if s.role != ROLE_ANSWER and _has_text(record, s)])
                await self._answer_slots(result, fmt, slots)
        except DeferredToBatch:
            return Outcome(item=item, deferred=True)
        except _FieldFailed as err:
            return Outcome(item=item, failures=[err.failure])
        return Outcome(item=item, records=[result])

    async def _translate_slots(self, record: dict[str, Any], slots: list[Slot]) -> None:
        texts = await _gather_all([self.translate_text(get_at(record, s.path), _name(s.path)) for s in slots])
        for slot, text in zip(slots, texts, strict=True):
            set_at(record, slot.path, text)

    async def _answer_slots(self, record: dict[str, Any], fmt: RecordFormat, slots: list[Slot]) -> None:
        if fmt.name != FORMAT_SHAREGPT:
            question = "\n\n".join(
                get_at(record, s.path) for s in slots if s.role == ROLE_QUESTION and s.path != ("system",)
                and get_at(record, s.path).strip()
            )
            answer_slot = next(s for s in slots if s.role == ROLE_ANSWER)
            set_at(record, answer_slot.path, await self.answer([{"role": "user", "content": question}], _name(answer_slot.path)))
            return
        # ShareGPT: answer turn by turn, each with the (translated) conversation so far as context.
        history: list[dict[str, str]] = []
        for slot in slots:
            if slot.path == ("system",):
                continue
            if slot.role == ROLE_ANSWER:
                text = await self.answer(history, _name(slot.path))
                set_at(record, slot.path, text)
                history.append({"role": "assistant", "content": text})
            else:
                history.append({"role": "user", "content": get_at(record, slot.path)})


def _has_text(record: dict[str, Any], slot: Slot) -> bool:
    try:
        return isinstance(get_at(record, slot.path), str)
    except (KeyError, IndexError, TypeError):
        return False


def _name(path: FieldPath) -> str:
    return ".".join(str(part) for part in path)


async def _gather_all(awaitables: list[Awaitable[str]]) -> list[str]:
    """Like gather, but lets every call finish (so all answers reach the cache) before raising:
    a deferral wins over a failure, so a record is not failed while part of it is still pending."""
    results = await asyncio.gather(*awaitables, return_exceptions=True)
    for exc_type in (DeferredToBatch, _FieldFailed, BaseException):
        for item in results:
            if isinstance(item, exc_type):
                raise item
    return results  # type: ignore[return-value]


# --- the job ----------------------------------------------------------------------------------------


class TranslateJob(LLMJob):
    """Every record of one input file, translated in input order: one output record or one failure each."""

    layout = SPACED

    def __init__(self, input_path: Path, config: TranslateConfig, translator: Translator,
                 report: TranslateReport, *, progress: bool) -> None:
        from tqdm import tqdm

        self.input_path = input_path
        self.config = config
        self.translator = translator
        self.report = report
        self.window = config.window
        self.format: RecordFormat | None = None
        self.bar = tqdm(total=count_records(input_path), unit="rec", desc="translate", disable=not progress)

    def record_format(self, record: dict[str, Any]) -> RecordFormat:
        """The format of the file: the first record decides "auto", so one file is read as one format."""
        if self.format is None:
            config = self.config
            name = config.input_format if config.input_format != "auto" else detect_format(record)
            if name == FORMAT_JSONL and not config.fields:
                raise ValueError("generic JSONL input needs the fields to translate (--fields a,b)")
            self.format = RecordFormat(name=name, fields=config.fields, answer_field=config.answer_field)
        return self.format

    def tasks(self) -> Iterator[Task]:
        read = iter_json_records(self.input_path, reason=REASON_INPUT_MALFORMED, loads=stdlib_loads, objects=True)
        for index, (_, record) in enumerate(read):
            if isinstance(record, Rejected):
                detail = record.detail if record.line is None else f"line {record.line}: {record.detail}"
                failure = Failure(reason=REASON_INPUT_MALFORMED, detail=detail)
                yield ready(Outcome(item=(index, None), failures=[failure]))
            else:
                fmt = self.record_format(record)
                yield lambda index=index, record=record, fmt=fmt: self.translator.process(index, record, fmt)

    def advance(self, outcome: Outcome) -> None:
        self.report.records += 1
        self.bar.update(1)

    def failure_line(self, outcome: Outcome, failure: Failure) -> dict[str, Any]:
        index, source = outcome.item
        return {"index": index, "reason": failure.reason, "field": failure.field, "detail": failure.detail,
                "record": source}


async def translate_records(
    input_path: Path,
    output_path: Path,
    *,
    config: TranslateConfig,
    client: LLMClient,
    failures_path: Path,
    progress: bool = True,
) -> TranslateReport:
    """Translate every record of ``input_path`` into ``output_path`` (failures to ``failures_path``).

    The output and failures files are replaced only when no response is still pending (``--batch``);
    each is written to a temp name first, so a killed run leaves the previous files intact.
    """
    report = TranslateReport(accounting=client.accounting)
    job = TranslateJob(input_path, config, Translator(config, client), report, progress=progress)
    return await run_job(job, report, output=output_path, failures_path=failures_path, close=job.bar.close)


def translate_file(
    input_path: Path,
    output_path: Path,
    *,
    config: TranslateConfig,
    llm: LLMConfig,
    api_key: str,
    cache_path: Path | None = None,
    failures_path: Path | None = None,
    batch_path: Path | None = None,
    progress: bool = True,
) -> TranslateReport:
    """Run :func:`translate_records` with a cached client (the entry point of the CLI).

    With ``batch_path``, requests missing from the cache are written there as an OpenAI Batch API
    file instead of being sent; ingest the batch output with :func:`instruct.llm_cache.ingest_batch_output`
    and run again (the ``answer`` strategy needs two rounds: translations, then answers).
    """
    failures = failures_path or default_failures_path(output_path)

    def run(client: LLMClient) -> Awaitable[TranslateReport]:
        return translate_records(input_path, output_path, config=config, client=client, failures_path=failures,
                                 progress=progress)

    return run_with_client(run, llm=llm, api_key=api_key, cache_path=cache_path or default_cache_path(output_path),
                           batch_path=batch_path)


def format_report(report: TranslateReport, model: str, prices: PriceTable | None) -> str:
    """The end-of-run summary printed by the CLI."""
    summary = report.summary([("records", report.records), ("written", report.written)], "failed", "records")
    return jobs_format_report(report, summary, model, prices)
