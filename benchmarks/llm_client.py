"""Throughput of instruct.llm.LLMClient against the local fake OpenAI server with a fixed latency.

Ideal throughput is concurrency / latency (64 / 0.2 s = 320 requests/s). The server runs in its own
process so it does not share our GIL. Client CPU per request is printed too: on a shared machine it
is the load-independent figure (1000 / ms-per-request = the rate one free core sustains). Printed beside ours, in the same run: the bare ``openai`` async
client under an asyncio.Semaphore (no cache, limits or retries), i.e. the ceiling our layer sits on.

    python benchmarks/llm_client.py --requests 3000 --concurrency 64 --latency 0.2
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from instruct.llm import LLMClient, LLMConfig  # noqa: E402
from instruct.llm_cache import ResponseCache  # noqa: E402


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "fakellm.py"), "--latency", str(latency), "--handler", "echo"],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if line[:1] != ["PORT"]:
        proc.kill()
        raise RuntimeError(f"fake server did not start: {line}")
    return proc, f"http://127.0.0.1:{line[1]}/v1"


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"Translate request number {i} into Chinese, please."}]


async def ours(base_url: str, n: int, concurrency: int, cache_dir: Path | None) -> tuple[float, float]:
    config = LLMConfig(model="fake-model", base_url=base_url, concurrency=concurrency, timeout=30)
    cache = ResponseCache(cache_dir / "bench.sqlite") if cache_dir else None
    async with LLMClient(config, api_key="bench", cache=cache) as client:
        await asyncio.gather(*(client.chat(messages(-i - 1)) for i in range(concurrency)))  # warm connections
        start, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.gather(*(client.chat(messages(i)) for i in range(n)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert all(r.ok and not r.cached for r in results), "benchmark requests must all be real round trips"
    return n / elapsed, cpu / n * 1000


async def bare(base_url: str, n: int, concurrency: int) -> tuple[float, float]:
    import openai

    client = openai.AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0, timeout=30)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            await client.chat.completions.create(model="fake-model", messages=messages(i), temperature=0.0)

    await asyncio.gather(*(one(-i - 1) for i in range(concurrency)))
    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    await client.close()
    return n / elapsed, cpu / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    ideal = args.concurrency / args.latency
    proc, base_url = start_server(args.latency)
    try:
        reference = asyncio.run(bare(base_url, args.requests, args.concurrency))
        no_cache = asyncio.run(ours(base_url, args.requests, args.concurrency, None))
        with tempfile.TemporaryDirectory() as tmp:
            cached = asyncio.run(ours(base_url, args.requests, args.concurrency, Path(tmp)))
    finally:
        proc.kill()
        proc.wait()
    print(f"{args.requests} requests, concurrency {args.concurrency}, server latency {args.latency * 1000:.0f} ms")
    print(f"ideal                                  {ideal:7.1f} req/s")
    for name, (rate, cpu_ms) in (
        ("bare openai client + semaphore (ref)", reference),
        ("LLMClient, no cache", no_cache),
        ("LLMClient, SQLite cache (commit each)", cached),
    ):
        print(f"{name:38s} {rate:7.1f} req/s  {rate / ideal:6.1%} of ideal  client CPU {cpu_ms:.2f} ms/req")


if __name__ == "__main__":
    main()
