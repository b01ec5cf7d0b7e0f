"""A fast GeoTIFF reader (a ``struct`` header parser + zlib) for the plain files GDAL reads alike.

:func:`read_plain_geotiff` decodes a GeoTIFF without GDAL when it is one of the simple kinds
most EO band files are: one image (no overviews, mask pages or subIFDs), strips or tiles, no
compression or Deflate (horizontal predictor allowed for integers), 8–64-bit integer or
float samples, grey or RGB without alpha or palette, georeferenced by ModelPixelScale + one
ModelTiepoint (pixel-is-area), and no sidecar file GDAL would consult (``.aux.xml``, ``.msk``,
world files). Classic TIFF and BigTIFF, little- and big-endian, are parsed here with
``struct`` (:func:`parse_first_ifd`: the header and the first IFD, only the tags the fast path
needs; tifffile's generic parse of every tag cost about 0.4 ms per file, more than the decode
of a BigEarthNet band). Nodata is the ``GDAL_NODATA`` tag, masked exactly as GDAL's nodata
mask band (what rasterio's ``read(masked=True)`` uses): equal integers, and for floats only
where no pixel is a near miss of the value (GDAL compares floats with a tolerance). Anything
else — other compressions, missing tags, a malformed IFD, a segment short of bytes, a decode
error, a header over the caller's limits — returns None and the caller reads the file with
rasterio, so errors and results come from one place. The CRS identity is the raw GeoKey
directory with its double and ASCII parameters: equal keys mean the same CRS; unequal keys are
resolved by the caller.
"""

from __future__ import annotations

import functools
import math
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eoinstruct.pipeline.io.tiff_header import (  # noqa: F401 (re-exported)
    _BITS,
    _COMPRESSION,
    _EXTRA_SAMPLES,
    _FILL_ORDER,
    _GEOASCII,
    _GEODOUBLES,
    _GEOKEYS,
    _HEAD,
    _LENGTH,
    _NODATA,
    _PHOTOMETRIC,
    _PIXEL_IS_POINT,
    _PIXEL_SCALE,
    _PLANAR,
    _PREDICTOR,
    _RASTER_TYPE_KEY,
    _ROWS_PER_STRIP,
    _SAMPLE_FORMAT,
    _SAMPLES,
    _STRIP_COUNTS,
    _STRIP_OFFSETS,
    _TIEPOINT,
    _TILE_COUNTS,
    _TILE_LENGTH,
    _TILE_OFFSETS,
    _TILE_WIDTH,
    _TRANSFORMATION,
    _WIDTH,
    TiffIfd,
    UnsupportedTiff,
    _Bytes,
    _parse,
    parse_cached,
    parse_first_ifd,
)
from eoinstruct.pipeline.io.tiff_header import Header as _Header

_SIDECARS = (".aux.xml", ".msk", ".aux", ".ovr")
_WORLD_FILES = (".tfw", ".tifw", ".wld", ".tab", ".TFW", ".TIFW", ".WLD", ".TAB")
_FLOAT_NODATA_RTOL = 1e-5
"""Floats this close (relative) to a float nodata value send the file to GDAL, whose float
comparison has a tolerance this reader does not reproduce."""


@dataclass(frozen=True)
class PlainGeoTiff:
    """A GeoTIFF decoded without GDAL.

    Attributes:
        data: ``(bands, height, width)`` float32, NaN where GDAL's nodata mask says invalid
            (where asked ``raw`` and no pixel is invalid: the decoded integers, or float32
            pixels as decoded, possibly read-only).
        geokeys: The raw GeoKey directory, double and ASCII parameters (CRS identity).
        bounds: ``(west, south, east, north)`` as rasterio computes them from the tags.
    """

    data: np.ndarray
    geokeys: tuple[object, ...]
    bounds: tuple[float, float, float, float]


def _retied(cached: _Header, ifd: TiffIfd) -> _Header:
    """``cached``'s header for a file differing in its tiepoint only: its bounds recomputed."""
    header = _Header(ifd)
    try:
        for limits, (plan, _, strips) in cached.derived.items():
            header.derived[limits] = (plan, _bounds(ifd.tags, plan.height, plan.width), strips)
    except UnsupportedTiff:
        header.derived.clear()  # derived again by the caller, which raises as a parse would
    return header


def folder_listing(folder: Path) -> frozenset[str] | None:
    """The names in a folder (None if it cannot be listed), for :func:`read_plain_geotiff`.

    Args:
        folder: The folder of one or more GeoTIFFs.

    Returns:
        The names, or None.
    """
    try:
        return frozenset(os.listdir(folder))
    except OSError:
        return None


def name_parts(path: Path | str) -> tuple[str, str]:
    """``(Path(path).stem, Path(path).suffix)`` without building a ``Path``.

    Args:
        path: A file path.

    Returns:
        The file name without its last suffix, and that suffix ("" if none).
    """
    name = os.path.basename(path)
    dot = name.rfind(".")
    return (name[:dot], name[dot:]) if 0 < dot < len(name) - 1 else (name, "")


def _has_sidecar(path: Path | str, siblings: frozenset[str] | None) -> bool:
    if siblings is None:
        return True
    name = os.path.basename(path)
    names, stems = _sidecar_owners(siblings)
    return name in names or name_parts(name)[0] in stems


@functools.lru_cache(maxsize=8)
def _sidecar_owners(siblings: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The names ``n`` with a sidecar ``n + s`` and the stems with a world file, in a folder.

    Listed once per folder (the band files of an image share it): a file has a sidecar when
    its name is in the first set or its stem (:func:`name_parts`) in the second.
    """
    return _owners(siblings, _SIDECARS), _owners(siblings, _WORLD_FILES)


def _owners(siblings: frozenset[str], suffixes: tuple[str, ...]) -> frozenset[str]:
    """The names that siblings ending in one of ``suffixes`` extend (the suffix cut off)."""
    return frozenset(
        sibling[: -len(suffix)]
        for sibling in siblings
        if sibling.endswith(suffixes)
        for suffix in suffixes
        if sibling.endswith(suffix)
    )


def _one(tags: dict[int, tuple[float, ...] | str], code: int, default: int | None) -> int:
    """A tag with one integer value (its default where absent; no default: required)."""
    value = tags.get(code)
    if value is None:
        if default is None:
            raise UnsupportedTiff(f"no tag {code}")
        return default
    if isinstance(value, str) or len(value) != 1:
        raise UnsupportedTiff(f"tag {code}: {value!r}")
    return int(value[0])


def _per_sample(
    tags: dict[int, tuple[float, ...] | str], code: int, samples: int, default: int
) -> int:
    """A per-sample tag whose values are all equal (one value allowed, as tifffile does)."""
    value = tags.get(code)
    if value is None:
        return default
    if isinstance(value, str) or len(value) not in (1, samples) or len(set(value)) != 1:
        raise UnsupportedTiff(f"tag {code}: mixed or miscounted {value!r}")
    return int(value[0])


def _dtype(bits: int, fmt: int, byteorder: str) -> np.dtype:
    kind = {1: "u", 2: "i", 3: "f"}.get(fmt)
    if kind is None or bits not in (8, 16, 32, 64) or (kind == "f" and bits < 32):
        raise UnsupportedTiff(f"sample format {fmt}/{bits}")
    if kind != "f" and bits == 64:
        raise UnsupportedTiff("64-bit integers")
    return np.dtype(f"{byteorder}{kind}{bits // 8}")


def _segment(raw: bytes, compression: int, size: int) -> bytes:
    if compression == 1:
        if len(raw) < size:
            raise UnsupportedTiff("short uncompressed segment")
        return raw[:size]
    try:
        decoder = zlib.decompressobj()
        out = decoder.decompress(raw, size)
    except zlib.error as exc:
        raise UnsupportedTiff(f"deflate: {exc}") from exc
    if len(out) != size:
        raise UnsupportedTiff("short deflate segment")
    return out


@dataclass(frozen=True)
class _Layout:
    """Where an image's strips or tiles are and how they are coded."""

    height: int
    width: int
    samples: int
    planar: bool
    tiled: bool
    seg_h: int
    seg_w: int
    offsets: tuple[float, ...]
    counts: tuple[float, ...]
    compression: int
    predictor: int


def _layout(
    tags: dict[int, tuple[float, ...] | str], height: int, width: int, samples: int
) -> _Layout:
    planar = _one(tags, _PLANAR, 1)
    if planar not in (1, 2):
        raise UnsupportedTiff(f"planar configuration {planar}")
    tiled = _TILE_WIDTH in tags or _TILE_LENGTH in tags
    if tiled:
        seg_h, seg_w = _one(tags, _TILE_LENGTH, None), _one(tags, _TILE_WIDTH, None)
        offsets, counts = tags.get(_TILE_OFFSETS), tags.get(_TILE_COUNTS)
    else:
        rows = _one(tags, _ROWS_PER_STRIP, 2**32 - 1)
        seg_h, seg_w = min(rows or height, height), width
        offsets, counts = tags.get(_STRIP_OFFSETS), tags.get(_STRIP_COUNTS)
    if seg_h <= 0 or seg_w <= 0 or isinstance(offsets, str) or isinstance(counts, str):
        raise UnsupportedTiff("segment size")
    if offsets is None or counts is None:
        raise UnsupportedTiff("no segment offsets or byte counts")
    return _Layout(
        height,
        width,
        samples,
        planar == 2,
        tiled,
        seg_h,
        seg_w,
        offsets,
        counts,
        _one(tags, _COMPRESSION, 1),
        _one(tags, _PREDICTOR, 1),
    )


def _strips(layout: _Layout, dtype: np.dtype, size: int) -> tuple[int, int] | None:
    """Check the segments of a layout; where the pixels are one run of bytes, where it lies.

    Raises UnsupportedTiff for a segment count that does not fit the image, a compression
    other than none or Deflate, or a segment outside the file (of ``size`` bytes). Returns
    ``(offset, length)`` where the pixels are uncompressed strips stored one after the other
    (the usual band file), else None (decoded segment by segment).
    """
    height, width, samples = layout.height, layout.width, layout.samples
    seg_h, seg_w = layout.seg_h, layout.seg_w
    down, across = -(-height // seg_h), -(-width // seg_w)
    planes = samples if layout.planar else 1
    offsets, counts = [int(v) for v in layout.offsets], [int(v) for v in layout.counts]
    if len(offsets) != down * across * planes or len(counts) != len(offsets):
        raise UnsupportedTiff("segment count")
    if layout.compression not in (1, 8, 32946):
        raise UnsupportedTiff(f"compression {layout.compression}")
    for offset, count in zip(offsets, counts, strict=True):
        if count <= 0 or offset <= 0 or offset + count > size:
            raise UnsupportedTiff("segment outside the file")
    row_bytes = width * samples * dtype.itemsize
    if layout.compression == 1 and not layout.tiled and not layout.planar:
        sizes = [min(seg_h, height - i * seg_h) * row_bytes for i in range(down)]
        contiguous = all(offsets[i + 1] == offsets[i] + sizes[i] for i in range(down - 1)) and all(
            c >= s for c, s in zip(counts, sizes, strict=True)
        )
        if contiguous:
            return offsets[0], height * row_bytes
    return None


def _decode(layout: _Layout, source: _Bytes, dtype: np.dtype) -> np.ndarray:
    """Decode every strip or tile into a ``(samples, height, width)`` array.

    Uncompressed strips stored one after the other (the usual band file) are one read and a
    view of it, in the file's byte order; anything else is assembled segment by segment in
    native order.
    """
    height, width, samples = layout.height, layout.width, layout.samples
    per_segment = 1 if layout.planar else samples
    seg_h, seg_w = layout.seg_h, layout.seg_w
    down, across = -(-height // seg_h), -(-width // seg_w)
    planes = samples if layout.planar else 1
    strips = _strips(layout, dtype, source.size)
    if strips is not None:
        raw = source.get(*strips)
        pixels = np.frombuffer(raw, dtype=dtype).reshape(height, width, samples)
        return pixels.transpose(2, 0, 1)  # np.moveaxis's view, 30x cheaper
    offsets, counts = [int(v) for v in layout.offsets], [int(v) for v in layout.counts]
    out = np.empty((height, width, samples), dtype=dtype.newbyteorder("="))
    index = 0
    for plane in range(planes):
        for row in range(down):
            for col in range(across):
                offset, count = offsets[index], counts[index]
                index += 1
                rows = seg_h if layout.tiled else min(seg_h, height - row * seg_h)
                size = rows * seg_w * per_segment * dtype.itemsize
                raw = _segment(source.get(offset, count), layout.compression, size)
                seg = np.frombuffer(raw, dtype=dtype).reshape(rows, seg_w, per_segment)
                seg = seg.astype(dtype.newbyteorder("="), copy=False)
                if layout.predictor == 2:
                    seg = np.cumsum(seg, axis=1, dtype=seg.dtype)
                y0, x0 = row * seg_h, col * seg_w
                h, w = min(rows, height - y0), min(seg_w, width - x0)
                target = slice(plane, plane + 1) if layout.planar else slice(None)
                out[y0 : y0 + h, x0 : x0 + w, target] = seg[:h, :w]
    return out.transpose(2, 0, 1)


def _floats(tags: dict[int, tuple[float, ...] | str], code: int) -> tuple[float, ...]:
    value = tags.get(code, ())
    if isinstance(value, str):
        raise UnsupportedTiff(f"tag {code} is text")
    return tuple(float(v) for v in value)


def _bounds(
    tags: dict[int, tuple[float, ...] | str], height: int, width: int
) -> tuple[float, float, float, float]:
    """Bounds from ModelPixelScale + one ModelTiepoint, computed as GDAL then rasterio do."""
    if _TRANSFORMATION in tags or _PIXEL_SCALE not in tags or _TIEPOINT not in tags:
        raise UnsupportedTiff("no pixel scale + tiepoint")
    scale, tie = _floats(tags, _PIXEL_SCALE), _floats(tags, _TIEPOINT)
    if len(tie) != 6 or len(scale) < 2 or not (scale[0] > 0 and scale[1] > 0):
        raise UnsupportedTiff("tiepoints or scale")
    if not all(math.isfinite(v) for v in scale + tie):
        raise UnsupportedTiff("non-finite georeferencing")
    a, e = scale[0], -scale[1]
    c = tie[3] - tie[0] * a
    f = tie[4] - tie[1] * e
    if (a, c, e, f) == (1.0, 0.0, 1.0, 0.0):
        raise UnsupportedTiff("identity transform")
    return (c, f + e * height, c + a * width, f)


def _nodata_mask(data: np.ndarray, text: object) -> np.ndarray | None:
    """Where GDAL's nodata mask band marks pixels invalid (None: all valid)."""
    if text is None:
        return None
    try:
        value = float(str(text).strip())
    except ValueError as exc:
        raise UnsupportedTiff(f"nodata {text!r}") from exc
    if data.dtype.kind in "ui":
        info = np.iinfo(data.dtype)
        if not (math.isfinite(value) and value == int(value) and info.min <= value <= info.max):
            raise UnsupportedTiff(f"nodata {value} for {data.dtype}")
        equal: np.ndarray = data == int(value)
        return equal
    if math.isnan(value):
        return None  # NaN pixels are NaN either way
    target = data.dtype.type(value)
    if not math.isfinite(float(target)):
        raise UnsupportedTiff("infinite nodata")
    exact: np.ndarray = data == target
    near = np.abs(data.astype(np.float64) - float(target)) <= _FLOAT_NODATA_RTOL * max(
        abs(float(target)), 1e-30
    )
    if np.any(near & ~exact):
        raise UnsupportedTiff("a pixel near the float nodata value")
    return exact


def read_plain_geotiff(
    path: Path | str,
    count: int | None,
    allowed_dtypes: tuple[str, ...],
    max_pixels: int,
    siblings: frozenset[str] | bool | None = True,
    raw: bool = False,
) -> PlainGeoTiff | None:
    """Decode a plain GeoTIFF as rasterio's ``read(masked=True)`` would, or None.

    Args:
        path: The file.
        count: The band count required (None: any).
        allowed_dtypes: The dtype names allowed.
        max_pixels: The largest width × height allowed.
        siblings: The names in the file's folder (:func:`folder_listing`, listed once for
            the band files of one image), checked for sidecars; True: list it now.
        raw: Where no pixel is nodata, return the integer pixels as decoded (native byte
            order) instead of converting them to float32: the caller converts once; float32
            pixels in native byte order are returned as decoded too (possibly a read-only
            view of the file's bytes: the caller copies them onto its grid).

    Returns:
        The pixels and georeferencing, or None where the file is not a supported plain
        GeoTIFF or fails a check (the caller reads it with rasterio, which reports why).
    """
    listing = folder_listing(Path(path).parent) if siblings is True else siblings
    if _has_sidecar(path, listing if isinstance(listing, frozenset) else None):
        return None
    try:
        data = _small_file(path)
        if data is not None:  # read whole at once (a BigEarthNet band file): no file object
            return _decoded(_Bytes.whole(data), count, allowed_dtypes, max_pixels, raw)
        with open(path, "rb") as handle:
            return _decoded(_Bytes(handle), count, allowed_dtypes, max_pixels, raw)
    except (UnsupportedTiff, OSError, ValueError, OverflowError, MemoryError, struct.error):
        return None


def _small_file(path: Path | str) -> bytes | None:
    """A file of at most :data:`_HEAD` bytes, read by one ``os.read`` (None: a larger file).

    ``os.open``/``os.read`` skip the buffered file object ``open`` builds (≈ 10 µs a file).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size > _HEAD:
            return None
        data = os.read(fd, size)
    finally:
        os.close(fd)
    if len(data) != size:
        raise UnsupportedTiff("short read")
    return data


def _decoded(
    source: _Bytes,
    count: int | None,
    allowed_dtypes: tuple[str, ...],
    max_pixels: int,
    raw: bool,
) -> PlainGeoTiff:
    try:
        header = parse_cached(source, _retied)
    except (struct.error, UnicodeDecodeError, OverflowError) as exc:
        raise UnsupportedTiff(f"malformed header: {exc}") from exc
    return _plain(header, source, count, allowed_dtypes, max_pixels, raw)


@dataclass(frozen=True)
class _Plan:
    """What a header decides for decoding, whatever the file's place (tiepoint) and pixels."""

    height: int
    width: int
    dtype: np.dtype
    layout: _Layout
    geokeys: tuple[object, ...]
    nodata: object


_PLANS: dict[tuple[object, ...], _Plan] = {}
"""Plans of headers seen, by their tags but the tiepoint (the band files of a dataset share
them): the checks of :func:`_plan` run once per kind of header, not once per file."""

_MAX_PLANS = 256


def _plan(
    ifd: TiffIfd, count: int | None, allowed_dtypes: tuple[str, ...], max_pixels: int
) -> _Plan:
    tags = ifd.tags
    height, width = _one(tags, _LENGTH, None), _one(tags, _WIDTH, None)
    samples = _one(tags, _SAMPLES, 1)
    if width <= 0 or height <= 0 or width * height > max_pixels:
        raise UnsupportedTiff("size")
    if samples < 1 or (count is not None and samples != count):
        raise UnsupportedTiff("band count")
    if _one(tags, _FILL_ORDER, 1) != 1:
        raise UnsupportedTiff("fill order")
    photometric = _one(tags, _PHOTOMETRIC, None)
    extra = tags.get(_EXTRA_SAMPLES, ())
    if photometric not in (1, 2) or isinstance(extra, str) or any(int(v) != 0 for v in extra):
        raise UnsupportedTiff("photometric or alpha")
    if photometric == 2 and extra:
        raise UnsupportedTiff("RGB with extra samples")
    bits = _per_sample(tags, _BITS, samples, 1)
    dtype = _dtype(bits, _per_sample(tags, _SAMPLE_FORMAT, samples, 1), ifd.byteorder)
    if np.dtype(dtype.newbyteorder("=")).name not in allowed_dtypes:
        raise UnsupportedTiff("dtype")
    layout = _layout(tags, height, width, samples)
    if layout.predictor not in (1, 2) or (layout.predictor == 2 and dtype.kind == "f"):
        raise UnsupportedTiff("predictor")
    if _GEOKEYS not in tags:
        raise UnsupportedTiff("no GeoKeys")
    keys = tuple(int(v) for v in _floats(tags, _GEOKEYS))
    raster_type = [keys[i + 3] for i in range(4, len(keys) - 3, 4) if keys[i] == _RASTER_TYPE_KEY]
    if raster_type and raster_type[0] == _PIXEL_IS_POINT:
        raise UnsupportedTiff("pixel is point")
    geokeys = (keys, _floats(tags, _GEODOUBLES), str(tags.get(_GEOASCII, "")))
    return _Plan(height, width, dtype, layout, geokeys, tags.get(_NODATA))


def _plain(
    header: _Header,
    source: _Bytes,
    count: int | None,
    allowed_dtypes: tuple[str, ...],
    max_pixels: int,
    raw: bool = False,
) -> PlainGeoTiff:
    limits = (count, allowed_dtypes, max_pixels)
    derived = header.derived.get(limits)
    if derived is None:  # raises: nothing cached
        plan = _plan_cached(header.ifd, count, allowed_dtypes, max_pixels)
        bounds = _bounds(header.ifd.tags, plan.height, plan.width)
        derived = (plan, bounds, _strips(plan.layout, plan.dtype, source.size))
        header.derived[limits] = derived
    plan, bounds, strips = derived
    if strips is not None:  # one run of uncompressed strips: a view of the file's bytes
        start, length = strips
        pixels = np.frombuffer(source.get(start, length), dtype=plan.dtype)
        native = pixels.reshape(plan.height, plan.width, plan.layout.samples).transpose(2, 0, 1)
    else:
        native = _decode(plan.layout, source, plan.dtype)
    mask = _nodata_mask(native, plan.nodata)
    if raw and mask is None and native.dtype.isnative and native.dtype.kind in "uif":
        if native.dtype.kind != "f" or native.dtype == np.float32:
            return PlainGeoTiff(native, plan.geokeys, bounds)  # no copy: the caller copies
    data = native.astype(np.float32)
    if mask is not None:
        data[mask] = np.nan
    return PlainGeoTiff(data, plan.geokeys, bounds)


def _plan_cached(
    ifd: TiffIfd, count: int | None, allowed_dtypes: tuple[str, ...], max_pixels: int
) -> _Plan:
    tags = ifd.tags
    key = (
        ifd.byteorder,
        count,
        allowed_dtypes,
        max_pixels,
        tuple(item for item in tags.items() if item[0] != _TIEPOINT),
    )
    plan = _PLANS.get(key)
    if plan is None:
        plan = _plan(ifd, count, allowed_dtypes, max_pixels)  # raises: nothing cached
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan
