"""Translation end to end against a real local OpenAI-compatible server (tests/fakellm.py): every record
is written once in order or failed with its reason, code survives byte for byte, a run killed with
SIGKILL resumes without re-requesting finished work, and batch files round-trip through the cache."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from instruct.jobs import default_failures_path
from instruct.llm import REASON_BAD_REQUEST, LLMConfig
from instruct.llm_cache import ResponseCache, cache_key
from instruct.protect import REASON_PLACEHOLDER_MISSING, protect
from instruct.translate import REASON_INPUT_MALFORMED, TranslateConfig, translate_file
from instruct.translate_checks import (
    REASON_LENGTH_RATIO,
    REASON_PREAMBLE,
    REASON_STRUCTURE,
    REASON_WRONG_LANGUAGE,
    Checks,
    check_translation,
)
from tests.fakellm import (
    FAULT_DROP,
    FAULT_MALFORMED,
    FAULT_SLOW,
    FAULT_STATUS,
    FakeLLMServer,
    Fault,
    completion,
)
from tests.fakellm import fake_translate as fake_translate_text

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "translate"
KEY = "sk-translate-test-SECRET"
FENCE_RE = re.compile(r"```.*?```", re.S)


def handler(body: dict[str, Any]) -> str:
    """Translate like fakellm's translator; answer in Chinese when the system prompt is not a translator's.
    Trigger words in a text make the model misbehave in one named way each."""
    system, *rest = body["messages"]
    text = rest[-1]["content"]
    if "translator" not in system["content"]:
        return f"这是第{len(rest)}条消息的回答，内容完整而且准确。"
    if "PREAMBLE" in text:
        return "以下是翻译：\n" + fake_translate_text(text)
    if "DROPMARK" in text:
        return re.sub(r"⟦\d+⟧", "", fake_translate_text(text))
    if "ENGLISHONLY" in text:
        return text
    return fake_translate_text(text)


def make_flaky() -> Callable[[dict[str, Any], int], Fault | None]:
    """A fault rule: the first time each request arrives it gets a fault chosen by a checksum of its body
    (or none), the second time it succeeds; records containing POISON always get a 400. Keyed by body,
    not arrival order, so the outcome does not depend on how concurrent requests interleave."""
    faults = (
        None,
        Fault(kind=FAULT_STATUS, status=429, retry_after=0.01),
        Fault(kind=FAULT_STATUS, status=502),
        Fault(kind=FAULT_DROP),
        Fault(kind=FAULT_MALFORMED),
        Fault(kind=FAULT_SLOW, delay=1.0),
    )
    seen: set[str] = set()

    def rule(body: dict[str, Any], number: int) -> Fault | None:
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
        if "POISON" in text:
            return Fault(kind=FAULT_STATUS, status=400)
        if text in seen:
            return None
        seen.add(text)
        return faults[zlib.crc32(text.encode()) % len(faults)]

    return rule


@pytest.fixture
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer(handler=handler) as srv:
        yield srv


def llm(server: FakeLLMServer, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {"model": "fake-model", "base_url": server.base_url, "timeout": 0.5,
                              "backoff_base": 0.01, "backoff_max": 0.05, "max_attempts": 8}
    values.update(overrides)
    return LLMConfig(**values)


def run(server: FakeLLMServer, input_path: Path, out: Path, **config: Any):
    report = translate_file(input_path, out, config=TranslateConfig(**config), llm=llm(server), api_key=KEY,
                            progress=False)
    return report, read_output(out), read_jsonl(default_failures_path(out))


def read_output(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else read_jsonl(path)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def alpaca_records(n: int, *, bad: dict[int, str] | None = None) -> list[dict[str, str]]:
    """Distinct real-looking records; ``Task N`` keeps the index readable after translation."""
    bad = bad or {}
    records = []
    for i in range(n):
        extra = f" {bad[i]}" if i in bad else ""
        # Numbers are masked before the call, so a word makes each record's request distinct.
        word = "".join("abcdefghij"[int(d)] for d in str(i))
        records.append({
            "instruction": f"Task {i}: write a Python function that returns the sorted list of {word}{extra}.",
            "input": "" if i % 3 else f"numbers = [{i}, 3, 1]",
            "output": f"Use `sorted(numbers)` for task {i}:\n\n```python\ndef sort_{i}(xs):\n    return sorted(xs)\n```",
        })
    return records


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def task_index(record: dict[str, Any]) -> int:
    return int(re.search(r"\d+", record["instruction"]).group(0))  # type: ignore[union-attr]


# --- acceptance: faults -----------------------------------------------------------------------------


def test_every_record_ends_translated_or_failed_once_in_order(server: FakeLLMServer, tmp_path: Path) -> None:
    bad = {4: "PREAMBLE", 9: "DROPMARK", 14: "ENGLISHONLY", 21: "POISON"}
    records = alpaca_records(30, bad=bad)
    source = write_jsonl(tmp_path / "in.jsonl", records)
    server.fault_rule = make_flaky()
    report, output, failures = run(server, source, tmp_path / "out.jsonl")

    written = [task_index(r) for r in output]
    failed = {f["index"]: f["reason"] for f in failures}
    assert written == sorted(written)  # input order
    assert sorted(written + list(failed)) == list(range(30))  # each record exactly once
    assert failed == {
        4: REASON_PREAMBLE, 9: REASON_PLACEHOLDER_MISSING, 14: REASON_WRONG_LANGUAGE, 21: REASON_BAD_REQUEST,
    }
    assert all(f["record"] == records[f["index"]] and f["field"] == "instruction" for f in failures)
    assert report.records == 30 and report.written == 26 and report.failed == 4
    acct = report.accounting
    kinds = {"http_429", "http_502", "connection", "malformed_response", "timeout"}
    assert set(acct.retry_kinds) == kinds
    assert acct.retries == sum(server.faults_served.values()) - server.faults_served["400"]  # 400: no retry
    assert sum(server.faults_served.values()) > 0


# --- acceptance: placeholders byte for byte -----------------------------------------------------------


@pytest.mark.parametrize("name", ["alpaca_en.json", "alpaca_en.jsonl"])
def test_code_and_placeholders_survive_byte_for_byte(server: FakeLLMServer, tmp_path: Path, name: str) -> None:
    source = json.loads((FIXTURES / "alpaca_en.json").read_text(encoding="utf-8"))
    report, output, failures = run(server, FIXTURES / name, tmp_path / ("out" + Path(name).suffix))
    assert failures == [] and len(output) == len(source)
    for before, after in zip(source, output, strict=True):
        for field in ("instruction", "input", "output"):
            assert FENCE_RE.findall(after[field]) == FENCE_RE.findall(before[field])
            for span in protect(before[field]).spans:
                assert span in after[field]
            if any(ch.isalpha() for ch in re.sub(r"⟦\d+⟧", "", protect(before[field]).text)):
                assert after[field] != before[field]  # it was translated, not passed through
    assert output[3]["input"].count("{name}") == 1 and "{{site_name}}" in output[3]["input"]


def test_sharegpt_turns_are_translated_in_place(server: FakeLLMServer, tmp_path: Path) -> None:
    source = json.loads((FIXTURES / "sharegpt_en.json").read_text(encoding="utf-8"))
    _, output, failures = run(server, FIXTURES / "sharegpt_en.json", tmp_path / "out.json")
    assert failures == [] and [r["id"] for r in output] == ["conv_1", "conv_2"]
    assert output[1]["system"] != source[1]["system"]
    for before, after in zip(source, output, strict=True):
        assert [t["from"] for t in after["conversations"]] == [t["from"] for t in before["conversations"]]
        assert "`items.reverse()`" in json.dumps(after, ensure_ascii=False) or before["id"] != "conv_1"


def test_zh_to_en(server: FakeLLMServer, tmp_path: Path) -> None:
    _, output, failures = run(server, FIXTURES / "alpaca_zh.json", tmp_path / "out.json",
                              source_lang="zh", target_lang="en")
    assert failures == [] and len(output) == 2
    assert not re.search(r"[\u4e00-\u9fff]", output[0]["output"])
    assert "```python\ndef largest(xs):\n    return max(xs)\n```" in output[1]["output"]


def test_generic_jsonl_with_a_broken_line(server: FakeLLMServer, tmp_path: Path) -> None:
    _, output, failures = run(server, FIXTURES / "generic.jsonl", tmp_path / "out.jsonl",
                              fields=("question",), answer_field="answer")
    assert [r["qid"] for r in output] == [7, 8] and output[0]["tag"] == "geo"
    assert "`sorted(numbers)`" in output[1]["answer"]
    assert [(f["index"], f["reason"]) for f in failures] == [(1, REASON_INPUT_MALFORMED)]


def test_answer_strategy_translates_questions_and_answers_in_context(server: FakeLLMServer, tmp_path: Path) -> None:
    _, output, failures = run(server, FIXTURES / "sharegpt_en.json", tmp_path / "out.json", strategy="answer")
    assert failures == []
    turns = output[0]["conversations"]
    assert turns[1]["value"] == "这是第1条消息的回答，内容完整而且准确。"
    assert turns[3]["value"] == "这是第3条消息的回答，内容完整而且准确。"  # saw question, answer, question
    answer_bodies = [b for b in server.bodies if "translator" not in b["messages"][0]["content"]]
    # Requests run concurrently, so find the one that asked the second question (not the last one sent):
    # it must carry the first answer as context.
    assert any(len(b["messages"]) > 2 and b["messages"][2]["content"] == turns[1]["value"] for b in answer_bodies)


# --- acceptance: kill -9 and resume ---------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from instruct.llm import LLMConfig
    from instruct.translate import TranslateConfig, translate_file
    translate_file(Path(sys.argv[1]), Path(sys.argv[2]), config=TranslateConfig(),
                   llm=LLMConfig(model="fake-model", base_url=sys.argv[3], concurrency=2),
                   api_key="unused", progress=False)
""")


@pytest.mark.slow
def test_killed_run_resumes_without_repeating_done_requests(server: FakeLLMServer, tmp_path: Path) -> None:
    records = alpaca_records(60)
    source = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    server.latency = 0.03
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(source), str(out), server.base_url], env=env)
    deadline = time.monotonic() + 60
    while server.answered < 30 and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert not out.exists()  # nothing half-written under the final name

    cache_path = out.with_name("out.llm-cache.sqlite")
    cache = ResponseCache(cache_path)
    done = cache.keys()
    cache.close()
    assert done  # some finished work reached the cache before the kill
    before = server.request_count

    report = translate_file(source, out, config=TranslateConfig(), llm=llm(server, concurrency=2),
                            api_key=KEY, progress=False)
    again = server.bodies[before:]
    assert all(set(b) - {"model", "messages"} == {"temperature"} for b in again)  # the params we hash
    again_keys = [cache_key(b["model"], b["messages"], {"temperature": b["temperature"]}) for b in again]
    assert not set(again_keys) & done  # no request for anything already finished
    assert len(again_keys) == len(set(again_keys))  # and nothing asked twice
    cache = ResponseCache(cache_path)
    assert cache.keys() == done | set(again_keys) and len(done) < len(cache)  # killed mid-way
    cache.close()
    output = read_output(out)
    assert [task_index(r) for r in output] == list(range(60)) and report.failed == 0
    assert report.accounting.requests == len(again)


def test_rerun_of_a_finished_run_sends_nothing(server: FakeLLMServer, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", alpaca_records(5))
    first = run(server, source, tmp_path / "out.jsonl")
    count = server.request_count
    second = run(server, source, tmp_path / "out.jsonl")
    assert server.request_count == count and first[1] == second[1]
    calls = first[0].accounting.requests + first[0].accounting.cache_hits
    assert second[0].accounting.requests == 0 and second[0].accounting.cache_hits == calls


# --- batch mode ---------------------------------------------------------------------------------------


def answer_batch(batch_path: Path, out_path: Path) -> None:
    """Play the Batch API: answer every request line with the test handler."""
    with open(out_path, "w", encoding="utf-8") as out:
        for number, line in enumerate(batch_path.read_text(encoding="utf-8").splitlines(), 1):
            request = json.loads(line)
            body = completion(request["body"], handler(request["body"]), number)
            out.write(json.dumps({"id": f"batch_req_{number}", "custom_id": request["custom_id"],
                                  "response": {"status_code": 200, "request_id": "r", "body": body},
                                  "error": None}, ensure_ascii=False) + "\n")


def test_batch_rounds_fill_the_cache_then_write_the_output(server: FakeLLMServer, tmp_path: Path) -> None:
    from instruct.llm_cache import ingest_batch_output

    out, batch, cache_path = tmp_path / "out.json", tmp_path / "batch.jsonl", tmp_path / "cache.sqlite"
    config = TranslateConfig(strategy="answer")

    def round_trip() -> Any:
        return translate_file(FIXTURES / "alpaca_en.json", out, config=config, llm=llm(server), api_key=KEY,
                              cache_path=cache_path, batch_path=batch, progress=False)

    rounds = 0
    while (report := round_trip()).deferred:
        rounds += 1
        assert not out.exists() and batch.exists()
        answer_batch(batch, tmp_path / "batch_out.jsonl")
        cache = ResponseCache(cache_path)
        assert ingest_batch_output(tmp_path / "batch_out.jsonl", cache).stored == report.accounting.deferred
        cache.close()
    assert rounds == 2  # questions first, then the answers that need them
    assert server.request_count == 0 and not batch.exists()
    output = read_output(out)
    assert len(output) == 10 and all(r["output"].startswith("这是第1条消息的回答") for r in output)


# --- validation by reason -------------------------------------------------------------------------------

ZH_CHECKS = Checks.for_direction("en", "zh")


@pytest.mark.parametrize(
    ("source", "output", "reason"),
    [
        ("Give three tips for staying healthy every day.", "Here is the translation: 每天保持健康的三个建议。", REASON_PREAMBLE),
        ("Give three tips for staying healthy every day.", "以下是翻译：每天保持健康的三个建议。", REASON_PREAMBLE),
        ("Give three tips for staying healthy every day.", "Give three tips for staying healthy.", REASON_WRONG_LANGUAGE),
        ("Give three tips for staying healthy every day.", "建议", REASON_LENGTH_RATIO),
        ("Step one.\n\nStep two, then step three.", "第一步，第二步，然后第三步。", REASON_STRUCTURE),
        ("- apples and pears\n- bread and butter", "- 苹果和梨子、面包和黄油", REASON_STRUCTURE),
    ],
)
def test_each_validation_reason(source: str, output: str, reason: str) -> None:
    assert check_translation(source, output, target_lang="zh", checks=ZH_CHECKS)[0] == reason  # type: ignore[index]


def test_a_good_translation_passes() -> None:
    source = "Give three tips for staying healthy every day.\n\n- eat well\n- use ⟦0⟧"
    output = "请给出每天保持健康的三个建议。\n\n- 吃好\n- 使用 ⟦0⟧"
    assert check_translation(source, output, target_lang="zh", checks=ZH_CHECKS) is None


# --- the command line -----------------------------------------------------------------------------------


def test_cli_missing_key_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from cli import main

    monkeypatch.delenv("KF_NO_SUCH_KEY", raising=False)
    result = CliRunner().invoke(main, ["instruct", "translate", "-i", str(FIXTURES / "alpaca_en.json"),
                                       "-o", str(tmp_path / "o.json"), "--model", "gpt-4o",
                                       "--api-key-env", "KF_NO_SUCH_KEY"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "KF_NO_SUCH_KEY" in result.output
    assert "Traceback" not in result.output


def test_cli_translates_and_never_prints_the_key(server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    from cli import main

    monkeypatch.setenv("KF_TEST_KEY", KEY)
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(main, ["instruct", "translate", "-i", str(FIXTURES / "alpaca_en.jsonl"), "-o", str(out),
                                       "--model", "fake-model", "--base-url", server.base_url,
                                       "--api-key-env", "KF_TEST_KEY", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "written            10" in result.output and "estimated cost     $" in result.output
    assert KEY not in result.output
    for path in tmp_path.iterdir():
        assert KEY.encode() not in path.read_bytes()


# --- failing fast: an endpoint that cannot work stops the run in seconds ------------------------------


def _closed_port() -> int:
    """A port nothing listens on: bound then released, so the kernel refuses connections to it."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _translate_cli(tmp_path: Path, base_url: str):
    from tests.console import knowforge

    started = time.monotonic()
    result = knowforge("instruct", "translate", "-i", str(FIXTURES / "alpaca_en.jsonl"),
                       "-o", str(tmp_path / "o.jsonl"), "--model", "fake-model", "--base-url", base_url,
                       "--api-key-env", "KF_TEST_KEY", "--quiet", env={"KF_TEST_KEY": KEY}, timeout=60)
    return result, time.monotonic() - started


def test_cli_closed_port_stops_fast_and_says_why(tmp_path: Path) -> None:
    port = _closed_port()
    result, seconds = _translate_cli(tmp_path, f"http://127.0.0.1:{port}/v1")
    assert result.returncode == 1 and seconds < 10, (seconds, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "fake-model" in lines[0] and "refused" in lines[0]
    assert "is the server running" in lines[0]
    assert not (tmp_path / "o.jsonl").exists()  # nothing pretends to be a result


def test_cli_server_answering_501_stops_after_one_request(tmp_path: Path) -> None:
    with FakeLLMServer(fault_rule=lambda body, n: Fault(kind=FAULT_STATUS, status=501)) as srv:
        result, seconds = _translate_cli(tmp_path, srv.base_url)
        requests = srv.request_count
    assert result.returncode == 1 and seconds < 10, (seconds, result.stderr)
    assert requests < 10  # the first request goes alone; its 501 stops the run
    assert "HTTP 501" in result.stderr and srv.base_url in result.stderr and "fake-model" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_exits_non_zero_when_a_record_failed(server: FakeLLMServer, tmp_path: Path) -> None:
    """The run goes on past a failed record, writes the rest, and exits 1 naming the failures file."""
    from tests.console import knowforge

    source = write_jsonl(tmp_path / "in.jsonl", alpaca_records(4, bad={2: "ENGLISHONLY"}))
    out = tmp_path / "o.jsonl"
    result = knowforge("instruct", "translate", "-i", str(source), "-o", str(out), "--model", "fake-model",
                       "--base-url", server.base_url, "--api-key-env", "KF_TEST_KEY", "--quiet",
                       env={"KF_TEST_KEY": KEY}, timeout=120)
    assert result.returncode == 1, result.stderr
    assert "1 failed" in result.stderr and str(default_failures_path(out)) in result.stderr
    assert len(read_jsonl(out)) == 3
    assert [f["index"] for f in read_jsonl(default_failures_path(out))] == [2]


def test_a_record_nested_10000_deep_is_rejected_not_fatal(server: FakeLLMServer, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    records = alpaca_records(2)
    deep = '{"instruction": "x", "input": ' + "[" * 10_000 + "]" * 10_000 + ', "output": "y"}'
    source.write_text(json.dumps(records[0]) + "\n" + deep + "\n" + json.dumps(records[1]) + "\n")
    report, output, failures = run(server, source, tmp_path / "o.jsonl")
    assert report.written == 2 and len(output) == 2
    assert [(f["index"], f["reason"]) for f in failures] == [(1, REASON_INPUT_MALFORMED)]
    assert "nested too deeply" in failures[0]["detail"]


def test_cli_empty_input_is_one_line_before_any_request(tmp_path: Path) -> None:
    from tests.console import knowforge

    empty = tmp_path / "empty.json"
    empty.write_text("[]\n")
    result = knowforge("instruct", "translate", "-i", str(empty), "-o", str(tmp_path / "o.json"), "--model", "m",
                       "--base-url", "http://127.0.0.1:9/v1", env={"OPENAI_API_KEY": "x"})
    assert result.returncode == 2 and result.stderr.strip() == f"Error: {empty} holds no records: nothing to translate"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.json"]


def test_a_broken_json_array_is_one_failure_naming_the_file(server: FakeLLMServer, tmp_path: Path) -> None:
    """No item of an array that does not parse can be trusted: the file is one input_malformed failure."""
    source = tmp_path / "in.json"
    source.write_text(json.dumps(alpaca_records(2))[:-20], encoding="utf-8")
    report, output, failures = run(server, source, tmp_path / "o.json")
    assert output == [] and report.records == 1 and server.request_count == 0
    assert [(f["index"], f["reason"], f["record"]) for f in failures] == [(0, REASON_INPUT_MALFORMED, None)]


def test_a_conversation_with_an_instruction_beside_it_is_translated_as_sharegpt(server: FakeLLMServer,
                                                                                 tmp_path: Path) -> None:
    record = {"instruction": "seed prompt kept by the exporter",
              "conversations": [{"from": "human", "value": "Name three rivers in Asia, please."},
                                {"from": "gpt", "value": "The Yangtze, the Mekong and the Ganges."}]}
    source = write_jsonl(tmp_path / "in.jsonl", [record])
    _, output, failures = run(server, source, tmp_path / "o.jsonl")
    assert failures == []
    assert output[0]["instruction"] == record["instruction"]  # not a text slot of a ShareGPT record
    assert all(re.search(r"[\u4e00-\u9fff]", turn["value"]) for turn in output[0]["conversations"])
