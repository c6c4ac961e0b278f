"""Fused document stages: one pass per shard, the same bytes and markers as running each stage alone."""

import dataclasses
import os
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import orjson
import pytest

from corpus.pipeline import (
    ConfigError,
    PlannedStage,
    StageCall,
    fuse_groups,
    parse_config,
    plan_pipeline,
    run_pipeline,
)
from corpus.runner import StageError, run_stage
from corpus.shards import list_shards, read_docs
from corpus.steps import build_step
from tests.conftest import REPO
from tests.kill import kill_mid_run_then_rerun

STAGES = ("clean", "filter", "pii")
TAG_LOG = "KNOWFORGE_TEST_TAG_LOG"  # where _Tag notes each shard it is run on (an option would be fingerprinted)


@dataclasses.dataclass(frozen=True, kw_only=True)
class _Tag:
    """A document stage that adds a tuple to meta.tags (a list on disk) and drops documents whose text has ``drop``."""

    name: ClassVar[str] = "tag"
    drop: str = "@"

    def __call__(self, docs: Iterator[dict], counters) -> Iterator[dict]:
        if os.environ.get(TAG_LOG):
            with open(os.environ[TAG_LOG], "a") as log:
                log.write("shard\n")
        for doc in docs:
            # A tuple (a JSON list once read back) under a declared key (corpus/schema.py: tags, list of str).
            doc["meta"]["tags"] = ("seen", str(len(doc["text"])))
            if self.drop in doc["text"]:
                doc["meta"]["reject"] = {"stage": "tag", "reason": "tag_drop"}
            counters["tagged"] += 1
            yield doc


@pytest.fixture
def raw(tmp_path, write_shard):
    """Four shards of real sample text (zh, en, near-duplicates), some with e-mails, some too short to
    keep, plus one broken line."""
    texts = [orjson.loads(line)["text"] for line in (REPO / "data_samples/jsonl/web-near-duplicates.jsonl").open("rb")]
    texts += [orjson.loads(line)["content"] for line in (REPO / "data_samples/jsonl/knowlm-style.jsonl").open("rb")
              if line.strip() and b"cut off" not in line]
    directory = tmp_path / "raw"
    for s in range(4):
        docs = []
        for i, text in enumerate(texts):
            if (i + s) % 3 == 0:
                text += f" 联系 user{s}{i}@example.com 或 13812345678。"
            docs.append({"id": f"r{s}-{i}", "text": text if (i + s) % 5 else "短", "source": "web", "meta": {}})
        write_shard(directory / f"part-{s:05d}.jsonl.zst", docs)
    with open(directory / "part-00004.jsonl", "wb") as f:
        f.write(b'{"id": "x1", "text": "A line that is fine, with an address a@b.org in it."}\n{"id": "x2", "te\n')
    return directory


def _calls(raw: Path, names=STAGES, **options) -> list[StageCall]:
    calls = []
    for i, name in enumerate(names):
        stage = _Tag(**options.get(name, {})) if name == "tag" else build_step(name, options.get(name, {}))
        calls.append(StageCall(stage, [raw] if i == 0 else []))
    return calls


def _run(raw: Path, work: Path, *, fuse: bool, workers: int = 1, names=STAGES, **options) -> list:
    return run_pipeline(_calls(raw, names, **options), work_dir=work, workers=workers, progress=False, fuse=fuse)


def _files(work: Path) -> dict[str, bytes]:
    """Every file a later stage or a rerun reads: kept shards of the last stage, rejected/, _done/ markers,
    and _stats/ and manifests without their timings and paths."""
    out = {}
    for path in sorted(work.rglob("*")):
        if not path.is_file() or path.name == "README.md":  # dataset cards describe the files present
            continue
        rel = str(path.relative_to(work))
        data = path.read_bytes().replace(str(work).encode(), b"WORK")
        if "_stats" in path.parts or path.name == "_manifest.json":
            record = orjson.loads(data)
            for key in ("seconds", "fused"):
                record.pop(key, None)
            record.get("totals", {}).pop("counters", None)  # filter_seconds_* counters are timings
            record.get("totals", {}).pop("shards_skipped", None)  # says what this run did, not what is there
            record.pop("counters", None)
            data = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
        out[rel] = data
    return out


def _kept_shards(directory: Path) -> list[str]:
    return [p.name for p in list_shards(directory)]


@pytest.mark.parametrize("workers", [1, 2])
def test_fused_run_writes_the_bytes_of_the_unfused_one_without_intermediate_documents(raw, tmp_path, workers):
    plain, fused = tmp_path / "plain", tmp_path / "fused"
    _run(raw, plain, fuse=False, workers=1)
    reports = _run(raw, fused, fuse=True, workers=workers)
    assert [r.stage for r in reports] == list(STAGES)
    # The intermediate stages keep every file but their kept documents.
    for stage in ("01-clean", "02-filter"):
        assert _kept_shards(fused / stage) == []
        assert _kept_shards(plain / stage)  # (a shard that kept nothing has no file, fused or not)
        manifest = orjson.loads((fused / stage / "_manifest.json").read_bytes())
        assert manifest["fused"]["stages"] == list(STAGES)
        assert manifest["fused"]["kept_documents"].startswith("passed on in memory")
    for stage in ("01-clean", "02-filter"):
        for path in list_shards(plain / stage):
            path.unlink()
    assert _files(fused) == _files(plain)
    # The filter and pii really had work: drops by several reasons, masked e-mails in the final output.
    assert reports[1].rejected > 0 and reports[0].reasons["bad_json"] == 1
    final = [d for p in list_shards(fused / "03-pii") for d in read_docs(p)]
    assert final and any("<EMAIL>" in d["text"] for d in final)
    assert sum(r.seconds for r in reports) > 0


def test_a_rerun_skips_and_an_unfused_rerun_writes_the_missing_documents(raw, tmp_path, capsys):
    work = tmp_path / "work"
    _run(raw, work, fuse=True)
    before = _files(work)
    again = _run(raw, work, fuse=True)
    assert [r.shards_skipped for r in again] == [r.shards for r in again] and again[0].shards == 5
    assert _files(work) == before
    capsys.readouterr()
    # Unfused, the next stage needs clean's documents on disk: clean and filter are made again (with
    # the same markers), pii stays done.
    unfused = _run(raw, work, fuse=False)
    # A filter shard that kept nothing has no file to write, so it stays done (docs/architecture.md).
    kept = len(_kept_shards(work / "02-filter"))
    assert [(r.shards_redone, r.shards_skipped) for r in unfused] == [(5, 0), (kept, 5 - kept), (0, kept)]
    assert "kept documents not written" in capsys.readouterr().err
    assert len(_kept_shards(work / "01-clean")) == 5
    for stage in ("01-clean", "02-filter"):
        for path in list_shards(work / stage):
            path.unlink()
        (work / stage / "README.md").unlink(missing_ok=True)  # the dataset card of those kept shards
    assert _files(work) == before


def test_a_changed_middle_option_redoes_it_and_what_follows_and_reads_done_documents_from_disk(
        raw, tmp_path, monkeypatch):
    names = ("clean", "tag", "pii")
    reference = tmp_path / "reference"
    _run(raw, reference, fuse=False, names=names, tag={"drop": "library"})

    work = tmp_path / "work"
    _run(raw, work, fuse=False, names=names)  # clean's documents are on disk
    clean_stats = (work / "01-clean" / "_stats" / "part-00000.json").read_bytes()
    log = tmp_path / "tag.log"
    monkeypatch.setenv(TAG_LOG, str(log))
    # pii had a shard only where tag kept something (an empty shard has no file: docs/architecture.md);
    # those are redone, a shard tag now keeps something of is new.
    made_before = len(list((work / "03-pii" / "_done").iterdir()))
    reports = _run(raw, work, fuse=True, names=names, tag={"drop": "library"})
    assert [(r.shards_skipped, r.shards_redone) for r in reports] == [(5, 0), (0, 5), (0, made_before)]
    assert reports[1].redo_reasons == ['drop "@" -> "library"']
    assert reports[1].reasons["tag_drop"] > 0
    assert (work / "01-clean" / "_stats" / "part-00000.json").read_bytes() == clean_stats  # clean not rewritten
    assert len(log.read_text().splitlines()) == 5
    # tag's old documents were made with other settings: gone, so no unfused run takes them as done.
    assert _kept_shards(work / "02-tag") == []
    for path in list_shards(reference / "02-tag"):
        path.unlink()
    assert _files(work) == _files(reference)


def test_a_lost_marker_redoes_only_that_stage_and_shard(raw, tmp_path, monkeypatch):
    names = ("clean", "tag", "pii")
    work = tmp_path / "work"
    _run(raw, work, fuse=True, names=names)
    before = _files(work)
    pii_stats = (work / "03-pii" / "_stats" / "part-00002.json").read_bytes()
    (work / "01-clean" / "_done" / "part-00002").unlink()
    log = tmp_path / "tag.log"
    monkeypatch.setenv(TAG_LOG, str(log))
    reports = _run(raw, work, fuse=True, names=names)
    fed = len(list((work / "03-pii" / "_stats").glob("*.json")))  # shards tag kept something of
    assert [r.shards_skipped for r in reports] == [4, 5, fed]
    assert not log.exists()  # the pass stopped after clean: tag and pii were done with the same input
    assert (work / "03-pii" / "_stats" / "part-00002.json").read_bytes() == pii_stats
    assert _files(work) == before


FUSED_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from corpus.pipeline import StageCall, run_pipeline
    from corpus.steps import build_step

    class Slow:
        name = "slow"
        def __call__(self, docs, counters):
            for doc in docs:
                time.sleep(0.01)
                yield doc

    if __name__ == "__main__":
        calls = [StageCall(build_step("clean"), [Path(sys.argv[1])]), StageCall(Slow()), StageCall(build_step("pii"))]
        run_pipeline(calls, work_dir=Path(sys.argv[2]), workers=2, progress=False)
    """
)


@pytest.mark.slow
def test_sigkill_mid_fused_run_then_rerun_is_byte_identical(tmp_path, write_shard):
    src = tmp_path / "in"
    for s in range(8):
        docs = [{"id": f"k{s}-{i}", "text": f"Document {i} of {s}, mail k{i}@example.com.", "source": "t", "meta": {}}
                for i in range(60)]
        write_shard(src / f"part-{s:05d}.jsonl.zst", docs)
    script = tmp_path / "fused.py"
    script.write_text(FUSED_SCRIPT)
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    kill_mid_run_then_rerun(script, src, reference, killed, done=killed / "03-pii" / "_done", shards=8)
    assert not [p for p in killed.rglob("*") if ".tmp-" in p.name]
    assert _files(killed) == _files(reference)


def _planned(names: list[str], inputs: dict[int, list[str]] | None = None, given: set[int] = frozenset()):
    steps = []
    for i, name in enumerate(names):
        ins = [Path(p) for p in (inputs or {}).get(i, [])] or ([Path(f"w/{i:02d}")] if i else [Path("raw")])
        steps.append(PlannedStage(build_step(name), name, ins, Path(f"w/{i + 1:02d}"), output_given=i in given))
    return steps


def test_which_stages_fuse():
    groups = fuse_groups(_planned(["clean", "filter", "pii", "dedup-exact", "stats", "pack"]))
    assert [[s.label for s in g] for g in groups] == [["clean", "filter", "pii"], ["dedup-exact"], ["stats"], ["pack"]]
    assert len(fuse_groups(_planned(["clean", "filter"]), fuse=False)) == 2
    # A branch reads clean's output (score beside filter), or the user named it: its documents are written.
    branch = _planned(["clean", "filter", "stats"], inputs={2: ["w/01"]})
    assert [[s.label for s in g] for g in fuse_groups(branch)] == [["clean"], ["filter"], ["stats"]]
    named = _planned(["clean", "filter", "pii"], given={0})
    assert [[s.label for s in g] for g in fuse_groups(named)] == [["clean"], ["filter", "pii"]]


def test_yaml_fuse_key_and_plan(tmp_path, raw):
    from corpus.pipeline import plan_text

    config = parse_config({"work_dir": str(tmp_path / "w"), "steps": [{"clean": {"input": [str(raw)]}},
                                                                      {"filter": {}}, {"dedup-exact": {}}]})
    assert config.fuse is True
    assert "fused: clean+filter in one pass per shard" in plan_text(config)
    assert "fused:" not in plan_text(config, fuse=False)
    assert "fused: clean+filter" in plan_text(config, engine="ray")
    off = parse_config({"fuse": False, "steps": [{"clean": {"input": [str(raw)]}}, {"filter": {}}]})
    assert off.fuse is False and "fused:" not in plan_text(off)
    with pytest.raises(ConfigError, match="`fuse` must be true or false"):
        parse_config({"fuse": "yes", "steps": [{"clean": {}}]})
    assert len(plan_pipeline(config.calls, work_dir=tmp_path)) == 3


def test_reading_a_fused_intermediate_says_where_the_documents_are(raw, tmp_path):
    work = tmp_path / "work"
    _run(raw, work, fuse=True)
    with pytest.raises(StageError, match="made in a fused run .*--no-fuse"):
        run_stage(build_step("stats"), inputs=[work / "01-clean"], output=tmp_path / "s", progress=False)
    with pytest.raises(ConfigError, match="made in a fused run"):
        run_pipeline([StageCall(build_step("stats"), [work / "02-filter"])], work_dir=tmp_path / "w2", workers=1,
                     progress=False)


def test_show_and_report_still_explain_a_document(raw, tmp_path):
    from corpus.report import collect, document_fate

    work = tmp_path / "work"
    reports = _run(raw, work, fuse=True)
    dropped = next(d for p in list_shards(work / "02-filter" / "rejected") for d in read_docs(p))
    fate = document_fate(work, dropped["id"])
    assert fate[1].startswith("02-filter: dropped: ") and fate[2] == "03-pii: not reached (dropped earlier)"
    report = collect(work / "02-filter")
    assert (report.docs_in, report.rejected) == (reports[1].docs_in, reports[1].rejected)
    from corpus.steps import build_reader

    read = tmp_path / "read"
    calls = [StageCall(build_reader("jsonl"), [raw]), *[StageCall(c.stage) for c in _calls(raw)]]
    run_pipeline(calls, work_dir=read, workers=1, progress=False)
    masked = next(d for p in list_shards(read / "04-pii") for d in read_docs(p) if "<EMAIL>" in d["text"])
    fate = document_fate(read, masked["id"])
    assert fate[1] == "02-clean: kept, passed on to filter in memory (a fused run keeps no copy here; --no-fuse " \
        "writes one)"
    assert fate[2].startswith("03-filter: kept, passed on to pii")
    # pii's change is told against the last stage that holds a copy: the reader's.
    assert fate[3].startswith("04-pii: changed since 01-read-jsonl (")


@dataclasses.dataclass(frozen=True)
class _Sleepy:
    """A stage that takes 5 ms per document: far more than clean and pii on these small texts."""

    name: ClassVar[str] = "sleepy"

    def __call__(self, docs, counters):
        for doc in docs:
            time.sleep(0.005)
            yield doc


def test_each_fused_stage_is_given_its_own_share_of_the_time(raw, tmp_path):
    calls = [StageCall(build_step("clean"), [raw]), StageCall(_Sleepy()), StageCall(build_step("pii"))]
    started = time.perf_counter()
    reports = run_pipeline(calls, work_dir=tmp_path / "w", workers=1, progress=False)
    wall = time.perf_counter() - started
    clean, sleepy, pii = (r.seconds for r in reports)
    assert sleepy >= 0.005 * reports[1].docs_in
    assert sleepy > 2 * (clean + pii)
    assert clean + sleepy + pii <= wall
    stats = orjson.loads((tmp_path / "w" / "02-sleepy" / "_stats" / "part-00000.json").read_bytes())
    assert stats["seconds"] >= 0.005 * stats["in"]


@pytest.mark.ray
def test_ray_fuses_the_same_way_and_writes_the_same_files(raw, tmp_path):
    ray = pytest.importorskip("ray")
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    _run(raw, local, fuse=True, workers=2)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        reports = run_pipeline(_calls(raw), work_dir=on_ray, workers=2, progress=False, engine="ray")
        assert _kept_shards(on_ray / "01-clean") == []
        assert _files(on_ray) == _files(local)
        # Unfused on Ray after a fused run: the intermediate documents are written, nothing else changes.
        again = run_pipeline(_calls(raw), work_dir=on_ray, workers=2, progress=False, engine="ray", fuse=False)
    finally:
        ray.shutdown()
    assert [r.docs_out for r in reports] == [r.docs_out for r in again]
    # pii reads filter's kept shards: one of the five kept nothing and has no file (docs/architecture.md).
    kept_by_filter = len(_kept_shards(on_ray / "02-filter"))
    # A filter shard that kept nothing is done (it has no file to write); pii's are all there.
    assert [(r.shards_redone, r.shards_skipped) for r in again] == [
        (5, 0), (kept_by_filter, 5 - kept_by_filter), (0, kept_by_filter)]
    assert len(_kept_shards(on_ray / "01-clean")) == 5


@pytest.mark.parametrize("where", ["group", "after-stage", "yaml", "run"])
def test_no_fuse_from_the_command_line_and_yaml(raw, tmp_path, where):
    import yaml
    from click.testing import CliRunner

    from cli import main

    work = tmp_path / "w"
    chain = ["read", "--source", "jsonl", "-i", str(raw), "clean", "pii", "stats"]
    recipe = {"work_dir": str(work), "steps": [{"read": {"source": "jsonl", "input": [str(raw)]}}, {"clean": {}},
                                               {"pii": {}}, {"stats": {}}]}
    if where in ("yaml", "run"):
        if where == "yaml":
            recipe["fuse"] = False
        (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe))
        args = ["run", str(tmp_path / "r.yaml"), "--quiet", *(["--no-fuse"] if where == "run" else [])]
    else:
        flag_first = where == "group"
        args = ["corpus", "-w", str(work), "--quiet", *(["--no-fuse"] if flag_first else []), *chain,
                *([] if flag_first else ["--no-fuse"])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(_kept_shards(work / "02-clean")) == 5 and len(_kept_shards(work / "03-pii")) == 5
    fused = tmp_path / "fused"
    default = ["corpus", "-w", str(fused), "--quiet", *chain]
    assert CliRunner().invoke(main, default).exit_code == 0
    assert _kept_shards(fused / "02-clean") == [] and _kept_shards(fused / "03-pii") == []
    assert len(_kept_shards(fused / "04-stats")) == 5
    for stage in ("02-clean", "03-pii"):
        for path in list_shards(work / stage):
            path.unlink()
        (work / stage / "README.md").unlink(missing_ok=True)  # the dataset card of those kept shards
    assert _files(work) == _files(fused)


def test_a_fused_pass_locks_every_output_it_writes(raw, tmp_path):
    # Another run holds the middle stage's output: the fused pass stops before touching anything.
    from corpus.lock import OutputLocked, output_lock

    work = tmp_path / "w"
    with output_lock(work / "02-filter"):
        with pytest.raises(OutputLocked, match="in use by another run"):
            _run(raw, work, fuse=True)
    assert not list(work.glob("0*-*/_done/*"))
