"""Tests of the DOTA adapter (label files, versions, chips and cut objects) and its writer.

The sample corpus follows the release layout (``{train,val}/images`` + ``labelTxt``); torchgeo's
layout fixture (``shared/peer-data/microsoft__torchgeo/tests/data/dota``:
``annotations/version<v>/``, synthetic labels) checks the other label folders and versions.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import shapely
import shapely.affinity
from PIL import Image

from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.io.render import render_png
from eoinstruct.pipeline.records import ImageRef
from eoinstruct.sources.base import SourceError
from eoinstruct.sources.dota import sample as corpus
from eoinstruct.sources.dota.adapter import CLASSES, DOTA

SEED = 9
OPTIONS = {"chip_size": 256, "overlap": 64}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dota") / "DOTA"
    corpus.write(path, SEED)
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_sample_writer_is_deterministic(root: Path, tmp_path: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    assert _files(tmp_path / "again") == _files(root)


def test_chips_cover_the_image_with_square_windows(root: Path) -> None:
    adapter = DOTA(root, OPTIONS)
    assert adapter.list_units() == sorted(
        [f"{s}/{stem}" for s, stem, *_ in corpus.GOOD] + list(corpus.BAD_UNITS)
    )
    for split, stem, width, height, _ in corpus.GOOD:
        samples = adapter.read_unit(f"{split}/{stem}")
        side = min(256, width, height)
        covered = np.zeros((height, width), bool)
        for s in samples:
            image = s.images[0]
            x, y = (
                int(s.labels.properties["window_col_off"]),
                int(s.labels.properties["window_row_off"]),
            )
            assert image.width == image.height == side
            assert image.files[0].endswith(f"{stem}.png#xywh={x},{y},{side},{side}")
            assert x + side <= width and y + side <= height
            covered[y : y + side, x : x + side] = True
            pixels = read_image(image)
            with Image.open(root / split / "images" / f"{stem}.png") as im:
                full = np.asarray(im.convert("RGB"), dtype=np.float32)
            assert np.array_equal(pixels, np.moveaxis(full[y : y + side, x : x + side], -1, 0))
        # chips with no object are not samples; every chip kept has one, and the chips of
        # this sample cover the image but for object-free corners
        assert samples and covered.mean() > 0.8


def test_objects_kept_clipped_or_cut_by_the_half_inside_rule(root: Path) -> None:
    adapter = DOTA(root, OPTIONS)
    split, stem = "train", "P0011"
    label = (root / split / "labelTxt" / f"{stem}.txt").read_text().splitlines()[2:]
    quads = [
        (
            line.split()[8].replace("-", "_"),
            shapely.Polygon(np.array(line.split()[:8], float).reshape(4, 2)),
        )
        for line in label
    ]
    cut_seen = False
    for s in adapter.read_unit(f"{split}/{stem}"):
        x, y = (
            int(s.labels.properties["window_col_off"]),
            int(s.labels.properties["window_row_off"]),
        )
        window = shapely.box(x, y, x + 256, y + 256)
        want_kept, want_cut = [], set()
        for name, quad in quads:
            share = quad.intersection(window).area / quad.area
            if share >= 0.5:
                want_kept.append((name, quad.intersection(window)))
            elif share > 0:
                want_cut.add(name)
        assert [o.category for o in s.labels.objects] == [n for n, _ in want_kept]
        assert (
            set(filter(None, s.labels.properties.get("cut_categories", "").split(","))) == want_cut
        )
        cut_seen |= bool(want_cut)
        for obj, (_, part) in zip(s.labels.objects, want_kept, strict=True):
            got = shapely.affinity.translate(shapely.from_wkt(obj.polygon_wkt), x, y)
            assert got.symmetric_difference(part).area < 0.05 * part.area + 1
            assert 0 <= obj.bbox[0] < obj.bbox[2] <= 256 and 0 <= obj.bbox[1] < obj.bbox[3] <= 256
        absent = set(s.labels.properties["absent_categories"].split(","))
        present = {o.category for o in s.labels.objects}
        assert absent == {c.replace("-", "_") for c in CLASSES["1.0"]} - present - want_cut
    assert cut_seen


def test_header_gives_gsd_and_sensor(root: Path) -> None:
    adapter = DOTA(root, OPTIONS)
    first = adapter.read_unit("train/P0011")[0]
    assert first.gsd_m == 0.5 and first.sensor == "Google Earth"
    assert adapter.read_unit("train/P0012")[0].sensor == "Gaofen-2"
    assert adapter.read_unit("val/P0013")[0].gsd_m is None  # gsd:null
    assert adapter.read_unit("val/P0013")[0].split == "validation"


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units_fail_with_their_kind(root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as caught:
        DOTA(root, OPTIONS).read_unit(unit)
    assert caught.value.kind == corpus.BAD_UNITS[unit]


@pytest.mark.parametrize("version", ["1.0", "1.5", "2.0"])
def test_torchgeo_fixture_versions(peer_data: Path, version: str) -> None:
    adapter = DOTA(
        peer_data / "microsoft__torchgeo" / "tests" / "data" / "dota", {"version": version}
    )
    units = adapter.list_units()
    assert "train/P0000" in units and "val/P0001" in units
    samples = [s for u in units for s in adapter.read_unit(u)]
    assert samples and all(s.gsd_m == 1.0 for s in samples)
    assert {o.category for s in samples for o in s.labels.objects} == {"plane", "ship"}


def test_options_are_checked(root: Path) -> None:
    with pytest.raises(ValueError, match="version"):
        DOTA(root, {"version": "3.0"})
    with pytest.raises(ValueError, match="overlap"):
        DOTA(root, {"chip_size": 256, "overlap": 200})


def test_window_reference_outside_the_file_is_a_read_error(root: Path) -> None:
    path = root / "train" / "images" / "P0011.png"
    image = ImageRef("image", (f"{path}#xywh=500,0,256,256",), ("R", "G", "B"), "uint8", 256, 256)
    with pytest.raises(RasterReadError):
        read_image(image)


def test_a_chip_renders_as_its_window_not_the_whole_file(root: Path) -> None:
    chip = DOTA(root, OPTIONS).read_unit("train/P0011")[1]
    with Image.open(io.BytesIO(render_png(chip.images[0]))) as im:
        assert im.size == (256, 256)
