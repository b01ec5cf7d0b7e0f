"""Rasters are checked against what the layout promises, never silently resampled or cut.

Crafted files: band files of one image in other CRSs, bounds, sizes, band counts or dtypes; a
truncated PNG and GeoTIFF; headers declaring 10⁶ × 10⁶ pixels. Each must raise
:class:`RasterReadError` with its kind; legitimate coarser bands (an integer factor, same
bounds) are repeated onto the reference grid.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.crs import CRS
from rasterio.transform import from_origin

from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.records import ImageRef

UTM = CRS.from_epsg(32633)
ORIGIN = (500_000.0, 5_000_000.0)


def _tif(
    path: Path,
    array: np.ndarray,
    res: float = 10.0,
    crs: CRS | None = UTM,
    origin: tuple[float, float] = ORIGIN,
) -> str:
    data = array if array.ndim == 3 else array[np.newaxis]
    profile = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": crs,
        "transform": from_origin(*origin, res, res),
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return str(path)


def _image(files: list[str], encoding: str = "reflectance_1e4", size: int = 12) -> ImageRef:
    bands = tuple(f"B{i}" for i in range(len(files)))
    return ImageRef("image", tuple(files), bands, encoding, size, size)


def _band(value: int, size: int = 12, dtype: str = "uint16") -> np.ndarray:
    rng = np.random.default_rng(value)
    return rng.integers(1, 5000, (size, size)).astype(dtype)


def _kind(image: ImageRef) -> str:
    with pytest.raises(RasterReadError) as info:
        read_image(image)
    return info.value.kind


def test_coarser_band_with_same_bounds_is_repeated(tmp_path: Path) -> None:
    fine = _tif(tmp_path / "a.tif", _band(1))
    coarse_pixels = _band(2, size=6)
    coarse = _tif(tmp_path / "b.tif", coarse_pixels, res=20.0)
    array = read_image(_image([fine, coarse]))
    assert array.shape == (2, 12, 12)
    assert np.array_equal(array[1], np.repeat(np.repeat(coarse_pixels, 2, 0), 2, 1))
    assert np.array_equal(array[0], _band(1))


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"crs": CRS.from_epsg(32632)}, "crs_mismatch"),
        ({"crs": None}, "crs_mismatch"),
        ({"origin": (500_010.0, 5_000_000.0)}, "size_mismatch"),
        ({"size": 5, "res": 24.0}, "size_mismatch"),
        ({"size": 12, "res": 10.0, "dtype": "uint8"}, "dtype"),
    ],
)
def test_band_file_disagreeing_with_the_image_fails(
    tmp_path: Path, kwargs: dict[str, object], kind: str
) -> None:
    fine = _tif(tmp_path / "a.tif", _band(1))
    size = int(kwargs.pop("size", 12))  # type: ignore[call-overload]
    dtype = str(kwargs.pop("dtype", "uint16"))
    other = _tif(tmp_path / "b.tif", _band(2, size, dtype), **kwargs)  # type: ignore[arg-type]
    assert _kind(_image([fine, other])) == kind


def test_band_file_with_two_bands_fails(tmp_path: Path) -> None:
    fine = _tif(tmp_path / "a.tif", _band(1))
    two = _tif(tmp_path / "b.tif", np.stack([_band(2), _band(3)]))
    assert _kind(_image([fine, two])) == "band_count"


def test_single_file_of_another_size_is_not_resampled(tmp_path: Path) -> None:
    path = _tif(tmp_path / "a.tif", np.stack([_band(1, 10), _band(2, 10)]))
    image = ImageRef("image", (path,), ("B0", "B1"), "reflectance_1e4", 12, 12)
    assert _kind(image) == "size_mismatch"
    three = ImageRef("image", (path,), ("B0", "B1", "B2"), "reflectance_1e4", 10, 10)
    assert _kind(three) == "band_count"


def test_uint8_encoding_refuses_16_bit_files(tmp_path: Path) -> None:
    path = _tif(tmp_path / "a.tif", _band(1))
    assert _kind(_image([path, path, path], encoding="uint8")) == "dtype"


def test_truncated_png_and_geotiff_fail(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    png = tmp_path / "x.png"
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(png)
    png.write_bytes(png.read_bytes()[: png.stat().st_size // 2])
    image = ImageRef("image", (str(png),), ("R", "G", "B"), "uint8", 64, 64)
    assert _kind(image) == "corrupt_raster"
    tif = Path(_tif(tmp_path / "a.tif", _band(1, 64)))
    tif.write_bytes(tif.read_bytes()[: tif.stat().st_size // 2])
    assert _kind(_image([str(tif)], size=64)) == "corrupt_raster"


def _png_header_only(path: Path, side: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\0" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def _tiff_header_only(path: Path, side: int) -> None:
    """A little-endian, uncompressed, 8-bit, one-strip TIFF whose header claims side²."""
    tags = [
        (256, 4, 1, side),  # ImageWidth, LONG
        (257, 4, 1, side),  # ImageLength
        (258, 3, 1, 8),  # BitsPerSample
        (259, 3, 1, 1),  # Compression: none
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, 1, 8 + 2 + 12 * 9 + 4),  # StripOffsets: just after the IFD
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, side),  # RowsPerStrip
        (279, 4, 1, 16),  # StripByteCounts
    ]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        packed = struct.pack("<H", value) + b"\0\0" if kind == 3 else struct.pack("<I", value)
        ifd += struct.pack("<HHI", tag, kind, count) + packed
    path.write_bytes(b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + b"\0" * 16)


def test_headers_declaring_a_million_squared_pixels_are_refused(tmp_path: Path) -> None:
    side = 1_000_000
    png = tmp_path / "huge.png"
    _png_header_only(png, side)
    image = ImageRef("image", (str(png),), ("R", "G", "B"), "uint8", side, side)
    assert _kind(image) == "too_large"
    tif = tmp_path / "huge.tif"
    _tiff_header_only(tif, side)
    with rasterio.open(tif) as ds:  # the crafted header is read as declared
        assert (ds.width, ds.height) == (side, side)
    assert _kind(_image([str(tif)], encoding="uint8", size=side)) == "too_large"


def test_every_read_error_kind_is_a_failure_kind_of_the_metrics() -> None:
    from eoinstruct.pipeline.accounting import FailureKind
    from eoinstruct.pipeline.io.rasters import READ_ERROR_KINDS

    assert set(READ_ERROR_KINDS) <= {k.value for k in FailureKind}
