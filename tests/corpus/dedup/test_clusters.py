"""Keepers and cluster files from spilled pairs, one root range at a time, give what one sort over every
member's id string gave."""

import io
from collections import Counter

import numpy as np
import pytest

import corpus.dedup.clusters as clusters
from corpus.dedup.clusters import ConfirmedPairs, choose_keepers, id_hash, write_clusters
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


def _components_by_search(members, pairs):
    """Each member's component's smallest member, by graph search (the reference for union-find)."""
    adjacency = {int(d): [] for d in members}
    for a, b in pairs.tolist():
        adjacency[a].append(b)
        adjacency[b].append(a)
    root = {}
    for start in sorted(adjacency):
        if start in root:
            continue
        stack = [start]
        while stack:
            node = stack.pop()
            if node not in root:
                root[node] = start  # visited in ascending order: start is its component's smallest
                stack.extend(adjacency[node])
    return np.array([root[int(d)] for d in members], dtype=np.int64)


def _confirmed(rng, n_docs, m):
    """Pairs (a < b) linking m documents of n_docs in clusters (a random tree each, plus a few more
    edges), and their similarities."""
    chosen = rng.choice(n_docs, m, replace=False)
    label = rng.integers(0, max(1, m // 3), m)
    pairs = []
    for g in np.unique(label):
        group = chosen[label == g]
        for i in range(1, group.size):
            pairs.append((group[i], group[rng.integers(0, i)]))
            if rng.random() < 0.3:
                pairs.append((group[i], group[rng.integers(0, i)]))
    pairs = np.unique(np.sort(np.array(pairs, dtype=np.int64).reshape(-1, 2), axis=1), axis=0)
    return pairs, rng.random(pairs.shape[0])


@pytest.mark.parametrize("seed", range(6))
def test_cluster_files_equal_one_sort_over_all_ids(tmp_path, monkeypatch, seed):
    """Pairs spilled in pieces, union-find in batches of 3 pairs and root ranges of 2 members give the
    cluster files one lexsort over every member's id string gives, and the histogram of cluster sizes."""
    rng = np.random.default_rng(seed)
    monkeypatch.setattr(clusters, "EDGE_CHUNK", 3)
    monkeypatch.setattr(clusters, "ROOT_RANGE", 2)
    counts = rng.integers(1, 40, 5)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    n = int(offsets[-1])
    # ids of several widths per shard (the kept-id width is the corpus's longest kept id), some repeated
    ids = np.array([f"d{rng.integers(0, n // 2)}" + "x" * int(rng.integers(0, 4)) for _ in range(n)])
    length = rng.integers(5, 8, n).astype(np.int64)  # three lengths and two priorities: ties everywhere
    priority = rng.integers(0, 2, n).astype(np.int32)
    files = []
    for s in range(counts.size):
        part = slice(int(offsets[s]), int(offsets[s + 1]))
        path = tmp_path / f"s{s}.docs.npz"
        np.savez(path, ids=np.array(ids[part].tolist(), dtype=str), length=length[part], priority=priority[part])
        files.append({"docs": path})
    m = int(rng.integers(0, n // 2 + 1)) if seed else 0  # seed 0: no cluster at all
    pairs, similarity = _confirmed(rng, n, m)
    names = [f"s{s}" for s in range(counts.size)]
    with ConfirmedPairs(tmp_path, offsets) as confirmed:
        for piece in np.array_split(rng.permutation(pairs.shape[0]), 4):  # any order, several appends
            confirmed.add(pairs[piece], similarity[piece])
        histogram = write_clusters(confirmed, files, names, tmp_path)
    members = np.unique(pairs)
    root = _components_by_search(members, pairs)
    best = np.zeros(members.size)
    np.maximum.at(best, np.searchsorted(members, pairs[:, 0]), similarity)
    np.maximum.at(best, np.searchsorted(members, pairs[:, 1]), similarity)
    want_kept, want_kept_id, want_cluster_id = _reference(root, ids[members], length[members], priority[members])
    local_root = np.searchsorted(members, root)
    size = np.bincount(local_root, minlength=members.size)[local_root].astype(np.int64)
    assert histogram == Counter(size[want_kept].tolist())
    for s in range(counts.size):
        mine = (members >= offsets[s]) & (members < offsets[s + 1])
        want = io.BytesIO()
        np.savez(want, positions=members[mine] - offsets[s], kept=want_kept[mine], kept_id=want_kept_id[mine],
                 cluster_id=want_cluster_id[mine], size=size[mine], similarity=best[mine])
        assert (tmp_path / f"s{s}.clusters.npz").read_bytes() == want.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"s{s}.docs.npz" for s in range(counts.size)] + [f"s{s}.clusters.npz" for s in range(counts.size)])


@pytest.mark.parametrize("seed", range(3))
def test_choose_keepers_equals_one_sort_over_all_ids(seed):
    rng = np.random.default_rng(seed)
    m = 200
    members = np.sort(rng.choice(1000, m, replace=False)).astype(np.int64)
    label = rng.integers(0, m // 3, m)
    root = np.empty(m, dtype=np.int64)
    for g in np.unique(label):
        root[label == g] = members[label == g].min()
    length = rng.integers(5, 8, m).astype(np.int64)
    priority = rng.integers(0, 2, m).astype(np.int32)
    ids = np.array([f"d{rng.integers(0, 50)}" + "x" * int(rng.integers(0, 4)) for _ in range(m)])
    asked = []

    def ids_of(rows):
        asked.append(rows.size)
        return ids[rows]

    is_kept, keeper = choose_keepers(root, length, priority, ids_of)
    want_kept, want_kept_id, _ = _reference(root, ids, length, priority)
    assert np.array_equal(is_kept, want_kept)
    assert np.array_equal(ids[keeper], want_kept_id) and sum(asked) <= m


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
