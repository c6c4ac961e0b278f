"""The code part of a fingerprint covers the modules a stage imports, not only the one defining it."""

from __future__ import annotations

from pathlib import Path

from corpus.clean import CleanStep
from corpus.fingerprint import code_identity, module_code


def _package(root: Path, helper_body: str) -> None:
    (root / "corpus").mkdir(exist_ok=True)
    (root / "corpus" / "__init__.py").write_text("")
    (root / "corpus" / "stage.py").write_text("from corpus.helper import rule\n\nclass Stage:\n    pass\n")
    (root / "corpus" / "helper.py").write_text(helper_body)
    (root / "corpus" / "other.py").write_text("X = 1\n")


def test_editing_an_imported_helper_changes_the_stage_code_hash(tmp_path):
    _package(tmp_path, "def rule():\n    return 1\n")
    before = module_code("corpus.stage", tmp_path)
    (tmp_path / "corpus" / "helper.py").write_text("def rule():\n    return 2\n")
    assert module_code("corpus.stage", tmp_path) != before


def test_editing_a_module_the_stage_does_not_import_leaves_it(tmp_path):
    _package(tmp_path, "def rule():\n    return 1\n")
    before = module_code("corpus.stage", tmp_path)
    (tmp_path / "corpus" / "other.py").write_text("X = 2\n")
    assert module_code("corpus.stage", tmp_path) == before


def test_a_module_outside_our_packages_is_unknown_and_falls_back_to_its_file(tmp_path):
    assert module_code("tests.corpus.test_fingerprint", tmp_path) == "unknown"

    class Local:
        pass

    assert code_identity(Local())[__name__] not in ("", "unknown")


def test_clean_fingerprint_names_its_module():
    code = code_identity(CleanStep())
    assert set(code) == {"knowforge", "corpus.clean"}
    assert code["corpus.clean"] == module_code("corpus.clean")
