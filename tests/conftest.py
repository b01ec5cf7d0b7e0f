"""Shared test fixtures: paths to the repository, the peer data and temporary roots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _peer_data_dir() -> Path:
    env = os.environ.get("EOINSTRUCT_PEER_DATA")
    return Path(env) if env else REPO.parent / "shared" / "peer-data"


@pytest.fixture(scope="session")
def peer_data() -> Path:
    """The externally authored real files in ../shared/peer-data (skip when absent)."""
    path = _peer_data_dir()
    if not path.is_dir():
        pytest.skip(
            f"peer data not found at {path}: clone the project next to its shared/ folder "
            "or set EOINSTRUCT_PEER_DATA"
        )
    return path
