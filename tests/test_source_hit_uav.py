"""HIT-UAV adapter on its sample corpus: frames, VOC boxes, DontCare, flight tags, broken units."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from eoinstruct.pipeline.instructions.pairs import sensor_tag
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.hit_uav import sample as corpus
from eoinstruct.sources.hit_uav.adapter import HITUAV

NAMES = {"Person": "person", "Car": "car", "Bicycle": "bicycle", "OtherVehicle": "other_vehicle"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hit_uav")
    corpus.write(path, 3)
    return path


def test_units_are_every_good_and_bad_frame(root: Path) -> None:
    assert HITUAV(root).list_units() == sorted([*corpus.GOOD_UNITS, *corpus.BAD_UNITS])


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_each_broken_unit_fails_with_its_kind(root: Path, unit: str) -> None:
    with pytest.raises(SourceError) as info:
        HITUAV(root).read_unit(unit)
    assert info.value.kind == corpus.BAD_UNITS[unit]


def test_boxes_are_the_xml_boxes_without_dontcare(root: Path) -> None:
    adapter = HITUAV(root)
    for unit, counts in corpus.GOOD_UNITS.items():
        tree = ET.parse(root / "normal_xml" / "Annotations" / f"{unit}.xml").getroot()
        want, dont_care = [], 0
        for obj in tree.iter("object"):
            box = obj.find("bndbox")
            assert box is not None
            keys = ("xmin", "ymin", "xmax", "ymax")
            coords = tuple(float(box.findtext(k) or "nan") for k in keys)
            if obj.findtext("name") == "DontCare":
                dont_care += 1
            else:
                want.append((NAMES[obj.findtext("name") or ""], coords))
        (s,) = adapter.read_unit(unit)
        assert sorted((o.category, o.bbox) for o in s.labels.objects) == sorted(want)
        assert len(want) == sum(n for c, n in counts.items() if c != "DontCare")
        props = s.labels.properties
        if dont_care:
            assert props["dontcare_boxes"] == str(dont_care) and "absent_categories" not in props
        else:
            absent = set(NAMES.values()) - {c for c, _ in want}
            assert set(filter(None, props.get("absent_categories", "").split(","))) == absent
        night, altitude, angle = unit.split("_")[:3]
        assert s.tags == {
            "daylight": "night" if night == "1" else "day",
            "altitude_m": altitude,
            "camera_angle_deg": angle,
        }
        assert s.modality == "infrared" and s.images[0].bands == ("LWIR",)
        assert sensor_tag(s, 1) == "[Inf_thermal_1]"
        assert s.split == {"val": "validation", "test": "test"}.get(
            corpus.SPLIT_OF.get(unit, "train"), "train"
        )


def test_missing_root_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError):
        HITUAV(tmp_path).list_units()


def test_sample_corpus_is_deterministic(tmp_path: Path) -> None:
    corpus.write(tmp_path / "a", 5)
    corpus.write(tmp_path / "b", 5)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert files and all(
        (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files
    )


def test_long_wave_infrared_is_thermal_near_infrared_is_not() -> None:
    from eoinstruct.pipeline.instructions.tags import bucket_sensor_tag

    assert bucket_sensor_tag("infrared", "UAV", None, 1, ("LWIR",)) == "[Inf_thermal_1]"
    assert bucket_sensor_tag("infrared", "UAV", None, 1, ("LWIR_1", "LWIR_2")) == "[Inf_thermal_1]"
    assert bucket_sensor_tag("infrared", "NAIP", 0.6, 1, ("R", "G", "B", "NIR")) == "[hr_rgbi_0.5]"
    assert bucket_sensor_tag("infrared", "NAIP", 0.6, 1) == "[hr_rgbi_0.5]"
