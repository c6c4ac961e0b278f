"""The LLM job layer on its own: a minimal job (one question per item) against a real local server
(tests/fakellm.py), as a KG2Instruction step would use it: outcomes in input order, failures with their
reasons, batch deferral leaving no output, and a rerun served from the cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from instruct import jobs
from instruct.llm import REASON_BAD_REQUEST, DeferredToBatch, LLMClient, LLMConfig
from tests.fakellm import FAULT_STATUS, FakeLLMServer, Fault

REASON_EMPTY_ITEM = "shout_empty_item"


def shout(body: dict[str, Any]) -> str:
    return body["messages"][-1]["content"].upper()


class ShoutJob(jobs.LLMJob):
    """Asks the model to repeat each word in capitals; an empty word fails without a request."""

    window = 3

    def __init__(self, words: list[str], client: LLMClient) -> None:
        self.words = words
        self.client = client
        self.seen: list[int] = []

    def tasks(self) -> Iterator[jobs.Task]:
        for index, word in enumerate(self.words):
            if not word:
                failure = jobs.Failure(reason=REASON_EMPTY_ITEM, detail="no text")
                yield jobs.ready(jobs.Outcome(item=index, failures=[failure]))
            else:
                yield lambda index=index, word=word: self.one(index, word)

    async def one(self, index: int, word: str) -> jobs.Outcome:
        try:
            text = await jobs.ask(self.client, [{"role": "user", "content": word}])
        except DeferredToBatch:
            return jobs.Outcome(item=index, deferred=True)
        except jobs.RequestFailed as err:
            return jobs.Outcome(item=index, failures=[jobs.Failure(reason=err.reason, detail=err.detail)])
        return jobs.Outcome(item=index, records=[{"index": index, "word": text}])

    def advance(self, outcome: jobs.Outcome) -> None:
        self.seen.append(outcome.item)

    def failure_line(self, outcome: jobs.Outcome, failure: jobs.Failure) -> dict[str, Any]:
        return {"index": outcome.item, "reason": failure.reason, "detail": failure.detail}


def run(server: FakeLLMServer, words: list[str], out: Path, *,
        batch: Path | None = None) -> tuple[jobs.JobReport, ShoutJob]:
    llm = LLMConfig(model="fake-model", base_url=server.base_url, max_attempts=2, backoff_base=0.01, timeout=5)
    made: list[ShoutJob] = []

    async def main(client: LLMClient) -> jobs.JobReport:
        made.append(ShoutJob(words, client))
        return await jobs.run_job(made[0], jobs.JobReport(accounting=client.accounting), output=out,
                                  failures_path=jobs.default_failures_path(out))

    report = jobs.run_with_client(main, llm=llm, api_key="k", cache_path=jobs.default_cache_path(out),
                                  batch_path=batch)
    return report, made[0]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_outcomes_in_input_order_failures_named_rerun_free(tmp_path):
    words = [f"word{i}" for i in range(10)] + ["", "poison"]
    out = tmp_path / "shout.jsonl"

    def rule(body: dict[str, Any], number: int) -> Fault | None:
        return Fault(kind=FAULT_STATUS, status=400) if "poison" in json.dumps(body) else None

    with FakeLLMServer(handler=shout, fault_rule=rule) as server:
        report, job = run(server, words, out)
        assert job.seen == list(range(12))  # every item, in input order, whatever finished first
        assert [r["word"] for r in lines(out)] == [w.upper() for w in words[:10]]
        failures = lines(tmp_path / "shout.failures.jsonl")
        assert [(f["index"], f["reason"]) for f in failures] == [(10, REASON_EMPTY_ITEM), (11, REASON_BAD_REQUEST)]
        assert (report.written, report.failed, report.unfinished()) == (10, 2, 2)
        assert report.failure_reasons == {REASON_EMPTY_ITEM: 1, REASON_BAD_REQUEST: 1}
        assert "failed             2" in report.summary([("written", report.written)], "failed", "items")
        sent = server.request_count
        before = out.read_bytes()
        again, _ = run(server, words, out)
        assert server.request_count == sent + 1  # only the refused request is asked again
        assert again.accounting.cache_hits == 10 and out.read_bytes() == before


def test_batch_mode_defers_and_leaves_the_output_unwritten(tmp_path):
    out, batch = tmp_path / "shout.json", tmp_path / "batch.jsonl"
    out.write_text("previous\n")
    with FakeLLMServer(handler=shout) as server:
        report, _ = run(server, ["a", "b", ""], out, batch=batch)
        assert server.request_count == 0
    assert report.deferred == 2 and not report.output_written
    assert out.read_text() == "previous\n" and not (tmp_path / "shout.failures.jsonl").exists()
    assert [json.loads(line)["body"]["messages"][0]["content"] for line in batch.read_text().splitlines()] == ["a", "b"]
    assert sorted(p.name for p in tmp_path.iterdir() if "knowforge-tmp" in p.name) == []
