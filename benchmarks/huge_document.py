"""One huge document through dedup (and pack): wall time and peak RSS, each stage in a fresh process.

Writes a shard with one ``--mb`` MB document (English sentences, or Chinese with ``--lang zh``) and 20
small ones, raises the line limit for it ($KNOWFORGE_MAX_LINE_BYTES), and runs each stage through
``run_stage`` in a child process, whose peak RSS is printed beside its RSS before the stage (the
interpreter, the imports and the document built in memory). Issue 23 measured 3.35 GB (dedup) and
2.45 GB (pack) for a 50 MB document.
Run: python benchmarks/huge_document.py --mb 50 --lang en --stages dedup pack
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import os, random, resource, sys, time
from pathlib import Path
os.environ["KNOWFORGE_MAX_LINE_BYTES"] = str(1 << 30)
from corpus.runner import run_stage
from corpus.shards import ShardWriter
from corpus.steps import build_step

stage, lang, mb, tmp = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
rng = random.Random(0)
if lang == "en":
    words = "the of and knowledge graph model data corpus language sentence".split()
    text = "".join(" ".join(rng.choice(words) for _ in range(12)) + ". " for _ in range(mb * 13_000))
    text = text[: mb * 1_000_000]
else:
    chars = "天地玄黄宇宙洪荒日月盈昃辰宿列张寒来暑往秋收冬藏"
    text = "".join("".join(rng.choices(chars, k=30)) + "。" for _ in range(mb * 10_750))
with ShardWriter(tmp / "in" / "part-00000.jsonl.zst") as writer:
    writer.write({"id": "huge", "text": text, "source": "t", "meta": {}})
    for i in range(20):
        writer.write({"id": f"s{i}", "text": text[i * 1000 : (i + 1) * 1000], "source": "t", "meta": {}})
size = len(text.encode())
del text
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
options = {"tokenizer": sys.argv[5]} if stage == "pack" else {}
start = time.perf_counter()
report = run_stage(build_step(stage, options), inputs=[tmp / "in"], output=tmp / stage, progress=False)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{stage:>6} {lang}: {size / 1e6:.1f} MB document, {time.perf_counter() - start:.1f} s, "
      f"RSS {before:.0f} MB before, peak {peak:.0f} MB; {report.docs_out} docs out")
"""
TOKENIZER = Path(__file__).parents[1] / "tests" / "fixtures" / "tokenizer" / "llama-style.model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    parser.add_argument("--stages", nargs="+", default=["dedup", "pack"], choices=["dedup", "pack"])
    args = parser.parse_args()
    for stage in args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-c", CHILD, stage, args.lang, str(args.mb), tmp, str(TOKENIZER)],
                           check=True)


if __name__ == "__main__":
    main()
