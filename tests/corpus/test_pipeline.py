import pytest
import yaml

from corpus.pipeline import ConfigError, StageCall, load_config, parse_config, run_pipeline, summary_table
from corpus.steps import STEPS, build_step


def test_every_step_builds_with_defaults():
    for name in STEPS:
        stage = build_step(name, {})
        assert stage.name == name


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"steps": [{"clean": {}}], "wrokers": 2}, "unknown key 'wrokers'"),
        ({"steps": [{"cleen": {}}]}, "unknown step 'cleen'"),
        ({"steps": [{"clean": {"nfkd": True}}]}, "step 'clean' has no option 'nfkd'"),
        ({"steps": [{"read": {"input": "x"}}]}, "needs `source:`"),
        ({"steps": [{"read": {"source": "jsonl"}}]}, "needs `input:`"),
        ({"steps": [{"read": {"source": "nope", "input": "x"}}]}, "unknown reader 'nope'"),
        ({"steps": []}, "non-empty list"),
        ({"steps": [{"clean": {}, "stats": {}}]}, "one key"),
        ({"steps": [{"clean": [1]}]}, "options must be a mapping"),
        ({"steps": [{"clean": {}}], "workers": 0}, "positive integer"),
    ],
)
def test_bad_configs_fail_with_one_clear_line(config, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_config(config)
    assert "\n" not in str(info.value)


def test_yaml_pipeline_runs_and_chains(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text('{"content": "Ａ　full-width  text"}\n{"content": "Ａ　full-width  text"}\n{"content": "other"}\n')
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "work_dir": str(tmp_path / "work"),
                "steps": [
                    {"read": {"source": "jsonl", "input": [str(raw)], "text_field": "content"}},
                    {"clean": {}},
                    {"dedup-exact": {}},
                    {"stats": {"output": str(tmp_path / "final")}},
                ],
            }
        )
    )
    config = load_config(path)
    reports = run_pipeline(config.calls, work_dir=config.work_dir, workers=1, progress=False)
    assert [r.stage for r in reports] == ["read-jsonl", "clean", "dedup-exact", "stats"]
    assert [(r.docs_in, r.docs_out) for r in reports] == [(3, 3), (3, 3), (3, 2), (2, 2)]
    assert (tmp_path / "work" / "02-clean" / "_done").is_dir()
    assert (tmp_path / "final" / "_manifest.json").exists()
    table = summary_table(reports)
    assert "exact_duplicate 1" in table


def test_chain_without_input_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="has no input"):
        run_pipeline([StageCall(build_step("clean"))], work_dir=tmp_path, workers=1)


def test_consecutive_readers_pool_their_outputs(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "from a"}\n')
    (tmp_path / "b.jsonl").write_text('{"body": "from b"}\n')
    config = parse_config(
        {
            "steps": [
                {"read": {"source": "jsonl", "input": str(tmp_path / "a.jsonl"), "source_name": "a"}},
                {"read": {"source": "jsonl", "input": str(tmp_path / "b.jsonl"), "source_name": "b", "text_field": "body"}},
                {"clean": {}},
            ]
        }
    )
    reports = run_pipeline(config.calls, work_dir=tmp_path / "w", workers=1, progress=False)
    assert reports[-1].docs_out == 2
    assert sorted(p.name for p in (tmp_path / "w" / "03-clean").glob("*.jsonl.zst")) == [
        "a-00000.jsonl.zst",
        "b-00000.jsonl.zst",
    ]


def test_inputs_can_name_an_earlier_step(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "Ａ"}\n{"text": "b"}\n')
    config = parse_config(
        {
            "steps": [
                {"read": {"source": "jsonl", "input": str(tmp_path / "a.jsonl")}},
                {"clean": {}},
                {"dedup-exact": {}},
                {"stats": {"input": ["@clean"]}},
            ]
        }
    )
    reports = run_pipeline(config.calls, work_dir=tmp_path / "w", workers=1, progress=False)
    assert reports[-1].docs_in == 2
    with pytest.raises(ConfigError, match="names no earlier step"):
        bad = parse_config({"steps": [{"read": {"source": "jsonl", "input": str(tmp_path / "a.jsonl")}},
                                      {"stats": {"input": ["@nope"]}}]})
        run_pipeline(bad.calls, work_dir=tmp_path / "w2", workers=1, progress=False)
