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

import struct
import zlib
from pathlib import Path

import numpy as np

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


PNG_COMPRESS_LEVEL = 1
"""zlib level of rendered PNGs (0–9), used with :data:`PNG_STRATEGY`.

Measured (CPU time, best of 3, a loaded 2-core machine) on 23 renderings of real 120 x 120
patches (BigEarthNet S2 true colour and S1 false colour, Landsat crops), per image: Pillow at
level 3 (the former setting) 1.57–1.71 ms and 28.7 kB; Pillow level 1 or 2: 1.44 ms, the same
bytes; level 6: 2.99 ms, 27.4 kB; Pillow level 1 with Huffman-only coding 1.12 ms, 27.2 kB,
with run-length coding 1.15 ms, 27.2 kB. About 0.75 ms of Pillow's time is its own row
filtering and chunking (0.98 ms at level 0; zlib itself takes 0.25 ms), so :func:`png_bytes`
filters the rows in numpy (the per-row choice among None, Sub, Up and Paeth by least sum of
absolute residuals) and calls zlib once: with run-length coding 0.89–0.98 ms and 27.3 kB; with
the default strategy at level 1/2/3 1.20/1.24/1.36 ms and 28.8/28.8/28.7 kB. Huffman-only
coding (0.84 ms) was dropped: it cannot code runs, so a uniform or nodata area costs a bit per
byte (a 120 x 120 half-black rendering: 16.2 kB against 11.7 kB with run-length coding).
Run-length coding finds no repeats longer than one byte: on the 195 renderings of the sample
build (synthetic pixels) it wrote 11.60 MB where Pillow level 3 wrote 10.98 MB (−7 to −12 %
for the Sentinel sources, up to +90 % for synthetic SAR/UAV fixtures with repeating texture);
the default strategy at level 3 wrote 11.38 MB at 37 % more time on the real patches. Decoded
pixels are the same whatever the settings."""

PNG_STRATEGY = zlib.Z_RLE
"""zlib strategy of rendered PNGs (see :data:`PNG_COMPRESS_LEVEL`)."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_FILTERS = np.array([0, 1, 2, 4], dtype=np.uint8)
"""PNG filter types tried per row: None, Sub, Up, Paeth."""


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _filtered_rows(pixels: np.ndarray) -> np.ndarray:
    """PNG scanlines of ``(height, width, channels)`` uint8 pixels, each row's filter chosen.

    Each row is filtered with None, Sub, Up and Paeth; the one whose residuals (as signed
    bytes) have the least sum of absolute values is kept, the heuristic the PNG specification
    recommends (and Pillow uses). Residuals and the Paeth pick are byte arithmetic modulo
    256 on views of one zero-padded copy (int16 only for Paeth's distances): 0.17 ms per
    120 x 120 rendering against 0.45 ms with int16 stacks and ``np.where``, the same bytes.
    """
    height, width, channels = pixels.shape
    bytes8 = np.zeros((height + 1, (width + 1) * channels), dtype=np.uint8)
    bytes8[1:, channels:] = pixels.reshape(height, width * channels)
    return _filter_padded(bytes8, channels)


def _filter_padded(bytes8: np.ndarray, channels: int) -> np.ndarray:
    """:func:`_filtered_rows` of pixels already in a zero-padded copy.

    ``bytes8`` is ``(height + 1, (width + 1) * channels)``: a row and a pixel of zeros above
    and to the left of the interleaved pixels.
    """
    height, span = bytes8.shape[0] - 1, bytes8.shape[1] - channels
    wide = bytes8.astype(np.int16)
    x8 = bytes8[1:, channels:]
    left, up, corner = wide[1:, :-channels], wide[:-1, channels:], wide[:-1, :-channels]
    pa = np.abs(up - corner)
    pb = np.abs(left - corner)
    pc = np.abs(left + up - 2 * corner)
    left8, up8, corner8 = bytes8[1:, :-channels], bytes8[:-1, channels:], bytes8[:-1, :-channels]
    # Paeth's pick (left where pa is least, else up where pb ≤ pc, else corner) as byte
    # arithmetic modulo 256, exact since the result is one of the three bytes (np.where on
    # these views is ~10x slower)
    take_left = ((pa <= pb) & (pa <= pc)).view(np.uint8)
    take_up = (pb <= pc).view(np.uint8)
    paeth = corner8 + take_up * (up8 - corner8)
    paeth += take_left * (left8 - paeth)
    residuals = np.empty((4, height, span), dtype=np.uint8)
    residuals[0] = x8
    np.subtract(x8, left8, out=residuals[1])  # modulo 256
    np.subtract(x8, up8, out=residuals[2])
    np.subtract(x8, paeth, out=residuals[3])
    # |r| of each residual read as a signed byte: int8 abs wraps -128 to -128, i.e. 0x80
    cost = np.abs(residuals.view(np.int8)).view(np.uint8).sum(axis=2, dtype=np.int32)
    choice = cost.argmin(axis=0)
    rows = np.empty((height, span + 1), dtype=np.uint8)
    rows[:, 0] = _PNG_FILTERS[choice]
    rows[:, 1:] = residuals[choice, np.arange(height)]
    return rows


def png_bytes(rgb: np.ndarray, compress_level: int = PNG_COMPRESS_LEVEL) -> bytes:
    """Encode a ``(3, height, width)`` uint8 array as an 8-bit RGB PNG.

    Args:
        rgb: The rendering.
        compress_level: zlib level.

    Returns:
        The PNG bytes.
    """
    planes = np.asarray(rgb, dtype=np.uint8)
    channels, height, width = planes.shape
    # interleaved straight into the filter's zero-padded copy, a plane at a time (a strided
    # write per plane: 13 µs per 120 x 120 rendering against 67 µs for a moveaxis copy)
    bytes8 = np.zeros((height + 1, (width + 1) * channels), dtype=np.uint8)
    pixels = bytes8[1:, channels:].reshape(height, width, channels)
    for index in range(channels):
        pixels[:, :, index] = planes[index]
    coder = zlib.compressobj(compress_level, zlib.DEFLATED, 15, 8, PNG_STRATEGY)
    data = coder.compress(_filter_padded(bytes8, channels).data) + coder.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", data),
            _png_chunk(b"IEND", b""),
        )
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
