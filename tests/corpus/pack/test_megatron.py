"""Our MMIDIDX writer/reader against megatron-core's IndexedDataset and IndexedDatasetBuilder."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.pack import megatron

DOCS = [[[5, 6, 7], [8]], [[9, 10, 11, 12]], [[1], [2, 3], [40000, 65000]]]


def _write_ours(prefix, docs, dtype):
    with megatron.IndexedDatasetWriter(f"{prefix}.bin", f"{prefix}.idx", dtype) as writer:
        for doc in docs:
            for seq in doc:
                writer.add_sequence(np.array(seq))
            writer.end_document()


def test_layout_matches_the_worked_example_byte_by_byte(tmp_path):
    _write_ours(tmp_path / "x", [[[5, 6, 7], [8]]], np.uint16)
    assert (tmp_path / "x.bin").read_bytes() == bytes([5, 0, 6, 0, 7, 0, 8, 0])
    idx = (tmp_path / "x.idx").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00" and idx[9:17] == (1).to_bytes(8, "little") and idx[17] == 8
    assert idx[18:26] == (2).to_bytes(8, "little") and idx[26:34] == (2).to_bytes(8, "little")
    assert np.frombuffer(idx[34:42], np.int32).tolist() == [3, 1]
    assert np.frombuffer(idx[42:58], np.int64).tolist() == [0, 6]
    assert np.frombuffer(idx[58:74], np.int64).tolist() == [0, 2]
    assert len(idx) == 74


def test_dtype_by_vocab_size():
    assert megatron.dtype_for_vocab(32000) is np.uint16
    assert megatron.dtype_for_vocab(65499) is np.uint16
    assert megatron.dtype_for_vocab(65500) is np.int32


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=20), min_size=1, max_size=4),
                max_size=6),
       st.sampled_from([np.uint16, np.int32]))
def test_round_trip(tmp_path_factory, docs, dtype):
    if dtype is np.uint16:
        docs = [[[t % 65536 for t in seq] for seq in doc] for doc in docs]
    prefix = tmp_path_factory.mktemp("rt") / "x"
    _write_ours(prefix, docs, dtype)
    reader = megatron.IndexedDatasetReader(prefix)
    assert reader.document_count == len(docs)
    assert [[reader.document(d)[i].tolist() for i in range(len(doc))] for d, doc in enumerate(docs)] == docs


def test_merge_concatenates_and_shifts_documents(tmp_path):
    _write_ours(tmp_path / "a", DOCS[:2], np.uint16)
    _write_ours(tmp_path / "b", DOCS[2:], np.uint16)
    megatron.merge([tmp_path / "a", tmp_path / "b"], tmp_path / "m.bin", tmp_path / "m.idx")
    reader = megatron.IndexedDatasetReader(tmp_path / "m")
    assert [[s.tolist() for s in reader.document(d)] for d in range(reader.document_count)] == DOCS


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.lists(st.lists(st.integers(0, 65535), min_size=1, max_size=5), max_size=3),
                         max_size=4), min_size=1, max_size=4),
       st.sampled_from([np.uint16, np.int32]))
def test_streamed_merge_writes_the_index_of_the_concatenation(tmp_path_factory, parts, dtype):
    """The merge writes its .idx part by part; its bytes are those of one write_index over all parts
    (what the merge held in memory before), empty documents and parts without sequences included."""
    base = tmp_path_factory.mktemp("merge")
    lengths, docs, seen = [], [0], 0
    for i, part in enumerate(parts):
        _write_ours(base / f"p{i}", part, dtype)
        index = megatron.read_index(base / f"p{i}.idx")
        lengths.extend(index.sequence_lengths.tolist())
        docs.extend((index.document_indices[1:] + seen).tolist())
        seen += index.sequence_lengths.size
    megatron.merge([base / f"p{i}" for i in range(len(parts))], base / "m.bin", base / "m.idx")
    megatron.write_index(base / "whole.idx", dtype, np.array(lengths, dtype=np.int32), np.array(docs))
    assert (base / "m.idx").read_bytes() == (base / "whole.idx").read_bytes()
    flat = [t for part in parts for doc in part for seq in doc for t in seq]
    assert (base / "m.bin").read_bytes() == np.array(flat, dtype=dtype).tobytes()


def test_merge_refuses_parts_of_two_dtypes(tmp_path):
    _write_ours(tmp_path / "a", DOCS[:1], np.uint16)
    _write_ours(tmp_path / "b", DOCS[1:], np.int32)
    with pytest.raises(ValueError, match="differs from uint16"):
        megatron.merge([tmp_path / "a", tmp_path / "b"], tmp_path / "m.bin", tmp_path / "m.idx")


def test_reader_rejects_a_foreign_file(tmp_path):
    (tmp_path / "bad.idx").write_bytes(b"NOTANIDX" * 5)
    with pytest.raises(ValueError, match="MMIDIDX"):
        megatron.read_index(tmp_path / "bad.idx")


@pytest.mark.megatron
def test_megatron_core_reads_our_files_and_we_read_its_files(tmp_path):
    indexed = pytest.importorskip("megatron.core.datasets.indexed_dataset")
    import torch

    # ours → megatron-core
    _write_ours(tmp_path / "ours", DOCS, np.uint16)
    theirs = indexed.IndexedDataset(str(tmp_path / "ours"))
    flat = [seq for doc in DOCS for seq in doc]
    assert len(theirs) == len(flat)
    assert [theirs[i].tolist() for i in range(len(flat))] == flat
    assert theirs.document_indices.tolist() == [0, 2, 3, 6]
    assert theirs.index.dtype == np.uint16

    # megatron-core's builder → ours, and the bytes are identical to our writer's
    builder = indexed.IndexedDatasetBuilder(str(tmp_path / "built.bin"), dtype=np.uint16)
    for doc in DOCS:
        for seq in doc:
            builder.add_item(torch.tensor(seq))
        builder.end_document()
    builder.finalize(str(tmp_path / "built.idx"))
    ours = megatron.IndexedDatasetReader(tmp_path / "built")
    assert [ours[i].tolist() for i in range(len(ours))] == flat
    assert (tmp_path / "built.idx").read_bytes() == (tmp_path / "ours.idx").read_bytes()
    assert (tmp_path / "built.bin").read_bytes() == (tmp_path / "ours.bin").read_bytes()

    # merge: ours equals megatron-core's add_index
    _write_ours(tmp_path / "a", DOCS[:1], np.uint16)
    _write_ours(tmp_path / "b", DOCS[1:], np.uint16)
    megatron.merge([tmp_path / "a", tmp_path / "b"], tmp_path / "m.bin", tmp_path / "m.idx")
    merged = indexed.IndexedDatasetBuilder(str(tmp_path / "mm.bin"), dtype=np.uint16)
    merged.add_index(str(tmp_path / "a"))
    merged.add_index(str(tmp_path / "b"))
    merged.finalize(str(tmp_path / "mm.idx"))
    assert (tmp_path / "mm.idx").read_bytes() == (tmp_path / "m.idx").read_bytes()
    assert (tmp_path / "mm.bin").read_bytes() == (tmp_path / "m.bin").read_bytes()


def test_add_documents_equals_one_sequence_per_document(tmp_path):
    seqs = [[1, 2, 3], [4], [5, 6]]
    _write_ours(tmp_path / "one", [[[9, 9]], *[[s] for s in seqs]], np.uint16)
    with megatron.IndexedDatasetWriter(tmp_path / "run.bin", tmp_path / "run.idx", np.uint16) as writer:
        writer.add_sequence(np.array([9, 9]))
        writer.add_documents(np.concatenate([np.array(s) for s in seqs]), [len(s) for s in seqs])
    assert (tmp_path / "run.idx").read_bytes() == (tmp_path / "one.idx").read_bytes()
    assert (tmp_path / "run.bin").read_bytes() == (tmp_path / "one.bin").read_bytes()
