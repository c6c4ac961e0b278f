"""The report reads a filter stage's output: drop table from _stats/ and rejected/, self-contained HTML."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cli import main
from corpus.filters.stage import FilterStep
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


def test_histograms_mark_the_threshold_and_the_table_lists_examples(tmp_path: Path, write_shard) -> None:
    report = collect(_filtered(tmp_path, write_shard))
    # "Page not found." ends in a sentence, so the short-entry bound (min_entry_words 20 in
    # configs/filters/en.yaml) is the one it failed, and the histogram marks that bound.
    assert report.score_thresholds["gopher_quality.words"] == 20
    table = drop_table(report)
    assert "kept 3  dropped 2" in table
    assert "gopher_short_doc: s0 (value 3.0): Page not found." in table
    svg = histogram_svg([60.0, 70.0], [3.0, 6.0], threshold=50.0)
    assert 'class="threshold"' in svg and "threshold 50" in svg
    page = write_html(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "threshold 20" in page


def test_cli_report_on_a_work_directory_reports_every_stage(tmp_path: Path, write_shard) -> None:
    _filtered(tmp_path, write_shard)
    (tmp_path / "work").mkdir()
    (tmp_path / "out").rename(tmp_path / "work" / "01-filter")
    result = CliRunner().invoke(main, ["corpus", "report", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    assert "== 01-filter" in result.output and "gopher_short_doc" in result.output


def test_show_follows_one_document_through_every_stage(tmp_path: Path) -> None:
    from tests.console import knowforge

    raw = tmp_path / "raw.jsonl"
    long_text = EN
    raw.write_text("\n".join([
        json.dumps({"id": "wide", "text": "Ｆｕｌｌ－ｗｉｄｔｈ letters. " + long_text}),
        json.dumps({"id": "short", "text": "Page not found."}),
        json.dumps({"id": "plain", "text": long_text}),
    ]) + "\n")
    work = tmp_path / "w"
    # --no-fuse: every stage keeps a copy, so show can tell what each one did (fused: tests/corpus/test_fuse.py)
    ran = knowforge("corpus", "-w", str(work), "--quiet", "--workers", "1", "--no-fuse", "read", "--source", "jsonl",
                    "-i", str(raw), "clean", "filter", "--config", "configs/filters/en.yaml", "pack")
    assert ran.returncode == 0, ran.stderr

    def show(doc_id: str) -> list[str]:
        result = knowforge("corpus", "show", doc_id, str(work))
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    wide = show("wide")
    assert wide[0].startswith("01-read-jsonl: read: Ｆｕｌｌ") and wide[1].startswith("02-clean: changed (")
    assert wide[2].startswith("03-filter: kept: Full-width") and wide[3].startswith("04-pack: went in")
    short = show("short")
    assert short[2].startswith("03-filter: dropped: gopher_short_doc") and "threshold 20" in short[2]  # the short-entry bound: it ends in a sentence
    assert short[3] == "04-pack: not reached (dropped earlier)"
    assert show("plain")[1].startswith("02-clean: kept: ")
    missing = knowforge("corpus", "show", "nope", str(work))
    assert missing.returncode == 2 and "no document with id 'nope'" in missing.stderr
