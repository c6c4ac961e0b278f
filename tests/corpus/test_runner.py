import dataclasses
import re
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import ClassVar

import orjson
import pytest

from corpus.clean import CleanStep
from corpus.readers.jsonl import JsonlReader
from corpus.records import reject
from corpus.runner import StageError, run_stage
from corpus.shards import list_shards, read_docs
from tests.conftest import make_docs
from tests.kill import kill_mid_run_then_rerun


def _tree_bytes(directory: Path) -> dict[str, bytes]:
    """Every data file under ``directory`` except timing-bearing bookkeeping."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.name != "_manifest.json" and "_stats" not in p.parts
    }


@pytest.fixture
def shards(tmp_path, write_shard):
    src = tmp_path / "in"
    for s in range(6):
        docs = make_docs(40, prefix=f"s{s}-")
        docs[3]["text"] = "   \n\n "  # cleaned to nothing: rejected by clean
        write_shard(src / f"part-{s:05d}.jsonl.zst", docs)
    # a shard with 10% garbage lines
    good = [orjson.dumps(d) for d in make_docs(90, prefix="g")]
    garbage = [b'{"id": "a", "text": ', b'{"id": "b", "text": "\xff"}', b'{"id": "c"}'] * 3 + [b"null"]
    lines = good[:30] + garbage + good[30:]
    (src / "part-00006.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    return src


@pytest.mark.parametrize("workers", [1, 2])
def test_counts_add_up_and_garbage_is_rejected(shards, tmp_path, workers):
    out = tmp_path / f"out{workers}"
    report = run_stage(CleanStep(), inputs=[shards], output=out, workers=workers, progress=False)
    assert report.docs_in == 6 * 40 + 100
    assert report.docs_in == report.docs_out + report.rejected
    assert report.reasons == Counter({"clean_empty": 6, "bad_json": 4, "bad_utf8": 3, "missing_text": 3})
    kept = sum(1 for p in list_shards(out) for _ in read_docs(p))
    rejected = sum(1 for p in list_shards(out / "rejected") for _ in read_docs(p, require_id=False))
    assert (kept, rejected) == (report.docs_out, report.rejected)
    assert sorted(p.name for p in (out / "_done").iterdir()) == [f"part-{i:05d}" for i in range(7)]
    manifest = orjson.loads((out / "_manifest.json").read_bytes())
    assert manifest["totals"]["docs_in"] == report.docs_in
    assert manifest["config"] == {"nfkc": True, "opencc": None, "strip_markup": True, "drop_navigation": True,
                                  "boilerplate_lists": "configs/wordlists/boilerplate", "drop_repeats": True,
                                  "drop_trailing_lists": True, "drop_headline_lists": False,
                                  "keep_layout_sources": ["leetcode"],
                                  "extracted_sources": ["wiki", "baike", "wudao"], "max_furniture_ratio": 0.3,
                                  "min_prose_ratio": 0.35, "min_prose_lines": 10, "min_article_chars": 1200,
                                  "min_article_share": 0.4, "page_model": None, "page_model_mode": "replace",
                                  "min_keep_probability": None}


def test_output_identical_for_any_worker_count(shards, tmp_path):
    run_stage(CleanStep(), inputs=[shards], output=tmp_path / "a", workers=1, progress=False)
    run_stage(CleanStep(), inputs=[shards], output=tmp_path / "b", workers=2, progress=False)
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")


def test_rerun_removes_temporaries_a_kill_left_behind(shards, tmp_path):
    out = tmp_path / "out"
    for stale in ("part-00001.jsonl.zst.tmp-99", "rejected/part-00001.jsonl.zst.tmp-99",
                  "_stats/part-00001.json.tmp-99", "_done/part-00001.tmp-99"):
        (out / stale).parent.mkdir(parents=True, exist_ok=True)
        (out / stale).write_bytes(b"half")
    run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_rerun_skips_done_shards_and_force_redoes(shards, tmp_path):
    out = tmp_path / "out"
    run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    again = run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    assert again.shards_skipped == 7
    forced = run_stage(CleanStep(), inputs=[shards], output=out, workers=1, force=True, progress=False)
    assert forced.shards_skipped == 0 and forced.docs_in == again.docs_in


def test_reader_gets_one_shard_per_input_file(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    for i in range(3):
        (raw / f"dump{i}.jsonl").write_text("\n".join(f'{{"content": "text {i}-{j}"}}' for j in range(5)) + "\n")
    out = tmp_path / "out"
    report = run_stage(JsonlReader(text_field="content"), inputs=[raw], output=out, progress=False)
    assert report.docs_out == 15
    docs = list(read_docs(out / "jsonl-00001.jsonl.zst"))
    assert docs[0]["id"] == "jsonl:dump1:1" and docs[0]["text"] == "text 1-0"


class _Boom:
    name = "boom"

    def __call__(self, docs, counters):
        for doc in docs:
            if doc["id"] == "s2-5":
                raise ValueError("bad state")
            yield doc


def test_stage_errors_name_stage_and_shard(shards, tmp_path):
    with pytest.raises(StageError, match=r"boom failed on .*part-00002"):
        run_stage(_Boom(), inputs=[shards], output=tmp_path / "out", progress=False)
    assert not (tmp_path / "out" / "_done" / "part-00002").exists()


def test_stage_rejections_are_counted(shards, tmp_path):
    class Odd:
        name = "odd"

        def __call__(self, docs, counters):
            for i, doc in enumerate(docs):
                counters["seen"] += 1
                yield reject(doc, stage="odd", reason="odd_position", value=i) if i % 2 else doc

    report = run_stage(Odd(), inputs=[shards / "part-00000.jsonl.zst"], output=tmp_path / "o", progress=False)
    assert report.reasons == Counter({"odd_position": 20})
    assert report.counters["seen"] == 40


SLOW_STAGE = textwrap.dedent(
    """
    import dataclasses, sys, time
    from pathlib import Path
    from typing import ClassVar
    from corpus.runner import run_stage

    @dataclasses.dataclass(frozen=True)
    class Slow:
        name: ClassVar[str] = "slow"
        def __call__(self, docs, counters):
            for doc in docs:
                time.sleep(0.004)
                doc["meta"]["kind"] = "seen"  # a declared key (corpus/schema.py)
                yield doc

    if __name__ == "__main__":
        run_stage(Slow(), inputs=[Path(sys.argv[1])], output=Path(sys.argv[2]), workers=2, progress=False)
    """
)


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_is_byte_identical(tmp_path, write_shard):
    src = tmp_path / "in"
    for s in range(8):
        write_shard(src / f"part-{s:05d}.jsonl.zst", make_docs(60, prefix=f"k{s}-"))
    script = tmp_path / "slow_stage.py"
    script.write_text(SLOW_STAGE)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    kill_mid_run_then_rerun(script, src, reference, killed, done=killed / "_done", shards=8)
    assert _tree_bytes(killed) == _tree_bytes(reference)


# --- fingerprints and progress ------------------------------------------------------------------------


def test_changed_options_redo_the_shards_and_the_marker_says_what_made_them(shards, tmp_path):
    out = tmp_path / "out"
    run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    marker = orjson.loads((out / "_done" / "part-00000").read_bytes())
    assert marker["options"]["nfkc"] is True and marker["inputs"]["part-00000"].startswith("file:")
    again = run_stage(CleanStep(nfkc=False), inputs=[shards], output=out, workers=1, progress=False)
    assert (again.shards_skipped, again.shards_redone) == (0, 7)
    assert again.redo_reasons == ["nfkc true -> false"]
    assert orjson.loads((out / "_manifest.json").read_bytes())["config"]["nfkc"] is False
    assert orjson.loads((out / "_done" / "part-00000").read_bytes())["options"]["nfkc"] is False
    # An input that changed is redone too, and only that one.
    docs = list(read_docs(shards / "part-00001.jsonl.zst"))
    (shards / "part-00001.jsonl.zst").unlink()
    from corpus.shards import ShardWriter

    with ShardWriter(shards / "part-00001.jsonl.zst") as writer:
        for doc in docs[:5]:
            writer.write(doc)
    third = run_stage(CleanStep(nfkc=False), inputs=[shards], output=out, workers=2, progress=False)
    assert (third.shards_skipped, third.shards_redone, third.redo_reasons) == (6, 1, ["input"])
    assert third.docs_in == 6 * 40 + 100 - 35


def test_a_marker_from_an_older_run_counts_as_stale(shards, tmp_path):
    out = tmp_path / "out"
    run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    (out / "_done" / "part-00003").write_bytes(b"")  # what earlier versions wrote
    again = run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    assert (again.shards_skipped, again.shards_redone) == (6, 1)


@dataclasses.dataclass(frozen=True)
class _Slow:
    """A stage that takes about 3 s over one shard, as a filter does over a big one."""

    name: ClassVar[str] = "slow"

    def __call__(self, docs, counters):
        for doc in docs:
            time.sleep(0.01)
            yield doc


@pytest.mark.parametrize("upstream", [False, True], ids=["raw-file-by-read-offset", "stage-output-by-doc-count"])
def test_progress_bar_moves_every_second_with_a_total_and_an_eta(tmp_path, write_shard, capsys, upstream):
    docs = [{"id": f"p{i}", "text": f"{i} " + "word " * 2000, "source": "t", "meta": {}} for i in range(300)]
    source = write_shard(tmp_path / "raw" / "part-00000.jsonl", docs)  # 3 MB: far more than any read buffer
    if upstream:  # a small zstd shard with its _stats, as an earlier stage leaves it
        from corpus.stats import StatsStep

        run_stage(StatsStep(), inputs=[source], output=tmp_path / "stats", workers=1, progress=False)
        source = tmp_path / "stats" / "part-00000.jsonl.zst"
    capsys.readouterr()
    started = time.monotonic()
    run_stage(_Slow(), inputs=[source], output=tmp_path / "out", workers=1, progress=True)
    seconds = time.monotonic() - started
    bar = capsys.readouterr().err
    frames = [f for f in re.split(r"[\r\n]", bar) if "slow" in f]
    from tqdm import tqdm

    total = "/" + tqdm.format_sizeof(source.stat().st_size, divisor=1024)
    assert all(total in f for f in frames), frames  # the total is the input's size
    percents = [int(m.group(1)) for f in frames if (m := re.search(r"(\d+)%", f))]
    assert len(set(percents)) >= seconds - 1 and percents == sorted(percents), frames  # moves each second
    assert 0 < min(p for p in percents if p) < 60 and percents[-1] == 100
    assert any(re.search(r"<00:0[1-9]", f) for f in frames), frames  # an ETA while it runs


@pytest.mark.ray
def test_ray_engine_writes_the_same_markers_and_redoes_changed_options(shards, tmp_path):
    ray = pytest.importorskip("ray")
    from corpus.engines.ray import RayOptions, run_stage_ray

    local, on_ray = tmp_path / "local", tmp_path / "ray"
    run_stage(CleanStep(), inputs=[shards], output=local, workers=1, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run_stage_ray(CleanStep(), inputs=[shards], output=on_ray, progress=False, options=RayOptions())
        assert {p.name: p.read_bytes() for p in (local / "_done").iterdir()} == \
            {p.name: p.read_bytes() for p in (on_ray / "_done").iterdir()}
        same = run_stage_ray(CleanStep(), inputs=[shards], output=on_ray, progress=False, options=RayOptions())
        assert (same.shards_skipped, same.shards_redone) == (7, 0)
        changed = run_stage_ray(CleanStep(nfkc=False), inputs=[shards], output=on_ray, progress=False,
                                options=RayOptions())
        assert (changed.shards_skipped, changed.shards_redone, changed.redo_reasons) == (0, 7, ["nfkc true -> false"])
        assert orjson.loads((on_ray / "_manifest.json").read_bytes())["config"]["nfkc"] is False
    finally:
        ray.shutdown()


def test_shards_of_inputs_no_longer_given_are_removed(shards, tmp_path, capsys):
    out = tmp_path / "out"
    run_stage(CleanStep(), inputs=[shards], output=out, workers=1, progress=False)
    fewer = run_stage(CleanStep(), inputs=[shards / "part-00000.jsonl.zst"], output=out, workers=1, progress=False)
    assert fewer.shards == 1 and fewer.shards_skipped == 1
    assert "removed 6 shard(s)" in capsys.readouterr().err
    assert [p.name for p in list_shards(out)] == ["part-00000.jsonl.zst"]
    assert sorted(p.name for p in (out / "_done").iterdir()) == ["part-00000"]
    assert sorted(p.name for p in (out / "_stats").iterdir()) == ["part-00000.json"]
    assert list(orjson.loads((out / "_manifest.json").read_bytes())["shards"]) == ["part-00000"]


# --- the runner contract (corpus/contract.py) ----------------------------------------------------------


def test_stage_kinds_are_the_declared_protocols():
    from corpus.contract import fusable, stage_kind
    from corpus.dedup.exact import ExactDedupStep
    from corpus.pack.merge import MergeStep
    from corpus.score.stage import ScoreStep

    assert [stage_kind(s) for s in (CleanStep(), JsonlReader(), ScoreStep(), MergeStep(), _Boom())] == \
        ["docs", "reader", "sink", "once", "docs"]  # a reader is callable too: it is found first
    assert [fusable(s) for s in (CleanStep(), ExactDedupStep(), ScoreStep(), MergeStep())] == [True, False, False, False]

    class Nameless:
        def __call__(self, docs, counters):
            yield from docs

    with pytest.raises(StageError, match="is not a stage"):
        stage_kind(Nameless())


def test_a_stage_checks_its_inputs_only_when_it_declares_it():
    from corpus.contract import ChecksInputs, check_inputs
    from corpus.pack.merge import MergeStep

    typed = MergeStep(format="knowlm", types=("zh", "en"))
    assert isinstance(typed, ChecksInputs) and not isinstance(CleanStep(), ChecksInputs)
    check_inputs(typed, [Path("a"), Path("b")])
    check_inputs(CleanStep(), [])  # nothing to check: no error
    with pytest.raises(ValueError, match="give one type per input"):
        check_inputs(typed, [Path("a")])


class _TakeThree:
    """A sink that stops reading after three documents."""

    name = "take-three"

    def write_shard(self, docs, out_stem, counters):
        for _, doc in zip(range(3), docs, strict=False):
            counters["written"] += len(doc["text"]) > 0


def test_a_sink_keeps_the_documents_it_takes(shards, tmp_path):
    out = tmp_path / "out"
    report = run_stage(_TakeThree(), inputs=[shards / "part-00000.jsonl.zst"], output=out, progress=False)
    assert (report.docs_in, report.docs_out, report.rejected, report.counters["written"]) == (3, 3, 0, 3)
    record = orjson.loads((out / "_stats" / "part-00000.json").read_bytes())
    assert list(record)[:6] == ["shard", "stage", "input", "in", "out", "rejected"]  # the layout _stats always had
