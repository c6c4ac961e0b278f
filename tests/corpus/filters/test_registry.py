"""The filter table: every filter module's filter is in it under its own name, and options are checked."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import corpus.filters.base as base
from corpus.filters.registry import FILTERS, build_filter
from corpus.steps import ConfigError

FILTER_DIR = Path(base.__file__).parent


def defined_filters() -> set[type]:
    """Every Filter subclass defined (not imported) in a module of corpus/filters/."""
    found = set()
    for path in sorted(FILTER_DIR.glob("*.py")):
        module = importlib.import_module(f"corpus.filters.{path.stem}")
        found |= {obj for obj in vars(module).values() if inspect.isclass(obj) and issubclass(obj, base.Filter)
                  and obj is not base.Filter and obj.__module__ == module.__name__}
    return found


def test_every_filter_is_registered_under_its_name() -> None:
    # A new filter module is usable from YAML only once its line is in FILTERS: this catches a forgotten one.
    assert set(FILTERS.values()) == defined_filters()
    assert all(name == cls.name for name, cls in FILTERS.items())


@pytest.mark.parametrize(("name", "options", "message"), [
    ("perplexity", {}, "unknown filter 'perplexity'; known: c4, code"),
    ("c4", {"min_sentence": 1}, "filter 'c4' has no option 'min_sentence'; it takes: drop_lorem_ipsum"),
])
def test_build_filter_errors_are_the_builders(name: str, options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_filter(name, options)
