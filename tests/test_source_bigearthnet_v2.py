"""Tests of the BigEarthNet v2.0 (reBEN) adapter and its sample-corpus writer.

Synthetic data: the writer's corpus (``sources/bigearthnet_v2/sample.py``) and
torchgeo's layout fixture. Real data: the reBEN patches of rico-hdl (peer data §6) and the
real snow/cloud companion table of kai-tub/bigearthnet-pipeline (peer data §7).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.records import sample_from_row, sample_to_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES
from eoinstruct.sources.bigearthnet_v1.sample import patch_corners
from eoinstruct.sources.bigearthnet_v2 import sample as corpus
from eoinstruct.sources.bigearthnet_v2.adapter import BigEarthNetV2
from eoinstruct.sources.bigearthnet_v2.metadata import METADATA_FILE, SNOW_CLOUD_FILE, read_metadata
from eoinstruct.sources.bigearthnet_v2.patches import (
    mgrs_tile,
    reference_map_path,
    s1_patch_folder,
    s2_patch_folder,
)
from eoinstruct.sources.bigearthnet_v2.shares import reference_map_shares

SEED = 5
S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
GOOD_S2 = [f"s2/{p.patch_id}" for p in corpus.PATCHES if p.patch_id != corpus.BAD_MISSING_B8A]
GOOD_S1 = [f"s1/{p.s1_name}" for p in corpus.PATCHES]  # the truncated one ingests
UPPER_AUSTRIA = box(13.2, 48.1, 13.9, 48.5)
# Filter thresholds of params.yaml (README, "Filter thresholds").
BRIGHTNESS = {"reflectance_1e4": (0.005, 0.5), "sar_db": (0.05, 0.95)}

TORCHGEO = "microsoft__torchgeo/tests/data/bigearthnet/v2"
RICO = "rsim-tu-berlin__rico-hdl/integration_tests/tiffs/BigEarthNet"
COMPANION = (
    "kai-tub__bigearthnet-pipeline/tracked-artifacts/"
    "metadata_for_patches_with_snow_cloud_or_shadow.parquet"
)
RICO_S2 = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_75_43"
RICO_S1 = "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_70_48"
RICO_MAP = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ben_v2") / "data"
    corpus.write(root, SEED)
    return root


@pytest.fixture
def copy_root(sample_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "copy"
    shutil.copytree(sample_root, root)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _rows(root: Path, name: str = METADATA_FILE) -> list[dict]:
    return pq.read_table(root / name).to_pylist()


def _write_rows(root: Path, rows: list[dict], schema: pa.Schema = corpus.METADATA_SCHEMA) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), root / METADATA_FILE)


def _corner_footprint(epsg: int, left: float, bottom: float, right: float, top: float) -> Polygon:
    xs, ys = [left, right, right, left], [top, top, bottom, bottom]
    lons, lats = warp_transform(f"EPSG:{epsg}", "EPSG:4326", xs, ys)
    return orient(Polygon(zip(lons, lats, strict=True)))


def _kind(adapter: BigEarthNetV2, unit: str) -> str:
    with pytest.raises(SourceError) as info:
        adapter.read_unit(unit)
    assert info.value.unit == unit
    return info.value.kind


# --- the sample-corpus writer --------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    first, second = _files(sample_root), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    corpus.write(tmp_path / "other", SEED + 1)
    other = _files(tmp_path / "other")
    assert sorted(other) == sorted(first)
    assert all(other[n] != first[n] for n in first if n.endswith(("_B08.tif", "_VH.tif")))


def test_writer_layout_and_rasters(sample_root: Path) -> None:
    files = _files(sample_root)
    assert 1_000_000 < sum(len(b) for b in files.values()) < 1_500_000
    tile_dir = sample_root / "BigEarthNet-S2" / corpus.S2_TILE
    assert sorted(p.name for p in tile_dir.iterdir()) == sorted(
        p.patch_id for p in (*corpus.PATCHES, corpus.SNOW_CLOUD_PATCH)
    )
    assert [p.name for p in (sample_root / "BigEarthNet-S1").iterdir()] == [corpus.S1_SCENE]
    assert len(files) == 5 * (12 + 2 + 1) - 1 + 2  # one B8A missing; two Parquet files

    spec = corpus.PATCHES[0]
    assert spec.patch_id == "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_62_44"
    assert spec.s1_name == "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_62_44"
    ulx, uly, lrx, lry = patch_corners(62, 44)
    expected_px = {10: 120, 20: 60, 60: 20}
    for band in S2_BANDS:
        path = tile_dir / spec.patch_id / f"{spec.patch_id}_{band}.tif"
        with rasterio.open(path) as ds:
            res = round(ds.res[0])
            assert (ds.width, ds.height) == (expected_px[res], expected_px[res])
            assert ds.dtypes[0] == "uint16" and ds.nodata == 0 and ds.crs.to_epsg() == 32633
            assert ds.profile.get("compress") is None and not ds.profile["tiled"]
            assert tuple(ds.bounds) == (ulx, lry, lrx, uly)
            data = ds.read(1)
            assert 150 <= data.min() < data.max() <= 4000
    with (
        rasterio.open(tile_dir / spec.patch_id / f"{spec.patch_id}_B08.tif") as nir,
        rasterio.open(tile_dir / spec.patch_id / f"{spec.patch_id}_B04.tif") as red,
    ):
        assert nir.read(1).mean() > 2 * red.read(1).mean()
    s1 = s1_patch_folder(sample_root, spec.s1_name)
    for band in ("VV", "VH"):
        with rasterio.open(s1 / f"{spec.s1_name}_{band}.tif") as ds:
            data = ds.read(1)
            assert ds.dtypes[0] == "float32" and ds.nodata is None and ds.shape == (120, 120)
            assert tuple(ds.bounds) == (ulx, lry, lrx, uly)
            assert -35 < data.min() < data.mean() < data.max() < 5

    rows = _rows(sample_root)
    assert [r["patch_id"] for r in rows] == sorted(p.patch_id for p in corpus.PATCHES)
    assert pq.read_schema(sample_root / METADATA_FILE) == corpus.METADATA_SCHEMA
    assert pq.read_metadata(sample_root / METADATA_FILE).metadata is None  # no pandas/Arrow
    for row in rows:
        ref = reference_map_path(sample_root, row["patch_id"])
        with rasterio.open(ref) as ds:
            codes = ds.read(1)
            assert ds.dtypes[0] == "uint16" and ds.nodata == 0 and ds.shape == (120, 120)
            assert ds.profile["compress"] == "deflate"
            assert ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "2"
        assert row["labels"] == corpus.labels_of(codes) == sorted(row["labels"])
        assert row["country"] == "Austria" and row["contains_cloud_or_shadow"] is False
        assert row["s2v1_name"] == "S2A_MSIL2A_20170613T101031_" + row["patch_id"][-5:]
    first_map = reference_map_path(sample_root, spec.patch_id)
    with rasterio.open(first_map) as ds:
        codes = ds.read(1)
    assert (codes == 999).sum() == 120 and (codes == 122).sum() > 100  # no 19-class equivalent
    assert set(np.unique(codes)) == {112, 122, 211, 231, 311, 999}

    (flagged,) = _rows(sample_root, SNOW_CLOUD_FILE)
    assert flagged["patch_id"].endswith("_T33UUP_73_64")
    assert (flagged["contains_seasonal_snow"], flagged["contains_cloud_or_shadow"]) == (
        False,
        True,
    )


def test_writer_bad_units(sample_root: Path) -> None:
    assert set(corpus.BAD_UNITS) == {
        f"s2/{corpus.BAD_MISSING_B8A}",
        f"s1/{corpus.BAD_TRUNCATED_S1}",
    }
    folder = s2_patch_folder(sample_root, corpus.BAD_MISSING_B8A)
    assert sorted(p.name[-7:-4] for p in folder.iterdir()) == sorted(
        b for b in S2_BANDS if b != "B8A"
    )
    vv = s1_patch_folder(sample_root, corpus.BAD_TRUNCATED_S1) / (
        f"{corpus.BAD_TRUNCATED_S1}_VV.tif"
    )
    vh = vv.with_name(vv.name.replace("_VV", "_VH"))
    assert vv.stat().st_size == vh.stat().st_size // 2
    with rasterio.open(vv) as ds:  # the header survives, the pixels do not
        assert ds.crs.to_epsg() == 32633
        with pytest.raises(rasterio.errors.RasterioIOError):
            ds.read(1)


# --- the adapter on the sample corpus ------------------------------------------------------


def test_lists_units(sample_root: Path) -> None:
    units = BigEarthNetV2(sample_root).list_units()
    assert units == sorted(GOOD_S1 + [f"s2/{p.patch_id}" for p in corpus.PATCHES])
    assert not any("_73_64" in u for u in units)  # the snow/cloud patch is left out
    with_flagged = BigEarthNetV2(sample_root, {"include_snow_cloud": True}).list_units()
    assert sorted(set(with_flagged) - set(units)) == [
        f"s1/{corpus.SNOW_CLOUD_PATCH.s1_name}",
        f"s2/{corpus.SNOW_CLOUD_PATCH.patch_id}",
    ]
    only_s1 = BigEarthNetV2(sample_root, {"sensors": ["s1"]}).list_units()
    assert only_s1 == sorted(GOOD_S1)


def test_reads_good_s2_patches(sample_root: Path) -> None:
    adapter = BigEarthNetV2(sample_root)
    rows = {r["patch_id"]: r for r in _rows(sample_root)}
    samples = [s for u in GOOD_S2 for s in adapter.read_unit(u)]
    assert len(samples) == 3
    for sample in samples:
        row = rows[sample.native_id]
        spec = next(p for p in corpus.PATCHES if p.patch_id == sample.native_id)
        image = sample.image("image")
        assert sample.sample_id == f"bigearthnet_v2:{row['patch_id']}"
        assert sample.modality == "multispectral" and sample.sensor == "Sentinel-2 MSI"
        assert sample.bands == image.bands == S2_BANDS
        assert [Path(f).name for f in image.files] == [f"{spec.patch_id}_{b}.tif" for b in S2_BANDS]
        assert all(
            Path(f).parent == s2_patch_folder(sample_root, spec.patch_id) for f in image.files
        )
        assert image.encoding == "reflectance_1e4" and (image.width, image.height) == (120, 120)
        assert image.display_bands == ("B04", "B03", "B02")
        assert sample.crs == "EPSG:32633" and sample.gsd_m == 10.0
        footprint = shapely.from_wkt(sample.footprint_wkt)
        ulx, uly, lrx, lry = patch_corners(spec.x, spec.y)
        assert footprint.equals_exact(_corner_footprint(32633, ulx, lry, lrx, uly), 1e-6)
        assert UPPER_AUSTRIA.contains(footprint) and footprint.exterior.is_ccw
        assert sample.labels.scheme == "ben19"
        assert sample.labels.classes == tuple(row["labels"])
        assert dict(sample.labels.rasters) == {
            "reference_map": str(reference_map_path(sample_root, spec.patch_id))
        }
        shares = json.loads(sample.labels.properties["class_shares"])
        assert shares == reference_map_shares(reference_map_path(sample_root, spec.patch_id))
        assert abs(sum(shares.values()) - 1) < 0.005
        assert dict(sample.labels.properties) == {
            "contains_seasonal_snow": "false",
            "contains_cloud_or_shadow": "false",
            "class_shares": sample.labels.properties["class_shares"],
        }
        assert sample.split == spec.split and sample.licence == "CDLA-Permissive-1.0"
        assert sample.acquired == ("2017-06-13T10:10:31Z",)
        assert sample_from_row(sample_to_row(sample)) == sample
    first = samples[0]
    assert first.native_id.endswith("_62_44")
    assert dict(first.tags) == {
        "platform": "Sentinel-2A",
        "processing_level": "L2A",
        "mgrs_tile": "T33UUP",
        "relative_orbit": "22",
        "country": "Austria",
        "s2v1_name": "S2A_MSIL2A_20170613T101031_62_44",
        "paired_s1_patch": "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_62_44",
    }
    assert first.labels.classes == (
        "Arable land",
        "Broad-leaved forest",
        "Pastures",
        "Urban fabric",
    )
    assert samples_table(samples).num_rows == 3


def test_reads_good_s1_patches(sample_root: Path) -> None:
    adapter = BigEarthNetV2(sample_root)
    for unit in GOOD_S1:
        (sample,) = adapter.read_unit(unit)
        image = sample.image("image")
        spec = next(p for p in corpus.PATCHES if p.s1_name == sample.native_id)
        assert sample.modality == "sar" and sample.sensor == "Sentinel-1 C-SAR"
        assert sample.bands == ("VV", "VH") and image.encoding == "sar_db"
        assert image.display_bands == ("VV", "VH") and (image.width, image.height) == (120, 120)
        assert [Path(f).name for f in image.files] == [
            f"{spec.s1_name}_VV.tif",
            f"{spec.s1_name}_VH.tif",
        ]
        assert sample.acquired == ("2017-06-13T16:50:43Z",)
        assert sample.split == spec.split and sample.crs == "EPSG:32633"
        ulx, uly, lrx, lry = patch_corners(spec.x, spec.y)
        assert shapely.from_wkt(sample.footprint_wkt).equals_exact(
            _corner_footprint(32633, ulx, lry, lrx, uly), 1e-6
        )
        assert sample.labels.rasters == {} and sample.labels.scheme == "ben19"
        assert dict(sample.tags) == {
            "platform": "Sentinel-1A",
            "instrument_mode": "IW",
            "product_type": "GRD",
            "polarisations": "VV+VH",
            "paired_s2_patch": spec.patch_id,
            "mgrs_tile": "T33UUP",
            "country": "Austria",
        }
        # the class shares of the row's reference map, whose grid the S1 patch shares
        shares = reference_map_shares(reference_map_path(sample_root, spec.patch_id))
        assert json.loads(sample.labels.properties["class_shares"]) == shares
        if spec.patch_id != corpus.BAD_MISSING_B8A:
            (s2,) = adapter.read_unit(f"s2/{spec.patch_id}")
            assert s2.footprint_wkt == sample.footprint_wkt and s2.labels.classes == (
                sample.labels.classes
            )
            assert s2.labels.properties["class_shares"] == sample.labels.properties["class_shares"]


def test_bad_units_fail_as_stated(sample_root: Path) -> None:
    adapter = BigEarthNetV2(sample_root)
    missing = f"s2/{corpus.BAD_MISSING_B8A}"
    assert _kind(adapter, missing) == "missing_band"
    with pytest.raises(SourceError, match=r"B8A"):
        adapter.read_unit(missing)
    (truncated,) = adapter.read_unit(f"s1/{corpus.BAD_TRUNCATED_S1}")  # metadata-only ingest
    assert truncated.footprint_wkt and truncated.crs == "EPSG:32633"
    with pytest.raises(RasterReadError) as info:
        image_scores(truncated.image("image"), 0.02, 0.98)
    assert info.value.kind == "corrupt_raster" and "_VV.tif" in str(info.value)


def test_good_units_pass_the_filter_and_render(sample_root: Path) -> None:
    adapter = BigEarthNetV2(sample_root, {"include_snow_cloud": True})
    good = [u for u in adapter.list_units() if u not in corpus.BAD_UNITS]
    assert len(good) == 8
    for unit in good:
        (sample,) = adapter.read_unit(unit)
        image = sample.image("image")
        # label fields only: its classes (metadata never counts; OSM tags come at enrich)
        assert count_tag_fields(sample) == len(set(sample.labels.classes)) >= 1
        assert geolocation_problem(sample) == ""
        scores = image_scores(image, 0.02, 0.98)
        low, high = BRIGHTNESS[image.encoding]
        assert scores.valid_fraction == 1.0 and low < scores.brightness < high, unit
        rgb = render_rgb(image)
        assert rgb.shape == (3, 120, 120) and rgb.dtype == np.uint8
        assert 20 < rgb.mean() < 200 and rgb.std() > 5


def test_snow_cloud_option(sample_root: Path, copy_root: Path) -> None:
    adapter = BigEarthNetV2(sample_root, {"include_snow_cloud": True})
    spec = corpus.SNOW_CLOUD_PATCH
    (s2,) = adapter.read_unit(f"s2/{spec.patch_id}")
    (s1,) = adapter.read_unit(f"s1/{spec.s1_name}")
    for sample in (s2, s1):
        assert sample.tags["contains_cloud_or_shadow"] == "true"
        assert "contains_seasonal_snow" not in sample.tags
        assert {k: v for k, v in sample.labels.properties.items() if k != "class_shares"} == {
            "contains_seasonal_snow": "false",
            "contains_cloud_or_shadow": "true",
        }
        assert sample.split == "validation"
    assert s2.labels.classes == (  # the labels of the real companion row …_73_64
        "Arable land",
        "Coniferous forest",
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
        "Pastures",
        "Urban fabric",
    )
    # Without the option, the patch is not listed and reading it by name fails.
    assert _kind(BigEarthNetV2(sample_root), f"s2/{spec.patch_id}") == "bad_metadata"
    # A flagged row inside metadata.parquet is left out too.
    rows = _rows(copy_root)
    rows[0]["contains_seasonal_snow"] = True
    _write_rows(copy_root, rows)
    assert f"s2/{rows[0]['patch_id']}" not in BigEarthNetV2(copy_root).list_units()
    flagged = BigEarthNetV2(copy_root, {"include_snow_cloud": True})
    assert flagged.read_unit(f"s2/{rows[0]['patch_id']}")[0].tags["contains_seasonal_snow"] == (
        "true"
    )
    (copy_root / SNOW_CLOUD_FILE).unlink()
    with pytest.raises(SourceNotFoundError, match=r"snow_cloud_or_shadow.*params\.yaml"):
        BigEarthNetV2(copy_root, {"include_snow_cloud": True})
    assert len(BigEarthNetV2(copy_root).list_units()) == 6
    with pytest.raises(ValueError, match="include_snow_cloud"):
        BigEarthNetV2(copy_root, {"include_snow_cloud": "yes"})


def test_row_errors(copy_root: Path) -> None:
    original = _rows(copy_root)
    unit = f"s2/{original[0]['patch_id']}"
    s1_unit = f"s1/{original[0]['s1_name']}"

    def kind_after(edit: object, which: str = unit) -> str:
        rows = [dict(r) for r in original]
        edit(rows[0])  # type: ignore[operator]
        _write_rows(copy_root, rows)
        return _kind(BigEarthNetV2(copy_root), which)

    assert kind_after(lambda r: r.update(labels=["Arable land", "Lava fields"])) == (
        "malformed_label"
    )
    assert kind_after(lambda r: r.update(labels=None)) == "malformed_label"
    assert kind_after(lambda r: r.update(labels=[]), s1_unit) == "malformed_label"
    assert kind_after(lambda r: r.update(split="holdout")) == "bad_metadata"
    duplicate = f"s1/{original[1]['s1_name']}"
    assert kind_after(lambda r: r.update(s1_name=original[1]["s1_name"]), duplicate) == (
        "bad_metadata"
    )  # that S1 name is now in two rows
    assert kind_after(lambda r: r.update(patch_id=r["patch_id"] + "x")) == "bad_metadata"
    rows = [dict(r) for r in original]
    rows[0]["labels"] = ["Lava fields"]
    _write_rows(copy_root, rows)
    with pytest.raises(SourceError, match=r"metadata\.parquet: row .*_62_44.*Lava fields"):
        BigEarthNetV2(copy_root).read_unit(unit)
    # An S1 name whose position differs from its S2 patch: its labels would not apply.
    swapped = original[1]["s1_name"]
    rows = [dict(r) for r in original]
    rows[0]["s1_name"], rows[1]["s1_name"] = swapped, original[0]["s1_name"]
    _write_rows(copy_root, rows)
    with pytest.raises(SourceError, match="another tile or position") as info:
        BigEarthNetV2(copy_root).read_unit(f"s1/{swapped}")
    assert info.value.kind == "bad_metadata"
    # Split "val" and a null country are accepted.
    rows = [dict(r) for r in original]
    rows[0].update(split="val", country=None)
    _write_rows(copy_root, rows)
    (sample,) = BigEarthNetV2(copy_root).read_unit(unit)
    assert sample.split == "validation" and "country" not in sample.tags


def test_file_and_header_errors(copy_root: Path) -> None:
    rows = _rows(copy_root)
    patch_id, s1_name = rows[0]["patch_id"], rows[0]["s1_name"]
    unit, s1_unit = f"s2/{patch_id}", f"s1/{s1_name}"
    adapter = BigEarthNetV2(copy_root)
    b02 = s2_patch_folder(copy_root, patch_id) / f"{patch_id}_B02.tif"
    good_b02 = b02.read_bytes()

    with rasterio.open(b02) as ds:
        data, profile = ds.read(1), ds.profile
    profile.update(crs="EPSG:32632")  # wrong UTM zone for tile T33UUP
    with rasterio.open(b02, "w", **profile) as dst:
        dst.write(data, 1)
    with pytest.raises(SourceError, match=r"EPSG:32632.*T?33UUP.*EPSG:32633") as info:
        adapter.read_unit(unit)
    assert info.value.kind == "bad_metadata"
    profile.update(crs="EPSG:32633", transform=Affine(10, 0, 300000, 0, -10, 1200))
    with rasterio.open(b02, "w", **profile) as dst:  # right zone, equator: outside band U
        dst.write(data, 1)
    assert _kind(adapter, unit) == "bad_metadata"
    b02.write_bytes(b"not a tiff")
    assert _kind(adapter, unit) == "corrupt_raster"
    b02.write_bytes(good_b02)
    assert adapter.read_unit(unit)[0].crs == "EPSG:32633"

    ref = reference_map_path(copy_root, patch_id)
    ref.unlink()
    assert _kind(adapter, unit) == "missing_file"
    shutil.rmtree(copy_root / "Reference_Maps")  # maps not downloaded: no raster label
    assert adapter.read_unit(unit)[0].labels.rasters == {}
    (s2_patch_folder(copy_root, patch_id) / f"{patch_id}_B03.tif").unlink()
    assert _kind(adapter, unit) == "missing_band"
    shutil.rmtree(s2_patch_folder(copy_root, patch_id))
    assert _kind(adapter, unit) == "missing_file"
    shutil.rmtree(s1_patch_folder(copy_root, s1_name))
    assert _kind(adapter, s1_unit) == "missing_file"
    assert _kind(adapter, "s2/S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_1_1") == "bad_metadata"
    with pytest.raises(ValueError, match="bad unit id"):
        adapter.read_unit("s3/whatever")


def test_metadata_table_errors(copy_root: Path, tmp_path: Path) -> None:
    rows = _rows(copy_root)
    table = pa.Table.from_pylist(rows, schema=corpus.METADATA_SCHEMA)
    pq.write_table(table.drop_columns(["labels"]), copy_root / METADATA_FILE)
    with pytest.raises(SourceNotFoundError, match=r"\['labels'\]"):
        BigEarthNetV2(copy_root)
    joined = table.set_column(
        1, "labels", pa.array(["; ".join(r["labels"]) for r in rows], pa.string())
    )
    pq.write_table(joined, copy_root / METADATA_FILE)
    with pytest.raises(SourceNotFoundError, match=r"'labels' is string, expected list<string>"):
        BigEarthNetV2(copy_root)
    (copy_root / METADATA_FILE).write_bytes(b"PAR1 but not really")
    with pytest.raises(SourceNotFoundError, match="cannot be read as Parquet"):
        BigEarthNetV2(copy_root)
    # The four columns of torchgeo's fixture are enough.
    pq.write_table(
        table.select(["patch_id", "s1_name", "split", "labels"]), copy_root / METADATA_FILE
    )
    (sample,) = BigEarthNetV2(copy_root).read_unit(f"s2/{rows[0]['patch_id']}")
    assert "country" not in sample.tags and set(sample.labels.properties) == {"class_shares"}
    assert read_metadata(copy_root / METADATA_FILE).column_names == [
        "patch_id",
        "labels",
        "split",
        "s1_name",
    ]


def test_missing_root_and_layout(sample_root: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        BigEarthNetV2(tmp_path / "nowhere")
    with pytest.raises(
        SourceNotFoundError, match=r"metadata\.parquet does not exist.*params\.yaml"
    ):
        BigEarthNetV2(tmp_path)
    shutil.copy(sample_root / METADATA_FILE, tmp_path / METADATA_FILE)
    with pytest.raises(SourceNotFoundError, match=r"BigEarthNet-S2/ and/or BigEarthNet-S1/"):
        BigEarthNetV2(tmp_path)
    (tmp_path / "BigEarthNet-S1").mkdir()
    assert len(BigEarthNetV2(tmp_path).list_units()) == 4  # only the S1 half is there
    with pytest.raises(SourceNotFoundError, match=r"BigEarthNet-S2/"):
        BigEarthNetV2(tmp_path, {"sensors": ["s2"]})
    with pytest.raises(ValueError, match="sensors"):
        BigEarthNetV2(tmp_path, {"sensors": ["s2", "landsat"]})


def test_unit_files_and_pickling(sample_root: Path) -> None:
    import pickle

    adapter = BigEarthNetV2(sample_root)
    unit = GOOD_S2[0]
    patch_id = unit[3:]
    files = adapter.unit_files(unit)
    assert len(files) == 14
    assert reference_map_path(sample_root, patch_id) in files
    assert sample_root / METADATA_FILE in files
    s1_files = adapter.unit_files(GOOD_S1[0])
    assert [p.name[-6:] for p in s1_files[:2]] == ["VH.tif", "VV.tif"] and len(s1_files) == 4
    assert reference_map_path(sample_root, corpus.PATCHES[0].patch_id) in s1_files
    assert adapter.unit_files("s9/x") == []
    adapter.list_units()
    clone = pickle.loads(pickle.dumps(adapter))
    assert clone._index is None and clone.read_unit(unit) == adapter.read_unit(unit)


def test_mgrs_tile() -> None:
    assert mgrs_tile("T33UUP").epsg == 32633
    tile = mgrs_tile("29UPU")
    assert (tile.zone, tile.north, tile.lat_south, tile.lat_north) == (29, True, 48.0, 56.0)
    assert mgrs_tile("35VNJ").lat_south == 56.0 and mgrs_tile("55HBU").epsg == 32755
    assert mgrs_tile("34XDA").lat_north == 84.0
    for bad in ("T33IUP", "99UUP", "UUP"):
        with pytest.raises(ValueError):
            mgrs_tile(bad)


# --- torchgeo's layout fixture (synthetic; all bands at UTM 32N, 0/0) ----------------------


def test_torchgeo_layout_fixture(peer_data: Path) -> None:
    root = peer_data / TORCHGEO
    rows = pq.read_table(root / METADATA_FILE).to_pylist()
    assert len(rows) == 4
    for row in rows:  # the folder rules find every file of the fixture
        assert len(list(s2_patch_folder(root, row["patch_id"]).glob("*.tif"))) == 12
        assert reference_map_path(root, row["patch_id"]).is_file()
        assert len(list(s1_patch_folder(root, row["s1_name"]).glob("*.tif"))) == 2
    adapter = BigEarthNetV2(root)
    units = adapter.list_units()
    assert len(units) == 8 and units == sorted(units)
    messages = {}
    for unit in units:
        with pytest.raises(SourceError) as info:
            adapter.read_unit(unit)
        assert info.value.kind == "bad_metadata"
        messages[unit] = str(info.value)
    # The T33UUP patch sits in UTM 32N; the others are in the right zone but at the equator.
    assert "EPSG:32632" in messages[f"s2/{rows[0]['patch_id']}"]
    assert "EPSG:32633" in messages[f"s2/{rows[0]['patch_id']}"]
    assert "latitude -0.005" in messages[f"s2/{rows[1]['patch_id']}"]
    # The fixture pairs patch 26_57 with S1 patch 61_39.
    assert "another tile or position" in messages[f"s1/{rows[0]['s1_name']}"]


# --- real reBEN patches (rico-hdl) and the real companion table ----------------------------


@pytest.fixture
def real_root(peer_data: Path, tmp_path: Path) -> Path:
    src = peer_data / RICO
    for folder in ("BigEarthNet-S2", "BigEarthNet-S1"):
        os.symlink(src / folder, tmp_path / folder)
    rows = []
    for x, y in ((75, 43), (70, 48)):
        rows.append(
            {
                "patch_id": f"S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_{x}_{y}",
                "labels": ["Arable land", "Pastures"],  # made up: not in peer data
                "split": "train",
                "country": "Austria",
                "s1_name": f"S1A_IW_GRDH_1SDV_20170613T165043_33UUP_{x}_{y}",
                "s2v1_name": f"S2A_MSIL2A_20170613T101031_{x}_{y}",
                "contains_seasonal_snow": False,
                "contains_cloud_or_shadow": False,
            }
        )
    _write_rows(tmp_path, rows)
    return tmp_path


def test_real_patches(real_root: Path) -> None:
    adapter = BigEarthNetV2(real_root)
    units = adapter.list_units()
    assert len(units) == 4
    (s2,) = adapter.read_unit(f"s2/{RICO_S2}")
    (s1,) = adapter.read_unit(f"s1/{RICO_S1}")
    assert _kind(adapter, f"s2/{RICO_S2.replace('75_43', '70_48')}") == "missing_file"
    assert _kind(adapter, "s1/S1A_IW_GRDH_1SDV_20170613T165043_33UUP_75_43") == "missing_file"
    # The real patch corners are the 33UUP grid: 300000 + 1200 x, 5400000 - 1200 y.
    for sample, (x, y) in ((s2, (75, 43)), (s1, (70, 48))):
        ulx, uly, lrx, lry = patch_corners(x, y)
        footprint = shapely.from_wkt(sample.footprint_wkt)
        assert footprint.equals_exact(_corner_footprint(32633, ulx, lry, lrx, uly), 1e-6)
        assert UPPER_AUSTRIA.contains(footprint) and sample.crs == "EPSG:32633"
        assert (sample.image("image").width, sample.image("image").height) == (120, 120)
        assert count_tag_fields(sample) == len(set(sample.labels.classes)) >= 1
        assert geolocation_problem(sample) == ""
    sizes = {}
    for band, path in zip(s2.bands, s2.image("image").files, strict=True):
        with rasterio.open(path) as ds:
            sizes[band] = ds.width
            assert ds.dtypes[0] == "uint16" and ds.nodata == 0
    assert sizes == {b: {10: 120, 20: 60, 60: 20}[corpus.S2_RES[b]] for b in S2_BANDS}
    s2_scores = image_scores(s2.image("image"), 0.02, 0.98)
    assert s2_scores.valid_fraction == 1.0 and 0.005 < s2_scores.brightness < 0.5
    s1_scores = image_scores(s1.image("image"), 0.02, 0.98)
    assert s1_scores.valid_fraction == 1.0 and 0.05 < s1_scores.brightness < 0.95
    assert render_rgb(s2.image("image")).shape == (3, 120, 120)
    assert render_rgb(s1.image("image")).std() > 5


def test_writer_matches_real_file_structure(peer_data: Path, sample_root: Path) -> None:
    real = peer_data / RICO
    spec = corpus.PATCHES[0]
    pairs = [
        (
            s2_patch_folder(real, RICO_S2) / f"{RICO_S2}_{band}.tif",
            s2_patch_folder(sample_root, spec.patch_id) / f"{spec.patch_id}_{band}.tif",
        )
        for band in ("B01", "B02", "B05")
    ]
    pairs += [
        (
            s1_patch_folder(real, RICO_S1) / f"{RICO_S1}_VV.tif",
            s1_patch_folder(sample_root, spec.s1_name) / f"{spec.s1_name}_VV.tif",
        ),
        (reference_map_path(real, RICO_MAP), reference_map_path(sample_root, spec.patch_id)),
    ]
    keys = ("driver", "dtype", "nodata", "width", "height", "count", "crs", "tiled", "compress")
    for real_path, ours in pairs:
        with rasterio.open(real_path) as a, rasterio.open(ours) as b:
            assert {k: a.profile.get(k) for k in keys} == {k: b.profile.get(k) for k in keys}
            assert a.block_shapes == b.block_shapes and a.res == b.res
            assert a.tags(ns="IMAGE_STRUCTURE") == b.tags(ns="IMAGE_STRUCTURE")
    ulx, uly, _, _ = patch_corners(26, 57)
    with rasterio.open(reference_map_path(real, RICO_MAP)) as ds:
        assert (ds.transform.c, ds.transform.f) == (ulx, uly)
        assert set(np.unique(ds.read(1))) <= {211, 231, 242, 243, 311, 312, 313}


def test_real_companion_table(peer_data: Path, sample_root: Path, tmp_path: Path) -> None:
    path = peer_data / COMPANION
    table = read_metadata(path)
    assert table.num_rows == 69_450
    assert table.schema.names == corpus.METADATA_SCHEMA.names
    assert [str(t) for t in table.schema.types] == [str(t) for t in corpus.METADATA_SCHEMA.types]
    rows = table.to_pydict()
    assert Counter(rows["contains_seasonal_snow"])[True] == 60_773
    assert Counter(rows["contains_cloud_or_shadow"])[True] == 8_677
    assert len(set(rows["country"])) == 10 and Counter(rows["country"])["Austria"] == 2_094
    assert {x for labels in rows["labels"] for x in labels} == set(BEN19_NAMES)
    assert all(labels == sorted(labels) for labels in rows["labels"])
    # The writer's companion row is the real one.
    spec = corpus.SNOW_CLOUD_PATCH
    real = table.filter(pc.equal(table["patch_id"], spec.patch_id)).to_pylist()
    assert real == _rows(sample_root, SNOW_CLOUD_FILE)

    # The adapter with the real companion: listed only with include_snow_cloud.
    for name in ("BigEarthNet-S2", "BigEarthNet-S1"):
        os.symlink(sample_root / name, tmp_path / name)
    shutil.copy(sample_root / METADATA_FILE, tmp_path / METADATA_FILE)
    os.symlink(path, tmp_path / SNOW_CLOUD_FILE)
    assert len(BigEarthNetV2(tmp_path).list_units()) == 8
    adapter = BigEarthNetV2(tmp_path, {"include_snow_cloud": True})
    units = adapter.list_units()
    assert len(units) == 8 + 2 * 69_450
    (flagged,) = adapter.read_unit(f"s2/{spec.patch_id}")  # rasters from the sample corpus
    assert flagged.tags["contains_cloud_or_shadow"] == "true" and flagged.split == "validation"
    finnish = "S2A_MSIL2A_20170613T101031_N9999_R022_T34VER_50_88"
    assert f"s2/{finnish}" in units
    with pytest.raises(SourceError, match="T34VER_50_88 does not exist") as info:
        adapter.read_unit(f"s2/{finnish}")
    assert info.value.kind == "missing_file"
