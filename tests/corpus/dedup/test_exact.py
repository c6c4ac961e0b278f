import pytest

from corpus.dedup.exact import EXACT_DUPLICATE, ExactDedupStep, normalise
from corpus.records import rejection
from corpus.runner import run_stage
from corpus.shards import list_shards, read_docs


def _doc(i, text):
    return {"id": f"d{i}", "text": text, "source": "t", "meta": {}}


def test_normalise_folds_width_case_and_space():
    assert normalise("Ｈello\u3000 WORLD\n") == normalise("hello world")


def test_keeps_first_in_shard_order_across_shards(tmp_path, write_shard):
    write_shard(tmp_path / "in" / "part-00001.jsonl", [_doc(3, "same text"), _doc(4, "unique b")])
    write_shard(tmp_path / "in" / "part-00000.jsonl", [_doc(1, "unique a"), _doc(2, "Same  TEXT")])
    out = tmp_path / "out"
    report = run_stage(ExactDedupStep(), inputs=[tmp_path / "in"], output=out, workers=2, progress=False)
    assert (report.docs_in, report.docs_out, report.reasons[EXACT_DUPLICATE]) == (4, 3, 1)
    removed = [d for p in list_shards(out / "rejected") for d in read_docs(p)]
    assert [(d["id"], rejection(d)["kept_id"]) for d in removed] == [("d3", "d2")]


def test_same_decisions_for_any_worker_count(tmp_path, write_shard):
    for s in range(4):
        write_shard(tmp_path / "in" / f"part-{s:05d}.jsonl.zst", [_doc(f"{s}-{i}", f"text {i % 7}") for i in range(30)])
    kept = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        run_stage(ExactDedupStep(), inputs=[tmp_path / "in"], output=out, workers=workers, progress=False)
        kept.append([d["id"] for p in list_shards(out) for d in read_docs(p)])
    assert kept[0] == kept[1] == [f"d0-{i}" for i in range(7)]


def _sourced(i, text, source):
    return {"id": f"{source}:{i}", "text": text, "source": source, "meta": {}}


def _priority_run(tmp_path, write_shard, name, **options):
    # baike's shard sorts first, so shard order alone keeps baike's copy
    write_shard(tmp_path / "in" / "baike-00000.jsonl", [_sourced(1, "西湖位于杭州。", "baike"), _sourced(2, "别的", "baike")])
    write_shard(tmp_path / "in" / "wudao-00000.jsonl", [_sourced(7, "西湖位于杭州。", "wudao")])
    write_shard(tmp_path / "in" / "zhwiki-00000.jsonl", [_sourced(9, "别的", "zhwiki")])
    out = tmp_path / name
    run_stage(ExactDedupStep(**options), inputs=[tmp_path / "in"], output=out, workers=1, progress=False)
    removed = [d for p in list_shards(out / "rejected") for d in read_docs(p)]
    return sorted((d["id"], rejection(d)["kept_id"]) for d in removed)


def test_source_priority_picks_the_copy_kept(tmp_path, write_shard):
    assert _priority_run(tmp_path, write_shard, "default") == [("wudao:7", "baike:1"), ("zhwiki:9", "baike:2")]
    # listed sources first in their order; unlisted (baike) after them
    assert _priority_run(tmp_path, write_shard, "prio", source_priority=["zhwiki", "wudao"]) == \
        [("baike:1", "wudao:7"), ("baike:2", "zhwiki:9")]


def test_source_priority_must_be_a_list_of_names():
    with pytest.raises(ValueError, match="list of source names"):
        ExactDedupStep(source_priority="zhwiki")


def test_hashes_sorted_in_partitions_give_the_same_removal_files(tmp_path, write_shard, monkeypatch):
    """PARTITION_DOCS below the corpus size sorts hash % parts groups one at a time: the same bytes."""
    import corpus.dedup.exact as exact

    for s in range(3):  # ids of several widths, sources in priority and not, copies within and across shards
        write_shard(tmp_path / "in" / f"part-{s:05d}.jsonl",
                    [_sourced(f"{s}-{i}" * (1 + i % 3), f"text {i % 11}", ("wiki", "web", "baike")[(s + i) % 3])
                     for i in range(40)])
    files = {}
    for name, per_part in (("whole", exact.PARTITION_DOCS), ("parts", 7)):
        monkeypatch.setattr(exact, "PARTITION_DOCS", per_part)
        out = tmp_path / name
        report = run_stage(ExactDedupStep(source_priority=("baike", "wiki")), inputs=[tmp_path / "in"], output=out,
                           workers=1, progress=False)
        assert report.reasons[EXACT_DUPLICATE] == 120 - 11
        files[name] = {p.name: p.read_bytes() for p in sorted(out.glob("_dedup-exact/*.removed.npz"))}
    assert len(files["whole"]) == 3 and files["whole"] == files["parts"]


def test_removed_documents_spill_to_disk_and_a_killed_runs_spill_is_cleared(tmp_path, write_shard, monkeypatch):
    """The decide step keeps each partition's removed rows on disk, not in the driver: the spill exists
    while the removal lists are written, and is gone after; a stale spill (a killed run) does not leak in."""
    import corpus.dedup.exact as exact

    for s in range(2):
        write_shard(tmp_path / "in" / f"part-{s:05d}.jsonl", [_doc(f"{s}-{i}", f"text {i % 5}") for i in range(20)])
    out = tmp_path / "out"
    stale = out / exact.STATE_DIR / exact.SPILL_DIR
    stale.mkdir(parents=True)
    for name in ("hash", "rank", "position", "kept"):  # a partition 0 of another corpus
        (stale / f"0.{name}.npy").write_bytes(b"not an array")
    seen = tmp_path / "seen.txt"  # a file, not a list: the decision runs in a forked child (globalstep)
    write = exact.write_removal_list

    def spying(state, name, positions, kept):
        with open(seen, "a") as f:
            f.write(f"{len(list((state / exact.SPILL_DIR).iterdir()))}\n")
        write(state, name, positions, kept)

    monkeypatch.setattr(exact, "PARTITION_DOCS", 8)  # 40 documents: 5 partitions spilled
    monkeypatch.setattr(exact, "write_removal_list", spying)
    report = run_stage(ExactDedupStep(), inputs=[tmp_path / "in"], output=out, workers=1, progress=False)
    assert report.reasons[EXACT_DUPLICATE] == 40 - 5
    spilled = seen.read_text().split()
    assert spilled and all(int(n) == 5 * 4 for n in spilled)
    assert not stale.exists()
