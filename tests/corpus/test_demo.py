"""The demo pipeline end to end: every stage's documents add up, and every stage writes its bookkeeping."""

import pytest

from corpus.demo import run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    lines: list[str] = []
    reports = run_demo(out, workers=2, progress=False, echo=lines.append)
    return out, reports, "\n".join(lines)


def test_every_stage_in_equals_out_plus_rejected(demo):
    _, reports, _ = demo
    assert len(reports) >= 10
    for report in reports:
        assert report.docs_in == report.docs_out + report.rejected, report.stage
        assert report.docs_in > 0, report.stage


def test_every_stage_writes_stats_done_rejected_and_manifest(demo):
    _, reports, _ = demo
    for report in reports:
        for item in ("_stats", "_done", "rejected", "_manifest.json"):
            assert (report.output / item).exists(), (report.stage, item)


def test_demo_shows_drops_packing_and_dedup(demo):
    out, reports, text = demo
    by_stage = {r.stage: r for r in reports}
    assert by_stage["filter"].rejected > 0 and "zh_short_doc" in text
    assert by_stage["dedup-exact"].reasons["exact_duplicate"] >= 1
    assert by_stage["dedup"].reasons["minhash_duplicate"] >= 1
    assert (by_stage["pack"].output / "merged.idx").exists() and "samples" in text
    assert (out / "filter-report.html").exists()


def test_demo_shows_what_clean_removed_per_rule(demo):
    _, reports, text = demo
    clean = next(r for r in reports if r.stage == "clean")
    assert "What clean removed" in text
    for rule in ("boilerplate", "menu", "repeated", "trailing_list"):
        assert rule in text
    # The demo's WuDao records repeat their answers: clean removes the second copies.
    assert clean.counters["clean_repeated_chars"] > 0
    assert f"{int(clean.counters['clean_repeated_chars']):,}" in text
