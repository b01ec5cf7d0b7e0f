"""Class shares of a SatlasPretrain tile's ``land_cover.png``, recorded at ingest.

The static ``land_cover`` label is an 8-bit PNG whose pixel value k is land-cover category k
of :data:`LAND_COVER_CATEGORIES` (``shared/docs/source-formats.md`` §4, task table; allenai
``satlas/tasks.py`` via torchgeo ``satlas.py``). Value 0 (``background``) is taken as "no
label" (UNVERIFIED whether it is also a class), as are values above the last category.

The adapter records the shares under :data:`LAND_COVER_SHARES` in ``labels.properties``, so
land-cover answers and their audit work from the corpus rows alone: compact JSON, category →
share of all the tile's pixels rounded to :data:`DECIMALS` places, keys sorted, the pixels
without a label under :data:`UNLABELLED`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from eoinstruct.sources.base import SourceError

LAND_COVER_CATEGORIES: tuple[str, ...] = (
    "background",
    "water",
    "developed",
    "tree",
    "shrub",
    "grass",
    "crop",
    "bare",
    "snow",
    "wetland",
    "mangroves",
    "moss",
)
"""SatlasPretrain ``land_cover`` categories in pixel-value order."""

LAND_COVER_SHARES = "land_cover_shares"
"""Label property holding the JSON shares of the static ``land_cover`` raster."""

UNLABELLED = "unlabelled"
"""Key of the pixels without a land-cover label (value 0 or out of range)."""

DECIMALS = 3
"""Decimal places of a recorded share."""


def land_cover_shares(path: Path, unit: str = "") -> dict[str, float]:
    """Read a ``land_cover.png`` and return each category's share of the tile.

    Args:
        path: The PNG.
        unit: The unit being read (for the error).

    Returns:
        Category (or :data:`UNLABELLED`) → share of all pixels, rounded; categories with no
        pixel are left out.

    Raises:
        SourceError: ``corrupt_raster`` if the PNG cannot be decoded or is empty.
    """
    from eoinstruct.pipeline.io.rasters import BOMB_ERRORS, open_image  # slow: PIL, rasterio

    try:
        with open_image(path) as image:
            values = np.asarray(image.convert("L"))
    except (OSError, ValueError, *BOMB_ERRORS) as exc:
        message = f"{path}: cannot read the land-cover label: {exc}"
        raise SourceError("corrupt_raster", message, unit) from exc
    if values.size == 0:
        raise SourceError("corrupt_raster", f"{path}: the land-cover label has no pixels", unit)
    counts = np.bincount(values.ravel(), minlength=256)
    pixels = {UNLABELLED: int(counts[0] + counts[len(LAND_COVER_CATEGORIES) :].sum())}
    for value, name in enumerate(LAND_COVER_CATEGORIES[1:], start=1):
        pixels[name] = int(counts[value])
    total = int(values.size)
    return {name: round(n / total, DECIMALS) for name, n in sorted(pixels.items()) if n}


def shares_json(shares: dict[str, float]) -> str:
    """Write shares as the compact, key-sorted JSON of the :data:`LAND_COVER_SHARES` property."""
    return json.dumps(shares, sort_keys=True, separators=(",", ":"))
