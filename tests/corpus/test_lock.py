"""One run per output directory (corpus/lock.py), and no temporary survives a killed run's rerun."""

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import orjson
import pytest

from corpus.lock import LOCK_NAME, OutputLocked, output_lock
from corpus.runner import run_stage
from corpus.shards import is_temporary, temp_path
from tests.conftest import make_docs
from tests.kill import run, start

# A stage that stays in its loop while the file named by argv[3] exists: the test holds the first run
# open until it has seen the second one refused, so no scheduler delay can let the first run finish first.
HELD_STAGE = textwrap.dedent(
    """
    import dataclasses, sys, time
    from pathlib import Path
    from typing import ClassVar
    from corpus.runner import run_stage

    HOLD = Path(sys.argv[3])

    @dataclasses.dataclass(frozen=True)
    class Held:
        name: ClassVar[str] = "slow"
        def __call__(self, docs, counters):
            for doc in docs:
                while HOLD.exists():
                    time.sleep(0.01)
                doc["meta"]["kind"] = "seen"  # a declared key (corpus/schema.py)
                yield doc

    if __name__ == "__main__":
        run_stage(Held(), inputs=[Path(sys.argv[1])], output=Path(sys.argv[2]), workers=2, progress=False)
    """
)


def _data(directory: Path) -> dict[str, bytes]:
    """Kept and rejected shards, done markers, and any lock or temporary (stats hold timings)."""
    files = [p for p in directory.rglob("*") if p.is_file() and not p.name.endswith(".json")]
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(files)}


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if is_temporary(p)]


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


class _Copy:
    name = "copy"

    def __call__(self, docs, counters):
        yield from docs


def test_second_run_on_the_same_output_stops_with_the_holders_pid(tmp_path, write_shard):
    src = tmp_path / "in"
    for s in range(4):
        write_shard(src / f"part-{s:05d}.jsonl.zst", make_docs(60, prefix=f"k{s}-"))
    script = tmp_path / "held_stage.py"
    script.write_text(HELD_STAGE)
    hold = tmp_path / "hold"
    reference = tmp_path / "reference"
    assert run(script, src, reference, hold, timeout=300) == 0  # no hold file: runs straight through

    out = tmp_path / "out"
    hold.touch()
    first = start(script, src, out, hold)
    # A wait for a state, not a timing claim: generous, so a starved machine only makes the test slower.
    deadline = time.time() + 600
    lock = out / LOCK_NAME
    holds = lambda: lock.exists() and lock.read_text().strip() == str(first.pid)  # noqa: E731 - locked, PID written
    while time.time() < deadline and not holds() and first.poll() is None:
        time.sleep(0.02)
    assert holds() and first.poll() is None, "the first run should hold the lock by now"
    second = start(script, src, out, hold, stderr=subprocess.PIPE, text=True)
    _, err = second.communicate(timeout=600)
    assert second.returncode != 0
    assert f"in use by another run (PID {first.pid})" in err
    assert first.poll() is None, "the second run stopped while the first was still going"
    hold.unlink()
    assert first.wait(timeout=300) == 0
    assert _data(out) == _data(reference)  # nothing lost: the first run's output is whole, no lock left


def test_lock_held_in_this_process_refuses_a_second_holder(tmp_path):
    with output_lock(tmp_path) as path:
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(OutputLocked, match=f"PID {os.getpid()}"):
            with output_lock(tmp_path):
                pass
    assert not (tmp_path / LOCK_NAME).exists()
    with output_lock(tmp_path):  # free again
        pass


def test_stale_lock_of_a_killed_run_is_reported_and_taken_over(tmp_path, write_shard, caplog):
    src = write_shard(tmp_path / "in" / "part-00000.jsonl", make_docs(3))
    out = tmp_path / "out"
    out.mkdir()
    dead = _dead_pid()
    (out / LOCK_NAME).write_text(f"{dead}\n")
    leftover = temp_path(out / "part-00000.jsonl.zst").with_name(f"part-00000.jsonl.zst.knowforge-tmp-{dead}")
    leftover.write_bytes(b"half a shard")
    with caplog.at_level(logging.WARNING, logger="corpus.lock"):
        report = run_stage(_Copy(), inputs=[src], output=out, progress=False)
    assert report.docs_out == 3
    assert f"stale lock of PID {dead}" in caplog.text
    assert not leftover.exists() and not (out / LOCK_NAME).exists()


# A driver that SIGKILLs itself in the middle of writing a temporary: during dedup's prepare (a
# signature file under _dedup/<hash>/) or during pack's merge (merged.bin), then a clean rerun.
KILLING_DRIVER = textwrap.dedent(
    """
    import os, signal, shutil, sys
    from pathlib import Path
    from corpus.runner import run_stage
    from corpus.steps import build_step

    stage, src, out, kill = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "kill"

    def die_half_way(write):
        def wrapper(*args, **kwargs):
            target = args[1] if stage == "pack" else args[0]  # copyfileobj(src, dst) / np.save(file, a)
            target.write(b"partial bytes")
            target.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return wrapper

    if kill and stage == "dedup":
        import numpy as np
        np.save = die_half_way(np.save)
    elif kill:
        shutil.copyfileobj = die_half_way(shutil.copyfileobj)
    options = {"tokenizer": sys.argv[5], "max_tokens": 48} if stage == "pack" else {}
    run_stage(build_step(stage, options), inputs=[src], output=out, workers=1, progress=False)
    """
)
LLAMA = str(Path(__file__).parents[1] / "fixtures" / "tokenizer" / "llama-style.model")


@pytest.mark.parametrize("stage", ["dedup", "pack"])
def test_kill_mid_write_then_rerun_leaves_no_temporary(tmp_path, write_shard, stage):
    src = tmp_path / "in"
    for s in range(2):
        docs = [{**d, "text": d["text"] * 20} for d in make_docs(30, prefix=f"s{s}-")]
        write_shard(src / f"part-{s:05d}.jsonl", docs)
    script = tmp_path / "driver.py"
    script.write_text(KILLING_DRIVER)
    reference, out = tmp_path / "reference", tmp_path / "out"
    assert run(script, stage, src, reference, "clean", LLAMA) == 0
    assert run(script, stage, src, out, "kill", LLAMA) == -signal.SIGKILL
    left = _temporaries(out)
    assert left, "the kill should leave a temporary behind"
    if stage == "dedup":  # _dedup/<params>/part-0000N.sig.npy.knowforge-tmp-PID
        assert all(p.relative_to(out).parts[0] == "_dedup" for p in left)
    else:  # merged.bin.knowforge-tmp-PID
        assert all(p.parent == out and p.name.startswith("merged.bin") for p in left)
    assert run(script, stage, src, out, "clean", LLAMA) == 0
    assert _temporaries(out) == []
    assert not (out / LOCK_NAME).exists()
    if stage == "pack":
        assert (out / "merged.bin").read_bytes() == (reference / "merged.bin").read_bytes()
    else:
        manifest = orjson.loads((out / "_manifest.json").read_bytes())["totals"]
        assert manifest == orjson.loads((reference / "_manifest.json").read_bytes())["totals"]
