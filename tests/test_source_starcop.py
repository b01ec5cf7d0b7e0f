"""Tests of the STARCOP adapter and its sample-corpus writer.

There is no STARCOP material in ``shared/peer-data`` (its README lists none), so the real
layout is tested through the sample corpus (``sources/starcop/sample.py``), which
follows the layout read from spaceml-org/STARCOP, and through edited copies of it for the CSV
variations documented there: a leading pandas index column, a mini CSV repeating rows of the
full one (the STARCOP README's ``cp test_mini10.csv test.csv``), training caches beside the
release CSVs, and the "allbands" re-packagings with more TOA_AVIRIS files.
"""

from __future__ import annotations

import csv
import io
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine
from rasterio.warp import transform as warp_transform
from shapely.geometry import Polygon

from eoinstruct.pipeline.io.render import render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.starcop import sample as corpus
from eoinstruct.sources.starcop.adapter import RELEASE_BANDS_NM, STARCOP

SEED = 23
GOOD = {spec.event_id: spec for spec in corpus.GOOD_EVENTS}
BANDS = tuple(f"TOA_AVIRIS_{nm}nm" for nm in RELEASE_BANDS_NM)
RELEASE_FILES = (
    *(f"{b}.tif" for b in BANDS),
    *(f"TOA_WV3_SWIR{k}.tif" for k in range(1, 9)),
    "mag1c.tif",
    "weight_mag1c.tif",
    "labelbinary.tif",
    "label_rgba.tif",
)


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("starcop") / "STARCOP"
    corpus.write(root, SEED)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def _csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _copy_event(src: Path, dst: Path, event_id: str, csv_name: str = "test.csv") -> list[str]:
    """Copy one event folder and its CSV row (under ``csv_name``); return the row."""
    shutil.copytree(src / event_id, dst / event_id)
    for name in ("test.csv", "train.csv"):
        rows = _csv_rows(src / name)
        for row in rows[1:]:
            if row[0] == event_id:
                _write_csv(dst / csv_name, [rows[0], row])
                return row
    raise AssertionError(f"{event_id} is in no CSV")


def _edit_row(root: Path, csv_name: str, column: str, value: str) -> None:
    rows = _csv_rows(root / csv_name)
    index = rows[0].index(column)
    for row in rows[1:]:
        row[index] = value
    _write_csv(root / csv_name, rows)


def _expected_footprint(spec: corpus.EventSpec) -> Polygon:
    t = corpus.transform_of(spec)
    size = corpus.SIZE
    xs, ys = zip(*(t @ c for c in ((0, 0), (size, 0), (size, size), (0, size))), strict=True)
    lons, lats = warp_transform(f"EPSG:{corpus.EPSG}", "EPSG:4326", list(xs), list(ys))
    return Polygon(zip(lons, lats, strict=True))


# -- the sample-corpus writer -------------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    first, second = _files(sample_root), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first)
    corpus.write(tmp_path / "other", SEED + 1)
    other = _files(tmp_path / "other")
    assert sorted(other) == sorted(first)
    assert any(other[n] != first[n] for n in first if n.endswith("TOA_AVIRIS_640nm.tif"))
    assert other["test.csv"] == first["test.csv"]  # the CSVs do not depend on the seed


def test_writer_writes_the_release_layout(sample_root: Path) -> None:
    assert sorted(p.name for p in sample_root.iterdir() if p.is_file()) == [
        "test.csv",
        "train.csv",
    ]
    events = sorted(p.name for p in sample_root.iterdir() if p.is_dir())
    assert events == sorted(s.event_id for s in corpus.ALL_EVENTS)
    for event in events:
        names = sorted(p.name for p in (sample_root / event).iterdir())
        expected = [
            n for n in RELEASE_FILES if not (event == corpus.BAD_MISSING_MAG1C and n == "mag1c.tif")
        ]
        assert names == sorted(expected)
    for name in ("test.csv", "train.csv"):
        rows = _csv_rows(sample_root / name)
        assert tuple(rows[0]) == corpus.CSV_COLUMNS
        assert all(len(row) == len(corpus.CSV_COLUMNS) for row in rows)
        assert {row[11] for row in rows[1:]} == {name.removesuffix(".csv")}
    spec = corpus.GOOD_EVENTS[0]
    folder = sample_root / spec.event_id
    with rasterio.open(folder / "TOA_AVIRIS_640nm.tif") as ds:
        assert (ds.dtypes[0], ds.nodata, ds.count) == ("float32", 0.0, 1)
        assert ds.block_shapes == [(128, 128)]
        assert ds.compression is not None and ds.compression.value == "LZW"
        assert ds.descriptions == ("TOA_AVIRIS_640nm",)
        assert ds.crs.to_epsg() == 32613
        assert ds.transform == corpus.transform_of(spec)
        red = ds.read(1)
    assert 15 < float(red.mean()) < 60  # normalised radiance, µW cm-2 nm-1
    with rasterio.open(folder / "TOA_AVIRIS_2350nm.tif") as ds:
        assert 0.5 < float(ds.read(1).mean()) < 5
    with rasterio.open(folder / "mag1c.tif") as ds:
        assert (ds.dtypes[0], ds.nodata, ds.descriptions) == ("float32", 0.0, ("mag1c",))
    with rasterio.open(folder / "labelbinary.tif") as ds:
        assert (ds.dtypes[0], ds.nodata) == ("uint8", None)
        assert set(np.unique(ds.read(1))) <= {0, 1}
    with rasterio.open(folder / "label_rgba.tif") as ds:
        assert (ds.count, ds.dtypes[0], ds.descriptions) == (4, "uint8", ("r", "g", "b", "a"))
    mag1c = _read(folder / "mag1c.tif")[0]
    weight = _read(folder / "weight_mag1c.tif")[0]
    assert np.allclose(weight, np.clip(mag1c / 400, 0.1, 1))
    assert sum(p.stat().st_size for p in sample_root.rglob("*") if p.is_file()) < 1_500_000


@pytest.mark.parametrize("spec", corpus.GOOD_EVENTS, ids=lambda s: s.event_id)
def test_plume_mask_follows_mag1c(sample_root: Path, spec: corpus.EventSpec) -> None:
    folder = sample_root / spec.event_id
    mask = _read(folder / "labelbinary.tif")[0].astype(bool)
    mag1c = _read(folder / "mag1c.tif")[0]
    alpha = _read(folder / "label_rgba.tif")[3] > 0
    if spec.has_plume:
        assert mask.sum() >= 20
        assert (mag1c[mask] >= 200).all()  # STARCOP's labelbinary threshold
        assert mag1c[mask].mean() > 3 * mag1c[~mask].mean()
        assert (alpha | ~mask).all()  # the mask lies inside the annotation
    else:
        assert not mask.any() and not alpha.any()
    if spec.confounder:
        assert mag1c.max() > 600  # a false positive over a well pad, unlabelled
    red, swir = _read(folder / "TOA_AVIRIS_640nm.tif")[0], _read(folder / "TOA_AVIRIS_2350nm.tif")
    assert red.std() > 0.5 and swir.std() > 0.01  # structured, not constant


# -- the adapter on the sample corpus --------------------------------------------------------------


def test_lists_every_event(sample_root: Path) -> None:
    units = STARCOP(sample_root).list_units()
    assert units == sorted(s.event_id for s in corpus.ALL_EVENTS)
    assert set(corpus.BAD_EVENTS) < set(units)


@pytest.mark.parametrize("spec", corpus.GOOD_EVENTS, ids=lambda s: s.event_id)
def test_reads_good_event(sample_root: Path, spec: corpus.EventSpec) -> None:
    adapter = STARCOP(sample_root)
    [sample] = adapter.read_unit(spec.event_id)
    folder = sample_root / spec.event_id

    assert sample.sample_id == f"starcop:{spec.event_id}"
    assert (sample.source, sample.native_id) == ("starcop", spec.event_id)
    assert (sample.modality, sample.sensor) == ("hyperspectral", "AVIRIS-NG")
    assert sample.bands == (*BANDS, "mag1c")
    assert sample.gsd_m == pytest.approx(corpus.GSD_M)
    assert sample.split == spec.subset
    assert sample.licence == "NOASSERTION"
    n = spec.name
    assert sample.acquired == (f"{n[3:7]}-{n[7:9]}-{n[9:11]}T{n[12:14]}:{n[14:16]}:{n[16:18]}Z",)

    image, mag1c = sample.images
    assert (image.role, image.encoding, image.width, image.height) == (
        "image",
        "normalized_radiance",
        64,
        64,
    )
    assert image.files == tuple(str(folder / f"{b}.tif") for b in BANDS)
    assert image.bands == BANDS
    assert image.display_bands == ("TOA_AVIRIS_640nm", "TOA_AVIRIS_550nm", "TOA_AVIRIS_460nm")
    assert (mag1c.role, mag1c.encoding, mag1c.bands) == ("mag1c", "float", ("mag1c",))
    assert mag1c.files == (str(folder / "mag1c.tif"),)

    assert sample.crs == "EPSG:32613"
    footprint = shapely.from_wkt(sample.footprint_wkt)
    expected = _expected_footprint(spec)
    assert footprint.symmetric_difference(expected).area < 1e-3 * expected.area
    corners = list(footprint.exterior.coords)[:-1]
    assert len(corners) == 4
    for lon, lat in expected.exterior.coords[:-1]:
        assert min(abs(lon - x) + abs(lat - y) for x, y in corners) < 1e-6
    lon, lat = footprint.centroid.x, footprint.centroid.y
    assert -104.5 < lon < -103.3 and 31.7 < lat < 32.4  # Delaware Basin, Permian

    tags = {
        "sensor": "AVIRIS-NG",
        "methane_plume": "present" if spec.has_plume else "absent",
        "difficulty": spec.difficulty,
        "region": "Permian Basin",
    }
    if spec.has_plume:
        tags["emission_class"] = "strong" if float(spec.qplume) >= 1000 else "weak"
    assert sample.tags == tags

    labels = sample.labels
    assert labels.scheme == "starcop_plume"
    assert labels.classes == (("methane plume",) if spec.has_plume else ("no methane plume",))
    assert labels.objects == ()
    assert labels.rasters == {
        "plume_mask": str(folder / "labelbinary.tif"),
        "label_rgba": str(folder / "label_rgba.tif"),
    }
    props = labels.properties
    assert props["has_plume"] == ("true" if spec.has_plume else "false")
    assert props["qplume_kg_h"] == spec.qplume
    assert props["csv"] == spec.csv
    assert props["difficulty"] == spec.difficulty
    assert props["name"] == n
    assert props["datetime"] == corpus.acquisition(spec)
    assert props["window_width"] == props["window_height"] == "64"
    assert props["window_col_off"] == props["window_row_off"] == "0"
    assert props["mag1c_units"] == "ppm·m"
    r, c, w, h = (part[1:] for part in spec.event_id.split("_")[1:])
    assert props["flight_line_window"] == f"row_off={r} col_off={c} width={w} height={h}"
    if spec.has_plume:
        assert props["candidate_id"] == f"{n}-{spec.candidate}"
        assert props["window_labels"] == corpus.PLUME_WINDOW_LABELS
    else:
        assert "candidate_id" not in props and "label_path" not in props

    # label fields: the plume label (tag and property are one fact) and the class
    assert label_fields(sample) >= {"tag:methane_plume"} and count_tag_fields(sample) >= 2
    assert geolocation_problem(sample) == ""
    assert sample_from_row(samples_table([sample]).to_pylist()[0]) == sample


def test_pipeline_reads_and_renders_a_sample(sample_root: Path) -> None:
    [sample] = STARCOP(sample_root).read_unit(corpus.GOOD_EVENTS[0].event_id)
    for image in sample.images:
        scores = image_scores(image, 0.02, 0.98)
        assert scores.valid_fraction >= 0.9
        if image.encoding == "float":
            assert np.isnan(scores.brightness)  # mag1c has no brightness scale
        else:
            assert 0.1 < scores.brightness < 0.9  # normalised radiance / 60
        rgb = render_rgb(image)
        assert rgb.shape == (3, 64, 64) and rgb.dtype == np.uint8
        assert rgb.std() > 10
    rgb = render_rgb(sample.image("image"))
    assert rgb[0].mean() > rgb[2].mean()  # desert: red brighter than blue
    mask = _read(Path(sample.labels.rasters["plume_mask"]))[0].astype(bool)
    grey = render_rgb(sample.image("mag1c"))[0]
    assert grey[mask].mean() > grey[~mask].mean() + 100  # the plume shows in the rendering


def test_bad_event_missing_mag1c(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        STARCOP(sample_root).read_unit(corpus.BAD_MISSING_MAG1C)
    assert err.value.kind == "missing_file"
    assert f"{corpus.BAD_MISSING_MAG1C}/mag1c.tif" in str(err.value)


def test_bad_event_non_numeric_qplume(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        STARCOP(sample_root).read_unit(corpus.BAD_QPLUME)
    assert err.value.kind == "bad_metadata"
    assert "train.csv" in str(err.value) and "'~1200'" in str(err.value)


def test_bad_event_swath_edge_is_mostly_valid_only_in_part(sample_root: Path) -> None:
    [sample] = STARCOP(sample_root).read_unit(corpus.BAD_SWATH_EDGE)
    assert geolocation_problem(sample) == ""  # only its coverage is wrong
    fractions = [image_scores(im, 0.02, 0.98).valid_fraction for im in sample.images]
    assert all(0.6 < f < 0.75 for f in fractions)


def test_unit_files_include_the_csv(sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[1]
    files = STARCOP(sample_root).unit_files(spec.event_id)
    assert sample_root / "train.csv" in files
    assert sample_root / spec.event_id / "mag1c.tif" in files
    assert len(files) == len(RELEASE_FILES) + 1


# -- CSV variations -----------------------------------------------------------------------------


@pytest.mark.parametrize("index_header", ["", "Unnamed: 0"])
def test_leading_index_column_is_ignored(
    tmp_path: Path, sample_root: Path, index_header: str
) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    rows = _csv_rows(tmp_path / "test.csv")
    _write_csv(tmp_path / "test.csv", [[index_header, *rows[0]], ["0", *rows[1]]])
    adapter = STARCOP(tmp_path)
    assert adapter.list_units() == [spec.event_id]
    [sample] = adapter.read_unit(spec.event_id)
    [reference] = STARCOP(sample_root).read_unit(spec.event_id)
    assert sample.labels.properties == reference.labels.properties
    assert "Unnamed: 0" not in sample.labels.properties and "" not in sample.labels.properties
    assert sample.tags == reference.tags


def test_event_in_full_and_mini_csv_is_one_unit(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    shutil.copy(tmp_path / "test.csv", tmp_path / "test_mini10.csv")
    adapter = STARCOP(tmp_path)
    assert adapter.list_units() == [spec.event_id]
    [sample] = adapter.read_unit(spec.event_id)
    assert sample.labels.properties["csv"] == "test.csv;test_mini10.csv"
    assert sample.split == "test"
    assert {tmp_path / "test.csv", tmp_path / "test_mini10.csv"} < set(
        adapter.unit_files(spec.event_id)
    )


def test_conflicting_rows_are_bad_metadata(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    shutil.copy(tmp_path / "test.csv", tmp_path / "test_mini10.csv")
    _edit_row(tmp_path, "test_mini10.csv", "qplume", "123.4")
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "bad_metadata"
    assert "test.csv" in str(err.value) and "test_mini10.csv" in str(err.value)


def test_training_caches_are_not_listed(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[1]
    row = _copy_event(sample_root, tmp_path, spec.event_id, "train.csv")
    header = list(corpus.CSV_COLUMNS)
    tiled = [header, [f"{spec.event_id}_r0_c0_w64_h64", *row[1:]]]
    _write_csv(tmp_path / "train_tiled_64_64.csv", tiled)
    _write_csv(tmp_path / "train_sampled_data.csv", [header, row])
    assert STARCOP(tmp_path).list_units() == [spec.event_id]
    only = STARCOP(tmp_path, {"csv_files": ["train_tiled_64_64.csv"]})
    assert only.list_units() == [f"{spec.event_id}_r0_c0_w64_h64"]
    with pytest.raises(SourceError) as err:
        only.read_unit(f"{spec.event_id}_r0_c0_w64_h64")
    assert err.value.kind == "missing_file"


def test_csv_files_option(tmp_path: Path, sample_root: Path) -> None:
    adapter = STARCOP(sample_root, {"csv_files": ["train.csv"]})
    assert adapter.list_units() == sorted(
        s.event_id for s in corpus.ALL_EVENTS if s.csv == "train.csv"
    )
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        STARCOP(sample_root, {"csv_files": ["val.csv"]}).list_units()
    with pytest.raises(ValueError, match="csv_files"):
        STARCOP(sample_root, {"csv_files": [3]})


def test_csv_without_id_column(tmp_path: Path) -> None:
    _write_csv(tmp_path / "test.csv", [["name", "has_plume"], ["ang20191018t144405", "True"]])
    with pytest.raises(SourceNotFoundError, match="no 'id' column"):
        STARCOP(tmp_path).list_units()


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("has_plume", "maybe", "has_plume='maybe'"),
        ("qplume", "-3", "qplume='-3'"),
        ("datetime", "18 Oct 2019", "datetime='18 Oct 2019'"),
        ("window_width", "half", "window_width='half'"),
    ],
)
def test_bad_csv_values(
    tmp_path: Path, sample_root: Path, column: str, value: str, fragment: str
) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    _edit_row(tmp_path, "test.csv", column, value)
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "bad_metadata"
    assert "test.csv" in str(err.value) and fragment in str(err.value)


def test_truncated_row_is_bad_metadata(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    rows = _csv_rows(tmp_path / "test.csv")
    _write_csv(tmp_path / "test.csv", [rows[0], rows[1][:5]])
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "bad_metadata" and "line 2" in str(err.value)


def test_minimal_csv_falls_back_to_the_flight_line(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[3]
    shutil.copytree(sample_root / spec.event_id, tmp_path / spec.event_id)
    _write_csv(tmp_path / "test.csv", [["id", "has_plume"], [spec.event_id, "False"]])
    [sample] = STARCOP(tmp_path).read_unit(spec.event_id)
    assert sample.acquired == ("2019-10-21T17:32:21Z",)
    assert sample.split == "test"  # from the CSV name
    assert sample.tags == {"sensor": "AVIRIS-NG", "methane_plume": "absent"}
    assert sample.labels.classes == ("no methane plume",)
    assert label_fields(sample) == {"class:no methane plume", "tag:methane_plume"}
    assert count_tag_fields(sample) == 2  # the sensor tag is metadata


# -- raster defects and variants ---------------------------------------------------------------


def test_missing_event_folder(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    shutil.rmtree(tmp_path / spec.event_id)
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "missing_file" and spec.event_id in str(err.value)


def test_missing_band(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    (tmp_path / spec.event_id / "TOA_AVIRIS_2350nm.tif").unlink()
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "missing_band" and "TOA_AVIRIS_2350nm.tif" in str(err.value)
    # the "allbands" re-packagings: require only the RGB bands
    [sample] = STARCOP(tmp_path, {"required_bands": [460, 550, 640]}).read_unit(spec.event_id)
    assert "TOA_AVIRIS_2350nm" not in sample.bands and len(sample.image("image").files) == 7


def test_extra_bands_are_read_in_wavelength_order(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    folder = tmp_path / spec.event_id
    shutil.copy(folder / "TOA_AVIRIS_2109nm.tif", folder / "TOA_AVIRIS_2122nm.tif")
    [sample] = STARCOP(tmp_path).read_unit(spec.event_id)
    assert sample.image("image").bands.index("TOA_AVIRIS_2122nm") == 5
    assert sample.image("image").band_file("TOA_AVIRIS_2122nm").endswith("TOA_AVIRIS_2122nm.tif")


def test_missing_plume_mask(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    (tmp_path / spec.event_id / "label_rgba.tif").unlink()  # optional
    [sample] = STARCOP(tmp_path).read_unit(spec.event_id)
    assert set(sample.labels.rasters) == {"plume_mask"}
    (tmp_path / spec.event_id / "labelbinary.tif").unlink()
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "missing_file" and "labelbinary.tif" in str(err.value)


def test_corrupt_band_header(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    path = tmp_path / spec.event_id / "TOA_AVIRIS_550nm.tif"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "corrupt_raster" and "TOA_AVIRIS_550nm.tif" in str(err.value)


def _rewrite(
    path: Path, transform: Affine | None, crs: str | None, size: int | None = None
) -> None:
    with rasterio.open(path) as ds:
        data, profile = ds.read(), ds.profile
    if size is not None:
        data = data[:, :size, :size]
    profile.update(driver="GTiff", width=data.shape[2], height=data.shape[1])
    profile.update(transform=transform or Affine.identity(), crs=crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(data)


def test_label_of_another_size_is_malformed(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    path = tmp_path / spec.event_id / "labelbinary.tif"
    _rewrite(path, corpus.transform_of(spec), "EPSG:32613", size=32)
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "malformed_label" and "labelbinary.tif" in str(err.value)


def test_band_on_another_crs_is_bad_metadata(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    _rewrite(tmp_path / spec.event_id / "mag1c.tif", corpus.transform_of(spec), "EPSG:32614")
    with pytest.raises(SourceError) as err:
        STARCOP(tmp_path).read_unit(spec.event_id)
    assert err.value.kind == "bad_metadata" and "mag1c.tif" in str(err.value)


def test_rasters_without_crs_give_no_footprint(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    for path in (tmp_path / spec.event_id).glob("*.tif"):
        _rewrite(path, None, None)
    [sample] = STARCOP(tmp_path).read_unit(spec.event_id)
    assert (sample.crs, sample.footprint_wkt, sample.gsd_m) == ("", "", None)
    assert geolocation_problem(sample) == "no_footprint"


def test_rotated_grid_footprint(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_EVENTS[0]
    _copy_event(sample_root, tmp_path, spec.event_id)
    rotated = corpus.transform_of(spec) @ Affine.rotation(30.0)
    for path in (tmp_path / spec.event_id).glob("*.tif"):
        _rewrite(path, rotated, "EPSG:32613")
    [sample] = STARCOP(tmp_path).read_unit(spec.event_id)
    assert sample.gsd_m == pytest.approx(corpus.GSD_M)
    size = corpus.SIZE
    xs, ys = zip(*(rotated @ c for c in ((0, 0), (size, 0), (size, size), (0, size))), strict=True)
    lons, lats = warp_transform("EPSG:32613", "EPSG:4326", list(xs), list(ys))
    expected = Polygon(zip(lons, lats, strict=True))
    footprint = shapely.from_wkt(sample.footprint_wkt)
    assert footprint.symmetric_difference(expected).area < 1e-3 * expected.area
    box = shapely.box(*footprint.bounds)
    assert footprint.area < 0.8 * box.area  # a rotated outline, not its bounding box


# -- the root -----------------------------------------------------------------------------------


def test_missing_root_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        STARCOP(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml") as err:
        STARCOP(tmp_path).list_units()  # exists but holds no CSV
    assert "zenodo" in str(err.value)


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="required_bands"):
        STARCOP(Path("."), {"required_bands": ["red"]})
