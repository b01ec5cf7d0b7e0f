"""Scores (tags, brightness, coverage) and the filter's decisions, on crafted and real data."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.quality.thresholds import REASONS, Thresholds, decide
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.bigearthnet_v1.adapter import BigEarthNetV1

DEFAULT = Thresholds(
    min_tags=3,
    min_valid_fraction=0.9,
    require_geolocation=True,
    brightness={"uint8": (0.04, 0.95), "reflectance_1e4": (0.005, 0.5), "sar_db": (0.05, 0.95)},
)


def scores(**overrides):
    row = {
        "n_tags": 4,
        "geo_problem": "",
        "image_encodings": ["uint8", "uint8"],
        "brightness": [0.4, 0.5],
        "valid_fraction": [1.0, 1.0],
        "dark_fraction": [0.0, 0.0],
    }
    row.update(overrides)
    return row


@pytest.mark.parametrize(
    "overrides, reasons",
    [
        ({}, []),
        ({"geo_problem": "no_footprint"}, ["no_geolocation"]),
        ({"valid_fraction": [1.0, 0.5]}, ["low_coverage"]),
        ({"brightness": [0.01, 0.5]}, ["too_dark"]),
        ({"brightness": [0.4, 0.99]}, ["too_bright"]),
        ({"n_tags": 2}, ["too_few_tags"]),
        ({"n_tags": 0, "brightness": [0.0, 0.5]}, ["too_dark", "too_few_tags"]),
        ({"brightness": [None, 0.5], "valid_fraction": [0.0, 1.0]}, ["low_coverage"]),
    ],
)
def test_decide_names_every_reason(overrides, reasons):
    assert decide(scores(**overrides), DEFAULT) == reasons
    assert all(r in REASONS for r in reasons)


def test_brightness_thresholds_are_per_encoding():
    # 0.03 is a normal reflectance for water but a black 8-bit image
    assert (
        decide(
            scores(image_encodings=["reflectance_1e4"], brightness=[0.03], valid_fraction=[1.0]),
            DEFAULT,
        )
        == []
    )
    assert decide(
        scores(image_encodings=["uint8"], brightness=[0.03], valid_fraction=[1.0]), DEFAULT
    ) == ["too_dark"]


def test_bad_thresholds_are_refused():
    with pytest.raises(ConfigError, match="min < max"):
        Thresholds.from_params(
            {
                "min_tags": 3,
                "min_valid_fraction": 0.9,
                "require_geolocation": True,
                "brightness": {"uint8": {"min": 0.9, "max": 0.1}},
            }
        )
    # a missing key is named
    with pytest.raises(ConfigError, match=r"filter\.min_valid_fraction: Field required"):
        Thresholds.from_params({"min_tags": 3})
    # strings never pass as numbers or booleans
    with pytest.raises(ConfigError, match=r"filter\.require_geolocation"):
        Thresholds.from_params(
            {
                "min_tags": 3,
                "min_valid_fraction": 0.9,
                "require_geolocation": "false",
                "brightness": {},
            }
        )


def make_sample(**overrides) -> Sample:
    fields = dict(
        sample_id="s:1",
        source="s",
        native_id="1",
        modality="rgb",
        sensor="x",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((10 40, 11 40, 11 41, 10 41, 10 40))",
        acquired=(),
        images=(ImageRef("image", ("a.png",), ("R", "G", "B"), "uint8", 2, 2),),
        tags={"a": "1", "b": "", "c": "3"},
        labels=Labels(
            classes=("Pastures",),
            objects=(
                ObjectLabel("building", "destroyed", "image", (0, 0, 1, 1)),
                ObjectLabel("building", "destroyed", "image", (0, 0, 1, 1)),
                ObjectLabel("building", "no-damage", "image", (0, 0, 1, 1)),
            ),
        ),
        licence="x",
    )
    fields.update(overrides)
    return Sample(**fields)


def test_tag_fields_count_distinct_non_empty_fields():
    # 1 class + 2 distinct object kinds; the tags a, c are not label fields (metadata)
    assert count_tag_fields(make_sample()) == 3
    # OSM tags osm:a, osm:c count (osm:b is empty)
    osm = {"osm:a": "1", "osm:b": "", "osm:c": "3"}
    assert count_tag_fields(make_sample(tags=osm)) == 5
    assert count_tag_fields(make_sample(tags={}, labels=Labels())) == 0


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({}, ""),
        ({"footprint_wkt": ""}, "no_footprint"),
        ({"crs": ""}, "unknown_crs"),
        ({"crs": "EPSG:999999"}, "unknown_crs"),
        ({"footprint_wkt": "POLYGON ((190 40, 191 40, 191 41, 190 40))"}, "footprint_out_of_range"),
        ({"footprint_wkt": "POLYGON ((1 1, 1 1, 1 1, 1 1))"}, "invalid_footprint"),
        ({"footprint_wkt": "not wkt"}, "invalid_footprint"),
    ],
)
def test_geolocation_problems(overrides, problem):
    assert geolocation_problem(make_sample(**overrides)) == problem


def write_tif(path: Path, data: np.ndarray, nodata=None) -> None:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[-1],
        height=data.shape[-2],
        count=1,
        dtype=data.dtype,
        crs="EPSG:32633",
        transform=from_origin(0, 100, 10, 10),
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)


def test_nan_and_nodata_count_as_invalid(tmp_path):
    data = np.full((4, 4), -12.0, dtype=np.float32)
    data[0, :] = np.nan
    write_tif(tmp_path / "vv.tif", data)
    vh = np.full((4, 4), -18.0, dtype=np.float32)
    vh[1, :2] = -9999
    write_tif(tmp_path / "vh.tif", vh, nodata=-9999)
    image = ImageRef(
        "image", (str(tmp_path / "vv.tif"), str(tmp_path / "vh.tif")), ("VV", "VH"), "sar_db", 4, 4
    )
    result = image_scores(image, 0.02, 0.98)
    assert result.valid_fraction == pytest.approx(10 / 16)
    # (-12 + 30) / 35 and (-18 + 30) / 35 averaged over the valid pixels
    assert result.brightness == pytest.approx(((18 / 35) + (12 / 35)) / 2, abs=1e-6)


def test_corrupt_and_missing_files_raise_read_errors(tmp_path):
    good = np.ones((4, 4), dtype=np.uint16)
    write_tif(tmp_path / "b.tif", good)
    (tmp_path / "c.tif").write_bytes((tmp_path / "b.tif").read_bytes()[:200])
    (tmp_path / "d.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    bad = ImageRef("image", (str(tmp_path / "c.tif"),), ("B04",), "reflectance_1e4", 4, 4)
    with pytest.raises(RasterReadError) as info:
        read_image(bad)
    assert info.value.kind == "corrupt_raster"
    gone = ImageRef("image", (str(tmp_path / "zz.tif"),), ("B04",), "reflectance_1e4", 4, 4)
    with pytest.raises(RasterReadError) as info:
        read_image(gone)
    assert info.value.kind == "missing_file"
    png = ImageRef("image", (str(tmp_path / "d.png"),), ("R", "G", "B"), "uint8", 4, 4)
    with pytest.raises(RasterReadError) as info:
        read_image(png)
    assert info.value.kind == "corrupt_raster"


def test_real_landsat_excerpt_valid_fraction(peer_data: Path):
    # rasterio's RGB.byte.tif: a Landsat 7 excerpt with a nodata (0) collar of about 32.5 %
    path = peer_data / "rasterio__rasterio/tests/data/RGB.byte.tif"
    image = ImageRef("image", (str(path),), ("R", "G", "B"), "uint8", 791, 718)
    result = image_scores(image, 0.02, 0.98)
    with rasterio.open(path) as ds:
        valid_in_every_band = np.all(ds.read_masks() > 0, axis=0)
    assert result.valid_fraction == pytest.approx(valid_in_every_band.mean(), abs=1e-9)
    assert 0.66 < result.valid_fraction < 0.69
    row = scores(
        image_encodings=["uint8"],
        brightness=[result.brightness],
        valid_fraction=[result.valid_fraction],
    )
    assert decide(row, DEFAULT) == ["low_coverage"]


def test_real_bigearthnet_patches_are_kept(peer_data: Path, tmp_path: Path):
    real = peer_data / "kai-tub__bigearthnet_gdf_builder/tests/datasets/tiny"
    (tmp_path / "BigEarthNet-v1.0").mkdir()
    for patch in sorted(real.iterdir()):
        (tmp_path / "BigEarthNet-v1.0" / patch.name).symlink_to(patch)
    adapter = BigEarthNetV1(tmp_path, {"sensors": ["s2"]})
    units = adapter.list_units()
    assert len(units) == 3
    for unit in units:
        [sample] = adapter.read_unit(unit)
        [image] = sample.images
        result = image_scores(image, 0.02, 0.98)
        # as after the enrich stage: two OSM tag keys beside the class labels (metadata tags
        # such as the platform are no label fields)
        osm = {"osm:landuse": "farmland", "osm:highway": "track"}
        row = {
            "n_tags": count_tag_fields(dataclasses.replace(sample, tags={**sample.tags, **osm})),
            "geo_problem": geolocation_problem(sample),
            "image_encodings": [image.encoding],
            "brightness": [result.brightness],
            "valid_fraction": [result.valid_fraction],
            "dark_fraction": [result.dark_fraction],
        }
        assert decide(row, DEFAULT) == [], (unit, row)
        assert 0.005 < result.brightness < 0.5  # real L2A reflectance of land


def test_real_xbd_images_are_neither_dark_nor_bright(peer_data: Path, tmp_path: Path):
    folder = peer_data / "DIUx-xView__xView2-deploy/sample_data/input"
    for phase in ("pre", "post"):
        src = folder / phase / f"hurricane-matthew_00000351_{phase}_disaster.png"
        shutil.copy(src, tmp_path / src.name)
        image = ImageRef(phase, (str(tmp_path / src.name),), ("R", "G", "B"), "uint8", 1024, 1024)
        result = image_scores(image, 0.02, 0.98)
        assert 0.04 < result.brightness < 0.95
        assert result.valid_fraction == 1.0


def test_hdf5_arrays_read_channels_last(tmp_path):
    import h5py

    data = np.zeros((8, 8, 2), dtype=np.float32)
    data[..., 0] = 0.1
    data[..., 1] = 0.01
    data[0, 0, 0] = np.nan
    with h5py.File(tmp_path / "q.h5", "w") as handle:
        handle.create_dataset("ev/patch_0/pre", data=data)
    image = ImageRef(
        "pre", (f"{tmp_path / 'q.h5'}::ev/patch_0/pre",), ("VV", "VH"), "sar_linear", 8, 8
    )
    array = read_image(image)
    assert array.shape == (2, 8, 8)
    assert np.isnan(array[0, 0, 0]) and array[1, 0, 0] == pytest.approx(0.01)
    assert image_scores(image, 0.02, 0.98).valid_fraction == pytest.approx(63 / 64)
    missing = ImageRef(
        "pre", (f"{tmp_path / 'q.h5'}::ev/patch_9/pre",), ("VV", "VH"), "sar_linear", 8, 8
    )
    with pytest.raises(RasterReadError) as info:
        read_image(missing)
    assert info.value.kind == "missing_band"


def test_new_reasons_on_crafted_rows():
    box = Thresholds(**{**DEFAULT.__dict__, "aoi": (0.0, 30.0, 20.0, 50.0)})
    inside = scores(footprint_wkt="POLYGON ((10 40, 11 40, 11 41, 10 41, 10 40))")
    outside = scores(footprint_wkt="POLYGON ((-100 40, -99 40, -99 41, -100 41, -100 40))")
    assert decide(inside, box) == []
    assert decide(outside, box) == ["outside_aoi"]
    assert decide(outside, DEFAULT) == []  # no AOI: the whole Earth
    assert decide(scores(snow_cloud=True), DEFAULT) == ["snow_or_cloud"]
    keep = Thresholds(**{**DEFAULT.__dict__, "snow_cloud": "keep"})
    assert decide(scores(snow_cloud=True), keep) == []
    assert decide(scores(cloud_fraction=0.5), DEFAULT) == ["snow_or_cloud"]
    assert decide(scores(cloud_fraction=0.05), DEFAULT) == []
    assert decide(scores(degenerate=[False, True]), DEFAULT) == ["degenerate"]
    # a black constant image: too dark first, degenerate also recorded
    assert decide(scores(brightness=[0.0, 0.5], degenerate=[True, False]), DEFAULT) == [
        "too_dark",
        "degenerate",
    ]
    assert set(REASONS) >= {"outside_aoi", "snow_or_cloud", "degenerate"}


def test_new_thresholds_are_checked():
    base = {
        "min_tags": 3,
        "min_valid_fraction": 0.9,
        "require_geolocation": True,
        "brightness": {"uint8": {"min": 0.1, "max": 0.9}},
    }
    assert Thresholds.from_params(base).aoi is None
    assert Thresholds.from_params({**base, "aoi": [5, 45, 15, 55]}).aoi == (5, 45, 15, 55)
    with pytest.raises(ConfigError, match="aoi"):
        Thresholds.from_params({**base, "aoi": [15, 45, 5, 55]})
    with pytest.raises(ConfigError, match="snow_cloud"):
        Thresholds.from_params({**base, "snow_cloud": "maybe"})


def test_band_stats_degenerate_and_hashes(tmp_path):
    flat = np.full((4, 4), 1200, dtype=np.uint16)
    write_tif(tmp_path / "b04.tif", flat)
    ramp = np.arange(16, dtype=np.uint16).reshape(4, 4) * 100 + 100
    write_tif(tmp_path / "b03.tif", ramp)
    image = ImageRef(
        "image",
        (str(tmp_path / "b04.tif"), str(tmp_path / "b03.tif")),
        ("B04", "B03"),
        "reflectance_1e4",
        4,
        4,
    )
    result = image_scores(image, 0.02, 0.98)
    assert result.degenerate  # B04 is constant
    assert result.band_mean[0] == pytest.approx(0.12)
    assert result.band_p2[1] < result.band_p50[1] < result.band_p98[1]
    assert result.band_p50[1] == pytest.approx(np.median(ramp) / 10_000)
    assert len(result.content_sha256) == 64
    write_tif(tmp_path / "b04.tif", ramp)
    varied = image_scores(image, 0.02, 0.98)
    assert not varied.degenerate
    assert varied.content_sha256 != result.content_sha256


def test_cloud_mask_and_snow_cloud_flags(tmp_path):
    from eoinstruct.pipeline.quality.scores import cloud_fraction, snow_cloud_flagged

    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[:1] = 1
    write_tif(tmp_path / "cloud.tif", mask)
    sample = make_sample(labels=Labels(rasters={"cloud_mask": str(tmp_path / "cloud.tif")}))
    assert cloud_fraction(sample) == pytest.approx(0.25)
    assert cloud_fraction(make_sample()) is None
    gone = make_sample(labels=Labels(rasters={"cloud_mask": str(tmp_path / "nope.tif")}))
    with pytest.raises(RasterReadError) as info:
        cloud_fraction(gone)
    assert info.value.kind == "missing_file"
    assert not snow_cloud_flagged(make_sample())
    assert snow_cloud_flagged(make_sample(tags={"contains_seasonal_snow": "true"}))


def test_real_reben_snow_cloud_rows_are_handled_as_configured(peer_data: Path):
    from eoinstruct.pipeline.quality.scores import snow_cloud_flagged
    from eoinstruct.sources.bigearthnet_v2.metadata import read_metadata

    path = (
        peer_data
        / "kai-tub__bigearthnet-pipeline/tracked-artifacts"
        / "metadata_for_patches_with_snow_cloud_or_shadow.parquet"
    )
    table = read_metadata(path).slice(0, 200).to_pylist()
    flagged = [r for r in table if r["contains_seasonal_snow"] or r["contains_cloud_or_shadow"]]
    assert flagged, "the companion file lists snow/cloud patches"
    keep = Thresholds(**{**DEFAULT.__dict__, "snow_cloud": "keep"})
    for row in flagged[:5]:
        properties = {
            k: str(row[k]).lower()
            for k in ("contains_seasonal_snow", "contains_cloud_or_shadow")
            if row[k] is not None
        }
        sample = make_sample(labels=Labels(classes=tuple(row["labels"]), properties=properties))
        assert snow_cloud_flagged(sample)
        row_scores = scores(snow_cloud=True)
        assert decide(row_scores, DEFAULT) == ["snow_or_cloud"]
        assert decide(row_scores, keep) == []


def test_real_skyscript_torchgeo_fixtures_are_too_dark(peer_data: Path):
    folder = peer_data / "microsoft__torchgeo/tests/data/skyscript"
    images = sorted(folder.glob("images*/*.jpg"))
    assert len(images) >= 2
    for path in images:
        width, height = Image.open(path).size
        image = ImageRef("image", (str(path),), ("R", "G", "B"), "uint8", width, height)
        result = image_scores(image, 0.02, 0.98)
        row = scores(
            image_encodings=["uint8"],
            brightness=[result.brightness],
            valid_fraction=[result.valid_fraction],
            degenerate=[result.degenerate],
        )
        assert decide(row, DEFAULT)[0] == "too_dark", (path, result)
