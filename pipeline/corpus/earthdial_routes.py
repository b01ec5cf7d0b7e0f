"""How each EarthDial export sub-dataset is routed, converted and normalised.

EarthDial's ``ShardDataLoader`` (hiyamdebary/EarthDial ``src/earthdial/train/dataloader.py``)
picks its branch by the dataset name's prefix; ``build_transform`` (``train/dataset.py``)
names the normalisations (``s1``: dB statistics of VV/VH; ``s2_l2a``: Sentinel-2 reflectance ×
10 000; ``s2_norm``: mean 0, std 1). The rules are documented in
:mod:`eoinstruct.pipeline.corpus.earthdial`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

NORMALIZATION_BY_ENCODING: dict[str, str] = {
    "uint8": "imagenet",
    "sar_db": "s1",
    "sar_linear": "s1",
}
"""EarthDial ``normalization`` names per encoding (``sar_linear`` is exported in dB);
Sentinel-2 reflectance uses ``s2_l2a`` and every other raster ``s2_norm`` (mean 0, std 1:
the values as stored)."""

SAR_DB_FLOOR = -50.0
"""dB value written for linear SAR power at or below 10⁻⁵ (zero or negative after filtering)."""

L8_MS_TAG = "[l8_ms_30]"
THERMAL_TAG = "[Inf_thermal_1]"
"""EarthDial's thermal-infrared tag, for one thermal band (``[l8_ms_30]`` is 8 bands)."""

S2_L2A_BANDS = 12
"""Band count of EarthDial's ``s2_l2a`` statistics (BigEarthNet's 12 Sentinel-2 bands)."""

ROUTES = ("rgb", "raster", "change_rgb", "change_sar", "change_raster", "stacked")
"""How a sub-dataset is laid out for EarthDial's loader; see :func:`route_of`."""

ROUTE_PREFIX = {"change_rgb": "Change_", "change_sar": "Change_SAR_", "change_raster": "Change_"}
"""Dataset-name prefix that sends a multi-image route to its branch of EarthDial's loader."""


class ExportError(ValueError):
    """A corpus record cannot be exported (bad conversation, missing member)."""


def route_of(roles: tuple[str, ...], rasters: Mapping[str, Mapping[str, Any]], name: str) -> str:
    """Return how a sub-dataset is laid out for EarthDial's loader (one of :data:`ROUTES`).

    Args:
        roles: The image roles of its records.
        rasters: Raster info (``bands``, ``encoding``…) by role; roles without one are 8-bit RGB.
        name: Sub-dataset name for messages.

    Returns:
        ``rgb`` or ``raster`` for one image; for several, ``change_rgb`` (RGB renderings only),
        ``change_sar`` (SAR rasters with the same bands), ``change_raster`` (other rasters
        with the same bands) or ``stacked`` (rasters with different bands, stacked into one).

    Raises:
        ExportError: If several images mix RGB renderings and rasters (no loader branch).
    """
    if len(roles) == 1:
        return "raster" if roles[0] in rasters else "rgb"
    if not any(r in rasters for r in roles):
        return "change_rgb"
    if not all(r in rasters for r in roles):
        raise ExportError(
            f"{name}: images {roles} mix RGB renderings and rasters; no branch of EarthDial's "
            "loader takes them"
        )
    if len({tuple(rasters[r]["bands"]) for r in roles}) == 1:
        sar = all(str(rasters[r]["encoding"]).startswith("sar_") for r in roles)
        return "change_sar" if sar else "change_raster"
    return "stacked"


def exported_encoding(info: Mapping[str, Any], sensor: str) -> str:
    """Return the encoding a raster has in the export (see :func:`convert_raster`).

    Args:
        info: The raster info of the corpus record (``encoding``, ``bands``).
        sensor: The sensor name.

    Returns:
        ``sar_db`` for linear SAR, ``reflectance_1e4`` for 12-band Sentinel-2 reflectance,
        else the corpus encoding.
    """
    encoding = str(info["encoding"])
    if encoding == "sar_linear":
        return "sar_db"
    if encoding == "reflectance" and "Sentinel-2" in sensor:
        return "reflectance_1e4" if len(info["bands"]) == S2_L2A_BANDS else encoding
    return encoding


def convert_raster(array: np.ndarray, info: Mapping[str, Any], sensor: str) -> np.ndarray:
    """Return a corpus raster in the units its EarthDial ``normalization`` assumes.

    Args:
        array: The (bands, height, width) raster of the corpus.
        info: Its raster info (``encoding``, ``bands``).
        sensor: The sensor name.

    Returns:
        uint16 for reflectance × 10 000, float32 otherwise (linear SAR power in dB, floored
        at :data:`SAR_DB_FLOOR`); nodata (NaN) as 0.
    """
    encoding = exported_encoding(info, sensor)
    if array.dtype == np.uint16:
        return array
    values = array.astype(np.float64)
    nodata = np.isnan(values)
    if encoding == "reflectance_1e4":
        scaled = np.clip(np.round(np.where(nodata, 0.0, values) * 10_000), 0, 65_535)
        return scaled.astype(np.uint16)
    if encoding == "sar_db" and info["encoding"] == "sar_linear":
        floor = 10.0 ** (SAR_DB_FLOOR / 10.0)
        values = 10.0 * np.log10(np.maximum(np.where(nodata, floor, values), floor))
    return np.where(nodata, 0.0, values).astype(np.float32)


def normalization_for(sub_encoding: str, sensor: str, bands: int = 3) -> str:
    """Return EarthDial's ``normalization`` name for a raster encoding and sensor.

    Args:
        sub_encoding: The image encoding as exported (``uint8``, ``reflectance_1e4``,
            ``sar_db``…).
        sensor: The sensor name.
        bands: The raster's band count: an 8-bit raster of more than 3 bands (TreeSatAI's
            IR, G, B, R) is not ImageNet RGB and gets ``s2_norm``.

    Returns:
        ``imagenet`` (8-bit RGB), ``s2_l2a`` (Sentinel-2 reflectance × 10 000), ``s1`` (SAR in
        dB) or ``s2_norm`` (identity, the values as stored).
    """
    if sub_encoding == "reflectance_1e4" and "Sentinel-2" in sensor:
        return "s2_l2a"
    if sub_encoding == "uint8" and bands > 3:
        return "s2_norm"
    return NORMALIZATION_BY_ENCODING.get(sub_encoding, "s2_norm")
