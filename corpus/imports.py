"""Which of knowforge's modules import which: a static walk of every import statement with ``ast``.

Used by the import-circle test (``tests/test_imports.py``) and by the fingerprint of a stage's code
(``corpus.fingerprint.code_identity``), which hashes the stage's module together with every module of
ours it imports, so editing a helper (``corpus/repair.py`` for ``clean``) makes the stage's shards stale.

Every ``import`` and ``from ... import`` counts wherever it stands (module level, inside a function,
under ``try``), except under ``if TYPE_CHECKING:``, which never runs. Relative imports are resolved
against the importing module; ``from pkg import name`` is an import of ``pkg.name`` when that is a module
of ours, else of ``pkg``. Imports by string (``importlib.import_module``) are not seen.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGES = ("corpus", "instruct", "kg2instruction")


def module_files(root: Path, packages: tuple[str, ...], modules: tuple[str, ...] = ()) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` below each package folder and each top-level module."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    for name in modules:
        found[Path(name).stem] = root / name
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` at any depth, except the bodies of ``if TYPE_CHECKING:``."""
    nodes: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            nodes.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)  # the else branch does run
            continue
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` (the file ``path``) imports, relative imports resolved."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            if node.level:
                # `from . import x` in a.b.c means package a.b; in the package a.b itself, a.b.
                package = module.split(".") if is_package else module.split(".")[:-1]
                base_parts = package[: len(package) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for name in names:
            # `import a.b.c` of ours binds the deepest module of ours on that path.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
    return targets


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    known = set(files)
    return {module: imports_of(module, path, known) for module, path in files.items()}


def closure(module: str, graph: dict[str, set[str]]) -> set[str]:
    """``module`` and every module of ours it imports, directly or through others."""
    seen = {module}
    todo = [module]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen
