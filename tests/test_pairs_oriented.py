"""Oriented-object pairs (DIOR-R, DOTA): boxes and angles, checks, audit, balance.

Crafted samples hold rotated rectangles whose EarthDial boxes are worked out by hand; every
pair the builders make passes the validator and the independent audit rules (also from a
corpus row, which carries no WKT), and wrong answers are caught.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.item import AuditItem, from_corpus_row, from_pair
from eoinstruct.pipeline.audit.report import AuditReport
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.audit.rules.oriented import expected_box
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.builders.oriented import oriented_box
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, ObjectLabel, Sample
from eoinstruct.pipeline.stages.shard import sample_metadata
from eoinstruct.sources.base import SourceError
from eoinstruct.sources.dior import sample as dior_corpus
from eoinstruct.sources.dior.adapter import DIOR
from eoinstruct.sources.dota import sample as dota_corpus
from eoinstruct.sources.dota.adapter import DOTA
from eoinstruct.sources.outlines import outlines_property, wkt
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
ORIENTED = tuple(t for t in TEMPLATES if t.startswith("oriented_"))
SEEDS = range(30)

Point = tuple[float, float]


def rect(cx: float, cy: float, w: float, h: float, degrees: float) -> list[Point]:
    """Corners of a w x h rectangle centred at (cx, cy), turned clockwise on screen."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return [
        (cx + dx * c - dy * s, cy + dx * s + dy * c)
        for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2))
    ]


def scene(objects: list[tuple[str, list[Point]]], cut: str = "", size: int = 200) -> Sample:
    labels = []
    for category, points in objects:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs), min(ys), max(xs), max(ys))
        labels.append(ObjectLabel(category, "", "image", box, wkt(points)))
    present = {c for c, _ in objects}
    properties = {
        "outlines": outlines_property(
            [[(round(x, 3), round(y, 3)) for x, y in p] for _, p in objects]
        ),
        "absent_categories": ",".join(
            sorted({"vehicle", "bridge", "harbor", "ship", "plane"} - present - {cut})
        ),
    }
    if cut:
        properties["cut_categories"] = cut
    return Sample(
        sample_id="dior:crafted",
        source="dior",
        native_id="crafted",
        modality="rgb",
        sensor="Google Earth",
        bands=("R", "G", "B"),
        gsd_m=None,
        crs="",
        footprint_wkt="",
        acquired=(),
        images=(ImageRef("image", ("x.jpg",), ("R", "G", "B"), "uint8", size, size),),
        tags={"imagery_source": "Google Earth"},
        labels=Labels(objects=tuple(labels), properties=properties),
        licence="research-only",
        split="train",
    )


def airport() -> Sample:
    return scene(
        [
            ("plane", rect(50, 50, 40, 10, 30)),
            ("plane", [(120, 20), (160, 20), (160, 40), (120, 40)]),
            ("ship", rect(150, 150, 40, 10, -60)),
            ("storage_tank", rect(40, 160, 20, 20, 0)),
        ]
    )


def pairs(template_id: str, sample: Sample) -> list[InstructionPair]:
    made = []
    for seed in SEEDS:
        try:
            candidate = make_pair(sample, TEMPLATES[template_id], GenerationConfig(seed=seed))
        except NotApplicable:
            continue
        assert validate_pair(candidate, sample, 100) == [], candidate.pair.turns
        made.append(candidate.pair)
    return made


REPORT = AuditReport()  # reads every template once


def audit(item: AuditItem) -> list[str]:
    return REPORT.problems(item)


def edited(pair: InstructionPair, answer: str) -> InstructionPair:
    turns = (*pair.turns[:-1], dataclasses.replace(pair.turns[-1], value=answer))
    return dataclasses.replace(pair, turns=turns)


# -- boxes and angles, by hand ------------------------------------------------------------------


def test_boxes_and_angles_recomputed_from_the_quadrilaterals() -> None:
    cases = [
        # 40 x 10 px at 30° about (50, 50) in 200 px: 20 x 5 about (25, 25) on the grid
        (rect(50, 50, 40, 10, 30), (15, 22, 35, 28, 30)),
        # axis-aligned: the outward-rounded box, angle 0
        ([(120, 20), (160, 20), (160, 40), (120, 40)], (60, 10, 80, 20, 0)),
        # -60° folds into [-45, 45): the same rectangle at 30°, its sides swapped
        (rect(150, 150, 40, 10, -60), (72, 65, 78, 85, 30)),
        # the corners listed in any order or direction give the same box
        (list(reversed(rect(50, 50, 40, 10, 30))), (15, 22, 35, 28, 30)),
    ]
    for points, want in cases:
        assert oriented_box(points, 200, 200, 100) == want
        assert expected_box(points, (200, 200)) == want
    # 44.6° rounds to 45, which folds to -45
    assert oriented_box(rect(100, 100, 60, 20, 44.6), 200, 200, 100)[4] == -45
    assert expected_box(rect(100, 100, 60, 20, 44.6), (200, 200))[4] == -45


def test_builder_and_audit_agree_on_every_sample_corpus_object(tmp_path: Path) -> None:
    dior_corpus.write(tmp_path / "dior", 3)
    dota_corpus.write(tmp_path / "dota", 3)
    samples = []
    for adapter in (
        DIOR(tmp_path / "dior"),
        DOTA(tmp_path / "dota", {"chip_size": 256, "overlap": 64}),
    ):
        for unit in adapter.list_units():
            try:
                samples += adapter.read_unit(unit)
            except SourceError:  # the bad units
                continue
    angles = Counter()
    for s in samples:
        size = (s.images[0].width, s.images[0].height)
        for text in s.labels.properties["outlines"].split(";"):
            points = [tuple(map(float, p.split())) for p in text.split(",")]
            box = oriented_box(points, *size, 100)  # type: ignore[arg-type]
            assert box == expected_box(points, size)  # type: ignore[arg-type]
            angles[box[4] != 0] += 1
    assert angles[True] > 10 and angles[False] > 0


# -- every pair passes; wrong ones are caught ---------------------------------------------------


def test_templates_have_twelve_phrasings_two_styles_and_a_rule() -> None:
    assert len(ORIENTED) == 5
    for template_id in ORIENTED:
        template = TEMPLATES[template_id]
        assert len(template.turns[0].questions) >= 12 and len(template.style_names) >= 2
        assert template_id in RULES and set(template.sources) == {"dior", "dota"}


@pytest.mark.parametrize("template_id", ORIENTED)
def test_every_pair_passes_the_audit_also_from_a_corpus_row(template_id: str) -> None:
    s = airport()
    made = pairs(template_id, s)
    assert made
    meta = json.dumps(sample_metadata(s, "[[x1, y1, x2, y2, angle]] on 0..100"))
    for pair in made:
        assert audit(from_pair(pair, s)) == [], pair.turns
        row = {
            "pair_id": pair.pair_id,
            "sample_id": s.sample_id,
            "source": "dior",
            "task": pair.task,
            "template_id": template_id,
            "generator": pair.generator,
            "image_roles": list(pair.image_roles),
            "conversations": [{"from": t.speaker, "value": t.value} for t in pair.turns],
            "metadata": meta,
        }
        assert RULES[template_id](from_corpus_row(row)) == []


def test_refer_answers_carry_the_rotated_boxes() -> None:
    s = airport()
    answers = {p.turns[-1].value for p in pairs("oriented_refer", s)}
    planes = [a for a in answers if "plane" in a]
    assert planes and all(
        "[[15, 22, 35, 28, 30]]" in a and "[[60, 10, 80, 20, 0]]" in a for a in planes
    )
    pair = next(p for p in pairs("oriented_refer", s) if "plane" in p.turns[-1].value)
    flat = pair.turns[-1].value.replace("35, 28, 30]]", "35, 28, 0]]")
    assert RULES["oriented_refer"](from_pair(edited(pair, flat), s)) == ["boxes_mismatch:plane"]


def test_wrong_class_count_and_grounding_are_caught() -> None:
    s = airport()
    ident = pairs("oriented_identify", s)[0]
    truth = ident.turns[-1].value
    wrong = "harbor" if "harbor" not in truth else "vehicle"
    assert RULES["oriented_identify"](from_pair(edited(ident, wrong), s))
    count = next(p for p in pairs("oriented_count", s) if "plane" in p.turns[0].value)
    assert RULES["oriented_count"](from_pair(edited(count, "3"), s)) == [
        "count_mismatch:plane:[3]!=2"
    ]
    ground = pairs("oriented_grounding", s)[0]
    dropped = re.sub(r"<ref>[^<]*ship[^<]*</ref><box>[^<]*</box>", "", ground.turns[-1].value)
    assert "class_left_out:ship" in RULES["oriented_grounding"](
        from_pair(edited(ground, dropped), s)
    )


def test_region_captions_say_what_the_annotation_gives() -> None:
    s = scene(
        [
            ("plane", rect(30, 30, 40, 12, 20)),  # top left, 480 px² of 40 000: medium-sized
            ("plane", rect(170, 30, 30, 10, 0)),
            ("ship", rect(60, 40, 10, 4, 0)),  # right of the first plane, clearly nearest
        ]
    )
    captions = pairs("oriented_region_caption", s)
    full = [p for p in captions if p.answer_style == "sentence"]
    assert full
    texts = {p.turns[-1].value for p in full}
    first_plane = next(t for t in texts if "top left" in t and "plane" in t.split(".")[0])
    assert first_plane.startswith("A medium-sized plane in the top left part of the image.")
    assert "one of two planes" in first_plane
    assert "The nearest other object is a ship, to the right." in first_plane
    pair = next(p for p in full if p.turns[-1].value == first_plane)
    for bad, code in (
        (first_plane.replace("medium-sized", "large"), "size_class:medium-sized"),
        (first_plane.replace("top left", "bottom left"), "position:the top left part"),
        (first_plane.replace("to the right", "above"), "nearest_direction:to the right"),
        (first_plane.replace("one of two", "one of three"), "class_count:three!=2"),
    ):
        assert code in RULES["oriented_region_caption"](from_pair(edited(pair, bad), s))


def test_cut_classes_are_never_referred_counted_grounded_or_captioned() -> None:
    s = scene(
        [
            ("plane", rect(50, 50, 40, 10, 30)),
            ("ship", rect(150, 150, 40, 10, 10)),
            ("harbor", rect(60, 150, 30, 20, 0)),
        ],
        cut="ship",
    )
    assert not any("ship" in p.turns[-1].value for p in pairs("oriented_refer", s))
    assert not any("ship" in p.turns[0].value for p in pairs("oriented_count", s))
    assert not any(
        p.turns[-1].value.split(".")[0].endswith("ship")
        for p in pairs("oriented_region_caption", s)
    )
    assert not any("nearest" in p.turns[-1].value for p in pairs("oriented_region_caption", s))
    assert pairs("oriented_grounding", s) == []


def test_closed_answers_are_balanced() -> None:
    s = scene(
        [("plane", rect(20 + 25 * i, 30, 20, 8, 10 * i)) for i in range(6)]
        + [("ship", rect(40, 150, 30, 8, 0)), ("harbor", rect(150, 150, 40, 30, 0))]
    )
    classes = Counter(
        p.turns[-1].value.rstrip(".").split()[-1] for p in pairs("oriented_identify", s)
    )
    assert set(classes) == {"plane", "ship", "harbor"}  # six planes do not dominate
    assert max(classes.values()) < 0.6 * sum(classes.values())
    counts = Counter(parse_boxes(p.turns[0].value) == [] for p in pairs("oriented_count", s))
    assert counts[True] == len(SEEDS)
