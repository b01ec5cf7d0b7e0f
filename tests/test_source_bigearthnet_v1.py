"""Tests of the BigEarthNet v1.0 adapter and its sample-corpus writer.

Synthetic data: the writer's corpus (``sources/bigearthnet_v1/sample.py``) and
torchgeo's layout fixture. Real data: the BigEarthNet v1 patches in shared/peer-data §8a/§8b.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import rasterio
import shapely
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon, box
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.quality.scores import snow_cloud_flagged
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.pipeline.records import samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.bigearthnet_v1 import sample as corpus
from eoinstruct.sources.bigearthnet_v1.adapter import S1_BANDS, S2_BANDS, BigEarthNetV1

SEED = 11
S2A = "S2A_MSIL2A_20170613T101031"
S1A = "S1A_IW_GRDH_1SDV_20170613T165043_33UUP"
BAD = {
    f"s2/{corpus.BAD_MISSING_BAND}": "missing_band",
    f"s1/{corpus.BAD_S1_JSON}": "malformed_label",
}
READABLE_BAD = (corpus.BAD_TRUNCATED_B04, corpus.BAD_NODATA, corpus.BAD_BRIGHT)


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ben_v1") / "data"
    corpus.write(root, SEED)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _copy_patch(src_root: Path, dst_root: Path, folder: str, name: str) -> Path:
    dst = dst_root / folder / name
    shutil.copytree(src_root / folder / name, dst)
    return dst


def _edit_json(path: Path, edit: object) -> None:
    meta = json.loads(path.read_text())
    edit(meta)  # type: ignore[operator]
    path.write_text(json.dumps(meta))


def _expected_footprint(json_path: Path, epsg: int) -> Polygon:
    coords = json.loads(json_path.read_text())["coordinates"]
    lower = coords.get("lry", coords.get("lly"))
    xs = [coords["ulx"], coords["lrx"], coords["lrx"], coords["ulx"]]
    ys = [coords["uly"], coords["uly"], lower, lower]
    lons, lats = warp_transform(f"EPSG:{epsg}", "EPSG:4326", xs, ys)
    return orient(Polygon(zip(lons, lats, strict=True)))


# --- the sample-corpus writer ------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    first, second = _files(sample_root), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first)
    corpus.write(tmp_path / "other", SEED + 1)
    other = _files(tmp_path / "other")
    assert sorted(other) == sorted(first)
    assert any(other[name] != first[name] for name in first if name.endswith("_B08.tif"))


def test_writer_layout_and_bad_patches(sample_root: Path) -> None:
    s2 = sorted(p.name for p in (sample_root / "BigEarthNet-v1.0").iterdir())
    s1 = sorted(p.name for p in (sample_root / "BigEarthNet-S1-v1.0").iterdir())
    assert len(s2) == 12 and len(s1) == 9
    total = sum(len(b) for b in _files(sample_root).values())
    assert total < 3_300_000

    good = sample_root / "BigEarthNet-v1.0" / f"{S2A}_62_44"
    meta = json.loads((good / f"{S2A}_62_44_labels_metadata.json").read_text())
    assert list(meta) == ["labels", "coordinates", "projection", "tile_source", "acquisition_date"]
    assert meta["coordinates"] == {"ulx": 374400, "uly": 5347200, "lrx": 375600, "lry": 5346000}
    expected_px = {10: 120, 20: 60, 60: 20}
    for band, res in corpus.S2_RES.items():
        with rasterio.open(good / f"{S2A}_62_44_{band}.tif") as ds:
            assert (ds.width, ds.height) == (expected_px[res], expected_px[res])
            assert ds.dtypes[0] == "uint16" and ds.crs.to_epsg() == 32633 and ds.nodata is None
            assert ds.profile.get("compress") is None
            assert tuple(ds.bounds) == (374400, 5346000, 375600, 5347200)
            data = ds.read(1)
            assert 250 <= data.min() < data.max() <= 3600
    with (
        rasterio.open(good / f"{S2A}_62_44_B08.tif") as nir,
        rasterio.open(good / f"{S2A}_62_44_B04.tif") as red,
    ):
        assert nir.read(1).mean() > 1.5 * red.read(1).mean()

    s1 = sample_root / "BigEarthNet-S1-v1.0" / f"{S1A}_62_44"
    s1_meta = json.loads((s1 / f"{S1A}_62_44_labels_metadata.json").read_text())
    assert set(s1_meta["coordinates"]) == {"ulx", "uly", "lrx", "lly"}
    assert s1_meta["labels"] == meta["labels"]
    assert s1_meta["corresponding_s2_patch"] == f"{S2A}_62_44"
    for band, (lo, hi) in {"VV": (-20, 0), "VH": (-28, -8)}.items():
        with rasterio.open(s1 / f"{S1A}_62_44_{band}.tif") as ds:
            data = ds.read(1)
            assert ds.dtypes[0] == "float32" and (ds.width, ds.height) == (120, 120)
            assert lo <= data.min() < data.max() <= hi

    s2_root = sample_root / "BigEarthNet-v1.0"
    assert not (s2_root / corpus.BAD_MISSING_BAND / f"{corpus.BAD_MISSING_BAND}_B11.tif").exists()
    truncated = s2_root / corpus.BAD_TRUNCATED_B04 / f"{corpus.BAD_TRUNCATED_B04}_B04.tif"
    assert truncated.stat().st_size == 300
    with pytest.raises(rasterio.errors.RasterioIOError):
        with rasterio.open(truncated) as ds:
            ds.read(1)
    with rasterio.open(s2_root / corpus.BAD_NODATA / f"{corpus.BAD_NODATA}_B02.tif") as ds:
        data = ds.read(1)
        assert (data[:, :72] == 0).all() and (data[:, 72:] > 0).all()
    with rasterio.open(s2_root / corpus.BAD_BRIGHT / f"{corpus.BAD_BRIGHT}_B12.tif") as ds:
        assert ds.read(1).min() >= 9000
    bad_json = sample_root / "BigEarthNet-S1-v1.0" / corpus.BAD_S1_JSON
    with pytest.raises(json.JSONDecodeError):
        json.loads((bad_json / f"{corpus.BAD_S1_JSON}_labels_metadata.json").read_text())

    train = (sample_root / "bigearthnet-train.csv").read_text().splitlines()
    assert len(train) == 11 and all(line.count(",") == 1 for line in train)
    assert f"{S2A}_62_44,{S1A}_62_44" in train
    assert (sample_root / "bigearthnet-val.csv").read_text() == f"{S2A}_64_45,{S1A}_64_45\n"


# --- the adapter on the sample corpus ----------------------------------------------------


def test_lists_every_patch_folder(sample_root: Path) -> None:
    units = BigEarthNetV1(sample_root).list_units()
    assert units == sorted(units) and len(units) == 21
    assert f"s2/{S2A}_62_44" in units and f"s1/{S1A}_62_44" in units
    only_s2 = BigEarthNetV1(sample_root, {"sensors": ["s2"]}).list_units()
    assert len(only_s2) == 12 and all(u.startswith("s2/") for u in only_s2)


def test_reads_good_s2_patches(sample_root: Path) -> None:
    adapter = BigEarthNetV1(sample_root)
    units = [u for u in adapter.list_units() if u.startswith("s2/") and u not in BAD]
    assert len(units) == 11
    samples = [s for u in units for s in adapter.read_unit(u)]
    for sample in samples:
        patch = sample.native_id
        json_path = sample_root / "BigEarthNet-v1.0" / patch / f"{patch}_labels_metadata.json"
        meta = json.loads(json_path.read_text())
        image = sample.image("image")
        assert sample.sample_id == f"bigearthnet_v1:{patch}" and sample.source == "bigearthnet_v1"
        assert sample.modality == "multispectral" and sample.sensor == "Sentinel-2 MSI"
        assert sample.bands == S2_BANDS == image.bands
        assert [Path(f).name for f in image.files] == [f"{patch}_{b}.tif" for b in S2_BANDS]
        assert all(Path(f).is_file() for f in image.files)
        assert image.encoding == "reflectance_1e4" and (image.width, image.height) == (120, 120)
        assert sample.gsd_m == 10.0 and sample.crs == "EPSG:32633"
        assert sample.labels.scheme == "clc43"
        assert sample.labels.classes == tuple(sorted(meta["labels"]))
        assert sample.licence == "CDLA-Permissive-1.0"
        footprint = shapely.from_wkt(sample.footprint_wkt)
        assert footprint.is_valid and footprint.exterior.is_ccw
        assert footprint.equals_exact(_expected_footprint(json_path, 32633), 1e-6)
        assert box(13.2, 48.1, 13.9, 48.8).contains(footprint)  # Upper Austria
        assert 1.6e-4 < footprint.area < 1.9e-4  # 1.2 km x 1.2 km at 48.5 deg N, in deg^2
    by_id = {s.native_id: s for s in samples}
    first = by_id[f"{S2A}_62_44"]
    assert first.acquired == ("2017-06-13T10:10:31Z",)
    assert dict(first.tags) == {
        "platform": "Sentinel-2A",
        "mgrs_tile": "T33UUP",
        "processing_level": "L2A",
    }
    assert first.split == "train"
    assert by_id[f"{S2A}_64_45"].split == "validation"
    s2b = by_id["S2B_MSIL2A_20170818T100019_65_45"]
    assert s2b.split == "test" and s2b.tags["platform"] == "Sentinel-2B"
    assert s2b.acquired == ("2017-08-18T10:00:19Z",)
    assert samples_table(samples).num_rows == 11


def test_reads_good_s1_patches(sample_root: Path) -> None:
    adapter = BigEarthNetV1(sample_root, {"sensors": ["s1"]})
    units = [u for u in adapter.list_units() if u not in BAD]
    assert len(units) == 8
    for unit in units:
        (sample,) = adapter.read_unit(unit)
        image = sample.image("image")
        assert sample.modality == "sar" and sample.sensor == "Sentinel-1 C-SAR"
        assert sample.bands == S1_BANDS and image.encoding == "sar_db"
        assert [Path(f).name[-6:] for f in image.files] == ["VV.tif", "VH.tif"]
        assert (image.width, image.height) == (120, 120) and sample.crs == "EPSG:32633"
        partner = sample.tags["paired_s2_patch"]
        assert partner.endswith(sample.native_id[-6:])
        s2 = BigEarthNetV1(sample_root).read_unit(f"s2/{partner}")[0]
        assert shapely.from_wkt(sample.footprint_wkt).equals_exact(
            shapely.from_wkt(s2.footprint_wkt), 1e-9
        )
        assert sample.labels == s2.labels and sample.split == s2.split != ""
    (s1a,) = adapter.read_unit(f"s1/{S1A}_62_44")
    assert dict(s1a.tags) == {
        "platform": "Sentinel-1A",
        "instrument_mode": "IW",
        "product_type": "GRD",
        "polarisations": "VV+VH",
        "paired_s2_patch": f"{S2A}_62_44",
    }
    assert s1a.acquired == ("2017-06-13T16:50:43Z",)
    (s1b,) = adapter.read_unit("s1/S1B_IW_GRDH_1SDV_20170819T050402_33UUP_65_45")
    assert s1b.tags["platform"] == "Sentinel-1B" and s1b.split == "test"


def test_bad_patches_fail_with_the_right_kind(sample_root: Path) -> None:
    adapter = BigEarthNetV1(sample_root)
    for unit, kind in BAD.items():
        with pytest.raises(SourceError) as info:
            adapter.read_unit(unit)
        assert info.value.kind == kind and info.value.unit == unit
    with pytest.raises(SourceError, match=r"B11"):
        adapter.read_unit(f"s2/{corpus.BAD_MISSING_BAND}")
    with pytest.raises(SourceError, match=r"_labels_metadata\.json is not valid JSON"):
        adapter.read_unit(f"s1/{corpus.BAD_S1_JSON}")
    for name in READABLE_BAD:  # ingest is metadata-only: these fail or drop later
        (sample,) = adapter.read_unit(f"s2/{name}")
        assert sample.native_id == name and sample.split == "train" and sample.footprint_wkt


def test_read_units_is_read_unit_of_each(sample_root: Path) -> None:
    """The batched read (ingest's) gives each unit's samples, or its error, as read_unit."""
    adapter = BigEarthNetV1(sample_root)
    units = [*adapter.list_units(), "s2/absent_patch", "s3/bad"]
    got = BigEarthNetV1(sample_root).read_units(units)
    assert len(got) == len(units)
    failed = 0
    for unit, result in zip(units, got, strict=True):
        if isinstance(result, Exception):
            failed += 1
            with pytest.raises(type(result)) as info:
                adapter.read_unit(unit)
            assert str(info.value) == str(result)
            assert getattr(result, "kind", None) == BAD.get(unit, getattr(result, "kind", None))
        else:
            assert result == adapter.read_unit(unit)
            assert all(s.footprint_wkt.startswith("POLYGON ((") for s in result)
    assert failed == len(BAD) + 2


def test_batched_footprints_equal_one_by_one() -> None:
    """footprints_from_boxes gives footprint_from_box's string for every kind of box."""
    import random

    from eoinstruct.sources.geo import footprint_from_box, footprints_from_boxes

    rnd = random.Random(5)
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(400):
        x, y = rnd.uniform(1e5, 9e5), rnd.uniform(-9e6, 9e6)
        kind = rnd.randrange(5)
        if kind == 0:  # far outside the zone: off the globe or not finite
            boxes.append((rnd.uniform(-1e8, 1e8), y, rnd.uniform(-1e8, 1e8), y - 1e7))
        elif kind == 1:  # no area
            boxes.append((x, y, x, y - 100))
        elif kind == 2:  # reversed corners: the other orientation
            boxes.append((x + 1200, y - 1200, x, y))
        elif kind == 3:
            boxes.append((float("inf"), y, x, y - 10))
        else:
            boxes.append((x, y, x + rnd.uniform(1, 5e4), y - rnd.uniform(1, 5e4)))
    for crs in ("EPSG:32633", "EPSG:32719", "EPSG:3857", "EPSG:4326"):
        expected = [footprint_from_box(b, crs) for b in boxes]
        assert footprints_from_boxes(boxes, crs) == expected
        assert crs == "EPSG:4326" or sum(bool(t) for t in expected) > 100
    assert footprints_from_boxes([], "EPSG:32633") == []


def test_split_from_s2_only_lists_and_pairing(sample_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "ben"
    pair = (f"{S2A}_64_45", f"{S1A}_64_45")
    _copy_patch(sample_root, root, "BigEarthNet-v1.0", pair[0])
    _copy_patch(sample_root, root, "BigEarthNet-S1-v1.0", pair[1])
    (root / "val.csv").write_text(f"{pair[0]}\n")
    adapter = BigEarthNetV1(root)
    assert adapter.read_unit(f"s2/{pair[0]}")[0].split == "validation"
    assert adapter.read_unit(f"s1/{pair[1]}")[0].split == "validation"  # via the JSON pairing
    (root / "val.csv").unlink()
    assert BigEarthNetV1(root).read_unit(f"s1/{pair[1]}")[0].split == ""


def test_official_snow_and_cloud_lists_flag_patches_for_the_filter(
    sample_root: Path, tmp_path: Path
) -> None:
    root = tmp_path / "ben"
    pair = (f"{S2A}_64_45", f"{S1A}_64_45")
    _copy_patch(sample_root, root, "BigEarthNet-v1.0", pair[0])
    _copy_patch(sample_root, root, "BigEarthNet-S1-v1.0", pair[1])
    unflagged = BigEarthNetV1(root).read_unit(f"s2/{pair[0]}")[0]
    assert not snow_cloud_flagged(unflagged)
    (root / "patches_with_seasonal_snow.csv").write_text(f"{pair[0]}\nS2B_other_1_2\n")
    (root / "patches_with_cloud_and_shadow.csv").write_text(f"{pair[0]}\n")
    adapter = BigEarthNetV1(root)
    s2 = adapter.read_unit(f"s2/{pair[0]}")[0]
    s1 = adapter.read_unit(f"s1/{pair[1]}")[0]  # flagged through its S2 partner
    for sample in (s2, s1):
        assert sample.tags["contains_seasonal_snow"] == "true"
        assert sample.tags["contains_cloud_or_shadow"] == "true"
        assert snow_cloud_flagged(sample)
    # the flags are metadata: they add no label field to the filter's min_tags count
    assert label_fields(s2) == label_fields(unflagged)


def test_json_errors_and_fallbacks(sample_root: Path, tmp_path: Path) -> None:
    name = f"{S2A}_62_44"
    s1_name = f"{S1A}_62_44"
    s2_dir = _copy_patch(sample_root, tmp_path, "BigEarthNet-v1.0", name)
    s1_dir = _copy_patch(sample_root, tmp_path, "BigEarthNet-S1-v1.0", s1_name)
    s2_json = s2_dir / f"{name}_labels_metadata.json"
    s1_json = s1_dir / f"{s1_name}_labels_metadata.json"
    adapter = BigEarthNetV1(tmp_path)
    reference = adapter.read_unit(f"s2/{name}")[0]

    def kind_of(unit: str) -> str:
        with pytest.raises(SourceError) as info:
            adapter.read_unit(unit)
        return info.value.kind

    # S1 with "lry" (the correct spelling) reads like "lly"; with neither it is malformed.
    _edit_json(s1_json, lambda m: m["coordinates"].update(lry=m["coordinates"].pop("lly")))
    assert adapter.read_unit(f"s1/{s1_name}")[0].footprint_wkt == reference.footprint_wkt
    _edit_json(s1_json, lambda m: m["coordinates"].pop("lry"))
    assert kind_of(f"s1/{s1_name}") == "malformed_label"

    original = s2_json.read_text()
    # Unparseable projection: the CRS comes from the first band header.
    _edit_json(s2_json, lambda m: m.update(projection="not a WKT"))
    sample = adapter.read_unit(f"s2/{name}")[0]
    assert sample.crs == "EPSG:32633" and sample.footprint_wkt == reference.footprint_wkt
    # ... and with no readable header either, no geolocation (and no exception).
    for tif in s2_dir.glob("*.tif"):
        tif.write_bytes(b"not a tiff")
    sample = adapter.read_unit(f"s2/{name}")[0]
    assert (sample.crs, sample.footprint_wkt) == ("", "")
    assert sample.image("image").width == 120

    for edit, kind in (
        (lambda m: m.pop("labels"), "malformed_label"),
        (lambda m: m.pop("coordinates"), "malformed_label"),
        (lambda m: m["labels"].append("Lava fields"), "malformed_label"),
        (lambda m: m["coordinates"].update(ulx="x"), "malformed_label"),
        (lambda m: m.update(acquisition_date="13/06/2017"), "bad_metadata"),
    ):
        s2_json.write_text(original)
        _edit_json(s2_json, edit)
        assert kind_of(f"s2/{name}") == kind
    s2_json.write_text("[1, 2]")
    assert kind_of(f"s2/{name}") == "malformed_label"
    s2_json.unlink()
    assert kind_of(f"s2/{name}") == "missing_file"
    assert kind_of("s2/S2A_MSIL2A_20170613T101031_1_1") == "missing_file"
    with pytest.raises(ValueError, match="bad unit id"):
        adapter.read_unit("s3/whatever")


def test_missing_root_and_layout(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        BigEarthNetV1(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"BigEarthNet-v1\.0/.*params\.yaml"):
        BigEarthNetV1(tmp_path)
    (tmp_path / "BigEarthNet-v1.0").mkdir()
    with pytest.raises(SourceNotFoundError, match=r"BigEarthNet-S1-v1\.0/"):
        BigEarthNetV1(tmp_path, {"sensors": ["s1"]})
    assert BigEarthNetV1(tmp_path).list_units() == []
    with pytest.raises(ValueError, match="sensors"):
        BigEarthNetV1(tmp_path, {"sensors": ["s2", "landsat"]})


# --- torchgeo's layout fixture (synthetic: zero coordinates, empty projection) -----------


def test_torchgeo_layout_fixture(peer_data: Path) -> None:
    root = peer_data / "microsoft__torchgeo/tests/data/bigearthnet/v1"
    adapter = BigEarthNetV1(root)
    units = adapter.list_units()
    assert len(units) == 8
    samples = {u: adapter.read_unit(u)[0] for u in units}
    for sample in samples.values():
        # The JSON has projection "" and all-zero corners: the CRS comes from the band
        # header (EPSG:4326 in this fixture), there is no footprint, and the size is the
        # header's (2x2 px files).
        assert sample.crs == "EPSG:4326" and sample.footprint_wkt == ""
        assert (sample.image("image").width, sample.image("image").height) == (2, 2)
        assert sample.acquired == ()
    s2 = samples[f"s2/{S2A}_61_40"]
    assert len(s2.image("image").files) == 12 and s2.split == "train"
    assert "Inland marshes" in s2.labels.classes and len(s2.labels.classes) == 6
    assert dict(s2.tags) == {"platform": "Sentinel-2A", "processing_level": "L2A"}
    mismatched = samples[f"s1/{S1A}_61_42"]
    assert [Path(f).name for f in mismatched.image("image").files] == [
        f"{S1A}_61_42_41_VV.tif",
        f"{S1A}_61_42_41_VH.tif",
    ]
    assert mismatched.tags["paired_s2_patch"] == f"{S2A}_61_42"
    assert mismatched.split == "test" == samples[f"s2/{S2A}_61_42"].split
    assert samples[f"s1/{S1A}_61_41"].split == "validation"
    assert mismatched.labels.classes == ("Coniferous forest", "Non-irrigated arable land")


# --- real BigEarthNet v1 patches ---------------------------------------------------------


@pytest.fixture
def real_root(peer_data: Path, tmp_path: Path) -> Path:
    s2_src = peer_data / "kai-tub__bigearthnet_gdf_builder/tests/datasets/tiny"
    s1_srcs = (
        peer_data / "kai-tub__bigearthnet_gdf_builder/tests/datasets/s1-tiny",
        peer_data / "kai-tub__bigearthnet_common/src/bigearthnet_common/BigEarthNet-S1-Example",
    )
    (tmp_path / "BigEarthNet-v1.0").mkdir()
    (tmp_path / "BigEarthNet-S1-v1.0").mkdir()
    for patch in s2_src.iterdir():
        (tmp_path / "BigEarthNet-v1.0" / patch.name).symlink_to(patch, target_is_directory=True)
    for src in s1_srcs:
        for patch in src.iterdir():
            link = tmp_path / "BigEarthNet-S1-v1.0" / patch.name
            link.symlink_to(patch, target_is_directory=True)
    return tmp_path


COUNTRY_BOXES = {  # rough lon/lat boxes of the patch's country
    "S2A_MSIL2A_20170617T113321_4_55": (box(-10.7, 51.4, -5.9, 55.5), 32629, "T29UPU"),  # IE
    "S2A_MSIL2A_20171221T112501_56_35": (box(-9.6, 36.9, -6.1, 42.2), 32629, "T29SND"),  # PT
    "S2B_MSIL2A_20170924T093019_43_47": (box(20.5, 59.7, 31.6, 70.1), 32635, "T35VNH"),  # FI
}


def test_real_s2_patches(real_root: Path) -> None:
    adapter = BigEarthNetV1(real_root, {"sensors": ["s2"]})
    units = adapter.list_units()
    assert units == [f"s2/{name}" for name in sorted(COUNTRY_BOXES)]
    for unit in units:
        (sample,) = adapter.read_unit(unit)
        country, epsg, tile = COUNTRY_BOXES[sample.native_id]
        assert sample.crs == f"EPSG:{epsg}" and sample.tags["mgrs_tile"] == tile
        assert (sample.image("image").width, sample.image("image").height) == (120, 120)
        assert all(Path(f).is_file() for f in sample.image("image").files)
        footprint = shapely.from_wkt(sample.footprint_wkt)
        assert country.contains(footprint)
        # The JSON corners agree with the GeoTIFF georeferencing of the 10 m band B02.
        with rasterio.open(sample.image("image").band_file("B02")) as ds:
            left, bottom, right, top = ds.bounds
            assert ds.crs.to_epsg() == epsg
        lons, lats = warp_transform(
            f"EPSG:{epsg}", "EPSG:4326", [left, right, right, left], [top, top, bottom, bottom]
        )
        assert footprint.equals_exact(orient(Polygon(zip(lons, lats, strict=True))), 1e-7)
        assert sample.split == ""

    pasture = adapter.read_unit("s2/S2A_MSIL2A_20170617T113321_4_55")[0]
    assert pasture.labels.classes == ("Pastures",)
    assert pasture.acquired == ("2017-06-17T11:33:21Z",)
    finland = adapter.read_unit("s2/S2B_MSIL2A_20170924T093019_43_47")[0]
    assert finland.tags["platform"] == "Sentinel-2B"
    assert finland.labels.classes == ("Coniferous forest", "Transitional woodland/shrub")
    assert finland.acquired == ("2017-09-24T09:30:19Z",)


def test_real_s1_patches_and_pairing(real_root: Path) -> None:
    adapter = BigEarthNetV1(real_root)
    units = adapter.list_units()
    assert len(units) == 8
    samples = {s.native_id: s for u in units for s in adapter.read_unit(u)}
    austria = box(9.5, 46.4, 17.2, 49.1)
    for h_v in ("61_39", "61_40", "61_41"):
        s1 = samples[f"{S1A}_{h_v}"]
        assert s1.crs == "EPSG:32633" and s1.acquired == ("2017-06-13T16:50:43Z",)
        assert s1.tags["paired_s2_patch"] == f"{S2A}_{h_v}"
        assert s1.tags["polarisations"] == "VV+VH" and s1.tags["platform"] == "Sentinel-1A"
        assert austria.contains(shapely.from_wkt(s1.footprint_wkt))
    assert "Inland marshes" in samples[f"{S1A}_61_40"].labels.classes

    # The two real S1+S2 pairs: same corners, same labels, S1 a few hours earlier.
    pairs = {
        "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_4_55": "S2A_MSIL2A_20170617T113321_4_55",
        "S1A_IW_GRDH_1SDV_20171221T064238_29SND_56_35": "S2A_MSIL2A_20171221T112501_56_35",
    }
    for s1_name, s2_name in pairs.items():
        s1, s2 = samples[s1_name], samples[s2_name]
        assert s1.tags["paired_s2_patch"] == s2_name
        assert s1.footprint_wkt == s2.footprint_wkt != ""
        assert s1.labels == s2.labels and s1.crs == s2.crs == "EPSG:32629"
        assert s1.acquired[0][:10] == s2.acquired[0][:10] and s1.acquired < s2.acquired
    assert samples["S1A_IW_GRDH_1SDV_20171221T064238_29SND_56_35"].acquired == (
        "2017-12-21T06:42:38Z",
    )
