"""The captioner's reply checks: ordinary phrasings pass, real contradictions are caught."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from caption_helpers import sample

from eoinstruct.pipeline.caption.checks import contradictions, stated_totals
from eoinstruct.pipeline.records import Labels, ObjectLabel, Sample

FIVE_BUILDINGS = tuple(ObjectLabel("building", "", "image", (0, 0, 2, 2)) for _ in range(5))
ROAD_PIECES = tuple(
    ObjectLabel("road", "residential", "image", (0, 0, 9, 2), "LINESTRING (0 1, 9 1)")
    for _ in range(7)
)

PASS = [
    # sentences about some of the buildings, or about other things
    "One of the buildings has a red roof.",
    "The two largest buildings are near the road.",
    "Two of the buildings are close to the field.",
    "Three of the five buildings have flat roofs.",
    "The five buildings form a row along the road.",
    "Each of the three buildings nearest the road has a driveway.",
    "There are two buildings with red roofs.",
    "There are three buildings near the road.",
    "There are three large buildings in the north.",
    "Two buildings have flat roofs.",
    "One building is larger than the others.",
    "There are two other buildings to the east.",
    "A single building stands apart from the others.",
    "About 20 buildings would fit on the field.",
    "Roughly four buildings are visible in the shade.",
    # totals that agree with the five labelled buildings
    "There are five buildings.",
    "Five buildings are visible.",
    "I count 5 buildings.",
    "The image shows five buildings in total.",
    "There are at least three buildings.",
    "There are more than four buildings.",
    "There are at most six buildings.",
    "A total of 5 buildings can be seen.",
    # denials of something else
    "There is farmland but no other crops nearby.",
    "The field has no trees and no fences crossing farmland.",
    "No water is visible.",
    # line features are not counted
    "There are two roads.",
]

CAUGHT = [
    ("There are three buildings.", "count:building:3!=5"),
    ("Three buildings are visible.", "count:building:3!=5"),
    ("I count 3 buildings.", "count:building:3!=5"),
    ("The image shows 4 buildings.", "count:building:4!=5"),
    ("The scene contains six buildings.", "count:building:6!=5"),
    ("There is one building.", "count:building:1!=5"),
    ("There is a single building in the image.", "count:building:1!=5"),
    ("A total of 7 buildings.", "count:building:7!=5"),
    ("2 buildings in total.", "count:building:2!=5"),
    ("There are exactly four buildings.", "count:building:4!=5"),
    ("There are at least six buildings.", "count:building:6>=5"),
    ("There are more than five buildings.", "count:building:6>=5"),
    ("There are fewer than four buildings.", "count:building:3<=5"),
    ("There is no farmland here.", "denies:farmland"),
    ("The area is without farmland.", "denies:farmland"),
    ("It shows no visible farmland.", "denies:farmland"),
    ("There are no buildings.", "denies:building"),
    ("There are no roads.", "denies:road"),
]


@pytest.fixture
def five_buildings(tmp_path: Path) -> Sample:
    labels = Labels(objects=FIVE_BUILDINGS + ROAD_PIECES)
    return dataclasses.replace(sample(1, tmp_path), labels=labels)


@pytest.mark.parametrize("answer", PASS)
def test_ordinary_phrasings_pass(answer: str, five_buildings: Sample) -> None:
    assert contradictions([("q", answer)], five_buildings, "image") == []


@pytest.mark.parametrize(("answer", "problem"), CAUGHT)
def test_contradictions_are_caught(answer: str, problem: str, five_buildings: Sample) -> None:
    assert contradictions([("q", answer)], five_buildings, "image") == [problem]


def test_totals_are_read_per_sentence_and_only_for_the_noun() -> None:
    text = "One of the buildings is white. There are 4 buildings. Two wind turbines are visible."
    assert stated_totals(text, "building") == [("==", 4)]
    assert stated_totals(text, "wind_turbine") == [("==", 2)]
    assert stated_totals(text, "road") == []


def test_counts_only_on_the_captioned_image(tmp_path: Path) -> None:
    on_other = tuple(dataclasses.replace(o, image_role="pre") for o in FIVE_BUILDINGS)
    s = dataclasses.replace(sample(1, tmp_path), labels=Labels(objects=on_other))
    assert contradictions([("q", "There are two buildings.")], s, "image") == []
    assert contradictions([("q", "There are two buildings.")], s, "pre") == ["count:building:2!=5"]


def test_questions_are_not_checked(five_buildings: Sample) -> None:
    pairs = [("Are there three buildings or is there no farmland?", "Five buildings.")]
    assert contradictions(pairs, five_buildings, "image") == []


def test_closed_class_set(tmp_path: Path) -> None:
    s = dataclasses.replace(
        sample(1, tmp_path), labels=Labels(scheme="ben19", classes=("Pastures",))
    )
    assert contradictions([("q", "Pastures and arable land.")], s, "image") == [
        "absent_class:Arable land"
    ]
    assert contradictions([("q", "Pastures, not arable land.")], s, "image") == []
