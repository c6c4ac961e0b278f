"""What the wheel carries: every code folder, and configs/ + data_samples/ as package data found by name.

The slow check (build the wheel, install it in a fresh venv, run `knowforge demo` from an empty
directory) is in .ci/run; these tests keep pyproject.toml's lists and the resource helper honest.
"""

import tomllib
from pathlib import Path

import pytest

from corpus.resources import TOPS, resolve, shipped

REPO = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_code_folder_is_a_listed_package():
    folders = {
        ".".join(p.parent.relative_to(REPO).parts)
        for top in ("corpus", "instruct", "kg2instruction")
        for p in (REPO / top).rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert folders <= set(SETUPTOOLS["packages"]), sorted(folders - set(SETUPTOOLS["packages"]))


def test_configs_and_data_samples_ship_whole_as_package_data():
    for top in TOPS:
        package = f"knowforge_data.{top}"
        assert package in SETUPTOOLS["packages"]
        assert SETUPTOOLS["package-dir"][package] == top
        assert SETUPTOOLS["package-data"][package] == ["**/*"]
        assert (REPO / top / "__init__.py").is_file()  # a regular package: importlib.resources gives a Path


@pytest.mark.parametrize("name", [
    "configs/demo.yaml", "configs/filters/mixed.yaml", "configs/wordlists/harmful", "configs/ie/templates.yaml",
    "configs/prompts/translate.txt", "configs/kg2instruction/schema_zh.yaml", "configs/llm_prices.yaml",
    "data_samples/tokenizer/knowforge-demo.model", "data_samples/tokenizer/llama-hf",
    "data_samples/score/char-ngram.json.gz", "data_samples/ie", "data_samples/instruct",
])
def test_defaults_resolve_to_the_shipped_files(name):
    assert shipped(name) == (REPO / name).resolve()


def test_unknown_or_unshipped_names_fail_with_the_name():
    with pytest.raises(ValueError, match="under configs/ or data_samples/"):
        shipped("corpus/runner.py")
    with pytest.raises(FileNotFoundError, match="configs/nope.yaml"):
        shipped("configs/nope.yaml")


def test_a_users_own_file_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve("configs/filters/mixed.yaml") == shipped("configs/filters/mixed.yaml")
    own = tmp_path / "configs" / "filters" / "mixed.yaml"
    own.parent.mkdir(parents=True)
    own.write_text("filters: []\n")
    assert resolve("configs/filters/mixed.yaml").resolve() == own
    with pytest.raises(FileNotFoundError, match="elsewhere.yaml"):
        resolve("elsewhere.yaml")
