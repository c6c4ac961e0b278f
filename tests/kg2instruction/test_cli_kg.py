"""``knowforge kg2instruction build`` from the command line: both languages, an LLM model step against the
fake server, and a missing API key stopping with one clear line."""

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from tests.fakellm import FakeLLMServer

REPO = Path(__file__).resolve().parents[2]
WIKIDATA = REPO / "data_samples" / "wikidata" / "wikidata-sample.json.bz2"
ZHWIKI = REPO / "data_samples" / "wiki" / "zhwiki-sample.xml.bz2"
ENWIKI_KG = REPO / "data_samples" / "wiki" / "enwiki-kg-sample.xml.bz2"


def _entail_all(body: dict) -> str:
    triples = body["messages"][-1]["content"].split("Triples:\n")[1].splitlines()
    return json.dumps({"scores": [0.9] * len(triples)})


def test_build_both_languages_with_an_nli_model(tmp_path, monkeypatch):
    monkeypatch.setenv("KG_TEST_KEY", "EMPTY")
    args = ["kg2instruction", "build", "--wikidata", str(WIKIDATA), "--wiki", str(ZHWIKI), "--wiki", str(ENWIKI_KG),
            "-o", str(tmp_path), "--lang", "both", "--workers", "1", "--quiet", "--api-key-env", "KG_TEST_KEY"]
    with FakeLLMServer(handler=_entail_all) as server:
        result = CliRunner().invoke(main, [*args, "--nli-model", "fake-nli", "--base-url", server.base_url])
        assert result.exit_code == 0, result.output
        assert server.request_count > 0
    assert "models:" in result.output and "failed {}" in result.output
    names = {p.name for p in (tmp_path / "instructie").iterdir()}
    assert {"train_zh.json", "valid_zh.json", "test_zh.json", "train_en.json", "valid_en.json", "test_en.json"} == names
    line = json.loads((tmp_path / "instructie" / "train_en.json").read_text().splitlines()[0])
    assert set(line) == {"id", "cate", "text", "relation"}


def test_missing_api_key_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.delenv("KG_NO_SUCH_KEY", raising=False)
    result = CliRunner().invoke(main, ["kg2instruction", "build", "--wikidata", str(WIKIDATA), "--wiki", str(ZHWIKI),
                                       "-o", str(tmp_path), "--quiet", "--nli-model", "m",
                                       "--api-key-env", "KG_NO_SUCH_KEY"])
    assert result.exit_code != 0 and "KG_NO_SUCH_KEY" in result.output
