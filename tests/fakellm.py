"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat API (``/v1/chat/completions``,
``/v1/models``) for tests and benchmarks, with programmable faults (status codes with Retry-After,
slow responses, dropped connections, malformed JSON), a request log and a pluggable handler.

Use it in-process (``with FakeLLMServer(...) as server: server.base_url``: aiohttp on its own event
loop in a thread) or as a separate process: ``python tests/fakellm.py --latency 0.2`` prints
``PORT <n>`` and serves until killed. Streaming, tools and the other endpoints are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# A handler turns a request body (the parsed JSON the client sent) into the assistant's reply text.
Handler = Callable[[dict[str, Any]], str]
# A fault rule may pick a fault for a request from its body and its 1-based arrival number.
FaultRule = Callable[[dict[str, Any], int], "Fault | None"]

FAULT_STATUS = "status"  # answer with an HTTP error status (429, 500, 400, 401, ...)
FAULT_SLOW = "slow"  # sleep `delay` seconds before answering normally (past the client timeout)
FAULT_DROP = "drop"  # close the TCP connection without any response
FAULT_MALFORMED = "malformed"  # 200 with a body that is not valid JSON
FAULT_KINDS = (FAULT_STATUS, FAULT_SLOW, FAULT_DROP, FAULT_MALFORMED)


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One injected fault; ``retry_after`` (seconds) is sent as the ``Retry-After`` header."""

    kind: str
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")


# --- a deterministic "translator" ----------------------------------------------------------------

PLACEHOLDER_RE = re.compile(r"⟦\d+⟧")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
WORD_RE = re.compile(r"⟦\d+⟧|[A-Za-z]+|[\u3400-\u4dbf\u4e00-\u9fff]|\s+|.", re.S)

EN_ZH = {
    "write": "写", "function": "函数", "python": "Python", "the": "这", "a": "一个", "of": "的",
    "list": "列表", "number": "数字", "numbers": "数字", "sort": "排序", "give": "给出", "three": "三",
    "tips": "建议", "for": "为了", "staying": "保持", "healthy": "健康", "what": "什么", "is": "是",
    "capital": "首都", "france": "法国", "translate": "翻译", "sentence": "句子", "code": "代码",
    "returns": "返回", "and": "和", "to": "到", "in": "在", "this": "这个", "that": "那个",
    "explain": "解释", "how": "如何", "use": "使用", "string": "字符串", "name": "名字", "you": "你",
    "are": "是", "hello": "你好", "world": "世界", "with": "用", "example": "例子", "see": "看",
}
ZH_EN = {
    "写": "write", "函": "func", "数": "number", "列": "column", "表": "table", "排": "arrange",
    "序": "order", "你": "you", "好": "good", "世": "world", "界": "boundary", "是": "is",
    "的": "of", "高": "high", "血": "blood", "压": "pressure", "和": "and", "中": "middle",
    "国": "country", "人": "person", "大": "big", "一": "one", "个": "unit", "在": "at",
}


def fake_translate(text: str) -> str:
    """Translate word by word between English and Chinese, keeping ``⟦n⟧`` placeholders,
    whitespace and punctuation exactly, so the output passes language and structure checks.

    The direction follows the text: mostly CJK letters -> English, otherwise -> Chinese.
    Unknown English words become ``词``, unknown Chinese characters become ``word``.
    """
    letters = PLACEHOLDER_RE.sub("", text)
    cjk = len(CJK_RE.findall(letters))
    latin = sum(ch.isascii() and ch.isalpha() for ch in letters)
    to_english = cjk > latin
    out: list[str] = []
    for token in WORD_RE.findall(text):
        if PLACEHOLDER_RE.fullmatch(token) or token.isspace():
            out.append(token)
        elif to_english and CJK_RE.fullmatch(token):
            out.append(ZH_EN.get(token, "word") + " ")
        elif not to_english and token.isascii() and token.isalpha():
            out.append(EN_ZH.get(token.lower(), "词"))
        else:
            out.append(token)
    return "".join(out).strip() if to_english else "".join(out)


def translator_handler(body: dict[str, Any]) -> str:
    """Reply with :func:`fake_translate` of the last user message."""
    user = [m for m in body.get("messages", []) if m.get("role") == "user"]
    return fake_translate(str(user[-1]["content"])) if user else ""


def echo_handler(body: dict[str, Any]) -> str:
    """Reply with the last message's content unchanged (for client tests that ignore content)."""
    messages = body.get("messages") or [{"content": ""}]
    return str(messages[-1]["content"])


# --- the server ----------------------------------------------------------------------------------


class FakeLLMServer:
    """An OpenAI-compatible chat server on 127.0.0.1 with a fixed ``latency`` (seconds) per request.

    Faults come first from the queue filled by :meth:`schedule` (one per request, in order), then
    from ``fault_rule``. Every chat request body is kept in :attr:`bodies` in arrival order.
    """

    def __init__(
        self,
        *,
        handler: Handler = translator_handler,
        latency: float = 0.0,
        fault_rule: FaultRule | None = None,
        models: tuple[str, ...] = ("fake-model",),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.handler = handler
        self.latency = latency
        self.fault_rule = fault_rule
        self.models = models
        self.host = host
        self.port = port
        self.bodies: list[dict[str, Any]] = []
        self.answered = 0  # requests that got a normal 200 reply
        self.in_flight = 0
        self.max_in_flight = 0  # the most chat requests handled at the same time
        self.faults_served: collections.Counter[str] = collections.Counter()
        self._queue: collections.deque[Fault] = collections.deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # -- programming ----------------------------------------------------------------------------

    def schedule(self, *faults: Fault) -> None:
        """Queue faults for the next requests, one each, before any normal reply."""
        with self._lock:
            self._queue.extend(faults)

    @property
    def request_count(self) -> int:
        """Chat requests received so far (including those answered with a fault)."""
        with self._lock:
            return len(self.bodies)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- aiohttp handlers -----------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app

    async def _models(self, request: web.Request) -> web.Response:
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fakellm"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._reply(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _reply(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        with self._lock:
            self.bodies.append(body)
            number = len(self.bodies)
            fault = self._queue.popleft() if self._queue else None
        if fault is None and self.fault_rule is not None:
            fault = self.fault_rule(body, number)
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            with self._lock:
                self.faults_served[fault.kind if fault.kind != FAULT_STATUS else str(fault.status)] += 1
            if fault.kind == FAULT_STATUS:
                headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
                error = {"error": {"message": f"injected HTTP {fault.status}", "type": "fake", "code": None}}
                return web.json_response(error, status=fault.status, headers=headers)
            if fault.kind == FAULT_DROP:
                assert request.transport is not None
                request.transport.abort()  # RST/close with no bytes written: a dropped connection
                raise asyncio.CancelledError
            if fault.kind == FAULT_MALFORMED:
                return web.Response(text='{"id": "broken", "choices": [', content_type="application/json")
            await asyncio.sleep(fault.delay)  # FAULT_SLOW, then answer normally
        content = self.handler(body)
        with self._lock:
            self.answered += 1
        return web.json_response(completion(body, content, number))

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeLLMServer:
        """Serve in a daemon thread; returns once the port is bound."""
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            self._runner = web.AppRunner(self.app(), handle_signals=False, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
            self._loop.run_until_complete(site.start())
            self.port = self._runner.addresses[0][1]
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fakellm", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake LLM server did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sentences(passage: str) -> list[str]:
    return [s.strip() for s in re.findall(r"[^。！？.!?]+[。！？.!?]?", passage) if len(s.strip()) > 6]


def generation_handler(body: dict[str, Any]) -> str:
    """A fake model: questions about the passage answered with its own sentences (grounded); trigger words
    in a passage make it misbehave: MALFORMED (prose, never JSON), FLAKY (prose on the first attempt
    only), UNGROUNDED (answers from outside knowledge), LOWSCORE (low curation/judge scores)."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    retry = "(attempt " in user
    if "grade training examples" in system or "打分" in system:
        return json.dumps({"score": 2 if "LOWSCORE" in user else 5, "reason": "ok"})
    passage = user.split("\n\n(attempt ")[0]
    if "MALFORMED" in passage or ("FLAKY" in passage and not retry):
        return "Sure! Here are some questions about the passage:\n1. What is it?"
    if "back-translation" in system or "回译" in system:
        return json.dumps({"instruction": "Explain: " + passage[:30], "score": 2 if "LOWSCORE" in passage else 5})
    sentences = _sentences(passage)[:3] or [passage]
    if "UNGROUNDED" in passage:
        answers = ["Paris is the capital of France and hosts many famous museums."] * len(sentences)
    else:
        answers = sentences
    pairs = [{"question": f"Q{i}: what does this say about {s[:12]}?", "answer": a}
             for i, (s, a) in enumerate(zip(sentences, answers, strict=True))]
    if "tasks" in system:
        reply = {"tasks": [{"instruction": p["question"], "input": "", "output": p["answer"], "seed": "s"}
                           for p in pairs]}
    else:
        reply = {"pairs": pairs}
    text = json.dumps(reply, ensure_ascii=False)
    return f"```json\n{text}\n```" if "FENCED" in passage else text


def completion(body: dict[str, Any], content: str, number: int) -> dict[str, Any]:
    """A ``chat.completion`` object as OpenAI returns it, with deterministic token counts
    (about four characters a token)."""
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
    return {
        "id": f"chatcmpl-fake-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_chars // 4 + 1,
            "completion_tokens": len(content) // 4 + 1,
            "total_tokens": prompt_chars // 4 + len(content) // 4 + 2,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a fake OpenAI-compatible chat API.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--handler", choices=("translate", "echo"), default="translate")
    args = parser.parse_args()
    handler = translator_handler if args.handler == "translate" else echo_handler
    server = FakeLLMServer(handler=handler, latency=args.latency, port=args.port).start()
    print(f"PORT {server.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
