"""HRSID adapter on its sample corpus: chips, ship boxes from the COCO JSON, broken units."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eoinstruct.pipeline.instructions.pairs import sensor_tag
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.hrsid import sample as corpus
from eoinstruct.sources.hrsid.adapter import HRSID


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hrsid")
    corpus.write(path, 3)
    return path


def test_units_are_every_good_and_bad_chip(root: Path) -> None:
    assert HRSID(root).list_units() == sorted([*corpus.GOOD_UNITS, *corpus.BAD_UNITS])


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_each_broken_unit_fails_with_its_kind(root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as info:
        HRSID(root).read_unit(unit)
    assert info.value.kind == corpus.BAD_UNITS[unit]


def test_boxes_are_the_coco_boxes_of_each_chip(root: Path) -> None:
    adapter = HRSID(root)
    for unit, n in corpus.GOOD_UNITS.items():
        stem, chip = unit.split("/")
        data = json.loads((root / "annotations" / f"{stem}.json").read_text())
        image_id = next(i["id"] for i in data["images"] if i["file_name"] == f"{chip}.jpg")
        want = sorted(
            (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3])
            for a in data["annotations"]
            if a["image_id"] == image_id
        )
        (s,) = adapter.read_unit(unit)
        assert sorted(o.bbox for o in s.labels.objects) == want and len(want) == n
        assert {o.category for o in s.labels.objects} <= {"ship"}
        assert (s.labels.properties.get("absent_categories") == "ship") == (n == 0)
        assert s.labels.properties["static_image_role"] == "image"
        assert s.modality == "sar" and s.images[0].encoding == "uint8"
        assert s.images[0].bands == ("amplitude",) and s.images[0].width == corpus.SIZE
        assert sensor_tag(s, 1) == "[s1_vh_1]"
        assert s.split == ("test" if stem == "test2017" else "train")
        assert s.licence == "unstated"


def test_malformed_annotation_file_is_one_failing_unit(root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "hrsid"
    shutil.copytree(root, copy)
    path = copy / "annotations" / "test2017.json"
    path.write_text(path.read_text()[:100])
    adapter = HRSID(copy)
    assert "test2017" in adapter.list_units()
    with pytest.raises(SourceError) as info:
        adapter.read_unit("test2017")
    assert info.value.kind == "malformed_label"


def test_missing_root_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        HRSID(tmp_path).list_units()


def test_sample_corpus_is_deterministic(tmp_path: Path) -> None:
    corpus.write(tmp_path / "a", 5)
    corpus.write(tmp_path / "b", 5)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert files and all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files
    )


def test_filter_exempts_ungeoreferenced_object_sets() -> None:
    import yaml

    from eoinstruct.pipeline.quality.thresholds import Thresholds, decide

    section = yaml.safe_load(Path("params.yaml").read_text())["filter"]
    thresholds = Thresholds.from_params(section)
    row = {
        "geo_problem": "no_footprint",
        "image_encodings": ["uint8"],
        "valid_fraction": [1.0],
        "brightness": [0.3],
        "n_tags": 1,
    }
    assert [str(r) for r in decide({**row, "source": "xbd"}, thresholds)] == [
        "no_geolocation",
        "too_few_tags",
    ]
    for source in ("hrsid", "hit_uav"):
        assert decide({**row, "source": source}, thresholds) == []
    assert decide({**row, "source": "hrsid", "brightness": [0.01]}, thresholds)  # too dark
