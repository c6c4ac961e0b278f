import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from corpus import __version__

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
