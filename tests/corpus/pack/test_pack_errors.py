"""Pack's merge on a full disk: one error naming merged.bin and "disk full", no temporary left."""

import errno
import os
import shutil
from types import SimpleNamespace

import pytest

from corpus.pack.stage import MERGED
from corpus.shards import OutputWriteError, is_temporary
from tests.corpus.pack.test_pack_stage import _run


@pytest.mark.parametrize("err", [OSError(errno.ENOSPC, "No space left on device"),
                                 OSError("83200 requested and 74736 written")])  # numpy's own words
def test_merge_on_a_full_disk_names_the_file(tmp_path, monkeypatch, err):
    def no_space(*args, **kwargs):
        raise err

    monkeypatch.setattr(shutil, "copyfileobj", no_space)
    monkeypatch.setattr(os, "statvfs", lambda _: SimpleNamespace(f_bavail=12, f_frsize=4096))
    with pytest.raises(OutputWriteError) as caught:
        _run(tmp_path)
    out = tmp_path / "out"
    assert str(caught.value).startswith(f"cannot write {out / MERGED}.bin: disk full")
    assert "\n" not in str(caught.value)
    assert not [p for p in out.rglob("*") if is_temporary(p)]
