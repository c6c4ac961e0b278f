"""Our corpus outputs load, unmodified, in the readers their users have (issue #18).

HF ``datasets`` (JSON over all shards of every demo stage, Parquet over every ``--format hf`` output and
over Parquet stage output) and megatron-core (``IndexedDataset`` and ``GPTDataset`` over every per-shard
and merged prefix); plus the declared meta schema and the rule that no stage leaves an empty file.
.ci/run also runs the ``datasets`` tests here under the lowest ``datasets`` we allow.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from corpus.demo import run_demo
from corpus.pack.stage import MERGED, NO_SAMPLES
from corpus.runner import run_stage
from corpus.schema import META, SchemaError, arrow_schema, conform_meta, features, gather_extra
from corpus.shards import iter_json_lines, list_shards, read_docs
from corpus.steps import build_step

datasets = pytest.importorskip("datasets")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The demo's corpus work directory, plus a ``--format hf`` pack of its dedup output."""
    out = tmp_path_factory.mktemp("interop")
    reports = run_demo(out, workers=2, progress=False, echo=lambda _: None)
    work = out / "corpus"
    dedup = next(r.output for r in reports if r.stage == "dedup")
    run_stage(build_step("pack", {"format": "hf"}), inputs=[dedup], output=work / "pack-hf", progress=False)
    return work


def _shard_dirs(work: Path) -> list[Path]:
    """Every folder of the demo holding JSONL shards: each stage's output, its rejected/, score buckets."""
    return sorted({p.parent for p in work.rglob("*.jsonl.zst") if not p.parent.name.startswith("_")})


def _load_json(files: list[Path], cache: Path):
    return datasets.load_dataset("json", data_files=[str(f) for f in files], split="train", features=features(),
                                 cache_dir=str(cache))


# --- the declared schema -----------------------------------------------------------------------------------

def test_conform_fills_every_declared_key_in_table_order_and_checks_types():
    meta = conform_meta({"lang": "zh", "page_id": 7, "scores": {"langid": {"lang": "zh", "score": 1}}})
    assert list(meta) == list(META)
    assert meta["lang"] == "zh" and meta["title"] is None and meta["links"] is None
    assert meta["scores"]["langid"] == {"lang": "zh", "letters": None, "score": 1.0}  # int stored as float
    assert meta["scores"]["gopher_quality"] is None
    with pytest.raises(SchemaError, match=r"meta: undeclared key\(s\) 'my_score'.*corpus/schema.py"):
        conform_meta({"my_score": 1.0})
    with pytest.raises(SchemaError, match=r"meta.scores.langid: undeclared key\(s\) 'extra_score'"):
        conform_meta({"scores": {"langid": {"extra_score": 2}}})
    with pytest.raises(SchemaError, match=r"meta.page_id: expected int, got str"):
        conform_meta({"page_id": "12"})
    with pytest.raises(SchemaError, match=r"meta.tags: expected a list"):
        conform_meta({"tags": "a,b"})


def test_links_become_objects_and_non_numeric_measures_go_to_their_text_key():
    meta = conform_meta({
        "links": [["北京", 0, 2], {"target": "上海", "start": 3, "end": 5}],
        "reject": {"stage": "filter", "reason": "harm_blocked_domain", "value": "example.com", "threshold": 3},
    })
    assert meta["links"] == [{"target": "北京", "start": 0, "end": 2}, {"target": "上海", "start": 3, "end": 5}]
    assert meta["reject"]["value"] is None and meta["reject"]["value_text"] == "example.com"
    assert meta["reject"]["threshold"] == 3.0 and meta["reject"]["threshold_text"] is None
    dict_value = conform_meta({"reject": {"stage": "s", "reason": "r", "value": {"distinct": 3}}})["reject"]
    assert dict_value["value_text"] == '{"distinct":3}'
    assert conform_meta({"extra": dict_value["value_text"]})["extra"] == '{"distinct":3}'  # text stays as is


def test_free_fields_of_generic_input_go_to_extra():
    meta = gather_extra({"title": "t", "rating": 5, "extra": '{"old": 1}'})
    assert meta == {"title": "t", "extra": {"old": 1, "rating": 5}}
    assert conform_meta(meta)["extra"] == '{"old":1,"rating":5}'
    assert gather_extra({"title": "t"}) == {"title": "t"}


def test_the_arrow_schema_declares_every_meta_key():
    meta_type = arrow_schema().field("meta").type
    assert [meta_type.field(i).name for i in range(meta_type.num_fields)] == list(META)


# --- the demo's outputs, with the real readers --------------------------------------------------------------

def test_every_document_written_has_exactly_the_declared_meta_keys(demo):
    # Raw lines, not read_docs (which drops the nulls again for the stages).
    for directory in _shard_dirs(demo):
        for shard in list_shards(directory):
            for _, line in iter_json_lines(shard):
                assert list(orjson.loads(line)["meta"]) == list(META), shard


def test_datasets_json_loads_all_shards_of_every_stage(demo, tmp_path):
    dirs = _shard_dirs(demo)
    # The stages' kept shards (clean and filter pass theirs on to pii in one fused pass), their
    # rejected/ folders, the score buckets.
    assert len(dirs) >= 18
    for directory in dirs:
        shards = list_shards(directory)
        ds = _load_json(shards, tmp_path / "cache")
        assert len(ds) == sum(1 for shard in shards for _ in read_docs(shard)), directory
        assert ds.column_names == ["id", "text", "source", "meta"]
        assert list(ds.features["meta"]) == list(META)
    wiki = _load_json(list_shards(demo / "11-pii"), tmp_path / "cache")  # after clean, filter and pii
    links = [link for meta in wiki["meta"] for link in (meta["links"] or [])]
    assert links and all(isinstance(link["target"], str) and link["end"] > link["start"] for link in links)


def test_datasets_loads_every_stage_folder_by_its_card_without_features(demo, tmp_path):
    # The plain HF call on a folder: README.md's configs and features (corpus.schema.write_dataset_card).
    import yaml

    cards = sorted(demo.glob("*/README.md"))
    assert len(cards) >= 13  # every stage but one of the fused intermediates without rejections
    for card in cards:
        configs = yaml.safe_load(card.read_text(encoding="utf-8").split("---")[1])["configs"]
        for config in configs:
            name = config["config_name"]
            folder = card.parent if name == "default" else card.parent / name
            ds = datasets.load_dataset(str(card.parent), name, split="train", cache_dir=str(tmp_path / "cache"))
            assert len(ds) == sum(1 for s in list_shards(folder) for _ in read_docs(s)), (card, name)
            assert list(ds.features["meta"]) == list(META)


def test_no_stage_leaves_an_empty_file_and_the_manifest_lists_the_empty_shards(demo):
    stage_dirs = [p.parent for p in demo.glob("*/_manifest.json")]
    assert len(stage_dirs) >= 14
    for directory in stage_dirs:
        manifest = orjson.loads((directory / "_manifest.json").read_bytes())
        for name in manifest["shards"]:
            stats = orjson.loads((directory / "_stats" / f"{name}.json").read_bytes())
            kept = list(directory.glob(f"{name}.*")) + list(directory.glob(f"*/{name}.jsonl.zst"))
            kept = [p for p in kept if p.parent.name != "rejected"]
            assert (name in manifest["empty_shards"]) == (stats["out"] == 0), (directory, name)
            if stats["out"] == 0:
                assert not kept, (directory, name)
            rejected = directory / "rejected" / f"{name}.jsonl.zst"
            assert rejected.exists() == (stats["rejected"] > 0), (directory, name)
    # Since the real-text rules (issue 16) no demo shard loses every document; the tests below make
    # such shards on purpose.
    for path in demo.rglob("*"):
        if path.is_file() and not path.name.startswith("_") and path.parent.name not in ("_done",):
            assert path.stat().st_size > 0 and (not path.name.endswith(".jsonl.zst") or next(iter_json_lines(path))), path


def test_datasets_parquet_loads_every_hf_output(demo, tmp_path):
    out = demo / "pack-hf"
    parts = sorted(p for p in out.glob("*.parquet") if p.stem != MERGED)
    assert len(parts) >= 5
    manifest = orjson.loads((out / "_manifest.json").read_bytes())
    samples = manifest["totals"]["counters"]["pack_samples"]
    together = datasets.load_dataset("parquet", data_files=[str(p) for p in parts], split="train",
                                     cache_dir=str(tmp_path / "cache"))
    merged = datasets.load_dataset("parquet", data_files=str(out / f"{MERGED}.parquet"), split="train",
                                   cache_dir=str(tmp_path / "cache"))
    assert len(together) == len(merged) == samples
    assert merged[0]["input_ids"] == together[0]["input_ids"]


def test_parquet_stage_output_has_typed_meta_and_loads_without_features(demo, tmp_path):
    reads = sorted(demo.glob("0*-read-*"))
    out = tmp_path / "clean-parquet"
    run_stage(build_step("clean", {}), inputs=reads, output=out, progress=False, suffix=".parquet")
    parts = sorted(out.glob("*.parquet"))
    assert len({p.name.split("-")[0] for p in parts}) >= 6  # several sources, different meta keys set
    ds = datasets.load_dataset("parquet", data_files=[str(p) for p in parts], split="train",
                               cache_dir=str(tmp_path / "cache"))
    assert list(ds.features["meta"]) == list(META)
    assert len(ds) == sum(1 for p in parts for _ in read_docs(p))


@pytest.mark.megatron
def test_megatron_core_reads_every_per_shard_and_merged_prefix(demo):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    gpt = pytest.importorskip("megatron.core.datasets.gpt_dataset")
    builder = pytest.importorskip("megatron.core.datasets.blended_megatron_dataset_builder")
    null_tokenizer = pytest.importorskip("megatron.core.tokenizers.text.libraries.null_tokenizer")
    prefixes = sorted(str(p.with_suffix("")) for p in (demo / "14-pack").glob("*.idx"))
    assert len(prefixes) >= 5 and str(demo / "14-pack" / MERGED) in prefixes
    total = 0
    for prefix in prefixes:
        dataset = indexed.IndexedDataset(prefix)
        assert len(dataset) > 0
        total += len(dataset) if not prefix.endswith(MERGED) else 0
        config = gpt.GPTDatasetConfig(
            random_seed=1, sequence_length=64, blend=([prefix], None), split="1,0,0",
            tokenizer=null_tokenizer.NullTokenizer(vocab_size=8000), reset_position_ids=False,
            reset_attention_mask=False, eod_mask_loss=False)
        train, _, _ = builder.BlendedMegatronDatasetBuilder(gpt.GPTDataset, [4, None, None], lambda: True,
                                                            config).build()
        assert len(train) >= 4 and tuple(train[0]["tokens"].shape) == (64,)
    assert total == len(indexed.IndexedDataset(str(demo / "14-pack" / MERGED)))


# --- shards with nothing kept -------------------------------------------------------------------------------

def _docs(n: int, prefix: str) -> list[dict]:
    return [{"id": f"{prefix}{i}", "text": f"Sentence number {i} of {prefix}. It ends here.", "source": "t",
             "meta": {"lang": "en"}} for i in range(n)]


def test_an_empty_input_shard_writes_no_file_and_a_rerun_removes_a_stale_one(tmp_path, write_shard):
    src = tmp_path / "in"
    write_shard(src / "part-00000.jsonl", _docs(3, "a"))
    write_shard(src / "part-00001.jsonl", _docs(2, "b"))
    out = tmp_path / "out"
    run_stage(build_step("clean", {}), inputs=[src], output=out, progress=False)
    assert (out / "part-00001.jsonl.zst").exists()
    (src / "part-00001.jsonl").write_bytes(b"")  # now nothing in it: the rerun must not leave the old file
    run_stage(build_step("clean", {}), inputs=[src], output=out, progress=False, force=True)
    assert not (out / "part-00001.jsonl.zst").exists() and (out / "part-00000.jsonl.zst").exists()
    assert orjson.loads((out / "_manifest.json").read_bytes())["empty_shards"] == ["part-00001"]
    assert not list((out / "rejected").glob("*"))


@pytest.mark.parametrize("fmt", ["megatron", "hf"])
def test_a_shard_without_samples_writes_no_files_and_the_merge_skips_it(tmp_path, write_shard, fmt):
    src = tmp_path / "in"
    write_shard(src / "part-00000.jsonl", _docs(4, "a"))
    write_shard(src / "part-00001.jsonl", [{**d, "text": "Hi."} for d in _docs(2, "b")])  # all too short
    out = tmp_path / "out"
    report = run_stage(build_step("pack", {"format": fmt, "min_tokens": 8}), inputs=[src], output=out,
                       progress=False)
    assert report.counters[NO_SAMPLES] == 1 and report.counters["pack_merged_parts"] == 1
    assert not list(out.glob("part-00001.*")) and list(out.glob("part-00000.*"))
    if fmt == "hf":
        ds = datasets.load_dataset("parquet", data_files=[str(p) for p in sorted(out.glob("*.parquet"))],
                                   split="train", cache_dir=str(tmp_path / "cache"))
        assert len(ds) == 2 * report.counters["pack_samples"]  # part-00000 and merged
    # nothing packable at all: no per-shard files and no merged files
    nothing = tmp_path / "nothing"
    report = run_stage(build_step("pack", {"format": fmt, "min_tokens": 10_000}), inputs=[src], output=nothing,
                       progress=False)
    assert report.counters[NO_SAMPLES] == 2 and not [p for p in nothing.iterdir() if p.is_file()
                                                     and not p.name.startswith("_")]


@pytest.mark.megatron
def test_megatron_core_reads_the_merge_of_parts_beside_a_shard_without_samples(tmp_path, write_shard):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    src = tmp_path / "in"
    write_shard(src / "part-00000.jsonl", [{**d, "text": "Hi."} for d in _docs(2, "a")])
    write_shard(src / "part-00001.jsonl", _docs(4, "b"))
    out = tmp_path / "out"
    run_stage(build_step("pack", {"min_tokens": 8}), inputs=[src], output=out, progress=False)
    assert len(indexed.IndexedDataset(str(out / MERGED))) == len(indexed.IndexedDataset(str(out / "part-00001")))
