"""Pairs of the local-climate-zone family (So2Sat LCZ42): zone, built-up, height, compactness.

Every generated pair must pass the validator and the family's independent audit rule; crafted
wrong answers must be caught; yes/no answers must stay balanced.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

import pytest

from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.so2sat.adapter import BANDS
from eoinstruct.sources.so2sat.zones import ZONES, Zone
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = ("so2sat_lcz", "so2sat_built", "so2sat_height", "so2sat_compact")
YES_NO = OURS[1:]
N = 68


def patch(i: int, zone: Zone | None = None) -> Sample:
    zone = zone or ZONES[i % len(ZONES)]
    props = {"lcz_code": zone.code, "built_type": "built" if zone.built else "natural"}
    for key, value in (
        ("urban_form", zone.form),
        ("building_height", zone.height),
        ("land_cover_type", zone.cover),
    ):
        if value:
            props[key] = value
    return Sample(
        sample_id=f"so2sat:training.h5:{i}",
        source="so2sat",
        native_id=f"training.h5:{i}",
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        bands=BANDS,
        gsd_m=10.0,
        crs="",
        footprint_wkt="",
        acquired=(),
        images=(ImageRef("image", ("t.h5::/sen2[0]",), BANDS, "reflectance", 32, 32),),
        tags={},
        labels=Labels(scheme="lcz17", classes=(zone.name,), properties=props),
        licence="CC-BY-4.0",
        split="train",
    )


def generated(template_id: str, n: int = N) -> list:
    out = []
    for i in range(n):
        s = patch(i)
        try:
            out.append((s, make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=i))))
        except NotApplicable:
            continue
    return out


def audit_of(pair, s: Sample, answer: str | None = None) -> list[str]:
    item = from_pair(pair, s)
    if answer is not None:
        item = dataclasses.replace(item, answers=(answer,))
    return RULES[pair.template_id](item)


@pytest.mark.parametrize("template_id", OURS)
def test_every_pair_passes_the_validator_and_the_audit(template_id: str) -> None:
    template = TEMPLATES[template_id]
    assert all(len(t.questions) >= 12 and len(t.styles) >= 2 for t in template.turns)
    assert template.balanced == (template_id in YES_NO)
    styles, phrasings = Counter(), set()
    pairs = generated(template_id, 170)
    for s, candidate in pairs:
        pair = candidate.pair
        assert validate_pair(candidate, s, 100) == []
        assert audit_of(pair, s) == []
        assert "[s2_ms_10] <image>" in pair.turns[0].value
        answer = pair.turns[-1].value
        assert "{" not in answer and "  " not in answer and answer[0].isupper()
        for text in (pair.turns[0].value, answer):
            assert not re.search(r"\ba [aeiou]", text), text
        styles[pair.answer_style] += 1
        phrasings.add(pair.paraphrase_id)
    assert set(styles) == set(template.style_names)
    assert len(phrasings) >= 10


@pytest.mark.parametrize("template_id", YES_NO)
def test_yes_no_is_balanced(template_id: str) -> None:
    answers = Counter(
        re.match(r"(Yes|No)\b", c.pair.turns[-1].value).group(1)
        for _, c in generated(template_id, 200)
    )
    assert set(answers) == {"Yes", "No"}
    assert max(answers.values()) / sum(answers.values()) < 0.65


def test_which_zones_get_which_questions() -> None:
    for zone in ZONES:
        s = patch(0, zone)
        for template_id, applies in (
            ("so2sat_height", bool(zone.height)),
            ("so2sat_compact", zone.form in ("compact", "open")),
        ):
            if applies:
                make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=0))
            else:
                with pytest.raises(NotApplicable):
                    make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=0))


def test_wrong_answers_are_caught() -> None:
    s = patch(0, ZONES[1])  # compact mid-rise
    pairs = {t: make_pair(s, TEMPLATES[t], GenerationConfig(seed=2)).pair for t in OURS}
    assert audit_of(pairs["so2sat_lcz"], s, "Open mid-rise")
    assert audit_of(pairs["so2sat_lcz"], s, "Water")
    for template_id in YES_NO:
        pair = pairs[template_id]
        right = pair.turns[-1].value
        flipped = ("No" + right[3:]) if right.startswith("Yes") else ("Yes" + right[2:])
        assert audit_of(pair, s, flipped), template_id
    assert audit_of(pairs["so2sat_height"], s, "No, the buildings here are high-rise.")
    assert audit_of(pairs["so2sat_compact"], s, "No, the built-up fabric here is open.")
