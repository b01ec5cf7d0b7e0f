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
are deflated by ISA-L (``isal``) at level :data:`PNG_COMPRESS_LEVEL`.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

import numpy as np
from isal import isal_zlib

from eoinstruct.pipeline.io.rasters import (
    KELVIN_RANGE,
    NORMALIZED_RADIANCE_WHITE,
    PILLOW_SUFFIXES,
    RADIANCE_WHITE,
    WINDOW_SEPARATOR,
    RasterReadError,
    native_pixels,
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
    """``low``–``high`` → 0–255, rounded and clipped; NaN → 0, ±inf → 255/0.

    The arithmetic of ``clip(round(nan_to_num(scaled) * 255), 0, 255)`` done in place:
    ``fmax`` takes NaN (and −inf) to 0, ``minimum`` +inf to 255 (what ``nan_to_num``'s
    ±float max became after ×255 and the clip).
    """
    if not high > low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = np.subtract(values, low)
    np.divide(scaled, high - low, out=scaled)
    np.multiply(scaled, 255.0, out=scaled)
    np.round(scaled, out=scaled)
    np.fmax(scaled, 0, out=scaled)
    np.minimum(scaled, 255, out=scaled)
    out: np.ndarray = scaled.astype(np.uint8)
    return out


@functools.lru_cache(maxsize=16)
def _stretch_table(itemsize: int, low: float, high: float) -> np.ndarray:
    """:func:`_stretch` of every unsigned integer of ``itemsize`` bytes (as float32), by value.

    Indexed by a uint8/uint16 band it gives :func:`_stretch` of that band's float32 values
    (exact for these integers), elementwise the same arithmetic.
    """
    table = _stretch(np.arange(1 << (8 * itemsize), dtype=np.float32), low, high)
    table.setflags(write=False)
    return table


PNG_COMPRESS_LEVEL = 2
"""ISA-L deflate level of rendered PNGs (0–3, :func:`isal.isal_zlib.compress`).

Rows are filtered with one filter per image, Sub or Up, whichever leaves the smaller sum of
absolute residuals (as signed bytes) over every 5th row (:data:`PNG_FILTER_SAMPLE`), then
deflated by ISA-L in one call. Measured (CPU µs per image, medians of 3, a loaded 2-core
machine) on the 2,000 renderings (120 x 120 Sentinel-2 true colour and Sentinel-1 false
colour) of the synthetic BigEarthNet build: the former per-row choice among None, Sub, Up and
Paeth (the specification's heuristic, as Pillow does) with zlib level 1 and run-length coding
846 µs, 56.26 MB of IDAT data; the same rows with ISA-L level 1/2 481/519 µs, 54.82/54.53 MB (the
per-row choice itself costs ~330 µs); Sub only with ISA-L level 1/2 173/172 µs,
57.02/56.78 MB; Up only 161/165 µs, 57.08/56.89 MB; on 600 of them ISA-L level 0 writes 50 %
more than level 1 for 5 % less time, level 3 no fewer bytes than level 2 for 9 % more time.
The per-image pick (~7 µs) keeps Up for images with vertical structure. As chosen, whole
:func:`png_bytes`: 0.40 against 1.82 CPU s for the 2,000 (57.01 against 56.38 MB, +1.1 %);
on the 129 renderings of the sample build 495 against 2,715 µs per image and 7.16 against
7.37 MB (−2.9 %: +0.4 to +6 % for the Sentinel sources, −20 to −42 % for DOTA, HIT-UAV and
HRSID, +30 % for SatlasPretrain, whose noisy 8-bit bands favour Paeth; Paeth only or the
per-row choice with ISA-L level 2: 6.98/6.90 MB at 1,217/1,612 µs). Decoded pixels are the
same whatever the settings (any zlib inflater reads the stream)."""

PNG_FILTER_SAMPLE = 5
"""Every how many rows the per-image filter choice of :func:`_filtered_rows` looks at.

Odd, so that the rows looked at fall on both sides of the row pairs of a band upsampled 2x
(where Up leaves every other row zero): with every 8th row the choice missed Up on the sample
build's SatlasPretrain renderings (484 kB where Up gives 395 kB). Every 5th row from row 2
comes within 0.3 % of the better of Sub and Up on the sample build and the 2,000-unit build."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SUB, _UP = 1, 2
"""PNG filter types: Sub (residual to the byte one pixel left), Up (to the byte above)."""


def _png_chunk(kind: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    """A PNG chunk as its three parts (length and type, data, CRC): joined once by the caller."""
    crc = isal_zlib.crc32(data, isal_zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind, data, struct.pack(">I", crc)


def _filtered_rows(pixels: np.ndarray) -> np.ndarray:
    """PNG scanlines of ``(height, width, channels)`` uint8 pixels, filtered Sub or Up.

    See :func:`_filter_padded`.
    """
    height, width, channels = pixels.shape
    bytes8 = np.zeros((height + 1, (width + 1) * channels), dtype=np.uint8)
    bytes8[1:, channels:] = pixels.reshape(height, width * channels)
    return _filter_padded(bytes8, channels)


def _filter_padded(bytes8: np.ndarray, channels: int) -> np.ndarray:
    """:func:`_filtered_rows` of pixels already in a zero-padded copy.

    ``bytes8`` is ``(height + 1, (width + 1) * channels)``: a row and a pixel of zeros above
    and to the left of the interleaved pixels. Every row gets the same filter, Sub or Up,
    whichever has the smaller sum of absolute residuals (as signed bytes) over every
    :data:`PNG_FILTER_SAMPLE`-th row from row ``PNG_FILTER_SAMPLE // 2`` (or the last row of
    a shorter image; Sub on a tie); residuals are byte arithmetic modulo 256.
    """
    height, span = bytes8.shape[0] - 1, bytes8.shape[1] - channels
    x8, left8, up8 = bytes8[1:, channels:], bytes8[1:, :-channels], bytes8[:-1, channels:]
    # rows 2, 7, 12…: not the first, whose Up residuals are its pixels (unless it is the only)
    rows_seen = slice(min(PNG_FILTER_SAMPLE // 2, height - 1), None, PNG_FILTER_SAMPLE)
    x_seen = x8[rows_seen]
    # |r| of each residual read as a signed byte: int8 abs wraps -128 to -128, i.e. 0x80
    sub_cost = np.abs((x_seen - left8[rows_seen]).view(np.int8)).view(np.uint8).sum(dtype=np.int64)
    up_cost = np.abs((x_seen - up8[rows_seen]).view(np.int8)).view(np.uint8).sum(dtype=np.int64)
    kind, other = (_SUB, left8) if sub_cost <= up_cost else (_UP, up8)
    rows = np.empty((height, span + 1), dtype=np.uint8)
    rows[:, 0] = kind
    np.subtract(x8, other, out=rows[:, 1:])  # modulo 256
    return rows


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode a ``(3, height, width)`` uint8 array as an 8-bit RGB PNG.

    Args:
        rgb: The rendering.
        compress_level: ISA-L deflate level (0–3).

    Returns:
        The PNG bytes.
    """
    return b"".join(png_parts(rgb, compress_level))


def png_parts(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> tuple[bytes, ...]:
    """:func:`png_bytes` as the parts it joins (the compressed data not copied into a chunk).

    A caller gathering many PNGs into one buffer (the score stage's rendering cache) joins
    every part once, rather than each PNG's chunks and then the PNGs.

    Args:
        rgb: The rendering.
        compress_level: ISA-L deflate level (0–3).

    Returns:
        The parts, whose concatenation is the PNG.
    """
    planes = np.asarray(rgb, dtype=np.uint8)
    channels, height, width = planes.shape
    # interleaved straight into the filter's zero-padded copy, a plane at a time (a strided
    # write per plane: 13 µs per 120 x 120 rendering against 67 µs for a moveaxis copy)
    bytes8 = np.zeros((height + 1, (width + 1) * channels), dtype=np.uint8)
    pixels = bytes8[1:, channels:].reshape(height, width, channels)
    for index in range(channels):
        pixels[:, :, index] = planes[index]
    data = isal_zlib.compress(_filter_padded(bytes8, channels).data, compress_level)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _PNG_SIGNATURE,
        *_png_chunk(b"IHDR", header),
        *_png_chunk(b"IDAT", data),
        *_png_chunk(b"IEND", b""),
    )


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
    native = None if array is None else native_pixels(array)
    if (
        native is not None
        and native.dtype.kind == "u"
        and native.dtype.itemsize <= 2
        and image.encoding in DISPLAY_RANGES
    ):  # integers: each value's stretch looked up (the same arithmetic, done once per value)
        table = _stretch_table(native.dtype.itemsize, *DISPLAY_RANGES[image.encoding])
        layers = [np.take(table, native[image.bands.index(b)]) for b in bands]
        if len(layers) == 1:
            layers *= 3
        if len(layers) != 3:
            raise RasterReadError("missing_band", f"image {image.role!r}: cannot show {bands}")
        return np.stack(layers)
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
        compress_level: ISA-L deflate level of a rendered PNG (0–3).

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
