import orjson
import pytest
from click.testing import CliRunner

from cli import main
from corpus.dedup.lines import BOILERPLATE_ONLY, LineDedupStep
from corpus.runner import run_stage
from corpus.shards import read_docs
from corpus.steps import ConfigError, build_step

FOOTER = "版权所有 © 2024 示例网站 保留所有权利"
NAV = "Home | About us | Contact | Privacy policy"


def _corpus() -> list[dict]:
    docs = []
    for i in range(12):
        body = f"第{i}篇文章的正文内容，讲述第{i}个独立的主题。\n一、概述\nUnique English paragraph number {i} here."
        # Footer with different widths/case/spacing: the same line after normalisation.
        footer = FOOTER if i % 2 else FOOTER.replace(" ", "  ")
        nav = NAV.upper() if i % 3 == 0 else NAV
        docs.append({"id": f"d{i:02d}", "text": f"{nav}\n{body}\n{footer}", "source": "web", "meta": {}})
    docs.append({"id": "only", "text": f"{NAV}\n\n{FOOTER}\n", "source": "web", "meta": {}})
    docs.append({"id": "rare", "text": "A line that only three documents share, long enough.\nx", "source": "web",
                 "meta": {}})
    return docs


def _write(directory, docs, n_shards):
    directory.mkdir(parents=True)
    for s in range(n_shards):
        with open(directory / f"part-{s:05d}.jsonl", "wb") as f:
            for doc in docs[s::n_shards]:
                f.write(orjson.dumps(doc) + b"\n")


def _read(directory):
    return {doc["id"]: doc for path in sorted(directory.glob("part-*")) for doc in read_docs(path)}


def test_removes_lines_repeated_in_many_documents_and_rejects_empty_ones(tmp_path):
    _write(tmp_path / "in", _corpus(), 3)
    report = run_stage(LineDedupStep(min_docs=5), inputs=[tmp_path / "in"], output=tmp_path / "out", workers=1,
                       progress=False)
    assert report.docs_in == 14 and report.reasons == {BOILERPLATE_ONLY: 1}
    kept = _read(tmp_path / "out")
    assert kept["d03"]["text"] == "第3篇文章的正文内容，讲述第3个独立的主题。\n一、概述\nUnique English paragraph number 3 here."
    assert kept["d03"]["meta"]["scores"]["boilerplate_lines"] == 2
    assert kept["rare"]["text"].startswith("A line that only") and "scores" not in kept["rare"]["meta"]
    assert report.counters["boilerplate_lines_removed"] == 2 * 12 + 2
    rejected = _read(tmp_path / "out" / "rejected")
    assert rejected["only"]["meta"]["reject"]["reason"] == BOILERPLATE_ONLY
    assert rejected["only"]["meta"]["reject"]["value"] == 2
    stats = orjson.loads((tmp_path / "out" / "_stats" / "_dedup-lines.json").read_bytes())
    assert stats["boilerplate_lines"] == 2 and stats["boilerplate_occurrences"] == 26


def test_short_lines_and_lines_below_min_docs_are_kept(tmp_path):
    _write(tmp_path / "in", _corpus(), 2)
    out = tmp_path / "out"
    # "一、概述" is in 12 documents but shorter than min_chars; with min_docs=14 nothing qualifies.
    report = run_stage(LineDedupStep(min_docs=14), inputs=[tmp_path / "in"], output=out, workers=1, progress=False)
    assert report.rejected == 0 and report.counters["boilerplate_lines_removed"] == 0
    assert "一、概述" in _read(out)["d00"]["text"]
    short = run_stage(LineDedupStep(min_docs=5, min_chars=3), inputs=[tmp_path / "in"], output=tmp_path / "o2",
                      workers=1, progress=False)
    assert short.counters["boilerplate_lines_removed"] == 2 * 12 + 2 + 12  # now the heading goes too


def test_same_output_for_any_worker_count_and_sharding(tmp_path):
    texts = []
    for run, (n_shards, workers) in enumerate([(1, 1), (4, 2)]):
        _write(tmp_path / f"in{run}", _corpus(), n_shards)
        run_stage(LineDedupStep(min_docs=5), inputs=[tmp_path / f"in{run}"], output=tmp_path / f"out{run}",
                  workers=workers, progress=False)
        texts.append({k: v["text"] for k, v in _read(tmp_path / f"out{run}").items()})
    assert texts[0] == texts[1]


def test_options_are_checked_and_cli_runs(tmp_path):
    with pytest.raises(ConfigError, match="min_docs"):
        build_step("dedup-lines", {"min_docs": 1})
    _write(tmp_path / "in", _corpus(), 2)
    result = CliRunner().invoke(main, ["corpus", "--workers", "1", "--quiet", "dedup-lines", "-i",
                                       str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--min-docs", "5"])
    assert result.exit_code == 0, result.output
    assert "only" in _read(tmp_path / "out" / "rejected")
