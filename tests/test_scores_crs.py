"""The score stage's CRS check: well-known EPSG codes answered without loading GDAL."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rasterio.crs import CRS
from rasterio.errors import CRSError

from eoinstruct.pipeline.quality import scores


def _proj_knows(text: str) -> bool:
    try:
        CRS.from_user_input(text)
    except CRSError:
        return False
    return True


def test_proj_knows_every_well_known_code() -> None:
    unknown = [code for code in sorted(scores.WELL_KNOWN_EPSG) if not _proj_knows(f"EPSG:{code}")]
    assert unknown == []
    assert len(scores.WELL_KNOWN_EPSG) == 122


@pytest.mark.parametrize(
    "text",
    [
        "EPSG:32633",
        "EPSG:4326",
        "EPSG:2154",
        "EPSG:99999",
        "epsg:32633",
        "EPSG:326330",
        "EPSG:32633 ",
        "not a crs",
        "+proj=longlat +datum=WGS84 +no_defs",
    ],
)
def test_known_crs_agrees_with_proj(text: str) -> None:
    scores._known_crs.cache_clear()
    assert scores._known_crs(text) == _proj_knows(text)


def test_well_known_crs_loads_no_rasterio() -> None:
    code = (
        "import sys\n"
        "from eoinstruct.pipeline.quality import scores\n"
        "assert scores._known_crs('EPSG:32633') and scores._known_crs('EPSG:4326')\n"
        "print('rasterio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
