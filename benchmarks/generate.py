"""Generation throughput against the local fake OpenAI server (tests/fakellm.py, in-process, fixed latency):
passages/s and passage tokens/s of `instruct generate --method self-qa`, cold (every request sent) and
warm (a rerun answered from the cache). Run: python benchmarks/generate.py --docs 200 --latency 0.05"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus.shards import ShardWriter  # noqa: E402
from instruct.generate import GenerateConfig, generate_file  # noqa: E402
from instruct.llm import LLMConfig  # noqa: E402
from tests.fakellm import FakeLLMServer  # noqa: E402
from tests.fakellm import generation_handler as handler  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per fake request")
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    records = json.loads((ROOT / "data_samples/wudao/jinrong_data.json").read_text(encoding="utf-8"))["RECORDS"]
    with tempfile.TemporaryDirectory() as tmp:
        shard = Path(tmp) / "in" / "part-00000.jsonl.zst"
        shard.parent.mkdir()
        with ShardWriter(shard) as writer:
            for i in range(args.docs):  # distinct texts, so every passage is a new request
                r = records[i % len(records)]
                writer.write({"id": f"d{i}", "text": f"第{i}篇。" + r["content"], "source": "b", "meta": {}})
        config = GenerateConfig(max_tokens=256, min_passage_chars=20)
        with FakeLLMServer(handler=handler, latency=args.latency) as server:
            llm = LLMConfig(model="fake-model", base_url=server.base_url, concurrency=args.concurrency)
            for label in ("cold", "warm (cached)"):
                started = time.perf_counter()
                report = generate_file([shard], Path(tmp) / "out.jsonl", config=config, llm=llm, api_key="x",
                                       progress=False)
                seconds = time.perf_counter() - started
                print(f"{label:14s} {report.passages} passages, {report.written} examples, "
                      f"{report.accounting.requests} requests in {seconds:.2f} s: "
                      f"{report.passages / seconds:.1f} passages/s, {report.passage_tokens / seconds:,.0f} tokens/s")


if __name__ == "__main__":
    main()
