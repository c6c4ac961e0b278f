import errno
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from corpus import __version__
from tests.console import knowforge

REPO = Path(__file__).resolve().parent.parent


def test_version_and_help():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"knowforge, version {__version__}"
    for args in (["--help"], ["corpus", "--help"], ["corpus", "read", "--help"], ["run", "--help"], ["demo", "--help"]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        assert "Usage:" in result.output


def test_chained_corpus_command(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.jsonl").write_text('{"text": "Ｈｅｌｌｏ"}\n{"text": "hello"}\nnot json\n')
    result = CliRunner().invoke(
        main,
        ["corpus", "-w", str(tmp_path / "w"), "--workers", "1", "--quiet",
         "read", "--source", "jsonl", "-i", str(raw), "clean", "dedup-exact"],
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[2:]}
    assert lines["read-jsonl"][2:5] == ["3", "2", "1"]
    assert lines["dedup-exact"][2:5] == ["2", "1", "1"]
    for stage_dir in ("01-read-jsonl", "02-clean", "03-dedup-exact"):
        for item in ("_done", "_stats", "rejected", "_manifest.json"):
            assert (tmp_path / "w" / stage_dir / item).exists(), (stage_dir, item)


def test_run_rejects_unknown_key_in_one_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("steps:\n  - clean: {colour: blue}\n")
    result = CliRunner().invoke(main, ["run", str(config)])
    assert result.exit_code == 2
    assert "step 'clean' has no option 'colour'" in result.output


def test_demo_through_installed_console_script(tmp_path):
    exe = shutil.which("knowforge") or str(Path(sys.executable).parent / "knowforge")
    if not Path(exe).exists():
        pytest.skip("the knowforge console script is not installed in this environment")
    result = subprocess.run([exe, "demo", "-o", str(tmp_path / "demo"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "rejected by reason" in result.stdout
    corpus_dir = tmp_path / "demo" / "corpus"
    stage_dirs = sorted(p for p in corpus_dir.iterdir() if p.is_dir())
    assert stage_dirs
    for stage_dir in stage_dirs:
        assert (stage_dir / "_manifest.json").exists()
        assert (stage_dir / "_done").is_dir() and (stage_dir / "_stats").is_dir()


# --- honest runs: through the installed console script ------------------------------------------------


def _max_sample_tokens(pack_dir: Path) -> int:
    from corpus.pack.megatron import read_index

    return int(read_index(pack_dir / "merged.idx").sequence_lengths.max())


def test_rerun_with_changed_options_redoes_the_changed_stages_and_says_why(tmp_path):
    raw = REPO / "data_samples" / "jsonl" / "web-near-duplicates.jsonl"
    work = tmp_path / "w"

    def chain(*stage_args: str):
        return knowforge("corpus", "-w", str(work), "--workers", "1", "--quiet",
                         "read", "--source", "jsonl", "-i", str(raw), "clean", *stage_args)

    first = chain("dedup", "pack", "--max-tokens", "512")
    assert first.returncode == 0, first.stderr
    assert _max_sample_tokens(work / "04-pack") > 64
    second = chain("dedup", "--threshold", "0.5", "pack", "--max-tokens", "64")
    assert second.returncode == 0, second.stderr
    # The unchanged stages are skipped; the changed ones say what changed and are made again.
    assert "dedup: redoing 1 shard(s)" in second.stderr and "threshold 0.8 -> 0.5" in second.stderr
    assert "pack: redoing 1 shard(s)" in second.stderr and "max_tokens 512 -> 64" in second.stderr
    rows = {line.split()[0]: line for line in second.stdout.splitlines()[2:]}
    assert "(1 done)" in rows["clean"] and "(1 redone)" in rows["pack"]
    assert str(work / "04-pack") in rows["pack"]  # the end of the run says where each output went
    # The bytes follow the new options, and the manifest describes those bytes.
    assert _max_sample_tokens(work / "04-pack") <= 64
    manifest = json.loads((work / "04-pack" / "_manifest.json").read_text())
    assert manifest["config"]["max_tokens"] == 64
    marker = json.loads((work / "04-pack" / "_done" / "jsonl-00000").read_text())
    assert marker["options"]["max_tokens"] == 64
    # A third run with the same options does nothing again.
    third = chain("dedup", "--threshold", "0.5", "pack", "--max-tokens", "64")
    assert third.returncode == 0 and "redoing" not in third.stderr
    assert "(1 done)" in {line.split()[0]: line for line in third.stdout.splitlines()[2:]}["pack"]


def test_rerun_redoes_when_the_filter_config_file_changes(tmp_path):
    """An option that names a file is fingerprinted by the file's content, not only its path."""
    raw = REPO / "data_samples" / "jsonl" / "web-near-duplicates.jsonl"
    config = tmp_path / "filters.yaml"
    config.write_text("filters:\n  - gopher_quality: {min_words: 5}\n")
    args = ("corpus", "-w", str(tmp_path / "w"), "--workers", "1", "--quiet", "read", "--source", "jsonl",
            "-i", str(raw), "filter", "--config", str(config))
    assert knowforge(*args).returncode == 0
    config.write_text("filters:\n  - gopher_quality: {min_words: 500}\n")
    again = knowforge(*args)
    assert again.returncode == 0, again.stderr
    assert "filter: redoing 1 shard(s)" in again.stderr and "content of config" in again.stderr


# --- one line, not a traceback: each case a new user hit -------------------------------------------------

SAMPLE = str(REPO / "data_samples" / "jsonl" / "web-near-duplicates.jsonl")


def _files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


def _bad_inputs(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    (tmp_path / "empty").mkdir()
    (tmp_path / "pq").mkdir()
    (tmp_path / "pq" / "part-00000.parquet").write_bytes(b"PAR1 this is not parquet at all")
    (tmp_path / "missing_input.yaml").write_text(
        "work_dir: wy\nsteps:\n  - read: {source: jsonl, input: [does/not/exist.jsonl]}\n  - clean: {}\n")
    (tmp_path / "bad_type.yaml").write_text(
        f"work_dir: wz\nsteps:\n  - read: {{source: jsonl, input: [{SAMPLE}]}}\n  - dedup: {{threshold: high}}\n")
    return tmp_path


ONE_LINE_CASES = {
    "output is a file": (2, ["corpus", "read", "--source", "jsonl", "-i", SAMPLE, "-o", "afile"], "afile"),
    "convert -o a directory": (2, ["instruct", "convert", "--format", "conll03", "-i",
                                   str(REPO / "data_samples" / "ie" / "conll03"), "-o", "adir"], "is a directory"),
    "empty input directory": (2, ["corpus", "-w", "w1", "clean", "-i", "empty"], "no input found in empty"),
    "corrupt parquet": (1, ["corpus", "-w", "w2", "--quiet", "clean", "-i", "pq"], "part-00000.parquet"),
    "missing tokenizer": (2, ["corpus", "-w", "w3", "read", "--source", "jsonl", "-i", SAMPLE, "clean", "pack",
                              "--tokenizer", "no/such.model"], "no/such.model"),
    "YAML input missing": (2, ["run", "missing_input.yaml"], "does/not/exist.jsonl does not exist"),
    "YAML value type": (2, ["run", "bad_type.yaml"], "threshold must be a number, got 'high'"),
    "report on a non-stage directory": (2, ["corpus", "report", "adir"], "is it a stage output directory?"),
    "unknown option after a stage": (2, ["corpus", "clean", "-i", "empty", "--colour"], "--colour"),
}


@pytest.mark.parametrize("case", sorted(ONE_LINE_CASES))
def test_user_mistakes_give_one_line_and_leave_nothing_behind(tmp_path, case):
    code, args, needle = ONE_LINE_CASES[case]
    work = _bad_inputs(tmp_path)
    before = _files(work)
    result = knowforge(*args, cwd=work)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, result.stderr
    assert len(lines) == 1 and lines[0].startswith("Error: ") and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    created = _files(work) - before
    assert not [f for f in created if "tmp" in f], created  # no temporary file left
    if code == 2:  # found before any work: nothing written at all
        assert not created, created


def test_debug_shows_the_traceback(tmp_path):
    work = _bad_inputs(tmp_path)
    result = knowforge("--debug", "corpus", "-w", "w2", "clean", "-i", "pq", cwd=work)
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr


def test_disk_full_is_one_line_naming_the_path(tmp_path):
    """/dev/full answers every write with ENOSPC: a real disk-full error, end to end."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    records = tmp_path / "records.jsonl"
    instructions = tmp_path / "ner.jsonl"
    assert knowforge("instruct", "convert", "--format", "conll03", "-i",
                     str(REPO / "data_samples" / "ie" / "conll03" / "sample.iob2.txt"), "-o", str(records)).returncode == 0
    assert knowforge("instruct", "build", "-i", str(records), "-o", str(instructions), "--task", "ner",
                     "--lang", "en").returncode == 0
    result = knowforge("instruct", "evaluate", "--pred", str(instructions), "--task", "ner", "-o", "/dev/full")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "/dev/full" in lines[0] and "No space left on device" in lines[0] and "disk is full" in lines[0]


@pytest.mark.parametrize(("number", "cause", "hint"), [
    (errno.EACCES, "Permission denied", "permission denied"),
    (errno.EROFS, "Read-only file system", "read-only"),
    (errno.ENOSPC, "No space left on device", "disk is full"),
])
def test_os_errors_inside_a_stage_name_stage_path_and_cause(number, cause, hint):
    from cli import error_line
    from corpus.runner import StageError

    try:
        try:
            raise OSError(number, cause, "out/02-clean/part-00000.jsonl.zst.tmp-7")
        except OSError as err:
            raise StageError(f"stage clean failed on in/part-00000.jsonl (part-00000): {err!r}") from err
    except StageError as wrapped:
        line = error_line(wrapped)
    assert line.startswith("stage clean failed on in/part-00000.jsonl (part-00000): ")
    assert "out/02-clean/part-00000.jsonl.zst.tmp-7" in line and cause in line and hint in line


# --- chained options, defaults said aloud, warnings -----------------------------------------------------


def test_run_options_work_after_a_stage_name(tmp_path):
    first = knowforge("corpus", "-w", str(tmp_path / "w"), "read", "--source", "jsonl", "-i", SAMPLE, "--quiet",
                      "--workers", "1")
    assert first.returncode == 0, first.stderr
    again = knowforge("corpus", "clean", "-i", str(tmp_path / "w" / "01-read-jsonl"), "--force", "--quiet",
                      "--workers=1", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "knowforge-work/01-clean" in again.stdout  # where the output went, said at the end
    assert again.stderr == ""  # --quiet after the stage name took effect: no bar
    forced = knowforge("corpus", "clean", "-i", str(tmp_path / "w" / "01-read-jsonl"), "--force", "--quiet",
                       cwd=tmp_path)
    assert "(1 done)" not in forced.stdout  # --force after the stage name redid the shard


def test_missing_text_warning_names_the_field(tmp_path):
    result = knowforge("corpus", "-w", str(tmp_path / "w"), "--quiet", "read", "--source", "jsonl", "-i",
                       str(REPO / "data_samples" / "jsonl" / "knowlm-style.jsonl"))
    assert result.returncode == 0
    assert "as missing_text" in result.stderr and "--text-field content" in result.stderr


def test_inspect_decodes_with_the_tokenizer_the_manifest_records(tmp_path):
    model = tmp_path / "tok" / "t.model"
    trained = knowforge("tokenizer", "train", "-i", SAMPLE, "-o", str(model), "--vocab-size", "2000")
    assert trained.returncode == 0, trained.stderr
    assert "fewer than the --vocab-size 2,000 asked" in trained.stderr  # the size reached is said
    packed = knowforge("corpus", "-w", "w", "--quiet", "read", "--source", "jsonl", "-i", SAMPLE,
                       "pack", "--tokenizer", "tok/t.model", cwd=tmp_path)
    assert packed.returncode == 0, packed.stderr
    result = knowforge("corpus", "inspect", "--decode", "1", str(tmp_path / "w" / "02-pack" / "merged"))
    assert result.returncode == 0, result.stderr
    assert f"decoding with {model}" in result.stderr
    assert "The city library reopened on Monday" in result.stdout
