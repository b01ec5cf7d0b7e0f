"""Class areas of a reBEN patch: the share of each CLC class in its reference map.

reBEN's labels say which classes a patch holds, not how much of it they cover; its reference
map does (``shared/docs/source-formats.md`` §2: one uint16 band, 120x120 on the S2 10 m grid,
pixel value = CLC-2018 level-3 code, 999 where CLC data is unavailable, nodata 0). The adapter
reads the map once at ingest and records the shares in ``labels.properties`` under
:data:`CLASS_SHARES`, so that answers about areas (urban or rural, the main class) and the
audit of those answers work from the corpus rows alone, without the raster.

The property is compact JSON: CLC level-3 class name → share of the patch's pixels, rounded
to :data:`DECIMALS` places, keys sorted; pixels of code 999, nodata and codes outside CLC
level 3 are counted together under :data:`UNLABELLED`, so the shares sum to 1 (up to
rounding). Names are those of :data:`~eoinstruct.sources.bigearthnet_classes.CLC43` plus
``Glaciers and perpetual snow`` (code 335, the one level-3 class BigEarthNet's 43 lack); codes
without a 19-class equivalent (roads 122, airports 124…) keep their level-3 name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eoinstruct.sources.base import SourceError
from eoinstruct.sources.bigearthnet_classes import CLC43

CLASS_SHARES = "class_shares"
"""Label property holding the JSON class shares."""

UNLABELLED = "unlabelled"
"""Key of the pixels without a CLC level-3 class (code 999, nodata, unknown codes)."""

DECIMALS = 3
"""Decimal places of a recorded share (0.1 % of a 120x120 patch is about 14 pixels)."""

CLC_LEVEL3_NAMES: dict[int, str] = {**dict(CLC43), 335: "Glaciers and perpetual snow"}
"""CLC-2018 level-3 code → class name (the 43 BigEarthNet classes and glaciers)."""


def reference_map_shares(path: Path, unit: str = "") -> dict[str, float]:
    """Read a reference map and return each class's share of the patch.

    Args:
        path: The ``<patch_id>_reference_map.tif`` file.
        unit: The unit being read (for the error).

    Returns:
        Class name (or :data:`UNLABELLED`) → share of all pixels, rounded to
        :data:`DECIMALS` places; classes with no pixel are left out.

    Raises:
        SourceError: ``corrupt_raster`` if the map cannot be read or is empty.
    """
    import rasterio  # slow to import: only reading a map needs it (the builders read the names)
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as dataset:
            codes = dataset.read(1)
    except RasterioError as exc:
        message = f"{path}: cannot read the reference map: {exc}"
        raise SourceError("corrupt_raster", message, unit) from exc
    if codes.size == 0:
        raise SourceError("corrupt_raster", f"{path}: the reference map has no pixels", unit)
    values, counts = np.unique(codes, return_counts=True)
    pixels: dict[str, int] = {}
    for code, count in zip(values.tolist(), counts.tolist(), strict=True):
        name = CLC_LEVEL3_NAMES.get(int(code), UNLABELLED)
        pixels[name] = pixels.get(name, 0) + int(count)
    total = int(codes.size)
    return {name: round(n / total, DECIMALS) for name, n in sorted(pixels.items())}


def shares_json(shares: dict[str, float]) -> str:
    """Write shares as the compact, key-sorted JSON of the :data:`CLASS_SHARES` property."""
    return json.dumps(shares, sort_keys=True, separators=(",", ":"))
