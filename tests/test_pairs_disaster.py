"""xBD pairs: wording, balance, the multi-turn dialogue, and the independent audit rules."""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.audit.rules.disaster import grid_box, stated_counts
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.builders.disaster import buildings_affected
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.xbd import sample as corpus
from eoinstruct.sources.xbd.adapter import XBD
from eoinstruct.templates import load_templates

CONFIG = GenerationConfig(seed=5, box_scale=100, max_boxes=40)
TEMPLATES = {t.id: t for t in load_templates() if "xbd" in t.sources}
XBD_IDS = {
    "xbd_disaster_type",
    "xbd_damage_counts",
    "xbd_affected",
    "xbd_identify_damage",
    "xbd_damage_description",
    "xbd_change",
    "xbd_refer_damage_level",
    "xbd_dialogue",
}
TYPES = ("earthquake", "fire", "flooding", "tsunami", "volcano", "wind")
LEVELS = ("no-damage", "minor-damage", "major-damage", "destroyed", "un-classified")


def tile(levels, dtype="fire", sid="xbd:t", size=(1024, 1024), boxes=None) -> Sample:
    """A crafted xBD sample: one building per level given, in a diagonal row unless ``boxes``."""
    boxes = boxes or [
        (40.0 * i, 30.0 * i, 40.0 * i + 25, 30.0 * i + 20) for i in range(len(levels))
    ]
    objects = tuple(
        ObjectLabel("building", level, "post", box)
        for level, box in zip(levels, boxes, strict=True)
    )
    images = tuple(
        ImageRef(r, (f"{r}.png",), ("R", "G", "B"), "uint8", *size) for r in ("pre", "post")
    )
    return Sample(
        sample_id=sid,
        source="xbd",
        native_id=sid.split(":")[1],
        modality="rgb",
        sensor="WorldView-2",
        bands=("R", "G", "B"),
        gsd_m=0.5,
        crs="EPSG:4326",
        footprint_wkt="",
        acquired=("2018-01-01T00:00:00Z", "2018-10-01T00:00:00Z"),
        images=images,
        tags={},
        labels=Labels(objects=objects, properties={"disaster_type": dtype}),
        licence="CC-BY-NC-SA-4.0",
        split="train",
    )


def random_tile(i: int, rng: random.Random) -> Sample:
    """A tile like xBD's: 40 % untouched, else a damage mix with some un-classified buildings."""
    n = rng.randint(1, 16)
    if rng.random() < 0.4:
        levels = ["no-damage"] * n
    else:
        levels = rng.choices(LEVELS, weights=(50, 15, 10, 20, 3), k=n)
        if all(lvl == "un-classified" for lvl in levels):
            levels[0] = "destroyed"
    boxes = []
    for _ in range(n):
        x, y = rng.uniform(0, 950), rng.uniform(0, 950)
        boxes.append((x, y, x + rng.uniform(4, 70), y + rng.uniform(4, 70)))
    return tile(levels, rng.choice(TYPES), f"xbd:r{i}", boxes=boxes)


def pairs(s: Sample, config: GenerationConfig = CONFIG):
    """Every xBD pair the templates make for a sample (skipping what it cannot answer)."""
    for tid in sorted(XBD_IDS):
        try:
            yield make_pair(s, TEMPLATES[tid], config)
        except NotApplicable:
            continue


def audit(candidate, s: Sample) -> list[str]:
    return RULES[candidate.pair.template_id](from_pair(candidate.pair, s))


def with_answers(item: AuditItem, *answers: str) -> AuditItem:
    return dataclasses.replace(item, answers=tuple(answers))


def item_of(tid: str, s: Sample, config: GenerationConfig = CONFIG) -> AuditItem:
    return from_pair(make_pair(s, TEMPLATES[tid], config).pair, s)


# -- templates ------------------------------------------------------------------------------------


def test_every_xbd_template_has_12_phrasings_and_2_styles_per_turn():
    assert set(TEMPLATES) == XBD_IDS
    for template in TEMPLATES.values():
        for turn in template.turns:
            assert len(turn.questions) >= 12, (template.id, turn.id)
            assert len({s.name for s in turn.styles}) >= 2, (template.id, turn.id)
            assert {s.name for s in turn.styles} <= {"terse", "sentence", "explanatory"}
    dialogue = TEMPLATES["xbd_dialogue"]
    assert dialogue.task == "multi_turn"
    assert [t.id for t in dialogue.turns] == [
        "what",
        "count",
        "destroyed",
        "none_destroyed",
        "rest",
    ]
    balanced = {t.id for t in TEMPLATES.values() if t.balanced}
    assert balanced == {"xbd_disaster_type", "xbd_affected", "xbd_identify_damage"}


def test_questions_carry_no_answer_format_that_a_style_contradicts():
    for template in TEMPLATES.values():
        for turn in template.turns:
            for question in turn.questions:
                assert not re.search(r"answer (yes or no|in one word)|one word", question, re.I)


# -- generated pairs: valid, audited clean, grammatical -----------------------------------------


GRAMMAR_SLIPS = re.compile(
    r"\b1 buildings\b|\bone buildings\b|\b0 \w|\ba (earthquake|undamaged)\b|\ba flooding\b"
    r"|\bthere is (?!only )?(no|[2-9]|two|three)\b|\bone (are|have|show|were)\b"
    r"|\b(two|three|four|five|[2-9]) (is|has|shows|was)\b|\s[.,;:]"
)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_pairs_are_valid_audited_clean_and_grammatical(seed: int):
    rng = random.Random(seed)
    config = dataclasses.replace(CONFIG, seed=seed)
    made: Counter[str] = Counter()
    for i in range(400):
        s = random_tile(i, rng)
        for candidate in pairs(s, config):
            made[candidate.pair.template_id] += 1
            assert validate_pair(candidate, s, 100) == [], candidate.pair
            assert audit(candidate, s) == [], candidate.pair
            for turn in candidate.pair.turns[1::2]:
                text = re.sub(r"<box>.*?</box>|</?ref>", "", turn.value)
                assert not GRAMMAR_SLIPS.search(text.replace(": 0", "")), turn.value
                if candidate.pair.answer_style != "terse":
                    assert text[0].isupper() and text.endswith("."), turn.value
    assert set(made) == XBD_IDS


def test_closed_answers_are_balanced_at_scale():
    rng = random.Random(11)
    values: dict[str, Counter[str]] = {t: Counter() for t in TEMPLATES if TEMPLATES[t].balanced}
    for i in range(1500):
        s = random_tile(i, rng)
        for tid in values:
            try:
                values[tid][make_pair(s, TEMPLATES[tid], CONFIG).expected.answers[0]] += 1
            except NotApplicable:
                pass
    for tid, counts in values.items():
        assert len(counts) >= 2, tid
        assert max(counts.values()) / sum(counts.values()) <= 0.7, (tid, counts)
    assert set(values["xbd_affected"]) == {"Yes", "No"}


def test_yes_no_either_side_is_possible_even_with_unclassified_buildings():
    crowded = tile([*LEVELS, "destroyed"])  # every level present, one un-classified
    sides = set()
    for seed in range(40):
        values = buildings_affected(crowded, dataclasses.replace(CONFIG, seed=seed))
        sides.add(values.answers[0])
        if values.answers[0] == "No":
            # the claim "at least k" is false even if the un-classified one were of the level
            k = values.values["ref_k"].split()[0]
            assert k not in ("one", "two")
    assert sides == {"Yes", "No"}


def test_answers_read_as_english_for_one_none_and_many():
    one = tile(["minor-damage"], "earthquake", "xbd:one")
    texts = {c.pair.template_id: c.pair.turns[-1].value for c in pairs(one)}
    assert "earthquake" in texts["xbd_disaster_type"].lower()
    assert "the only building" in texts["xbd_change"].lower()
    many = tile(["destroyed"] * 3, "flooding", "xbd:many")
    desc = make_pair(many, TEMPLATES["xbd_damage_description"], CONFIG).pair.turns[-1].value
    assert "all three buildings are destroyed" in desc.lower()
    assert "a flooding" not in desc.lower()
    counts = make_pair(many, TEMPLATES["xbd_damage_counts"], CONFIG).pair.turns[-1].value
    assert "no buildings with major damage" in counts or "major damage: 0" in counts


def test_disaster_type_is_only_asked_where_damage_shows():
    untouched = tile(["no-damage"] * 4, "fire", "xbd:calm")
    for tid in ("xbd_disaster_type", "xbd_dialogue"):
        with pytest.raises(NotApplicable, match="no_visible_damage"):
            make_pair(untouched, TEMPLATES[tid], CONFIG)
    description = make_pair(untouched, TEMPLATES["xbd_damage_description"], CONFIG)
    assert "wildfire" not in description.pair.turns[-1].value
    assert "all four buildings show no damage" in description.pair.turns[-1].value.lower()


# -- the dialogue --------------------------------------------------------------------------------


def test_dialogue_asks_what_happened_then_counts_then_locates_the_destroyed():
    s = tile(["destroyed", "no-damage", "major-damage", "destroyed", "minor-damage"], "wind")
    candidate = make_pair(s, TEMPLATES["xbd_dialogue"], CONFIG)
    assert candidate.expected.turns == ("what", "count", "destroyed", "rest")
    answers = [t.value for t in candidate.pair.turns[1::2]]
    assert "windstorm" in answers[0].lower()
    destroyed = [o for o in s.labels.objects if o.attribute == "destroyed"]
    want = sorted(grid_box(o.bbox, (1024, 1024)) for o in destroyed)
    assert sorted(parse_boxes(answers[2])) == want == sorted(candidate.expected.boxes)
    assert "<ref>destroyed buildings</ref><box>" in answers[2]
    assert validate_pair(candidate, s, 100) == [] and audit(candidate, s) == []
    questions = [t.value for t in candidate.pair.turns[0::2]]
    assert questions[0].startswith("[classify] [hr_rgb_temp_0.5] <image> <image>\n")
    assert len(set(questions)) == 4 and len(set(answers)) == 4  # no turn repeats another


def test_dialogue_leaves_out_what_the_labels_cannot_answer():
    spared = tile(["minor-damage", "major-damage", "no-damage"], "flooding", "xbd:spared")
    candidate = make_pair(spared, TEMPLATES["xbd_dialogue"], CONFIG)
    assert candidate.expected.turns == ("what", "count", "none_destroyed")
    assert candidate.expected.boxes == () and not parse_boxes(candidate.pair.turns[-1].value)
    wiped = tile(["destroyed"] * 3, "volcano", "xbd:wiped")
    assert make_pair(wiped, TEMPLATES["xbd_dialogue"], CONFIG).expected.turns == (
        "what",
        "count",
        "destroyed",
    )
    too_many = dataclasses.replace(CONFIG, max_boxes=2)
    assert make_pair(wiped, TEMPLATES["xbd_dialogue"], too_many).expected.turns == (
        "what",
        "count",
    )


# -- audit rules: counts parser and crafted wrong answers ---------------------------------------


def test_count_parser_reads_digits_words_lists_and_shares():
    stated = stated_counts(
        "Three of the nine buildings were damaged: two were destroyed and one suffered major "
        "damage; the other six show no damage. One more building could not be assessed."
    )
    assert stated.counts == {
        "damaged": 3,
        "destroyed": 2,
        "major-damage": 1,
        "no-damage": 6,
        "un-classified": 1,
    }
    assert stated.totals == {"all": 9}
    listed = stated_counts("Destroyed: 2; major damage: 0; minor damage: 11; no damage: 5.")
    assert listed.counts == {
        "destroyed": 2,
        "major-damage": 0,
        "minor-damage": 11,
        "no-damage": 5,
    }
    zero = stated_counts("No, there are no buildings with minor damage.")
    assert zero.counts == {"minor-damage": 0}
    boxes = stated_counts(
        "There are two <ref>destroyed buildings</ref><box>[[1, 2, 3, 4, 0]]</box>"
    )
    assert boxes.counts == {"destroyed": 2}
    assert stated_counts("None of the 4 assessed buildings shows damage.").totals == {"assessed": 4}


MIXED = ["destroyed", "destroyed", "no-damage", "minor-damage", "major-damage"]


def test_rules_catch_a_wrong_disaster_type_and_wrong_counts():
    s = tile(MIXED, "fire", "xbd:mixed")
    item = item_of("xbd_disaster_type", s)
    assert RULES["xbd_disaster_type"](item) == []
    assert RULES["xbd_disaster_type"](with_answers(item, "Flooding.")) == [
        "wrong_disaster_type:flooding!=fire"
    ]
    assert RULES["xbd_disaster_type"](with_answers(item, "Hard to say.")) == [
        "missing_disaster_type"
    ]
    counts = item_of("xbd_damage_counts", s)
    wrong = "Destroyed: 3; major damage: 1; minor damage: 1; no damage: 1."
    assert RULES["xbd_damage_counts"](with_answers(counts, wrong)) == [
        "count_mismatch:destroyed:3!=2"
    ]
    partial = "I count 2 destroyed buildings."
    assert "missing_count:no-damage" in RULES["xbd_damage_counts"](with_answers(counts, partial))
    change = item_of("xbd_change", s)
    wrong = "Four of the five buildings were damaged: three were destroyed, one minor damage."
    assert set(RULES["xbd_change"](with_answers(change, wrong))) == {
        "count_mismatch:destroyed:3!=2",
    }
    described = item_of("xbd_damage_description", s)
    wrong = "A tsunami has hit this area: of the five buildings, two are destroyed."
    problems = RULES["xbd_damage_description"](with_answers(described, wrong))
    assert "wrong_disaster_type:tsunami!=fire" in problems
    assert "missing_count:no-damage" in problems


def test_rules_catch_a_wrong_yes_no_and_an_unverifiable_no():
    s = tile(MIXED, "wind", "xbd:yn")
    item = item_of("xbd_affected", s)
    question = "Is there at least one destroyed building in the post-event image?"
    asked = dataclasses.replace(item, questions=(question,))
    assert RULES["xbd_affected"](with_answers(asked, "Yes")) == []
    assert RULES["xbd_affected"](with_answers(asked, "No")) == ["wrong_yes_no:destroyed>=1"]
    three = dataclasses.replace(item, questions=("Are there at least three destroyed buildings?",))
    assert (
        RULES["xbd_affected"](with_answers(three, "No, there are only 2 destroyed buildings."))
        == []
    )
    assert RULES["xbd_affected"](
        with_answers(three, "No, there are only 1 destroyed buildings.")
    ) == ["count_mismatch:destroyed:1!=2"]
    cloudy = tile(["no-damage", "un-classified"], "wind", "xbd:cloudy")
    cloudy_item = dataclasses.replace(item_of("xbd_affected", cloudy), questions=(question,))
    assert RULES["xbd_affected"](with_answers(cloudy_item, "No")) == [
        "unverifiable_no:destroyed>=1"
    ]


def test_rules_catch_a_wrong_level_at_a_box_and_wrong_referred_boxes():
    s = tile(MIXED, "earthquake", "xbd:boxes")
    ident = item_of("xbd_identify_damage", s)
    box = parse_boxes(ident.questions[0])[0]
    level = next(o.attribute for o in s.labels.objects if grid_box(o.bbox, (1024, 1024)) == box)
    other = "no damage" if level != "no-damage" else "destroyed"
    assert RULES["xbd_identify_damage"](ident) == []
    problems = RULES["xbd_identify_damage"](with_answers(ident, f"It has {other}."))
    assert problems and problems[0].startswith("wrong_level:")
    moved = dataclasses.replace(ident, questions=("What is at [[90, 90, 99, 99, 0]]?",))
    assert RULES["xbd_identify_damage"](moved) == ["no_building_at_box"]
    refer = item_of("xbd_refer_damage_level", s)
    assert RULES["xbd_refer_damage_level"](refer) == []
    destroyed = sorted(grid_box(o.bbox, (1024, 1024)) for o in s.labels.objects[:2])
    one_box = "".join(f"[[{a}, {b}, {c}, {d}, {e}]]" for a, b, c, d, e in destroyed[:1])
    short = f"There are two <ref>destroyed buildings</ref><box>{one_box}</box> in the image."
    assert RULES["xbd_refer_damage_level"](with_answers(refer, short)) == [
        "boxes_mismatch:destroyed:1!=2"
    ]


def test_dialogue_rule_checks_every_turn():
    s = tile(MIXED, "tsunami", "xbd:talk")
    item = item_of("xbd_dialogue", s)
    assert len(item.answers) == 4 and RULES["xbd_dialogue"](item) == []
    first, count, boxes, rest = item.answers
    assert RULES["xbd_dialogue"](with_answers(item, "A wildfire.", count, boxes, rest)) == [
        "wrong_disaster_type:fire!=tsunami"
    ]
    wrong_count = "Two of the five buildings were damaged."
    assert RULES["xbd_dialogue"](with_answers(item, first, wrong_count, boxes, rest)) == [
        "turn2:count_mismatch:damaged:2!=4"
    ]
    dropped = re.sub(r"\[\[[^\]]*\]\]", "", boxes, count=1)
    assert RULES["xbd_dialogue"](with_answers(item, first, count, dropped, rest)) == [
        "turn3:boxes_mismatch:destroyed:1!=2"
    ]
    assert RULES["xbd_dialogue"](with_answers(item, first, count, boxes, "Minor damage: 3.")) == [
        "turn4:count_mismatch:minor-damage:3!=1"
    ]


# -- the sample corpus ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_tiles(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = tmp_path_factory.mktemp("xbd") / "data"
    corpus.write(root, seed=7)
    adapter = XBD(root)
    return [
        s for spec in corpus.GOOD_TILES for s in adapter.read_unit(f"{spec.folder}/{spec.stem}")
    ]


def test_sample_corpus_has_undamaged_and_damaged_tiles_whose_pairs_pass(sample_tiles):
    undamaged = {f"xbd:{spec.stem}" for spec in corpus.UNDAMAGED_TILES}
    assert len(undamaged) == 3
    damage = {s.sample_id: {o.attribute for o in s.labels.objects} for s in sample_tiles}
    assert all(damage[sid] == {"no-damage"} for sid in undamaged)
    assert sum(1 for sid, levels in damage.items() if levels - {"no-damage"}) >= 6
    answers: Counter[str] = Counter()
    for s in sample_tiles:
        for candidate in pairs(s):
            assert validate_pair(candidate, s, 100) == [], candidate.pair
            assert audit(candidate, s) == [], candidate.pair
            if candidate.pair.template_id == "xbd_affected":
                answers[candidate.expected.answers[0]] += 1
    assert set(answers) == {"Yes", "No"}


def test_undamaged_tiles_show_no_disaster_effects(tmp_path: Path):
    import numpy as np
    from PIL import Image

    corpus.write(tmp_path, seed=7)
    for spec in corpus.UNDAMAGED_TILES:
        pre, post = (
            np.asarray(
                Image.open(tmp_path / spec.folder / "images" / f"{spec.stem}_{p}_disaster.png")
            )
            .astype(float)
            .mean(axis=2)
            for p in ("pre", "post")
        )
        # only a radiometric change and grain: no flood, burn or ash overlay
        assert np.corrcoef(pre.ravel(), post.ravel())[0, 1] > 0.9
