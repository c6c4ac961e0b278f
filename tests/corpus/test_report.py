"""The report reads a filter stage's output: drop table from _stats/ and rejected/, self-contained HTML."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from cli import main
from corpus.filters.base import FilterStep
from corpus.report import collect, drop_table, histogram_svg, write_html
from corpus.runner import run_stage

EN = ("The library opened a new branch on Saturday after two years of work. The building has a reading room "
      "for children and twelve study rooms. Staff said that four hundred people signed up for a card on the "
      "first day, and that the branch will stay open late during the exam period for students of the town.")


def _filtered(tmp_path: Path, write_shard) -> Path:
    docs = [{"id": f"k{i}", "text": EN, "source": "web", "meta": {"lang": "en"}} for i in range(3)]
    docs += [{"id": f"s{i}", "text": "Page not found. " * (i + 1), "source": "web", "meta": {"lang": "en"}}
             for i in range(2)]
    write_shard(tmp_path / "in" / "part-00000.jsonl", docs)
    run_stage(FilterStep(), inputs=[tmp_path / "in"], output=tmp_path / "out", workers=1, force=False,
              progress=False)
    return tmp_path / "out"


def test_drop_table_and_html(tmp_path: Path, write_shard) -> None:
    report = collect(_filtered(tmp_path, write_shard))
    assert (report.docs_in, report.docs_out, report.rejected) == (5, 3, 2)
    assert report.drops == {("gopher_quality", "gopher_short_doc"): 2}
    table = drop_table(report)
    assert "gopher_quality" in table and "gopher_short_doc" in table and "40.0" in table
    kept, rejected = report.scores["gopher_quality.words"]
    assert sorted(kept) == [float(len(EN.split()))] * 3 and sorted(rejected) == [3.0, 6.0]
    page = write_html(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<svg" in page and "gopher_quality.words" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched from outside


def test_histogram_stacks_kept_and_rejected() -> None:
    svg = histogram_svg([0.0, 0.0, 1.0], [1.0], bins=2)
    assert svg.count("<rect") == 4 and 'fill="#e45756"' in svg


def test_cli_report(tmp_path: Path, write_shard) -> None:
    out = _filtered(tmp_path, write_shard)
    result = CliRunner().invoke(main, ["corpus", "report", "--html", str(tmp_path / "page.html"), str(out)])
    assert result.exit_code == 0, result.output
    assert "gopher_short_doc" in result.output and (tmp_path / "page.html").exists()
