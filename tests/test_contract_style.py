"""No stage or settings record rewrites its own frozen fields: ``object.__setattr__`` appears nowhere in the
packages' sources (corpus/, instruct/, kg2instruction/, cli.py).

A frozen dataclass is frozen so that its fields are the options it was given, which is what its shards'
fingerprints record; docs/architecture.md ("The runner contract") says what to do instead: lists are made
tuples by the builder, derived values are properties, ``functools.cached_property`` or a constructor.
"""

from __future__ import annotations

import re
from pathlib import Path

from corpus.imports import PACKAGES, module_files

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = re.compile(r"\bobject\s*\.\s*__setattr__\b")


def forbidden_uses(files: dict[str, Path]) -> list[str]:
    """``path:line: text`` for every line that names ``object.__setattr__`` (comments too, as grep would)."""
    found = []
    for path in files.values():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}: "
                             f"{line.strip()}")
    return found


def test_no_frozen_dataclass_is_mutated_after_construction():
    files = module_files(ROOT, PACKAGES, ("cli.py",))
    assert "corpus.readers.wiki" in files and "kg2instruction.stage" in files  # the walk found the tree
    uses = forbidden_uses(files)
    assert not uses, "frozen fields rewritten (docs/architecture.md, runner contract):\n" + "\n".join(uses)


def test_the_check_finds_a_use(tmp_path):
    module = tmp_path / "stage.py"
    module.write_text("def __post_init__(self):\n    object.__setattr__(self, 'langs', tuple(self.langs))\n"
                      "    setattr_ok = object.__init__\n", encoding="utf-8")
    expected = f"{module}:2: object.__setattr__(self, 'langs', tuple(self.langs))"
    assert forbidden_uses({"stage": module}) == [expected]
