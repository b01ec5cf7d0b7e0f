"""Land-surface temperature figures of a thermal chip, stored as label properties at ingest.

The urban-heat-island template describes a thermal chip (Landsat ST_B10 / ST_B6, kelvin): its
mean temperature, its warmest quarter and how much temperatures vary. Those figures are
computed here once, when the chip is cut, and stored in ``labels.properties`` so that the
instruction builder and the audit both read labels, never the raster.

Decisions:

- Statistics are over the chip's valid (finite) pixels, in degrees Celsius (K − 273.15),
  written with two decimals: ``lst_mean_c``, ``lst_p10_c`` and ``lst_p90_c`` (10th and
  90th percentiles), ``lst_valid_share`` (share of valid pixels) and ``lst_quadrant_means_c``,
  a JSON object of the mean of each quarter of the chip (``north-west``, ``north-east``,
  ``south-west``, ``south-east``; chips are north-up map grids, so north is the top of the
  image). A quarter of an odd-sized chip takes the middle row or column on its south or east
  side.
- A chip with less than :data:`MIN_VALID_SHARE` valid pixels, or a quarter without any,
  gets only ``lst_valid_share``: too little of it is seen to describe it.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioError

from eoinstruct.sources.base import SourceError

KELVIN_TO_CELSIUS = 273.15

MIN_VALID_SHARE = 0.5
"""Fewest valid pixels (share of the chip) for the temperature figures to be stored."""

QUADRANTS: tuple[str, ...] = ("north-west", "north-east", "south-west", "south-east")
"""Quarter names, in the order of the JSON object (north is the top of the image)."""


def quadrant_views(values: np.ndarray) -> dict[str, np.ndarray]:
    """Split a 2-D array into its four quarters, by compass name (north at the top).

    Args:
        values: A ``(height, width)`` array.

    Returns:
        Quarter name → view of the array.
    """
    h, w = values.shape
    return {
        "north-west": values[: h // 2, : w // 2],
        "north-east": values[: h // 2, w // 2 :],
        "south-west": values[h // 2 :, : w // 2],
        "south-east": values[h // 2 :, w // 2 :],
    }


def temperature_figures(kelvin: np.ndarray) -> dict[str, str]:
    """Return the temperature properties of a kelvin array (NaN where there is no data).

    Args:
        kelvin: A ``(height, width)`` array of surface temperatures in kelvin.

    Returns:
        The properties described in the module docstring (only ``lst_valid_share`` when too
        little of the chip is valid).
    """
    celsius = np.asarray(kelvin, dtype=np.float64) - KELVIN_TO_CELSIUS
    valid = np.isfinite(celsius)
    share = float(valid.mean()) if valid.size else 0.0
    figures = {"lst_valid_share": f"{share:.3f}"}
    quarters = quadrant_views(celsius)
    if share < MIN_VALID_SHARE or any(not np.isfinite(q).any() for q in quarters.values()):
        return figures
    finite = celsius[valid]
    means = {name: round(float(np.nanmean(quarters[name])), 2) for name in QUADRANTS}
    figures |= {
        "lst_mean_c": f"{float(finite.mean()):.2f}",
        "lst_p10_c": f"{float(np.percentile(finite, 10)):.2f}",
        "lst_p90_c": f"{float(np.percentile(finite, 90)):.2f}",
        "lst_quadrant_means_c": json.dumps(means),
    }
    return figures


def thermal_properties(path: Path, unit: str) -> dict[str, str]:
    """Read a thermal chip (float32 kelvin, NaN nodata) and return its temperature properties.

    Args:
        path: The chip GeoTIFF.
        unit: The unit id (for errors).

    Returns:
        See :func:`temperature_figures`.

    Raises:
        SourceError: ``corrupt_raster`` if the chip cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                kelvin = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
    except RasterioError as exc:
        raise SourceError("corrupt_raster", f"{path}: cannot read the chip: {exc}", unit) from exc
    return temperature_figures(kelvin)
