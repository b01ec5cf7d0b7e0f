"""Tests of the SatlasPretrain adapter (sources/satlas/adapter.py) and its sample-corpus writer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image
from rasterio.warp import transform as warp_transform

from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.satlas import sample as corpus
from eoinstruct.sources.satlas.adapter import SatlasPretrain
from eoinstruct.sources.satlas.metadata import image_time_from_name
from eoinstruct.sources.satlas.tiles import footprint_wkt, tile_bounds, tile_gsd_m

TORCHGEO = "microsoft__torchgeo/tests/data/satlas"
TORCHGEO_S2 = "S2A_MSIL1C_20220309T032601_N0400_R018_T48RYR_20220309T060235"
WEB_MERCATOR_HALF = 20037508.342789244  # EPSG:3857 half-extent in metres
BOTH = {"sensors": ["sentinel2", "sentinel1"]}


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("satlas") / "satlas"
    corpus.write(root, seed=11)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _vector(root: Path, tile: str) -> dict:
    return json.loads((root / "static" / tile / "vector.json").read_text())


# -- Web-Mercator math -------------------------------------------------------------------------


@pytest.mark.parametrize(("col", "row", "zoom"), [(1311, 2861, 13), (7149, 3246, 13), (0, 0, 2)])
def test_tile_bounds_match_epsg3857_inverse(col: int, row: int, zoom: int) -> None:
    # independent route: the tile's corners in EPSG:3857 metres, through PROJ
    size = 2 * WEB_MERCATOR_HALF / 2**zoom
    xs = [-WEB_MERCATOR_HALF + col * size, -WEB_MERCATOR_HALF + (col + 1) * size]
    ys = [WEB_MERCATOR_HALF - (row + 1) * size, WEB_MERCATOR_HALF - row * size]
    lons, lats = warp_transform("EPSG:3857", "EPSG:4326", xs, ys)
    west, south, east, north = tile_bounds(col, row, zoom)
    assert (west, east) == pytest.approx(lons, abs=1e-9)
    assert (south, north) == pytest.approx(lats, abs=1e-9)


def test_tile_bounds_documented_example() -> None:
    # SatlasPretrain.md: mercator_to_geo((1867, 3287), pixels=1, zoom=13) is about
    # (33.4681, -97.9541), the tile's north-west corner
    west, _, _, north = tile_bounds(1867, 3287, 13)
    assert (round(north, 4), round(west, 4)) == (33.4681, -97.9541)


def test_gsd_and_footprint() -> None:
    assert tile_gsd_m(2**12, 13, 512) == pytest.approx(9.5546, abs=1e-4)  # at the equator
    lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * 2861.5 / 2**13))))
    assert tile_gsd_m(2861, 13, 512) == pytest.approx(9.5546 * np.cos(np.radians(lat)), rel=1e-4)
    assert tile_gsd_m(2861 * 16, 17, 512) == pytest.approx(tile_gsd_m(2861, 13, 512) / 16, rel=1e-3)
    polygon = shapely.from_wkt(footprint_wkt(1311, 2861, 13))
    assert polygon.exterior.is_ccw
    assert polygon.bounds == pytest.approx(tile_bounds(1311, 2861, 13), abs=1e-9)


def test_image_time_from_name() -> None:
    assert image_time_from_name(TORCHGEO_S2).isoformat() == "2022-03-09T03:26:01+00:00"
    assert image_time_from_name("m_3808245_se_17_1_20110801").isoformat() == (
        "2011-08-01T00:00:00+00:00"
    )
    assert image_time_from_name("2022-01").isoformat() == "2022-01-01T00:00:00+00:00"
    assert image_time_from_name("2022-13") is None
    assert image_time_from_name("some_image") is None


# -- the sample corpus writer --------------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", seed=11)
    first, second = _tree(sample_root), _tree(tmp_path / "again")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    assert sum(len(v) for v in first.values()) < 1_500_000


def test_writer_seed_changes_pixels(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "other", seed=12)
    name = f"sentinel2/{corpus.SEATTLE_OLD}/tci/1311_2861.png"
    assert (tmp_path / "other" / name).read_bytes() != (sample_root / name).read_bytes()


def test_writer_layout_and_band_sizes(sample_root: Path) -> None:
    for spec in corpus.GOOD_TILES:
        for image in spec.s2_images:
            folder = sample_root / "sentinel2" / image
            tci = Image.open(folder / "tci" / f"{spec.tile}.png")
            assert (tci.mode, tci.size) == ("RGB", (512, 512))
            assert np.asarray(tci).std() > 5  # structured, not constant
            for band in corpus.S2_BANDS:
                png = Image.open(folder / band / f"{spec.tile}.png")
                size = 512 if band == "b08" else 256
                assert (png.mode, png.size) == ("L", (size, size))
        land_cover = np.asarray(Image.open(sample_root / "static" / spec.tile / "land_cover.png"))
        assert land_cover.shape == (512, 512)
        assert set(np.unique(land_cover).tolist()) <= set(range(1, 12))
    for band in ("vv", "vh"):
        png = Image.open(sample_root / "sentinel1" / corpus.S1_IMAGE / band / "1311_2861.png")
        assert (png.mode, png.size) == ("L", (512, 512))


def test_writer_metadata_is_consistent(sample_root: Path) -> None:
    meta = sample_root / "metadata"
    good = json.loads((meta / "good_images_lowres_all.json").read_text())
    times = json.loads((meta / "image_times.json").read_text())
    assert all(isinstance(c, int) and isinstance(r, int) for c, r, _ in good)
    assert {name for _, _, name in good} == set(times) == set(corpus.IMAGE_TIMES)
    for col, row, name in good:
        sensor = "sentinel1" if name == corpus.S1_IMAGE else "sentinel2"
        first = "vh" if sensor == "sentinel1" else "tci"
        assert (sample_root / sensor / name / first / f"{col}_{row}.png").is_file()
    train = json.loads((meta / "train_lowres.json").read_text())
    test = json.loads((meta / "test_lowres.json").read_text())
    assert test == [[1360, 2881]]
    assert [1311, 2861] in train and [1360, 2881] not in train
    dynamic = json.loads(
        (sample_root / "dynamic/1311_2861" / corpus.DYNAMIC_FOLDER / "vector.json").read_text()
    )
    assert list(dynamic["metadata"]) == ["Start", "End", "ImageUUID", "ImageName"]
    assert dynamic["metadata"]["ImageName"] == corpus.SEATTLE_OLD


# -- the adapter on the sample corpus --------------------------------------------------------------


def test_lists_units(sample_root: Path) -> None:
    s2 = sorted(f"sentinel2/{s.tile}" for s in (*corpus.GOOD_TILES, *corpus.BAD_SPECS))
    assert SatlasPretrain(sample_root).list_units() == s2  # default: sentinel2 only
    assert SatlasPretrain(sample_root, BOTH).list_units() == sorted([*s2, "sentinel1/1311_2861"])
    assert set(corpus.BAD_TILES) <= set(s2)
    assert SatlasPretrain(sample_root, {"splits": ["test_lowres"]}).list_units() == [
        "sentinel2/1360_2881"
    ]


@pytest.mark.parametrize("spec", corpus.GOOD_TILES, ids=lambda s: s.tile)
def test_reads_good_s2_tile(sample_root: Path, spec: corpus.TileSpec) -> None:
    [sample] = SatlasPretrain(sample_root).read_unit(f"sentinel2/{spec.tile}")
    assert sample.sample_id == f"satlas:sentinel2/{spec.tile}"
    assert (sample.modality, sample.sensor, sample.crs) == (
        "multispectral",
        "Sentinel-2 MSI",
        "EPSG:3857",
    )
    assert sample.split == spec.split
    assert sample.bands == ("tci_r", "tci_g", "tci_b", *corpus.S2_BANDS)
    n = len(spec.s2_images)  # two dates; Centralia three
    assert [im.role for im in sample.images] == [
        r for k in range(n) for r in (f"t{k}", f"t{k}_bands")
    ]
    for step, image_name in enumerate(spec.s2_images):
        tci, bands = sample.image(f"t{step}"), sample.image(f"t{step}_bands")
        folder = sample_root / "sentinel2" / image_name
        assert tci.files == (str(folder / "tci" / f"{spec.tile}.png"),)
        assert tci.display_bands == ("tci_r", "tci_g", "tci_b")
        assert bands.files == tuple(str(folder / b / f"{spec.tile}.png") for b in corpus.S2_BANDS)
        for image in (tci, bands):
            assert (image.width, image.height, image.encoding) == (512, 512, "uint8")
    assert sample.acquired == tuple(
        corpus.IMAGE_TIMES[n].replace("+00:00", "Z") for n in spec.s2_images
    )
    west, south, east, north = tile_bounds(spec.col, spec.row, 13)
    assert shapely.from_wkt(sample.footprint_wkt).bounds == pytest.approx(
        (west, south, east, north), abs=1e-8
    )
    assert 46.5 < south < north < 47.7 and -122.9 < west < east < -120.1  # Washington State
    assert sample.gsd_m == pytest.approx(tile_gsd_m(spec.row, 13, 512), abs=1e-4)
    assert 6.4 < sample.gsd_m < 6.6
    assert sample.labels.rasters == {
        "land_cover": str(sample_root / "static" / spec.tile / "land_cover.png")
    }
    assert sample.labels.properties["static_image_role"] == f"t{n - 1}"
    assert sample.tags["mgrs_tile"] == spec.s2_images[0].split("_T")[-1][:5]
    assert sample.tags["image_count"] == str(n)
    assert sample.tags["processing_level"] == "L1C"

    # every static feature is an object on the newest image, coordinates / 16
    vector = _vector(sample_root, spec.tile)
    static = [o for o in sample.labels.objects if o.uid.startswith("static/")]
    expected = [
        (category, k)
        for category, features in vector.items()
        if category not in ("smoke", "snow")
        for k in range(len(features))
    ]
    assert [tuple(o.uid.split("/")[1:]) for o in static] == [(c, str(k)) for c, k in expected]
    for ob in static:
        category, k = ob.uid.split("/")[1:]
        geometry = vector[category][int(k)]["Geometry"]
        assert ob.image_role == f"t{n - 1}"
        x1, y1, x2, y2 = ob.bbox
        assert 0 <= x1 < x2 <= 512 and 0 <= y1 < y2 <= 512
        shape = shapely.from_wkt(ob.polygon_wkt)
        if geometry["Type"] == "polygon":
            ring = np.array(geometry["Polygon"][0], dtype=float) / 16
            assert list(shape.exterior.coords) == [tuple(p) for p in ring]
            assert ob.bbox == pytest.approx((*ring.min(axis=0), *ring.max(axis=0)))
        elif geometry["Type"] == "point":
            x, y = np.array(geometry["Point"], dtype=float) / 16
            assert (shape.x, shape.y) == (x, y)
            assert ob.bbox == pytest.approx((x - 2, y - 2, x + 2, y + 2))
        else:
            line = np.array(geometry["Polyline"], dtype=float) / 16
            assert list(shape.coords) == [tuple(p) for p in line]
            assert ob.bbox[0] == pytest.approx(max(0.0, line[:, 0].min() - 1))
    assert sample_from_row(samples_table([sample]).to_pylist()[0]) == sample


def test_tile_specific_labels(sample_root: Path) -> None:
    adapter = SatlasPretrain(sample_root)
    [centralia] = adapter.read_unit("sentinel2/1300_2889")
    kinds = {(o.category, o.attribute) for o in centralia.labels.objects}
    assert {("power_plant", "coal"), ("quarry", "coal"), ("road", "secondary")} <= kinds
    assert centralia.labels.properties["smoke"] == "partial"  # class index 1
    assert "absent_categories" not in centralia.labels.properties

    [wild_horse] = adapter.read_unit("sentinel2/1360_2881")
    turbines = [o for o in wild_horse.labels.objects if o.category == "wind_turbine"]
    assert len(turbines) == 12
    assert wild_horse.labels.properties["snow"] == "no"
    assert wild_horse.tags["label_categories"] == "power_substation,road,solar_farm,wind_turbine"
    # the solar farm is built between the two images: dark in t1, not in t0
    [solar] = [o for o in wild_horse.labels.objects if o.category == "solar_farm"]
    x1, y1, x2, y2 = (int(v) for v in solar.bbox)
    old = np.asarray(Image.open(wild_horse.image("t0").files[0]))[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
    new = np.asarray(Image.open(wild_horse.image("t1").files[0]))[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2]
    assert new.mean() < 60 < old.mean()

    [seattle] = adapter.read_unit("sentinel2/1311_2861")
    assert seattle.labels.properties["absent_categories"] == "power_substation"
    vessels = [o for o in seattle.labels.objects if o.category == "vessel"]
    assert len(vessels) == 3
    assert {o.image_role for o in vessels} == {"t0"}  # the dynamic label's ImageName
    assert {o.uid.split("/")[0] for o in vessels} == {corpus.DYNAMIC_FOLDER}
    tci = np.asarray(Image.open(seattle.image("t0").files[0]))
    for ob in vessels:  # a bright vessel inside each box, on dark water
        x1, y1, x2, y2 = (int(v) for v in ob.bbox)
        assert tci[y1:y2, x1:x2].max() > 200
    [pier] = [o for o in seattle.labels.objects if o.uid == "static/pier/0"]
    assert pier.attribute == "" and pier.image_role == "t1"
    [park] = [o for o in seattle.labels.objects if o.category == "park"]
    assert park.attribute == "park"


def test_max_images_keeps_the_newest(sample_root: Path) -> None:
    [sample] = SatlasPretrain(sample_root, {"max_images": 1}).read_unit("sentinel2/1311_2861")
    assert [im.role for im in sample.images] == ["t0", "t0_bands"]
    assert corpus.SEATTLE_NEW in sample.image("t0").files[0]
    assert {o.image_role for o in sample.labels.objects} == {"t0"}
    assert not any(o.category == "vessel" for o in sample.labels.objects)  # its image is gone
    assert sample.labels.properties["static_image_role"] == "t0"


def test_reads_sentinel1_tile(sample_root: Path) -> None:
    [sample] = SatlasPretrain(sample_root, BOTH).read_unit("sentinel1/1311_2861")
    assert (sample.modality, sample.sensor, sample.split) == ("sar", "Sentinel-1 C-SAR", "train")
    [image] = sample.images
    folder = sample_root / "sentinel1" / corpus.S1_IMAGE
    assert image.role == "t0" and image.bands == ("vh", "vv")
    assert image.files == (str(folder / "vh/1311_2861.png"), str(folder / "vv/1311_2861.png"))
    assert image.display_bands == ("vv",)
    assert sample.acquired == ("2022-08-01T00:00:00Z",)
    assert {o.image_role for o in sample.labels.objects} == {"t0"}
    assert not any(o.category == "vessel" for o in sample.labels.objects)  # an S2 image's label
    assert "platform" not in sample.tags


@pytest.mark.parametrize(
    "unit", ["sentinel2/1311_2861", "sentinel2/1360_2881", "sentinel1/1311_2861"]
)
def test_good_samples_pass_scores_and_render(sample_root: Path, unit: str) -> None:
    [sample] = SatlasPretrain(sample_root, BOTH).read_unit(unit)
    assert count_tag_fields(sample) >= 3
    assert geolocation_problem(sample) == ""
    for image in sample.images:
        scores = image_scores(image, dark_level=0.02, bright_level=0.98)
        assert scores.valid_fraction == 1.0
        assert 0.04 < scores.brightness < 0.95
        rgb = render_rgb(image)
        assert rgb.shape == (3, image.height, image.width) and rgb.dtype == np.uint8
    first = sample.images[0]
    shown = np.moveaxis(render_rgb(first), 0, -1)
    if unit.startswith("sentinel2"):  # the tci pixels as they are
        assert np.array_equal(shown, np.asarray(Image.open(first.files[0])))
    else:  # grey VV
        vv = np.asarray(Image.open(first.band_file("vv")))
        assert all(np.array_equal(shown[:, :, i], vv) for i in range(3))


def test_bad_truncated_tci_fails_at_score(sample_root: Path) -> None:
    [sample] = SatlasPretrain(sample_root).read_unit("sentinel2/1312_2861")  # header intact
    assert count_tag_fields(sample) >= 3 and geolocation_problem(sample) == ""
    image_scores(sample.image("t0_bands"), 0.02, 0.98)
    with pytest.raises(RasterReadError) as err:
        image_scores(sample.image("t0"), 0.02, 0.98)
    assert err.value.kind == "corrupt_raster"
    assert "tci/1312_2861.png" in str(err.value)


def test_bad_malformed_vector(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        SatlasPretrain(sample_root).read_unit("sentinel2/1311_2862")
    assert err.value.kind == "malformed_label"
    assert "static/1311_2862/vector.json" in str(err.value)


def test_bad_missing_band(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        SatlasPretrain(sample_root).read_unit("sentinel2/1312_2862")
    assert err.value.kind == "missing_band"
    assert f"{corpus.SEATTLE_NEW}/b08/1312_2862.png" in str(err.value)


def test_bad_units_constant_matches_outcomes(sample_root: Path) -> None:
    adapter = SatlasPretrain(sample_root)
    for unit, outcome in corpus.BAD_TILES.items():
        kind = outcome.split()[0]
        if "(ingest)" in outcome:
            with pytest.raises(SourceError) as err:
                adapter.read_unit(unit)
            assert err.value.kind == kind
        else:
            [sample] = adapter.read_unit(unit)
            with pytest.raises(RasterReadError) as raster_err:
                for image in sample.images:
                    image_scores(image, 0.02, 0.98)
            assert raster_err.value.kind == kind


def test_unit_files(sample_root: Path) -> None:
    files = SatlasPretrain(sample_root).unit_files("sentinel2/1311_2861")
    names = {str(p.relative_to(sample_root)) for p in files}
    assert "static/1311_2861/vector.json" in names
    assert f"dynamic/1311_2861/{corpus.DYNAMIC_FOLDER}/vector.json" in names
    assert f"sentinel2/{corpus.SEATTLE_OLD}/b11/1311_2861.png" in names
    assert "metadata/image_times.json" in names
    assert not any("1312_2861" in n for n in names)
    assert SatlasPretrain(sample_root).unit_files("nonsense") == []


# -- real layout material: torchgeo's fixture ----------------------------------------------------


def test_torchgeo_fixture(peer_data: Path) -> None:
    root = peer_data / TORCHGEO
    adapter = SatlasPretrain(root, {"sensors": ["sentinel2", "sentinel1", "landsat", "naip"]})
    units = adapter.list_units()
    # the fixture lists the NAIP image in the low-res list with zoom-13-like ids; NAIP files
    # are zoom-17 tiles, so these become zoom-17 units with no applicable split file
    assert units == sorted(
        f"{sensor}/{tile}"
        for sensor in ("sentinel2", "sentinel1", "landsat", "naip")
        for tile in ("7149_3246", "1234_5678")
    )

    [s2] = adapter.read_unit("sentinel2/7149_3246")
    assert s2.split == "train"
    assert s2.acquired == ("2022-03-09T06:02:35Z",)  # image_times.json, not the name
    assert [(im.role, im.width, im.height) for im in s2.images] == [
        ("t0", 32, 32),
        ("t0_bands", 32, 32),
    ]
    assert s2.image("t0").files == (str(root / "sentinel2" / TORCHGEO_S2 / "tci/7149_3246.png"),)
    assert s2.labels.rasters == {"land_cover": str(root / "static/7149_3246/land_cover.png")}
    assert s2.tags["mgrs_tile"] == "48RYR" and s2.tags["platform"] == "Sentinel-2A"
    assert s2.gsd_m == pytest.approx(tile_gsd_m(3246, 13, 32), abs=1e-4)  # 32-px fixture PNGs
    assert shapely.from_wkt(s2.footprint_wkt).bounds == pytest.approx(
        tile_bounds(7149, 3246, 13), abs=1e-8
    )
    assert s2.labels.objects == ()

    [other] = adapter.read_unit("sentinel2/1234_5678")
    assert other.labels.rasters == {}  # no static folder for this tile

    [landsat] = adapter.read_unit("landsat/7149_3246")
    [image] = landsat.images
    assert image.bands == tuple(f"b{i}" for i in range(1, 12))
    assert (image.width, image.height) == (32, 32)  # b8 is 32 px; b1-b7, b9, b10 16; b11 8
    assert image.display_bands == ("b4", "b3", "b2")
    assert landsat.acquired == ("2022-03-01T00:00:00Z",)

    [s1] = adapter.read_unit("sentinel1/1234_5678")
    assert s1.images[0].bands == ("vh", "vv") and s1.acquired == ("2022-01-01T00:00:00Z",)

    [naip] = adapter.read_unit("naip/7149_3246")
    assert [im.role for im in naip.images] == ["t0", "t0_bands"]
    assert naip.image("t0_bands").bands == ("ir",)
    assert (naip.split, naip.tags["zoom"], naip.tags["label_tile"]) == ("", "17", "446_202")
    assert naip.acquired == ("2011-08-01T12:00:00Z",)

    # the fixture's PNGs are all zero: they read, render black and would be dropped as dark
    scores = image_scores(s2.image("t0"), 0.02, 0.98)
    assert scores.brightness == 0.0 and scores.valid_fraction == 1.0
    assert render_rgb(landsat.images[0]).max() == 0


# -- NAIP windows, scanning, edge cases ------------------------------------------------------------


def _png(path: Path, mode: str = "L", size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, (size, size), 90 if mode == "L" else (90, 100, 80)).save(path)


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def _naip_root(tmp_path: Path) -> Path:
    # zoom-17 tile (1311*16 + 3, 2861*16 + 5) lies in zoom-13 tile 1311_2861 at x 1536, y 2560
    root = tmp_path / "naip_root"
    col, row = 1311 * 16 + 3, 2861 * 16 + 5
    for name in ("m_4712201_ne_10_060_20190724", "m_4712201_ne_10_060_20210712"):
        _png(root / "naip" / name / "tci" / f"{col}_{row}.png", "RGB", 512)
        _png(root / "naip" / name / "ir" / f"{col}_{row}.png", "L", 512)
    _write(
        root / "metadata/good_images_highres_all.json",
        [[col, row, "m_4712201_ne_10_060_20190724"], [col, row, "m_4712201_ne_10_060_20210712"]],
    )
    _write(root / "metadata/image_times.json", {})  # times come from the NAIP names
    _write(root / "metadata/train_highres.json", [[1311, 2861]])
    _write(
        root / "static/1311_2861/vector.json",
        {
            "wind_turbine": [{"Geometry": {"Type": "point", "Point": [1600, 2600]}}],
            "power_plant": [
                {
                    "Geometry": {
                        "Type": "polygon",
                        "Polygon": [[[100, 100], [300, 100], [300, 300]]],
                    },
                    "Properties": {"plant_type": "gas"},
                }
            ],
        },
    )
    _png(root / "static/1311_2861/land_cover.png", "L", 512)
    return root


def test_naip_tile_window(tmp_path: Path) -> None:
    root = _naip_root(tmp_path)
    adapter = SatlasPretrain(root, {"sensors": ["naip"]})
    unit = f"naip/{1311 * 16 + 3}_{2861 * 16 + 5}"
    assert adapter.list_units() == [unit]
    [sample] = adapter.read_unit(unit)
    assert sample.split == "train" and sample.modality == "rgb"
    assert sample.acquired == ("2019-07-24T00:00:00Z", "2021-07-12T00:00:00Z")
    [turbine] = sample.labels.objects
    # label unit = NAIP pixel; the sub-tile starts at (3 * 512, 5 * 512) = (1536, 2560)
    assert turbine.bbox == pytest.approx((64 - 32, 40 - 32, 64 + 32, 40 + 32))
    assert turbine.image_role == "t1"
    assert sample.labels.properties["absent_categories"] == "power_plant"  # outside this tile
    assert sample.labels.rasters == {}  # a zoom-13 raster does not fit a NAIP tile
    assert sample.gsd_m == pytest.approx(tile_gsd_m(2861 * 16 + 5, 17, 512), abs=1e-4)
    assert 0.39 < sample.gsd_m < 0.41


def test_scans_sensor_absent_from_image_lists(tmp_path: Path) -> None:
    root = tmp_path / "scan"
    for band in ("vh", "vv"):
        _png(root / "sentinel1" / "2022-05" / band / "10_20.png")
    _write(root / "metadata/image_times.json", {"2022-05": "2022-05-01T00:00:00+00:00"})
    _write(root / "metadata/good_images_lowres_all.json", [])
    adapter = SatlasPretrain(root, {"sensors": ["sentinel1"]})
    assert adapter.list_units() == ["sentinel1/10_20"]
    [sample] = adapter.read_unit("sentinel1/10_20")
    assert sample.split == "" and sample.acquired == ("2022-05-01T00:00:00Z",)


def _copy_tile(sample_root: Path, tmp_path: Path, tile: str = "1300_2889") -> Path:
    root = tmp_path / "copy"
    shutil.copytree(sample_root / "metadata", root / "metadata")
    shutil.copytree(sample_root / "static" / tile, root / "static" / tile)
    for image in (sample_root / "sentinel2").iterdir():
        for band in image.iterdir():
            src = band / f"{tile}.png"
            if src.is_file():
                (root / "sentinel2" / image.name / band.name).mkdir(parents=True)
                shutil.copy(src, root / "sentinel2" / image.name / band.name)
    return root


def test_bad_geometry_is_malformed(tmp_path: Path, sample_root: Path) -> None:
    root = _copy_tile(sample_root, tmp_path)
    path = root / "static/1300_2889/vector.json"
    data = json.loads(path.read_text())
    data["power_plant"][0]["Geometry"]["Polygon"] = [[[1, 2], [3]]]
    path.write_text(json.dumps(data))
    with pytest.raises(SourceError) as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "malformed_label"
    assert "power_plant[0]" in str(err.value) and "vector.json" in str(err.value)
    data["power_plant"][0]["Geometry"] = {"Type": "circle"}
    path.write_text(json.dumps(data))
    with pytest.raises(SourceError, match="circle"):
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")


def test_dynamic_label_without_image_name(tmp_path: Path, sample_root: Path) -> None:
    root = _copy_tile(sample_root, tmp_path)
    _write(root / "dynamic/1300_2889/flood_3/vector.json", {"metadata": {"Start": "x"}})
    with pytest.raises(SourceError) as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "malformed_label"
    assert "flood_3/vector.json" in str(err.value)


def test_bad_image_time_is_bad_metadata(tmp_path: Path, sample_root: Path) -> None:
    root = _copy_tile(sample_root, tmp_path)
    times = json.loads((root / "metadata/image_times.json").read_text())
    times[corpus.CENTRALIA_NEW] = "July 2022"
    _write(root / "metadata/image_times.json", times)
    with pytest.raises(SourceError) as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "bad_metadata"
    assert "image_times.json" in str(err.value)


def test_unreadable_or_wrong_mode_png_is_corrupt(tmp_path: Path, sample_root: Path) -> None:
    root = _copy_tile(sample_root, tmp_path)
    tci = root / "sentinel2" / corpus.CENTRALIA_OLD / "tci/1300_2889.png"
    tci.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(SourceError) as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "corrupt_raster" and str(tci) in str(err.value)
    _png(tci, "L", 512)  # a grey tci
    with pytest.raises(SourceError, match="mode L") as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "corrupt_raster"


def test_image_without_tci_is_skipped(tmp_path: Path, sample_root: Path) -> None:
    root = _copy_tile(sample_root, tmp_path)
    (root / "sentinel2" / corpus.CENTRALIA_OLD / "tci/1300_2889.png").unlink()
    (root / "sentinel2" / corpus.CENTRALIA_MID / "tci/1300_2889.png").unlink()
    [sample] = SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert corpus.CENTRALIA_NEW in sample.image("t0").files[0]
    assert len(sample.images) == 2
    (root / "sentinel2" / corpus.CENTRALIA_NEW / "tci/1300_2889.png").unlink()
    with pytest.raises(SourceError) as err:
        SatlasPretrain(root).read_unit("sentinel2/1300_2889")
    assert err.value.kind == "missing_file"


def test_missing_root_and_metadata_mention_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        SatlasPretrain(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"image_times\.json.*params\.yaml"):
        SatlasPretrain(tmp_path).list_units()
    _write(tmp_path / "metadata/image_times.json", {})
    with pytest.raises(SourceNotFoundError, match=r"sentinel2/.*params\.yaml"):
        SatlasPretrain(tmp_path).list_units()
    (tmp_path / "sentinel2").mkdir()
    with pytest.raises(SourceNotFoundError, match=r"train_event\.json"):
        SatlasPretrain(tmp_path, {"splits": ["train_event"]}).list_units()
    _write(tmp_path / "metadata/good_images_lowres_all.json", [[1, 2]])
    with pytest.raises(SourceNotFoundError, match="not \\[col, row, image name\\]"):
        SatlasPretrain(tmp_path).list_units()


@pytest.mark.parametrize(
    "options",
    [
        {"sensors": ["modis"]},
        {"sensors": []},
        {"max_images": 0},
        {"max_images": "4"},
        {"splits": []},
    ],
)
def test_bad_options(tmp_path: Path, options: dict) -> None:
    with pytest.raises(ValueError):
        SatlasPretrain(tmp_path, options)


def test_bad_unit_id(sample_root: Path) -> None:
    with pytest.raises(ValueError, match="sensor"):
        SatlasPretrain(sample_root).read_unit("modis/1_2")
