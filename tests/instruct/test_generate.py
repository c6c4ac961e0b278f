"""Instruction generation end to end against a real local OpenAI-compatible server (tests/fakellm.py):
self-QA on sample passages yields grounded pairs with their source offsets; malformed JSON and ungrounded
answers become failures with reasons, never crashes; faults are retried; a rerun sends zero requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpus.shards import ShardWriter
from instruct.chunking import chunk_text, passages
from instruct.generate import (
    REASON_BACKTRANSLATE_LOW,
    REASON_DUPLICATE,
    REASON_JUDGE_LOW,
    REASON_MALFORMED,
    REASON_UNGROUNDED,
    GenerateConfig,
    ReplyError,
    generate_file,
    grounding,
    parse_examples,
    parse_json_reply,
)
from instruct.llm import LLMConfig
from tests.fakellm import FAULT_DROP, FAULT_MALFORMED, FAULT_STATUS, FakeLLMServer, Fault
from tests.fakellm import generation_handler as handler

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-generate-test"


def _sample_docs() -> list[dict[str, Any]]:
    records = json.loads((ROOT / "data_samples/wudao/jinrong_data.json").read_text(encoding="utf-8"))["RECORDS"]
    zh = [{"id": f"jinrong:{r['id']}", "text": r["content"], "source": "wudao", "meta": {"lang": "zh"}}
          for r in records[:4]]
    en = {"id": "en:1", "text": "The Yangtze is the longest river in Asia. It flows for about 6,300 km from the "
          "Tibetan Plateau to the East China Sea. The Three Gorges Dam spans the river near Yichang. FENCED",
          "source": "test", "meta": {}}
    return [*zh, en]


def _shard(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with ShardWriter(path) as writer:
        for doc in docs:
            writer.write(doc)
    return path


def _run(server: FakeLLMServer, inputs: list[Path], out: Path, **options: Any):
    config = GenerateConfig(**{"max_tokens": 200, "min_passage_chars": 20, **options})
    llm = LLMConfig(model="fake-model", base_url=server.base_url, max_attempts=4, backoff_base=0.01, timeout=5)
    return generate_file(inputs, out, config=config, llm=llm, api_key=KEY, progress=False)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_self_qa_on_sample_passages_is_grounded_and_rerun_is_free(tmp_path):
    docs = _sample_docs()
    shard = _shard(tmp_path / "in" / "part-00000.jsonl.zst", docs)
    texts = {d["id"]: d["text"] for d in docs}
    out = tmp_path / "qa.jsonl"
    with FakeLLMServer(handler=handler) as server:
        report = _run(server, [tmp_path / "in"], out)
        sent = server.request_count
        examples = _lines(out)
        assert report.passages >= len(docs) and sent == report.passages == report.accounting.requests
        assert report.written == len(examples) >= 2 * len(docs) and report.failed == 0
        for example in examples:
            meta = example["meta"]
            start, end = meta["passage"]
            passage = texts[meta["doc_id"]][start:end]
            assert example["output"] in passage  # the fake model answers with passage sentences
            assert meta["scores"]["grounding"] >= 0.5 and meta["method"] == "self-qa"
        assert {e["meta"]["lang"] for e in examples} == {"zh", "en"}
        assert report.accounting.prompt_tokens > 0 and report.accounting.completion_tokens > 0
        before = out.read_bytes()
        again = _run(server, [shard], out)  # the same shard given as a file
        assert server.request_count == sent  # zero new requests: everything came from the cache
        assert again.accounting.cache_hits == report.passages and out.read_bytes() == before


def test_malformed_and_ungrounded_become_failures_with_reasons(tmp_path):
    docs = [
        {"id": "bad", "text": "MALFORMED. 这一段文字会让模型只回答散文而不是 JSON 对象。它不会成功。", "source": "t", "meta": {}},
        {"id": "flaky", "text": "FLAKY first. The model answers prose once and then valid JSON on the retry.",
         "source": "t", "meta": {}},
        {"id": "off", "text": "UNGROUNDED here. Tea was first drunk in southwest China as a medicine.",
         "source": "t", "meta": {}},
        {"id": "dup", "text": "Tea was first drunk in southwest China as a medicine. Tea is green.", "source": "t",
         "meta": {}},
        {"id": "dup2", "text": "Tea was first drunk in southwest China as a medicine. Tea is green.", "source": "t",
         "meta": {}},
    ]
    _shard(tmp_path / "in" / "part-00000.jsonl", docs)
    out = tmp_path / "gen.jsonl"
    with FakeLLMServer(handler=handler) as server:
        report = _run(server, [tmp_path / "in"], out, parse_attempts=3)
        sent = server.request_count
        failures = _lines(tmp_path / "gen.failures.jsonl")
        by_reason = {f["reason"] for f in failures}
        assert by_reason == {REASON_MALFORMED, REASON_UNGROUNDED, REASON_DUPLICATE}
        bad = next(f for f in failures if f["reason"] == REASON_MALFORMED)
        assert bad["doc_id"] == "bad" and "3 attempts" in bad["detail"] and "not JSON" in bad["detail"]
        off = [f for f in failures if f["reason"] == REASON_UNGROUNDED]
        assert off and all(f["doc_id"] == "off" and f["example"]["meta"]["scores"]["grounding"] < 0.5 for f in off)
        written = _lines(out)
        assert {e["meta"]["doc_id"] for e in written} == {"flaky", "dup"}  # flaky recovered on attempt 2
        # bad: 3 attempts; flaky: 2; off: 1; dup and dup2 send the same request, paid once.
        assert sent == 3 + 2 + 1 + 1 and report.accounting.cache_hits == 1
        assert report.failure_reasons[REASON_MALFORMED] == 1
        assert report.unfinished() == 1  # the CLI exits 1 for it; ungrounded and duplicate drops are done work
        _run(server, [tmp_path / "in"], out, parse_attempts=3)
        assert server.request_count == sent  # retried attempts are cached too


def test_server_faults_are_retried_and_change_nothing(tmp_path):
    _shard(tmp_path / "in" / "part-00000.jsonl.zst", _sample_docs())
    with FakeLLMServer(handler=handler) as server:
        clean = _run(server, [tmp_path / "in"], tmp_path / "clean.jsonl")
    seen: set[str] = set()

    def first_time_fault(body: dict[str, Any], number: int) -> Fault | None:
        key = json.dumps(body["messages"], sort_keys=True)
        if key in seen:
            return None
        seen.add(key)
        return (Fault(kind=FAULT_STATUS, status=429, retry_after=0.01), Fault(kind=FAULT_STATUS, status=503),
                Fault(kind=FAULT_DROP), Fault(kind=FAULT_MALFORMED))[number % 4]

    with FakeLLMServer(handler=handler, fault_rule=first_time_fault) as server:
        faulty = _run(server, [tmp_path / "in"], tmp_path / "faulty.jsonl")
        assert faulty.accounting.retries == clean.passages and sum(server.faults_served.values()) == clean.passages
    assert (tmp_path / "faulty.jsonl").read_bytes() == (tmp_path / "clean.jsonl").read_bytes()


def test_backtranslate_and_judge_keep_only_high_scores(tmp_path):
    docs = [
        {"id": "good", "text": "Green tea is made from leaves that are not oxidised. It tastes fresh.", "source": "t",
         "meta": {}},
        {"id": "weak", "text": "LOWSCORE text. Some words that answer nothing in particular at all.", "source": "t",
         "meta": {}},
    ]
    _shard(tmp_path / "in" / "part-00000.jsonl", docs)
    with FakeLLMServer(handler=handler) as server:
        report = _run(server, [tmp_path / "in"], tmp_path / "bt.jsonl", method="backtranslate")
        kept = _lines(tmp_path / "bt.jsonl")
        assert [e["meta"]["doc_id"] for e in kept] == ["good"] and kept[0]["output"] == docs[0]["text"]
        assert kept[0]["meta"]["scores"]["curation"] == 5
        assert report.failure_reasons == {REASON_BACKTRANSLATE_LOW: 1}
        judged = _run(server, [tmp_path / "in"], tmp_path / "qa.jsonl", judge_threshold=4)
        assert judged.failure_reasons[REASON_JUDGE_LOW] >= 1
        assert all(e["meta"]["scores"]["judge"] == 5 for e in _lines(tmp_path / "qa.jsonl"))


def test_cli_generate_against_the_server(tmp_path, monkeypatch):
    from cli import main

    _shard(tmp_path / "in" / "part-00000.jsonl.zst", _sample_docs()[:2])
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeLLMServer(handler=handler) as server:
        result = CliRunner().invoke(main, [
            "instruct", "generate", "--method", "self-instruct", "-i", str(tmp_path / "in"),
            "-o", str(tmp_path / "si.jsonl"), "--model", "fake-model", "--base-url", server.base_url, "--quiet",
            "--select", str(tmp_path / "selected"),
        ])
    assert result.exit_code == 0, result.output
    assert "examples written" in result.output and "requests sent" in result.output
    written = _lines(tmp_path / "si.jsonl")
    assert all(e["meta"]["method"] == "self-instruct" for e in written)
    # The SFT selectors ran on the output: every example is kept or rejected with a reason.
    stats = json.loads((tmp_path / "selected" / "_stats.json").read_text())
    assert stats["kept"] + stats["rejected"] == len(written) and "selected:" in result.output
    assert (tmp_path / "selected" / "si.jsonl").exists()


@pytest.mark.parametrize("answer, passage, low, high", [
    ("长江是亚洲最长的河流。", "长江是亚洲最长的河流，全长约6300公里。", 1.0, 1.0),
    ("巴黎是法国的首都。", "长江是亚洲最长的河流，全长约6300公里。", 0.0, 0.1),
    ("The Yangtze is the longest river in Asia.", "The Yangtze is the longest river in Asia. It is long.", 1.0, 1.0),
    ("Paris is the capital of France.", "The Yangtze is the longest river in Asia.", 0.0, 0.1),
    ("", "anything", 0.0, 0.0),
])
def test_grounding(answer, passage, low, high):
    assert low <= grounding(answer, passage) <= high


@pytest.mark.parametrize("reply", ['Here you go: {"pairs": []}', '{"pairs": [', "```\n{}\n``` and more", ""])
def test_strict_json_rejects(reply):
    with pytest.raises(ReplyError):
        parse_examples("self-qa", parse_json_reply(reply))


def test_reply_shapes():
    assert parse_json_reply('```json\n{"a": 1}\n```') == {"a": 1}
    with pytest.raises(ReplyError, match="question"):
        parse_examples("self-qa", {"pairs": [{"answer": "x"}]})
    with pytest.raises(ReplyError, match="score"):
        parse_examples("backtranslate", {"instruction": "x", "score": 9})


def test_chunks_are_whole_sentences_with_offsets():
    text = "第一句话。第二句话比较长一些。第三句！\n\nFirst one here. Second one is here? Third."
    spans = list(chunk_text(text, max_tokens=12, min_chars=1))
    assert len(spans) > 2
    for start, end in spans:
        assert text[start:end] == text[start:end].strip() and text[end - 1] in "。！.?"
    assert [p.text for p in passages("d", text, max_tokens=10_000, min_chars=1)] == [text]
    long = "字" * 50
    assert [b - a for a, b in chunk_text(long, max_tokens=20, min_chars=1)] == [20, 20, 10]



def test_selector_dedups_with_the_sft_selectors_key():
    """Case, runs of white space and full-width forms (NFKC) do not make an example new; the length
    bounds count characters."""
    from instruct.generate import REASON_TOO_SHORT, Selector

    selector = Selector(GenerateConfig())
    first = {"instruction": "What is the Yangtze?", "input": "", "output": "The longest river in Asia."}
    variant = {"instruction": "ＷＨＡＴ  is the yangtze?", "input": "", "output": "The longest river in  Asia."}
    other = {**first, "output": "A river in China."}
    assert selector.check(first) is None
    assert selector.check(variant)[0] == REASON_DUPLICATE  # type: ignore[index]
    assert selector.check(other) is None
    assert selector.check({**first, "instruction": "Why"})[0] == REASON_TOO_SHORT  # type: ignore[index]
