"""The tifffile GeoTIFF path decodes exactly what rasterio's ``read(masked=True)`` does.

Every GeoTIFF of the embedded sample data (every source that ships GeoTIFFs, broken units
included) is read both ways: where the fast path decodes a file, the pixels (NaN where masked),
the bounds and the CRS identity must equal rasterio's; where it declines, rasterio decides.
Crafted files cover what the sample lacks: float nodata, planar and tiled Deflate with a
predictor, big-endian bytes, a near miss of a float nodata value, a sidecar and pixel-is-point.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

import eoinstruct.pipeline.io.rasters as rasters
from eoinstruct.pipeline.io.geotiff import read_plain_geotiff
from eoinstruct.sources.registry import source_names, writer

ANY = tuple(sorted(rasters._REAL_DTYPES))


def _rasterio(path: Path) -> tuple[np.ndarray, tuple[float, ...], object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as ds:
            data = ds.read(masked=True).astype(np.float32).filled(np.nan)
            return data, tuple(ds.bounds), ds.crs


@pytest.fixture(scope="module")
def sample_tiffs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    root = tmp_path_factory.mktemp("sample")
    found: dict[str, list[Path]] = {}
    for name in source_names():
        writer(name)(root / name, 0)
        tiffs = sorted(p for p in (root / name).rglob("*") if p.suffix.lower() in (".tif", ".tiff"))
        if tiffs:
            found[name] = tiffs
    return found


def test_fast_path_equals_rasterio_on_every_sample_geotiff(
    sample_tiffs: dict[str, list[Path]],
) -> None:
    assert len(sample_tiffs) >= 5  # BigEarthNet v1/v2, RSVQA, STAC, STARCOP, TreeSatAI…
    fast_files = 0
    for source, paths in sample_tiffs.items():
        for path in paths:
            fast = read_plain_geotiff(path, None, ANY, rasters.MAX_PIXELS)
            try:
                data, bounds, _ = _rasterio(path)
            except rasterio.errors.RasterioError:
                assert fast is None, f"{source}: {path.name} decoded where GDAL fails"
                continue
            if fast is None:
                continue
            fast_files += 1
            assert fast.data.dtype == data.dtype == np.float32
            np.testing.assert_array_equal(fast.data, data, err_msg=f"{source}: {path}")
            assert np.array_equal(np.isnan(fast.data), np.isnan(data))  # mask for mask
            assert fast.bounds == bounds, f"{source}: {path}"
    assert fast_files >= 250  # the plain files really take the fast path


def test_read_image_and_checks_agree_with_rasterio_only(
    sample_tiffs: dict[str, list[Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = [p for ps in sample_tiffs.values() for p in ps]
    outcomes = []
    for use_fast in (True, False):
        if not use_fast:
            monkeypatch.setattr(rasters, "read_plain_geotiff", lambda *a, **k: None)
        run = []
        for path in paths:
            try:
                band = rasters._read_geotiff(path, None, "float")
                run.append(("ok", band.data.tobytes(), band.bounds, str(rasters._crs_of(band))))
            except rasters.RasterReadError as exc:
                run.append((exc.kind, b"", (), ""))
        outcomes.append(run)
    assert outcomes[0] == outcomes[1]


def _write(path: Path, data: np.ndarray, **extra: object) -> Path:
    profile: dict[str, object] = {
        "driver": "GTiff",
        "width": data.shape[2],
        "height": data.shape[1],
        "count": data.shape[0],
        "dtype": str(data.dtype),
        "crs": "EPSG:32633",
        "transform": from_origin(500_000.0, 5_000_000.0, 10.0, 10.0),
    }
    profile.update(extra)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(data)
    return path


CRAFTED = {
    "float_nodata": (np.float32, {"nodata": -9999.0}),
    "int16_nodata": (np.int16, {"nodata": -1}),
    "deflate_pred_tiled": (
        np.uint16,
        {"compress": "deflate", "predictor": 2, "tiled": True, "blockxsize": 16, "blockysize": 16},
    ),
    "planar_strips": (np.uint16, {"interleave": "band", "compress": "deflate", "blockysize": 5}),
    "big_endian": (np.int32, {"endianness": "big", "nodata": 7}),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_files_decode_exactly(tmp_path: Path, name: str) -> None:
    dtype, extra = CRAFTED[name]
    rng = np.random.default_rng(3)
    data = rng.integers(-2, 40, (3, 37, 29)).astype(dtype)
    data[:, :4, :4] = extra.get("nodata", 0)
    path = _write(tmp_path / f"{name}.tif", data, **extra)
    fast = read_plain_geotiff(path, None, ANY, rasters.MAX_PIXELS)
    assert fast is not None, name
    expected, bounds, _ = _rasterio(path)
    np.testing.assert_array_equal(fast.data, expected)
    assert fast.bounds == bounds


def test_what_it_cannot_match_goes_to_rasterio(tmp_path: Path) -> None:
    data = np.full((1, 8, 8), 5.0, dtype=np.float32)
    data[0, 0, 0] = 5.00001  # a near miss of the nodata value: GDAL's tolerance decides
    near = _write(tmp_path / "near.tif", data, nodata=5.0)
    assert read_plain_geotiff(near, None, ANY, rasters.MAX_PIXELS) is None
    lzw = _write(tmp_path / "lzw.tif", data, compress="lzw")
    assert read_plain_geotiff(lzw, None, ANY, rasters.MAX_PIXELS) is None
    plain = _write(tmp_path / "plain.tif", data)
    assert read_plain_geotiff(plain, None, ANY, rasters.MAX_PIXELS) is not None
    assert read_plain_geotiff(plain, 2, ANY, rasters.MAX_PIXELS) is None  # band count
    assert read_plain_geotiff(plain, None, ("uint16",), rasters.MAX_PIXELS) is None  # dtype
    assert read_plain_geotiff(plain, None, ANY, 63) is None  # too large
    (tmp_path / "plain.tif.aux.xml").write_text("<PAMDataset/>", encoding="utf-8")
    assert read_plain_geotiff(plain, None, ANY, rasters.MAX_PIXELS) is None  # sidecar
    point = _write(tmp_path / "point.tif", data)
    with rasterio.open(point, "r+") as ds:
        ds.update_tags(AREA_OR_POINT="Point")
    assert read_plain_geotiff(point, None, ANY, rasters.MAX_PIXELS) is None


def test_unequal_geokeys_of_one_crs_are_not_a_mismatch(tmp_path: Path) -> None:
    data = np.arange(64, dtype=np.uint16).reshape(1, 8, 8) + 1
    utm = "+proj=utm +zone=33 +datum=WGS84 +units=m +no_defs"  # the same CRS, other GeoKeys
    files = (
        _write(tmp_path / "epsg.tif", data),
        _write(tmp_path / "proj4.tif", data, crs=rasterio.crs.CRS.from_proj4(utm)),
    )
    plain = [read_plain_geotiff(f, 1, ANY, rasters.MAX_PIXELS) for f in files]
    assert plain[0] is not None and plain[1] is not None
    assert plain[0].geokeys != plain[1].geokeys  # so the check asks rasterio
    image = rasters.ImageRef("image", tuple(map(str, files)), ("B1", "B2"), "reflectance_1e4", 8, 8)
    stack = rasters.read_image(image)
    np.testing.assert_array_equal(stack, np.concatenate([data, data]).astype(np.float32))
    other = _write(tmp_path / "utm34.tif", data, crs="EPSG:32634")
    mixed = rasters.ImageRef(
        "image", (str(files[0]), str(other)), ("B1", "B2"), "reflectance_1e4", 8, 8
    )
    with pytest.raises(rasters.RasterReadError) as failure:
        rasters.read_image(mixed)
    assert failure.value.kind == "crs_mismatch"


def test_headers_and_plans_reused_only_where_they_apply(tmp_path: Path) -> None:
    """Files sharing a header (or all of it but the tiepoint) are parsed/planned once, and
    each still decodes to its own pixels, bounds, nodata and checks."""
    rng = np.random.default_rng(5)
    cases = []
    for i, x in enumerate([500_000.0, 500_000.0, 600_000.0]):
        data = rng.integers(1, 5000, (1, 12, 9), dtype=np.uint16)
        extra = {"transform": from_origin(x, 5_000_000.0, 10.0, 10.0)}
        cases.append(_write(tmp_path / f"a{i}.tif", data, **extra))
    cases.append(
        _write(tmp_path / "n.tif", rng.integers(0, 3, (1, 12, 9), dtype=np.uint16), nodata=1)
    )
    cases.append(_write(tmp_path / "f.tif", rng.random((1, 12, 9)).astype(np.float32)))
    for _ in range(2):  # the second round reads every header from the caches
        for path in cases:
            plain = read_plain_geotiff(path, 1, ANY, 10**9, True)
            assert plain is not None
            data, bounds, _ = _rasterio(path)
            np.testing.assert_array_equal(plain.data, data)
            assert plain.bounds == pytest.approx(bounds, abs=1e-9)
        assert read_plain_geotiff(cases[-1], 1, ("uint16",), 10**9, True) is None  # dtype
        assert read_plain_geotiff(cases[0], 2, ANY, 10**9, True) is None  # band count
        assert read_plain_geotiff(cases[0], 1, ANY, 100, True) is None  # too large
