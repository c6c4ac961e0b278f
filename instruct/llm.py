"""Async client for any OpenAI-compatible chat endpoint (OpenAI, Azure-style gateways, vLLM): bounded
concurrency, RPM/TPM token buckets, retries with full-jitter exponential backoff that honour
Retry-After, an SQLite cache keyed by sha256(model, messages, params) so no request is paid twice
(``instruct.llm_cache``), token/cost accounting (``instruct.llm_cost``), OpenAI Batch API request
files, and a stop with one line when the endpoint cannot work (``instruct.llm_errors``). Streaming and
tool calls are left out.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import IO, Any

from corpus.text import HAN_CONTIGUOUS
from instruct.llm_cache import ResponseCache, cache_key
from instruct.llm_cost import Accounting
from instruct.llm_errors import LLMSetupError, connect_failure, endpoint_error, error_message

CHAT_URL = "/v1/chat/completions"

# Per-request failure reasons (the run goes on; the caller records them).
REASON_BAD_REQUEST = "llm_bad_request"  # 400/413/422: the request itself is wrong; retrying cannot help
REASON_RETRIES_EXHAUSTED = "llm_retries_exhausted"  # 429/5xx/timeouts/drops on every attempt
REASON_EMPTY = "llm_empty_response"  # a 200 with no choices or no message content
REASON_TRUNCATED = "llm_truncated"  # finish_reason == "length": the answer was cut at max_tokens
REASON_CONTENT_FILTER = "llm_content_filter"  # finish_reason == "content_filter"
REASON_DEFERRED = "llm_deferred_to_batch"  # --batch: written to the batch request file, not sent

# Statuses that say the endpoint itself is wrong for every request (no key, no such model or route, no
# chat API): the run stops at the first one. 400/413/422 fail only the request that caused them.
FATAL_STATUSES = (401, 403, 404, 405, 501)
# Consecutive failures to connect (refused, DNS, TLS) after which the run stops: a server that is not
# there will not appear during backoff, and every record would wait through all its retries.
MAX_CONNECT_FAILURES = 3
CONNECT_BACKOFF = 0.5  # seconds before the next connection attempt (doubles, at most 2 s)
# Bad-request answers (400/413/422) in a row, before any success, after which the run stops: then the
# request shape itself (model, sampling options) is wrong for this endpoint, not one record.
MAX_BAD_REQUESTS_FIRST = 5

# Transient error kinds, for retry counting in the summary.
ERROR_RATE_LIMIT = "http_429"
ERROR_TIMEOUT = "timeout"
ERROR_CONNECTION = "connection"
ERROR_MALFORMED = "malformed_response"

MessageList = Sequence[Mapping[str, Any]]


def estimate_tokens(messages: MessageList) -> int:
    """A tokenizer-free token estimate for the TPM budget: one token per CJK character, one per four
    other characters, plus 4 per message of chat framing (OpenAI's cookbook figure)."""
    total = 0
    for message in messages:
        text = str(message.get("content", ""))
        cjk = HAN_CONTIGUOUS.count(text)
        total += cjk + (len(text) - cjk) // 4 + 4
    return total


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` (OpenAI), or ``Retry-After`` as seconds or an HTTP date."""
    if not headers:
        return None
    if (ms := headers.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


# --- configuration ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LLMConfig:
    """How to talk to the endpoint.

    Retry delay before attempt ``n+1`` is ``uniform(0, min(backoff_max, backoff_base * 2**(n-1)))``
    ("full jitter", AWS architecture blog 2015), or the server's Retry-After plus up to 10% jitter,
    capped at ``retry_after_max``. ``temperature``/``max_tokens``/``seed`` are sent only when not None
    and are part of the cache key.
    """

    model: str
    base_url: str | None = None  # None: the openai default (api.openai.com) or $OPENAI_BASE_URL
    concurrency: int = 16
    rpm: int | None = None  # requests per minute; None: no limit
    tpm: int | None = None  # tokens per minute (prompt estimate + max_tokens); None: no limit
    timeout: float = 120.0  # seconds per attempt
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    retry_after_max: float = 300.0
    temperature: float | None = 0.0  # deterministic-leaning output suits translation
    max_tokens: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")

    def params(self) -> dict[str, Any]:
        """The sampling parameters sent with (and hashed into the key of) every request."""
        values = {"temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed}
        return {name: value for name, value in values.items() if value is not None}


class DeferredToBatch(Exception):
    """A response the caller needs is waiting in the batch request file (``--batch``): skip the record
    for this run; it completes on the rerun after ``batch-ingest``."""


# --- rate limiting ------------------------------------------------------------------------------------


class TokenBucket:
    """``per_minute`` units refill evenly over a minute; the bucket holds at most a minute's worth.

    Waiters are served first come, first served (one lock), so a large request is not starved by
    small ones. A request larger than the whole bucket waits for a full bucket and then goes.
    """

    def __init__(self, per_minute: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # units per second
        self.level = self.capacity
        self.stamp = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, amount: float = 1.0) -> None:
        amount = min(float(amount), self.capacity)
        async with self._lock:
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                if self.level >= amount:
                    self.level -= amount
                    return
                await asyncio.sleep((amount - self.level) / self.rate)


# --- the client -----------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ChatResult:
    """The outcome of one chat call: ``text`` when it succeeded, else ``reason`` and ``detail``."""

    key: str
    text: str | None = None
    finish_reason: str | None = None
    cached: bool = False
    attempts: int = 0
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def result_from_response(key: str, response: Mapping[str, Any], *, cached: bool, attempts: int) -> ChatResult:
    """Read the first choice of a ``chat.completion`` dict into a :class:`ChatResult`."""
    choices = response.get("choices") or []
    message = (choices[0].get("message") or {}) if choices else {}
    text = message.get("content")
    finish = choices[0].get("finish_reason") if choices else None
    common = {"key": key, "finish_reason": finish, "cached": cached, "attempts": attempts}
    if finish == "length":
        return ChatResult(**common, text=text, reason=REASON_TRUNCATED, detail="finish_reason=length")
    if finish == "content_filter":
        return ChatResult(**common, reason=REASON_CONTENT_FILTER, detail="finish_reason=content_filter")
    if not text:
        return ChatResult(**common, reason=REASON_EMPTY, detail="no message content in the response")
    return ChatResult(**common, text=text)


class LLMClient:
    """Chat completions with caching, rate limits and retries; use as ``async with LLMClient(...)``.

    ``batch_file``: instead of sending a request missing from the cache, write it as an OpenAI Batch
    API line (``custom_id`` = cache key) and return a :data:`REASON_DEFERRED` result.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        api_key: str,
        cache: ResponseCache | None = None,
        batch_file: IO[str] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        import openai  # imported here so modules that only read the cache do not pay for it

        self.config = config
        self.cache = cache
        self.batch_file = batch_file
        self.accounting = Accounting()
        self._rng = rng or random.Random()
        # max_retries=0: our retry policy (with the shared Retry-After pause) is the only one.
        # The aiohttp transport (openai's DefaultAioHttpClient) costs about half the CPU per request of
        # the default httpx one: that decides throughput at high concurrency (benchmarks/llm_client.py).
        self._openai = openai.AsyncOpenAI(
            api_key=api_key, base_url=config.base_url, timeout=config.timeout, max_retries=0,
            http_client=openai.DefaultAioHttpClient(timeout=config.timeout),
        )
        self._semaphore = asyncio.Semaphore(config.concurrency)
        self._rpm = TokenBucket(config.rpm) if config.rpm else None
        self._tpm = TokenBucket(config.tpm) if config.tpm else None
        self._paused_until = 0.0  # monotonic time before which no request starts (after a 429)
        self._batch_keys: set[str] = set()
        self._in_flight: dict[str, asyncio.Future[ChatResult]] = {}
        # Until one request has got an HTTP answer, requests go one at a time: a wrong URL or a server
        # that is not there then costs a few requests, not one per concurrent slot.
        self._probe = asyncio.Lock()
        self._endpoint_answered = False
        self._connect_failures = 0  # consecutive, over all requests; reset by any HTTP answer
        self._succeeded = False  # any 200 with a chat completion so far
        self._bad_requests = 0  # consecutive 4xx answers before the first success
        self._fatal: LLMSetupError | None = None  # once set, every call raises it without sending

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._openai.close()

    def request_body(self, messages: MessageList) -> dict[str, Any]:
        """The JSON body sent to ``/v1/chat/completions`` for these messages."""
        return {"model": self.config.model, "messages": [dict(m) for m in messages], **self.config.params()}

    async def chat(self, messages: MessageList) -> ChatResult:
        """One chat completion: from the cache, from the endpoint (with retries), or deferred to batch.

        Raises :class:`LLMSetupError` on 401/403/404/405/501 or when the endpoint cannot be reached
        (:data:`MAX_CONNECT_FAILURES` in a row), which no other request would survive either.
        """
        key = cache_key(self.config.model, messages, self.config.params())
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.accounting.cache_hits += 1
            return self._count(result_from_response(key, hit, cached=True, attempts=0))
        if self.batch_file is not None:
            return self._defer(key, messages)
        if self._fatal is not None:
            raise self._fatal
        if (pending := self._in_flight.get(key)) is not None:
            # The same request is already on the wire (e.g. two records whose masked texts are equal):
            # share its answer instead of paying twice. Counted as a cache hit.
            self.accounting.cache_hits += 1
            return dataclasses.replace(await asyncio.shield(pending), cached=True)
        future: asyncio.Future[ChatResult] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = self._count(await self._send(key, messages))
        except BaseException as err:
            if isinstance(err, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(err)
                future.exception()  # mark retrieved: with no waiter, asyncio would log it as lost
            raise
        else:
            future.set_result(result)
        finally:
            del self._in_flight[key]
        return result

    def _count(self, result: ChatResult) -> ChatResult:
        if not result.ok and result.reason != REASON_DEFERRED:
            self.accounting.failures += 1
            self.accounting.failure_reasons[result.reason or ""] += 1
        return result

    def _defer(self, key: str, messages: MessageList) -> ChatResult:
        body = self.request_body(messages)
        if key not in self._batch_keys:  # identical requests share one batch line
            self._batch_keys.add(key)
            line = {"custom_id": key, "method": "POST", "url": CHAT_URL, "body": body}
            assert self.batch_file is not None
            self.batch_file.write(json.dumps(line, ensure_ascii=False) + "\n")
            if self.cache is not None:
                self.cache.add_batch_request(key, body)
            self.accounting.deferred += 1
        return ChatResult(key=key, reason=REASON_DEFERRED, detail="written to the batch request file")

    async def _wait_turn(self, tokens: int) -> None:
        while (delay := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(delay)
        if self._rpm is not None:
            await self._rpm.acquire(1)
        if self._tpm is not None:
            await self._tpm.acquire(tokens)

    def _backoff(self, attempt: int) -> float:
        return self._rng.uniform(0, min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempt - 1)))

    def _stop(self, what: str, hint: str) -> LLMSetupError:
        self._fatal = endpoint_error(self._openai.base_url, self.config.model, what, hint)
        return self._fatal

    async def _post(self, messages: MessageList) -> Any:
        """One HTTP attempt; the first ones go alone through ``_probe`` (see ``__init__``)."""
        probing = not self._endpoint_answered
        if probing:
            await self._probe.acquire()
            probing = not self._endpoint_answered
            if not probing:
                self._probe.release()
        try:
            async with self._semaphore:
                if self._fatal is not None:  # checked after the wait: the run may have stopped meanwhile
                    raise self._fatal
                self.accounting.requests += 1
                # Raw response: we keep the JSON dict anyway, so skip building pydantic models.
                raw = await self._openai.chat.completions.with_raw_response.create(
                    model=self.config.model, messages=[dict(m) for m in messages], **self.config.params()
                )
                body = json.loads(await raw.http_response.aread())
            self._answered(opens=True)
            return body
        except Exception as err:
            import openai

            if isinstance(err, openai.APIStatusError):
                # A 4xx may mean every request is wrong (see MAX_BAD_REQUESTS_FIRST): keep probing alone.
                self._answered(opens=not 400 <= err.status_code < 500 or err.status_code in (408, 409, 429))
            elif isinstance(err, ValueError | openai.APIResponseValidationError):
                self._answered(opens=True)  # the server is there and speaks HTTP
            raise
        finally:
            if probing:
                self._probe.release()

    def _answered(self, *, opens: bool) -> None:
        """An HTTP answer came back: connections work; ``opens`` lets requests go concurrently from now on."""
        self._endpoint_answered = self._endpoint_answered or opens
        self._connect_failures = 0

    async def _send(self, key: str, messages: MessageList) -> ChatResult:
        import openai

        config = self.config
        tokens = estimate_tokens(messages) + (config.max_tokens or 0)
        last_error = ""
        for attempt in range(1, config.max_attempts + 1):
            await self._wait_turn(tokens)
            delay: float | None = None
            try:
                body = await self._post(messages)
            except openai.RateLimitError as err:
                last_error = ERROR_RATE_LIMIT
                retry_after = parse_retry_after(err.response.headers)
                if retry_after is not None:
                    delay = min(retry_after, config.retry_after_max) * (1 + 0.1 * self._rng.random())
                    # Everyone waits: the limit is per key, so other requests would hit it too.
                    self._paused_until = max(self._paused_until, time.monotonic() + delay)
            except (openai.AuthenticationError, openai.PermissionDeniedError) as err:
                # The body of a 401 may echo part of the key, so it is not quoted.
                raise self._stop(f"HTTP {err.status_code}, the API key was refused",
                                 "check the key's environment variable (--api-key-env) and --base-url") from None
            except openai.NotFoundError as err:
                raise self._stop(f"HTTP 404 ({error_message(err)})",
                                 "check the model name (--model) and that --base-url ends in /v1") from None
            except openai.APIConnectionError as err:  # timeouts too: aiohttp's refusals come as these
                last_error = _timeout_or_drop(err) if isinstance(err, openai.APITimeoutError) else ERROR_CONNECTION
                if (refused := connect_failure(err)) is not None:
                    self._connect_failures += 1
                    if self._connect_failures >= MAX_CONNECT_FAILURES:
                        what, hint = refused
                        raise self._stop(f"{what} ({self._connect_failures} attempts in a row)", hint) from None
                    delay = min(2.0, CONNECT_BACKOFF * 2 ** (self._connect_failures - 1))
            except openai.APIStatusError as err:
                if err.status_code in FATAL_STATUSES:
                    raise self._stop(f"HTTP {err.status_code} ({error_message(err)})",
                                     "this endpoint does not serve chat completions: point --base-url at an "
                                     "OpenAI-compatible server, e.g. http://localhost:8000/v1") from None
                if err.status_code < 500 and err.status_code not in (408, 409):
                    self._bad_requests += 1
                    if not self._succeeded and self._bad_requests >= MAX_BAD_REQUESTS_FIRST:
                        raise self._stop(f"HTTP {err.status_code} for the first {self._bad_requests} requests "
                                         f"({error_message(err)})",
                                         "the endpoint refuses this request shape: check --model and the "
                                         "sampling options (--temperature, --max-tokens)") from None
                    return ChatResult(
                        key=key, attempts=attempt, reason=REASON_BAD_REQUEST,
                        detail=f"HTTP {err.status_code}: {error_message(err)}",
                    )
                last_error = f"http_{err.status_code}"
                retry_after = parse_retry_after(err.response.headers)
                if retry_after is not None:
                    delay = min(retry_after, config.retry_after_max)
            except (ValueError, openai.APIResponseValidationError):
                last_error = ERROR_MALFORMED  # a 200 whose body is not a chat completion (proxy hiccup)
            else:
                if not isinstance(body, dict) or not body.get("choices"):
                    last_error = ERROR_MALFORMED
                else:
                    self._succeeded, self._bad_requests = True, 0
                    self.accounting.add_usage(body.get("usage"))
                    if self.cache is not None:
                        self.cache.put(key, config.model, body)
                    return result_from_response(key, body, cached=False, attempts=attempt)
            if attempt < config.max_attempts:
                self.accounting.retries += 1
                self.accounting.retry_kinds[last_error] += 1
                await asyncio.sleep(self._backoff(attempt) if delay is None else delay)
        return ChatResult(
            key=key, attempts=config.max_attempts, reason=REASON_RETRIES_EXHAUSTED,
            detail=f"last error {last_error} from {self._openai.base_url} after {config.max_attempts} attempts",
        )


def _timeout_or_drop(err: BaseException) -> str:
    """The aiohttp transport reports a dropped connection as a connect timeout; tell them apart by the
    aiohttp exception underneath (a connection error that is not a timeout)."""
    import aiohttp

    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
            return ERROR_CONNECTION
        cause = cause.__cause__ or cause.__context__
    return ERROR_TIMEOUT
