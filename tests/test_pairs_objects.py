"""SatlasPretrain object pairs (refer, identify, grounding, count) against their audit rules.

Line features (roads, railways, rivers…) are never boxed, identified or counted; every pair
the builders make passes the validator and the family's independent audit rules, and the
rules catch crafted wrong pairs.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest

from eoinstruct.pipeline.audit.item import AuditItem, from_corpus_row, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, ObjectLabel, Sample
from eoinstruct.pipeline.stages.shard import sample_metadata
from eoinstruct.sources.satlas import sample as satlas_corpus
from eoinstruct.sources.satlas.adapter import SatlasPretrain
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OBJECT_TEMPLATES = ("satlas_refer", "satlas_identify", "satlas_grounding", "satlas_count")
SEEDS = range(40)
NUMBERS = {"no": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5"}


def point(category: str, x: float, y: float, role: str = "t1") -> ObjectLabel:
    box = (x - 2, y - 2, x + 2, y + 2)
    return ObjectLabel(category, "", role, box, f"POINT ({x} {y})")


def polygon(category: str, box: tuple[float, float, float, float], role: str = "t1") -> ObjectLabel:
    x1, y1, x2, y2 = box
    wkt = f"POLYGON (({x1} {y1}, {x2} {y1}, {x2} {y2}, {x1} {y2}, {x1} {y1}))"
    return ObjectLabel(category, "", role, box, wkt)


def line(category: str, points: list[tuple[float, float]], kind: str = "") -> ObjectLabel:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    wkt = "LINESTRING (" + ", ".join(f"{x} {y}" for x, y in points) + ")"
    return ObjectLabel(category, kind, "t1", (min(xs), min(ys), max(xs), max(ys)), wkt)


def satlas(objects: Iterable[ObjectLabel], **properties: str) -> Sample:
    images = (
        ImageRef("t0", ("a.png",), ("tci_r", "tci_g", "tci_b"), "uint8", 200, 100),
        ImageRef("t1", ("b.png",), ("tci_r", "tci_g", "tci_b"), "uint8", 200, 100),
    )
    return Sample(
        sample_id="satlas:sentinel2/1_1",
        source="satlas",
        native_id="sentinel2/1_1",
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        bands=("tci_r", "tci_g", "tci_b"),
        gsd_m=9.5,
        crs="EPSG:3857",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2022-07-01T19:00:00Z", "2023-07-01T19:00:00Z"),
        images=images,
        tags={},
        labels=Labels(objects=tuple(objects), properties={"static_image_role": "t1", **properties}),
        licence="ODC-BY-1.0",
        split="train",
    )


def wind_farm() -> Sample:
    objects = [point("wind_turbine", 20 + 30 * i, 30) for i in range(3)]
    objects += [
        polygon("solar_farm", (120, 60, 170, 90)),
        line("road", [(0, 50), (200, 55)], "tertiary"),
        line("road", [(100, 0), (90, 100)], "track"),
        line("railway", [(0, 0), (200, 100)]),
        point("vessel", 50, 50, role="t0"),
    ]
    return satlas(objects, absent_categories="power_substation", line_categories="railway,road")


def pairs(template_id: str, s: Sample, seeds: Iterable[int] = SEEDS) -> list[InstructionPair]:
    out = []
    for seed in seeds:
        config = GenerationConfig(seed=seed, box_scale=100, max_boxes=40)
        try:
            candidate = make_pair(s, TEMPLATES[template_id], config)
        except NotApplicable:
            continue
        assert validate_pair(candidate, s, 100) == [], candidate.pair.turns
        out.append(candidate.pair)
    return out


def audit(template_id: str, item: AuditItem) -> list[str]:
    return RULES[template_id](item)


def answer_of(pair: InstructionPair) -> str:
    return pair.turns[-1].value


def question_of(pair: InstructionPair) -> str:
    return pair.turns[0].value.split("\n", 1)[1]


def test_object_templates_have_twelve_phrasings_and_two_styles() -> None:
    for template_id in OBJECT_TEMPLATES:
        template = TEMPLATES[template_id]
        assert len(template.turns[0].questions) >= 12, template_id
        assert len(template.style_names) >= 2, template_id
        assert template_id in RULES


@pytest.mark.parametrize("template_id", OBJECT_TEMPLATES)
def test_every_pair_passes_validation_and_audit(template_id: str) -> None:
    made = pairs(template_id, wind_farm())
    assert made
    assert {p.answer_style for p in made} == set(TEMPLATES[template_id].style_names)
    for pair in made:
        assert audit(template_id, from_pair(pair, wind_farm())) == [], pair.turns


def test_lines_are_never_referred_identified_boxed_or_counted() -> None:
    s = wind_farm()
    for template_id in OBJECT_TEMPLATES:
        for pair in pairs(template_id, s):
            text = " ".join(t.value for t in pair.turns).lower()
            assert "<ref>road" not in text and "<ref>railway" not in text
            if template_id != "satlas_grounding":
                assert "road" not in text and "railway" not in text, text
    ground = [answer_of(p) for p in pairs("satlas_grounding", s)]
    road_box = [(0, 50, 100, 55, 0)]
    assert all(not set(parse_boxes(g)) & set(road_box) for g in ground)
    sentences = [g for g in ground if not g.startswith("<ref>")]
    assert sentences and all(
        g.endswith("A railway and roads also cross the image.") for g in sentences
    )


def test_line_kind_from_wkt_or_from_the_line_categories_property() -> None:
    # a power line (not a Satlas category) known as a line from its WKT alone
    cable = line("power_line", [(0, 10), (200, 20)])
    # a runway without WKT (a corpus row): known from the property
    runway = ObjectLabel("airport_runway", "", "t1", (10, 70, 190, 80))
    canal = ObjectLabel("canal", "", "t1", (10, 10, 190, 20))
    s = satlas([cable, runway, canal, polygon("pier", (40, 40, 60, 50))], line_categories="canal")
    notes = set()
    for template_id in OBJECT_TEMPLATES:
        for pair in pairs(template_id, s):
            text = " ".join(t.value for t in pair.turns)
            note = re.search(r"[^.>]* also cross(es)? the image\.", text)
            if note:
                notes.add(note.group(0).strip())
                text = text.replace(note.group(0), "")
            assert not re.search("power line|canal|runway", text), text
            assert parse_boxes(pair.turns[-1].value) in ([], [(20, 40, 30, 50, 0)])
    assert notes == {"An airport runway, a canal and a power line also cross the image."}


def test_refer_boxes_are_all_objects_of_the_category_scaled_outwards() -> None:
    s = wind_farm()
    made = pairs("satlas_refer", s)
    turbines = [p for p in made if "wind turbines" in question_of(p)]
    assert turbines and {p.image_roles for p in turbines} == {("t1",)}
    for pair in turbines:
        # x 18..22 of 200 px → 9..11; y 28..32 of 100 px → 28..32
        assert parse_boxes(answer_of(pair)) == [
            (9, 28, 11, 32, 0),
            (24, 28, 26, 32, 0),
            (39, 28, 41, 32, 0),
        ]
    sentences = [answer_of(p) for p in turbines if p.answer_style == "sentence"]
    assert sentences and all("<ref>three wind turbines</ref>" in a for a in sentences)


def test_identify_names_the_category_with_an_article() -> None:
    s = wind_farm()
    made = pairs("satlas_identify", s)
    answers: dict[str, set[str]] = {p.answer_style: set() for p in made}
    for pair in made:
        answers[pair.answer_style].add(answer_of(pair))
    assert answers["terse"] <= {"wind turbine", "solar farm", "vessel"}
    assert all(
        re.search(r"\b(a|an) (wind turbine|solar farm|vessel)\.$", a) for a in answers["sentence"]
    )


def test_count_answers_are_grammatical() -> None:
    s = wind_farm()
    seen = {}
    for pair in pairs("satlas_count", s, range(200)):
        if pair.answer_style == "sentence":
            seen[question_of(pair).split()[2]] = answer_of(pair)
    texts = " ".join(seen.values())
    assert re.search(r"three wind turbines|Three wind turbines are", texts)
    assert re.search(r"(is|One) (one )?(solar farm|vessel)", texts)
    assert "no power substations" in texts or "No power substations are" in texts


def test_count_values_and_identify_categories_are_balanced() -> None:
    rng = np.random.default_rng(5)
    counts: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    for k in range(300):
        objects: list[ObjectLabel] = []
        for category in ("wind_turbine", "storage_tank", "pier", "solar_farm"):
            for i in range(int(rng.choice([0, 1, 1, 1, 2, 3, 5]))):
                objects.append(point(category, 10 + 17 * i, 10 + 20 * len(objects) % 80))
        if not objects:
            continue
        objects.append(line("road", [(0, 50), (200, 50)]))
        s = dataclasses.replace(satlas(objects, absent_categories="dam"), sample_id=f"satlas:{k}")
        config = GenerationConfig(seed=1)
        count = make_pair(s, TEMPLATES["satlas_count"], config).pair
        item = from_pair(count, s)
        assert audit("satlas_count", item) == []
        said = re.findall(r"\d+|no|one|two|three|four|five", answer_of(count).lower())[0]
        counts[NUMBERS.get(said, said)] += 1
        try:
            ident = make_pair(s, TEMPLATES["satlas_identify"], config).pair
        except NotApplicable:
            continue
        assert audit("satlas_identify", from_pair(ident, s)) == []
        categories[answer_of(ident).split()[-1].rstrip(".")] += 1
    for tally in (counts, categories):
        total = sum(tally.values())
        assert total > 150 and max(tally.values()) / total <= 0.7, tally


def _item(pair_template: str, question: str, answer: str, s: Sample, role: str = "t1") -> AuditItem:
    return AuditItem(
        pair_id="x",
        sample_id=s.sample_id,
        source="satlas",
        task="detection",
        template_id=pair_template,
        generator="template/2",
        answer_style="terse",
        image_roles=(role,),
        questions=(question,),
        answers=(answer,),
        labels=s.labels,
        tags=s.tags,
        image_sizes={im.role: (im.width, im.height) for im in s.images},
    )


def test_rules_catch_wrong_pairs() -> None:
    s = wind_farm()
    turbines = "[[9, 28, 11, 32, 0]][[24, 28, 26, 32, 0]][[39, 28, 41, 32, 0]]"
    ask = "Locate all <ref>wind turbines</ref>."
    assert (
        audit(
            "satlas_refer",
            _item("satlas_refer", ask, f"<ref>wind turbines</ref><box>{turbines}</box>", s),
        )
        == []
    )
    two = "[[9, 28, 11, 32, 0]][[24, 28, 26, 32, 0]]"
    assert audit("satlas_refer", _item("satlas_refer", ask, f"<box>{two}</box>", s)) == [
        "boxes_mismatch:wind_turbine:2!=3"
    ]
    roads = "Locate all <ref>roads</ref>."
    assert audit(
        "satlas_refer", _item("satlas_refer", roads, "<box>[[0, 50, 100, 55, 0]]</box>", s)
    ) == ["referred_line:road"]
    at = "What is the object at [[60, 60, 85, 90, 0]]?"
    assert audit("satlas_identify", _item("satlas_identify", at, "It is a solar farm.", s)) == []
    assert audit("satlas_identify", _item("satlas_identify", at, "It is a wind turbine.", s)) == [
        "wrong_category:wind_turbine"
    ]
    road_at = "What is the object at [[0, 50, 100, 55, 0]]?"
    assert audit("satlas_identify", _item("satlas_identify", road_at, "road", s)) == [
        "identified_line:road"
    ]
    count = "How many wind turbines are there in this image?"
    assert (
        audit("satlas_count", _item("satlas_count", count, "There are three wind turbines.", s))
        == []
    )
    assert audit("satlas_count", _item("satlas_count", count, "5", s)) == [
        "count_mismatch:wind_turbine:5!=3"
    ]
    assert audit("satlas_count", _item("satlas_count", "How many roads are there?", "2", s)) == [
        "counted_lines:road"
    ]
    dams = "How many dams are there?"
    assert audit("satlas_count", _item("satlas_count", dams, "0", s)) == ["count_unannotated:dam"]
    substations = "How many power substations are there?"
    assert (
        audit(
            "satlas_count", _item("satlas_count", substations, "There are no power substations.", s)
        )
        == []
    )
    good = (
        f"<ref>solar farm</ref><box>[[60, 60, 85, 90, 0]]</box>; "
        f"<ref>wind turbines</ref><box>{turbines}</box>"
    )
    ground = "Describe the image."
    assert audit("satlas_grounding", _item("satlas_grounding", ground, good, s)) == []
    with_road = good + "; <ref>roads</ref><box>[[0, 50, 100, 55, 0]][[45, 0, 51, 100, 0]]</box>"
    assert audit("satlas_grounding", _item("satlas_grounding", ground, with_road, s)) == [
        "grounding_box_for_line:road"
    ]
    wrong_count = good.replace("<ref>wind turbines", "<ref>two wind turbines")
    assert audit("satlas_grounding", _item("satlas_grounding", ground, wrong_count, s)) == [
        "count_mismatch:wind_turbine:2!=3"
    ]
    missing = f"<ref>wind turbines</ref><box>{turbines}</box>"
    assert audit("satlas_grounding", _item("satlas_grounding", ground, missing, s)) == [
        "missing_category:solar_farm"
    ]


def test_corpus_rows_without_wkt_still_know_the_lines() -> None:
    s = wind_farm()
    meta = sample_metadata(s, "[[x1, y1, x2, y2, angle]] on 0..100")
    assert all("polygon_wkt" not in o for o in meta["labels"]["objects"])
    row = {
        "pair_id": "p",
        "sample_id": s.sample_id,
        "source": "satlas",
        "task": "vqa",
        "template_id": "satlas_count",
        "generator": "template/2",
        "image_roles": ["t1"],
        "conversations": [
            {"from": "human", "value": "[s2_ms_10] <image>\nHow many railways are there?"},
            {"from": "gpt", "value": "1"},
        ],
        "metadata": json.dumps(meta),
    }
    assert audit("satlas_count", from_corpus_row(row)) == ["counted_lines:railway"]


@pytest.fixture(scope="module")
def sample_tiles(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root: Path = tmp_path_factory.mktemp("satlas") / "satlas"
    satlas_corpus.write(root, seed=20261124)
    adapter = SatlasPretrain(root, {"sensors": ["sentinel2", "sentinel1"]})
    tiles = [f"sentinel2/{spec.tile}" for spec in satlas_corpus.GOOD_TILES]
    return [s for unit in (*tiles, "sentinel1/1311_2861") for s in adapter.read_unit(unit)]


def test_sample_corpus_has_roads_marked_as_lines_and_its_pairs_pass(
    sample_tiles: list[Sample],
) -> None:
    roads = [o for s in sample_tiles for o in s.labels.objects if o.category == "road"]
    assert roads and all(o.polygon_wkt.startswith("LINESTRING") for o in roads)
    for s in sample_tiles:
        if any(o.category == "road" for o in s.labels.objects):
            assert "road" in s.labels.properties["line_categories"].split(",")
        for template_id in OBJECT_TEMPLATES:
            for pair in pairs(template_id, s, range(12)):
                assert audit(template_id, from_pair(pair, s)) == [], pair.turns
                assert "<ref>road" not in answer_of(pair)
