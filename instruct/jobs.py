"""The LLM job layer that translation and generation share: items -> requests -> cache -> outcomes -> report.

A job (an :class:`LLMJob`) turns each input item into one coroutine that asks :func:`ask` (or
:func:`ask_json`, strict JSON re-asked on a malformed reply) through an ``instruct.llm.LLMClient`` (which
caches, retries, rate-limits and can defer to a Batch API file) and returns an :class:`Outcome`.
:func:`run_job` runs them with a bounded window, takes the outcomes in input order into the output and
failures files (:class:`JobOutput`, both replaced only when no request is still pending in a batch), and
counts a :class:`JobReport`; :func:`run_with_client` (:func:`run_with_clients` for a job asking several
models) opens the cache and the client around it. How to add a job: docs/architecture.md, "Adding an LLM
job".
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from instruct.io import SPACED, Layout, RecordWriter, sidecar_path
from instruct.llm import REASON_DEFERRED, DeferredToBatch, LLMClient, LLMConfig, MessageList
from instruct.llm_cache import ResponseCache
from instruct.llm_cost import Accounting, PriceTable


def default_failures_path(output: Path) -> Path:
    """``OUTPUT_STEM.failures.jsonl`` beside the output."""
    return sidecar_path(output, ".failures.jsonl")


def default_cache_path(output: Path) -> Path:
    """``OUTPUT_STEM.llm-cache.sqlite`` beside the output."""
    return sidecar_path(output, ".llm-cache.sqlite")


# --- requests -------------------------------------------------------------------------------------------


class RequestFailed(Exception):
    """A chat request ended without usable text; ``reason`` is an ``instruct.llm`` ``REASON_*``, or the
    caller's malformed-reply reason from :func:`ask_json`."""

    def __init__(self, reason: str, detail: str | None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


async def ask(client: LLMClient, messages: MessageList) -> str:
    """The reply text of one chat request; raises :class:`~instruct.llm.DeferredToBatch` when it went to
    the batch file (``--batch``) and :class:`RequestFailed` when the client gave up on it."""
    result = await client.chat(messages)
    if result.reason == REASON_DEFERRED:
        raise DeferredToBatch
    if not result.ok or result.text is None:
        raise RequestFailed(result.reason or "", result.detail)
    return result.text


class ReplyError(ValueError):
    """The model's reply is not JSON of the shape the prompt asked for; the message says what is wrong."""


_FENCE_RE = re.compile(r"^```(?:json)?\s*\n(.*)\n```$", re.S)
T = TypeVar("T")


def parse_json_reply(text: str) -> Any:
    """``json.loads`` of the reply; the only leniency is one surrounding ```json fence (models add it even
    when told not to). Anything else around the JSON is an error."""
    body = text.strip()
    if (fence := _FENCE_RE.match(body)) is not None:
        body = fence.group(1).strip()
    try:
        return json.loads(body)
    except ValueError as err:
        raise ReplyError(f"not JSON: {err}") from None


async def ask_json(client: LLMClient, system: str, user: str, parse: Callable[[Any], T], *, attempts: int,
                   malformed: str) -> T:
    """``parse`` of the JSON reply to one system + user request.

    A reply that is not JSON (:func:`parse_json_reply`) or that ``parse`` refuses with :class:`ReplyError`
    is asked again with an attempt note naming the problem (a new request, so a new cache key), up to
    ``attempts`` requests in all; then :class:`RequestFailed` with reason ``malformed`` and the last
    problem. Raises :class:`~instruct.llm.DeferredToBatch` and the client's :class:`RequestFailed` as
    :func:`ask` does, at whichever attempt they happen.
    """
    problem = ""
    for attempt in range(1, attempts + 1):
        content = user if attempt == 1 else (
            f"{user}\n\n(attempt {attempt}: the previous reply was rejected ({problem}); reply with the JSON"
            " object only)"
        )
        text = await ask(client, [{"role": "system", "content": system}, {"role": "user", "content": content}])
        try:
            return parse(parse_json_reply(text))
        except ReplyError as err:
            problem = f"{err}; reply began {text.strip()[:80]!r}"
    raise RequestFailed(malformed, f"after {attempts} attempts, last: {problem}")


# --- outcomes -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Failure:
    """Why an item (or one thing made from it) produced nothing: a named reason, a detail, and where:
    ``field`` names the text field of a record, ``example`` holds a made example that was dropped."""

    reason: str
    detail: str | None = None
    field: str | None = None
    example: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """The result for one input item: records to write, failures, or ``deferred`` to a batch file."""

    item: Any
    records: Sequence[dict[str, Any]] = ()
    failures: Sequence[Failure] = ()
    deferred: bool = False


@dataclass(kw_only=True)
class JobReport:
    """Totals of one run; ``accounting`` holds the client's request/token/cost counters."""

    written: int = 0
    failed: int = 0
    deferred: int = 0
    failure_reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    accounting: Accounting = field(default_factory=Accounting)
    output_written: bool = False
    failures_path: Path | None = None

    def unfinished(self) -> int:
        """Failures that left work undone (the CLI exits 1 for them); by default every failure."""
        return self.failed

    def summary(self, rows: Iterable[tuple[str, int]], failed_label: str, unit: str) -> str:
        """Aligned count lines, then the failures with their reasons and any batch wait."""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.failure_reasons.items()))
        lines = [f"{label:<19}{value}" for label, value in rows]
        lines.append(f"{failed_label:<19}{self.failed}" + (f"  ({reasons})" if reasons else ""))
        if self.deferred:
            lines.append(f"waiting for batch  {self.deferred} {unit} (output not written yet)")
        return "\n".join(lines)


def format_report(report: JobReport, summary: str, model: str, prices: PriceTable | None) -> str:
    """The end-of-run text the CLI prints: the job's summary, then the client's accounting."""
    return summary + "\n" + report.accounting.summary(model, prices)


class JobOutput:
    """The output and failures files of one run, written under temporary names; counts into ``report``."""

    def __init__(self, output: Path, failures_path: Path, report: JobReport, layout: Layout, *,
                 failures_layout: Layout = SPACED) -> None:
        self.report = report
        self.records = RecordWriter(output, layout=layout)
        self.failures = RecordWriter(failures_path, layout=failures_layout)

    def write(self, record: Mapping[str, Any]) -> None:
        """One output record."""
        self.records.write(record)
        self.report.written += 1

    def fail(self, reason: str, line: Mapping[str, Any]) -> None:
        """One failures-file line, counted under ``reason``."""
        self.report.failed += 1
        self.report.failure_reasons[reason] += 1
        self.failures.write(line)

    def finish(self) -> None:
        """Rename both files into place, unless a response is still pending in a batch (then neither)."""
        if self.report.deferred:
            self.abort()
            return
        self.records.commit()
        self.failures.commit()
        self.report.output_written = True

    def abort(self) -> None:
        """Drop both temporaries; the previous files stay as they were."""
        self.records.abort()
        self.failures.abort()


# --- jobs -----------------------------------------------------------------------------------------------

Task = Callable[[], Awaitable[Outcome]]


class LLMJob:
    """What a job defines; :func:`run_job` does the rest.

    ``tasks()`` yields one coroutine factory per input item, in input order (:func:`ready` wraps an
    outcome known without a request, e.g. an unreadable record); ``failure_line`` gives the failures-file
    line of one failure; ``advance`` counts an outcome (progress bar, per-item totals) before it is taken;
    ``take`` writes it (default: every failure, then every record). ``window`` bounds the items in
    flight: output order is kept, so it bounds memory and how far fast items run ahead of a slow one.
    ``layout`` encodes the output file, ``failures_layout`` the failures file (a job writing corpus
    shards keeps orjson lines for its output and the spaced failures lines of the other jobs).
    """

    window: int = 64
    layout: Layout = SPACED
    failures_layout: Layout = SPACED

    def tasks(self) -> Iterable[Task]:
        raise NotImplementedError

    def failure_line(self, outcome: Outcome, failure: Failure) -> dict[str, Any]:
        raise NotImplementedError

    def advance(self, outcome: Outcome) -> None:
        """Count one outcome; nothing by default."""

    def take(self, outcome: Outcome, out: JobOutput) -> None:
        """Write one (not deferred) outcome: its failures, then its records."""
        for failure in outcome.failures:
            out.fail(failure.reason, self.failure_line(outcome, failure))
        for record in outcome.records:
            out.write(record)


def ready(outcome: Outcome) -> Task:
    """A task whose outcome is already known (no request needed)."""

    async def done() -> Outcome:
        return outcome

    return done


async def ordered(tasks: Iterable[Task], window: int) -> AsyncIterator[Outcome]:
    """Run tasks with at most ``window`` in flight and yield their outcomes in submission order."""
    pending: collections.deque[asyncio.Task[Outcome]] = collections.deque()
    try:
        for task in tasks:
            pending.append(asyncio.ensure_future(task()))
            if len(pending) >= window:
                yield await pending.popleft()
        while pending:
            yield await pending.popleft()
    finally:
        for future in pending:
            future.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


ReportT = TypeVar("ReportT", bound=JobReport)


async def run_job(job: LLMJob, report: ReportT, *, output: Path, failures_path: Path,
                  close: Callable[[], None] = lambda: None) -> ReportT:
    """Take every outcome of ``job`` in input order into ``output`` and ``failures_path``; ``close`` runs
    at the end either way (the job's progress bar). Both files are replaced only when nothing was
    deferred; on an error neither is, so a killed run leaves the previous files intact."""
    out = JobOutput(output, failures_path, report, job.layout, failures_layout=job.failures_layout)
    report.failures_path = failures_path
    try:
        async for outcome in ordered(job.tasks(), job.window):
            job.advance(outcome)
            if outcome.deferred:
                report.deferred += 1
                continue
            job.take(outcome, out)
    except BaseException:
        out.abort()
        raise
    finally:
        close()
    out.finish()
    return report


def run_with_client(
    run: Callable[[LLMClient], Awaitable[ReportT]], *, llm: LLMConfig, api_key: str, cache_path: Path,
    batch_path: Path | None = None,
) -> ReportT:
    """``run(client)`` with a client over the SQLite cache at ``cache_path``: the entry point of a job.

    With ``batch_path``, requests missing from the cache are written there as an OpenAI Batch API file
    instead of being sent; ingest the batch output with ``instruct.llm_cache.ingest_batch_output`` and
    run again. An empty batch file is deleted: everything came from the cache.
    """
    return run_with_clients(lambda clients: run(clients[llm.model]), llms={llm.model: llm}, api_key=api_key,
                            cache_path=cache_path, batch_path=batch_path)


def run_with_clients(
    run: Callable[[dict[str, LLMClient]], Awaitable[ReportT]], *, llms: Mapping[str, LLMConfig], api_key: str,
    cache_path: Path, batch_path: Path | None = None,
) -> ReportT:
    """``run(clients)`` with one client per named config (a job asking several models), as
    :func:`run_with_client`: all over the one cache at ``cache_path`` (its key holds the model, so the
    models do not mix) and, with ``batch_path``, writing into the one batch file, deleted when empty."""
    cache = ResponseCache(cache_path)

    async def main(batch_file: IO[str] | None) -> tuple[ReportT, bool]:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                name: await stack.enter_async_context(
                    LLMClient(config, api_key=api_key, cache=cache, batch_file=batch_file))
                for name, config in llms.items()
            }
            report = await run(clients)
            return report, any(client.accounting.deferred for client in clients.values())

    try:
        if batch_path is None:
            return asyncio.run(main(None))[0]
        batch_path.parent.mkdir(parents=True, exist_ok=True)
        with open(batch_path, "w", encoding="utf-8") as batch_file:
            report, deferred = asyncio.run(main(batch_file))
        if not deferred:
            batch_path.unlink()  # nothing left to send: the output was written from the cache
        return report
    finally:
        cache.close()
