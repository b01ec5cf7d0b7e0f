"""Object pairs on SAR (HRSID) and infrared (HIT-UAV) samples against the audit rules.

Every pair of the four templates made from the sample corpora passes the validator and the
audit; every box in an answer is recomputed here from the raw annotation (COCO JSON, VOC
XML) on the 0..100 grid; wrong answers are caught; closed answers stay balanced.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import InstructionPair, Sample, Turn
from eoinstruct.sources.hit_uav import sample as uav_corpus
from eoinstruct.sources.hit_uav.adapter import HITUAV
from eoinstruct.sources.hrsid import sample as sar_corpus
from eoinstruct.sources.hrsid.adapter import HRSID
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
IDS = ("objects_refer", "objects_grounding", "objects_count", "objects_presence")
ALL_IDS = (*IDS, "objects_identify")
SEEDS = range(12)
Raw = dict[str, list[tuple[str, tuple[float, float, float, float]]]]
Sizes = dict[str, tuple[int, int]]
NAMES = {"Person": "person", "Car": "car", "Bicycle": "bicycle", "OtherVehicle": "other_vehicle"}


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Sample], Raw, Sizes]:
    root = tmp_path_factory.mktemp("sar_ir")
    sar_corpus.write(root / "hrsid", 1)
    uav_corpus.write(root / "hit_uav", 1)
    samples = [HRSID(root / "hrsid").read_unit(u)[0] for u in sar_corpus.GOOD_UNITS]
    samples += [HITUAV(root / "hit_uav").read_unit(u)[0] for u in uav_corpus.GOOD_UNITS]
    raw: Raw = {}
    sizes: dict[str, tuple[int, int]] = {}
    for stem in ("train2017", "test2017"):
        data = json.loads((root / "hrsid" / "annotations" / f"{stem}.json").read_text())
        for image in data["images"]:
            if f"{stem}/{Path(image['file_name']).stem}" not in sar_corpus.GOOD_UNITS:
                continue
            sid = "hrsid:" + Path(image["file_name"]).stem
            sizes[sid] = (image["width"], image["height"])
            raw[sid] = [
                ("ship", (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                          a["bbox"][1] + a["bbox"][3]))
                for a in data["annotations"] if a["image_id"] == image["id"]
            ]  # fmt: skip
    for unit in uav_corpus.GOOD_UNITS:
        tree = ET.parse(root / "hit_uav" / "normal_xml" / "Annotations" / f"{unit}.xml").getroot()
        size = tree.find("size")
        assert size is not None
        width, height = (int(size.findtext(k) or 0) for k in ("width", "height"))
        sizes[f"hit_uav:{unit}"] = (width, height)
        raw[f"hit_uav:{unit}"] = [
            (NAMES[o.findtext("name") or ""],
             tuple(float(o.findtext(f"bndbox/{k}") or 0) for k in ("xmin", "ymin", "xmax", "ymax")))
            for o in tree.iter("object") if o.findtext("name") != "DontCare"
        ]  # type: ignore[misc]  # fmt: skip
    return samples, raw, sizes


def _pairs(template_id: str, s: Sample) -> list[InstructionPair]:
    out: list[InstructionPair] = []
    if s.source not in TEMPLATES[template_id].sources:
        return out
    for seed in SEEDS:
        try:
            candidate = make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=seed))
        except NotApplicable:
            continue
        assert validate_pair(candidate, s, 100) == [], candidate.pair.turns
        out.append(candidate.pair)
    return out


def _grid(box: tuple[float, ...], size: tuple[int, int]) -> tuple[int, int, int, int]:
    w, h = size
    x1, y1 = math.floor(box[0] * 100 / w), math.floor(box[1] * 100 / h)
    x2, y2 = math.ceil(box[2] * 100 / w), math.ceil(box[3] * 100 / h)
    return (x1, y1, max(x2, x1 + 1), max(y2, y1 + 1))


def _answer_boxes(text: str) -> list[tuple[int, int, int, int]]:
    found = re.findall(r"\[\[(\d+), (\d+), (\d+), (\d+), 0\]\]", text)
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in found]


def _with_answer(pair: InstructionPair, text: str) -> InstructionPair:
    return dataclasses.replace(pair, turns=(pair.turns[0], Turn("gpt", text)))


def test_templates_apply_to_both_sources_with_twelve_questions() -> None:
    for tid in IDS:
        t = TEMPLATES[tid]
        assert set(t.sources) == {"hrsid", "hit_uav"} and len(t.turns[0].questions) >= 12
        assert len(t.style_names) >= 2


@pytest.mark.parametrize("template_id", ALL_IDS)
def test_every_pair_passes_validation_and_audit(corpora, template_id: str) -> None:  # type: ignore[no-untyped-def]
    samples, _, _ = corpora
    made = 0
    for s in samples:
        for pair in _pairs(template_id, s):
            assert RULES[template_id](from_pair(pair, s)) == [], pair.turns
            made += 1
    assert made >= len(samples) // 4


def test_identify_names_the_class_of_the_boxed_object(corpora) -> None:  # type: ignore[no-untyped-def]
    samples, raw, sizes = corpora
    seen = Counter[str]()
    for s in samples:
        for pair in _pairs("objects_identify", s):
            (box,) = _answer_boxes(pair.turns[0].value)
            truth = {c for c, b in raw[s.sample_id] if _grid(b, sizes[s.sample_id]) == box}
            answer = pair.turns[1].value.lower()
            assert len(truth) == 1 and next(iter(truth)).replace("_", " ") in answer
            seen[next(iter(truth))] += 1
            wrong = "ship" if "car" not in answer else "bicycle"
            assert RULES["objects_identify"](from_pair(_with_answer(pair, wrong), s))
    assert set(seen) == {"person", "car", "bicycle", "other_vehicle"}


def test_boxes_are_recomputed_from_the_raw_annotations(corpora) -> None:  # type: ignore[no-untyped-def]
    samples, raw, sizes = corpora
    checked = 0
    for s in samples:
        for pair in _pairs("objects_grounding", s):
            want = sorted({_grid(b, sizes[s.sample_id]) for _, b in raw[s.sample_id]})
            assert sorted(set(_answer_boxes(pair.turns[1].value))) == want
            checked += 1
        for pair in _pairs("objects_refer", s):
            ref = re.search(r"<ref>(.*?)</ref>", pair.turns[0].value)
            assert ref is not None
            cats = {c for c, _ in raw[s.sample_id]}
            spoken = {c: c.replace("_", " ") for c in cats} | {"person": "people"}
            category = next(c for c in cats if ref.group(1).startswith(spoken[c]))
            size = sizes[s.sample_id]
            want = sorted({_grid(b, size) for c, b in raw[s.sample_id] if c == category})
            assert sorted(_answer_boxes(pair.turns[1].value)) == want
            checked += 1
    assert checked > 20


def test_wrong_answers_are_caught(corpora) -> None:  # type: ignore[no-untyped-def]
    samples, _, _ = corpora
    caught = Counter[str]()
    for s in samples:
        for pair in _pairs("objects_count", s)[:2]:
            wrong = _with_answer(pair, str(_number(pair.turns[1].value) + 1))
            assert RULES["objects_count"](from_pair(wrong, s)), wrong.turns
            caught["count"] += 1
        for pair in _pairs("objects_presence", s)[:2]:
            flipped = "No" if pair.turns[1].value.startswith("Yes") else "Yes"
            assert RULES["objects_presence"](from_pair(_with_answer(pair, flipped), s))
            caught["presence"] += 1
        for pair in _pairs("objects_refer", s)[:1]:
            answer = pair.turns[1].value
            shifted = re.sub(r"\[\[(\d+),", lambda m: f"[[{(int(m.group(1)) + 7) % 90},", answer)
            assert RULES["objects_refer"](from_pair(_with_answer(pair, shifted), s))
            caught["refer"] += 1
    assert caught["count"] and caught["presence"] and caught["refer"]


def test_dontcare_boxes_are_never_in_answers(corpora) -> None:  # type: ignore[no-untyped-def]
    samples, raw, _ = corpora
    s = next(x for x in samples if "dontcare_boxes" in x.labels.properties)
    for pair in _pairs("objects_grounding", s):
        assert len(_answer_boxes(pair.turns[1].value)) == len(raw[s.sample_id])
    for pair in _pairs("objects_presence", s):
        assert pair.turns[1].value.startswith("Yes")  # no absence is asserted beside DontCare


def test_presence_and_count_answers_are_balanced(corpora) -> None:  # type: ignore[no-untyped-def]
    samples, _, _ = corpora
    presence = Counter(p.turns[1].value.split(",")[0].split(":")[0]
                       for s in samples for p in _pairs("objects_presence", s))  # fmt: skip
    assert presence["Yes"] and presence["No"]
    assert max(presence.values()) / sum(presence.values()) <= 0.65
    counts = Counter(_number(p.turns[1].value) for s in samples for p in _pairs("objects_count", s))
    assert len(counts) >= 4 and max(counts.values()) / sum(counts.values()) <= 0.5
    assert counts[0]  # ship-free chips and absent classes answer 0


def _number(text: str) -> int:
    words = {"no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a": 1, "an": 1}
    for token in re.findall(r"[a-z]+|\d+", text.lower()):
        if token.isdigit():
            return int(token)
        if token in words:
            return words[token]
    raise AssertionError(text)
