"""Tests of the STAC adapter, its sample catalog and a real STAC API.

Synthetic data: the writer's static catalog (``sources/stac/sample.py``). Real data: the
Earth Search and Planetary Computer items recorded in shared/peer-data §2 (pystac-client
cassettes) and §3 (stac-geoparquet items), parsed directly and served by a real
stac-fastapi-pgstac on 127.0.0.1 (``tests/stac_api.py``) with their asset hrefs pointed at
small local COGs made here.
"""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pystac
import pytest
import rasterio
import shapely
import stac_api
import yaml
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform

from eoinstruct.pipeline.io.render import render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.stac import assets as stac_assets
from eoinstruct.sources.stac import chips as stac_chips
from eoinstruct.sources.stac import grid as stac_grid
from eoinstruct.sources.stac import sample as corpus
from eoinstruct.sources.stac import sample_optical, sample_sar, sample_scene
from eoinstruct.sources.stac import signing as stac_signing
from eoinstruct.sources.stac.adapter import STACScenes
from eoinstruct.sources.stac.assets import asset_scaling, item_epsg, select_assets
from eoinstruct.sources.stac.calibration import parse_calibration
from eoinstruct.sources.stac.items import acquisition_times, item_tags, sensor_name
from eoinstruct.sources.stac.signing import sign_planetary_computer

SEED = 5
S2_PAIR = ("sentinel-2-l2a/S2A_13TDE_20231008_0_L2A", "sentinel-2-l2a/S2B_13TDE_20230724_0_L2A")
LANDSAT_PAIR = (
    "landsat-c2-l2/LC08_L2SP_033032_20231008_02_T1",
    "landsat-c2-l2/LC09_L2SP_033032_20230728_02_T1",
)
S1_UNIT = "sentinel-1-grd/S1A_IW_GRDH_1SDV_20231007T005313_20231007T005338_050646_061A3B"
GEOPARQUET = "stac-utils__stac-geoparquet/tests"
CASSETTES = "stac-utils__pystac-client/tests/cassettes"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stac") / "sample"
    corpus.write(root, SEED)
    return root


def _options(chips: Path, **extra: Any) -> dict[str, Any]:
    return {
        "catalog": "catalog.json",
        "chips_dir": str(chips),
        "chip_center": list(sample_scene.CHIP_CENTER),
        "chip_size": dict(sample_scene.CHIP_SIZES),
        **extra,
    }


@pytest.fixture(scope="module")
def sample_reads(
    sample_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[STACScenes, dict[str, Any]]:
    adapter = STACScenes(sample_root, _options(tmp_path_factory.mktemp("chips")))
    samples = {u: adapter.read_unit(u)[0] for u in corpus.GOOD_UNITS}
    return adapter, samples


def _all_among(values: np.ndarray, allowed: np.ndarray, tol: float = 1e-5) -> bool:
    """Whether every finite value equals (within float32 precision) one of ``allowed``."""
    finite = values[np.isfinite(values)]
    pool = np.unique(allowed[np.isfinite(allowed)])
    return bool(np.all(np.abs(finite[:, None] - pool[None, :]).min(axis=1) < tol))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _item_json(root: Path, unit: str) -> Path:
    collection, item_id = unit.split("/")
    return root / collection / item_id / f"{item_id}.json"


# --- the sample-corpus writer --------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / ".again.tmp-1", SEED)  # a dotted name, as the stage uses
    assert sorted(p.name for p in tmp_path.iterdir()) == [".again.tmp-1"]
    first, second = _files(sample_root), _files(tmp_path / ".again.tmp-1")
    assert sorted(first) == sorted(second)
    assert [n for n in first if first[n] != second[n]] == []
    corpus.write(tmp_path / "other", SEED + 1)
    other = _files(tmp_path / "other")
    assert sorted(other) == sorted(first)
    assert any(other[n] != first[n] for n in first if n.endswith("B08.tif"))
    assert all(
        other[n] == first[n] for n in first if n.endswith(("catalog.json", "collection.json"))
    )


def test_writer_layout(sample_root: Path) -> None:
    total = sum(len(b) for b in _files(sample_root).values())
    assert total < 1_500_000
    catalog = pystac.Catalog.from_file(str(sample_root / "catalog.json"))
    items = {f"{i.collection_id}/{i.id}" for i in catalog.get_items(recursive=True)}
    assert items == {f"{s.collection}/{s.item_id}" for s in corpus.SCENES}
    assert {c.id for c in catalog.get_children()} == {
        "sentinel-2-l2a",
        "landsat-c2-l2",
        "sentinel-1-grd",
    }

    s2 = json.loads(_item_json(sample_root, S2_PAIR[0]).read_text())
    assert s2["properties"]["proj:epsg"] == 32613 and s2["properties"]["grid:code"] == "MGRS-13TDE"
    red = s2["assets"]["red"]
    assert red["href"] == "./B04.tif"
    assert red["raster:bands"][0] == {
        "nodata": 0,
        "data_type": "uint16",
        "bits_per_sample": 15,
        "spatial_resolution": 10,
        "scale": 0.0001,
        "offset": -0.1,
    }
    folder = _item_json(sample_root, S2_PAIR[0]).parent
    for key, band, res, _, _ in sample_optical.S2_BANDS:
        with rasterio.open(folder / f"{band}.tif") as ds:
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert ds.crs.to_epsg() == 32613 and ds.res == (res, res) and ds.dtypes[0] == "uint16"
            assert ds.width == 1200 // res and ds.nodata == 0
            assert list(ds.transform)[:6] == s2["assets"][key]["proj:transform"]
            assert (ds.transform.c - sample_optical.S2_TILE_ORIGIN[0]) % 60 == 0  # real 13TDE grid
            data = ds.read(1)
            assert 900 < data.min() < data.max() < 6000  # DN = 10000 * rho + 1000

    landsat = json.loads(_item_json(sample_root, LANDSAT_PAIR[0]).read_text())
    lwir = landsat["assets"]["lwir11"]
    assert lwir["href"].endswith("_ST_B10.TIF") and lwir["gsd"] == 100
    assert (
        lwir["raster:bands"][0]["scale"] == 0.00341802 and lwir["raster:bands"][0]["offset"] == 149
    )
    assert landsat["properties"]["landsat:wrs_path"] == "033"
    with rasterio.open(_item_json(sample_root, LANDSAT_PAIR[0]).parent / lwir["href"]) as ds:
        kelvin = ds.read(1) * 0.00341802 + 149
        assert 280 < kelvin.min() < kelvin.max() < 320

    s1 = json.loads(_item_json(sample_root, S1_UNIT).read_text())
    assert s1["properties"]["sar:polarizations"] == ["VV", "VH"]
    assert s1["assets"]["vv"]["href"] == "./measurement/iw-vv.tiff"
    cal = s1["assets"]["schema-calibration-vv"]["href"]
    assert cal == "./annotation/calibration/calibration-iw-vv.xml"
    with rasterio.open(_item_json(sample_root, S1_UNIT).parent / "measurement/iw-vv.tiff") as ds:
        gcps, gcp_crs = ds.gcps
        assert ds.crs is None and len(gcps) == 25 and gcp_crs.to_epsg() == 4326
        assert ds.dtypes[0] == "uint16" and ds.read(1).min() > 0


def test_writer_bad_items(sample_root: Path) -> None:
    b04 = _item_json(sample_root, "sentinel-2-l2a/S2A_13TDE_20230729_0_L2A").parent / "B04.tif"
    with rasterio.open(b04) as ds:  # the header survives, the tiles do not
        assert ds.width == 120
        with pytest.raises(rasterio.errors.RasterioIOError):
            ds.read(1)
    bad = "landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1"
    item = json.loads(_item_json(sample_root, bad).read_text())
    red = _item_json(sample_root, bad).parent / item["assets"]["red"]["href"]
    assert not red.exists() and red.name.endswith("_SR_B4.TIF")


# --- the adapter on the sample catalog ----------------------------------------------------


def test_lists_every_item(sample_root: Path, tmp_path: Path) -> None:
    adapter = STACScenes(sample_root, _options(tmp_path))
    units = adapter.list_units()
    assert units == sorted(f"{s.collection}/{s.item_id}" for s in corpus.SCENES)
    only_s2 = STACScenes(sample_root, _options(tmp_path, collections=["sentinel-2-l2a"]))
    assert only_s2.list_units() == sorted(u for u in units if u.startswith("sentinel-2-l2a/"))
    autumn = STACScenes(sample_root, _options(tmp_path, datetime="2023-10-01/2023-10-31"))
    assert autumn.list_units() == sorted([S2_PAIR[0], LANDSAT_PAIR[0], S1_UNIT])
    day = STACScenes(sample_root, _options(tmp_path, datetime="2023-07-24"))
    assert day.list_units() == [S2_PAIR[1]]
    far = STACScenes(sample_root, _options(tmp_path, bbox=[10.0, 45.0, 11.0, 46.0]))
    assert far.list_units() == []
    capped = STACScenes(sample_root, _options(tmp_path, max_items=2))
    assert capped.list_units() == units[:2]
    files = adapter.unit_files(S2_PAIR[0])
    assert _item_json(sample_root, S2_PAIR[0]) in files and len(files) == 13


def test_reads_s2_items(sample_root: Path, sample_reads: tuple[STACScenes, dict]) -> None:
    adapter, samples = sample_reads
    for unit in S2_PAIR:
        sample = samples[unit]
        (image,) = sample.images
        assert sample.sample_id == f"stac:{unit}" and sample.native_id == unit
        assert sample.modality == "multispectral" and sample.sensor == "Sentinel-2 MSI"
        assert image.bands == sample.bands == stac_assets.S2_BAND_ORDER
        assert image.encoding == "reflectance" and image.display_bands == ("B04", "B03", "B02")
        assert (image.width, image.height) == (96, 96)
        assert sample.crs == "EPSG:32613" and sample.gsd_m == 10.0
        assert sample.licence == "Copernicus-Sentinel-Data-Terms" and sample.split == ""
        item_id = unit.split("/")[1]
        keys = [Path(f).stem for f in image.files]
        assert keys == list(stac_assets.S2_ES_KEYS)
        assert all(
            Path(f) == adapter.chips_dir / "sentinel-2-l2a" / item_id / f"{k}.tif"
            for f, k in zip(image.files, keys, strict=True)
        )
        tags = dict(sample.tags)
        assert tags["mgrs_tile"] == "T13TDE" and tags["constellation"] == "Sentinel-2"
        assert tags["cloud_cover"] == "clear" and tags["relative_orbit"] == "141"
        footprint = shapely.from_wkt(sample.footprint_wkt)
        assert footprint.contains(shapely.Point(sample_scene.CHIP_CENTER))
        assert footprint.exterior.is_ccw and geolocation_problem(sample) == ""
        assert 0.9e-4 < footprint.area < 1.1e-4  # 960 m x 960 m at 40 deg N, in deg^2
        # STAC items carry metadata only: their label fields come from OSM at enrich
        assert count_tag_fields(sample) == 0 and len(sample.tags) >= 3
    assert samples[S2_PAIR[0]].tags["platform"] == "Sentinel-2A"
    assert samples[S2_PAIR[0]].acquired == ("2023-10-08T18:02:55Z",)
    assert samples[S2_PAIR[1]].tags["platform"] == "Sentinel-2B"


def test_s2_chip_values_are_reflectance_on_one_grid(
    sample_root: Path, sample_reads: tuple[STACScenes, dict]
) -> None:
    _, samples = sample_reads
    image = samples[S2_PAIR[0]].images[0]
    folder = _item_json(sample_root, S2_PAIR[0]).parent
    with rasterio.open(image.band_file("B04")) as chip, rasterio.open(folder / "B04.tif") as src:
        assert chip.dtypes[0] == "float32" and math.isnan(chip.nodata)
        assert chip.crs.to_epsg() == 32613 and chip.res == (10.0, 10.0)
        col0, row0 = ~src.transform @ (chip.transform.c, chip.transform.f)
        assert col0 == int(col0) and row0 == int(row0)  # on the asset's pixel grid
        dn = src.read(1)[int(row0) : int(row0) + 96, int(col0) : int(col0) + 96]
        np.testing.assert_allclose(chip.read(1), dn * 0.0001 - 0.1, atol=1e-6)
    with rasterio.open(image.band_file("B11")) as chip, rasterio.open(folder / "B11.tif") as src:
        assert chip.transform == rasterio.open(image.band_file("B04")).transform
        values = chip.read(1).astype(np.float64).ravel()
        assert _all_among(values, src.read(1).ravel() * 0.0001 - 0.1)  # nearest neighbour
        assert len(set(values)) > 100


def test_change_pairs_share_the_chip_window(sample_reads: tuple[STACScenes, dict]) -> None:
    _, samples = sample_reads
    for first, second in (S2_PAIR, LANDSAT_PAIR):
        a, b = samples[first], samples[second]
        assert a.labels.properties["chip_grid"] == b.labels.properties["chip_grid"]
        assert a.footprint_wkt == b.footprint_wkt and a.acquired != b.acquired
        with rasterio.open(a.images[0].files[0]) as ca, rasterio.open(b.images[0].files[0]) as cb:
            assert ca.transform == cb.transform
    # The Landsat scenes' own grids differ (by whole pixels), the chips do not.
    t08 = sample_optical.landsat_transform(
        corpus.SCENES[4], sample_scene._utm(*sample_scene.CHIP_CENTER)
    )
    t09 = sample_optical.landsat_transform(
        corpus.SCENES[3], sample_scene._utm(*sample_scene.CHIP_CENTER)
    )
    assert t08 != t09
    assert (
        samples[S2_PAIR[0]].labels.properties["chip_grid"]
        == samples[S1_UNIT].labels.properties["chip_grid"]
    )
    groups = stac_grid.units_by_place(samples.values())
    assert sorted(map(sorted, groups.values())) == sorted(
        [
            sorted(f"stac:{u}" for u in LANDSAT_PAIR),
            sorted(f"stac:{u}" for u in (*S2_PAIR, S1_UNIT)),
        ]
    )


def test_landsat_surface_temperature_and_reflectance(
    sample_reads: tuple[STACScenes, dict],
) -> None:
    _, samples = sample_reads
    for unit in LANDSAT_PAIR:
        sample = samples[unit]
        image, thermal = sample.images
        assert sample.modality == "multispectral" and sample.gsd_m == 30.0
        assert image.bands == ("SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B6", "SR_B7")
        assert image.encoding == "reflectance" and image.display_bands == (
            "SR_B4",
            "SR_B3",
            "SR_B2",
        )
        assert thermal.role == "thermal" and thermal.bands == ("ST_B10",)
        assert thermal.encoding == "kelvin" and (thermal.width, thermal.height) == (64, 64)
        assert sample.bands == (*image.bands, "ST_B10")
        assert sample.tags["wrs_path_row"] == "033/032" and sample.licence == "USGS-Public-Domain"
        with rasterio.open(thermal.files[0]) as ds:
            kelvin = ds.read(1)
        centre, edge = kelvin[24:40, 24:40].mean(), kelvin[:8, :].mean()
        assert centre > edge + 3  # the town is a heat island
        assert 280 < kelvin.min() and kelvin.max() < 320
    assert samples[LANDSAT_PAIR[1]].sensor == "Landsat 9 OLI-2/TIRS-2"
    assert samples[LANDSAT_PAIR[0]].sensor == "Landsat 8 OLI/TIRS"
    summer = rasterio.open(samples[LANDSAT_PAIR[1]].images[1].files[0]).read(1)
    autumn = rasterio.open(samples[LANDSAT_PAIR[0]].images[1].files[0]).read(1)
    assert summer.mean() > autumn.mean() + 8


def test_s1_grd_is_calibrated_and_geocoded(
    sample_root: Path, sample_reads: tuple[STACScenes, dict], tmp_path: Path
) -> None:
    _, samples = sample_reads
    sample = samples[S1_UNIT]
    (image,) = sample.images
    assert sample.modality == "sar" and sample.sensor == "Sentinel-1 C-SAR"
    assert image.bands == ("VV", "VH") and image.encoding == "sar_linear"
    assert sample.crs == "EPSG:32613" and sample.gsd_m == 10.0
    tags = dict(sample.tags)
    assert tags["orbit_state"] == "ascending" and tags["polarisations"] == "VV+VH"
    assert tags["calibration"] == "sigma0" and tags["instrument_mode"] == "IW"
    sigma0 = rasterio.open(image.band_file("VV")).read(1)
    assert np.isfinite(sigma0).mean() > 0.99
    # Uncalibrated chips hold the DN: sigma0 = DN^2 / A^2 with A in the table's range.
    raw = STACScenes(sample_root, _options(tmp_path, s1_calibration="none"))
    (uncal,) = raw.read_unit(S1_UNIT)
    assert uncal.images[0].encoding == "float" and uncal.tags["calibration"] == "none"
    dn = rasterio.open(uncal.images[0].band_file("VV")).read(1)
    gain = np.sqrt(dn**2 / sigma0)
    _, _, table = sample_sar.sigma_nought_table("VV")
    assert table.min() - 0.5 < np.nanmin(gain) and np.nanmax(gain) < table.max() + 0.5
    # Geocoding from the GCPs: the bright town is at the chip centre; a wider chip reaches
    # the dark reservoir 700 m east (so east is not mirrored to west).
    assert sigma0[38:58, 38:58].mean() > 3 * sigma0[:12, :12].mean()
    wide = STACScenes(sample_root, _options(tmp_path / "w", chip_size={"sentinel-1-grd": 150}))
    vv = rasterio.open(wide.read_unit(S1_UNIT)[0].images[0].band_file("VV")).read(1)
    east, west = np.nanmean(vv[90:110, 135:150]), np.nanmean(vv[90:110, 0:15])
    assert 10 * math.log10(east) < -18 and 10 * math.log10(west) > -16


def test_bad_units_fail_with_their_kind(sample_root: Path, tmp_path: Path) -> None:
    adapter = STACScenes(sample_root, _options(tmp_path))
    for unit, kind in corpus.BAD_UNITS.items():
        with pytest.raises(SourceError) as err:
            adapter.read_unit(unit)
        assert err.value.kind == kind, (unit, err.value)
        assert unit.split("/")[1] in str(err.value)
    assert not (tmp_path / "sentinel-2-l2a/S2A_13TDE_20230729_0_L2A/chip.json").exists()


def test_scores_and_rendering_read_the_chips(sample_reads: tuple[STACScenes, dict]) -> None:
    _, samples = sample_reads
    for sample in samples.values():
        for image in sample.images:
            scores = image_scores(image, 0.02, 0.98)
            assert scores.valid_fraction >= 0.99
            assert 0.05 < scores.brightness < 0.8, (sample.sample_id, image.role, scores)
            rgb = render_rgb(image)
            assert rgb.shape == (3, image.height, image.width) and rgb.std() > 1


def test_chips_are_reused_and_a_fresh_process_needs_no_listing(
    sample_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = STACScenes(sample_root, _options(tmp_path))
    (first,) = adapter.read_unit(S2_PAIR[0])
    stamps = {f: Path(f).stat().st_mtime_ns for f in first.images[0].files}

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("chips were read again")

    monkeypatch.setattr(stac_chips, "_read_gridded", no_reading)
    fresh = STACScenes(sample_root, _options(tmp_path))  # no list_units()
    (again,) = fresh.read_unit(S2_PAIR[0])
    assert again == first
    assert {f: Path(f).stat().st_mtime_ns for f in again.images[0].files} == stamps
    other = STACScenes(sample_root, _options(tmp_path, chip_size=64))  # another window
    with pytest.raises(AssertionError, match="read again"):
        other.read_unit(S2_PAIR[0])


def test_crs_mismatch_and_unsupported_collection(sample_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(sample_root, root)
    path = _item_json(root, S2_PAIR[0])
    item = json.loads(path.read_text())
    item["properties"]["proj:epsg"] = 32614
    path.write_text(json.dumps(item))
    with pytest.raises(SourceError) as err:
        STACScenes(root, _options(tmp_path / "c")).read_unit(S2_PAIR[0])
    assert err.value.kind == "bad_metadata" and "EPSG:32614" in str(err.value)

    del item["properties"]["proj:epsg"]
    item["properties"]["proj:code"] = "EPSG:32613"  # projection extension v2
    path.write_text(json.dumps(item))
    (sample,) = STACScenes(root, _options(tmp_path / "d")).read_unit(S2_PAIR[0])
    assert sample.crs == "EPSG:32613"

    item["collection"] = "sentinel-2-l1c"
    path.write_text(json.dumps(item))
    adapter = STACScenes(root, _options(tmp_path / "e"))
    l1c = "sentinel-2-l1c/S2A_13TDE_20231008_0_L2A"
    assert l1c in adapter.list_units()
    with pytest.raises(SourceError) as err:
        adapter.read_unit(l1c)
    assert err.value.kind == "bad_metadata" and "not supported" in str(err.value)

    path.write_text('{"type": "Feature", "id": ')
    adapter = STACScenes(root, _options(tmp_path / "f"))
    units = adapter.list_units()
    assert S2_PAIR[0] in units
    with pytest.raises(SourceError) as err:
        adapter.read_unit(S2_PAIR[0])
    assert err.value.kind == "malformed_label"


def test_signer_is_applied_before_reading(sample_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "copy"
    shutil.copytree(sample_root, root)
    path = _item_json(root, S2_PAIR[1])
    item = json.loads(path.read_text())
    for asset in item["assets"].values():
        asset["href"] = "https://example.invalid/tiles/" + asset["href"][2:]
    path.write_text(json.dumps(item))
    seen: list[str] = []

    def fake_signer(href: str) -> str:
        seen.append(href)
        return str(path.parent / href.rsplit("/", 1)[1])

    stac_signing.register_signer("fake", fake_signer)
    try:
        (sample,) = STACScenes(root, _options(tmp_path / "c", sign="fake")).read_unit(S2_PAIR[1])
    finally:
        del stac_signing.SIGNERS["fake"]
    assert len(seen) >= 12 and all(h.startswith("https://example.invalid/") for h in seen)
    assert sample.images[0].width == 96
    with pytest.raises(ValueError, match="known signers"):
        STACScenes(root, _options(tmp_path, sign="fake"))


def test_planetary_computer_signing_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    pc = pytest.importorskip("planetary_computer")
    calls: list[str] = []

    class Response:
        def __init__(self, url: str) -> None:
            self.url = url

        def raise_for_status(self) -> None:
            pass

        def json(self) -> dict[str, str]:
            return {"token": "st=2024&se=2024&sig=abc", "msft:expiry": "2999-01-01T00:00:00Z"}

    class Session:
        def mount(self, prefix: str, adapter: object) -> None:
            pass

        def get(self, url: str, headers: object = None, timeout: object = None) -> Response:
            assert timeout == (10.0, 30.0)  # the token request has the adapter's timeout
            calls.append(url)
            return Response(url)

    monkeypatch.setattr(pc.sas.requests, "Session", Session)
    monkeypatch.setattr(pc.sas, "TOKEN_CACHE", {})
    href = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/60/V/UK/B04_10m.tif"
    assert sign_planetary_computer(href) == f"{href}?st=2024&se=2024&sig=abc"
    assert sign_planetary_computer(href.replace("B04", "B03")).endswith("sig=abc")
    assert [c.rsplit("/", 2)[1:] for c in calls] == [["sentinel2l2a01", "sentinel2-l2"]]  # cached
    assert sign_planetary_computer("s3://usgs-landsat/x.TIF") == "s3://usgs-landsat/x.TIF"
    assert sign_planetary_computer(f"{href}?already") == f"{href}?already"
    assert len(calls) == 1


def test_planetary_computer_signer_without_its_package(
    sample_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "planetary_computer", None)
    href = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/60/V/UK/B04_10m.tif"
    with pytest.raises(ImportError, match=r"eoinstruct\[planetary-computer\]"):
        sign_planetary_computer(href)
    assert sign_planetary_computer("s3://usgs-landsat/x.TIF") == "s3://usgs-landsat/x.TIF"
    with pytest.raises(ValueError, match="needs the planetary-computer package"):
        STACScenes(sample_root, _options(tmp_path, sign="planetary_computer"))


def test_options_are_checked(sample_root: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chips_dir"):
        STACScenes(sample_root, {"catalog": "catalog.json"})
    with pytest.raises(ValueError, match="only one"):
        STACScenes(sample_root, _options(tmp_path, api_url="http://127.0.0.1:9"))
    assert STACScenes(sample_root, {"chips_dir": str(tmp_path)}).opts.catalog == "catalog.json"
    with pytest.raises(ValueError, match="need api_url"):
        STACScenes(sample_root, _options(tmp_path, query={"eo:cloud_cover": {"lt": 10}}))
    with pytest.raises(ValueError, match="chip_center"):
        STACScenes(sample_root, _options(tmp_path, chip_center=[200, 0]))
    with pytest.raises(ValueError, match="unknown options"):
        STACScenes(sample_root, _options(tmp_path, chipsize=3))


def test_missing_root_or_catalog_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        STACScenes(tmp_path / "nope", {"catalog": "catalog.json", "chips_dir": str(tmp_path)})
    with pytest.raises(SourceNotFoundError, match=r"sources\.stac"):
        STACScenes(tmp_path, {"catalog": "catalog.json", "chips_dir": str(tmp_path)})


# --- real Earth Search / Planetary Computer items (peer data) ----------------------------


def _cassette_features(path: Path) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = []
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        try:
            body = json.loads(interaction["response"]["body"]["string"])
        except (TypeError, ValueError, KeyError):
            continue
        if isinstance(body, dict):
            features.extend(body.get("features", []))
    return features


def _cassette_collection(path: Path, cid: str) -> dict[str, Any]:
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        try:
            body = json.loads(interaction["response"]["body"]["string"])
        except (TypeError, ValueError, KeyError):
            continue
        if isinstance(body, dict) and body.get("type") == "Collection" and body["id"] == cid:
            return body
    raise KeyError(cid)


def _peer_items(peer: Path) -> dict[str, dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for name in ("sentinel-2-l2a-pc", "landsat-c2-l2-pc", "sentinel-1-rtc-pc"):
        items += json.loads((peer / GEOPARQUET / "data" / f"{name}.json").read_text())
    for path in (
        peer / CASSETTES / "test_item_search/test_multiple_collections.yaml",
        peer / CASSETTES / "test_cli/TestCLISearch.test_filter[inprocess].yaml",
        peer / CASSETTES / "test_client/test_fallback_strategy.yaml",
        peer / GEOPARQUET / "cassettes/test_stac_geoparquet/test_smoke[sentinel-1-grd].yaml",
    ):
        items += _cassette_features(path)
    return {f"{i['collection']}/{i['id']}": i for i in items}


@pytest.fixture(scope="module")
def peer_items(peer_data: Path) -> dict[str, dict[str, Any]]:
    return _peer_items(peer_data)


def test_real_earth_search_s2_item(peer_items: dict[str, dict[str, Any]]) -> None:
    item = peer_items["sentinel-2-l2a/S2A_13TDE_20231008_0_L2A"]
    choices = select_assets(item)
    assert [c.key for c in choices] == list(stac_assets.S2_ES_KEYS)
    assert [c.band for c in choices] == list(stac_assets.S2_BAND_ORDER)
    red = next(c for c in choices if c.key == "red")
    assert red.href.endswith("/S2A_13TDE_20231008_0_L2A/B04.tif")
    assert red.scaling == stac_assets.Scaling(0.0001, -0.1, 0.0)
    assert item_epsg(item) == 32613 and item_epsg(item, "red") == 32613
    tags = item_tags(item)
    assert tags["mgrs_tile"] == "T13TDE" and tags["platform"] == "Sentinel-2A"
    assert tags["cloud_cover"] == "clear" and tags["relative_orbit"] == "141"
    assert acquisition_times(item) == ("2023-10-08T18:02:55Z",)
    c1 = peer_items["sentinel-2-c1-l2a/S2B_T20EPT_20250731T131905_L2A"]
    assert [c.band for c in select_assets(c1)] == list(stac_assets.S2_BAND_ORDER)
    assert item_tags(c1)["mgrs_tile"] == "T20EPT" and item_tags(c1)["cloud_cover"] == "mostly clear"


def test_real_planetary_computer_s2_items(peer_items: dict[str, dict[str, Any]]) -> None:
    pc = [i for u, i in peer_items.items() if u.startswith("sentinel-2-l2a/S2B_MSIL2A")]
    assert len(pc) == 4
    for item in pc:
        choices = select_assets(item)
        assert [c.key for c in choices] == list(stac_assets.S2_BAND_ORDER)  # PC keys are bands
        assert all(c.band == c.key for c in choices)
        assert "raster:bands" not in item["assets"]["B04"]
        # Baseline 05.10: DN carries the +1000 offset; PC's items do not say so.
        assert item["properties"]["s2:processing_baseline"] == "05.10"
        assert all(c.scaling == stac_assets.Scaling(0.0001, -0.1, 0.0) for c in choices)
        assert item_tags(item)["mgrs_tile"] == f"T{item['properties']['s2:mgrs_tile']}"
        assert item_tags(item)["orbit_state"] == "ascending"
    xml = next(i for i in pc if i["id"].endswith("T47XML_20240419T123458"))
    assert item_epsg(xml) == 32647 and "proj:epsg" not in xml["assets"]["B04"]
    old = copy.deepcopy(xml)
    old["properties"]["s2:processing_baseline"] = "02.12"
    assert asset_scaling(old, "B04") == stac_assets.Scaling(0.0001, 0.0, 0.0)


def test_real_landsat_items(peer_items: dict[str, dict[str, Any]]) -> None:
    l2sp = peer_items["landsat-c2-l2/LC09_L2SP_089090_20240417_02_T1"]
    choices = {c.key: c for c in select_assets(l2sp)}
    assert [c.band for c in choices.values()] == [
        "SR_B1",
        "SR_B2",
        "SR_B3",
        "SR_B4",
        "SR_B5",
        "SR_B6",
        "SR_B7",
        "ST_B10",
    ]
    assert choices["lwir11"].role == "thermal"
    assert choices["lwir11"].scaling == stac_assets.Scaling(0.00341802, 149.0, 0.0)
    assert choices["red"].scaling == stac_assets.Scaling(2.75e-05, -0.2, 0.0)
    assert l2sp["assets"]["lwir11"]["gsd"] == 100 and l2sp["properties"]["gsd"] == 30
    assert item_epsg(l2sp) == 32655 and sensor_name(l2sp) == "Landsat 9 OLI-2/TIRS-2"
    assert (
        item_tags(l2sp)["wrs_path_row"] == "089/090" and item_tags(l2sp)["cloud_cover"] == "cloudy"
    )
    l2sr = peer_items["landsat-c2-l2/LC09_L2SR_084082_20250722_02_T1"]
    assert "lwir11" not in l2sr["assets"]
    assert [c.role for c in select_assets(l2sr)] == ["image"] * 7
    es = peer_items["landsat-c2-l2/LC08_L2SP_033032_20231008_02_T1"]
    assert es["assets"]["red"]["href"].startswith("s3://usgs-landsat/")
    assert [c.band for c in select_assets(es)][3] == "SR_B4"
    assert item_tags(es)["processing_level"] == "L2SP" and sensor_name(es) == "Landsat 8 OLI/TIRS"


def test_real_sentinel1_items(peer_items: dict[str, dict[str, Any]]) -> None:
    grd = peer_items[
        "sentinel-1-grd/S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E"
    ]
    (hh,) = select_assets(grd)
    assert hh.key == "hh" and hh.band == "HH" and hh.scaling == stac_assets.Scaling(1.0, 0.0, 0.0)
    assert hh.calibration_href.endswith("/annotation/calibration/calibration-iw-hh.xml")
    assert item_epsg(grd) == 4326  # ES says 4326; the GeoTIFF is in radar geometry
    tags = item_tags(grd)
    assert tags["orbit_state"] == "ascending" and tags["relative_orbit"] == "56"
    assert tags["polarisations"] == "HH" and tags["platform"] == "Sentinel-1A"
    assert "cloud_cover" not in tags
    pc_grd = peer_items[
        "sentinel-1-grd/S1A_IW_GRDH_1SDV_20250312T052236_20250312T052301_058267_073394"
    ]
    assert [c.band for c in select_assets(pc_grd)] == ["VV", "VH"]
    assert item_epsg(pc_grd) is None and item_tags(pc_grd)["orbit_state"] == "descending"
    no_time = copy.deepcopy(pc_grd)
    no_time["properties"]["datetime"] = None  # PC writes start/end with a space
    assert acquisition_times(no_time) == ("2025-03-12T05:22:36Z", "2025-03-12T05:23:01Z")
    rtc = peer_items[
        "sentinel-1-rtc/S1A_IW_GRDH_1SDV_20240419T045904_20240419T045916_053498_067DF2_rtc"
    ]
    choices = select_assets(rtc)
    assert [c.band for c in choices] == ["VV", "VH"]
    assert choices[0].scaling == stac_assets.Scaling(1.0, 0.0, -32768.0)
    assert rtc["assets"]["vv"]["raster:bands"][0]["data_type"] == "float32"
    assert item_epsg(rtc) == 32633 and item_tags(rtc)["product_type"] == "RTC"


def test_calibration_table_parsing() -> None:
    lut = parse_calibration(sample_sar.calibration_xml("VV", "2023-10-07T00:53:25Z"))
    lines, pixels, values = sample_sar.sigma_nought_table("VV")
    assert list(lut.lines) == lines and list(lut.pixels) == pixels
    np.testing.assert_allclose(lut.values, values, rtol=1e-6)
    mid = lut.at(np.array([20.0]), np.array([20.0]))
    np.testing.assert_allclose(mid, [[values[:2, :2].mean()]], rtol=1e-6)
    with pytest.raises(SourceError) as err:
        parse_calibration("<calibration><calibrationVectorList/>", "x.xml")
    assert err.value.kind == "bad_metadata" and "x.xml" in str(err.value)


# --- a real STAC API (stac-fastapi-pgstac) serving the real items -------------------------

CHIP = 16
"""Chip size of the API tests (pixels)."""

READ_UNITS: tuple[str, ...] = (
    "sentinel-2-l2a/S2A_13TDE_20231008_0_L2A",
    "sentinel-2-l2a/S2B_MSIL2A_20240419T095549_R122_T47XML_20240419T123458",
    "sentinel-2-c1-l2a/S2B_T20EPT_20250731T131905_L2A",
    "landsat-c2-l2/LC09_L2SP_089090_20240417_02_T1",
    "landsat-c2-l2/LC09_L2SR_084082_20250722_02_T1",
    "sentinel-1-rtc/S1A_IW_GRDH_1SDV_20240419T045904_20240419T045916_053498_067DF2_rtc",
    "sentinel-1-grd/S1A_IW_GRDH_1SSH_20250731T135702_20250731T135722_060328_077F7E",
    "sentinel-1-grd/S1A_IW_GRDH_1SDV_20250312T052236_20250312T052301_058267_073394",
)
"""Items whose chips the API test reads; their data assets point at local COGs."""


def _res_and_grid(item: dict[str, Any], key: str) -> tuple[float, Affine, int, int]:
    """Resolution, full-grid transform and shape of an asset, from its STAC fields."""
    asset = item["assets"][key]
    props = item["properties"]
    transform = asset.get("proj:transform") or props.get("proj:transform")
    shape = asset.get("proj:shape") or props.get("proj:shape")
    band = (asset.get("raster:bands") or [{}])[0]
    res = float(
        (asset.get("proj:transform") or [None])[0]
        or band.get("spatial_resolution")
        or asset.get("gsd")
        or transform[0]
    )
    full = Affine(*transform[:6])
    if full.a != res:  # e.g. an item-level 30 m grid for a 30 m asset: same origin
        full = Affine(res, 0, full.c, 0, -res, full.f)
        shape = [round(shape[0] * transform[0] / res), round(shape[1] * transform[0] / res)]
    return res, full, int(shape[0]), int(shape[1])


def _dn_pattern(index: int, dtype: str) -> np.ndarray:
    rows, cols = np.mgrid[0:32, 0:32]
    if dtype == "float32":
        return (0.05 + 0.001 * (rows + cols) + 0.01 * index).astype(np.float32)
    base = 44000 if index == 99 else 9000 + 300 * index
    return (base + 3 * rows + cols).astype(np.uint16)


def _localise(item: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Copy an item with its data assets pointed at small local COGs on its real grid."""
    item = copy.deepcopy(item)
    try:
        choices = select_assets(item)
    except SourceError:
        return item  # unsupported collection: hrefs stay remote, never read
    target = folder / item["collection"] / item["id"]
    target.mkdir(parents=True, exist_ok=True)
    family = stac_assets.collection_profile(item["collection"]).family
    for index, choice in enumerate(choices):
        asset = item["assets"][choice.key]
        path = target / Path(urlparse(choice.href).path).name
        if family == "s1grd":
            lon = (item["bbox"][0] + item["bbox"][2]) / 2
            lat = (item["bbox"][1] + item["bbox"][3]) / 2
            epsg = stac_grid._utm_epsg(lon, lat)
            (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
            sigma0 = np.full((sample_sar.GRD_SIZE, sample_sar.GRD_SIZE), 0.1)
            dn = sample_sar.grd_dn(sigma0, choice.band)
            sample_scene._write_cog(path, dn, None, 0, gcps=sample_sar.grd_gcps((x, y), epsg))
            xml = target / f"calibration-iw-{choice.key}.xml"
            xml.write_text(sample_sar.calibration_xml(choice.band, "2025-01-01T00:00:00Z"))
            item["assets"][f"schema-calibration-{choice.key}"]["href"] = str(xml)
        else:
            _, full, height, width = _res_and_grid(item, choice.key)
            col0, row0 = width // 2 - 16, height // 2 - 16
            transform = full @ Affine.translation(col0, row0)
            dtype = (asset.get("raster:bands") or [{}])[0].get("data_type", "uint16")
            data = _dn_pattern(99 if choice.role == "thermal" else index, dtype)
            if choice.key in ("red", "B04"):
                data[16, 16] = 0  # nodata in the middle of the chip
            sample_scene._write_cog(
                path, data, transform, None, crs=f"EPSG:{item_epsg(item, choice.key)}"
            )
        asset["href"] = str(path)
    return item


def _collections(peer: Path, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    landsat = _cassette_collection(
        peer / CASSETTES / "test_client/test_fallback_strategy.yaml", "landsat-c2-l2"
    )
    out = [landsat]
    for cid in sorted({i["collection"] for i in items} - {"landsat-c2-l2"}):
        out.append(
            {
                "type": "Collection",
                "stac_version": "1.0.0",
                "id": cid,
                "description": cid,
                "license": "proprietary",
                "links": [],
                "extent": {
                    "spatial": {"bbox": [[-180, -90, 180, 90]]},
                    "temporal": {"interval": [["2015-01-01T00:00:00Z", None]]},
                },
            }
        )
    return out


@pytest.fixture(scope="module")
def api(
    peer_data: Path, peer_items: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[stac_api.StacApi, dict[str, dict[str, Any]]]]:
    reason = stac_api.missing_reason()
    if reason is not None:
        if os.environ.get(stac_api.REQUIRE_ENV) == "1":
            pytest.fail(f"STAC API needed ({stac_api.REQUIRE_ENV}=1) but: {reason}")
        pytest.skip(f"no STAC API here: {reason}")
    folder = tmp_path_factory.mktemp("api_assets")
    local = {
        u: _localise(i, folder) if u in READ_UNITS else copy.deepcopy(i)
        for u, i in peer_items.items()
    }
    with stac_api.running_stac_api(
        _collections(peer_data, list(local.values())), local.values()
    ) as running:
        print(f"\nSTAC API ready in {running.setup_s:.1f} s: {running.timings}")
        yield running, local


def test_api_helper_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(stac_api, "PG_ROOT", tmp_path / "no-postgres")
    reason = stac_api.missing_reason()
    assert reason is not None and "postgresql-15-postgis-3" in reason
    with pytest.raises(RuntimeError, match="no PostgreSQL"):
        with stac_api.running_stac_api([], []):
            pass


def _api_options(running: stac_api.StacApi, chips: Path, **extra: Any) -> dict[str, Any]:
    return {"api_url": running.url, "chips_dir": str(chips), "chip_size": CHIP, **extra}


def test_api_search_bbox_datetime(api: tuple, tmp_path: Path) -> None:
    running, local = api
    bbox = [148.0, -41.5, 149.0, -40.5]
    adapter = STACScenes(
        tmp_path,
        _api_options(
            running, tmp_path, collections=["landsat-c2-l2"], bbox=bbox, datetime="2024-04-17"
        ),
    )
    expected = sorted(
        u
        for u, i in local.items()
        if i["collection"] == "landsat-c2-l2"
        and i["properties"]["datetime"].startswith("2024-04-17")
        and shapely.geometry.shape(i["geometry"]).intersects(shapely.box(*bbox))
    )
    assert 1 < len(expected) < 4  # the bbox picks some of the 4 scenes of path 089
    assert adapter.list_units() == expected
    for unit in expected:  # found items are kept for other processes
        cached = json.loads((tmp_path / unit / "item.json").read_text())
        assert cached["id"] == unit.split("/")[1] and cached["collection"] == "landsat-c2-l2"
        assert cached["assets"]["red"]["href"] == local[unit]["assets"]["red"]["href"]


@pytest.mark.filterwarnings("ignore:Server does not conform to SORT")
def test_api_filter_sortby_paging(api: tuple, tmp_path: Path) -> None:
    running, local = api
    before = running.request_count("POST", "/search")
    adapter = STACScenes(
        tmp_path,
        _api_options(
            running,
            tmp_path,
            filter={"op": "lte", "args": [{"property": "eo:cloud_cover"}, 10]},
            sortby=[{"field": "properties.eo:cloud_cover", "direction": "asc"}],
            limit=2,
            max_items=5,
        ),
    )
    units = adapter.list_units()
    clear = sorted(
        (i["properties"]["eo:cloud_cover"], u)
        for u, i in local.items()
        if i["properties"].get("eo:cloud_cover") is not None
        and i["properties"]["eo:cloud_cover"] <= 10
    )
    assert units == sorted(u for _, u in clear[:5])
    assert "sentinel-2-l2a/S2A_13TDE_20231008_0_L2A" in units
    assert running.request_count("POST", "/search") - before >= 3  # pages of 2 items
    unsupported = [u for u in units if u.startswith("sentinel-2-l1c/")]
    assert unsupported  # ES L1C item with cloud cover 0
    with pytest.raises(SourceError) as err:
        adapter.read_unit(unsupported[0])
    assert err.value.kind == "bad_metadata"


def test_api_query_extension(api: tuple, tmp_path: Path) -> None:
    running, local = api
    adapter = STACScenes(
        tmp_path,
        _api_options(
            running,
            tmp_path,
            collections=["sentinel-2-l2a"],
            query={"eo:cloud_cover": {"lt": 1}},
        ),
    )
    expected = sorted(
        u
        for u, i in local.items()
        if i["collection"] == "sentinel-2-l2a" and i["properties"]["eo:cloud_cover"] < 1
    )
    assert len(expected) == 5 and adapter.list_units() == expected


def test_api_chips_of_real_items(api: tuple, tmp_path: Path) -> None:
    running, local = api
    units = list(READ_UNITS)
    adapter = STACScenes(tmp_path, _api_options(running, tmp_path / "chips"))  # no search
    for unit in units:
        (sample,) = adapter.read_unit(unit)
        item = local[unit]
        assert (tmp_path / "chips" / unit / "item.json").is_file()  # fetched by id, kept
        assert geolocation_problem(sample) == "" and count_tag_fields(sample) == 0
        for image in sample.images:
            assert (image.width, image.height) == (CHIP, CHIP)
            assert all(Path(f).parent == tmp_path / "chips" / unit for f in image.files)
            assert image_scores(image, 0.02, 0.98).valid_fraction > 0.99
        first = sample.images[0]
        with rasterio.open(first.files[0]) as chip:
            values = chip.read(1)
            assert chip.crs.to_string() == sample.crs
        if sample.modality == "sar" and unit.startswith("sentinel-1-grd"):
            assert first.encoding == "sar_linear"
            np.testing.assert_allclose(np.nanmedian(values), 0.1, rtol=0.05)
            lon, lat = shapely.from_wkt(sample.footprint_wkt).centroid.coords[0]
            assert shapely.box(*item["bbox"]).contains(shapely.Point(lon, lat))
            continue
        choice = select_assets(item)[0]
        res, _, _, _ = _res_and_grid(item, choice.key)
        assert sample.gsd_m == min(_res_and_grid(item, c.key)[0] for c in select_assets(item))
        assert sample.crs == f"EPSG:{item_epsg(item)}"
        with rasterio.open(choice.href) as src:
            scale, offset = choice.scaling.scale, choice.scaling.offset
            physical = src.read(1).astype(np.float64) * scale + offset
            if res == sample.gsd_m:
                col0, row0 = ~src.transform @ (chip.transform.c, chip.transform.f)
                expected = physical[int(row0) : int(row0) + CHIP, int(col0) : int(col0) + CHIP]
                np.testing.assert_allclose(values, expected, rtol=1e-6)
            else:
                assert _all_among(values.astype(np.float64).ravel(), physical.ravel())
        if any(c.key in ("red", "B04") for c in select_assets(item)):
            red = next(im for im in sample.images if im.role == "image")
            band = "B04" if "B04" in red.bands else "SR_B4"
            assert np.isnan(rasterio.open(red.band_file(band)).read(1)).sum() >= 1
    landsat = adapter.read_unit(units[3])[0]
    assert [im.role for im in landsat.images] == ["image", "thermal"]
    kelvin = rasterio.open(landsat.images[1].files[0]).read(1)
    assert 290 < np.nanmean(kelvin) < 310
    assert [im.role for im in adapter.read_unit(units[4])[0].images] == ["image"]
    rtc = adapter.read_unit(units[5])[0]
    assert rtc.images[0].encoding == "sar_linear" and rtc.crs == "EPSG:32633"
    # Another process, with the API gone: the kept item.json and chips are enough.
    dead = {**_api_options(running, tmp_path / "chips"), "api_url": "http://127.0.0.1:9"}
    offline = STACScenes(tmp_path, dead)
    assert offline.read_unit(units[0]) == adapter.read_unit(units[0])
