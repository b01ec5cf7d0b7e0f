"""Tests of the fMoW adapter (sources/fmow/adapter.py) and its sample-corpus writer."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from eoinstruct.pipeline.io.rasters import read_image
from eoinstruct.pipeline.quality.tag_fields import METADATA_KEYS
from eoinstruct.pipeline.records import sample_from_row, sample_to_row
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.fmow import sample as corpus
from eoinstruct.sources.fmow.adapter import FMoW, spaced
from eoinstruct.sources.fmow.bands import MS_BANDS, band_names
from eoinstruct.sources.fmow.categories import CATEGORIES
from eoinstruct.sources.fmow.metadata import parse_timestamp


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fmow") / "fmow"
    corpus.write(root, seed=7)
    return root


def _copy(sample_root: Path, tmp_path: Path, unit: str) -> tuple[FMoW, Path]:
    """A root holding one good sequence folder, for editing."""
    root = tmp_path / "fmow"
    shutil.copytree(sample_root / unit, root / unit)
    return FMoW(root), root / unit


def _kind(adapter: FMoW, unit: str) -> str:
    with pytest.raises(SourceError) as err:
        adapter.read_unit(unit)
    return err.value.kind


def test_categories_are_the_62_of_the_readme():
    assert len(CATEGORIES) == len(set(CATEGORIES)) == 62
    assert {"airport", "zoo", "single-unit_residential", "parking_lot_or_garage"} <= set(CATEGORIES)


def test_lists_every_sequence_folder(sample_root):
    units = FMoW(sample_root).list_units()
    good = {s.unit for s in corpus.SEQUENCES}
    assert set(units) == good | set(corpus.BAD_UNITS)
    assert FMoW(sample_root, {"splits": ["val"]}).list_units() == sorted(
        u for u in good if u.startswith("val/")
    )


def test_every_good_unit_reads_as_a_time_ordered_sequence(sample_root):
    adapter = FMoW(sample_root)
    lengths = []
    for spec in corpus.SEQUENCES:
        [s] = adapter.read_unit(spec.unit)
        roles = [im.role for im in s.images]
        assert roles == [f"t{i}" for i in range(len(roles))]
        assert s.labels.properties["series_roles"] == "/".join(roles)
        times = [s.labels.properties[f"timestamp:{r}"] for r in roles]
        assert times == sorted(times) and len(s.acquired) == len(set(times))
        assert s.labels.classes == (spec.category,) and s.modality == "rgb"
        assert s.split == {"train": "train", "val": "validation"}[spec.split]
        # one box per view, inside its image, of the folder's category
        assert [o.image_role for o in s.labels.objects] == roles
        for obj in s.labels.objects:
            image = s.image(obj.image_role)
            x1, y1, x2, y2 = obj.bbox
            assert 0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height
            assert obj.category == spec.category
        # the footprint is a lon/lat polygon around the place
        footprint = shapely.from_wkt(s.footprint_wkt)
        assert footprint.contains(shapely.Point(spec.lon, spec.lat)) and s.crs == "EPSG:4326"
        # each view is the JPEG of its <t> in time order, and its pixels read
        order = sorted(spec.views, key=lambda v: v.timestamp)
        kept = [order[i] for i in spaced(len(order), 5)]
        for role, view in zip(roles, kept, strict=True):
            assert s.image(role).files[0].endswith(f"_{view.t}_rgb.jpg")
            assert s.labels.properties[f"view:{role}"] == str(view.t)
            assert read_image(s.image(role)).shape == (3, view.height, view.width)
        assert s.gsd_m == min(v.gsd for v in kept)
        assert sample_from_row(sample_to_row(s)) == s
        keys = set(s.tags) | set(s.labels.properties)
        assert keys <= METADATA_KEYS
        lengths.append(len(roles))
    assert max(lengths) == 5 and min(lengths) == 1 and sum(n >= 3 for n in lengths) >= 5


def test_views_are_ordered_by_timestamp_not_by_t(sample_root):
    [s] = FMoW(sample_root).read_unit("train/airport_hangar/airport_hangar_3")
    assert [s.labels.properties[f"view:t{i}"] for i in range(3)] == ["1", "2", "0"]


def test_long_sequences_keep_evenly_spaced_views(sample_root):
    unit = "train/swimming_pool/swimming_pool_88"
    [s] = FMoW(sample_root).read_unit(unit)
    assert [s.labels.properties[f"view:t{i}"] for i in range(5)] == ["0", "1", "2", "4", "5"]
    [s] = FMoW(sample_root, {"max_views": 2}).read_unit(unit)
    assert [s.labels.properties[f"view:t{i}"] for i in range(2)] == ["0", "5"]
    assert spaced(6, 1) == [5] and spaced(3, 5) == [0, 1, 2]


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units_fail_with_their_kind(sample_root, unit):
    assert _kind(FMoW(sample_root), unit) == corpus.BAD_UNITS[unit]


def test_single_dict_boxes_and_msrgb_variant(sample_root):
    unit = "train/road_bridge/road_bridge_2"
    first = sample_root / unit / "road_bridge_2_0_rgb.json"
    assert isinstance(json.loads(first.read_text())["bounding_boxes"], dict)
    [rgb] = FMoW(sample_root).read_unit(unit)
    [ms] = FMoW(sample_root, {"variant": "msrgb"}).read_unit(unit)
    assert all(im.files[0].endswith("_msrgb.jpg") for im in ms.images)
    assert [o.bbox for o in ms.labels.objects] == [o.bbox for o in rgb.labels.objects]
    assert _kind(FMoW(sample_root, {"variant": "msrgb"}), "train/dam/dam_12") == "missing_file"


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        (lambda d: d.update(timestamp="yesterday"), "bad_metadata"),
        (lambda d: d.update(gsd="0.5"), "bad_metadata"),
        (lambda d: d.update(img_width=999), "bad_metadata"),
        (lambda d: d.update(raw_location="POLYGON ((500 0, 501 0, 501 1, 500 0))"), "bad_metadata"),
        (lambda d: d.update(bounding_boxes=[]), "malformed_label"),
        (lambda d: d["bounding_boxes"][0].update(box=[1, 2, 3]), "malformed_label"),
        (lambda d: d["bounding_boxes"][0].update(box=[-1, 2, 3, 4]), "malformed_label"),
    ],
)
def test_bad_json_values(sample_root, tmp_path, edit, kind):
    unit = "val/storage_tank/storage_tank_5"
    adapter, folder = _copy(sample_root, tmp_path, unit)
    path = folder / "storage_tank_5_1_rgb.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    assert _kind(adapter, unit) == kind


def test_unreadable_json_missing_jpeg_and_unknown_category(sample_root, tmp_path):
    unit = "val/storage_tank/storage_tank_5"
    adapter, folder = _copy(sample_root, tmp_path, unit)
    (folder / "storage_tank_5_2_rgb.json").write_text("{not json")
    assert _kind(adapter, unit) == "malformed_label"
    (folder / "storage_tank_5_2_rgb.jpg").unlink()
    assert _kind(adapter, unit) == "missing_file"
    odd = tmp_path / "fmow" / "train" / "castle" / "castle_1"
    odd.mkdir(parents=True)
    assert _kind(adapter, "train/castle/castle_1") == "malformed_label"
    with pytest.raises(ValueError, match="bad unit id"):
        adapter.read_unit("storage_tank_5")


def test_options_and_missing_root(tmp_path):
    with pytest.raises(ValueError, match="max_views"):
        FMoW(tmp_path, {"max_views": 9})
    with pytest.raises(ValueError, match="variant"):
        FMoW(tmp_path, {"variant": "nir"})
    with pytest.raises(ValueError, match="splits"):
        FMoW(tmp_path, {"splits": ["test"]})
    with pytest.raises(SourceNotFoundError):
        FMoW(tmp_path / "nowhere").list_units()


def test_timestamps_are_normalised_to_utc():
    assert parse_timestamp("2012-04-02T10:32:22Z") == "2012-04-02T10:32:22Z"
    assert parse_timestamp("2012-04-02T12:32:22.5+02:00") == "2012-04-02T10:32:22Z"
    with pytest.raises(ValueError):
        parse_timestamp("2012-13-02T10:32:22Z")


def test_sample_writer_is_deterministic(tmp_path):
    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for path in sorted(root.rglob("*")):
            if path.is_file():
                h.update(str(path.relative_to(root)).encode() + path.read_bytes())
        return h.hexdigest()

    corpus.write(tmp_path / "a", seed=3)
    corpus.write(tmp_path / "b", seed=3)
    corpus.write(tmp_path / "c", seed=4)
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def test_unit_files(sample_root):
    adapter = FMoW(sample_root)
    files = adapter.unit_files("train/solar_farm/solar_farm_7")
    assert [p.name for p in files] == [
        "solar_farm_7_0_rgb.jpg",
        "solar_farm_7_0_rgb.json",
        "solar_farm_7_1_rgb.jpg",
        "solar_farm_7_1_rgb.json",
    ]
    assert adapter.unit_files("nonsense") == []


# ---- fMoW-full (layout UNVERIFIED: a synthetic tree of TIFFs) ------------------------------


def _tif(path: Path, bands: int, dtype: str, size: tuple[int, int] = (64, 48)) -> None:
    width, height = size
    data = np.arange(bands * width * height, dtype="uint32").reshape(bands, height, width)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": bands}
    transform = from_origin(10.0, 50.001, 1e-5, 1e-5)
    with rasterio.open(
        path, "w", dtype=dtype, crs="EPSG:4326", transform=transform, **profile
    ) as ds:
        ds.write((data % 2000 + 100).astype(dtype))


def _full_view(folder: Path, t: int, variant: str, bands: int, dtype: str, waves: list[int]):
    stem = folder / f"{folder.name}_{t}_{variant}"
    _tif(stem.with_suffix(".tif"), bands, dtype)
    doc = {
        "gsd": 1.9 + t / 10,
        "img_width": 64,
        "img_height": 48,
        "timestamp": f"201{t}-05-0{t + 1}T10:00:00Z",
        "approximate_wavelengths": waves,
        "raw_location": "POLYGON ((10 50, 10.001 50, 10.001 50.001, 10 50.001, 10 50))",
        "bounding_boxes": [{"ID": t, "box": [10, 8, 30, 20], "category": "dam"}],
    }
    stem.with_suffix(".json").write_text(json.dumps(doc))


EIGHT = [427, 478, 546, 608, 659, 724, 831, 908]


def test_fmow_full_multispectral_views(tmp_path):
    folder = tmp_path / "train" / "dam" / "dam_1"
    folder.mkdir(parents=True)
    for t in (0, 1, 3):
        _full_view(folder, t, "ms", 8, "uint16", EIGHT)
    _full_view(folder, 2, "ms", 4, "uint16", [478, 546, 659, 831])  # another sensor: left out
    [s] = FMoW(tmp_path, {"variant": "ms"}).read_unit("train/dam/dam_1")
    assert s.modality == "multispectral" and s.bands[4] == "red" and len(s.bands) == 8
    assert [s.labels.properties[f"view:{im.role}"] for im in s.images] == ["0", "1", "3"]
    image = s.image("t0")
    assert image.encoding == "float" and image.display_bands == ("red", "green", "blue")
    assert read_image(image).shape == (8, 48, 64)
    # the pairs of the site family apply, with the added high-resolution multispectral tag
    from eoinstruct.pipeline.instructions.builders import GenerationConfig
    from eoinstruct.pipeline.instructions.pairs import make_pair
    from eoinstruct.templates import load_templates

    template = next(t for t in load_templates() if t.id == "fmow_sequence_class")
    pair = make_pair(s, template, GenerationConfig(seed=1)).pair
    assert pair.turns[0].value.startswith("[classify] [hr_ms_temp_0.5] <image> <image> <image>")


def test_fmow_full_rgb_tiffs_and_bad_band_sets(tmp_path):
    folder = tmp_path / "val" / "dam" / "dam_2"
    folder.mkdir(parents=True)
    _full_view(folder, 0, "rgb", 3, "uint8", [661, 545, 477])
    _full_view(folder, 0, "ms", 8, "uint16", EIGHT[:6])  # wavelengths do not match the bands
    [s] = FMoW(tmp_path).read_unit("val/dam/dam_2")
    assert s.modality == "rgb" and s.image("t0").encoding == "uint8"
    assert s.image("t0").files[0].endswith("_rgb.tif")
    assert _kind(FMoW(tmp_path, {"variant": "ms"}), "val/dam/dam_2") == "corrupt_raster"
    _full_view(folder, 0, "ms", 3, "uint16", [661, 545, 477])  # RGB where MS is expected
    assert _kind(FMoW(tmp_path, {"variant": "ms"}), "val/dam/dam_2") == "corrupt_raster"
    (folder / "dam_2_0_ms.tif").write_bytes(b"not a tiff")
    assert _kind(FMoW(tmp_path, {"variant": "ms"}), "val/dam/dam_2") == "corrupt_raster"


def test_band_names_from_wavelengths():
    assert band_names(3, (661, 545, 477)) == ("R", "G", "B")
    assert band_names(3, (477, 545, 661)) is None
    assert band_names(4, ()) == ("blue", "green", "red", "nir1")
    assert band_names(8, tuple(EIGHT)) == tuple(b.name for b in MS_BANDS)
    assert band_names(8, (427,) * 8) is None and band_names(5, ()) is None
