import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from corpus.dedup.near import NearDedupStep
    from corpus.runner import run_stage

    if __name__ == "__main__":
        run_stage(NearDedupStep(), inputs=[Path(sys.argv[1])], output=Path(sys.argv[2]), workers=2, progress=False)
    """
)
N_SHARDS = 8
ALPHABET = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏闰余成岁律吕调阳云腾致雨露结为霜金生丽水玉出昆冈"


def _docs(shard: int) -> list[dict]:
    """500 ~400-character documents per shard, every 5th a near-copy of a document of the previous shard."""
    rng = random.Random(shard)
    prev = random.Random(shard - 1)
    docs = []
    for i in range(500):
        text = "".join(rng.choices(ALPHABET, k=400))
        base = "".join(prev.choices(ALPHABET, k=400))  # the previous shard's i-th text
        if i % 5 == 0 and shard:
            text = base[:-10] + "新的结尾"
        docs.append({"id": f"s{shard}-{i}", "text": text, "source": "web", "meta": {}})
    return docs


def _outputs(directory: Path) -> dict[str, bytes]:
    """The stage's data: kept and rejected shards and done markers (state, stats and manifest excluded).

    Temporaries are included on purpose: a rerun must leave none behind (the runner deletes them).
    """
    wanted = [*directory.glob("part-*"), *directory.glob("rejected/part-*"), *directory.glob("_done/*")]
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(wanted)}


def _run(src: Path, out: Path, script: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), *sys.path])}
    return subprocess.Popen([sys.executable, str(script), str(src), str(out)], env=env, start_new_session=True)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Input shards, the driver script and the output of one uninterrupted run, shared by both kills."""
    from corpus.shards import ShardWriter

    root = tmp_path_factory.mktemp("dedup-resume")
    src = root / "in"
    src.mkdir()
    for s in range(N_SHARDS):
        with ShardWriter(src / f"part-{s:05d}.jsonl.zst") as writer:
            for doc in _docs(s):
                writer.write(doc)
    script = root / "dedup.py"
    script.write_text(SCRIPT)
    reference = root / "reference"
    assert _run(src, reference, script).wait(timeout=120) == 0
    assert len(list((reference / "rejected").glob("part-*"))) >= 1  # shards that rejected none write no file
    assert len(list((reference / "_done").glob("*"))) == N_SHARDS
    return src, script, reference


@pytest.mark.parametrize("kill_after", ["signatures", "done markers"])
def test_sigkill_mid_dedup_then_rerun_is_byte_identical(tmp_path, uninterrupted, kill_after):
    src, script, reference = uninterrupted
    run = lambda out: _run(src, out, script)  # noqa: E731

    killed = tmp_path / "killed"
    proc = run(killed)

    def progress() -> int:
        if kill_after == "signatures":
            return len(list(killed.glob("_dedup/*/*.docs.npz")))
        return len(list((killed / "_done").glob("*"))) if (killed / "_done").is_dir() else 0

    deadline = time.time() + 600  # a wait for a state: a starved machine only makes the test slower
    while time.time() < deadline and progress() < 1 and proc.poll() is None:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: driver and workers
    proc.wait()
    reached = progress()
    finished = len(list((killed / "_done").glob("*"))) if (killed / "_done").is_dir() else 0
    assert reached >= 1 and finished < N_SHARDS, "the kill should land mid-run"

    assert run(killed).wait(timeout=120) == 0
    assert _outputs(killed) == _outputs(reference)
