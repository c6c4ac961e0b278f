"""``--format knowlm`` read by KnowLM's own logic (tests/corpus/pack/knowlm_reference.py, KnowLM @ 0f00ad8).

Per-shard and merged prefixes load in its dataset (``.dis`` included) with the samples we wrote; ``.dis`` and
``.tmp`` are byte-identical to ``torch.save`` under the same name; our merge, plain and typed, is
byte-identical to KnowLM's ``--mode merge``; its sampler draws each type from that type's samples.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

torch = pytest.importorskip("torch")

from corpus.pack import knowlm  # noqa: E402
from corpus.pack.megatron import IndexedDatasetReader  # noqa: E402
from corpus.pack.stage import MERGED, merge_outputs  # noqa: E402
from corpus.runner import run_stage  # noqa: E402
from corpus.steps import build_step  # noqa: E402
from tests.corpus.pack.knowlm_reference import (  # noqa: E402
    KnowLMDataset,
    knowlm_merge,
    knowlm_write_statistic,
    sampler_indices,
)

LLAMA = str(Path(__file__).parents[2] / "fixtures" / "tokenizer" / "llama-style.model")
ZH = "知识图谱是一种用图结构描述实体及其关系的知识表示方法。它由节点和边组成，节点表示实体，边表示关系。"
EN = "Knowledge graphs describe entities and the relations between them. They power search and question answering. "


def _docs(kind: str, n: int) -> list[dict]:
    text = ZH if kind == "zh" else EN
    # documents of 1 to n repetitions: short ones (<= 20 tokens once BOS/EOS are on) and ones that split
    return [{"id": f"{kind}{i}", "text": text * (i + 1), "source": kind, "meta": {}} for i in range(n)]


def _pack(tmp_path: Path, name: str, docs: list[dict], **options) -> Path:
    src = tmp_path / f"{name}-in"
    src.mkdir(parents=True)
    half = len(docs) // 2
    for i, part in enumerate([docs[:half], docs[half:]]):
        (src / f"part-{i:05d}.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in part))
    out = tmp_path / name
    step = build_step("pack", {"tokenizer": LLAMA, "max_tokens": 64, "format": "knowlm", **options})
    run_stage(step, inputs=[src], output=out, workers=1, force=False, progress=False)
    return out


def _read_all(prefix: Path) -> list[list[int]]:
    ds = KnowLMDataset(prefix, seq_length=1024, pad_id=0)
    return [ds[i] for i in range(len(ds))]


def test_every_prefix_loads_in_knowlms_dataset_with_our_samples(tmp_path):
    out = _pack(tmp_path, "zh", _docs("zh", 6), min_tokens=21)
    mega = tmp_path / "mega"
    run_stage(build_step("pack", {"tokenizer": LLAMA, "max_tokens": 64, "min_tokens": 21}),
              inputs=[tmp_path / "zh-in"], output=mega, workers=1, force=False, progress=False)
    reader = IndexedDatasetReader(mega / MERGED)
    expected = [reader[i].tolist() for i in range(len(reader))]
    assert len(expected) > 6  # documents were split into several samples
    per_shard = []
    for stem in ("part-00000", "part-00001"):
        samples = _read_all(out / stem)
        assert samples == [s.tolist() for s in knowlm.read_samples(out / stem)]
        assert knowlm.load_list(out / f"{stem}.dis") == [len(samples)]
        assert knowlm.load_list(out / f"{stem}.tmp") == knowlm_write_statistic(samples)
        per_shard += samples
    merged = KnowLMDataset(out / MERGED, seq_length=1024, pad_id=0)
    assert merged.distributed == [len(expected)]
    assert [merged[i] for i in range(len(merged))] == per_shard == expected
    assert not (out / f"{MERGED}.tmp").exists()  # KnowLM's merge writes no .tmp either


def test_dis_and_tmp_bytes_equal_torch_save_under_the_same_name(tmp_path):
    out = _pack(tmp_path, "zh", _docs("zh", 4))
    for name in ("part-00000.dis", "part-00000.tmp", f"{MERGED}.dis"):
        ref = tmp_path / "ref" / name
        ref.parent.mkdir(exist_ok=True)
        torch.save(knowlm.load_list(out / name), str(ref))
        assert (out / name).read_bytes() == ref.read_bytes(), name
    tmp = knowlm.load_list(out / "part-00000.tmp")
    assert tmp[3] >= 1 and sum(tmp) == knowlm.load_list(out / "part-00000.dis")[0]  # whole docs: BOS and EOS


@pytest.mark.parametrize("types", [None, ["zh", "en", "zh"], [0, 1, 0]])
def test_merge_is_byte_identical_to_knowlms(tmp_path, types):
    jobs = [_pack(tmp_path, "a", _docs("zh", 4)), _pack(tmp_path, "b", _docs("en", 4)),
            _pack(tmp_path, "c", _docs("zh", 2))]
    prefixes = [str(j / MERGED) for j in jobs]
    (tmp_path / "theirs").mkdir()
    knowlm_merge(prefixes, types, str(tmp_path / "theirs" / "all"))
    counts = merge_outputs("knowlm", [Path(p) for p in prefixes], tmp_path / "ours" / "all", types=types)
    for suffix in (".bin", ".idx", ".dis"):
        assert (tmp_path / "ours" / f"all{suffix}").read_bytes() == (tmp_path / "theirs" / f"all{suffix}").read_bytes()
    sizes = [knowlm.load_list(f"{p}.dis")[0] for p in prefixes]
    assert counts == ([sizes[0] + sizes[2], sizes[1]] if types else [sum(sizes)])


def test_typed_merge_groups_samples_and_knowlms_sampler_draws_each_type_from_its_own(tmp_path):
    zh, en = _pack(tmp_path, "zh", _docs("zh", 6)), _pack(tmp_path, "en", _docs("en", 6))
    merge_outputs("knowlm", [en / MERGED, zh / MERGED], tmp_path / "mix", types=["en", "zh"])
    ds = KnowLMDataset(tmp_path / "mix", seq_length=1024, pad_id=0)
    en_samples, zh_samples = _read_all(en / MERGED), _read_all(zh / MERGED)
    assert ds.distributed == [len(en_samples), len(zh_samples)]
    got = [ds[i] for i in range(len(ds))]
    assert got == en_samples + zh_samples
    drawn = sampler_indices(ds, [2, 3])
    assert drawn and len(drawn) % 5 == 0
    for batch in range(len(drawn) // 5):
        first, second = drawn[batch * 5 : batch * 5 + 2], drawn[batch * 5 + 2 : batch * 5 + 5]
        assert all(got[i] in en_samples for i in first) and all(i < len(en_samples) for i in first)
        assert all(i >= len(en_samples) for i in second)


def test_merge_rejects_bad_types_and_mismatched_dis(tmp_path):
    zh = _pack(tmp_path, "zh", _docs("zh", 4))
    with pytest.raises(ValueError, match="one type per input"):
        merge_outputs("knowlm", [zh / MERGED], tmp_path / "x", types=["zh", "en"])
    with pytest.raises(ValueError, match="only --format knowlm"):
        merge_outputs("megatron", [zh / MERGED], tmp_path / "x", types=["zh"])
    knowlm.save_list(zh / f"{MERGED}.dis", [1, 2])  # a typed merge as input: not KnowLM's format
    with pytest.raises(ValueError, match="single-type inputs"):
        merge_outputs("knowlm", [zh / MERGED], tmp_path / "y")
    (zh / f"{MERGED}.dis").unlink()  # e.g. a Megatron output: same suffixes, no .dis
    with pytest.raises(FileNotFoundError, match="knowlm output prefix"):
        merge_outputs("knowlm", [zh / MERGED], tmp_path / "z")


def test_cli_merge_takes_a_type_per_prefix(tmp_path):
    from click.testing import CliRunner

    from cli import main

    zh, en = _pack(tmp_path, "zh", _docs("zh", 4)), _pack(tmp_path, "en", _docs("en", 4))
    args = ["corpus", "merge", "--format", "knowlm", "-o", str(tmp_path / "mix")]  # options before the prefixes
    prefixes = [str(zh / MERGED), str(en / MERGED)]
    result = CliRunner().invoke(main, [*args, "--type", "zh", "--type", "en", *prefixes])
    assert result.exit_code == 0, result.output
    counts = knowlm.load_list(tmp_path / "mix.dis")
    assert len(counts) == 2 and f"zh {counts[0]:,}, en {counts[1]:,}" in result.output
    result = CliRunner().invoke(main, [*args, "--type", "zh", *prefixes])
    assert result.exit_code == 2 and "one per prefix" in result.output
