"""No import circle among knowforge's modules: corpus/, instruct/, kg2instruction/ and cli.py.

Every ``import`` and ``from ... import`` statement counts, wherever it stands: at module level, inside
a function or a class, under ``try``. Function-level imports are counted on purpose: a function-level
import is how a circle is kept from failing at import time, which hides it without removing it.
Exactly one kind is left out: imports under ``if TYPE_CHECKING:`` (or ``if typing.TYPE_CHECKING:``),
which never run and exist only for annotations. Relative imports are resolved against the importing
module; ``from pkg import name`` counts as an import of ``pkg.name`` when that is a module of ours, else
of ``pkg``. Parent packages are not implicit targets (importing ``corpus.x`` first runs
``corpus/__init__.py``): that order closes a circle only if the ``__init__`` imports back into the
module, and then its own import statements are edges here and show the circle. Imports by string
(``importlib.import_module``) are not statements and are not seen; the packages have none today.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import pytest

from corpus.imports import PACKAGES, import_graph, module_files

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("cli.py",)


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest circle per strongly connected group of modules (Tarjan), each starting at its least name."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(start: str) -> None:
        # Iterative Tarjan: recursion would hit Python's limit on a long chain of imports.
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_shortest_circle(graph, group) for group in groups)


def _shortest_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """The shortest path from the group's least module back to itself, inside the group (BFS)."""
    start = min(group)
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & group):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return path[::-1]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no circle through {start} in a strongly connected group")  # cannot happen


def test_no_import_cycles() -> None:
    files = module_files(ROOT, PACKAGES, MODULES)
    assert "corpus.filters.base" in files and "cli" in files  # the walk found the tree it checks
    cycles = find_cycles(import_graph(files))
    assert not cycles, "import circles:\n" + "\n".join(" -> ".join([*c, c[0]]) for c in cycles)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("files", "expected"), [
    # A circle closed by a function-level relative import: the kind this test exists to catch.
    ({"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n",
      "pkg/b.py": "def f():\n    from . import a\n    return a\n"}, [["pkg.a", "pkg.b"]]),
    # Three modules through a subpackage, `import x.y` and `from ..m import name` (a name, not a module).
    ({"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/a.py": "import pkg.sub.b\n",
      "pkg/sub/b.py": "from ..c import thing\n", "pkg/c.py": "class X:\n    def m(self):\n        import pkg.a\n"},
     [["pkg.a", "pkg.sub.b", "pkg.c"]]),
    # `from .sub import b` inside the package's __init__ resolves to pkg.sub.b.
    ({"pkg/__init__.py": "from .sub import b\n", "pkg/sub/__init__.py": "",
      "pkg/sub/b.py": "import pkg\n"}, [["pkg", "pkg.sub.b"]]),
    # A one-way chain and a TYPE_CHECKING-only back edge are no circle; third-party imports are ignored.
    ({"pkg/__init__.py": "", "pkg/a.py": "import os\nfrom pkg import b\n",
      "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"}, []),
])
def test_cycle_finder_on_a_synthetic_package(tmp_path: Path, files: dict[str, str], expected: list) -> None:
    _write(tmp_path, files)
    assert find_cycles(import_graph(module_files(tmp_path, ("pkg",)))) == expected
