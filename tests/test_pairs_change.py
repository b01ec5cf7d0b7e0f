"""LEVIR-CD change pairs: every pair passes the validator and the independent audit, wrong
answers are caught, the yes/no template stays balanced, and no answer claims a direction."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np
import pytest

from eoinstruct.pipeline.audit.checks import generic_problems, is_yes_no_question
from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, ObjectLabel, Sample, Turn
from eoinstruct.sources.levircd.masks import components, mask_figures
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates() if "levircd" in t.sources}
IDS = {
    "levircd_change_presence",
    "levircd_change_count",
    "levircd_change_grounding",
    "levircd_change_description",
}


def pair_sample(rects: list[tuple[int, int, int, int]], sid: str = "levircd:t", size: int = 120):
    """A LEVIR-CD sample whose labels come from a mask with the given changed rectangles."""
    mask = np.zeros((size, size), dtype=bool)
    for x1, y1, x2, y2 in rects:
        mask[y1:y2, x1:x2] = True
    found = components(mask)
    objects = tuple(
        ObjectLabel("changed building area", "", "post", c.bbox, c.wkt, str(i))
        for i, c in enumerate(found)
    )
    images = tuple(
        ImageRef(r, (f"{r}.png",), ("R", "G", "B"), "uint8", size, size) for r in ("pre", "post")
    )
    return Sample(
        sample_id=sid,
        source="levircd",
        native_id=sid.split(":")[1],
        modality="rgb",
        sensor="Google Earth imagery",
        bands=("R", "G", "B"),
        gsd_m=0.5,
        crs="",
        footprint_wkt="",
        acquired=(),
        images=images,
        tags={"subset": "LEVIR-CD"},
        labels=Labels(objects=objects, properties=mask_figures(mask, found, 0.5)),
        licence="research-only",
    )


SAMPLES = [
    pair_sample([], "levircd:none"),
    pair_sample([(5, 5, 20, 15)], "levircd:one"),
    pair_sample([(5, 5, 20, 15), (50, 50, 75, 80), (95, 100, 110, 115)], "levircd:three"),
    # an L shape, and two rectangles touching at a corner (one 8-connected area)
    pair_sample(
        [(10, 60, 40, 70), (10, 70, 20, 100), (60, 10, 70, 20), (70, 20, 80, 30)], "levircd:l"
    ),
]


def problems(pair: InstructionPair, sample: Sample) -> list[str]:
    item = from_pair(pair, sample)
    return RULES[pair.template_id](item) + generic_problems(item)


def test_templates_are_registered() -> None:
    assert set(TEMPLATES) == IDS
    for template in TEMPLATES.values():
        assert template.task_tag == "[changedet]"
        assert template.images == ("pre", "post")
        assert len(template.turns[0].questions) >= 12
    presence = TEMPLATES["levircd_change_presence"].turns[0].questions
    region = "in the central part of the image"
    assert all(is_yes_no_question(q.format(region=region)) for q in presence)


@pytest.mark.parametrize("seed", range(12))
def test_every_pair_passes(seed: int) -> None:
    config = GenerationConfig(seed=seed)
    for sample in SAMPLES:
        for template in TEMPLATES.values():
            try:
                candidate = make_pair(sample, template, config)
            except NotApplicable:
                assert template.id == "levircd_change_grounding" and not sample.labels.objects
                continue
            pair = candidate.pair
            assert pair.turns[0].value.startswith("[changedet] [hr_rgb_temp_0.5] <image> <image>\n")
            assert validate_pair(candidate, sample, 100) == []
            assert problems(pair, sample) == [], (pair.turns[0].value, pair.turns[1].value)
            assert not re.search(r"\bnew building", pair.turns[1].value, re.I)


def test_components_are_8_connected() -> None:
    assert len(SAMPLES[3].labels.objects) == 2
    assert SAMPLES[3].labels.properties["component_pixels"] == "200,600"


def tamper(pair: InstructionPair, old: str, new: str) -> InstructionPair:
    answer = pair.turns[1].value
    assert old in answer, answer
    turns = (pair.turns[0], Turn("gpt", answer.replace(old, new, 1)))
    return dataclasses.replace(pair, turns=turns)


def first_pair(template_id: str, sample: Sample, want: str = "") -> InstructionPair:
    for seed in range(200):
        pair = make_pair(sample, TEMPLATES[template_id], GenerationConfig(seed=seed)).pair
        if want in pair.turns[1].value:
            return pair
    raise AssertionError(f"no {template_id} answer with {want!r}")


def test_wrong_answers_are_caught() -> None:
    three = SAMPLES[2]
    count = first_pair("levircd_change_count", three, "three")
    assert problems(tamper(count, "three", "four"), three)
    area = first_pair("levircd_change_count", three, "m²")
    total = three.labels.properties["changed_area_m2"]
    assert problems(tamper(area, f"{float(total):,.0f} m²", "9,999 m²"), three)
    boxes = first_pair("levircd_change_grounding", three)
    first = parse_boxes(boxes.turns[1].value)[0]
    moved = f"[[{first[0] + 2}, {first[1]}, {first[2] + 2}, {first[3]}, 0]]"
    text = f"[[{first[0]}, {first[1]}, {first[2]}, {first[3]}, 0]]"
    assert problems(tamper(boxes, text, moved), three)
    described = first_pair("levircd_change_description", three, "By location")
    assert problems(tamper(described, "upper-left part", "lower-right part"), three)
    presence = first_pair("levircd_change_presence", SAMPLES[0], "No")
    assert problems(tamper(presence, "No", "Yes"), SAMPLES[0])
    said_new = first_pair("levircd_change_description", SAMPLES[1])
    assert "direction_not_in_mask" in problems(
        tamper(said_new, "buildings built or demolished", "new buildings"), SAMPLES[1]
    )


def test_inconsistent_labels_make_no_pair() -> None:
    sample = SAMPLES[2]
    props = {**sample.labels.properties, "component_pixels": "1,2"}
    broken = dataclasses.replace(
        sample, labels=dataclasses.replace(sample.labels, properties=props)
    )
    with pytest.raises(NotApplicable):
        make_pair(broken, TEMPLATES["levircd_change_count"], GenerationConfig(seed=1))


def test_presence_is_balanced() -> None:
    answers: Counter[str] = Counter()
    for seed in range(30):
        for sample in SAMPLES:
            pair = make_pair(
                sample, TEMPLATES["levircd_change_presence"], GenerationConfig(seed=seed)
            ).pair
            answers[pair.turns[1].value.split()[0].strip(",.:")] += 1
    assert set(answers) == {"Yes", "No"}
    assert max(answers.values()) / sum(answers.values()) <= 0.7
