"""A fast GeoTIFF reader (tifffile + zlib) for the plain files GDAL would read the same way.

:func:`read_plain_geotiff` decodes a GeoTIFF without GDAL when it is one of the simple kinds
most EO band files are: one image (no overviews or mask pages), strips or tiles, no
compression or Deflate (horizontal predictor allowed for integers), 8–64-bit integer or
float samples, grey or RGB without alpha, georeferenced by ModelPixelScale + one
ModelTiepoint (pixel-is-area), and no sidecar file GDAL would consult (``.aux.xml``, ``.msk``,
world files). Nodata is the ``GDAL_NODATA`` tag, masked exactly as GDAL's nodata mask band
(what rasterio's ``read(masked=True)`` uses): equal integers, and for floats only where no
pixel is a near miss of the value (GDAL compares floats with a tolerance). Anything else —
other compressions, missing tags, a segment short of bytes, a decode error, a header over the
caller's limits — returns None and the caller reads the file with rasterio, so errors and
results come from one place. The CRS identity is the raw GeoKey directory with its double and
ASCII parameters: equal keys mean the same CRS; unequal keys are resolved by the caller.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

try:  # the runtime dependency; a missing install only disables the fast path
    import tifffile
except ImportError:  # pragma: no cover
    tifffile = None

_GEOKEYS, _GEODOUBLES, _GEOASCII = 34735, 34736, 34737
_PIXEL_SCALE, _TIEPOINT, _TRANSFORMATION, _NODATA = 33550, 33922, 34264, 42113
_RASTER_TYPE_KEY, _PIXEL_IS_POINT = 1025, 2
_SIDECARS = (".aux.xml", ".msk", ".aux", ".ovr")
_WORLD_FILES = (".tfw", ".tifw", ".wld", ".tab", ".TFW", ".TIFW", ".WLD", ".TAB")
_FLOAT_NODATA_RTOL = 1e-5
"""Floats this close (relative) to a float nodata value send the file to GDAL, whose float
comparison has a tolerance this reader does not reproduce."""


@dataclass(frozen=True)
class PlainGeoTiff:
    """A GeoTIFF decoded without GDAL.

    Attributes:
        data: ``(bands, height, width)`` float32, NaN where GDAL's nodata mask says invalid.
        geokeys: The raw GeoKey directory, double and ASCII parameters (CRS identity).
        bounds: ``(west, south, east, north)`` as rasterio computes them from the tags.
    """

    data: np.ndarray
    geokeys: tuple[object, ...]
    bounds: tuple[float, float, float, float]


_QUIET = threading.local()
"""Per thread, ``on`` while this module parses a file: tifffile's log records are dropped."""


class _QuietFilter(logging.Filter):
    """Drops tifffile's records in the thread that is trying the fast path."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_QUIET, "on", False)


logging.getLogger("tifffile").addFilter(_QuietFilter())


class _Unsupported(Exception):
    """The file is not a kind this reader decodes exactly as GDAL does."""


def _has_sidecar(path: Path) -> bool:
    try:
        siblings = os.listdir(path.parent)
    except OSError:
        return True
    names = {path.name + s for s in _SIDECARS} | {path.stem + w for w in _WORLD_FILES}
    return any(name in names for name in siblings)


def _dtype(page: tifffile.TiffPage, byteorder: str) -> np.dtype:
    bits = page.bitspersample
    fmt = int(page.sampleformat)
    kind = {1: "u", 2: "i", 3: "f"}.get(fmt)
    if kind is None or bits not in (8, 16, 32, 64) or (kind == "f" and bits < 32):
        raise _Unsupported(f"sample format {fmt}/{bits}")
    if kind != "f" and bits == 64:
        raise _Unsupported("64-bit integers")
    return np.dtype(f"{byteorder}{kind}{bits // 8}")


def _segment(raw: bytes, compression: int, size: int) -> bytes:
    if compression == 1:
        if len(raw) < size:
            raise _Unsupported("short uncompressed segment")
        return raw[:size]
    try:
        decoder = zlib.decompressobj()
        out = decoder.decompress(raw, size)
    except zlib.error as exc:
        raise _Unsupported(f"deflate: {exc}") from exc
    if len(out) != size:
        raise _Unsupported("short deflate segment")
    return out


def _decode(page: tifffile.TiffPage, handle: BinaryIO, dtype: np.dtype, samples: int) -> np.ndarray:
    """Decode every strip or tile into a ``(samples, height, width)`` array (native order)."""
    height, width = page.imagelength, page.imagewidth
    planar = int(page.planarconfig) == 2
    per_segment = 1 if planar else samples
    if page.is_tiled:
        seg_h, seg_w = page.tilelength, page.tilewidth
    else:
        seg_h, seg_w = min(page.rowsperstrip or height, height), width
    down, across = math.ceil(height / seg_h), math.ceil(width / seg_w)
    planes = samples if planar else 1
    offsets, counts = page.dataoffsets, page.databytecounts
    if len(offsets) != down * across * planes or len(counts) != len(offsets):
        raise _Unsupported("segment count")
    out = np.empty((height, width, samples), dtype=dtype.newbyteorder("="))
    compression, predictor = int(page.compression), int(page.predictor)
    size_of_file = handle.seek(0, os.SEEK_END)
    index = 0
    for plane in range(planes):
        for row in range(down):
            for col in range(across):
                offset, count = offsets[index], counts[index]
                index += 1
                if count <= 0 or offset <= 0 or offset + count > size_of_file:
                    raise _Unsupported("segment outside the file")
                rows = seg_h if page.is_tiled else min(seg_h, height - row * seg_h)
                size = rows * seg_w * per_segment * dtype.itemsize
                handle.seek(offset)
                raw = _segment(handle.read(count), compression, size)
                seg = np.frombuffer(raw, dtype=dtype).reshape(rows, seg_w, per_segment)
                seg = seg.astype(dtype.newbyteorder("="), copy=False)
                if predictor == 2:
                    seg = np.cumsum(seg, axis=1, dtype=seg.dtype)
                y0, x0 = row * seg_h, col * seg_w
                h, w = min(rows, height - y0), min(seg_w, width - x0)
                target = slice(plane, plane + 1) if planar else slice(None)
                out[y0 : y0 + h, x0 : x0 + w, target] = seg[:h, :w]
    return np.moveaxis(out, -1, 0)


def _bounds(page: tifffile.TiffPage, tags: dict[int, object]) -> tuple[float, float, float, float]:
    """Bounds from ModelPixelScale + one ModelTiepoint, computed as GDAL then rasterio do."""
    if _TRANSFORMATION in tags or _PIXEL_SCALE not in tags or _TIEPOINT not in tags:
        raise _Unsupported("no pixel scale + tiepoint")
    scale = tuple(float(v) for v in tags[_PIXEL_SCALE])  # type: ignore[attr-defined]
    tie = tuple(float(v) for v in tags[_TIEPOINT])  # type: ignore[attr-defined]
    if len(tie) != 6 or len(scale) < 2 or not (scale[0] > 0 and scale[1] > 0):
        raise _Unsupported("tiepoints or scale")
    if not all(math.isfinite(v) for v in scale + tie):
        raise _Unsupported("non-finite georeferencing")
    a, e = scale[0], -scale[1]
    c = tie[3] - tie[0] * a
    f = tie[4] - tie[1] * e
    if (a, c, e, f) == (1.0, 0.0, 1.0, 0.0):
        raise _Unsupported("identity transform")
    return (c, f + e * page.imagelength, c + a * page.imagewidth, f)


def _nodata_mask(data: np.ndarray, text: object) -> np.ndarray | None:
    """Where GDAL's nodata mask band marks pixels invalid (None: all valid)."""
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError as exc:
        raise _Unsupported(f"nodata {text!r}") from exc
    if data.dtype.kind in "ui":
        info = np.iinfo(data.dtype)
        if not (math.isfinite(value) and value == int(value) and info.min <= value <= info.max):
            raise _Unsupported(f"nodata {value} for {data.dtype}")
        return data == int(value)
    if math.isnan(value):
        return None  # NaN pixels are NaN either way
    target = data.dtype.type(value)
    if not math.isfinite(float(target)):
        raise _Unsupported("infinite nodata")
    exact = data == target
    near = np.abs(data.astype(np.float64) - float(target)) <= _FLOAT_NODATA_RTOL * max(
        abs(float(target)), 1e-30
    )
    if np.any(near & ~exact):
        raise _Unsupported("a pixel near the float nodata value")
    return exact


def read_plain_geotiff(
    path: Path, count: int | None, allowed_dtypes: tuple[str, ...], max_pixels: int
) -> PlainGeoTiff | None:
    """Decode a plain GeoTIFF as rasterio's ``read(masked=True)`` would, or None.

    Args:
        path: The file.
        count: The band count required (None: any).
        allowed_dtypes: The dtype names allowed.
        max_pixels: The largest width × height allowed.

    Returns:
        The pixels and georeferencing, or None where the file is not a supported plain
        GeoTIFF or fails a check (the caller reads it with rasterio, which reports why).
    """
    if tifffile is None or _has_sidecar(path):
        return None
    _QUIET.on = True  # a broken tag is reported by GDAL instead (the rasterio path)
    try:
        with path.open("rb") as handle, tifffile.TiffFile(handle, name=path.name) as tif:
            if len(tif.pages) != 1 or tif.is_bigtiff:
                return None
            page = tif.pages.first
            return _plain(page, handle, tif.byteorder, count, allowed_dtypes, max_pixels)
    except (_Unsupported, OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    except Exception:  # tifffile's own errors (TiffFileError and others): GDAL decides
        return None
    finally:
        _QUIET.on = False


def _plain(
    page: tifffile.TiffPage,
    handle: BinaryIO,
    byteorder: str,
    count: int | None,
    allowed_dtypes: tuple[str, ...],
    max_pixels: int,
) -> PlainGeoTiff:
    height, width, samples = page.imagelength, page.imagewidth, page.samplesperpixel
    if width <= 0 or height <= 0 or width * height > max_pixels or page.imagedepth != 1:
        raise _Unsupported("size")
    if samples < 1 or (count is not None and samples != count):
        raise _Unsupported("band count")
    if int(page.compression) not in (1, 8, 32946) or int(page.fillorder) != 1:
        raise _Unsupported("compression")
    if int(page.photometric) not in (1, 2) or any(int(v) != 0 for v in page.extrasamples):
        raise _Unsupported("photometric or alpha")
    if int(page.photometric) == 2 and page.extrasamples:
        raise _Unsupported("RGB with extra samples")
    if not isinstance(page.bitspersample, int):
        raise _Unsupported("mixed bits per sample")
    dtype = _dtype(page, byteorder)
    if np.dtype(dtype.newbyteorder("=")).name not in allowed_dtypes:
        raise _Unsupported("dtype")
    predictor = int(page.predictor)
    if predictor not in (1, 2) or (predictor == 2 and dtype.kind == "f"):
        raise _Unsupported("predictor")
    tags = {tag.code: tag.value for tag in page.tags.values()}
    if _GEOKEYS not in tags:
        raise _Unsupported("no GeoKeys")
    keys = tuple(int(v) for v in tags[_GEOKEYS])  # type: ignore[attr-defined]
    raster_type = [keys[i + 3] for i in range(4, len(keys) - 3, 4) if keys[i] == _RASTER_TYPE_KEY]
    if raster_type and raster_type[0] == _PIXEL_IS_POINT:
        raise _Unsupported("pixel is point")
    bounds = _bounds(page, tags)
    geokeys = (
        keys,
        tuple(float(v) for v in tags.get(_GEODOUBLES, ())),  # type: ignore[attr-defined]
        str(tags.get(_GEOASCII, "")),
    )
    native = _decode(page, handle, dtype, samples)
    mask = _nodata_mask(native, tags.get(_NODATA))
    data = native.astype(np.float32)
    if mask is not None:
        data[mask] = np.nan
    return PlainGeoTiff(data, geokeys, bounds)
