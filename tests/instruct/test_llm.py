"""The LLM client against a real HTTP server on 127.0.0.1 (tests/fakellm.py): retries per fault,
no retry on 400/401, cache hits send nothing, concurrency and rate bounds, batch files, accounting."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest

from instruct.llm import (
    CHAT_URL,
    ERROR_CONNECTION,
    ERROR_MALFORMED,
    ERROR_RATE_LIMIT,
    ERROR_TIMEOUT,
    REASON_BAD_REQUEST,
    REASON_DEFERRED,
    REASON_EMPTY,
    REASON_RETRIES_EXHAUSTED,
    LLMClient,
    LLMConfig,
    TokenBucket,
    estimate_tokens,
    parse_retry_after,
)
from instruct.llm_cache import ResponseCache, cache_key, ingest_batch_output
from instruct.llm_cost import Accounting, PriceTable
from instruct.llm_errors import LLMSetupError, resolve_api_key
from tests.fakellm import (
    FAULT_DROP,
    FAULT_MALFORMED,
    FAULT_SLOW,
    FAULT_STATUS,
    FakeLLMServer,
    Fault,
    echo_handler,
)

SECRET = "sk-test-SECRET-0123456789"
MESSAGES = [{"role": "user", "content": "Write a function"}]


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(handler=echo_handler) as srv:
        yield srv


def config(server: FakeLLMServer, **overrides: object) -> LLMConfig:
    # Short timeout and tiny backoff keep fault tests fast; the policy is the same at any scale.
    values: dict[str, object] = {"model": "fake-model", "base_url": server.base_url, "timeout": 0.5,
                                 "backoff_base": 0.01, "backoff_max": 0.05, "max_attempts": 4}
    values.update(overrides)
    return LLMConfig(**values)  # type: ignore[arg-type]


def run_chat(cfg: LLMConfig, messages=MESSAGES, *, cache: ResponseCache | None = None):
    async def go():
        async with LLMClient(cfg, api_key=SECRET, cache=cache) as client:
            return await client.chat(messages), client.accounting

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (Fault(kind=FAULT_STATUS, status=429, retry_after=0.05), ERROR_RATE_LIMIT),
        (Fault(kind=FAULT_STATUS, status=500), "http_500"),
        (Fault(kind=FAULT_STATUS, status=503), "http_503"),
        (Fault(kind=FAULT_SLOW, delay=1.5), ERROR_TIMEOUT),
        (Fault(kind=FAULT_DROP), ERROR_CONNECTION),
        (Fault(kind=FAULT_MALFORMED), ERROR_MALFORMED),
    ],
)
def test_transient_fault_is_retried_then_succeeds(server: FakeLLMServer, fault: Fault, kind: str) -> None:
    server.schedule(fault)
    result, acct = run_chat(config(server))
    assert result.ok and result.text == "Write a function"
    assert result.attempts == 2 and server.request_count == 2
    assert acct.retries == 1 and acct.retry_kinds == {kind: 1}
    assert acct.requests == 2 and acct.failures == 0


def test_retry_after_is_honoured(server: FakeLLMServer) -> None:
    server.schedule(Fault(kind=FAULT_STATUS, status=429, retry_after=0.6))
    start = time.monotonic()
    result, _ = run_chat(config(server, backoff_max=0.01))
    # Our own backoff is capped at 10 ms here, so only the header can explain the wait.
    assert result.ok and time.monotonic() - start >= 0.6


def test_every_attempt_failing_is_reported(server: FakeLLMServer) -> None:
    server.fault_rule = lambda body, n: Fault(kind=FAULT_STATUS, status=500)
    result, acct = run_chat(config(server, max_attempts=3))
    assert result.reason == REASON_RETRIES_EXHAUSTED and "http_500" in (result.detail or "")
    assert server.request_count == 3 and acct.retries == 2 and acct.failures == 1


def test_bad_request_is_not_retried(server: FakeLLMServer) -> None:
    server.schedule(Fault(kind=FAULT_STATUS, status=400))
    result, acct = run_chat(config(server))
    assert result.reason == REASON_BAD_REQUEST and "HTTP 400" in (result.detail or "")
    assert server.request_count == 1 and acct.retries == 0


@pytest.mark.parametrize("status", [401, 403, 404, 405, 501])
def test_setup_errors_stop_with_a_clear_line_without_the_key(server: FakeLLMServer, status: int) -> None:
    server.schedule(Fault(kind=FAULT_STATUS, status=status))
    with pytest.raises(LLMSetupError) as info:
        run_chat(config(server))
    assert server.request_count == 1
    assert f"HTTP {status}" in str(info.value) and SECRET not in str(info.value)
    assert "\n" not in str(info.value)
    assert server.base_url in str(info.value) and "'fake-model'" in str(info.value)


def test_empty_content_is_a_named_failure(server: FakeLLMServer) -> None:
    server.handler = lambda body: ""
    result, _ = run_chat(config(server))
    assert result.reason == REASON_EMPTY


def test_cache_hit_sends_nothing_and_survives_reopening(server: FakeLLMServer, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first, _ = run_chat(config(server), cache=ResponseCache(path))
    second, acct = run_chat(config(server), cache=ResponseCache(path))
    assert first.ok and second.ok and second.cached and second.text == first.text
    assert server.request_count == 1 and acct.requests == 0 and acct.cache_hits == 1
    assert SECRET.encode() not in path.read_bytes()


def test_cache_key_covers_model_messages_and_params() -> None:
    base = cache_key("m", MESSAGES, {"temperature": 0.0})
    assert base == cache_key("m", [dict(m) for m in MESSAGES], {"temperature": 0.0})
    assert base != cache_key("m2", MESSAGES, {"temperature": 0.0})
    assert base != cache_key("m", [{"role": "user", "content": "Write a class"}], {"temperature": 0.0})
    assert base != cache_key("m", MESSAGES, {"temperature": 0.7})


def test_concurrency_is_bounded(server: FakeLLMServer) -> None:
    server.latency = 0.05

    async def go():
        async with LLMClient(config(server, concurrency=3), api_key=SECRET) as client:
            return await asyncio.gather(*(client.chat([{"role": "user", "content": f"q{i}"}]) for i in range(12)))

    results = asyncio.run(go())
    assert all(r.ok for r in results) and server.request_count == 12
    assert server.max_in_flight == 3


def test_identical_requests_in_flight_are_sent_once(server: FakeLLMServer) -> None:
    server.latency = 0.05

    async def go():
        async with LLMClient(config(server), api_key=SECRET) as client:
            return await asyncio.gather(*(client.chat(MESSAGES) for _ in range(5))), client.accounting

    results, acct = asyncio.run(go())
    assert server.request_count == 1 and acct.requests == 1 and acct.cache_hits == 4
    assert {r.text for r in results} == {"Write a function"}


def test_token_bucket_waits_when_empty() -> None:
    async def go() -> float:
        bucket = TokenBucket(600)  # 10 per second, 600 in the bucket at start
        await bucket.acquire(600)
        start = time.monotonic()
        await bucket.acquire(2)
        return time.monotonic() - start

    assert asyncio.run(go()) >= 0.19


def test_batch_file_then_ingest_fills_the_cache(server: FakeLLMServer, tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    batch_path = tmp_path / "batch.jsonl"
    other = [{"role": "user", "content": "Another question"}]

    async def write_batch():
        with open(batch_path, "w", encoding="utf-8") as handle:
            async with LLMClient(config(server), api_key=SECRET, cache=cache, batch_file=handle) as client:
                return [await client.chat(m) for m in (MESSAGES, MESSAGES, other)], client.accounting

    results, acct = asyncio.run(write_batch())
    lines = [json.loads(line) for line in batch_path.read_text(encoding="utf-8").splitlines()]
    assert [r.reason for r in results] == [REASON_DEFERRED] * 3 and acct.deferred == 2
    assert len(lines) == 2 and server.request_count == 0
    assert lines[0]["url"] == CHAT_URL and lines[0]["body"]["messages"] == MESSAGES
    assert lines[0]["custom_id"] == cache_key("fake-model", MESSAGES, config(server).params())
    assert SECRET not in batch_path.read_text(encoding="utf-8")

    # A Batch API output file: one success, one error line, one id we never asked for, one broken line.
    answer = {"id": "x", "object": "chat.completion", "model": "fake-model",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "答案"}, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 10, "completion_tokens": 4, "total_tokens": 14}}
    output = tmp_path / "batch_output.jsonl"
    output.write_text("\n".join([
        json.dumps({"id": "r1", "custom_id": lines[0]["custom_id"], "response": {"status_code": 200, "body": answer}}),
        json.dumps({"id": "r2", "custom_id": lines[1]["custom_id"], "response": {"status_code": 500, "body": {}},
                    "error": None}),
        json.dumps({"id": "r3", "custom_id": "f" * 64, "response": {"status_code": 200, "body": answer}}),
        "{broken",
    ]) + "\n", encoding="utf-8")
    report = ingest_batch_output(output, cache)
    assert (report.stored, report.errors, report.unknown, report.malformed) == (1, 1, 1, 1)
    assert report.accounting.batch_prompt_tokens == 10

    result, acct = run_chat(config(server), cache=cache)
    assert result.ok and result.cached and result.text == "答案" and server.request_count == 0


def test_resolve_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KF_TEST_KEY", raising=False)
    with pytest.raises(LLMSetupError, match="KF_TEST_KEY"):
        resolve_api_key("KF_TEST_KEY")
    monkeypatch.setenv("KF_TEST_KEY", SECRET)
    assert resolve_api_key("KF_TEST_KEY") == SECRET


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after({"retry-after": "7"}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    now = time.time()
    assert 29 <= parse_retry_after({"retry-after": formatdate(now + 30, usegmt=True)}, now=now) <= 31
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


def test_prices_and_cost() -> None:
    table = PriceTable.load()
    assert table.lookup("gpt-4o-mini-2024-07-18") == table.models["gpt-4o-mini"]
    assert table.lookup("gpt-4o-2024-08-06") == table.models["gpt-4o"]
    assert table.lookup("my-local-llama") is None
    acct = Accounting(prompt_tokens=1_000_000, completion_tokens=500_000, batch_prompt_tokens=1_000_000)
    # fake-model: $1 in, $2 out per 1M; batch billed at half.
    assert acct.cost("fake-model", table) == pytest.approx(1.0 + 1.0 + 0.5)
    assert acct.cost("my-local-llama", table) is None
    assert "n/a" in acct.summary("my-local-llama", table)


def test_estimate_tokens_counts_cjk_per_character() -> None:
    assert estimate_tokens([{"role": "user", "content": "你好世界"}]) == 4 + 4
    assert estimate_tokens([{"role": "user", "content": "abcdefgh"}]) == 2 + 4


def _gather(cfg: LLMConfig, n: int):
    """``n`` distinct chats at once on one client; exceptions are returned, not raised."""
    async def go():
        async with LLMClient(cfg, api_key=SECRET) as client:
            calls = (client.chat([{"role": "user", "content": f"q{i}"}]) for i in range(n))
            return await asyncio.gather(*calls, return_exceptions=True), client.accounting

    return asyncio.run(go())


def test_a_fatal_answer_stops_every_request_after_one_is_sent(server: FakeLLMServer) -> None:
    """The first requests go one at a time, so 16 concurrent calls to a 501 server cost one request."""
    server.fault_rule = lambda body, n: Fault(kind=FAULT_STATUS, status=501)
    results, acct = _gather(config(server, concurrency=16), 16)
    assert server.request_count == 1 and acct.requests == 1
    assert all(isinstance(r, LLMSetupError) and "HTTP 501" in str(r) for r in results)


def test_a_refused_port_stops_after_a_few_attempts() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = LLMConfig(model="fake-model", base_url=f"http://127.0.0.1:{port}/v1", timeout=2, max_attempts=6)
    started = time.monotonic()
    results, acct = _gather(cfg, 8)
    assert time.monotonic() - started < 10 and acct.requests == 3
    message = str(results[0])
    assert isinstance(results[0], LLMSetupError) and all(isinstance(r, LLMSetupError) for r in results)
    assert f"127.0.0.1:{port}" in message and "connection refused" in message and "3 attempts in a row" in message


def test_bad_requests_before_any_success_stop_the_run(server: FakeLLMServer) -> None:
    server.fault_rule = lambda body, n: Fault(kind=FAULT_STATUS, status=400)
    results, _ = _gather(config(server, concurrency=2), 8)
    assert server.request_count == 5  # MAX_BAD_REQUESTS_FIRST, then no more
    assert sum(isinstance(r, LLMSetupError) for r in results) == 8 - 4
    assert "check --model and the sampling options" in str(results[-1])


def test_bad_requests_after_a_success_fail_only_their_records(server: FakeLLMServer) -> None:
    server.fault_rule = lambda body, n: Fault(kind=FAULT_STATUS, status=400) if n > 1 else None
    results, acct = _gather(config(server, concurrency=1), 8)
    assert server.request_count == 8 and acct.failures == 7
    assert all(not isinstance(r, Exception) for r in results)
    assert [r.reason for r in results].count(REASON_BAD_REQUEST) == 7
