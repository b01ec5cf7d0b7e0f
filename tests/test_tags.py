"""EarthDial's closed tag vocabulary: bucketing, task tags, the card section, the audit.

The check that every tag on the sample build is known lives in ``test_pipeline_e2e.py``
(``test_every_first_turn_tag_is_earthdial_or_a_listed_addition``), on that module's build.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.item import strip_prefix
from eoinstruct.pipeline.caption.prompts import PromptError, _template, load_prompts
from eoinstruct.pipeline.instructions.pairs import sensor_tag
from eoinstruct.pipeline.instructions.tags import (
    ADDED_SENSOR_TAGS,
    EARTHDIAL_EVAL_TAGS,
    EARTHDIAL_SENSOR_TAGS,
    EARTHDIAL_TASK_TAGS,
    SENSOR_TAGS,
    bucket_sensor_tag,
    card_section,
    check_task_tag,
    leading_tags,
    nearest_class,
    tag_kind,
)
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.templates import TEMPLATE_DIR, TemplateError, load_templates

S2 = "Sentinel-2 MSI"
S1 = "Sentinel-1 C-SAR"
L8 = "Landsat 8 OLI/TIRS"
L9 = "Landsat 9 OLI-2/TIRS-2"


@pytest.mark.parametrize(
    ("modality", "sensor", "gsd", "dates", "tag"),
    [
        # very-high-resolution RGB: every GSD up to 5 m is EarthDial's 0.5 m class
        ("rgb", "SWISSIMAGE aerial orthophoto", 0.3, 1, "[hr_rgb_0.5]"),
        ("rgb", "Brandenburg aerial orthophoto", 0.2, 1, "[hr_rgb_0.5]"),
        ("rgb", "NAIP aerial orthophoto", 1.0, 1, "[hr_rgb_0.5]"),
        ("rgb", "WorldView-2", 1.61, 1, "[hr_rgb_0.5]"),
        ("rgb", "WorldView-2", 1.61, 2, "[hr_rgb_temp_0.5]"),
        ("rgb", "WorldView-2", None, 1, "[hr_rgb_0.5]"),
        # RGB of no named family above 5 m: the nearest satellite RGB class
        ("rgb", "some 12 m satellite", 12.0, 1, "[s2_rgb_10]"),
        ("rgb", "some 40 m satellite", 40.0, 1, "[l8_rgb_30]"),
        # Sentinel-2 keeps its family at any resampled GSD (Satlas 6.4 m web-Mercator tiles)
        ("multispectral", S2, 10.0, 1, "[s2_ms_10]"),
        ("multispectral", S2, 6.4438, 1, "[s2_ms_10]"),
        ("rgb", S2, 10.0, 1, "[s2_rgb_10]"),
        ("multispectral", S2, 10.0, 2, "[s2_ms_temp_10]"),
        # Landsat 8 and 9 alike (EarthDial names its Landsat class l8), thermal ST_B10 too
        ("multispectral", L8, 30.0, 1, "[l8_ms_30]"),
        ("multispectral", L9, 30.0, 1, "[l8_ms_30]"),
        ("rgb", L9, 30.0, 1, "[l8_rgb_30]"),
        ("thermal", L9, 30.0, 1, "[l8_ms_30]"),
        ("thermal", L8, 30.0, 1, "[l8_ms_30]"),
        # Sentinel-1: VV and VH alike; 10 m and 1 m classes; Satlas's 6.4 m is nearer 10
        ("sar", S1, 10.0, 1, "[s1_vh_10]"),
        ("sar", S1, 6.4438, 1, "[s1_vh_10]"),
        ("sar", S1, 10.0, 2, "[s1_vh_temp_10]"),
        ("sar", "ICEYE", 1.0, 1, "[s1_vh_1]"),
        # hyperspectral AVIRIS-NG at 3 m (STARCOP)
        ("hyperspectral", "AVIRIS-NG", 3.0, 1, "[hyper_rgb_3]"),
        ("hyperspectral", "EnMAP", 30.0, 1, "[hyper_rgb_3]"),
        # airborne thermal: EarthDial's evaluation tag
        ("thermal", "FLIR airborne", 0.8, 1, "[Inf_thermal_1]"),
        ("infrared", "NAIP aerial orthophoto", 0.6, 1, "[hr_rgbi_0.5]"),
        # high-resolution multispectral: an added token
        ("multispectral", "WorldView-3", 1.24, 1, "[hr_ms_0.5]"),
    ],
)
def test_bucketing(modality: str, sensor: str, gsd: float | None, dates: int, tag: str) -> None:
    assert bucket_sensor_tag(modality, sensor, gsd, dates) == tag


def test_every_reachable_tag_is_in_the_closed_set() -> None:
    seen = set()
    for modality in ("rgb", "multispectral", "sar", "infrared", "thermal", "hyperspectral"):
        for sensor in (S2, S1, L8, L9, "other"):
            for gsd in (None, 0.1, 0.5, 1.0, 3.0, 5.0, 6.4, 10.0, 20.0, 30.0, 100.0):
                for dates in (1, 2, 4):
                    seen.add(bucket_sensor_tag(modality, sensor, gsd, dates))
    assert seen <= SENSOR_TAGS
    # GSD never leaks into a tag: a handful of classes, not one tag per tile
    assert len(seen) <= len(SENSOR_TAGS)
    assert "[hr_rgb_1.6]" not in seen and "[s2_ms_6.4]" not in seen


def test_unknown_modality_is_an_error() -> None:
    with pytest.raises(ValueError, match="modality"):
        bucket_sensor_tag("lidar", "x", 1.0, 1)


def test_nearest_class_is_log_scale() -> None:
    assert nearest_class(6.4, (1.0, 10.0)) == 10.0
    assert nearest_class(3.0, (1.0, 10.0)) == 1.0
    assert nearest_class(4.0, (1.0, 10.0)) == 10.0  # linear distance would say 1
    assert nearest_class(None, (30.0, 0.5)) == 0.5


def test_closed_sets_are_disjoint_and_additions_have_reasons() -> None:
    assert not (EARTHDIAL_SENSOR_TAGS & set(ADDED_SENSOR_TAGS))
    assert not (EARTHDIAL_EVAL_TAGS & set(ADDED_SENSOR_TAGS))
    assert all(len(reason) > 20 for reason in ADDED_SENSOR_TAGS.values())
    assert tag_kind("[s1_vh_10]") == "earthdial"
    assert tag_kind("[Inf_thermal_1]") == "earthdial-eval"
    assert tag_kind("[s2_ms_temp_10]") == "added"
    with pytest.raises(KeyError):
        tag_kind("[s1_sar_10]")


def _sample(modality: str, sensor: str, gsd: float) -> Sample:
    image = ImageRef("image", ("a",), ("VV", "VH"), "sar_db", 10, 10)
    return Sample(
        sample_id="s:1",
        source="s",
        native_id="1",
        modality=modality,
        sensor=sensor,
        bands=("VV", "VH"),
        gsd_m=gsd,
        crs="",
        footprint_wkt="",
        acquired=(),
        images=(image,),
        tags={},
        labels=Labels(),
        licence="x",
    )


def test_sensor_tag_uses_the_vocabulary_and_leaves_the_gsd_alone() -> None:
    sample = _sample("sar", S1, 6.4438)
    assert sensor_tag(sample, 1) == "[s1_vh_10]"
    assert sensor_tag(sample, 2) == "[s1_vh_temp_10]"
    assert sample.gsd_m == 6.4438
    vv = dataclasses.replace(sample, bands=("VV",))
    assert sensor_tag(vv, 1) == "[s1_vh_10]"


def test_every_template_task_tag_is_earthdials() -> None:
    used = {t.task_tag for t in load_templates()}
    assert used - {""} <= EARTHDIAL_TASK_TAGS
    assert {"[classify]", "[refer]", "[identify]", "[grounding]", "[caption]"} <= used
    prompts = load_prompts()
    assert {p.task_tag for p in prompts.values()} - {""} <= EARTHDIAL_TASK_TAGS
    assert prompts["qa/2"].task_tag == ""


def test_a_task_tag_outside_earthdials_is_refused() -> None:
    assert check_task_tag("[uhi]", "t") == "[uhi]"
    assert check_task_tag("", "t") == ""
    with pytest.raises(ValueError, match=r"\[vqa\]"):
        check_task_tag("[vqa]", "t")


def test_template_loader_refuses_an_unknown_task_tag(tmp_path: Path) -> None:
    text = (TEMPLATE_DIR / "xbd_disaster.yaml").read_text(encoding="utf-8")
    assert "task_tag: '[changedet]'" in text
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    assert load_templates(tmp_path)
    bad = text.replace("task_tag: '[changedet]'", "task_tag: '[change]'")
    (tmp_path / "x.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(TemplateError, match="task tag"):
        load_templates(tmp_path)


def test_prompt_loader_refuses_an_unknown_task_tag() -> None:
    base = {"id": "q", "task": "t", "reply": "qa", "system": "s", "user": "{facts}"}
    assert _template({**base, "task_tag": ""}, "w").task_tag == ""
    with pytest.raises(PromptError, match="task tag"):
        _template({**base, "task_tag": "[vqa]"}, "w")
    with pytest.raises(PromptError, match="missing"):
        _template(base, "w")


def test_audit_reads_the_question_without_the_new_tags() -> None:
    for tag in ("[s1_vh_10]", "[hr_rgb_temp_0.5]", "[Inf_thermal_1]", "[s2_ms_temp_10]"):
        first = f"[classify] {tag} <image> <image>\nWhat changed?"
        assert strip_prefix(first) == "What changed?"
        assert leading_tags(first) == ["[classify]", tag]
        assert strip_prefix(f"{tag} <image>\nWhat is it?") == "What is it?"


def test_card_section_lists_tags_and_additions() -> None:
    text = "\n".join(card_section({"[s2_ms_10]": 5, "[s2_ms_temp_10]": 2, "[classify]": 3}))
    assert "| `[s2_ms_10]` | 5 | yes (token) |" in text
    assert "| `[s2_ms_temp_10]` | 2 | no: added token |" in text
    assert "| `[classify]` | 3 | yes (token) |" in text
    for tag in ADDED_SENSOR_TAGS:
        assert f"- `{tag}`: " in text
    assert "metadata.gsd_m" in text and "Landsat 9" in text
