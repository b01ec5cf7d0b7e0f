"""Templates, task builders, pair generation and validation."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eoinstruct.pipeline.instructions.builders import (
    GenerationConfig,
    NotApplicable,
    draw,
    scale_box,
)
from eoinstruct.pipeline.instructions.builders.disaster import (
    damage_counts,
    disaster_type,
    refer_damage_level,
)
from eoinstruct.pipeline.instructions.builders.landcover import landcover_multilabel
from eoinstruct.pipeline.instructions.pairs import make_pair, sensor_tag, templates_for
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, ObjectLabel, Sample, Turn
from eoinstruct.templates import MIN_QUESTIONS, MIN_STYLES, TemplateError, load_templates

CONFIG = GenerationConfig(seed=7, box_scale=100, max_boxes=40, class_set="ben19")
TEMPLATES = {t.id: t for t in load_templates()}


def rgb(role: str, size: int = 200) -> ImageRef:
    return ImageRef(role, (f"{role}.png",), ("R", "G", "B"), "uint8", size, size)


def xbd_sample(objects=(), **props) -> Sample:
    return Sample(
        sample_id="xbd:t_1",
        source="xbd",
        native_id="t_1",
        modality="rgb",
        sensor="WorldView-2",
        bands=("R", "G", "B"),
        gsd_m=0.46,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("a", "b"),
        images=(rgb("pre"), rgb("post")),
        tags={"disaster": "x"},
        labels=Labels(objects=tuple(objects), properties={"disaster_type": "wind", **props}),
        licence="CC-BY-NC-SA-4.0",
        split="train",
    )


def building(attr: str, box=(10, 20, 30, 40)) -> ObjectLabel:
    return ObjectLabel("building", attr, "post", box)


def ben_sample(classes=("Pastures", "Airports"), modality="multispectral") -> Sample:
    bands = ("B02", "B03", "B04")
    return Sample(
        sample_id="bigearthnet_v1:p",
        source="bigearthnet_v1",
        native_id="p",
        modality=modality,
        sensor="Sentinel-2 MSI",
        bands=bands,
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="",
        acquired=(),
        images=(ImageRef("image", ("a", "b", "c"), bands, "reflectance_1e4", 120, 120),),
        tags={},
        labels=Labels(scheme="clc43", classes=tuple(classes)),
        licence="x",
    )


def test_templates_load_and_cover_the_foundation_tasks():
    assert {
        "ben_landcover_multilabel",
        "xbd_disaster_type",
        "xbd_damage_counts",
        "xbd_refer_damage_level",
    } <= set(TEMPLATES)
    for t in TEMPLATES.values():
        for turn in t.turns:
            assert len(turn.questions) >= MIN_QUESTIONS, t.id
            assert len(turn.styles) >= MIN_STYLES, t.id


def test_malformed_template_files_are_refused(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("family: x\ntemplates:\n  - id: a\n    task: t\n")
    with pytest.raises(TemplateError, match="missing"):
        load_templates(tmp_path)
    (tmp_path / "a.yaml").write_text(
        "family: x\ntemplates:\n  - {id: c, task: t, builder: b, sources: [s], turns: [{}]}\n"
    )
    with pytest.raises(TemplateError, match="turns"):
        load_templates(tmp_path)
    (tmp_path / "a.yaml").write_text(
        "family: x\ntemplates:\n  - {id: c, task: t, builder: b, sources: [s],"
        " questions: ['One?'], answers: {terse: {frames: ['{x}']}, sentence: {frames: [X.]}}}\n"
    )
    with pytest.raises(TemplateError, match="question phrasings"):
        load_templates(tmp_path)


def test_landcover_maps_to_19_classes_and_drops_unmapped():
    values = landcover_multilabel(ben_sample(), CONFIG)
    assert values.answers == ("Pastures",)  # Airports has no 19-class equivalent
    assert len(values.options) == 19
    with pytest.raises(NotApplicable, match="no_class_in_set"):
        landcover_multilabel(ben_sample(classes=("Airports",)), CONFIG)
    clc = landcover_multilabel(ben_sample(), dataclasses.replace(CONFIG, class_set="clc43"))
    assert clc.answers == ("Airports", "Pastures") and len(clc.options) == 43


def test_disaster_builders_compute_answers_from_labels():
    sample = xbd_sample(
        [
            building("destroyed"),
            building("destroyed"),
            building("no-damage"),
            building("un-classified"),
        ]
    )
    counts = damage_counts(sample, CONFIG).values
    assert counts["counts_terse"] == (
        "Destroyed: 2; major damage: 0; minor damage: 0; no damage: 1; unclassified: 1"
    )
    assert counts["unclassified_note"] == " One more building could not be assessed."
    assert disaster_type(sample, CONFIG).answers == ("windstorm",)
    with pytest.raises(NotApplicable):
        disaster_type(xbd_sample(disaster_type=""), CONFIG)
    with pytest.raises(NotApplicable, match="no_damage_labels"):
        damage_counts(xbd_sample([building("")]), CONFIG)


def test_boxes_are_scaled_outwards_and_stay_in_range():
    assert scale_box((10, 20, 30, 40), 200, 200, 100) == (5, 10, 15, 20, 0)
    assert scale_box((10.4, 20.6, 30.2, 40.9), 200, 200, 100) == (5, 10, 16, 21, 0)
    assert scale_box((0, 0, 200, 200), 200, 200, 100) == (0, 0, 100, 100, 0)
    assert scale_box((199.9, 199.9, 200, 200), 200, 200, 100) == (99, 99, 100, 100, 0)
    assert scale_box((-5, -5, 250, 250), 200, 200, 100) == (0, 0, 100, 100, 0)


def test_refer_lists_every_building_of_the_chosen_level():
    objects = [
        building("destroyed", (100, 100, 120, 120)),
        building("destroyed", (0, 0, 10, 10)),
        building("no-damage", (50, 50, 60, 60)),
    ]
    values = refer_damage_level(xbd_sample(objects), CONFIG)
    if values.values["ref"] == "destroyed buildings":
        assert values.boxes == ((0, 0, 5, 5, 0), (50, 50, 60, 60, 0))
    else:
        assert values.boxes == ((25, 25, 30, 30, 0),)
    too_many = dataclasses.replace(CONFIG, max_boxes=0)
    with pytest.raises(NotApplicable, match="too_many_boxes"):
        refer_damage_level(xbd_sample(objects), too_many)


def test_pairs_follow_earthdial_conventions_and_are_deterministic():
    sample = xbd_sample([building("destroyed")])
    pair = make_pair(sample, TEMPLATES["xbd_damage_counts"], CONFIG).pair
    human = pair.turns[0].value
    assert human.startswith("[classify] [hr_rgb_temp_0.5] <image> <image>\n")
    assert pair.image_roles == ("pre", "post")
    again = make_pair(sample, TEMPLATES["xbd_damage_counts"], CONFIG).pair
    assert again == pair
    refer = make_pair(sample, TEMPLATES["xbd_refer_damage_level"], CONFIG).pair
    assert refer.turns[0].value.startswith("[refer] [hr_rgb_0.5] <image>\n")
    assert refer.turns[1].value == "<ref>destroyed building</ref><box>[[5, 10, 15, 20, 0]]</box>"
    assert refer.generator_params["box_scale"] == "100"


def test_paraphrase_choice_spreads_over_paraphrases():
    picks = {draw(7, f"sample{i}", "t", n=4) for i in range(50)}
    assert picks == {0, 1, 2, 3}
    assert draw(7, "a", n=4) == draw(7, "a", n=4)


def test_sensor_tags():
    assert sensor_tag(ben_sample(), 1) == "[s2_ms_10]"
    sar = dataclasses.replace(ben_sample(), modality="sar", sensor="Sentinel-1 C-SAR")
    assert sensor_tag(sar, 1) == "[s1_vh_10]"
    assert sensor_tag(xbd_sample(), 2) == "[hr_rgb_temp_0.5]"


def test_templates_apply_by_source():
    assert {t.id for t in templates_for(ben_sample(), list(TEMPLATES.values()))} == {
        "ben_landcover_multilabel",
        "ben_landcover_presence",
        "ben_urban_rural",
        "ben_landcover_caption",
    }


def test_validation_accepts_generated_pairs_and_catches_broken_ones():
    sample = xbd_sample([building("destroyed"), building("major-damage", (0, 0, 50, 50))])
    for tid in ("xbd_damage_counts", "xbd_disaster_type", "xbd_refer_damage_level"):
        candidate = make_pair(sample, TEMPLATES[tid], CONFIG)
        assert validate_pair(candidate, sample, 100) == []
    candidate = make_pair(sample, TEMPLATES["xbd_refer_damage_level"], CONFIG)

    def broken(**changes):
        return dataclasses.replace(candidate, pair=dataclasses.replace(candidate.pair, **changes))

    human, gpt = candidate.pair.turns
    assert (
        "image_tokens"
        in validate_pair(
            broken(turns=(Turn("human", human.value.replace("<image>", "")), gpt)), sample, 100
        )[0]
    )
    wrong_box = gpt.value.replace("[[", "[[1", 1)  # x1 of the first box: 5 -> 15
    problems = validate_pair(broken(turns=(human, Turn("gpt", wrong_box))), sample, 100)
    assert "boxes_differ_from_annotation" in problems
    out = Turn("gpt", "<box>[[0, 0, 120, 10, 0]]</box>")
    assert any(
        p.startswith("box_out_of_range")
        for p in validate_pair(broken(turns=(human, out)), sample, 100)
    )
    assert "empty_turn:1" in validate_pair(broken(turns=(human, Turn("gpt", " "))), sample, 100)
    assert "unknown_image_role" in validate_pair(broken(image_roles=("during",)), sample, 100)


def test_closed_set_answer_outside_options_is_caught():
    sample = ben_sample()
    candidate = make_pair(sample, TEMPLATES["ben_landcover_multilabel"], CONFIG)
    assert validate_pair(candidate, sample, 100) == []
    bad = dataclasses.replace(
        candidate, expected=dataclasses.replace(candidate.expected, answers=("Airports",))
    )
    assert any(p.startswith("answer_not_in_options") for p in validate_pair(bad, sample, 100))


def test_real_joplin_labels_give_boxes_that_enclose_the_polygons(peer_data: Path, tmp_path):
    import json

    import shapely

    from eoinstruct.sources.xbd.adapter import XBD

    src = peer_data / "microsoft__building-damage-assessment-cnn-siamese/eval/test_data"
    for sub in ("labels", "images"):
        (tmp_path / "train" / sub).mkdir(parents=True)
    from PIL import Image

    for phase in ("pre", "post"):
        name = f"joplin-tornado_00000050_{phase}_disaster"
        (tmp_path / "train/labels" / f"{name}.json").write_bytes(
            (src / f"{name}.json").read_bytes()
        )
        # the real image is not in the peer data; a blank one of the real size stands in
        Image.new("RGB", (1024, 1024)).save(tmp_path / "train/images" / f"{name}.png")
    [sample] = XBD(tmp_path).read_unit("train/joplin-tornado_00000050")
    candidate = make_pair(sample, TEMPLATES["xbd_refer_damage_level"], CONFIG)
    assert validate_pair(candidate, sample, 100) == []
    label = json.loads((src / "joplin-tornado_00000050_post_disaster.json").read_text())
    ref = candidate.pair.turns[1].value
    level = {"destroyed buildings": "destroyed", "buildings with major damage": "major-damage"}[
        ref.split("</ref>")[0][5:]
    ]
    polygons = [
        shapely.from_wkt(f["wkt"])
        for f in label["features"]["xy"]
        if f["properties"].get("subtype") == level
    ]
    boxes = parse_boxes(ref)
    assert len(boxes) == len(polygons)
    for poly in polygons:
        x1, y1, x2, y2 = poly.bounds
        assert any(
            b[0] <= x1 / 10.24 and b[1] <= y1 / 10.24 and b[2] >= x2 / 10.24 and b[3] >= y2 / 10.24
            for b in boxes
        )


def test_pair_records_its_generator():
    pair = make_pair(ben_sample(), TEMPLATES["ben_landcover_multilabel"], CONFIG).pair
    assert isinstance(pair, InstructionPair)
    assert pair.generator == "template/2" and pair.generator_params["seed"] == "7"
    assert pair.template_id == "ben_landcover_multilabel"
    assert 0 <= pair.paraphrase_id < len(TEMPLATES["ben_landcover_multilabel"].turns[0].questions)
    assert pair.answer_style in TEMPLATES["ben_landcover_multilabel"].style_names


def test_temp_tag_only_for_several_dates():
    from eoinstruct.pipeline.instructions.pairs import date_count

    assert date_count(("pre", "post")) == 2
    assert date_count(("image", "thermal")) == 1
    assert date_count(("image", "mag1c")) == 1
    assert date_count(("t0", "t0_bands")) == 1
    assert date_count(("t0", "t1", "t2")) == 3
    assert sensor_tag(xbd_sample(), date_count(("pre", "post"))) == "[hr_rgb_temp_0.5]"
    assert "temp" not in sensor_tag(xbd_sample(), date_count(("image", "thermal")))


def test_box_edges_on_grid_lines_stay_on_them():
    # 28/200*100 is 14.000000000000002 in floating point; the box must still end at 14
    assert scale_box((10.0, 10.0, 28.0, 28.0), 200, 200, 100) == (5, 5, 14, 14, 0)


def test_family_tables_merge_and_refuse_a_name_defined_twice() -> None:
    from eoinstruct.pipeline.tables import merge_tables

    assert merge_tables([{"a": 1}, {"b": 2}], "rules") == {"a": 1, "b": 2}
    with pytest.raises(RuntimeError, match="rules defined twice: \\['a'\\]"):
        merge_tables([{"a": 1}, {"a": 2}], "rules")
