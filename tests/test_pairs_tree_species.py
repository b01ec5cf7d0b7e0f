"""Pairs of the tree-species family (TreeSatAI): genera, dominant genus, presence, share.

Every generated pair must pass the validator and the family's independent audit rule; crafted
wrong answers must be caught; presence answers must stay balanced.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter

import pytest

from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = ("treesatai_genera", "treesatai_dominant", "treesatai_presence", "treesatai_share")
N = 60
ALL_TREES = (
    "Abies Acer Alnus Betula Fagus Fraxinus Larix Picea Pinus Populus Prunus Pseudotsuga "
    "Quercus Tilia"
).split()
GENERA = ("Abies", "Fagus", "Picea", "Pinus", "Quercus", "Betula", "Larix", "Tilia")


def tree(i: int, shares: dict[str, float] | None = None) -> Sample:
    """A crafted patch: 1-3 genera with fractions summing to 1 (cleared ground sometimes)."""
    if shares is None:
        k = 1 + i % 3
        names = [GENERA[(i + 3 * j) % len(GENERA)] for j in range(k)]
        if i % 7 == 0:
            names[-1] = "Cleared"
        weights = [0.6, 0.25, 0.15][:k] if k > 1 else [1.0]
        shares = dict(zip(names, [w / sum(weights) for w in weights], strict=True))
    return Sample(
        sample_id=f"treesatai:t{i}",
        source="treesatai",
        native_id=f"t{i}",
        modality="infrared",
        sensor="aerial",
        bands=("IR", "G", "B", "R"),
        gsd_m=0.2,
        crs="EPSG:25832",
        footprint_wkt="POLYGON ((9 51, 9.001 51, 9.001 51.001, 9 51.001, 9 51))",
        acquired=(),
        images=(ImageRef("image", ("a.tif",), ("IR", "G", "B", "R"), "uint8", 304, 304),),
        tags={},
        labels=Labels(
            scheme="treesatai_genus15",
            classes=tuple(sorted(shares)),
            properties={"genus_shares": json.dumps({g: round(f, 4) for g, f in shares.items()})},
        ),
        licence="CC-BY-4.0",
        split="train",
    )


def generated(template_id: str) -> list:
    out = []
    for i in range(N):
        s = tree(i)
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
    pairs = generated(template_id)
    assert len(pairs) >= N // 2
    styles, phrasings = Counter(), set()
    for s, candidate in pairs:
        pair = candidate.pair
        assert validate_pair(candidate, s, 100) == []
        assert audit_of(pair, s) == []
        assert pair.turns[0].value.startswith(template.task_tag or "[hr_rgbi_0.5]")
        assert "[hr_rgbi_0.5] <image>" in pair.turns[0].value
        answer = pair.turns[-1].value
        assert "{" not in answer and "  " not in answer
        assert answer[0].isupper() or answer[0].isdigit()
        styles[pair.answer_style] += 1
        phrasings.add(pair.paraphrase_id)
    assert set(styles) == set(template.style_names)
    assert len(phrasings) >= 10


def test_presence_is_balanced_and_true() -> None:
    answers = Counter()
    for s, candidate in generated("treesatai_presence"):
        pair = candidate.pair
        asked = re.search(r"\b(" + "|".join(ALL_TREES) + r")\b", pair.turns[0].value)
        assert asked
        said = pair.turns[-1].value.split(",")[0].split(".")[0].split(":")[0]
        assert (said == "Yes") == (asked.group(1) in s.labels.classes)
        answers[said] += 1
    assert set(answers) == {"Yes", "No"} and max(answers.values()) / sum(answers.values()) < 0.7


def test_wrong_answers_are_caught() -> None:
    s = tree(0, {"Fagus": 0.62, "Quercus": 0.38})
    pairs = {t: make_pair(s, TEMPLATES[t], GenerationConfig(seed=1)).pair for t in OURS}
    assert audit_of(pairs["treesatai_genera"], s, "Fagus; Picea")
    assert audit_of(pairs["treesatai_genera"], s, "Fagus")
    assert audit_of(pairs["treesatai_dominant"], s, "Quercus")
    assert audit_of(pairs["treesatai_dominant"], s, "Fagus (beech) covers about 80 % of it.")
    presence = pairs["treesatai_presence"]
    right = presence.turns[-1].value
    flipped = ("No" + right[3:]) if right.startswith("Yes") else ("Yes" + right[2:])
    assert audit_of(presence, s, flipped)
    share = pairs["treesatai_share"]
    assert audit_of(share, s, "About 50 % of the stand.")
    assert audit_of(share, s, "About 62 % of the stand.")  # not a multiple of 5


def test_shares_and_dominant_come_from_the_fractions() -> None:
    s = tree(0, {"Picea": 0.5417, "Larix": 0.2583, "Abies": 0.2})
    dominant = make_pair(s, TEMPLATES["treesatai_dominant"], GenerationConfig(seed=0)).pair
    assert "Picea" in dominant.turns[-1].value
    for seed in range(6):
        share = make_pair(s, TEMPLATES["treesatai_share"], GenerationConfig(seed=seed)).pair
        genus = re.search(r"\b(Picea|Larix|Abies)\b", share.turns[0].value).group(1)
        value = {"Picea": "55 %", "Larix": "25 %", "Abies": "20 %"}[genus]
        assert value in share.turns[-1].value
    tie = tree(1, {"Picea": 0.51, "Larix": 0.49})
    with pytest.raises(NotApplicable):
        make_pair(tie, TEMPLATES["treesatai_dominant"], GenerationConfig(seed=0))
    cleared = tree(2, {"Cleared": 1.0})
    for template_id in ("treesatai_dominant", "treesatai_presence", "treesatai_share"):
        with pytest.raises(NotApplicable):
            make_pair(cleared, TEMPLATES[template_id], GenerationConfig(seed=0))
