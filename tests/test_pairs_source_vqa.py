"""Pairs of the source_vqa family: RSVQA's own question-answer pairs, carried verbatim.

Every generated pair must pass the validator and the family's audit rule; the question and
answer must be the labels' own text; crafted wrong pairs and contradictory labels must be
caught; closed answers must stay balanced where images have both answers.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import pytest

from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.report import AuditReport
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import Candidate, make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, Sample, Turn
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = ("rsvqa_presence", "rsvqa_comp", "rsvqa_count", "rsvqa_area", "rsvqa_rural_urban")
CONFIG = GenerationConfig(seed=7)
N = 60
REPORT = AuditReport()  # the whole audit (rules and generic checks); loads the templates once


def _labels(n: int) -> dict[str, list[list[object]]]:
    """Labels of an image with ``n`` buildings and ``n % 3`` roads (true of each other)."""
    yes = {True: "yes", False: "no"}
    roads = n % 3
    return {
        "presence": [
            [0, "Is there a building in the image?", yes[n > 0]],
            [1, "Is a road present?", yes[roads > 0]],
        ],
        "comp": [[2, "Are there more buildings than roads?", yes[n > roads]]],
        "count": [
            [3, "How many buildings are there in the image?", str(n)],
            [4, "What is the number of roads?", str(roads)],
        ],
        "area": [[5, "What is the area covered by buildings?", f"{n * 40}m2"]],
        "rural_urban": [[6, "Is it a rural or an urban area?", "urban" if n > 5 else "rural"]],
    }


def _sample(sid: str, qa: dict[str, list[list[object]]]) -> Sample:
    return Sample(
        sample_id=f"rsvqa:{sid}",
        source="rsvqa",
        native_id=sid,
        modality="rgb",
        sensor="Sentinel-2 MSI",
        bands=("R", "G", "B"),
        gsd_m=10.0,
        crs="EPSG:32631",
        footprint_wkt="POLYGON ((4 52, 4.1 52, 4.1 52.1, 4 52.1, 4 52))",
        acquired=(),
        images=(ImageRef("image", ("x.tif",), ("R", "G", "B"), "uint8", 256, 256),),
        tags={"rsvqa_dataset": "LR"},
        labels=Labels(
            scheme="rsvqa", properties={f"rsvqa_{t}": json.dumps(rows) for t, rows in qa.items()}
        ),
        licence="NOASSERTION; ODbL-1.0",
        split="train",
    )


def _with_answer(pair: InstructionPair, answer: str) -> InstructionPair:
    return dataclasses.replace(pair, turns=(pair.turns[0], Turn("gpt", answer)))


def test_templates_follow_the_rules() -> None:
    for tid in OURS:
        template = TEMPLATES[tid]
        assert template.task_tag == "" and template.task == "vqa"
        assert len(template.turns[0].questions) >= 12 and len(template.style_names) >= 2
        assert tid in RULES
        assert all("{question}" in q for q in template.turns[0].questions)
    assert {t for t in OURS if TEMPLATES[t].balanced} == {
        "rsvqa_presence",
        "rsvqa_comp",
        "rsvqa_rural_urban",
    }


@pytest.mark.parametrize("tid", OURS)
def test_pairs_are_the_labels_verbatim_and_pass(tid: str) -> None:
    qtype = tid.removeprefix("rsvqa_")
    for n in range(N):
        sample = _sample(f"i{n}", _labels(n))
        candidate = make_pair(sample, TEMPLATES[tid], CONFIG)
        pair = candidate.pair
        assert validate_pair(candidate, sample, CONFIG.box_scale) == []
        assert RULES[tid](from_pair(pair, sample)) == []
        assert REPORT.add(from_pair(pair, sample)) == []
        first = pair.turns[0].value
        assert first.startswith("[s2_rgb_10] <image>\n")
        asked = [row for row in _labels(n)[qtype] if str(row[1]) in first]
        assert len(asked) == 1
        assert str(asked[0][2]) in pair.turns[1].value.casefold()
        assert candidate.expected.values["question_type"] == qtype


@pytest.mark.parametrize("tid", ["rsvqa_presence", "rsvqa_comp", "rsvqa_rural_urban"])
def test_closed_answers_are_balanced(tid: str) -> None:
    values: Counter[str] = Counter()
    for n in range(N):
        qa = _labels(n + 1)  # a building on every image: "Is there a building?" yes
        qa["presence"].append([7, "Is a water area present?", "no"])
        qa["comp"].append([8, "Is the number of buildings equal to the number of roads?",
                           "yes" if n + 1 == (n + 1) % 3 else "no"])  # fmt: skip
        qa["rural_urban"][0][2] = ("rural", "urban")[n % 2]
        candidate = make_pair(_sample(f"b{n}", qa), TEMPLATES[tid], CONFIG)
        values[candidate.expected.answers[0]] += 1
    assert max(values.values()) / N <= 0.7, values


@pytest.mark.parametrize(
    ("tid", "wrong"),
    [
        ("rsvqa_presence", "maybe"),
        ("rsvqa_count", "The answer is 999."),
        ("rsvqa_area", "1m2"),
        ("rsvqa_rural_urban", "suburban"),
    ],
)
def test_wrong_answer_is_caught(tid: str, wrong: str) -> None:
    sample = _sample("w", _labels(4))
    pair = make_pair(sample, TEMPLATES[tid], CONFIG).pair
    problems = RULES[tid](from_pair(_with_answer(pair, wrong), sample))
    assert any(p.startswith("answer_differs_from_labels") for p in problems), problems


def test_flipped_yes_no_is_caught() -> None:
    sample = _sample("f", _labels(4))
    pair = make_pair(sample, TEMPLATES["rsvqa_presence"], CONFIG).pair
    truth = "yes" if "yes" in pair.turns[1].value.lower() else "no"
    flipped = _with_answer(pair, "No." if truth == "yes" else "Yes.")
    problems = RULES["rsvqa_presence"](from_pair(flipped, sample))
    assert any(p.startswith("wrong_yes_no") for p in problems)


def test_question_not_in_labels_is_caught() -> None:
    sample = _sample("q", _labels(4))
    pair = make_pair(sample, TEMPLATES["rsvqa_count"], CONFIG).pair
    other = dataclasses.replace(
        pair, turns=(Turn("human", "<image>\nHow many ships are there?"), pair.turns[1])
    )
    assert RULES["rsvqa_count"](from_pair(other, sample)) == ["question_not_in_labels"]


def test_contradictory_labels_are_caught() -> None:
    qa = _labels(4)
    qa["presence"][0][2] = "no"  # "Is there a building?" no, but 4 buildings counted
    sample = _sample("c", qa)
    for tid in ("rsvqa_count", "rsvqa_area"):
        pair = make_pair(sample, TEMPLATES[tid], CONFIG).pair
        if "building" in pair.turns[0].value:
            problems = RULES[tid](from_pair(pair, sample))
            assert "conflicting_labels:presence_vs_amount:building" in problems
    qa = _labels(4)
    qa["count"].append([9, "How many buildings are there in the image?", "5"])
    problems = []
    sample = _sample("d", qa)
    for seed in range(12):
        pair = make_pair(sample, TEMPLATES["rsvqa_count"], GenerationConfig(seed=seed)).pair
        problems += RULES["rsvqa_count"](from_pair(pair, sample))
    assert "conflicting_labels:same_question" in problems


def test_malformed_answers_are_never_asked() -> None:
    qa = _labels(3)
    qa["count"] = [[3, "How many buildings are there in the image?", "many"]]
    qa["area"] = [[5, "What is the area covered by buildings?", "120 square metres"]]
    sample = _sample("m", qa)
    for tid, reason in (("rsvqa_count", "count"), ("rsvqa_area", "area")):
        with pytest.raises(NotApplicable, match=f"malformed_answer:{reason}"):
            make_pair(sample, TEMPLATES[tid], CONFIG)
    qa["count"].append([4, "What is the number of roads?", "0"])
    pair = make_pair(_sample("m2", qa), TEMPLATES["rsvqa_count"], CONFIG).pair
    assert "roads" in pair.turns[0].value


def test_rule_flags_a_malformed_label_and_a_question_of_another_type() -> None:
    qa = _labels(2)
    qa["count"] = [[3, "Is there a building in the image?", "many"]]
    sample = _sample("t", qa)
    pair = InstructionPair(
        pair_id="x",
        sample_id=sample.sample_id,
        source="rsvqa",
        task="vqa",
        template_id="rsvqa_count",
        paraphrase_id=0,
        generator="template/2",
        generator_params={},
        image_roles=("image",),
        turns=(
            Turn("human", "[s2_rgb_10] <image>\nIs there a building in the image?"),
            Turn("gpt", "many"),
        ),
        split="train",
        answer_style="terse",
    )
    problems = RULES["rsvqa_count"](from_pair(pair, sample))
    assert "malformed_answer:count:many" in problems
    assert "question_not_of_type:count" in problems


def test_validator_rejects_an_answer_outside_the_options() -> None:
    sample = _sample("v", _labels(1))
    candidate = make_pair(sample, TEMPLATES["rsvqa_presence"], CONFIG)
    bad = Candidate(pair=_with_answer(candidate.pair, "perhaps"), expected=candidate.expected)
    assert any(p.startswith("answer_missing") for p in validate_pair(bad, sample, 100))
