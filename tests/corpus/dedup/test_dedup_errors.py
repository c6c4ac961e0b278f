"""Dedup's prepare on a full disk: one error naming the signature file and "disk full"."""

import errno

import numpy as np
import pytest

from corpus.dedup.near import NearDedupStep
from corpus.runner import run_stage
from corpus.shards import OutputWriteError, is_temporary
from tests.conftest import make_docs


def test_prepare_on_a_full_disk_names_the_file(tmp_path, monkeypatch, write_shard):
    src = write_shard(tmp_path / "in" / "part-00000.jsonl", make_docs(20))
    real_save = np.save

    def save(file, array, *args, **kwargs):
        real_save(file, array[: len(array) // 2], *args, **kwargs)  # half written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", save)
    out = tmp_path / "out"
    with pytest.raises(OutputWriteError) as caught:
        run_stage(NearDedupStep(), inputs=[src], output=out, progress=False)
    message = str(caught.value)
    assert message.startswith(f"cannot write {out / '_dedup'}") and message.endswith("part-00000.sig.npy: disk full")
    assert not [p for p in out.rglob("*") if is_temporary(p)]
