"""Shared test fixtures: paths to the repository, the peer data and temporary roots."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One full build of the embedded sample corpus, shared by the modules that only read it.

    Tests that change a build copy what they change (or build their own); this one stays as
    the build wrote it. The Hugging Face cache lives in the temporary root, offline.
    """
    from build_helpers import build

    root = tmp_path_factory.mktemp("sample-build")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HOME", str(root / "hf"))
        mp.setenv("HF_DATASETS_OFFLINE", "1")
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
        build(root)
        build(root, "export")  # on demand: `all` leaves the EarthDial export out
    yield root


@pytest.fixture(scope="session")
def sample_tars(sample_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample build's WebDataset tars, written on demand (``eoinstruct webdataset``).

    The build stores every image once, in Parquet (``shard.webdataset: false``); the tars go
    to a folder of their own so that the shared build stays as the build wrote it.
    """
    from eoinstruct.pipeline.corpus.webdataset import write_webdataset

    out = tmp_path_factory.mktemp("sample-tars") / "wds"
    write_webdataset(sample_build / "corpus", out, progress=False, echo=lambda _: None)
    return out
