"""Tests of the SkyScript adapter and its sample-corpus writer.

Synthetic data: the writer's corpus (``sources/skyscript/sample.py``) and torchgeo's
layout fixture (shared/peer-data §1d: real file names and CSV schema, made-up captions, tiny
black JPEGs). No real SkyScript images or meta pickles are in the peer data.
"""

from __future__ import annotations

import csv
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import Image

from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.render import render_png, render_rgb
from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem, image_scores
from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.geo import box_pixel_size_m
from eoinstruct.sources.skyscript import sample as corpus
from eoinstruct.sources.skyscript.adapter import SkyScript
from eoinstruct.sources.skyscript.csvs import split_of_csv
from eoinstruct.sources.skyscript.images import IMAGERY_SOURCES
from eoinstruct.sources.skyscript.meta import load_pickle_restricted, surrounding_summary

SEED = 5
TORCHGEO = Path("microsoft__torchgeo/tests/data/skyscript")
SPLIT_OF = {
    corpus.TRAIN30: "train",
    corpus.TRAIN50: "train",
    corpus.VAL: "validation",
    corpus.TEST: "test",
}


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("skyscript") / "data"
    corpus.write(root, SEED)
    return root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _copy(sample_root: Path, dst: Path) -> Path:
    shutil.copytree(sample_root, dst)
    return dst


def _write_csv(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header or corpus.CSV_HEADER)
        writer.writerows(rows)


def _mini_root(tmp_path: Path, sample_root: Path, spec: corpus.ImageSpec) -> Path:
    """A root holding one good image, its meta and a one-row train CSV at the root."""
    root = tmp_path / "mini"
    for rel in (spec.filepath, spec.meta_path):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_root / rel, root / rel)
    _write_csv(
        root / "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv",
        [(spec.filepath, spec.title, spec.title_multi_objects, str(spec.similarity))],
    )
    return root


class _Exploit:
    """Unpickling this calls ``os.system`` (the classic malicious pickle)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (self.command,)


# --- the sample-corpus writer --------------------------------------------------------------


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    first, second = _files(sample_root), _files(tmp_path / "again")
    assert sorted(first) == sorted(second)
    assert all(first[name] == second[name] for name in first)
    corpus.write(tmp_path / "other", SEED + 1)
    other = _files(tmp_path / "other")
    assert sorted(other) == sorted(first)
    jpegs = [n for n in first if n.endswith(".jpg") and "600100202" not in n]
    assert jpegs and all(other[n] != first[n] for n in jpegs)  # pixels depend on the seed
    assert all(other[n] == first[n] for n in first if not n.endswith(".jpg"))


def test_writer_layout_and_size(sample_root: Path) -> None:
    files = _files(sample_root)
    assert sum(len(b) for b in files.values()) < 1_500_000
    assert sorted(n for n in files if n.startswith("dataframe/")) == sorted(
        f"dataframe/{n}" for n in corpus.CSV_NAMES
    )
    specs = (*corpus.GOOD_IMAGES, *corpus._BAD_SPECS)
    for spec in specs:
        assert spec.meta_path in files
        assert (spec.filepath in files) == (spec.filepath != corpus.BAD_MISSING)
    assert {Path(s.filepath).parent.name for s in specs} == {"images2", "images3"}
    # top-30 % is a subset of top-50 %, as in the real release
    top30 = {s.filepath for s in specs if corpus.TRAIN30 in s.csvs}
    top50 = {s.filepath for s in specs if corpus.TRAIN50 in s.csvs}
    assert top30 < top50
    with (sample_root / "dataframe" / corpus.TRAIN50).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == corpus.CSV_HEADER
    assert {r[0] for r in rows[1:]} == top50
    for spec in corpus.GOOD_IMAGES:
        with Image.open(sample_root / spec.filepath) as image:
            assert (image.format, image.mode, image.size) == (
                "JPEG",
                "RGB",
                (spec.width, spec.height),
            )
            pixels = np.asarray(image, dtype=np.float32)
        assert 0.1 < pixels.mean() / 255 < 0.8  # plausible brightness, not constant
        assert pixels.std() > 8


def test_meta_pickles_are_plain_dicts(sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[0]
    meta = load_pickle_restricted(sample_root / spec.meta_path)
    assert meta == spec.meta()
    assert list(meta) == ["box", "time", "center_tags", "surrounding_tags"]
    west, south, east, north = meta["box"]
    assert west < spec.lon < east and south < spec.lat < north


# --- the adapter on the sample corpus ------------------------------------------------------


def test_list_units(sample_root: Path) -> None:
    units = SkyScript(sample_root).list_units()
    expected = {s.filepath for s in corpus.GOOD_IMAGES} | set(corpus.BAD_UNITS)
    assert units == sorted(expected)  # images in two CSVs are listed once


@pytest.mark.parametrize("spec", corpus.GOOD_IMAGES, ids=lambda s: s.stem)
def test_good_unit(sample_root: Path, spec: corpus.ImageSpec) -> None:
    adapter = SkyScript(sample_root)
    [sample] = adapter.read_unit(spec.filepath)
    code = spec.stem.split("_")[1]
    source = IMAGERY_SOURCES[code]
    assert sample.sample_id == f"skyscript:{spec.filepath}"
    assert sample.native_id == spec.filepath
    assert (sample.modality, sample.bands) == ("rgb", ("R", "G", "B"))
    assert sample.sensor == source.sensor
    assert sample.split == SPLIT_OF[spec.csvs[0]]
    assert sample.gsd_m == pytest.approx(spec.pixel_m, rel=0.01)  # measured from the box
    assert sample.acquired == ("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:00Z".format(*spec.time),)
    [image] = sample.images
    assert image.role == "image"
    assert image.files == (str(sample_root / spec.filepath),)
    assert (image.width, image.height) == (spec.width, spec.height)
    assert (image.encoding, image.display_bands) == ("uint8", ("R", "G", "B"))

    assert sample.crs == "EPSG:4326"
    footprint = shapely.from_wkt(sample.footprint_wkt)
    assert footprint.bounds == pytest.approx(spec.box, abs=1e-9)
    assert footprint.exterior.is_ccw
    assert footprint.contains(shapely.Point(spec.lon, spec.lat))

    element = {"a": "area", "w": "way", "n": "node"}[spec.stem[0]]
    expected_tags = {
        "osm_element_type": element,
        "osm_id": spec.stem.split("_")[0][1:],
        "imagery_source": source.collection,
        "year": f"20{spec.stem.split('_')[2]}",
        "surrounding_objects": str(len(spec.surrounding_tags)),
    }
    expected_tags |= {f"center:{k}": v for k, v in spec.center_tags.items()}
    expected_tags |= surrounding_summary(spec.surrounding_tags)
    assert sample.tags == expected_tags
    assert count_tag_fields(sample) >= 3
    assert geolocation_problem(sample) == ""

    props = sample.labels.properties
    assert props["title"] == spec.title
    assert props["title_multi_objects"] == spec.title_multi_objects
    assert props["similarity_CLIP_openai"] == str(spec.similarity)
    assert props["listed_in"] == ";".join(spec.csvs)
    assert props["imagery_source_code"] == code
    assert props["nominal_gsd_m"] == f"{source.nominal_gsd_m:g}"
    assert (sample.labels.classes, sample.labels.objects) == ((), ())
    assert sample_from_row(samples_table([sample]).to_pylist()[0]) == sample


def test_surrounding_tags_summary(sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[1]  # the Iowa farm: 5 surrounding objects
    [sample] = SkyScript(sample_root).read_unit(spec.filepath)
    assert sample.tags["surrounding:building"] == "farm_auxiliary (2); farm (1)"
    assert sample.tags["surrounding:surface"] == "gravel (1)"
    assert sample.labels.properties["surrounding_tags"] == (
        '[{"building":"farm"},{"building":"farm_auxiliary"},{"building":"farm_auxiliary"},'
        '{"landuse":"farmyard"},{"highway":"unclassified","surface":"gravel"}]'
    )
    many = [{"name": f"shop {i:02d}"} for i in range(13)] + [{"name": "shop 07"}]
    summary = surrounding_summary(many)
    assert summary["surrounding:name"].startswith("shop 07 (2); shop 00 (1); ")
    assert summary["surrounding:name"].endswith("; +3 more")


def test_box_gsd_differs_from_nominal(sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[0]  # SWISSIMAGE (10 cm) exported at 0.3 m
    [sample] = SkyScript(sample_root).read_unit(spec.filepath)
    assert sample.gsd_m == pytest.approx(0.3, rel=0.01)
    assert sample.labels.properties["nominal_gsd_m"] == "0.1"
    assert box_pixel_size_m((0.0, 0.0, 0.001, 0.001), 100, 100) == pytest.approx(1.1, rel=0.01)


def test_unit_files(sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[0]
    files = SkyScript(sample_root).unit_files(spec.filepath)
    assert files == sorted(
        [
            sample_root / spec.filepath,
            sample_root / spec.meta_path,
            sample_root / "dataframe" / corpus.TRAIN30,
            sample_root / "dataframe" / corpus.TRAIN50,
        ]
    )
    missing = SkyScript(sample_root).unit_files(corpus.BAD_MISSING)
    assert sample_root / corpus.BAD_MISSING not in missing
    assert sample_root / "meta3" / "w600100200_US_20.pickle" in missing


def test_good_sample_scores_and_renders(sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[5]
    [sample] = SkyScript(sample_root).read_unit(spec.filepath)
    scores = image_scores(sample.images[0], 0.02, 0.98)
    assert scores.valid_fraction == 1.0
    assert 0.04 < scores.brightness < 0.95
    rgb = render_rgb(sample.images[0])
    assert rgb.shape == (3, spec.height, spec.width) and rgb.dtype == np.uint8
    assert render_png(sample.images[0]) == (sample_root / spec.filepath).read_bytes()


# --- the bad units ---------------------------------------------------------------------------


def test_bad_missing_image(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        SkyScript(sample_root).read_unit(corpus.BAD_MISSING)
    assert err.value.kind == "missing_file"
    assert str(sample_root / corpus.BAD_MISSING) in str(err.value)


def test_bad_meta_is_a_list(sample_root: Path) -> None:
    with pytest.raises(SourceError) as err:
        SkyScript(sample_root).read_unit(corpus.BAD_META_LIST)
    assert err.value.kind == "malformed_label"
    assert "meta3/n600100203_DE_19.pickle" in str(err.value)
    assert "list" in str(err.value)


def test_bad_truncated_jpeg_fails_when_pixels_are_read(sample_root: Path) -> None:
    [sample] = SkyScript(sample_root).read_unit(corpus.BAD_TRUNCATED)  # the header is intact
    assert (sample.images[0].width, sample.images[0].height) == (256, 256)
    assert sample.crs == "EPSG:4326"
    with Image.open(sample_root / corpus.BAD_TRUNCATED) as image, pytest.raises(OSError):
        image.load()  # Pillow itself refuses it
    with pytest.raises(RasterReadError) as err:
        image_scores(sample.images[0], 0.02, 0.98)
    assert err.value.kind == "corrupt_raster"
    assert corpus.BAD_TRUNCATED in str(err.value)


def test_bad_black_image_is_too_dark(sample_root: Path) -> None:
    [sample] = SkyScript(sample_root).read_unit(corpus.BAD_BLACK)
    assert (sample.images[0].width, sample.images[0].height) == (22, 13)
    assert count_tag_fields(sample) >= 3 and geolocation_problem(sample) == ""
    scores = image_scores(sample.images[0], 0.02, 0.98)
    assert scores.brightness < 0.04  # below filter.brightness.uint8.min
    assert scores.valid_fraction == 1.0


# --- the meta pickles are never trusted -------------------------------------------------------


def test_malicious_pickle_is_refused_unexecuted(tmp_path: Path, sample_root: Path) -> None:
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Exploit(f"touch {marker}"))
    assert b"system" in payload
    spec = corpus.GOOD_IMAGES[2]
    root = _mini_root(tmp_path, sample_root, spec)
    (root / spec.meta_path).write_bytes(payload)
    with pytest.raises(SourceError) as err:
        SkyScript(root).read_unit(spec.filepath)
    assert err.value.kind == "malformed_label"
    assert "system" in str(err.value) and spec.meta_path in str(err.value)
    assert not marker.exists()
    # the same payload in protocol 0 (GLOBAL opcode) and a direct load
    for protocol in (0, 2, 5):
        path = tmp_path / f"p{protocol}.pickle"
        path.write_bytes(pickle.dumps(_Exploit(f"touch {marker}"), protocol=protocol))
        with pytest.raises(SourceError) as err:
            load_pickle_restricted(path)
        assert err.value.kind == "malformed_label"
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps({"box": np.float64(1.0)}),  # numpy scalars need a global
        pickle.dumps({"center_tags": {"a": 1}})[:-5],  # truncated
        b"not a pickle at all",
        pickle.dumps(Path("/etc/passwd")),
    ],
    ids=["numpy", "truncated", "garbage", "object"],
)
def test_non_plain_pickles_are_malformed(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "meta.pickle"
    path.write_bytes(payload)
    with pytest.raises(SourceError) as err:
        load_pickle_restricted(path)
    assert err.value.kind == "malformed_label"
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        ({"box": (10.0, 50.0, 9.0, 51.0)}, "bad_metadata"),  # west > east
        ({"box": (10.0, 50.0, 11.0)}, "bad_metadata"),
        ({"box": (10.0, 50.0, float("nan"), 51.0)}, "bad_metadata"),
        ({"box": (200.0, 50.0, 201.0, 51.0)}, "bad_metadata"),
        ({"time": (2019, 13, 1, 0, 0)}, "bad_metadata"),
        ({"time": "2019-01-01"}, "bad_metadata"),
        ({"center_tags": ["highway", "track"]}, "malformed_label"),
        ({"center_tags": {"highway": ["track"]}}, "malformed_label"),
        ({"surrounding_tags": {"building": "yes"}}, "malformed_label"),
    ],
)
def test_bad_meta_values(
    tmp_path: Path, sample_root: Path, edit: dict[str, object], kind: str
) -> None:
    spec = corpus.GOOD_IMAGES[2]
    root = _mini_root(tmp_path, sample_root, spec)
    (root / spec.meta_path).write_bytes(pickle.dumps(spec.meta() | edit))
    with pytest.raises(SourceError) as err:
        SkyScript(root).read_unit(spec.filepath)
    assert err.value.kind == kind
    assert spec.meta_path in str(err.value)


def test_missing_meta_gives_no_geolocation(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[3]
    root = _mini_root(tmp_path, sample_root, spec)
    meta = root / spec.meta_path
    meta.unlink()
    with pytest.raises(SourceError) as err:  # its meta folder is there, its pickle is lost
        SkyScript(root).read_unit(spec.filepath)
    assert err.value.kind == "missing_file"
    shutil.rmtree(meta.parent)  # no meta folder at all: the meta zip was not downloaded
    [sample] = SkyScript(root).read_unit(spec.filepath)
    assert (sample.crs, sample.footprint_wkt, sample.acquired) == ("", "", ())
    assert geolocation_problem(sample) == "no_footprint"
    assert sample.gsd_m == IMAGERY_SOURCES["DE"].nominal_gsd_m
    assert set(sample.tags) == {"osm_element_type", "osm_id", "imagery_source", "year"}
    assert "surrounding_tags" not in sample.labels.properties


# --- CSVs ------------------------------------------------------------------------------------


def test_csvs_option(sample_root: Path) -> None:
    adapter = SkyScript(sample_root, {"csvs": [corpus.VAL]})
    assert adapter.list_units() == sorted(
        s.filepath for s in (*corpus.GOOD_IMAGES, *corpus._BAD_SPECS) if corpus.VAL in s.csvs
    )
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        SkyScript(sample_root, {"csvs": ["SkyScript_nope.csv"]}).list_units()
    with pytest.raises(ValueError, match="csvs"):
        SkyScript(sample_root, {"csvs": []})


def test_split_of_csv() -> None:
    assert split_of_csv("SkyScript_train_unfiltered_5M.csv") == "train"
    assert split_of_csv("SkyScript_val_5K_filtered_by_CLIP_laion_RS.csv") == "validation"
    assert split_of_csv("SkyScript_test_30K_filtered_by_CLIP_openai.csv") == "test"
    assert split_of_csv("my_captions.csv") == ""


def test_image_in_train_and_test_is_test(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[0]
    root = _mini_root(tmp_path, sample_root, spec)
    test_csv = root / "dataframe" / "SkyScript_test_30K_filtered_by_CLIP_openai.csv"
    _write_csv(test_csv, [(spec.filepath, "another caption", "", "0.2")])
    [sample] = SkyScript(root).read_unit(spec.filepath)
    assert sample.split == "test"
    # captions: first CSV by name wins (test < train), empty cells fall through
    assert sample.labels.properties["title"] == "another caption"
    assert sample.labels.properties["title_multi_objects"] == spec.title_multi_objects
    assert sample.labels.properties["listed_in"] == (
        "SkyScript_test_30K_filtered_by_CLIP_openai.csv;"
        "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv"
    )


def test_quoted_newlines_crlf_and_polished(tmp_path: Path, sample_root: Path) -> None:
    root = tmp_path / "quoted"
    specs = corpus.GOOD_IMAGES[:3]
    for spec in specs:
        (root / spec.filepath).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(sample_root / spec.filepath, root / spec.filepath)
    path = root / "SkyScript_train_top30pct_filtered_by_CLIP_laion_RS_language_polished.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as handle:  # with a BOM
        writer = csv.writer(handle, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
        writer.writerow(("filepath", "title", "title_multi_objects"))
        writer.writerow((specs[0].filepath, 'a "gravel"\ntrack', "x"))
        writer.writerow((specs[1].filepath, "farmland, Iowa", ""))
        writer.writerow(("", "a row without image", ""))
        writer.writerow((specs[2].filepath, "a road", "a road\r\nwith houses"))
    adapter = SkyScript(root)
    assert adapter.list_units() == sorted(s.filepath for s in specs)
    got = {u: adapter.read_unit(u)[0].labels.properties for u in adapter.list_units()}
    assert got[specs[0].filepath]["title_polished"] == 'a "gravel"\ntrack'
    assert got[specs[1].filepath]["title_polished"] == "farmland, Iowa"
    assert "title_multi_objects_polished" not in got[specs[1].filepath]
    assert got[specs[2].filepath]["title_multi_objects_polished"] == "a road\r\nwith houses"
    assert "title" not in got[specs[0].filepath]


def test_csv_without_filepath_column(tmp_path: Path) -> None:
    _write_csv(tmp_path / "SkyScript_val_5K.csv", [("a", "b")], header=("image", "caption"))
    with pytest.raises(SourceNotFoundError, match="filepath"):
        SkyScript(tmp_path).list_units()


def test_csv_changed_after_listing(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path / "copy")
    adapter = SkyScript(root)
    units = adapter.list_units()
    path = root / "dataframe" / corpus.TRAIN50
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "".join(reversed(lines[1:])))
    with pytest.raises(SourceError) as err:
        adapter.read_unit(corpus.GOOD_IMAGES[2].filepath)  # listed in TRAIN50 only
    assert err.value.kind == "bad_metadata"
    assert corpus.TRAIN50 in str(err.value)
    assert SkyScript(root).read_unit(units[0])  # a new adapter sees the new offsets


@pytest.mark.parametrize(
    "filepath",
    ["../images2/w245678912_CH_18.jpg", "/etc/w245678912_CH_18.jpg", "images2/photo.jpg"],
)
def test_bad_filepaths(tmp_path: Path, filepath: str) -> None:
    _write_csv(tmp_path / "SkyScript_val_5K.csv", [(filepath, "t", "t", "0.1")])
    adapter = SkyScript(tmp_path)
    assert adapter.list_units() == [filepath]
    with pytest.raises(SourceError) as err:
        adapter.read_unit(filepath)
    assert err.value.kind == "bad_metadata"
    assert filepath in str(err.value)


def test_unknown_imagery_code_is_kept(tmp_path: Path, sample_root: Path) -> None:
    spec = corpus.GOOD_IMAGES[0]
    root = _mini_root(tmp_path, sample_root, spec)
    new = "images2/w245678912_XX_18.jpg"
    os.replace(root / spec.filepath, root / new)
    os.replace(root / spec.meta_path, root / "meta2" / "w245678912_XX_18.pickle")
    _write_csv(root / "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv", [(new, "t", "", "")])
    [sample] = SkyScript(root).read_unit(new)
    assert sample.sensor == "unknown (XX)"
    assert sample.tags["imagery_source"] == "XX"
    assert sample.gsd_m == pytest.approx(spec.pixel_m, rel=0.01)


def test_adapter_pickles_without_its_index(sample_root: Path) -> None:
    adapter = SkyScript(sample_root)
    units = adapter.list_units()
    assert adapter._index is not None
    clone = pickle.loads(pickle.dumps(adapter))
    assert clone._index is None
    assert clone.list_units() == units
    assert clone._index is adapter._index  # reused from the per-process cache


def test_missing_root_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        SkyScript(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        SkyScript(tmp_path).list_units()  # exists but holds no caption CSV


# --- torchgeo's layout fixture (peer data) -----------------------------------------------------


def test_torchgeo_fixture(peer_data: Path) -> None:
    root = peer_data / TORCHGEO
    adapter = SkyScript(root)
    units = adapter.list_units()
    assert units == [
        "images2/w779523169_CH_18.jpg",
        "images3/w602363451_US_21.jpg",
        "images4/w779523169_CH_18.jpg",
        "images5/w602363451_US_21.jpg",
        "images6/w779523169_CH_18.jpg",
        "images7/w602363451_US_21.jpg",
    ]
    samples = {u: adapter.read_unit(u)[0] for u in units}
    # sizes measured from the fixture's JPEG headers
    sizes = {u: (s.images[0].width, s.images[0].height) for u, s in samples.items()}
    assert sizes == {
        "images2/w779523169_CH_18.jpg": (22, 13),
        "images3/w602363451_US_21.jpg": (8, 18),
        "images4/w779523169_CH_18.jpg": (31, 25),
        "images5/w602363451_US_21.jpg": (19, 30),
        "images6/w779523169_CH_18.jpg": (24, 26),
        "images7/w602363451_US_21.jpg": (2, 16),
    }
    splits = [samples[u].split for u in units]
    assert splits == ["train", "train", "validation", "validation", "test", "test"]
    ch = samples["images2/w779523169_CH_18.jpg"]
    assert ch.tags == {
        "osm_element_type": "way",
        "osm_id": "779523169",
        "imagery_source": "ORTHO/Switzerland/SWISSIMAGE/10cm",
        "year": "2018",
    }
    assert ch.labels.properties["title"] == (
        "a satellite image of a beautiful house I will never be able to afford"
    )
    assert ch.labels.properties["title_multi_objects"] == (
        "a satellite image of a beautiful house, surrounded by a yard"
    )
    assert ch.labels.properties["similarity_CLIP_openai"] == "0.1"
    us = samples["images7/w602363451_US_21.jpg"]
    assert (us.sensor, us.tags["imagery_source"], us.gsd_m) == (
        "NAIP aerial orthophoto",
        "USDA/NAIP/DOQQ",
        1.0,
    )
    assert us.labels.properties["listed_in"] == "SkyScript_test_30K_filtered_by_CLIP_openai.csv"
    for sample in samples.values():
        # no meta pickles in the fixture: no footprint; black pixels: too dark
        assert (sample.crs, sample.footprint_wkt) == ("", "")
        assert image_scores(sample.images[0], 0.02, 0.98).brightness == 0.0
