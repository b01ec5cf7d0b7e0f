"""Tests of the xBD adapter (sources/xbd/adapter.py) and its sample-corpus writer."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.xbd import sample as corpus
from eoinstruct.sources.xbd.adapter import XBD
from eoinstruct.sources.xbd.georeference import MAX_FIT_RMS_PX, fit_pixel_to_lonlat

JOPLIN = "microsoft__building-damage-assessment-cnn-siamese/eval/test_data"
MATTHEW = "DIUx-xView__xView2-deploy/sample_data/input"
TORCHGEO = "microsoft__torchgeo/tests/data/xview2"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("xbd") / "xbd"
    corpus.write(root, seed=7)
    return root


def _label(root: Path, spec: corpus.TileSpec, phase: str) -> dict:
    path = root / spec.folder / "labels" / f"{spec.stem}_{phase}_disaster.json"
    return json.loads(path.read_text())


def _iso(text: str) -> str:
    return text.split(".")[0] + "Z"


def _write_png(path: Path, size: int = 1024) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size)).save(path)


def _blank_label(img_name: str) -> dict:
    metadata = dict(corpus.BLANK_METADATA, img_name=img_name)
    return {"features": {"lng_lat": [], "xy": []}, "metadata": metadata}


# -- the sample corpus writer --------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", seed=7)
    first, second = _tree(sample_root), _tree(tmp_path / "again")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    # 16 tiles x (2 labels + 2 targets + 2 images), minus the missing post image of 904
    assert len(first) == 16 * 6 - 1
    assert sum(len(v) for v in first.values()) < 2_000_000


def test_writer_seed_changes_pixels(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "other", seed=8)
    name = "train/images/joplin-tornado_00000023_pre_disaster.png"
    assert (tmp_path / "other" / name).read_bytes() != (sample_root / name).read_bytes()


def test_writer_images_and_targets_look_right(sample_root: Path) -> None:
    for spec in corpus.GOOD_TILES:
        for phase in ("pre", "post"):
            image = Image.open(
                sample_root / spec.folder / "images" / f"{spec.stem}_{phase}_disaster.png"
            )
            assert (image.mode, image.size) == ("RGB", (256, 256))
            pixels = np.asarray(image)
            assert pixels.std() > 5  # textured, not constant
            target = Image.open(
                sample_root / spec.folder / "targets" / f"{spec.stem}_{phase}_disaster_target.png"
            )
            assert target.mode == "L"
            values = set(np.unique(np.asarray(target)).tolist())
            subtypes = {
                f["properties"].get("subtype")
                for f in _label(sample_root, spec, phase)["features"]["xy"]
            }
            if phase == "pre":
                assert values == {0, 1}
            else:
                assert values == {0} | {corpus.SUBTYPE_CODES[s] for s in subtypes}


def test_writer_label_schema_and_mix(sample_root: Path) -> None:
    subtypes: Counter[str] = Counter()
    for spec in corpus.GOOD_TILES:
        pre, post = _label(sample_root, spec, "pre"), _label(sample_root, spec, "post")
        assert list(post) == ["features", "metadata"]
        assert list(post["metadata"]) == list(corpus.BLANK_METADATA)
        assert post["metadata"]["disaster"] == spec.disaster
        assert post["metadata"]["sensor"] == "WORLDVIEW02"
        assert 2 <= len(post["features"]["xy"]) <= 12
        assert len(post["features"]["xy"]) == len(post["features"]["lng_lat"]) == spec.buildings
        assert all("subtype" not in f["properties"] for f in pre["features"]["xy"])
        assert all(
            set(f["properties"]) == {"feature_type", "subtype", "uid"}
            for f in post["features"]["xy"]
        )
        subtypes.update(f["properties"]["subtype"] for f in post["features"]["xy"])
    assert set(subtypes) == {
        "no-damage",
        "minor-damage",
        "major-damage",
        "destroyed",
        "un-classified",
    }


# -- the adapter on the sample corpus ------------------------------------------------------------


def test_lists_every_tile(sample_root: Path) -> None:
    units = XBD(sample_root).list_units()
    expected = {f"{s.folder}/{s.stem}" for s in corpus.GOOD_TILES}
    expected |= {f"train/{name}" for name in corpus.BAD_TILES}
    assert units == sorted(expected)
    assert XBD(sample_root, {"splits": ["test"]}).list_units() == sorted(
        f"test/{s.stem}" for s in corpus.GOOD_TILES if s.folder == "test"
    )


@pytest.mark.parametrize("spec", corpus.GOOD_TILES, ids=lambda s: s.stem)
def test_reads_good_tile(sample_root: Path, spec: corpus.TileSpec) -> None:
    adapter = XBD(sample_root)
    [sample] = adapter.read_unit(f"{spec.folder}/{spec.stem}")
    pre, post = _label(sample_root, spec, "pre"), _label(sample_root, spec, "post")

    assert sample.sample_id == f"xbd:{spec.stem}"
    assert (sample.source, sample.native_id, sample.modality) == ("xbd", spec.stem, "rgb")
    assert sample.sensor == "WorldView-2"
    assert sample.bands == ("R", "G", "B")
    # GSD is the fitted pixel size (spherical Earth), within 1 % of the writer's pixel size.
    assert sample.gsd_m == pytest.approx(spec.gsd, rel=0.01)
    assert sample.labels.properties["metadata_gsd_m"] == f"{spec.gsd:g}"
    assert sample.split == spec.folder
    assert sample.licence == "CC-BY-NC-SA-4.0"
    assert [im.role for im in sample.images] == ["pre", "post"]
    for image in sample.images:
        assert (image.width, image.height, image.encoding) == (256, 256, "uint8")
        assert image.files == (
            str(sample_root / spec.folder / "images" / f"{spec.stem}_{image.role}_disaster.png"),
        )
    assert sample.acquired == (
        _iso(pre["metadata"]["capture_date"]),
        _iso(post["metadata"]["capture_date"]),
    )
    assert sample.tags == {
        "disaster": spec.disaster,
        "disaster_type": spec.disaster_type,
        "sensor": "WORLDVIEW02",
    }
    assert sample.labels.properties == {
        "disaster": spec.disaster,
        "disaster_type": spec.disaster_type,
        "metadata_gsd_m": f"{spec.gsd:g}",
    }

    written = post["features"]["xy"]
    objects = sample.labels.objects
    assert len(objects) == len(written) == spec.buildings
    assert [o.attribute for o in objects] == [f["properties"]["subtype"] for f in written]
    assert [o.uid for o in objects] == [f["properties"]["uid"] for f in written]
    assert [o.polygon_wkt for o in objects] == [f["wkt"] for f in written]
    for ob in objects:
        assert (ob.category, ob.image_role) == ("building", "post")
        x1, y1, x2, y2 = ob.bbox
        assert 0 <= x1 < x2 <= 256 and 0 <= y1 < y2 <= 256
        assert ob.bbox == pytest.approx(shapely.from_wkt(ob.polygon_wkt).bounds)

    assert sample.crs == "EPSG:4326"
    a, b, c, d, e, f = corpus.tile_affine(spec)
    expected = {
        (a * x + b * y + c, d * x + e * y + f) for x, y in ((0, 0), (256, 0), (256, 256), (0, 256))
    }
    got = list(shapely.from_wkt(sample.footprint_wkt).exterior.coords)[:-1]
    assert len(got) == 4
    for point in got:
        nearest = min(expected, key=lambda p: abs(p[0] - point[0]) + abs(p[1] - point[1]))
        assert point == pytest.approx(nearest, abs=1e-6)
    assert sample_from_row(samples_table([sample]).to_pylist()[0]) == sample


def test_fit_recovers_writer_affine(sample_root: Path) -> None:
    spec = corpus.GOOD_TILES[0]
    post = _label(sample_root, spec, "post")
    pixels, world = [], []
    for pix, geo in zip(post["features"]["xy"], post["features"]["lng_lat"], strict=True):
        pixels += list(shapely.from_wkt(pix["wkt"]).exterior.coords)[:-1]
        world += list(shapely.from_wkt(geo["wkt"]).exterior.coords)[:-1]
    fit = fit_pixel_to_lonlat(pixels, world)
    assert fit is not None
    assert fit.n_points == 4 * spec.buildings
    assert fit.rms_px < 1e-3
    assert fit.coefficients == pytest.approx(corpus.tile_affine(spec), rel=1e-6, abs=1e-9)
    width_m, height_m = fit.pixel_size_m()
    assert width_m == pytest.approx(spec.gsd, rel=0.01)
    assert height_m == pytest.approx(spec.gsd, rel=0.01)


def test_bad_tile_900_truncated_post_label(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        XBD(sample_root).read_unit("train/hurricane-harvey_00000900")
    assert err.value.kind == "malformed_label"
    assert "hurricane-harvey_00000900_post_disaster.json" in str(err.value)


def test_bad_tile_901_black_pre_image(sample_root: Path) -> None:
    [sample] = XBD(sample_root).read_unit("train/hurricane-harvey_00000901")
    assert np.asarray(Image.open(sample.image("pre").files[0])).max() == 0
    assert np.asarray(Image.open(sample.image("post").files[0])).max() > 0
    assert sample.crs == "EPSG:4326"  # only its darkness is wrong
    assert len(sample.labels.objects) == 4


def test_bad_tile_902_blank_metadata(sample_root: Path) -> None:
    [sample] = XBD(sample_root).read_unit("train/hurricane-harvey_00000902")
    assert sample.tags == {}
    assert sample.sensor == "Maxar VHR"
    assert sample.gsd_m is not None  # no metadata gsd, but the fit gives the pixel size
    assert sample.acquired == ()
    assert sample.labels.properties == {"disaster": "hurricane-harvey"}  # from the file name
    assert [o.attribute for o in sample.labels.objects] == ["no-damage"]
    assert sample.crs == "EPSG:4326"  # one building's 4 vertices suffice for the fit


def test_bad_tile_903_no_buildings(sample_root: Path) -> None:
    [sample] = XBD(sample_root).read_unit("train/hurricane-harvey_00000903")
    assert sample.labels.objects == ()
    assert (sample.crs, sample.footprint_wkt) == ("", "")
    assert sample.tags["disaster"] == "hurricane-harvey"


def test_bad_tile_904_missing_post_image(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        XBD(sample_root).read_unit("train/hurricane-harvey_00000904")
    assert err.value.kind == "missing_file"
    assert "images/hurricane-harvey_00000904_post_disaster.png" in str(err.value)
    assert "pre_disaster" not in str(err.value)


# -- real labels and images ------------------------------------------------------------------------


def test_real_joplin_labels(tmp_path: Path, peer_data: Path) -> None:
    # The real images of this tile are not in the peer data: blank 1024x1024 PNGs stand in.
    for phase in ("pre", "post"):
        name = f"joplin-tornado_00000050_{phase}_disaster"
        (tmp_path / "train" / "labels").mkdir(parents=True, exist_ok=True)
        shutil.copy(peer_data / JOPLIN / f"{name}.json", tmp_path / "train" / "labels")
        _write_png(tmp_path / "train" / "images" / f"{name}.png")
    adapter = XBD(tmp_path)
    assert adapter.list_units() == ["train/joplin-tornado_00000050"]
    [sample] = adapter.read_unit("train/joplin-tornado_00000050")

    assert Counter(o.attribute for o in sample.labels.objects) == {
        "destroyed": 11,
        "major-damage": 3,
        "un-classified": 1,
    }
    assert {o.category for o in sample.labels.objects} == {"building"}
    assert sample.labels.properties == {
        "disaster": "joplin-tornado",
        "disaster_type": "wind",
        "metadata_gsd_m": "2.35256",
    }
    assert sample.tags == {
        "disaster": "joplin-tornado",
        "disaster_type": "wind",
        "sensor": "WORLDVIEW02",
    }
    assert sample.sensor == "WorldView-2"  # the pre image is QUICKBIRD02; the post one counts
    # Metadata gsd 2.35 m is the multispectral GSD; the fitted pixel is about 0.45 m.
    assert sample.gsd_m == pytest.approx(0.45, abs=0.01)
    assert sample.acquired == ("2009-08-08T17:16:20Z", "2011-05-29T17:29:25Z")
    for ob in sample.labels.objects:
        assert all(0 <= v <= 1024 for v in ob.bbox)

    assert sample.crs == "EPSG:4326"
    footprint = shapely.from_wkt(sample.footprint_wkt)
    lon_min, lat_min, lon_max, lat_max = footprint.bounds
    # Joplin, Missouri, in the May 2011 tornado's path
    assert -94.48 < lon_min < lon_max < -94.46
    assert 37.06 < lat_min < lat_max < 37.07
    assert footprint.contains(shapely.Point(-94.47198371532167, 37.06913401000385))  # a building

    post = json.loads(
        (tmp_path / "train/labels/joplin-tornado_00000050_post_disaster.json").read_text()
    )
    pixels, world = [], []
    by_uid = {f["properties"]["uid"]: f["wkt"] for f in post["features"]["lng_lat"]}
    for feature in post["features"]["xy"]:
        pixels += list(shapely.from_wkt(feature["wkt"]).exterior.coords)[:-1]
        world += list(shapely.from_wkt(by_uid[feature["properties"]["uid"]]).exterior.coords)[:-1]
    fit = fit_pixel_to_lonlat(pixels, world)
    assert fit is not None
    assert fit.n_points == 132
    assert fit.rms_px < 0.01 and fit.max_px < 0.01
    assert fit.pixel_size_m() == pytest.approx((0.45, 0.45), abs=0.01)


def test_real_matthew_images(tmp_path: Path, peer_data: Path) -> None:
    # No label JSON exists for this tile: a minimal one in the real schema, with no buildings.
    for phase in ("pre", "post"):
        name = f"hurricane-matthew_00000351_{phase}_disaster"
        (tmp_path / "test" / "images").mkdir(parents=True, exist_ok=True)
        (tmp_path / "test" / "labels").mkdir(parents=True, exist_ok=True)
        shutil.copy(peer_data / MATTHEW / phase / f"{name}.png", tmp_path / "test" / "images")
        (tmp_path / "test" / "labels" / f"{name}.json").write_text(
            json.dumps(_blank_label(f"{name}.png"))
        )
    [sample] = XBD(tmp_path).read_unit("test/hurricane-matthew_00000351")
    assert [(im.role, im.width, im.height) for im in sample.images] == [
        ("pre", 1024, 1024),
        ("post", 1024, 1024),
    ]
    assert (sample.crs, sample.footprint_wkt) == ("", "")
    assert sample.split == "test"
    assert sample.labels.properties == {"disaster": "hurricane-matthew"}


def test_torchgeo_fixture_has_no_labels(peer_data: Path) -> None:
    adapter = XBD(peer_data / TORCHGEO)
    units = adapter.list_units()
    assert units == [
        "test/hurricane-michael_00000105",
        "test/hurricane-michael_00000450",
        "train/hurricane-harvey_00000072",
        "train/hurricane-harvey_00000471",
    ]
    for unit in units:
        with pytest.raises(SourceError) as err:
            adapter.read_unit(unit)
        assert err.value.kind == "missing_file"
        folder, stem = unit.split("/")
        assert str(peer_data / TORCHGEO / folder / "labels" / f"{stem}_post_disaster.json") in str(
            err.value
        )


# -- edge cases ------------------------------------------------------------------------------------


def test_missing_root_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        XBD(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        XBD(tmp_path).list_units()  # exists but holds no split folder


def test_unknown_split_option(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="validation"):
        XBD(tmp_path, {"splits": ["validation"]})


def _copy_tile(src_root: Path, spec: corpus.TileSpec, dst_root: Path, folder: str) -> None:
    for sub in ("images", "labels"):
        (dst_root / folder / sub).mkdir(parents=True, exist_ok=True)
        for path in (src_root / spec.folder / sub).glob(f"{spec.stem}_*"):
            shutil.copy(path, dst_root / folder / sub)


def test_same_tile_in_two_folders_keeps_folder(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_TILES[0]
    _copy_tile(sample_root, spec, tmp_path, "train")
    _copy_tile(sample_root, spec, tmp_path, "hold")
    adapter = XBD(tmp_path, {"splits": ["hold"]})
    [sample] = adapter.read_unit(f"hold/{spec.stem}")
    assert sample.sample_id == f"xbd:hold/{spec.stem}"
    assert sample.split == "validation"


def _edit_post_label(tmp_path: Path, sample_root: Path, edit) -> str:
    spec = corpus.GOOD_TILES[5]
    _copy_tile(sample_root, spec, tmp_path, "tier3")
    path = tmp_path / "tier3" / "labels" / f"{spec.stem}_post_disaster.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    return f"tier3/{spec.stem}"


def test_bad_wkt_is_malformed(tmp_path: Path, sample_root: Path) -> None:
    def edit(data: dict) -> None:
        data["features"]["xy"][0]["wkt"] = "POLYGON ((1 2, 3"

    unit = _edit_post_label(tmp_path, sample_root, edit)
    with pytest.raises(SourceError) as err:
        XBD(tmp_path).read_unit(unit)
    assert err.value.kind == "malformed_label"
    assert "post_disaster.json" in str(err.value)


def test_missing_features_is_malformed(tmp_path: Path, sample_root: Path) -> None:
    unit = _edit_post_label(tmp_path, sample_root, lambda data: data.pop("features"))
    with pytest.raises(SourceError) as err:
        XBD(tmp_path).read_unit(unit)
    assert err.value.kind == "malformed_label"


def test_bad_capture_date_is_bad_metadata(tmp_path: Path, sample_root: Path) -> None:
    unit = _edit_post_label(
        tmp_path, sample_root, lambda data: data["metadata"].update(capture_date="last Tuesday")
    )
    with pytest.raises(SourceError) as err:
        XBD(tmp_path).read_unit(unit)
    assert err.value.kind == "bad_metadata"


def test_inconsistent_lonlat_gives_no_footprint(tmp_path: Path, sample_root: Path) -> None:
    def edit(data: dict) -> None:  # pair every building's pixels with another one's lon/lat
        shapes = [f["wkt"] for f in data["features"]["lng_lat"]]
        for feature, wkt in zip(data["features"]["lng_lat"], shapes[1:] + shapes[:1], strict=True):
            feature["wkt"] = wkt

    unit = _edit_post_label(tmp_path, sample_root, edit)
    # the post fit is off by far more than MAX_FIT_RMS_PX; the pre label still georeferences
    [sample] = XBD(tmp_path).read_unit(unit)
    assert sample.crs == "EPSG:4326"
    pre = tmp_path / "tier3" / "labels" / f"{corpus.GOOD_TILES[5].stem}_pre_disaster.json"
    data = json.loads(pre.read_text())
    edit(data)
    pre.write_text(json.dumps(data))
    [sample] = XBD(tmp_path).read_unit(unit)
    assert (sample.crs, sample.footprint_wkt) == ("", "")
    assert MAX_FIT_RMS_PX == 2.0


def test_corrupt_png_header(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_TILES[1]
    _copy_tile(sample_root, spec, tmp_path, "train")
    (tmp_path / "train" / "images" / f"{spec.stem}_pre_disaster.png").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(SourceError) as err:
        XBD(tmp_path).read_unit(f"train/{spec.stem}")
    assert err.value.kind == "corrupt_raster"
    assert "pre_disaster.png" in str(err.value)


def test_fit_rejects_degenerate_points() -> None:
    assert fit_pixel_to_lonlat([(0, 0), (1, 1)], [(10, 10), (10.1, 10.1)]) is None
    line = [(float(i), 2.0 * i) for i in range(10)]
    assert fit_pixel_to_lonlat(line, [(x * 1e-5, y * 1e-5) for x, y in line]) is None
    square = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
    assert fit_pixel_to_lonlat(square, [(5.0, 5.0)] * 4) is None  # all map to one point
    fit = fit_pixel_to_lonlat(square, [(1e-5 * x + 3, -1e-5 * y + 50) for x, y in square])
    assert fit is not None
    assert fit.apply(50, 50) == pytest.approx((3.0005, 49.9995))
