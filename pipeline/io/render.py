"""RGB renderings of sample images, as embedded in the corpus and sent to captioners.

The renderings are fixed, documented stretches, never per-image auto-contrast (except for
``float`` images, which have no physical scale), so that the same physical value always gives
the same colour and brightness is comparable across samples:

- **8-bit RGB** files (xBD, SkyScript…): the original PNG/JPEG bytes, unchanged; 8-bit band
  files (SatlasPretrain) are stacked as they are.
- **Reflectance** (``reflectance_1e4``, ``reflectance``): true colour (e.g. B04/B03/B02);
  reflectance 0 → 0 and 0.3 → 255, linear, clipped (0.3 is bright bare soil; clouds and snow
  saturate).
- **SAR** (``sar_db``, ``sar_linear`` converted to dB): dual-polarisation false colour
  R = co-pol (VV or HH) in [−25, 0] dB, G = cross-pol (VH or HV) in [−30, −5] dB,
  B = co − cross in [0, 15] dB, each linear and clipped (vegetation green, water dark);
  single-polarisation images are grey over [−25, 0] dB.
- **Radiance** (``radiance``): 0–20 µW cm⁻² sr⁻¹ nm⁻¹ → 0–255; ``normalized_radiance``
  (STARCOP): 0–60 µW cm⁻² nm⁻¹ → 0–255.
- **Temperature** (``kelvin``): grey, 250 K → 0 and 330 K → 255.
- **Other floats** (``float``): grey, 2nd–98th percentile of the image → 0–255.

Which bands are shown is :attr:`ImageRef.display_bands`, or guessed from the band names. Nodata
renders black. Every function takes the image's pixels when the caller already holds them (the
score stage reads each file once and renders from that array), and reads them otherwise. PNGs
are written with zlib level :data:`PNG_COMPRESS_LEVEL` and strategy :data:`PNG_STRATEGY`.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from eoinstruct.pipeline.io.rasters import (
    KELVIN_RANGE,
    NORMALIZED_RADIANCE_WHITE,
    PILLOW_SUFFIXES,
    RADIANCE_WHITE,
    WINDOW_SEPARATOR,
    RasterReadError,
    read_image,
    to_db,
)
from eoinstruct.pipeline.records import ImageRef

TRUE_COLOUR_BANDS: tuple[tuple[str, str, str], ...] = (
    ("B04", "B03", "B02"),
    ("red", "green", "blue"),
    ("R", "G", "B"),
    ("tci_r", "tci_g", "tci_b"),
)
"""Band-name triples recognised as true colour, tried in order."""

CO_POL = ("VV", "HH", "vv", "hh")
CROSS_POL = ("VH", "HV", "vh", "hv")

DISPLAY_RANGES: dict[str, tuple[float, float]] = {
    "uint8": (0.0, 255.0),
    "reflectance_1e4": (0.0, 3000.0),
    "reflectance": (0.0, 0.3),
    "radiance": (0.0, RADIANCE_WHITE),
    "normalized_radiance": (0.0, NORMALIZED_RADIANCE_WHITE),
    "kelvin": KELVIN_RANGE,
}
"""Raw value range stretched linearly to 0–255, per encoding (SAR and ``float`` aside)."""

SAR_RANGES_DB: dict[str, tuple[float, float]] = {
    "co": (-25.0, 0.0),
    "cross": (-30.0, -5.0),
    "ratio": (0.0, 15.0),
}


def display_bands(image: ImageRef) -> tuple[str, ...]:
    """Return the bands an image is rendered (and its brightness measured) from.

    Args:
        image: The image.

    Returns:
        Three bands (red, green, blue), two (SAR co- and cross-polarisation) or one (grey).
    """
    if image.display_bands:
        return image.display_bands
    if image.encoding in ("sar_db", "sar_linear"):
        co = next((b for b in image.bands if b in CO_POL), None)
        cross = next((b for b in image.bands if b in CROSS_POL), None)
        if co and cross:
            return (co, cross)
        return (image.bands[0],)
    for triple in TRUE_COLOUR_BANDS:
        if all(b in image.bands for b in triple):
            return triple
    if len(image.bands) == 3:
        return image.bands
    return (image.bands[0],)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


PNG_COMPRESS_LEVEL = 1
"""zlib level of rendered PNGs (0–9), used with :data:`PNG_STRATEGY`. Measured (CPU time, best
of 3, one loaded core) on 23 renderings of real 120 x 120 patches (BigEarthNet S2 true colour and
S1 false colour, Landsat crops) and 60 synthetic ones: level 3 with the default strategy took
1.71 ms and 28.7 kB per real image (1.54 ms, 34.9 kB synthetic); levels 1/2 1.44/1.45 ms for the
same bytes; level 6 2.99 ms, 27.4 kB; level 1 with Huffman-only coding 1.12 ms and 27.2 kB
(1.20 ms, 34.9 kB synthetic); with run-length coding 1.15 ms, 27.2 kB; Z_FILTERED 1.38 ms,
28.8 kB. Pillow's per-row adaptive filter leaves little for LZ77 matching to find in these
images, so Huffman coding alone is both the fastest and the smallest (the decoded pixels are
the same either way)."""

PNG_STRATEGY = 2
"""zlib strategy of rendered PNGs: ``Z_HUFFMAN_ONLY`` (see :data:`PNG_COMPRESS_LEVEL`)."""


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode a ``(3, height, width)`` uint8 array as PNG.

    Args:
        rgb: The rendering.
        compress_level: zlib level.

    Returns:
        The PNG bytes.
    """
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)), mode="RGB").save(
        buffer,
        format="PNG",
        optimize=False,
        compress_level=compress_level,
        compress_type=PNG_STRATEGY,
    )
    return buffer.getvalue()


def render_rgb(image: ImageRef, array: np.ndarray | None = None) -> np.ndarray:
    """Render an image as an 8-bit RGB array.

    Args:
        image: The image.
        array: Its pixels, every band in the order of ``image.bands`` (as
            :func:`~eoinstruct.pipeline.io.rasters.read_image` returns them); read when None.

    Returns:
        A ``(3, height, width)`` uint8 array.

    Raises:
        RasterReadError: If the pixels cannot be read or the bands needed are missing.
    """
    bands = display_bands(image)
    if array is None:
        array = read_image(image, bands)
    else:
        array = array[[image.bands.index(b) for b in bands]]
    if image.encoding in ("sar_db", "sar_linear"):
        db = to_db(array) if image.encoding == "sar_linear" else array
        if len(bands) == 2:
            co, cross = db
            layers = [
                _stretch(co, *SAR_RANGES_DB["co"]),
                _stretch(cross, *SAR_RANGES_DB["cross"]),
                _stretch(co - cross, *SAR_RANGES_DB["ratio"]),
            ]
            return np.stack(layers)
        grey = _stretch(db[0], *SAR_RANGES_DB["co"])
        return np.stack([grey] * 3)
    if image.encoding == "float":
        finite = array[np.isfinite(array)]
        low, high = (
            (float(np.percentile(finite, 2)), float(np.percentile(finite, 98)))
            if finite.size
            else (0.0, 1.0)
        )
    elif image.encoding in DISPLAY_RANGES:
        low, high = DISPLAY_RANGES[image.encoding]
    else:
        raise ValueError(f"unknown encoding {image.encoding!r}")
    layers = [_stretch(layer, low, high) for layer in array]
    if len(layers) == 1:
        layers *= 3
    if len(layers) != 3:
        raise RasterReadError("missing_band", f"image {image.role!r}: cannot show {bands}")
    return np.stack(layers)


def passes_through(image: ImageRef) -> bool:
    """Say whether an image's rendering is its own file's bytes (a whole 8-bit RGB PNG/JPEG).

    Args:
        image: The image.

    Returns:
        True for a single, unwindowed PNG/JPEG file of three 8-bit bands.
    """
    whole = len(image.files) == 1 and WINDOW_SEPARATOR not in image.files[0]  # not a chip
    return (
        image.encoding == "uint8"
        and whole
        and len(image.bands) == 3
        and Path(image.files[0]).suffix.lower() in PILLOW_SUFFIXES
    )


def render_png(
    image: ImageRef,
    array: np.ndarray | None = None,
    compress_level: int = PNG_COMPRESS_LEVEL,
) -> bytes:
    """Return PNG (or the original PNG/JPEG) bytes of an image's RGB rendering.

    Original 8-bit RGB PNG/JPEG files are passed through unchanged, after checking that they
    decode completely (``array`` given: the caller decoded them).

    Args:
        image: The image.
        array: Its pixels, every band (see :func:`render_rgb`); read when None.
        compress_level: zlib level of a rendered PNG.

    Returns:
        Encoded image bytes.

    Raises:
        RasterReadError: If the pixels cannot be read.
    """
    if passes_through(image):
        if array is None:
            read_image(image)  # decodes fully: a truncated file fails here, not in training
        path = Path(image.files[0])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise RasterReadError("missing_file", f"{path}: {exc}") from exc
    return png_bytes(render_rgb(image, array), compress_level)
