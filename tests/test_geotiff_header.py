"""The ``struct`` TIFF header parser of the fast GeoTIFF path.

Files are written with tifffile (classic and BigTIFF, little- and big-endian): where the fast
path decodes them, pixels and bounds equal rasterio's masked read. Malformed headers (a
truncated file, a count past the end, offsets past the end, a second IFD, alpha) give None from
:func:`read_plain_geotiff` and a clear :class:`UnsupportedTiff` from :func:`parse_first_ifd`,
never a traceback.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import tifffile
from rasterio.errors import NotGeoreferencedWarning

import eoinstruct.pipeline.io.rasters as rasters
from eoinstruct.pipeline.io.geotiff import UnsupportedTiff, parse_first_ifd, read_plain_geotiff

ANY = tuple(sorted(rasters._REAL_DTYPES))
GEOKEYS = (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633)
"""A projected CRS (EPSG:32633), pixel-is-area."""


def _geotiff(path: Path, data: np.ndarray, nodata: str | None = None, **kwargs: object) -> Path:
    tags: list[tuple[int, str, int, object, bool]] = [
        (33550, "d", 3, (10.0, 10.0, 0.0), False),
        (33922, "d", 6, (0.0, 0.0, 0.0, 500_000.0, 5_000_000.0, 0.0), False),
        (34735, "H", len(GEOKEYS), GEOKEYS, False),
        (34737, "s", 0, "WGS 84 / UTM zone 33N|", False),
    ]
    if nodata is not None:
        tags.append((42113, "s", 0, nodata, False))
    options: dict[str, object] = {"photometric": "minisblack", "metadata": None}
    options.update(kwargs)
    tifffile.imwrite(path, data, extratags=tags, **options)  # type: ignore[arg-type]
    return path


def _rasterio(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            return ds.read(masked=True).astype(np.float32).filled(np.nan), tuple(ds.bounds)


KINDS = {
    "classic_little": {"bigtiff": False, "byteorder": "<"},
    "classic_big_endian": {"bigtiff": False, "byteorder": ">"},
    "bigtiff_little": {"bigtiff": True, "byteorder": "<"},
    "bigtiff_big_endian": {"bigtiff": True, "byteorder": ">"},
    "bigtiff_deflate_tiles": {
        "bigtiff": True,
        "byteorder": ">",
        "compression": "zlib",
        "predictor": 2,
        "tile": (16, 16),
    },
    "strips_of_5_rows": {"byteorder": ">", "rowsperstrip": 5},
}


@pytest.mark.parametrize("name", sorted(KINDS))
@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.float32])
def test_header_kinds_decode_as_rasterio(tmp_path: Path, name: str, dtype: type) -> None:
    options = dict(KINDS[name])
    if dtype is np.float32:
        options.pop("predictor", None)  # a float predictor is left to GDAL
    rng = np.random.default_rng(7)
    data = rng.integers(10, 500, (37, 29)).astype(dtype)
    data[:3, :3] = 7
    path = _geotiff(tmp_path / f"{name}.tif", data, nodata="7", **options)
    with path.open("rb") as handle:
        ifd = parse_first_ifd(handle)
    assert ifd.bigtiff == options["bigtiff"] if "bigtiff" in options else not ifd.bigtiff
    assert ifd.byteorder == options["byteorder"]
    fast = read_plain_geotiff(path, 1, ANY, rasters.MAX_PIXELS)
    assert fast is not None, name
    expected, bounds = _rasterio(path)
    np.testing.assert_array_equal(fast.data, expected)
    assert int(np.isnan(fast.data).sum()) == 9  # the nodata corner, masked as GDAL does
    assert fast.bounds == bounds == (500_000.0, 5_000_000.0 - 370.0, 500_290.0, 5_000_000.0)
    assert fast.geokeys[0] == GEOKEYS


def _plain(tmp_path: Path, name: str = "plain.tif", **options: object) -> Path:
    data = np.arange(64, dtype=np.uint16).reshape(8, 8) + 1
    return _geotiff(tmp_path / name, data, **options)


def _entry_offset(raw: bytes, tag: int) -> int:
    """Byte offset of a tag's entry in a little-endian classic TIFF's first IFD."""
    (first,) = struct.unpack("<I", raw[4:8])
    (count,) = struct.unpack("<H", raw[first : first + 2])
    for i in range(count):
        at = first + 2 + 12 * i
        if struct.unpack("<H", raw[at : at + 2])[0] == tag:
            return at
    raise KeyError(tag)


def _refused(path: Path, message: str) -> None:
    assert read_plain_geotiff(path, None, ANY, rasters.MAX_PIXELS) is None
    with path.open("rb") as handle, pytest.raises(UnsupportedTiff, match=message):
        parse_first_ifd(handle)


def test_truncated_headers_are_refused(tmp_path: Path) -> None:
    raw = _plain(tmp_path).read_bytes()
    (first,) = struct.unpack("<I", raw[4:8])
    for cut in (0, 3, 7, first + 1, first + 20):
        path = tmp_path / f"cut{cut}.tif"
        path.write_bytes(raw[:cut])
        _refused(path, "past the end|not a TIFF|short")


def test_count_overflow_and_offsets_past_the_end_are_refused(tmp_path: Path) -> None:
    raw = bytearray(_plain(tmp_path).read_bytes())
    at = _entry_offset(bytes(raw), 33922)  # ModelTiepoint: 6 doubles, by offset
    huge = bytearray(raw)
    huge[at + 4 : at + 8] = struct.pack("<I", 0xFFFFFFFF)
    (tmp_path / "count.tif").write_bytes(huge)
    _refused(tmp_path / "count.tif", "past the file")
    moved = bytearray(raw)
    moved[at + 8 : at + 12] = struct.pack("<I", len(raw) + 100)
    (tmp_path / "value.tif").write_bytes(moved)
    _refused(tmp_path / "value.tif", "past the end")
    ifd = bytearray(raw)
    ifd[4:8] = struct.pack("<I", len(raw) + 8)
    (tmp_path / "ifd.tif").write_bytes(ifd)
    _refused(tmp_path / "ifd.tif", "past the end")
    entries = bytearray(raw)
    (first,) = struct.unpack("<I", raw[4:8])
    entries[first : first + 2] = struct.pack("<H", 0)
    (tmp_path / "entries.tif").write_bytes(entries)
    _refused(tmp_path / "entries.tif", "0 IFD entries")
    strip = bytearray(raw)
    at = _entry_offset(bytes(raw), 273)  # StripOffsets: one strip, the value in the entry
    strip[at + 8 : at + 12] = struct.pack("<I", len(raw) - 10)
    (tmp_path / "strip.tif").write_bytes(strip)
    with (tmp_path / "strip.tif").open("rb") as handle:
        parse_first_ifd(handle)  # the header itself is sound
    assert read_plain_geotiff(tmp_path / "strip.tif", None, ANY, rasters.MAX_PIXELS) is None


def test_what_changes_decoding_is_left_to_gdal(tmp_path: Path) -> None:
    two = tmp_path / "two.tif"
    _plain(tmp_path, "two.tif")
    tifffile.imwrite(two, np.zeros((8, 8), np.uint16), append=True)
    _refused(two, "more than one IFD")
    rgba = tmp_path / "rgba.tif"
    _geotiff(rgba, np.zeros((8, 8, 4), np.uint8), photometric="rgb", extrasamples=["unassalpha"])
    assert read_plain_geotiff(rgba, None, ANY, rasters.MAX_PIXELS) is None
    palette = tmp_path / "palette.tif"
    colours = np.zeros((3, 256), np.uint16)
    _geotiff(palette, np.zeros((8, 8), np.uint8), photometric="palette", colormap=colours)
    _refused(palette, "tag 320")
    assert read_plain_geotiff(_plain(tmp_path), None, ANY, rasters.MAX_PIXELS) is not None
    (tmp_path / "junk.tif").write_bytes(b"GIF89a" + bytes(64))
    _refused(tmp_path / "junk.tif", "byte order")
