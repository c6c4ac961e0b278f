"""Run the installed ``knowforge`` console script as a user would, with this checkout's code first."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def knowforge(*args: str, cwd: Path | None = None, timeout: float = 300,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``knowforge ARGS`` in a subprocess; skips the test if the script is not installed."""
    exe = shutil.which("knowforge") or str(Path(sys.executable).parent / "knowforge")
    if not Path(exe).exists():
        pytest.skip("the knowforge console script is not installed in this environment")
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=full_env)
