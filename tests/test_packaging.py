"""The lock files: the runtime set is the dev lock's pins of pyproject's dependencies only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if found:
            out[found.group(1).lower()] = found.group(2)
    return out


def test_the_runtime_lock_is_current():
    done = subprocess.run(
        [sys.executable, str(REPO / "tools" / "runtime_lock.py"), str(REPO), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_runtime_lock_is_a_subset_of_the_dev_lock_without_the_dev_tools():
    runtime, dev = pins(REPO / "requirements-runtime.lock"), pins(REPO / "requirements.lock")
    assert runtime and all(dev.get(name) == version for name, version in runtime.items())
    for tool in ("pytest", "ruff", "mypy", "nbclient", "uvicorn"):
        assert tool in dev and tool not in runtime
    for needed in ("numpy", "pyarrow", "rasterio", "dvc", "pydantic", "datasets"):
        assert needed in runtime
