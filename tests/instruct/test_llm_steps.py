"""The LLM steps through their options: generate-then-select against the local fake server, selection
skipped while generation is deferred to a batch file, the key only where a request is sent, and
translate refusing an empty input before any request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus.shards import ShardWriter
from instruct.llm_errors import LLMSetupError
from instruct.llm_steps import (
    BATCH_KEY,
    EmptyInputError,
    GenerateOptions,
    LLMOptions,
    TranslateOptions,
    generate,
    generate_lines,
    translate,
    translate_lines,
    unfinished_message,
)
from tests.fakellm import FakeLLMServer, translator_handler
from tests.fakellm import generation_handler as handler

ROOT = Path(__file__).resolve().parents[2]
KEY_ENV = "KF_LLM_STEPS_KEY"
DOCS = [
    {"id": "en:1", "source": "test", "meta": {}, "text": "The Yangtze is the longest river in Asia. It flows for "
     "about 6,300 km from the Tibetan Plateau to the East China Sea. The Three Gorges Dam spans the river."},
    {"id": "en:2", "source": "test", "meta": {}, "text": "Mount Everest is the highest mountain above sea level. "
     "It stands on the border between Nepal and China. Climbers first reached its summit in 1953."},
]


@pytest.fixture
def shards(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    with ShardWriter(folder / "part-00000.jsonl.zst") as writer:
        for doc in DOCS:
            writer.write(doc)
    return folder


def _options(tmp_path: Path, shards: Path, server: FakeLLMServer, **extra) -> GenerateOptions:
    return GenerateOptions(model="fake-model", base_url=server.base_url, api_key_env=KEY_ENV, inputs=(shards,),
                           output=tmp_path / "qa.jsonl", select=tmp_path / "selected", quiet=True,
                           passage_tokens=200, max_attempts=2, **extra)


def test_generate_then_select(tmp_path, shards, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    with FakeLLMServer(handler=handler) as server:
        options = _options(tmp_path, shards, server)
        result = generate(options)
    written = [json.loads(line) for line in options.output.read_text(encoding="utf-8").splitlines()]
    assert result.report.written == len(written) > 0 and not result.report.unfinished()
    assert result.selected is not None
    assert result.selected["kept"] + result.selected["rejected"] == len(written)
    assert (options.select / "qa.jsonl").exists()
    lines = generate_lines(options, result)
    assert "examples written" in lines[0] and lines[-1].startswith("selected: ")
    assert unfinished_message(result.report) is None


def test_generation_deferred_to_a_batch_file_is_not_selected(tmp_path, shards, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)  # batch mode sends nothing, so it needs no key
    with FakeLLMServer(handler=handler) as server:
        options = _options(tmp_path, shards, server, batch=tmp_path / "batch.jsonl")
        assert options.api_key() == BATCH_KEY
        result = generate(options)
        assert server.request_count == 0
    assert result.report.deferred and result.selected is None and not options.select.exists()
    assert "batch-ingest" in generate_lines(options, result)[-1]


def test_a_missing_key_stops_before_any_request(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(LLMSetupError, match=KEY_ENV):
        LLMOptions(model="m", api_key_env=KEY_ENV).api_key()


def test_llm_config_carries_every_endpoint_option():
    config = LLMOptions(model="m", base_url="http://x/v1", concurrency=3, rpm=60, tpm=1000, timeout=5.0,
                        max_attempts=2, temperature=0.7, max_tokens=99).llm_config()
    assert (config.model, config.base_url, config.concurrency, config.rpm, config.tpm, config.timeout,
            config.max_attempts, config.temperature, config.max_tokens) == ("m", "http://x/v1", 3, 60, 1000, 5.0,
                                                                           2, 0.7, 99)


def test_translate_through_its_options(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    source = ROOT / "tests" / "fixtures" / "translate" / "alpaca_en.jsonl"
    with FakeLLMServer(handler=translator_handler) as server:
        options = TranslateOptions(model="fake-model", base_url=server.base_url, api_key_env=KEY_ENV,
                                   input=source, output=tmp_path / "zh.jsonl", quiet=True, fields=" instruction, ")
        assert options.config().fields == ("instruction",)
        report = translate(TranslateOptions(**{**options.__dict__, "fields": ""}))
    assert report.written == len(source.read_text(encoding="utf-8").splitlines()) and not report.unfinished()
    assert "written" in translate_lines(options, report)[0]


@pytest.mark.parametrize("content", [b"", b"  []\n"])
def test_translate_refuses_an_empty_input(tmp_path, content):
    empty = tmp_path / "empty.json"
    empty.write_bytes(content)
    with pytest.raises(EmptyInputError, match="holds no records"):
        translate(TranslateOptions(model="m", input=empty, output=tmp_path / "out.json"))


def test_failed_generation_is_not_selected_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-test")
    folder = tmp_path / "bad"
    folder.mkdir()
    with ShardWriter(folder / "part-00000.jsonl.zst") as writer:
        writer.write({**DOCS[0], "text": DOCS[0]["text"] + " MALFORMED"})  # the fake model never answers JSON
    with FakeLLMServer(handler=handler) as server:
        options = _options(tmp_path, folder, server)
        result = generate(options)
    assert result.report.unfinished() and result.selected is None and not options.select.exists()
    assert unfinished_message(result.report).startswith("error: 1 failed; ")
