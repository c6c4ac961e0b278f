import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from corpus.dedup.lsh import LSHSettings, band_keys, bucket_pairs, candidate_probability, optimal_bands


@pytest.mark.parametrize("threshold,num_perm", [(0.8, 128), (0.5, 64), (0.9, 256)])
def test_equal_weights_reproduce_datasketch(threshold, num_perm):
    ours = optimal_bands(threshold, num_perm, false_positive_weight=0.5, false_negative_weight=0.5)
    assert ours == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_default_banding_is_biased_toward_recall():
    settings = LSHSettings.derive(threshold=0.8, num_perm=128)
    assert candidate_probability(0.8, settings.bands, settings.rows) >= 0.94
    assert candidate_probability(0.8, 9, 13) < 0.5  # datasketch's choice misses most pairs at J = 0.8


def test_override_and_validation():
    given = LSHSettings.derive(bands=20, rows=5)
    assert (given.bands, given.rows) == (20, 5)
    assert LSHSettings.derive() == LSHSettings(threshold=0.8, num_perm=128, bands=16, rows=8)
    with pytest.raises(ValueError, match="both"):
        LSHSettings.derive(bands=4)
    with pytest.raises(ValueError, match="does not fit"):
        LSHSettings.derive(num_perm=64, bands=10, rows=10)
    with pytest.raises(ValueError, match="does not fit"):
        LSHSettings(num_perm=64, bands=10, rows=10)


def test_band_keys_agree_exactly_where_bands_agree():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 2**32, (3, 16), dtype=np.uint32)
    sig[1, :4] = sig[0, :4]  # band 0 equal between docs 0 and 1
    keys = band_keys(sig, 4, 4)
    assert keys.shape == (4, 3)
    assert keys[0, 0] == keys[0, 1]
    assert (keys[1:, 0] != keys[1:, 1]).all() and (keys[:, 2] != keys[:, 0]).all()


def test_bucket_pairs_connect_every_bucket_member():
    keys = np.array([5, 7, 5, 9, 5, 7] + [3] * 30, dtype=np.uint64)
    order_key = np.arange(keys.size, dtype=np.uint64)[::-1].copy()
    pairs = bucket_pairs(keys, order_key, window=2)
    assert (pairs[:, 0] < pairs[:, 1]).all()
    edges = {tuple(p) for p in pairs.tolist()}
    assert (1, 5) in edges and not any(3 in e for e in edges)
    # Every member of the 30-document bucket is linked (window + star), with O(m) pairs.
    big = set(range(6, 36))
    linked = {i for e in edges for i in e if i in big}
    assert linked == big and len(edges) < 3 * 36
