import numpy as np
import pytest

from corpus.dedup.unionfind import UnionFind


def _components_by_search(n, edges):
    adjacency = {i: set() for i in range(n)}
    for a, b in edges:
        adjacency[a].add(b)
        adjacency[b].add(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        stack = [start]
        while stack:
            node = stack.pop()
            if label[node] < 0:
                label[node] = start  # start is the smallest index of its component
                stack.extend(adjacency[node])
    return label


@pytest.mark.parametrize("seed", range(5))
def test_matches_graph_search_and_roots_are_smallest_members(seed):
    rng = np.random.default_rng(seed)
    n = 300
    edges = rng.integers(0, n, (200, 2))
    uf = UnionFind(n)
    # Two batches, to exercise merging into existing sets.
    uf.union(edges[:100, 0], edges[:100, 1])
    uf.union(edges[100:, 0], edges[100:, 1])
    assert uf.roots().tolist() == _components_by_search(n, edges.tolist())


def test_long_chain_in_reverse_order():
    n = 10_000
    a = np.arange(n - 1)[::-1]
    uf = UnionFind(n)
    uf.union(a + 1, a)
    assert (uf.roots() == 0).all()


def test_no_edges():
    uf = UnionFind(4)
    uf.union(np.empty(0, int), np.empty(0, int))
    assert uf.roots().tolist() == [0, 1, 2, 3]
