"""Reading a sample's pixels, whatever the file format, into float arrays with NaN for nodata.

GeoTIFFs are read once each: plain ones (strips/tiles, none/Deflate, pixel scale + tiepoint)
by a ``struct`` header parser and zlib (:mod:`eoinstruct.pipeline.io.geotiff`, the same pixels
and mask as rasterio's masked read), any other with rasterio; and checked against what the
layout promises (:func:`check_band_grids`): the band files of one image share a CRS and
bounds, each has one band (a single-file image: one band per declared band) and a dtype its
encoding allows; a band coarser than the image's reference grid by an integer factor up to
:data:`MAX_BAND_FACTOR` (BigEarthNet's 20 m and 60 m bands) is repeated onto it (nearest
neighbour), any other size is refused. PNG and JPEG are decoded fully with Pillow (a truncated
file fails); arrays inside HDF5 files (QuakeSet) with h5py, addressed as
``<file>.h5::/<dataset path>`` (:data:`HDF5_SEPARATOR`), bands along the last axis (or the
first, whichever has one entry per band); ``<file>.h5::/<dataset>[<n>]`` reads entry ``n`` of
the first axis of a stacked dataset (So2Sat LCZ42's ``sen2`` of shape N × 32 × 32 × 10).
Nodata becomes NaN: the file's declared nodata value, for encodings with an implicit nodata
(``reflectance_1e4``: 0) that value too, and non-positive linear SAR power. A PNG/JPEG
reference may end in a W3C media fragment ``#xywh=<x>,<y>,<w>,<h>`` (:data:`WINDOW_SEPARATOR`):
the pixels of that window of the file (DOTA's chips of large images, read without writing the
chip out).
Any problem raises :class:`RasterReadError` with a failure kind the stages record
(:data:`READ_ERROR_KINDS`). A header declaring more than :data:`MAX_PIXELS` pixels is refused
before any pixel is allocated.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from eoinstruct.pipeline.io.brightness import KELVIN_RANGE as KELVIN_RANGE
from eoinstruct.pipeline.io.brightness import NORMALIZED_RADIANCE_WHITE as NORMALIZED_RADIANCE_WHITE
from eoinstruct.pipeline.io.brightness import RADIANCE_WHITE as RADIANCE_WHITE
from eoinstruct.pipeline.io.brightness import to_db as to_db
from eoinstruct.pipeline.io.brightness import unit_brightness as unit_brightness
from eoinstruct.pipeline.io.geotiff import folder_listing, name_parts, read_plain_geotiff
from eoinstruct.pipeline.records import ImageRef

# Pillow's own decompression-bomb limit stays (about 89 Mpx; the images the built-in sources
# read through Pillow are far smaller, xBD's 1024 x 1024 the largest), and its warning (over
# the limit, under twice it) is an error too (open_image): a header claiming more fails it
BOMB_ERRORS: tuple[type[Exception], ...] = (
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
"""Pillow's refusals of an image larger than ``Image.MAX_IMAGE_PIXELS``; readers turn them
into a failure of the unit (``corrupt_raster``)."""


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """``Image.open`` where an image over Pillow's pixel limit raises (warning included).

    Args:
        path: The image file.

    Yields:
        The open image.

    Raises:
        Image.DecompressionBombError, Image.DecompressionBombWarning: Over the limit
            (:data:`BOMB_ERRORS`); what ``Image.open`` raises otherwise.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # a library may have set it: a partial decode is wrong
        ImageFile.LOAD_TRUNCATED_IMAGES = False
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            yield image


IMPLICIT_NODATA: dict[str, float] = {"reflectance_1e4": 0.0}
"""Values that mean "no data" for an encoding even where the file declares none."""

PILLOW_SUFFIXES = {".png", ".jpg", ".jpeg"}
HDF5_SEPARATOR = "::"
WINDOW_SEPARATOR = "#xywh="


def split_window(reference: str) -> tuple[str, tuple[int, int, int, int] | None]:
    """Split ``<file>#xywh=x,y,w,h`` into the file and its window (None: the whole file).

    Args:
        reference: An image file reference.

    Returns:
        The file path and the ``(x, y, width, height)`` window in pixels, or None.

    Raises:
        RasterReadError: ``corrupt_raster`` if the window is not four non-negative integers
            with a positive width and height.
    """
    path, sep, window = reference.partition(WINDOW_SEPARATOR)
    if not sep:
        return reference, None
    try:
        x, y, w, h = (int(v) for v in window.split(","))
    except ValueError as exc:
        raise RasterReadError("corrupt_raster", f"{reference}: bad window {window!r}") from exc
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise RasterReadError("corrupt_raster", f"{reference}: bad window {window!r}")
    return path, (x, y, w, h)


_HDF5_INDEX = re.compile(r"(?P<name>.+)\[(?P<index>\d+)\]")
"""A dataset path ending in ``[<n>]``: entry ``n`` of the first axis."""


READ_ERROR_KINDS: tuple[str, ...] = (
    "missing_file",
    "missing_band",
    "corrupt_raster",
    "crs_mismatch",
    "size_mismatch",
    "band_count",
    "dtype",
    "too_large",
)
"""Failure kinds of :class:`RasterReadError`: a file or band absent, undecodable pixels (a
truncated file included), band files of one image in different CRSs or bounds, a size the
layout does not allow, a band count or dtype other than declared, a header over
:data:`MAX_PIXELS`."""

MAX_PIXELS = 1 << 28
"""Largest width × height a raster header may declare (268 Mpx, about 16 k × 16 k), checked
before reading: a forged header (10⁶ × 10⁶) fails its unit instead of allocating terabytes."""

MAX_BAND_FACTOR = 6
"""Largest integer ratio between an image's reference grid and a coarser band file of it
(Sentinel-2: 60 m bands beside 10 m ones)."""

BOUNDS_TOLERANCE = 0.01
"""Bounds of an image's band files may differ by this fraction of a reference pixel."""

ENCODING_DTYPES: dict[str, tuple[str, ...]] = {
    "uint8": ("uint8",),
    "reflectance_1e4": ("uint16", "int16", "uint32", "int32", "float32", "float64"),
}
"""GeoTIFF dtypes an encoding allows (other encodings: any real integer or float dtype)."""

_REAL_DTYPES = frozenset(
    ("uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64")
)


class RasterReadError(Exception):
    """A raster could not be read.

    Attributes:
        kind: One of :data:`READ_ERROR_KINDS`.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _read_pillow(path: Path) -> np.ndarray:
    try:
        with open_image(path) as im:
            im.load()
            if im.mode not in ("RGB", "L", "I;16", "I", "F"):
                im = im.convert("RGB")
            array = np.asarray(im)
    except FileNotFoundError as exc:
        raise RasterReadError("missing_file", f"{path}: file not found") from exc
    except BOMB_ERRORS as exc:
        raise RasterReadError("too_large", f"{path}: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RasterReadError("corrupt_raster", f"{path}: cannot decode image: {exc}") from exc
    if array.ndim == 2:
        array = array[np.newaxis]
    else:
        array = np.moveaxis(array, -1, 0)
    return array.astype(np.float32)


def _read_hdf5(reference: str, n_bands: int) -> np.ndarray:
    import h5py

    file_name, _, dataset = reference.partition(HDF5_SEPARATOR)
    indexed = _HDF5_INDEX.fullmatch(dataset)
    index = int(indexed["index"]) if indexed else None
    dataset = indexed["name"] if indexed else dataset
    path = Path(file_name)
    if not path.is_file():
        raise RasterReadError("missing_file", f"{path}: file not found")
    try:
        with h5py.File(path, "r") as handle:
            if dataset not in handle:
                raise RasterReadError("missing_band", f"{path}: no dataset {dataset}")
            node = handle[dataset]
            if index is not None and not (node.ndim >= 1 and 0 <= index < node.shape[0]):
                raise RasterReadError("missing_band", f"{path}: {dataset} has no entry {index}")
            size = int(np.prod(node.shape[1:] if index is not None else node.shape))
            if size > MAX_PIXELS * max(n_bands, 1):
                raise RasterReadError(
                    "too_large", f"{reference}: {node.shape} over {MAX_PIXELS} px"
                )
            selected = node[...] if index is None else node[index]
            array = np.asarray(selected, dtype=np.float32)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RasterReadError("corrupt_raster", f"{reference}: cannot read: {exc}") from exc
    if array.ndim == 2:
        array = array[np.newaxis]
    elif array.ndim == 3 and array.shape[-1] == n_bands and array.shape[0] != n_bands:
        array = np.moveaxis(array, -1, 0)
    if array.ndim != 3:
        raise RasterReadError("corrupt_raster", f"{reference}: shape {array.shape} is not 2-D")
    return array


@dataclass(frozen=True)
class _Band:
    """One band file's pixels and the grid its header declares.

    ``crs`` is rasterio's CRS, or None with ``geokeys`` set where the file was decoded without
    GDAL (:func:`read_plain_geotiff`): the raw GeoKeys, resolved by rasterio only where two
    files' keys differ (:func:`_same_crs`).
    """

    path: Path | str
    data: np.ndarray
    crs: object
    bounds: tuple[float, float, float, float]
    georeferenced: bool
    geokeys: tuple[object, ...] | None = None


def _crs_of(band: _Band) -> object:
    """A band's rasterio CRS (opening the file where only its raw GeoKeys were read)."""
    if band.geokeys is None:
        return band.crs
    import rasterio  # GDAL only where a file needs it (≈ 40 ms of a process's start-up)
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(band.path) as ds:
                return ds.crs
    except RasterioError as exc:
        raise RasterReadError("corrupt_raster", f"{band.path}: cannot read GeoTIFF: {exc}") from exc


def _same_crs(band: _Band, first: _Band) -> bool:
    """Equal raw GeoKeys are one CRS; anything else is compared as rasterio CRSs."""
    if band.geokeys is not None and band.geokeys == first.geokeys:
        return True
    return _crs_of(band) == _crs_of(first)


class _LazyEnv:
    """One GDAL environment for an image's files, entered when GDAL first reads one of them.

    The plain GeoTIFF path needs none (entering one costs ~45 µs).
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._entered = False

    def ensure(self) -> None:
        """Enter the environment (once)."""
        if not self._entered:
            import rasterio

            self._stack.enter_context(rasterio.Env())
            self._entered = True

    def __enter__(self) -> _LazyEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()


def _read_geotiff(
    path: Path | str,
    count: int | None,
    encoding: str,
    siblings: frozenset[str] | bool | None = True,
    gdal: _LazyEnv | None = None,
    raw: bool = False,
) -> _Band:
    """Open a GeoTIFF once, check its header (pixels, bands, dtype), read every band.

    ``raw``: integer or float32 pixels of a file without nodata stay as decoded (read-only).
    """
    allowed = ENCODING_DTYPES.get(encoding, _REAL_DTYPES)
    plain = read_plain_geotiff(path, count, tuple(allowed), MAX_PIXELS, siblings, raw)
    if plain is not None:  # decoded without GDAL, exactly as below (pipeline.io.geotiff)
        return _Band(path, plain.data, None, plain.bounds, True, plain.geokeys)
    if not os.path.isfile(path):
        raise RasterReadError("missing_file", f"{path}: file not found")
    if gdal is not None:
        gdal.ensure()
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as ds:
                if ds.width * ds.height > MAX_PIXELS:
                    raise RasterReadError(
                        "too_large", f"{path}: {ds.width} x {ds.height} px over {MAX_PIXELS}"
                    )
                if ds.count < 1 or (count is not None and ds.count != count):
                    raise RasterReadError(
                        "band_count", f"{path}: {ds.count} bands, expected {count or 'some'}"
                    )
                dtypes = set(ds.dtypes)
                if len(dtypes) != 1 or not dtypes <= set(allowed):
                    raise RasterReadError(
                        "dtype", f"{path}: dtype {sorted(dtypes)} not allowed for {encoding}"
                    )
                masked = ds.read(masked=True)
                georeferenced = ds.crs is not None or not ds.transform.is_identity
                band = _Band(
                    path,
                    masked.astype(np.float32).filled(np.nan),
                    ds.crs,
                    tuple(ds.bounds),
                    georeferenced,
                )
    except RasterioError as exc:
        raise RasterReadError("corrupt_raster", f"{path}: cannot read GeoTIFF: {exc}") from exc
    return band


def _read_band_file(
    path: Path | str,
    encoding: str,
    listings: dict[str, frozenset[str] | None] | None = None,
    gdal: _LazyEnv | None = None,
) -> _Band:
    """Read one band file of a multi-file image: a GeoTIFF, or a PNG/JPEG decoded by Pillow.

    Pillow decodes PNG/JPEG band files (Satlas) strictly: GDAL's PNG driver returns a truncated
    file's missing rows without an error at full resolution. ``listings`` caches each folder's
    names for the sidecar check, so the band files of one image list their folder once.
    """
    name = os.fspath(path)
    if name_parts(name)[1].lower() not in PILLOW_SUFFIXES:
        if listings is None:
            return _read_geotiff(name, 1, encoding)
        folder = os.path.dirname(name)
        if folder not in listings:
            listings[folder] = folder_listing(Path(folder or "."))
        return _read_geotiff(name, 1, encoding, listings[folder], gdal, raw=True)
    path = Path(name)
    data = _read_pillow(path)
    if data.shape[0] != 1:
        raise RasterReadError("band_count", f"{path}: {data.shape[0]} channels, expected 1")
    height, width = data.shape[1:]
    return _Band(path, data, None, (0.0, 0.0, float(width), float(height)), False)


def _upsample(band: _Band, shape: tuple[int, int], out: np.ndarray) -> None:
    """Put a band on the reference grid: equal size, or an integer factor coarser.

    The band's first layer is written into ``out`` (a ``shape`` float32 array), each coarse
    pixel repeated onto its ``factor x factor`` block (nearest neighbour): the columns repeated
    in the band's own dtype, then each such row broadcast onto its ``factor`` rows of ``out``
    (10 µs for a 60 x 60 uint16 band onto 120 x 120 against 46 µs broadcasting the
    ``(height, factor, width, factor)`` block, whose innermost loop is ``factor`` long).
    """
    height, width = band.data.shape[1:]
    if (height, width) == shape:
        out[...] = band.data[0]
        return
    fy, fx = shape[0] // height if height else 0, shape[1] // width if width else 0
    if fy != fx or not 1 < fy <= MAX_BAND_FACTOR or (height * fy, width * fx) != shape:
        raise RasterReadError(
            "size_mismatch",
            f"{band.path}: {height} x {width} px is not the image's {shape[0]} x {shape[1]} "
            f"grid nor an integer factor ≤ {MAX_BAND_FACTOR} coarser",
        )
    wide = np.repeat(band.data[0], fx, axis=1)
    out.reshape(height, fy, width * fx)[...] = wide[:, np.newaxis, :]


def check_band_grids(bands: Sequence[_Band], shape: tuple[int, int]) -> None:
    """Check that an image's band files cover one grid: one CRS, the same bounds.

    Args:
        bands: The band files read (their headers).
        shape: The image's reference grid (height, width).

    Raises:
        RasterReadError: ``crs_mismatch`` if the files disagree in CRS or in georeferencing,
            ``size_mismatch`` if their bounds differ by more than :data:`BOUNDS_TOLERANCE` of
            a reference pixel.
    """
    first = bands[0]
    for band in bands[1:]:
        if band.georeferenced != first.georeferenced or not _same_crs(band, first):
            raise RasterReadError(
                "crs_mismatch",
                f"{band.path}: CRS {_crs_of(band)} differs from {first.path}: {_crs_of(first)}",
            )
    if not first.georeferenced:
        return  # no bounds to compare: the sizes alone are checked
    west, south, east, north = first.bounds
    tol_x = abs(east - west) / shape[1] * BOUNDS_TOLERANCE
    tol_y = abs(north - south) / shape[0] * BOUNDS_TOLERANCE
    for band in bands[1:]:
        diff = [abs(a - b) for a, b in zip(band.bounds, first.bounds, strict=True)]
        if max(diff[0], diff[2]) > tol_x or max(diff[1], diff[3]) > tol_y:
            raise RasterReadError(
                "size_mismatch",
                f"{band.path}: bounds {band.bounds} differ from {first.path}: {first.bounds}",
            )


def read_image(image: ImageRef, bands: Sequence[str] | None = None) -> np.ndarray:
    """Read an image's bands onto its reference grid.

    Args:
        image: The image reference from a sample.
        bands: Band names to read, in order; all bands by default.

    Returns:
        A float32 array of shape ``(bands, height, width)`` with NaN where there is no data.

    Raises:
        RasterReadError: If a file is missing or cannot be decoded, a band is unknown, or a
            decoded image does not match the reference grid.
    """
    wanted = tuple(bands) if bands is not None else image.bands
    missing = [b for b in wanted if b not in image.bands]
    if missing:
        raise RasterReadError("missing_band", f"image {image.role!r} has no bands {missing}")
    shape = (image.height, image.width)
    if len(image.files) == 1:
        file_name, window = split_window(image.files[0])
        path = Path(file_name)
        if HDF5_SEPARATOR in image.files[0]:
            array = _read_hdf5(image.files[0], len(image.bands))
        elif path.suffix.lower() in PILLOW_SUFFIXES:
            array = _read_pillow(path)
            if window is not None:
                x, y, w, h = window
                if x + w > array.shape[2] or y + h > array.shape[1]:
                    raise RasterReadError(
                        "corrupt_raster", f"{path}: window {window} outside {array.shape[1:]}"
                    )
                array = array[:, y : y + h, x : x + w]
        else:
            array = _read_geotiff(path, len(image.bands), image.encoding).data
        if array.shape[0] != len(image.bands):
            raise RasterReadError(
                "band_count",
                f"{path}: {array.shape[0]} channels, expected {len(image.bands)} "
                f"({','.join(image.bands)})",
            )
        if array.shape[1:] != shape:
            raise RasterReadError(
                "size_mismatch", f"{path}: size {array.shape[1:]} differs from {shape}"
            )
        layers = [array[image.bands.index(b)] for b in wanted]
        stack = np.stack(layers).astype(np.float32, copy=False)
    else:
        with _LazyEnv() as gdal:  # one GDAL environment for the image's files, if any
            listings: dict[str, frozenset[str] | None] = {}
            read = [
                _read_band_file(image.band_file(b), image.encoding, listings, gdal) for b in wanted
            ]
        check_band_grids(read, shape)
        dtypes = {band.data.dtype for band in read}
        native = dtypes.pop() if len(dtypes) == 1 else np.dtype(np.float32)
        if native.kind not in "ui":
            native = np.dtype(np.float32)
        stack = np.empty((len(read), *shape), dtype=native)
        for index, band in enumerate(read):
            _upsample(band, shape, stack[index])
        if native != np.float32:  # integers without nodata: one conversion of the stack
            factors = tuple(shape[0] // max(band.data.shape[1], 1) for band in read)
            return _from_integers(stack, image.encoding, factors)
    implicit = IMPLICIT_NODATA.get(image.encoding)
    if implicit is not None:
        stack[stack == implicit] = np.nan
    if image.encoding == "sar_linear":
        stack[stack <= 0] = np.nan  # no backscatter power: nodata, not a valid −∞ dB
    return stack


def _from_integers(
    integers: np.ndarray, encoding: str, factors: tuple[int, ...] | None = None
) -> np.ndarray:
    """:func:`read_image`'s float32 stack of integer bands without nodata (converted once).

    The implicit nodata value is looked for among the integers; where no pixel is nodata,
    the integers are kept for :func:`native_pixels`, with each band's upsampling factor
    (:func:`native_factors`; 1 where the file was on the image's grid, or unknown).
    """
    stack, invalid = integers.astype(np.float32), None
    implicit, sar = IMPLICIT_NODATA.get(encoding), encoding == "sar_linear"
    if implicit is not None or sar:  # the masks built only where the value range allows one
        low = float(integers.min()) if integers.size else 0.0
        if implicit is not None and low <= implicit <= float(integers.max()):
            invalid = integers == implicit
        if sar and low <= 0:  # no backscatter power: nodata, not a valid −∞ dB
            invalid = integers <= 0 if invalid is None else invalid | (integers <= 0)
    if invalid is not None and invalid.any():
        stack[invalid] = np.nan
    elif integers.dtype.itemsize <= 2:  # every value exact in float32
        _NATIVE.last = (stack, integers, factors or (1,) * len(integers))
    return stack


_NATIVE = threading.local()
"""Per thread, ``last``: the float32 stack :func:`read_image` last returned from integer band
files without nodata, and those integers (:func:`native_pixels`)."""


def native_pixels(array: np.ndarray) -> np.ndarray | None:
    """The integers ``array`` (a :func:`read_image` result) was converted from, or None.

    Only for the image last read on this thread, where every band file held integers of one
    dtype and no nodata: ``native.astype(np.float32)`` equals ``array`` exactly, so an integer
    sort or the stored ``uint16`` array can use them without converting back.

    Args:
        array: The float32 pixels.

    Returns:
        The ``(bands, height, width)`` integers, or None.
    """
    last = getattr(_NATIVE, "last", None)
    if last is not None and last[0] is array:
        native: np.ndarray = last[1]
        return native
    return None


def native_factors(array: np.ndarray) -> tuple[int, ...] | None:
    """Per band of :func:`native_pixels`' integers, the factor its file was upsampled by.

    A band of factor ``k`` repeats each of its file's pixels on a ``k x k`` block (nearest
    neighbour, :func:`_upsample`): its values are those of ``band[::k, ::k]``, each ``k²``
    times. None where :func:`native_pixels` is None.
    """
    last = getattr(_NATIVE, "last", None)
    return last[2] if last is not None and last[0] is array else None
