"""Tests of the QuakeSet adapter (sources/quakeset/adapter.py) and its sample-corpus writer."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import shapely
from rasterio.warp import transform as warp_transform

from eoinstruct.pipeline.io.rasters import read_image
from eoinstruct.pipeline.io.render import render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.quakeset import sample as corpus
from eoinstruct.sources.quakeset.adapter import CLASS_AFFECTED, CLASS_UNAFFECTED, QuakeSet
from eoinstruct.sources.quakeset.events import format_magnitude, magnitude_class

TORCHGEO = "microsoft__torchgeo/tests/data/quakeset"


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quakeset") / "quakeset"
    corpus.write(root, seed=7)
    return root


def _event(event_id: str) -> corpus.EventSpec:
    return next(e for e in corpus.EVENTS if e.event_id == event_id)


def _patch(unit: str) -> tuple[corpus.EventSpec, corpus.PatchSpec]:
    event_id, name = unit.split("/")
    event = _event(event_id)
    return event, next(p for p in event.patches if p.name == name)


def _sar(shape: tuple[int, ...] = (8, 8, 2)) -> np.ndarray:
    return np.full(shape, 0.05, dtype=np.float32)


def _write_h5(
    path: Path,
    attrs: dict[str, object] | None = None,
    images: dict[str, np.ndarray] | None = None,
    event: str = "600000001",
    patch: str = "patch_0",
) -> Path:
    """Write a one-event, one-patch file in the QuakeSet layout."""
    with h5py.File(path, "w") as handle:
        group = handle.create_group(event)
        for key, value in (
            {"magnitude": np.float32(6.1), "split": "train"} | (attrs or {})
        ).items():
            if value is not None:
                group.attrs[key] = value
        for role, data in (images or {"pre": _sar(), "post": _sar()}).items():
            group.create_dataset(f"{patch}/{role}", data=data)
    return path


def _read_one(tmp_path: Path, **kwargs: object) -> list:
    _write_h5(tmp_path / "earthquakes.h5", **kwargs)  # type: ignore[arg-type]
    adapter = QuakeSet(tmp_path)
    [unit] = adapter.list_units()
    return adapter.read_unit(unit)


def _kind(tmp_path: Path, **kwargs: object) -> SourceError:
    with pytest.raises(SourceError) as err:
        _read_one(tmp_path, **kwargs)
    return err.value


# -- the sample corpus writer --------------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", seed=7)
    assert sorted(p.name for p in sample_root.iterdir()) == ["earthquakes.h5"]
    first = (sample_root / "earthquakes.h5").read_bytes()
    assert (tmp_path / "again" / "earthquakes.h5").read_bytes() == first
    assert len(first) < 1_500_000


def test_writer_seed_changes_pixels(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "other", seed=8)
    with (
        h5py.File(tmp_path / "other" / "earthquakes.h5") as other,
        h5py.File(sample_root / "earthquakes.h5") as first,
    ):
        name = f"{corpus.GOOD_UNITS[0]}/pre"
        assert not np.array_equal(other[name][...], first[name][...])
        assert np.array_equal(other["616731457/x"][...], first["616731457/x"][...])


def test_writer_layout(sample_root: Path) -> None:
    with h5py.File(sample_root / "earthquakes.h5") as handle:
        assert sorted(handle) == sorted(e.event_id for e in corpus.EVENTS)
        for event in corpus.EVENTS:
            group = handle[event.event_id]
            assert group.attrs.get_id("magnitude").dtype == np.float32
            assert h5py.check_string_dtype(group.attrs.get_id("split").dtype).encoding == "utf-8"
            assert group.attrs["split"] == event.split
            assert int(group.attrs["epsg"]) == event.epsg
            n = len(event.patches)
            assert group["x"].shape == (n, corpus.SIZE) and group["y"].shape == (n, corpus.SIZE)
            assert sorted(k for k in group if isinstance(group[k], h5py.Group)) == [
                p.name for p in event.patches
            ]
            for index, patch in enumerate(event.patches):
                roles = {"pre", "post", "before"}
                if not patch.before:
                    roles.discard("before")
                if patch.defect == "missing_post":
                    roles.discard("post")
                assert set(group[patch.name]) == roles
                for role in roles:
                    data = group[patch.name][role]
                    assert (data.shape, data.dtype) == ((corpus.SIZE, corpus.SIZE, 2), np.float32)
                    assert data.compression is None
                x, y = corpus.patch_grid(event, patch)
                assert np.array_equal(group["x"][index], x)
                assert np.array_equal(group["y"][index], y)
        magnitudes = {
            e.event_id: float(handle[e.event_id].attrs["magnitude"]) for e in corpus.EVENTS
        }
    assert math.isnan(magnitudes["619224085"])
    assert magnitudes["616731457"] == pytest.approx(7.1, abs=1e-6)


def test_writer_pixels_are_plausible_linear_sar(sample_root: Path) -> None:
    with h5py.File(sample_root / "earthquakes.h5") as handle:
        for unit in corpus.GOOD_UNITS:
            group = handle[unit]
            pre, post = group["pre"][...], group["post"][...]
            assert np.min(pre) > 0 and np.isfinite(pre).all()
            db = 10 * np.log10(pre)
            vv, vh = float(db[..., 0].mean()), float(db[..., 1].mean())
            assert -14 < vv < -4 and vh < vv - 4  # VV over land, VH several dB lower
            assert db[..., 0].std() > 2  # textured (speckle and structure), not constant
            # the earthquake changes the scene between pre and post, not before
            change = np.nanmean(np.abs(10 * np.log10(post) - db))
            if "before" in group:
                stable = np.mean(np.abs(10 * np.log10(group["before"][...]) - db))
                assert change > stable + 0.1
        for unit in ("616731457/patch_1", "618090219/patch_1"):
            edge = handle[f"{unit}/post"][...]
            assert 0.02 < np.isnan(edge).any(axis=-1).mean() < 0.05
            assert np.isfinite(handle[f"{unit}/pre"][...]).all()


# -- the adapter on the sample corpus ------------------------------------------------------------


def test_lists_every_patch(sample_root: Path) -> None:
    units = QuakeSet(sample_root).list_units()
    assert units == sorted([*corpus.GOOD_UNITS, *corpus.BAD_UNITS])
    assert len(corpus.GOOD_UNITS) == 6
    assert QuakeSet(sample_root, {"splits": ["test"]}).list_units() == [
        "618090219/patch_0",
        "618090219/patch_1",
        "618090219/patch_2",
    ]


@pytest.mark.parametrize("unit", corpus.GOOD_UNITS)
def test_reads_good_unit(sample_root: Path, unit: str) -> None:
    event, patch = _patch(unit)
    samples = QuakeSet(sample_root).read_unit(unit)
    assert len(samples) == (2 if patch.before else 1)
    positive = samples[0]
    path = sample_root / "earthquakes.h5"

    assert positive.sample_id == f"quakeset:{unit}"
    assert (positive.source, positive.native_id, positive.modality) == ("quakeset", unit, "sar")
    assert (positive.sensor, positive.bands, positive.gsd_m) == (
        "Sentinel-1 C-SAR",
        ("VV", "VH"),
        10.0,
    )
    assert positive.split == event.split
    assert positive.licence == "OpenRAIL"
    assert positive.acquired == ()
    roles = ("pre", "post", "before") if patch.before else ("pre", "post")
    assert tuple(im.role for im in positive.images) == roles
    for image in positive.images:
        assert image.files == (f"{path}::/{unit}/{image.role}",)
        assert (image.width, image.height) == (corpus.SIZE, corpus.SIZE)
        assert (image.encoding, image.bands, image.display_bands) == (
            "sar_linear",
            ("VV", "VH"),
            ("VV", "VH"),
        )
    expected_class = magnitude_class(event.magnitude)
    assert positive.tags == {
        "platform": "Sentinel-1",
        "instrument_mode": "IW",
        "polarisations": "VV+VH",
        "split": event.split,
        "magnitude_class": expected_class,
    }
    assert positive.labels.classes == (CLASS_AFFECTED,)
    assert positive.labels.properties == {
        "earthquake": "yes",
        "magnitude": f"{event.magnitude:g}",
        "event_magnitude": f"{event.magnitude:g}",
        "event_id": event.event_id,
        "patch": patch.name,
        "pair": "pre/post",
    }

    # Footprint: the writer's pixel grid, transformed to lon/lat, a few hundred metres from
    # the real epicentre.
    assert positive.crs == f"EPSG:{event.epsg}"
    x, y = corpus.patch_grid(event, patch)
    half = corpus.GRID_M / 2
    xs = [x[0] - half, x[-1] + half, x[-1] + half, x[0] - half]
    ys = [y[0] + half, y[0] + half, y[-1] - half, y[-1] - half]
    lons, lats = warp_transform(positive.crs, "EPSG:4326", xs, ys)
    footprint = shapely.from_wkt(positive.footprint_wkt)
    got = list(footprint.exterior.coords)[:-1]
    assert len(got) == 4
    for point in zip(lons, lats, strict=True):
        assert min(abs(point[0] - g[0]) + abs(point[1] - g[1]) for g in got) < 1e-6
    centre = footprint.centroid
    km_east = (centre.x - event.lon) * 111.32 * math.cos(math.radians(event.lat))
    km_north = (centre.y - event.lat) * 110.57
    assert math.hypot(km_east, km_north) < 1.5
    assert footprint.area > 0 and footprint.exterior.is_ccw
    assert sample_from_row(samples_table([positive]).to_pylist()[0]) == positive

    if patch.before:
        negative = samples[1]
        assert negative.sample_id == f"quakeset:{unit}/before-pre"
        assert tuple(im.role for im in negative.images) == ("before", "pre")
        assert negative.images[0].files == (f"{path}::/{unit}/before",)
        assert negative.labels.classes == (CLASS_UNAFFECTED,)
        assert negative.labels.properties == {
            "earthquake": "no",
            "magnitude": "0",
            "event_magnitude": f"{event.magnitude:g}",
            "event_id": event.event_id,
            "patch": patch.name,
            "pair": "before/pre",
        }
        assert "magnitude_class" not in negative.tags
        assert len(negative.tags) == 4
        assert (negative.crs, negative.footprint_wkt, negative.split) == (
            positive.crs,
            positive.footprint_wkt,
            positive.split,
        )


def test_good_samples_pass_the_filter_scores(sample_root: Path) -> None:
    adapter = QuakeSet(sample_root)
    samples = [s for unit in corpus.GOOD_UNITS for s in adapter.read_unit(unit)]
    assert len(samples) == 9
    assert sum(s.labels.properties["earthquake"] == "no" for s in samples) == 3
    for sample in samples:
        # label fields: the pair's earthquake answer and the event's magnitude class
        assert count_tag_fields(sample) == len(label_fields(sample)) >= 1
        assert "tag:earthquake" in label_fields(sample)
        assert geolocation_problem(sample) == ""
        for image in sample.images:
            scores = image_scores(image, 0.02, 0.98)
            assert scores.valid_fraction >= 0.95
            assert image.width == image.height == corpus.SIZE >= 100
            assert 0.3 < scores.brightness < 0.7  # sar brightness band is 0.05-0.95
    rgb = render_rgb(samples[0].image("post"))
    assert rgb.shape == (3, corpus.SIZE, corpus.SIZE) and rgb.dtype == np.uint8
    assert rgb.std() > 10


def test_bad_unit_missing_post(sample_root: Path) -> None:
    assert corpus.BAD_UNITS["618090219/patch_2"].startswith("missing_file")
    with pytest.raises(SourceError) as err:
        QuakeSet(sample_root).read_unit("618090219/patch_2")
    assert err.value.kind == "missing_file"
    assert str(sample_root / "earthquakes.h5") in str(err.value)
    assert "/618090219/patch_2/post" in str(err.value)
    assert "/pre" not in str(err.value)


def test_bad_unit_nan_magnitude(sample_root: Path) -> None:
    unit = "619224085/patch_0"
    assert corpus.BAD_UNITS[unit].startswith("bad_metadata")
    with pytest.raises(SourceError) as err:
        QuakeSet(sample_root).read_unit(unit)
    assert err.value.kind == "bad_metadata"
    assert "magnitude" in str(err.value) and "earthquakes.h5" in str(err.value)


def test_options(sample_root: Path) -> None:
    unit = "616731457/patch_0"
    assert len(QuakeSet(sample_root).read_unit(unit)) == 2
    assert len(QuakeSet(sample_root, {"negatives": False}).read_unit(unit)) == 1
    assert QuakeSet(sample_root, {"splits": "val"}).list_units() == [
        "617852733/patch_0",
        "617852733/patch_1",
    ]
    with pytest.raises(ValueError, match=r"params\.yaml"):
        QuakeSet(sample_root, {"splits": ["dev"]})
    with pytest.raises(ValueError, match="negatives"):
        QuakeSet(sample_root, {"negatives": "yes"})
    with pytest.raises(ValueError, match="file"):
        QuakeSet(sample_root, {"file": "../earthquakes.h5"})
    with pytest.raises(SourceNotFoundError, match=r"p_earthquakes\.h5"):
        QuakeSet(sample_root, {"file": "p_earthquakes.h5"}).list_units()
    assert QuakeSet(sample_root).unit_files(unit) == [sample_root / "earthquakes.h5"]


# -- torchgeo's layout fixture -------------------------------------------------------------------


def test_torchgeo_fixture(peer_data: Path) -> None:
    root = peer_data / TORCHGEO
    adapter = QuakeSet(root)
    units = adapter.list_units()
    events = {
        "611645479": "train",
        "611658170": "train",
        "611684805": "validation",
        "611744956": "validation",
        "611798698": "test",
        "611818836": "test",
    }
    assert units == [f"{e}/patch_{n}" for e in sorted(events) for n in (0, 1)]
    for unit in units:
        positive, negative = adapter.read_unit(unit)
        assert positive.split == negative.split == events[unit.split("/")[0]]
        assert [(im.role, im.width, im.height) for im in positive.images] == [
            ("pre", 32, 32),
            ("post", 32, 32),
            ("before", 32, 32),
        ]
        assert [im.role for im in negative.images] == ["before", "pre"]
        # the fixture's magnitudes are all 0.0, and it has no x/y/epsg
        assert positive.labels.properties["magnitude"] == "0"
        assert positive.tags["magnitude_class"] == "micro"
        assert (positive.crs, positive.footprint_wkt, positive.gsd_m) == ("", "", None)
        assert geolocation_problem(positive) == "no_footprint"
    array = read_image(adapter.read_unit(units[0])[0].image("post"))
    assert array.shape == (2, 32, 32)
    # the fixture holds random normal values: non-positive "power" reads as nodata (NaN)
    assert array.dtype == np.float32 and np.isfinite(array).any()
    assert not np.isfinite(array).all()
    assert len(QuakeSet(root, {"splits": ["validation"]}).list_units()) == 4


# -- missing and corrupt files -------------------------------------------------------------------


def test_missing_root_or_file_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        QuakeSet(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"earthquakes\.h5.*huggingface.*params\.yaml"):
        QuakeSet(tmp_path).list_units()
    with pytest.raises(SourceError) as err:
        QuakeSet(tmp_path).read_unit("600000001/patch_0")
    assert err.value.kind == "missing_file"


@pytest.mark.parametrize("content", ["truncated", "garbage"])
def test_corrupt_hdf5(tmp_path: Path, sample_root: Path, content: str) -> None:
    data = (sample_root / "earthquakes.h5").read_bytes()
    bad = data[:4096] if content == "truncated" else b"not an HDF5 file\n" * 64
    path = tmp_path / "earthquakes.h5"
    path.write_bytes(bad)
    with pytest.raises(SourceNotFoundError) as listing:
        QuakeSet(tmp_path).list_units()
    assert str(path) in str(listing.value) and "truncated or corrupt" in str(listing.value)
    with pytest.raises(SourceError) as err:
        QuakeSet(tmp_path).read_unit(corpus.GOOD_UNITS[0])
    assert err.value.kind == "corrupt_raster"
    assert str(path) in str(err.value)


def test_empty_hdf5_is_not_quakeset(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "earthquakes.h5", "w") as handle:
        handle.create_dataset("x", data=np.arange(3))
    with pytest.raises(SourceNotFoundError, match="no event group"):
        QuakeSet(tmp_path).list_units()


def test_unknown_event_or_patch_is_missing(tmp_path: Path) -> None:
    _write_h5(tmp_path / "earthquakes.h5")
    adapter = QuakeSet(tmp_path)
    for unit in ("999/patch_0", "600000001/patch_7"):
        with pytest.raises(SourceError) as err:
            adapter.read_unit(unit)
        assert err.value.kind == "missing_file"
    with pytest.raises(ValueError, match="event id"):
        adapter.read_unit("600000001")


# -- metadata and image edge cases ---------------------------------------------------------------


@pytest.mark.parametrize(
    "magnitude", [None, "strong", np.float32("nan"), np.float64("inf"), np.array([5.0, 6.0])]
)
def test_bad_magnitudes(tmp_path: Path, magnitude: object) -> None:
    error = _kind(tmp_path, attrs={"magnitude": magnitude})
    assert error.kind == "bad_metadata"
    assert "600000001" in str(error)


def test_numeric_text_magnitude_and_missing_split(tmp_path: Path) -> None:
    [sample] = _read_one(tmp_path, attrs={"magnitude": "5.14", "split": None})
    assert sample.labels.properties["magnitude"] == "5.14"
    assert sample.tags["magnitude_class"] == "moderate"
    assert sample.split == "" and "split" not in sample.tags


def test_unknown_split_is_bad_metadata(tmp_path: Path) -> None:
    assert _kind(tmp_path, attrs={"split": "holdout"}).kind == "bad_metadata"


def test_one_channel_image_is_missing_band(tmp_path: Path) -> None:
    error = _kind(tmp_path, images={"pre": _sar((8, 8, 1)), "post": _sar()})
    assert error.kind == "missing_band"
    assert "600000001/patch_0/pre" in str(error)
    assert _kind(tmp_path, images={"pre": _sar((8, 8)), "post": _sar()}).kind == "missing_band"


@pytest.mark.parametrize(
    "images",
    [
        {"pre": _sar((8, 8, 3)), "post": _sar()},
        {"pre": _sar(), "post": _sar((16, 16, 2))},
        {"pre": _sar(), "post": _sar(), "before": _sar((8, 4, 2))},
        {"pre": np.full((8, 8, 2), b"x", dtype="S1"), "post": _sar()},
    ],
)
def test_bad_image_shapes_are_corrupt(tmp_path: Path, images: dict[str, np.ndarray]) -> None:
    assert _kind(tmp_path, images=images).kind == "corrupt_raster"


def test_channels_first_images_are_accepted(tmp_path: Path) -> None:
    [sample] = _read_one(tmp_path, images={"pre": _sar((2, 6, 8)), "post": _sar((2, 6, 8))})
    assert (sample.images[0].width, sample.images[0].height) == (8, 6)
    assert read_image(sample.images[0]).shape == (2, 6, 8)


def _georeferenced(tmp_path: Path, edit: object) -> list:
    path = _write_h5(tmp_path / "earthquakes.h5")
    with h5py.File(path, "r+") as handle:
        edit(handle)  # type: ignore[operator]
    adapter = QuakeSet(tmp_path)
    return adapter.read_unit(adapter.list_units()[0])


def _grid(n: int = 8, x0: float = 500_000.0, y0: float = 4_000_000.0, step: float = 10.0):
    centres = np.arange(n) + 0.5
    return x0 + centres * step, y0 - centres * step


def test_patch_level_coordinates(tmp_path: Path) -> None:
    def edit(handle: h5py.File) -> None:
        x, y = _grid()
        handle["600000001/patch_0"].create_dataset("x", data=x)
        handle["600000001/patch_0"].create_dataset("y", data=y)
        handle["600000001/patch_0"].attrs["epsg"] = "EPSG:32633"

    [sample] = _georeferenced(tmp_path, edit)
    assert (sample.crs, sample.gsd_m) == ("EPSG:32633", 10.0)
    bounds = shapely.from_wkt(sample.footprint_wkt).bounds
    # UTM 33N easting 500 km is the central meridian, 15 E
    assert bounds[0] == pytest.approx(15.0, abs=1e-6)
    assert 36.1 < bounds[1] < bounds[3] < 36.2


def test_event_level_shared_grid_and_root_epsg(tmp_path: Path) -> None:
    def edit(handle: h5py.File) -> None:
        lon = 20.0 + (np.arange(8) + 0.5) * 1e-4
        lat = 40.0 - (np.arange(8) + 0.5) * 1e-4
        handle["600000001"].create_dataset("x", data=lon)
        handle["600000001"].create_dataset("y", data=lat)
        handle.attrs["epsg"] = 4326

    [sample] = _georeferenced(tmp_path, edit)
    assert sample.crs == "EPSG:4326"
    assert sample.gsd_m == pytest.approx(1e-4 * 111_320 * math.cos(math.radians(40)), abs=0.05)
    assert shapely.from_wkt(sample.footprint_wkt).bounds == pytest.approx(
        (20.0, 39.9992, 20.0008, 40.0), abs=1e-7
    )


def test_uninterpreted_coordinates_give_no_footprint(tmp_path: Path) -> None:
    def edit(handle: h5py.File) -> None:
        handle["600000001"].create_dataset("x", data=np.array([500_000.0]))  # a point?
        handle["600000001"].create_dataset("y", data=np.array([4_000_000.0]))
        handle["600000001"].attrs["epsg"] = 32633

    [sample] = _georeferenced(tmp_path, edit)
    assert (sample.crs, sample.footprint_wkt, sample.gsd_m) == ("EPSG:32633", "", None)
    assert geolocation_problem(sample) == "no_footprint"


def test_coordinates_without_epsg_give_no_crs(tmp_path: Path) -> None:
    def edit(handle: h5py.File) -> None:
        x, y = _grid()
        handle["600000001"].create_dataset("x", data=x[np.newaxis])
        handle["600000001"].create_dataset("y", data=y[np.newaxis])

    [sample] = _georeferenced(tmp_path, edit)
    assert (sample.crs, sample.footprint_wkt) == ("", "")


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("unsorted", "monotonic"),
        ("nan", "finite"),
        ("uneven", "evenly"),
        ("epsg", "EPSG code"),
        ("epsg_text", "EPSG code"),
        ("off_globe", "outside the globe"),
    ],
)
def test_bad_georeference_is_bad_metadata(tmp_path: Path, problem: str, message: str) -> None:
    def edit(handle: h5py.File) -> None:
        x, y = _grid()
        epsg: object = 32633
        if problem == "unsorted":
            x[[2, 3]] = x[[3, 2]]
        elif problem == "nan":
            y[4] = np.nan
        elif problem == "uneven":
            x[5:] += 3.0
        elif problem == "epsg":
            epsg = 999_999
        elif problem == "epsg_text":
            epsg = "UTM 33N"
        elif problem == "off_globe":
            epsg = 4326
        handle["600000001"].create_dataset("x", data=x[np.newaxis])
        handle["600000001"].create_dataset("y", data=y[np.newaxis])
        handle["600000001"].attrs["epsg"] = epsg

    with pytest.raises(SourceError) as err:
        _georeferenced(tmp_path, edit)
    assert err.value.kind == "bad_metadata"
    assert message in str(err.value)


def test_sample_file_copied_elsewhere_keeps_working(tmp_path: Path, sample_root: Path) -> None:
    shutil.copy(sample_root / "earthquakes.h5", tmp_path / "earthquakes.h5")
    [sample, _] = QuakeSet(tmp_path).read_unit(corpus.GOOD_UNITS[0])
    assert sample.images[0].files[0].startswith(str(tmp_path / "earthquakes.h5"))
    assert image_scores(sample.images[0], 0.02, 0.98).valid_fraction == 1.0


# -- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("magnitude", "name"),
    [
        (9.1, "great"),
        (8.0, "great"),
        (7.99, "major"),
        (7.0, "major"),
        (6.4, "strong"),
        (5.0, "moderate"),
        (4.9, "light"),
        (3.0, "minor"),
        (2.9, "micro"),
        (-0.5, "micro"),
    ],
)
def test_magnitude_class(magnitude: float, name: str) -> None:
    assert magnitude_class(magnitude) == name


def test_format_magnitude() -> None:
    assert format_magnitude(float(np.float32(7.1))) == "7.1"
    assert format_magnitude(float(np.float32(5.14))) == "5.14"
    assert format_magnitude(6.0) == "6"
    assert format_magnitude(-0.0) == "0"
