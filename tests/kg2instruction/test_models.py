"""The LLM model steps (topic, completion, NLI) against the project's fake OpenAI-compatible server
(tests/fakellm.py, a real HTTP server on 127.0.0.1): every paragraph ends up labelled, rejected with a
reason or listed as failed; a rerun asks only for what failed, and then sends nothing."""

import bz2
import json
import re
from pathlib import Path

import orjson
import pytest

from instruct.llm import LLMSetupError
from kg2instruction.build import SPLITS, run_build
from kg2instruction.models import PAGE_TOPIC_OTHER_BY_MODEL, ModelSteps
from tests.fakellm import FAULT_STATUS, FakeLLMServer, Fault

REPO = Path(__file__).resolve().parents[2]
WIKIDATA = REPO / "data_samples" / "wikidata" / "wikidata-sample.json.bz2"
ZHWIKI = REPO / "data_samples" / "wiki" / "zhwiki-sample.xml.bz2"
FAILING_TEXT = "剑桥大学（University of Cambridge）"  # the NLI request of this paragraph gets HTTP 500


def handler(body: dict) -> str:
    """A fake IE model: NLI scores 职业 triples low, completion proposes three triples on the 1952 paragraph
    (one fits the schema), the topic classifier calls the Cambridge page an organisation, others "other"."""
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    if "natural-language-inference" in system:
        triples = re.findall(r"^\d+\. \((.*)\)$", user, re.M)
        return json.dumps({"scores": [0.1 if ", 职业, " in t else 0.9 for t in triples]})
    if "completing a knowledge-graph annotation" in system:
        text = json.loads(user)["text"]
        proposals = [{"head": "亚当斯", "relation": "配偶", "tail": "英国"},  # fits the schema, both in text
                     {"head": "亚当斯", "relation": "不存在的关系", "tail": "英国"},  # not in the schema
                     {"head": "亚当斯", "relation": "配偶", "tail": "月球"}]  # tail not in the text
        return json.dumps({"relation": proposals if "1952年" in text else []}, ensure_ascii=False)
    if "classify encyclopedia pages" in system:
        return json.dumps({"topic": "组织" if "剑桥大学" in user else "其他"}, ensure_ascii=False)
    raise AssertionError(f"unexpected prompt {system[:60]!r}")


def fail_one_nli(body: dict, number: int) -> Fault | None:
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    if "natural-language-inference" in system and FAILING_TEXT in user:
        return Fault(kind=FAULT_STATUS, status=500)
    return None


@pytest.fixture(scope="module")
def dump_with_unmapped_university(tmp_path_factory) -> Path:
    """The sample dump with Q35794 (University of Cambridge) an instance of Q1, which no rule maps to a topic."""
    lines = bz2.decompress(WIKIDATA.read_bytes()).decode().splitlines()
    edited = [line.replace('"numeric-id":3918,"id":"Q3918"', '"numeric-id":1,"id":"Q1"')
              if '"id":"Q35794"' in line else line for line in lines]
    assert edited != lines
    path = tmp_path_factory.mktemp("dump") / "wikidata.json.bz2"
    path.write_bytes(bz2.compress(("\n".join(edited) + "\n").encode()))
    return path


def _steps(server: FakeLLMServer, **overrides) -> ModelSteps:
    options = dict(api_key="EMPTY", base_url=server.base_url, nli_model="fake-nli", complete_model="fake-ie",
                   topic_model="fake-cls", max_attempts=2, backoff_base=0.01, concurrency=4)
    return ModelSteps(**(options | overrides))


def _records(out: Path) -> list[dict]:
    return [orjson.loads(line) for split, _ in SPLITS
            for line in (out / "instructie" / f"{split}_zh.json").read_bytes().splitlines()]


def test_models_label_every_paragraph_or_list_it_and_rerun_sends_nothing(tmp_path, dump_with_unmapped_university):
    out = tmp_path / "out"

    def build(server):
        return run_build(wikidata=[dump_with_unmapped_university], wiki=[ZHWIKI], output=out, progress=False,
                         models=_steps(server))

    with FakeLLMServer(handler=handler, fault_rule=fail_one_nli) as server:
        reports, summary = build(server)
        first_requests = server.request_count
    models = summary["models"]
    # The stage passed on the Cambridge page unlabelled; the topic model made it an organisation page.
    assert models["pages_classified"] == 1 and models["counters"]["pages_topic_by_model:组织"] == 1
    # Each paragraph (the stage's labelled ones and the classified page's) is in exactly one place.
    stage_ids = [d["id"] for d in _read(reports[-1].output) if not d["meta"].get("topic_pending")]
    labelled = [d["id"] for d in _read(out / "03-models")]
    rejected = [d["id"] for d in _read(out / "03-models" / "rejected")]
    failures = [json.loads(line) for line in (out / "03-models" / "_failures.jsonl").read_text().splitlines()]
    assert models["paragraphs_in"] == len(labelled) + len(rejected) + len(failures)
    assert set(stage_ids) <= set(labelled) | set(rejected) | {f["id"] for f in failures}
    (failure,) = failures
    assert failure["reason"] == "llm_retries_exhausted" and failure["step"] == "nli"
    assert failure["text"].startswith(FAILING_TEXT)
    assert models["failed"] == {"llm_retries_exhausted": 1}
    # NLI dropped the 职业 triple; completion added the one proposal that fits, rejected two.
    assert models["counters"]["triple_nli_below_threshold"] == 1
    assert models["counters"]["triple_added_by_model"] == 1
    assert models["counters"]["triple_model_proposal_rejected"] == 2
    text = "".join((out / "instructie" / f"{s}_zh.json").read_text() for s, _ in SPLITS)
    assert '"relation":"配偶","tail":"英国"' in text and '"relation":"职业"' not in text
    assert not any(r["text"].startswith(FAILING_TEXT) for r in _records(out))
    assert first_requests == sum(r["sent"] for r in models["requests"].values())

    with FakeLLMServer(handler=handler) as server:  # the fault is gone: only the failed request is sent
        _, summary = build(server)
        assert server.request_count == 1
    assert summary["models"]["failed"] == {}
    assert any(r["text"].startswith(FAILING_TEXT) for r in _records(out))

    with FakeLLMServer(handler=handler) as server:  # everything is cached now
        _, again = build(server)
        assert server.request_count == 0
    assert again["records_per_topic"] == summary["records_per_topic"]


def test_topic_other_is_rejected_with_its_reason(tmp_path, dump_with_unmapped_university):
    with FakeLLMServer(handler=lambda body: json.dumps({"topic": "其他"}, ensure_ascii=False)) as server:
        _, summary = run_build(wikidata=[dump_with_unmapped_university], wiki=[ZHWIKI], output=tmp_path,
                               progress=False, models=_steps(server, nli_model=None, complete_model=None))
    assert summary["models"]["rejected"] == {PAGE_TOPIC_OTHER_BY_MODEL: 1}


def test_malformed_replies_are_asked_again_then_failed(tmp_path):
    with FakeLLMServer(handler=lambda body: "Sure! The triples look fine.") as server:
        _, summary = run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI], output=tmp_path, progress=False,
                               models=_steps(server, complete_model=None, topic_model=None))
        # Every labelled paragraph is asked twice (parse_attempts=2), then listed as failed.
        assert server.request_count == 2 * summary["models"]["paragraphs_in"]
    assert summary["models"]["failed"] == {"kg_model_malformed_reply": summary["models"]["paragraphs_in"]}
    assert sum(summary["records_per_split"].values()) == 0


def test_a_wrong_score_count_is_asked_again_with_the_problem(tmp_path):
    def one_score_short(body: dict) -> str:  # the first attempt scores one triple too few
        user = body["messages"][-1]["content"]
        triples = re.findall(r"^\d+\. \((.*)\)$", user, re.M)
        retried = "(attempt 2: the previous reply was rejected (NLI must answer one score per triple" in user
        return json.dumps({"scores": [0.9] * (len(triples) - (0 if retried else 1))})

    with FakeLLMServer(handler=one_score_short) as server:
        _, summary = run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI], output=tmp_path, progress=False,
                               models=_steps(server, complete_model=None, topic_model=None))
        assert server.request_count == 2 * summary["models"]["paragraphs_in"]
    assert summary["models"]["failed"] == {}
    assert summary["models"]["labelled"] == summary["models"]["paragraphs_in"] > 0


def test_a_refused_key_stops_the_run(tmp_path):
    with FakeLLMServer(handler=handler, fault_rule=lambda body, n: Fault(kind=FAULT_STATUS, status=401)) as server, \
            pytest.raises(LLMSetupError):
        run_build(wikidata=[WIKIDATA], wiki=[ZHWIKI], output=tmp_path, progress=False,
                  models=_steps(server, topic_model=None))


def _read(directory: Path) -> list[dict]:
    from corpus.shards import list_shards, read_docs

    return [doc for shard in list_shards(directory) for doc in read_docs(shard)]
