import numpy as np
import pytest
from datasketch import MinHash

from corpus.dedup.minhash import MinHasher, classic_signatures, fast_signatures, fmix32, jaccard_estimate
from corpus.dedup.shingle import ShingleBatch, hash_shingle, hash_shingles, shingle_tokens

TEXTS = [
    "机器学习是人工智能的一个分支，它研究计算机怎样模拟或实现人类的学习行为。",
    "Machine learning is a field of study in artificial intelligence concerned with algorithms.",
    "",
    "混合 mixed 文本 text with 数字 2024",
    "短",
]


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (64, 42), (256, 7), (3, 0)])
def test_classic_is_bit_identical_to_datasketch(num_perm, seed):
    batch = hash_shingles(TEXTS * 40)  # 200 docs: several docs per chunk and empty docs in between
    ours = classic_signatures(batch, num_perm=num_perm, seed=seed)
    for d, text in enumerate(TEXTS):
        reference = MinHash(num_perm=num_perm, seed=seed, hashfunc=hash_shingle)
        reference.update_batch(shingle_tokens(text))
        assert ours[d].dtype == reference.hashvalues.dtype
        assert np.array_equal(ours[d], reference.hashvalues)
        assert np.array_equal(ours[d + 5 * 39], reference.hashvalues)


def test_classic_handles_documents_longer_than_a_chunk():
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 2**32, 100_000, dtype=np.uint32)
    batch = ShingleBatch(hashes=hashes, offsets=np.array([0, 10, 90_000, 100_000]))
    ours = classic_signatures(batch, num_perm=16, seed=3)
    for d in range(3):
        reference = MinHash(num_perm=16, seed=3, hashfunc=int)
        reference.update_batch(batch.doc(d).tolist())
        assert np.array_equal(ours[d], reference.hashvalues)


def _pair(n_shared: int, n_each: int, seed: int) -> ShingleBatch:
    rng = np.random.default_rng(seed)
    values = rng.choice(2**32, 2 * n_each - n_shared, replace=False).astype(np.uint32)
    a, b = values[:n_each], values[n_each - n_shared :]
    return ShingleBatch(hashes=np.concatenate([a, b]), offsets=np.array([0, n_each, 2 * n_each]))


@pytest.mark.parametrize("mode", ["fast", "classic"])
@pytest.mark.parametrize("n_each", [30, 3000])
def test_estimates_track_jaccard(mode, n_each):
    # Shared 3/4 of each set -> J = 0.75 / 1.25 = 0.6; average over seeds to keep the test tight.
    hasher = MinHasher(num_perm=128, mode=mode)
    estimates = []
    for seed in range(40):
        sig = hasher.signatures(_pair(n_each * 3 // 4, n_each, seed))
        estimates.append(jaccard_estimate(sig[0], sig[1]))
    assert abs(np.mean(estimates) - 0.6) < 0.03


def test_fast_mode_fills_every_bin_and_keeps_empty_documents_empty():
    batch = hash_shingles(["短", "", "a b"])
    sig = fast_signatures(batch, num_perm=128, seed=1)
    assert (sig[0] != 0xFFFFFFFF).all() and (sig[2] != 0xFFFFFFFF).all()
    assert (sig[1] == 0xFFFFFFFF).all()


@pytest.mark.parametrize("mode", ["fast", "classic"])
def test_signature_of_a_document_does_not_depend_on_its_batch(mode):
    hasher = MinHasher(num_perm=64, seed=5, mode=mode)
    together = hasher.signatures(hash_shingles(TEXTS))
    for d, text in enumerate(TEXTS):
        assert np.array_equal(together[d], hasher.signatures(hash_shingles([text]))[0])


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        MinHasher(mode="turbo")


def test_fast_signature_of_a_huge_document_spanning_many_chunks():
    huge = " ".join(f"w{i % 5000}" for i in range(300_000))  # ~300k shingles: several chunks of one document
    texts = ["short one", huge, "another short document", huge[:5000]]
    hasher = MinHasher(num_perm=128, seed=2)
    together = hasher.signatures(hash_shingles(texts))
    for d, text in enumerate(texts):
        assert np.array_equal(together[d], hasher.signatures(hash_shingles([text]))[0])
    # The huge document's bins from all its shingles at once (no chunks; every bin is hit, so no
    # densification): the smallest mixed hash whose top 7 bits name the bin.
    h = fmix32(hash_shingles([huge]).hashes ^ np.uint32(np.random.RandomState(2).randint(0, 1 << 32, dtype=np.uint64)))
    ref = np.full(128, 0xFFFFFFFF, dtype=np.uint32)
    np.minimum.at(ref, h >> np.uint32(25), np.minimum(h, np.uint32(0xFFFFFFFE)))
    assert (ref != 0xFFFFFFFF).all() and np.array_equal(together[1], ref)
