"""The fast GeoTIFF path's per-header cache and raw hand-over decode each file's own pixels.

Files with byte-identical headers (one grid, one size) share a parsed header and what was
derived from it (plan, bounds, where the strips lie): each must still give its own pixels, and
a file whose only header difference is its tiepoint its own bounds, as rasterio reads them.
``raw`` hands native float32 pixels over as decoded (no float copy) and keeps a file with
nodata on the masked float path. :func:`name_parts` is ``Path``'s stem and suffix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import eoinstruct.pipeline.io.rasters as rasters
from eoinstruct.pipeline.io.geotiff import name_parts, read_plain_geotiff

ANY = tuple(sorted(rasters._REAL_DTYPES))


def _write(path: Path, data: np.ndarray, west: float, nodata: float | None = None) -> Path:
    profile = {
        "driver": "GTiff",
        "width": data.shape[1],
        "height": data.shape[0],
        "count": 1,
        "dtype": data.dtype.name,
        "crs": "EPSG:32633",
        "transform": from_origin(west, 5_000_000.0, 10.0, 10.0),
    }
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data, 1)
    return path


def _masked(path: Path) -> tuple[np.ndarray, tuple[float, ...]]:
    with rasterio.open(path) as ds:
        return ds.read(masked=True).astype(np.float32).filled(np.nan), tuple(ds.bounds)


def test_shared_headers_decode_each_files_pixels_and_bounds(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    files = []
    for index, west in enumerate((500_000.0, 500_000.0, 600_000.0)):
        data = rng.integers(1, 10_000, (30, 30)).astype(np.uint16)
        files.append(_write(tmp_path / f"b{index}.tif", data, west))
    assert files[0].read_bytes()[:200] == files[1].read_bytes()[:200]  # one header
    for path in files * 2:  # the second round is served from the cache
        fast = read_plain_geotiff(path, 1, ANY, rasters.MAX_PIXELS)
        assert fast is not None
        data, bounds = _masked(path)
        np.testing.assert_array_equal(fast.data, data)
        assert fast.bounds == pytest.approx(bounds, abs=1e-6)
    first = read_plain_geotiff(files[0], 1, ANY, rasters.MAX_PIXELS)
    third = read_plain_geotiff(files[2], 1, ANY, rasters.MAX_PIXELS)
    assert first is not None and third is not None and first.bounds != third.bounds
    # a stricter caller on a cached header: its own checks, not the first caller's result
    assert read_plain_geotiff(files[0], 1, ("uint8",), rasters.MAX_PIXELS) is None
    assert read_plain_geotiff(files[0], 2, ANY, rasters.MAX_PIXELS) is None


def test_raw_float32_is_handed_over_as_decoded_and_nodata_stays_masked(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(-12.0, 4.0, (20, 20)).astype(np.float32)
    plain = _write(tmp_path / "vv.tif", values, 400_000.0)
    raw = read_plain_geotiff(plain, 1, ANY, rasters.MAX_PIXELS, True, raw=True)
    assert raw is not None and raw.data.dtype == np.float32
    np.testing.assert_array_equal(raw.data[0], values)
    holed = values.copy()
    holed[0, :5] = -9999.0
    masked = _write(tmp_path / "vh.tif", holed, 400_000.0, nodata=-9999.0)
    out = read_plain_geotiff(masked, 1, ANY, rasters.MAX_PIXELS, True, raw=True)
    assert out is not None
    np.testing.assert_array_equal(out.data, _masked(masked)[0])
    assert np.isnan(out.data[0, 0, :5]).all() and out.data.flags.writeable


@pytest.mark.parametrize(
    "name", ["a/b.png", "a/..png", "a/.png", "a.b/c", "x.", "a/b.tar.TIF", "/x/.hidden.tif", "b"]
)
def test_name_parts_is_paths_stem_and_suffix(name: str) -> None:
    assert name_parts(name) == (Path(name).stem, Path(name).suffix)


def test_headers_differing_in_their_tiepoint_share_a_parse_and_keep_their_bounds(
    tmp_path: Path,
) -> None:
    from eoinstruct.pipeline.io import tiff_header

    rng = np.random.default_rng(11)
    data = rng.integers(1, 10_000, (20, 20)).astype(np.uint16)
    tiff_header._IFDS.clear()
    tiff_header._EXTENTS.clear()
    tiff_header._MOVED.clear()
    tiff_header._SHAPES.clear()
    first = _write(tmp_path / "a.tif", data, 500_000.0)
    assert read_plain_geotiff(first, 1, ANY, rasters.MAX_PIXELS) is not None
    parsed = tiff_header._MOVED.copy()
    assert len(parsed) == 1  # the tiepoint lies apart: cached without it
    calls = []
    real_parse = tiff_header._parse
    tiff_header._parse = lambda source: calls.append(1) or real_parse(source)  # type: ignore
    try:
        for index, west in enumerate((510_000.0, 620_000.0)):
            moved = _write(tmp_path / f"m{index}.tif", data[::-1].copy(), west)
            fast = read_plain_geotiff(moved, 1, ANY, rasters.MAX_PIXELS)
            assert fast is not None
            pixels, bounds = _masked(moved)
            np.testing.assert_array_equal(fast.data, pixels)
            assert fast.bounds == pytest.approx(bounds, abs=1e-6)
        assert calls == []  # no parse: the cached header with this file's tiepoint
        # any other header byte differs (the nodata tag): parsed afresh, its own mask
        masked = _write(tmp_path / "n.tif", data, 530_000.0, nodata=float(data[0, 0]))
        fast = read_plain_geotiff(masked, 1, ANY, rasters.MAX_PIXELS)
        assert calls == [1] and fast is not None
        pixels, bounds = _masked(masked)
        np.testing.assert_array_equal(fast.data, pixels)
        assert np.isnan(fast.data[0, 0, 0]) and fast.bounds == pytest.approx(bounds, abs=1e-6)
    finally:
        tiff_header._parse = real_parse  # type: ignore[assignment]
