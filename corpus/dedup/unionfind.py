"""Connected components over document indices with a numpy parent array (union-find without Python loops).

Edges are merged in batches by min-label hooking plus pointer jumping (the Shiloach-Vishkin idea): every
round hooks the larger root of each edge under the smaller one, then halves all paths, until no edge
joins two roots. The root of a component is its smallest index, so labels never depend on edge order.
"""

from __future__ import annotations

import numpy as np


class UnionFind:
    """Disjoint sets over ``0..n-1``; ``parent`` (n,) is the whole state: int64, or ``dtype`` (int32 halves
    it when n < 2**31; near dedup's decision holds one parent per cluster member)."""

    def __init__(self, n: int, *, dtype: type = np.int64) -> None:
        self.parent = np.arange(n, dtype=dtype)

    def _compress(self) -> None:
        # Pointer jumping: parent <- parent[parent] until every node points at its root.
        while True:
            grand = self.parent[self.parent]
            if np.array_equal(grand, self.parent):
                return
            self.parent = grand

    def union(self, a: np.ndarray, b: np.ndarray) -> None:
        """Merge the sets of ``a[i]`` and ``b[i]`` for every i (two equal-length int arrays)."""
        a = np.asarray(a, dtype=self.parent.dtype)
        b = np.asarray(b, dtype=self.parent.dtype)
        self._compress()
        while a.size:
            ra, rb = self.parent[a], self.parent[b]
            live = ra != rb
            a, b, ra, rb = a[live], b[live], ra[live], rb[live]
            if not a.size:
                return
            lo, hi = np.minimum(ra, rb), np.maximum(ra, rb)
            # Several edges may hook the same root; minimum.at keeps the smallest, which is safe
            # because every candidate is smaller than the root it replaces (no cycles).
            np.minimum.at(self.parent, hi, lo)
            self._compress()

    def roots(self) -> np.ndarray:
        """Root (smallest member) of every element, (n,) of ``parent``'s dtype."""
        self._compress()
        return self.parent.copy()
