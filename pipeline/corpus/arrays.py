"""How an image's pixels are stored in the corpus: the ``.npy`` array of its ``arrays`` item.

:func:`stored_array` picks the stored dtype and describes it (unit, scale, wavelengths, nodata);
:func:`npy_bytes` serialises it. The score stage's rendering cache
(:mod:`eoinstruct.pipeline.io.rendered`) and the shard stage both use these, so an array is
encoded once; this module imports nothing of the instruction side, so the score stage loads it
without the builders. :mod:`eoinstruct.pipeline.corpus.rows` re-exports every name.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from eoinstruct.pipeline.io.rasters import native_pixels
from eoinstruct.pipeline.records import ImageRef, Sample

ENCODING_UNITS: dict[str, tuple[str, float]] = {
    "uint8": ("8-bit digital number", 1.0),
    "reflectance_1e4": ("surface reflectance", 1e-4),
    "reflectance": ("surface reflectance", 1.0),
    "sar_db": ("backscatter, dB", 1.0),
    "sar_linear": ("linear backscatter power (sigma0/gamma0); 10*log10 gives dB", 1.0),
    "kelvin": ("K", 1.0),
    "normalized_radiance": ("normalised TOA radiance, uW cm-2 nm-1", 1.0),
    "radiance": ("at-sensor radiance, uW cm-2 sr-1 nm-1", 1.0),
    "float": ("source unit (STARCOP mag1c: ppm m)", 1.0),
}
"""Encoding → (unit of the physical value, scale from stored to physical)."""


def needs_array(image: ImageRef) -> bool:
    """Whether an image ships an array: all but 8-bit RGB or grey, whose PNG/JPEG is the data."""
    return image.encoding != "uint8" or len(image.bands) not in (1, 3)


def band_wavelengths(source: str, bands: Sequence[str]) -> list[float | None]:
    """Return each band's central wavelength in nm from the source's facts (None if unknown).

    Args:
        source: The registered source name.
        bands: Band names, matched case-insensitively.

    Returns:
        One wavelength or None per band, in order.
    """
    try:
        from eoinstruct.sources.registry import facts

        known = {b.name.lower(): b.wavelength_nm for b in facts(source).bands}
    except KeyError:
        known = {}
    return [known.get(band.lower()) for band in bands]


def _rounded(array: np.ndarray, top: float) -> np.ndarray:
    """``nan_to_num(array, nan=0).clip(0, top).round()`` in one new array (NaN and −inf → 0)."""
    out = np.fmax(array, 0.0)
    np.minimum(out, top, out=out)
    np.round(out, out=out)
    return out


def stored_array(
    sample: Sample, image: ImageRef, array: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return the array an image is stored as and its description.

    Reflectance ×10 000 is stored as uint16 with 0 for nodata, 8-bit bands as uint8 (no
    nodata), everything else as float32 with NaN for nodata, in the image's own unit (float32
    pixels are returned as they are, not copied: the array is only read).

    Args:
        sample: The image's sample (source, GSD).
        image: The image.
        array: Its pixels from :func:`eoinstruct.pipeline.io.rasters.read_image`.

    Returns:
        The array and its description (every field of an ``arrays`` item but ``npy``).
    """
    nodata: float | None
    native = native_pixels(array)  # integers without nodata: the values rounding would give
    if image.encoding == "reflectance_1e4" and native is not None and native.dtype == "<u2":
        stored, nodata = native, 0.0
    elif image.encoding == "reflectance_1e4":
        stored = _rounded(array, 65535.0).astype("<u2")
        nodata = 0.0
    elif image.encoding == "uint8":
        stored = _rounded(array, 255.0).astype("u1")
        nodata = None
    else:
        stored = array.astype("<f4", copy=False)  # read-only use: no copy of float32 pixels
        nodata = math.nan
    unit, scale = ENCODING_UNITS.get(image.encoding, ("source unit", 1.0))
    info = {
        "role": image.role,
        "shape": [int(n) for n in stored.shape],
        "dtype": str(stored.dtype),
        "bands": list(image.bands),
        "wavelengths_nm": band_wavelengths(sample.source, image.bands),
        "gsd_m": sample.gsd_m,
        "scale": scale,
        "offset": 0.0,
        "unit": unit,
        "encoding": image.encoding,
        "nodata": nodata,
    }
    return stored, info


def npy_bytes(array: np.ndarray) -> bytes:
    """Serialise an array as ``.npy`` bytes (no pickle; deterministic header).

    The bytes ``np.lib.format.write_array`` writes for these arrays (format 1.0: their headers
    are short), joined from the header and the array's own buffer in one copy rather than
    through a chunked ``BytesIO`` (16 against 30 µs for a 2 x 120 x 120 float32 array).
    """
    return b"".join(npy_parts(array))


def npy_parts(array: np.ndarray) -> tuple[bytes, memoryview | bytes]:
    """:func:`npy_bytes` as its header and the array's own buffer (a view: nothing copied).

    Args:
        array: The array.

    Returns:
        The header and the data, whose concatenation is the ``.npy`` bytes.
    """
    contiguous = np.ascontiguousarray(array)
    header = io.BytesIO()
    fmt = np.lib.format
    fmt.write_array_header_1_0(header, fmt.header_data_from_array_1_0(contiguous))
    return header.getvalue(), contiguous.data.cast("B") if contiguous.size else b""
