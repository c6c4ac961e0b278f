"""Find the files knowforge ships (``configs/``, ``data_samples/``) through the installed package.

In the repository they are the top-level folders ``configs/`` and ``data_samples/``; installed (wheel or
``pip install -e .``) they are the package data of ``knowforge_data.configs`` and
``knowforge_data.data_samples`` (mapped in pyproject.toml), found with ``importlib.resources``. Only a
checkout used through ``PYTHONPATH`` without being installed falls back to the folders beside this package.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

PACKAGE = "knowforge_data"
TOPS = ("configs", "data_samples")
_CHECKOUT = Path(__file__).resolve().parents[1]  # only for a checkout that is not installed


def shipped(relative: str | Path) -> Path:
    """The path of a shipped file or folder, e.g. ``shipped("configs/filters/mixed.yaml")``.

    Raises FileNotFoundError naming what is missing (a broken install, or a name that is not shipped).
    """
    top, _, rest = Path(relative).as_posix().partition("/")
    if top not in TOPS:
        raise ValueError(f"{relative}: shipped resources are under {' or '.join(f'{t}/' for t in TOPS)}")
    try:
        # One location per package, wheel or editable; joinpath then returns a pathlib.Path (wheels
        # install unpacked, so the files are real files).
        path = Path(importlib.resources.files(f"{PACKAGE}.{top}").joinpath(rest or "."))
    except ModuleNotFoundError:
        path = _CHECKOUT / top / rest
    if not path.exists():
        raise FileNotFoundError(f"{relative} is not among the files shipped with knowforge (looked in {path})")
    return path.resolve()


def resolve(path: str | Path, base: Path | None = None) -> Path:
    """A user-given path as it is, else beside ``base``, else a shipped resource of that name.

    So ``configs/filters/mixed.yaml`` (a default, or a path copied from the docs) works from any
    directory, while a file of the user's own with that name takes precedence.
    """
    path = Path(path)
    candidates = [path] if path.is_absolute() else [path, *([base / path] if base else [])]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    if not path.is_absolute() and path.parts and path.parts[0] in TOPS:
        return shipped(path)
    raise FileNotFoundError(f"not found: {path}")
