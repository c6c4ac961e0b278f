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
        ({"steps": [{"dedup": {"threshold": "high"}}]}, "step 'dedup': option threshold must be a number, got 'high'"),
        ({"steps": [{"pack": {"max_tokens": 1.5}}]}, "option max_tokens must be an integer, got 1.5"),
        ({"steps": [{"clean": {"nfkc": "yes"}}]}, "option nfkc must be true or false, got 'yes'"),
        ({"steps": [{"read": {"source": "jsonl", "input": "x", "text_field": 3}}]},
         "reader 'jsonl': option text_field must be a string"),
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


def _jsonl(path, lines):
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize(
    ("source", "content", "expected"),
    [
        ("jsonl", ['{"title": "t", "content": "some long text here"}\n'] * 3 + ['{"text": "ok"}\n'],
         "rejected 3 of 4 documents as missing_text; the records have the fields title, content: "
         "name the text field with --text-field content"),
        ("jsonl", b"\xff\xfe not utf-8\n" * 2, "rejected 2 of 2 documents as bad_utf8; is the input UTF-8 text?"),
        ("wiki", ['{"text": "not xml"}\n'], "is this a MediaWiki XML dump"),
    ],
)
def test_a_stage_rejecting_most_of_its_input_warns_with_the_fix(tmp_path, capsys, source, content, expected):
    from corpus.steps import build_reader

    raw = tmp_path / "raw.jsonl"
    if isinstance(content, bytes):
        raw.write_bytes(content)
    else:
        _jsonl(raw, content)
    calls = [StageCall(build_reader(source, {}), [raw])]
    run_pipeline(calls, work_dir=tmp_path / "w", workers=1, progress=False)
    err = capsys.readouterr().err
    assert f"warning: read-{source}" in err and expected in err, err


def test_no_warning_when_most_documents_pass(tmp_path, capsys):
    from corpus.steps import build_reader

    raw = _jsonl(tmp_path / "raw.jsonl", ['{"text": "fine"}\n'] * 3 + ['{"content": "x"}\n'])
    run_pipeline([StageCall(build_reader("jsonl", {}), [raw])], work_dir=tmp_path / "w", workers=1, progress=False)
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: StageCall(build_step("clean"), [t / "nope"]), "input {t}/nope does not exist"),
        (lambda t: StageCall(build_step("clean"), [t / "empty"]), "no input found in {t}/empty"),
        (lambda t: StageCall(build_step("clean"), [t / "in"], t / "afile"), "output {t}/afile is a file"),
        (lambda t: StageCall(build_step("pack", {"tokenizer": str(t / "tok.model")}), [t / "in"]),
         "cannot load tokenizer {t}/tok.model"),
        (lambda t: StageCall(build_step("merge", {"format": "knowlm", "types": ["zh", "en"]}), [t / "in"]),
         "2 types .* for 1 inputs; give one type per input"),  # the stage's ChecksInputs, while planning
    ],
)
def test_setup_mistakes_are_found_before_any_work(tmp_path, write_shard, make, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "afile").write_text("")
    write_shard(tmp_path / "in" / "part-00000.jsonl", [{"id": "a", "text": "x", "source": "s", "meta": {}}])
    work = tmp_path / "w"
    with pytest.raises(ConfigError, match=message.format(t=tmp_path)):
        run_pipeline([StageCall(build_step("stats"), [tmp_path / "in"]), make(tmp_path)], work_dir=work,
                     workers=1, progress=False)
    assert not work.exists()  # the first stage did not run


def test_the_demo_tokenizer_is_announced(tmp_path, write_shard, capsys):
    write_shard(tmp_path / "in" / "part-00000.jsonl", [{"id": "a", "text": "Hello world.", "source": "s", "meta": {}}])
    run_pipeline([StageCall(build_step("pack"), [tmp_path / "in"])], work_dir=tmp_path / "w", workers=1,
                 progress=False)
    err = capsys.readouterr().err
    assert "pack: no tokenizer given, using the demo model" in err and "pieces" in err
