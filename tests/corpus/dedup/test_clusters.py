"""Keepers and cluster files in bounded memory give what one sort over every member's id string gave."""

import io

import numpy as np
import pytest

import corpus.dedup.clusters as clusters
from corpus.dedup.clusters import Clusters, choose_keepers, id_hash, write_cluster_files
from corpus.dedup.near import _StoredArray


def _reference(root, ids, length, priority):
    """The rule as it was written before (main at 4365c76): one lexsort with every member's id."""
    ranked = np.lexsort((ids, -length, priority, root))
    sorted_root = root[ranked]
    first = np.ones(root.size, dtype=bool)
    first[1:] = sorted_root[1:] != sorted_root[:-1]
    keepers = ranked[first]
    cluster = np.searchsorted(sorted_root[first], root)
    kept = ids[keepers].tolist()
    is_kept = np.zeros(root.size, dtype=bool)
    is_kept[keepers] = True
    return (is_kept, np.array(kept, dtype=str)[cluster],
            np.array([f"{id_hash(k):016x}" for k in kept], dtype=str)[cluster])


def _members(rng, n_docs, m):
    """m members of n_docs documents, in clusters whose root is their smallest member, with many ties."""
    members = np.sort(rng.choice(n_docs, m, replace=False)).astype(np.int64)
    label = rng.integers(0, max(1, m // 3), m)
    root = np.empty(m, dtype=np.int64)
    for g in np.unique(label):
        root[label == g] = members[label == g].min()
    length = rng.integers(5, 8, m).astype(np.int64)  # three lengths and two priorities: ties everywhere
    priority = rng.integers(0, 2, m).astype(np.int32)
    return members, root, length, priority


@pytest.mark.parametrize("seed", range(6))
def test_keepers_and_cluster_files_equal_one_sort_over_all_ids(tmp_path, monkeypatch, seed):
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(clusters, "ROW_CHUNK", 3)  # many chunks of spilled rows
    counts = rng.integers(1, 40, 5)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    n = int(offsets[-1])
    # ids of several widths per shard (the kept-id width is the corpus's longest kept id), some repeated
    ids = np.array([f"d{rng.integers(0, n // 2)}" + "x" * int(rng.integers(0, 4)) for _ in range(n)])
    files = []
    for s in range(counts.size):
        path = tmp_path / f"s{s}.docs.npz"
        np.savez(path, ids=np.array(ids[offsets[s] : offsets[s + 1]].tolist(), dtype=str))
        files.append({"docs": path})
    m = int(rng.integers(0, n // 2 + 1)) if seed else 0  # seed 0: no cluster at all
    members, root, length, priority = _members(rng, n, m)
    asked = []

    def ids_of(rows):
        asked.append(rows.size)
        return ids[members[rows]]

    is_kept, keeper = choose_keepers(root, length, priority, ids_of)
    want_kept, want_kept_id, want_cluster_id = _reference(root, ids[members], length, priority)
    assert np.array_equal(is_kept, want_kept)
    assert np.array_equal(ids[members[keeper]], want_kept_id) and sum(asked) <= m
    size = np.bincount(np.searchsorted(members, root), minlength=m)[np.searchsorted(members, root)]
    best = rng.random(m)
    found = Clusters(offsets=offsets, members=members, best=best, size=size.astype(np.int64), kept=is_kept,
                     keeper=keeper)
    write_cluster_files(found, files, [f"s{s}" for s in range(counts.size)], tmp_path)
    for s in range(counts.size):
        mine = (members >= offsets[s]) & (members < offsets[s + 1])
        want = io.BytesIO()
        np.savez(want, positions=members[mine] - offsets[s], kept=want_kept[mine], kept_id=want_kept_id[mine],
                 cluster_id=want_cluster_id[mine], size=size.astype(np.int64)[mine], similarity=best[mine])
        assert (tmp_path / f"s{s}.clusters.npz").read_bytes() == want.getvalue()
    assert not list(tmp_path.glob("cluster-rows-*")), "spill files removed"


def test_ids_are_read_only_for_members_tied_with_their_cluster_best():
    root = np.array([0, 0, 0, 3, 3])
    length = np.array([9, 9, 4, 7, 6])  # cluster 0: a tie on length at the top; cluster 3: none
    priority = np.zeros(5, dtype=np.int32)
    asked = []
    ids = np.array(["b", "a", "c", "z", "y"])

    def ids_of(rows):
        asked.append(sorted(rows.tolist()))
        return ids[rows]

    is_kept, keeper = choose_keepers(root, length, priority, ids_of)
    assert asked == [[0, 1]]
    assert is_kept.tolist() == [False, True, False, True, False] and keeper.tolist() == [1, 1, 1, 3, 3]


@pytest.mark.parametrize("sizes", [[3, 0, 5], [0], [7]])
def test_stored_array_reads_the_slices_np_load_gives(tmp_path, sizes):
    flat = np.arange(sum(sizes), dtype=np.uint32) * 7
    np.savez(tmp_path / "x.npz", positions=np.arange(len(sizes)), hashes=flat)
    stored = _StoredArray(tmp_path / "x.npz", "hashes.npy")
    try:
        at = np.concatenate(([0], np.cumsum(sizes)))
        for lo, hi in zip(at[:-1], at[1:], strict=True):
            got = stored[int(lo) : int(hi)]
            assert got.dtype == flat.dtype and np.array_equal(got, flat[lo:hi])
    finally:
        stored.close()


def test_stored_array_refuses_a_compressed_member(tmp_path):
    np.savez_compressed(tmp_path / "x.npz", hashes=np.arange(10))
    with pytest.raises(ValueError, match="compressed"):
        _StoredArray(tmp_path / "x.npz", "hashes.npy")


@pytest.mark.parametrize("wanted", ["none", "some", "all"])
def test_streamed_candidate_sets_equal_np_savez_of_the_sets_in_memory(tmp_path, monkeypatch, wanted):
    """The worker writes ``<shard>.sets.npz`` a batch at a time (hashes through a temporary file); the
    bytes are np.savez's of the whole shard's sets, which the exact pass and reruns read."""
    import corpus.dedup.near as near
    from corpus.shards import ShardWriter

    monkeypatch.setattr(near, "BATCH_DOCS", 3)  # several batches
    rng = np.random.default_rng(1)
    shard = tmp_path / "part-00000.jsonl.zst"
    with ShardWriter(shard) as w:
        for i in range(11):
            text = "".join(rng.choice(list("天地玄黄宇宙洪荒 abc def")) for _ in range(int(rng.integers(0, 60))))
            w.write({"id": f"d{i}", "text": text, "source": "s", "meta": {}})
    positions = {"none": np.empty(0, np.int64), "some": np.array([0, 2, 3, 7, 10]), "all": np.arange(11)}[wanted]
    sets = near.candidate_sets(shard, positions, ngram=5, word_ngram=5)
    want = io.BytesIO()
    np.savez(want, positions=sets.positions, hashes=sets.hashes, offsets=sets.offsets)
    near.write_candidate_sets(shard, positions, tmp_path / "x.sets.npz", ngram=5, word_ngram=5)
    assert (tmp_path / "x.sets.npz").read_bytes() == want.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00000.jsonl.zst", "x.sets.npz"]
