"""Raw pixel values to a sensor-aware unit brightness, per encoding.

Split off :mod:`eoinstruct.pipeline.io.rasters`, which re-exports these names.
"""

from __future__ import annotations

import numpy as np

RADIANCE_WHITE = 20.0
"""TOA radiance (µW cm⁻² sr⁻¹ nm⁻¹) shown as white / counted as unit brightness 1."""

NORMALIZED_RADIANCE_WHITE = 60.0
"""Normalised radiance (µW cm⁻² nm⁻¹) shown as white (STARCOP displays RGB as value / 60)."""

KELVIN_RANGE = (250.0, 330.0)
"""Temperatures (K) mapped to unit brightness 0 and 1."""


def to_db(linear: np.ndarray) -> np.ndarray:
    """Convert linear backscatter power to decibels (non-positive values become NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 10.0 * np.log10(np.where(linear > 0, linear, np.nan))
    return out.astype(np.float32)


def unit_brightness(array: np.ndarray, encoding: str, clip: bool = True) -> np.ndarray:
    """Map raw values to a sensor-aware brightness in [0, 1] (NaN stays NaN).

    - ``uint8``: value / 255.
    - ``reflectance_1e4``: reflectance (value / 10 000), clipped to [0, 1].
    - ``reflectance``: the value, clipped to [0, 1].
    - ``sar_db``: (dB + 30) / 35 clipped, i.e. −30 dB → 0 and +5 dB → 1, the range of
      Sentinel-1 backscatter over land and water; ``sar_linear`` is converted to dB first.
    - ``radiance``: value / :data:`RADIANCE_WHITE`; ``normalized_radiance``: value /
      :data:`NORMALIZED_RADIANCE_WHITE`.
    - ``kelvin``: :data:`KELVIN_RANGE` mapped to [0, 1].
    - ``float``: no physical brightness scale; all NaN (brightness checks do not apply).

    Args:
        array: Raw values.
        encoding: The image's encoding.
        clip: Clip to [0, 1]; False only where the values are known to map within it
            (:func:`maps_within_unit`), where the clip changes nothing.

    Returns:
        Brightness of the same shape, float32.
    """
    if encoding == "uint8":
        out = array / 255.0
    elif encoding == "reflectance_1e4":
        out = array / 10_000.0
    elif encoding == "reflectance":
        out = array
    elif encoding == "sar_db":
        out = (array + 30.0) / 35.0
    elif encoding == "sar_linear":
        out = (to_db(array) + 30.0) / 35.0
    elif encoding == "radiance":
        out = array / RADIANCE_WHITE
    elif encoding == "normalized_radiance":
        out = array / NORMALIZED_RADIANCE_WHITE
    elif encoding == "kelvin":
        low, high = KELVIN_RANGE
        out = (array - low) / (high - low)
    elif encoding == "float":
        return np.full(array.shape, np.nan, dtype=np.float32)
    else:
        raise ValueError(f"unknown encoding {encoding!r}")
    if not clip:
        pass
    elif out is array or not isinstance(out, np.ndarray):
        out = np.clip(out, 0.0, 1.0)
    else:  # a new array: clipped in place
        np.clip(out, 0.0, 1.0, out=out)
    return out.astype(np.float32, copy=False)


def maps_within_unit(low: float, high: float, encoding: str) -> bool:
    """Whether every float32 value in ``[low, high]`` maps into [0, 1] before clipping.

    For an encoding whose map is non-decreasing (an affine map correctly rounded: not
    ``sar_linear`` nor ``float``), the two extremes mapped as :func:`unit_brightness` maps
    them (float32, unclipped) bound every value between them.

    Args:
        low: The smallest value (finite).
        high: The largest value (finite).
        encoding: The image's encoding.

    Returns:
        True where clipping is known to change nothing.
    """
    if encoding in ("sar_linear", "float"):
        return False
    ends = unit_brightness(np.asarray([low, high], dtype=np.float32), encoding, clip=False)
    return bool(ends[0] >= 0.0 and ends[1] <= 1.0)
