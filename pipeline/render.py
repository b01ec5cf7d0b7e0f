"""RGB renderings of sample images, as embedded in the corpus and sent to captioners.

The renderings are fixed, documented stretches, never per-image auto-contrast, so that the
same reflectance always gives the same colour and brightness is comparable across samples:

- **RGB 8-bit** (xBD, SkyScript…): the original PNG/JPEG bytes, unchanged.
- **Sentinel-2 reflectance** (``reflectance_1e4``): true colour B04/B03/B02; reflectance 0 → 0
  and 0.3 → 255, linear, clipped (0.3 is bright bare soil; clouds and snow saturate).
- **Sentinel-1 backscatter** (``sar_db``): false colour R = VV in [−25, 0] dB,
  G = VH in [−30, −5] dB, B = VV − VH in [0, 15] dB, each linear and clipped; the usual
  dual-polarisation composite where vegetation is green and water dark.

Nodata pixels render black.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline.rasters import PILLOW_SUFFIXES, RasterReadError, read_image
from pipeline.records import ImageRef

TRUE_COLOUR_BANDS: tuple[tuple[str, str, str], ...] = (
    ("B04", "B03", "B02"),
    ("red", "green", "blue"),
    ("R", "G", "B"),
)
"""Band-name triples recognised as true colour, tried in order."""

REFLECTANCE_WHITE = 0.3
SAR_RANGES_DB: dict[str, tuple[float, float]] = {
    "VV": (-25.0, 0.0),
    "VH": (-30.0, -5.0),
    "VV-VH": (0.0, 15.0),
}


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scaled = (values - low) / (high - low)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


def _png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(np.moveaxis(rgb, 0, -1)), mode="RGB").save(
        buffer, format="PNG", optimize=False, compress_level=6
    )
    return buffer.getvalue()


def true_colour_bands(image: ImageRef) -> tuple[str, str, str]:
    """Return the image's red, green and blue band names.

    Args:
        image: An optical image.

    Returns:
        The three band names.

    Raises:
        RasterReadError: If the image has no recognised true-colour bands.
    """
    for triple in TRUE_COLOUR_BANDS:
        if all(b in image.bands for b in triple):
            return triple
    raise RasterReadError("missing_band", f"image {image.role!r} has no red/green/blue bands")


def render_rgb(image: ImageRef) -> np.ndarray:
    """Render an image as an 8-bit RGB array.

    Args:
        image: The image.

    Returns:
        A ``(3, height, width)`` uint8 array.

    Raises:
        RasterReadError: If the pixels cannot be read or the bands needed are missing.
    """
    if image.encoding == "uint8":
        array = read_image(image)
        if array.shape[0] == 1:
            array = np.repeat(array, 3, axis=0)
        return np.nan_to_num(array[:3], nan=0.0).astype(np.uint8)
    if image.encoding == "reflectance_1e4":
        array = read_image(image, true_colour_bands(image)) / 10_000.0
        return _stretch(array, 0.0, REFLECTANCE_WHITE)
    if image.encoding == "sar_db":
        vv, vh = read_image(image, ("VV", "VH"))
        layers = [
            _stretch(vv, *SAR_RANGES_DB["VV"]),
            _stretch(vh, *SAR_RANGES_DB["VH"]),
            _stretch(vv - vh, *SAR_RANGES_DB["VV-VH"]),
        ]
        return np.stack(layers)
    raise ValueError(f"unknown encoding {image.encoding!r}")


def render_png(image: ImageRef) -> bytes:
    """Return PNG (or the original PNG/JPEG) bytes of an image's RGB rendering.

    Original 8-bit PNG/JPEG files are passed through unchanged, after checking that they
    decode completely.

    Args:
        image: The image.

    Returns:
        Encoded image bytes.

    Raises:
        RasterReadError: If the pixels cannot be read.
    """
    if image.encoding == "uint8" and len(image.files) == 1:
        path = Path(image.files[0])
        if path.suffix.lower() in PILLOW_SUFFIXES:
            read_image(image)  # decodes fully: a truncated file fails here, not in training
            return path.read_bytes()
    return _png_bytes(render_rgb(image))
