"""Multi-turn dialogues on SatlasPretrain objects and BigEarthNet land cover.

Later turns build on earlier ones: ``satlas_dialogue`` asks where the most numerous of the
kinds named in turn 1 are, then how many of them and which is the largest; ``ben_dialogue``
asks what else besides the class of turn 1 and whether "it" is urban. Every dialogue made
from crafted samples passes the validator, its independent audit rule and the generic checks,
and the rules catch wrong turns.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import numpy as np
import pytest
from test_pairs_landcover import ben_sample, random_shares
from test_pairs_objects import line, point, polygon, satlas

from eoinstruct.pipeline.audit.checks import generic_problems
from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import Candidate, make_pair
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import Sample
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
SEEDS = range(24)


def problems(candidate: Candidate, sample: Sample) -> list[str]:
    """Validator, audit rule and generic checks together."""
    item = from_pair(candidate.pair, sample)
    rule = RULES[candidate.pair.template_id]
    return validate_pair(candidate, sample, 100) + rule(item) + generic_problems(item)


def exchanges(candidate: Candidate) -> tuple[list[str], list[str]]:
    """(questions, answers) of a pair."""
    turns = candidate.pair.turns
    return [t.value for t in turns[0::2]], [t.value for t in turns[1::2]]


def with_answer(item: AuditItem, index: int, text: str) -> AuditItem:
    answers = list(item.answers)
    answers[index] = text
    return dataclasses.replace(item, answers=tuple(answers))


def with_question(item: AuditItem, index: int, text: str) -> AuditItem:
    questions = list(item.questions)
    questions[index] = text
    return dataclasses.replace(item, questions=tuple(questions))


def test_both_dialogues_are_multi_turn_with_varied_wording():
    for tid, turns in (
        ("satlas_dialogue", ["kinds", "where", "count", "largest"]),
        ("ben_dialogue", ["main", "else", "urban"]),
    ):
        template = TEMPLATES[tid]
        assert template.task == "multi_turn" and tid in RULES
        assert [t.id for t in template.turns] == turns
        for turn in template.turns:
            assert len(set(turn.questions)) >= 12, (tid, turn.id)
            assert {s.name for s in turn.styles} == {"terse", "sentence", "explanatory"}


# -- SatlasPretrain objects ----------------------------------------------------------------------


def tank_farm() -> Sample:
    """Three storage tanks (the middle one clearly largest), a substation point, a road."""
    tanks = [
        polygon("storage_tank", (10 + 30 * i, 10, 16 + 30 * i + 12 * (i == 1), 20))
        for i in range(3)
    ]
    return satlas([*tanks, point("power_substation", 150, 80), line("road", [(0, 0), (199, 99)])])


def mixed_tiles() -> list[Sample]:
    """Crafted tiles: ties, points only, one object, objects on both images, lines."""
    turbines = [point("wind_turbine", 20 + 25 * i, 30) for i in range(4)]
    parks = [polygon("park", (5, 60, 40, 95)), polygon("park", (50, 60, 60, 70))]
    early = [polygon("parking_lot", (100, 10, 130, 40), role="t0")]
    return [
        tank_farm(),
        satlas(turbines + parks + [line("railway", [(0, 50), (199, 50)])]),
        satlas([*parks, point("chimney", 150, 50), point("chimney", 170, 50)]),
        satlas([point("lighthouse", 100, 50)]),
        satlas(early + turbines[:2]),
        satlas([polygon("solar_farm", (10 * i + 0.5, 5.5, 10 * i + 8.5, 13.5)) for i in range(5)]),
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_satlas_dialogues_validate_and_audit_clean(seed: int):
    for sample in mixed_tiles():
        candidate = make_pair(sample, TEMPLATES["satlas_dialogue"], GenerationConfig(seed=seed))
        assert problems(candidate, sample) == [], exchanges(candidate)


def test_satlas_dialogue_follows_up_on_its_own_answers():
    sample = tank_farm()
    seen = Counter()
    for seed in SEEDS:
        candidate = make_pair(sample, TEMPLATES["satlas_dialogue"], GenerationConfig(seed=seed))
        assert candidate.expected.turns == ("kinds", "where", "count", "largest")
        questions, answers = exchanges(candidate)
        assert "road" not in answers[0].lower()  # line features are not objects
        assert "storage tanks" in answers[0].lower() and "power substation" in answers[0]
        # turn 2 asks about the most numerous kind named in turn 1
        assert re.search(r"<ref>storage tanks</ref>", questions[1])
        boxes = parse_boxes(answers[1])
        assert len(boxes) == 3
        # turn 3 counts the boxes of turn 2; turn 4 picks one of them, the largest
        said = re.search(r"\b(3|three)\b", answers[2])
        assert said and not parse_boxes(answers[2])
        assert parse_boxes(answers[3]) == [boxes[1]]
        # the follow-ups name nothing: only the earlier answers say what "them" are
        assert not re.search(r"tank|substation|<ref>", " ".join(questions[2:]))
        seen[questions[1]] += 1
        assert len(set(questions)) == 4 and len(set(answers)) == 4
    assert len(seen) >= 8  # the follow-up is phrased many ways


def test_satlas_dialogue_leaves_out_what_the_labels_cannot_answer():
    config = GenerationConfig(seed=3)
    one = make_pair(satlas([point("lighthouse", 100, 50)]), TEMPLATES["satlas_dialogue"], config)
    assert one.expected.turns == ("kinds", "where")
    assert re.search(r"\bis\b", exchanges(one)[0][1])  # "Where is the lighthouse?"
    turbines = satlas([point("wind_turbine", 20 + 25 * i, 30) for i in range(4)])
    points = make_pair(turbines, TEMPLATES["satlas_dialogue"], config)
    assert points.expected.turns == ("kinds", "where", "count")  # points have no size
    even = satlas([polygon("park", (10, 10, 30, 30)), polygon("park", (50, 50, 70, 70))])
    assert make_pair(even, TEMPLATES["satlas_dialogue"], config).expected.turns[-1] == "count"
    with pytest.raises(NotApplicable, match="too_many_boxes"):
        make_pair(turbines, TEMPLATES["satlas_dialogue"], dataclasses.replace(config, max_boxes=3))
    with pytest.raises(NotApplicable, match="no_objects"):
        make_pair(satlas([line("river", [(0, 0), (50, 99)])]), TEMPLATES["satlas_dialogue"], config)


def test_satlas_dialogue_rule_catches_wrong_turns():
    sample = tank_farm()
    candidate = make_pair(sample, TEMPLATES["satlas_dialogue"], GenerationConfig(seed=1))
    item = from_pair(candidate.pair, sample)
    rule = RULES["satlas_dialogue"]
    assert rule(item) == []
    boxes = parse_boxes(item.answers[1])

    def box_text(chosen: list[tuple[int, ...]]) -> str:
        return "".join(f"[[{a}, {b}, {c}, {d}, {e}]]" for a, b, c, d, e in chosen)

    wrong = {
        "turn1:missing_category:power_substation": with_answer(item, 0, "Storage tanks."),
        "turn1:category_not_on_image:road": with_answer(
            item, 0, "Storage tanks, roads and a power substation."
        ),
        "turn2:boxes_mismatch": with_answer(
            item, 1, f"<ref>storage tanks</ref><box>{box_text(boxes[:2])}</box>"
        ),
        "turn2:not_most_numerous": with_question(
            item, 1, "Where is the <ref>power substation</ref>?"
        ),
        "turn3:count_mismatch": with_answer(item, 2, "There are four storage tanks."),
        "turn4:not_largest": with_answer(
            item, 3, f"<ref>the largest storage tank</ref><box>{box_text(boxes[:1])}</box>"
        ),
    }
    for code, bad in wrong.items():
        assert any(p.startswith(code) for p in rule(bad)), (code, rule(bad))


# -- BigEarthNet land cover ----------------------------------------------------------------------


def test_ben_dialogues_validate_and_audit_clean_and_cover_every_turn():
    rng = np.random.default_rng(7)
    shapes: Counter[tuple[str, ...]] = Counter()
    answers_seen: Counter[str] = Counter()
    for i in range(300):
        sample = ben_sample(shares=random_shares(rng), sid=f"d{i}")
        try:
            candidate = make_pair(sample, TEMPLATES["ben_dialogue"], GenerationConfig(seed=i))
        except NotApplicable:
            continue
        assert problems(candidate, sample) == [], exchanges(candidate)
        shapes[candidate.expected.turns] += 1
        answers_seen.update(candidate.expected.answers)
    assert set(shapes) == {("main", "else", "urban"), ("main", "else"), ("main", "urban")}
    assert answers_seen["Yes"] > 0 and answers_seen["No"] > 0


def test_ben_dialogue_follows_up_on_the_first_answer():
    shares = {"Pastures": 0.6, "Non-irrigated arable land": 0.3, "Coniferous forest": 0.1}
    sample = ben_sample(shares=shares)
    for seed in SEEDS:
        candidate = make_pair(sample, TEMPLATES["ben_dialogue"], GenerationConfig(seed=seed))
        assert candidate.expected.turns == ("main", "else", "urban")
        questions, answers = exchanges(candidate)
        assert answers[0].lower().startswith(("pastures", "the largest part is pastures"))
        assert "60 %" in answers[0]
        # "what else": the other classes only, with their shares, not the first one again
        assert "pastures" not in answers[1].lower()
        other = answers[1].lower()
        assert "arable land (about 30 %)" in other and "coniferous forest (about 10 %)" in other
        assert answers[2].startswith("No")  # no artificial surface: "is it urban?" → No
        assert re.search(r"\b(it|this|that|the area)\b", questions[2], re.IGNORECASE)
    town = ben_sample(shares={"Continuous urban fabric": 0.7, "Pastures": 0.3}, sid="town")
    candidate = make_pair(town, TEMPLATES["ben_dialogue"], GenerationConfig(seed=2))
    assert exchanges(candidate)[1][-1].startswith("Yes") and problems(candidate, town) == []


def test_ben_dialogue_asks_only_what_the_shares_answer():
    config = GenerationConfig(seed=4)
    between = ben_sample(shares={"Pastures": 0.75, "Discontinuous urban fabric": 0.25}, sid="b")
    assert make_pair(between, TEMPLATES["ben_dialogue"], config).expected.turns == ("main", "else")
    alone = ben_sample(shares={"Mixed forest": 1.0}, sid="a")
    assert make_pair(alone, TEMPLATES["ben_dialogue"], config).expected.turns == ("main", "urban")
    cases = {
        "dominant_uncertain": {"Pastures": 0.45, "Mixed forest": 0.44, "unlabelled": 0.11},
        "dominant_outside_class_set": {
            "Road and rail networks and associated land": 0.6,
            "Pastures": 0.4,
        },
        "nothing_to_follow_up": {
            "Pastures": 0.85,
            "Road and rail networks and associated land": 0.15,
        },
    }
    for reason, shares in cases.items():
        with pytest.raises(NotApplicable, match=reason):
            make_pair(ben_sample(shares=shares, sid=reason), TEMPLATES["ben_dialogue"], config)
    with pytest.raises(NotApplicable, match="no_class_shares"):
        make_pair(ben_sample(classes=("Pastures",)), TEMPLATES["ben_dialogue"], config)


def test_ben_dialogue_rule_catches_wrong_turns():
    shares = {"Pastures": 0.6, "Non-irrigated arable land": 0.3, "Coniferous forest": 0.1}
    sample = ben_sample(shares=shares)
    candidate = make_pair(sample, TEMPLATES["ben_dialogue"], GenerationConfig(seed=0))
    item = from_pair(candidate.pair, sample)
    rule = RULES["ben_dialogue"]
    assert rule(item) == []
    wrong = {
        "turn1:wrong_dominant": with_answer(item, 0, "Arable land (about 30 %)."),
        "turn1:share_mismatch": with_answer(item, 0, "Pastures (about 40 %)."),
        "turn2:missing_class:Coniferous forest": with_answer(item, 1, "Arable land (about 30 %)."),
        "turn2:repeats_first_class": with_answer(
            item,
            1,
            "Pastures (about 60 %), arable land (about 30 %) and coniferous forest (about 10 %).",
        ),
        "turn2:share_mismatch": with_answer(
            item, 1, "Arable land (about 20 %) and coniferous forest (about 10 %)."
        ),
        "turn2:class_not_in_labels": with_answer(
            item, 1, "Arable land (about 30 %), coniferous forest (about 10 %) and mixed forest."
        ),
        "turn3:wrong_yes_no": with_answer(item, 2, "Yes, it is urban."),
    }
    for code, bad in wrong.items():
        assert any(p.startswith(code) for p in rule(bad)), (code, rule(bad))


def test_ben_dialogue_needs_ben19_labels_with_shares():
    v1 = ben_sample(shares={"Pastures": 0.7, "Mixed forest": 0.3}, scheme="clc43", sid="v1")
    with pytest.raises(NotApplicable, match="no_ben19_labels"):
        make_pair(v1, TEMPLATES["ben_dialogue"], GenerationConfig())
    item = from_pair(
        make_pair(
            ben_sample(shares={"Pastures": 0.7, "Mixed forest": 0.3}, sid="v2"),
            TEMPLATES["ben_dialogue"],
            GenerationConfig(),
        ).pair,
        v1,
    )
    assert RULES["ben_dialogue"](item) == ["unverifiable:no_class_shares"]
