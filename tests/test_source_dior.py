"""Tests of the DIOR / DIOR-R adapter and its sample-corpus writer.

The sample corpus follows the release layout (horizontal and oriented XML); torchgeo's layout
fixture (``shared/peer-data/microsoft__torchgeo/tests/data/dior``: ``Annotations/trainval``,
horizontal boxes only, synthetic labels) checks the other layout and its class spellings.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import shapely
import yaml

from eoinstruct.pipeline.accounting import Reason
from eoinstruct.pipeline.corpus.licences import licence, licence_ids
from eoinstruct.pipeline.io.rasters import read_image
from eoinstruct.pipeline.quality.thresholds import Thresholds, decide
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.dior import sample as corpus
from eoinstruct.sources.dior.adapter import CLASSES, DIOR
from eoinstruct.sources.dior.facts import FACTS

SEED = 5


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dior") / "DIOR"
    corpus.write(path, SEED)
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_sample_writer_is_deterministic(root: Path, tmp_path: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    assert _files(tmp_path / "again") == _files(root)
    corpus.write(tmp_path / "other", SEED + 1)
    assert _files(tmp_path / "other") != _files(root)


def test_units_and_good_samples(root: Path) -> None:
    adapter = DIOR(root)
    units = adapter.list_units()
    good = [f"{s}/{n}" for s, n in corpus.GOOD]
    assert sorted(units) == sorted([*good, *corpus.BAD_UNITS])
    for unit in good:
        (sample,) = adapter.read_unit(unit)
        assert sample.source == "dior" and sample.modality == "rgb" and sample.gsd_m is None
        assert sample.split == ("train" if unit.startswith("trainval") else "test")
        assert sample.labels.properties["box_kind"] == "oriented"
        image = sample.images[0]
        assert read_image(image).shape == (3, image.height, image.width)
        outlines = sample.labels.properties["outlines"].split(";")
        assert len(outlines) == len(sample.labels.objects) >= 3
        assert len({o.category for o in sample.labels.objects}) >= 3  # filter.min_tags
        absent = set(sample.labels.properties["absent_categories"].split(","))
        assert absent == set(CLASSES.values()) - {o.category for o in sample.labels.objects}
        for obj, text in zip(sample.labels.objects, outlines, strict=True):
            points = [tuple(map(float, p.split())) for p in text.split(",")]
            assert len(points) == 4
            assert shapely.from_wkt(obj.polygon_wkt).equals(shapely.Polygon(points))
            xs, ys = [p[0] for p in points], [p[1] for p in points]
            assert obj.bbox == (min(xs), min(ys), max(xs), max(ys))
            # the oriented XML's corners form a rectangle (DIOR-R boxes)
            sides = [math.dist(points[i], points[(i + 1) % 4]) for i in range(4)]
            assert sides[0] == pytest.approx(sides[2], abs=0.2)


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units_fail_with_their_kind(root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as caught:
        DIOR(root).read_unit(unit)
    assert caught.value.kind == corpus.BAD_UNITS[unit]


def test_horizontal_xml_is_read_without_the_oriented_release(root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "DIOR"
    shutil.copytree(root, copy)
    shutil.rmtree(copy / "Annotations" / "Oriented Bounding Boxes")
    split, native = corpus.GOOD[0]
    (sample,) = DIOR(copy).read_unit(f"{split}/{native}")
    (oriented,) = DIOR(root).read_unit(f"{split}/{native}")
    assert sample.labels.properties["box_kind"] == "horizontal"
    for obj, rotated in zip(sample.labels.objects, oriented.labels.objects, strict=True):
        assert obj.category == rotated.category
        x1, y1, x2, y2 = obj.bbox
        assert x1 <= rotated.bbox[0] + 1 and x2 >= rotated.bbox[2] - 1  # the rounded outer box
        assert shapely.from_wkt(obj.polygon_wkt).equals(shapely.box(x1, y1, x2, y2))


def test_torchgeo_fixture_layout_and_class_spellings(peer_data: Path) -> None:
    adapter = DIOR(peer_data / "microsoft__torchgeo" / "tests" / "data" / "dior")
    units = adapter.list_units()
    assert "trainval/000000" in units and "test/000000" in units
    read = 0
    for unit in units:
        try:
            samples = adapter.read_unit(unit)
        except SourceError as exc:  # the fixture's random boxes may leave the 32 px image
            assert exc.kind == "malformed_label"
            continue
        read += 1
        # ids repeat across the fixture's folders: the folder keeps the sample ids apart
        assert samples[0].native_id == (
            unit if unit.split("/")[1] in ("000000", "000001") else unit.split("/")[1]
        )
        assert all(o.category in CLASSES.values() for o in samples[0].labels.objects)
        assert samples[0].labels.properties["box_kind"] == "horizontal"
    assert read >= 4


def test_missing_root_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        DIOR(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceNotFoundError):
        DIOR(tmp_path / "empty").list_units()
    with pytest.raises(ValueError, match="unknown splits"):
        DIOR(tmp_path / "empty", {"splits": ["val"]})


def test_licence_is_research_only() -> None:
    ids = licence_ids(FACTS.licence)
    assert ids == ("research-only",)
    assert not licence(ids[0]).commercial


def test_sources_without_georeferencing_are_not_dropped_for_it() -> None:
    section = yaml.safe_load((Path(__file__).parents[1] / "params.yaml").read_text())["filter"]
    thresholds = Thresholds.from_params(section)
    assert all("no_geolocation" in thresholds.exempt[s] for s in ("dior", "dota"))
    scores = {
        "geo_problem": "no_footprint",
        "image_encodings": ["uint8"],
        "valid_fraction": [1.0],
        "brightness": [0.4],
        "degenerate": [False],
        "n_tags": 3,
    }
    assert decide({**scores, "source": "dior"}, thresholds) == []
    assert decide({**scores, "source": "xbd"}, thresholds) == [Reason.NO_GEOLOCATION]
