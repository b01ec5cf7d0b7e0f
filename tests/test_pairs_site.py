"""fMoW sites: classification over a sequence and in one view, and "when" questions.

Every generated pair must pass the validator, the family's independent audit rule and the
generic checks (dates stated only where the question gives them); crafted wrong pairs must be
caught; sequences show every view oldest first with a ``temp`` sensor tag, single views the
plain tag; the sample corpus gives pairs of every template, with sequences of 3+ images.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

from eoinstruct.pipeline.audit.checks import generic_problems
from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.builders.site import months_between
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.fmow import sample as corpus
from eoinstruct.sources.fmow.adapter import FMoW
from eoinstruct.sources.fmow.categories import CATEGORIES, SCHEME, category_words
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = ("fmow_sequence_class", "fmow_view_class", "fmow_view_date", "fmow_image_on_date",
        "fmow_time_span")  # fmt: skip
CONFIG = GenerationConfig(seed=5)


def site(i: int, n_views: int, category: str = "dam", same_day: bool = False) -> Sample:
    """A crafted fMoW sequence with ``n_views`` views, seeded by ``i``."""
    rng = random.Random(i)
    roles = tuple(f"t{k}" for k in range(n_views))
    days = sorted(f"{2005 + rng.randrange(12)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                  for _ in roles)  # fmt: skip
    if same_day and n_views > 2:
        days[2] = days[1]
    images, objects, props = [], [], {"series_roles": "/".join(roles)}
    for k, role in enumerate(roles):
        w, h = rng.randint(100, 900), rng.randint(100, 900)
        x, y = rng.randint(0, w // 2), rng.randint(0, h // 2)
        images.append(ImageRef(role, (f"{role}.jpg",), ("R", "G", "B"), "uint8", w, h))
        objects.append(ObjectLabel(category, "", role, (x, y, x + w // 3, y + h // 3)))
        props[f"timestamp:{role}"] = f"{days[k]}T10:{k:02d}:00Z"
    return Sample(
        sample_id=f"fmow:train/{category}_{i}",
        source="fmow",
        native_id=f"train/{category}_{i}",
        modality="rgb",
        sensor="DigitalGlobe WorldView-2/-3, GeoEye-1, QuickBird-2",
        bands=("R", "G", "B"),
        gsd_m=0.5,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=tuple(dict.fromkeys(props[f"timestamp:{r}"] for r in roles)),
        images=tuple(images),
        tags={},
        labels=Labels(scheme=SCHEME, classes=(category,), objects=tuple(objects), properties=props),
        licence="Functional Map of the World Challenge Public License",
        split="train",
    )


def _audit(candidate, s: Sample) -> list[str]:
    item = from_pair(candidate.pair, s)
    return RULES[candidate.pair.template_id](item) + generic_problems(item)


def _pairs(template_id: str, n: int = 40):
    made = []
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        s = site(i, 1 + i % 5, category, same_day=i % 7 == 0)
        try:
            made.append((make_pair(s, TEMPLATES[template_id], CONFIG), s))
        except NotApplicable:
            continue
    return made


@pytest.mark.parametrize("template_id", OURS)
def test_every_pair_passes_validator_and_audit(template_id):
    made = _pairs(template_id)
    assert len(made) >= 15
    for candidate, s in made:
        assert validate_pair(candidate, s, 100) == [], candidate.pair.turns
        assert _audit(candidate, s) == [], candidate.pair.turns
        first = candidate.pair.turns[0].value
        roles = candidate.pair.image_roles
        assert first.count("<image>") == len(roles)
        assert ("[hr_rgb_temp_0.5]" if len(roles) > 1 else "[hr_rgb_0.5]") in first
    styles = Counter(c.pair.answer_style for c, _ in made)
    assert len(styles) >= 2


def test_sequences_show_every_view_and_single_views_one():
    for candidate, s in _pairs("fmow_sequence_class"):
        assert candidate.pair.image_roles == tuple(im.role for im in s.images)
        assert candidate.pair.turns[0].value.startswith("[classify] [hr_rgb_temp_0.5] <image>")
    roles = [c.pair.image_roles for c, _ in _pairs("fmow_view_class")]
    assert all(len(r) == 1 for r in roles) and len({r[0] for r in roles}) >= 3


def _tamper(candidate, s: Sample, answer: str) -> list[str]:
    turns = list(candidate.pair.turns)
    turns[1] = dataclasses.replace(turns[1], value=answer)
    pair = dataclasses.replace(candidate.pair, turns=tuple(turns))
    item: AuditItem = from_pair(pair, s)
    return RULES[pair.template_id](item)


def test_wrong_answers_are_caught():
    candidate, s = _pairs("fmow_sequence_class")[0]
    truth = category_words(s.labels.classes[0])
    other = next(category_words(c) for c in CATEGORIES if category_words(c) != truth)
    assert _tamper(candidate, s, other)
    assert _tamper(candidate, s, f"{truth} or {other}")
    box_moved = dataclasses.replace(
        s,
        labels=dataclasses.replace(
            s.labels,
            objects=tuple(
                dataclasses.replace(o, bbox=(0.0, 0.0, 5.0, 5.0)) for o in s.labels.objects
            ),
        ),
    )
    assert any(p.startswith("wrong_box") for p in _audit(candidate, box_moved))

    candidate, s = _pairs("fmow_view_date")[0]
    dates = sorted(s.labels.properties[f"timestamp:{r}"][:10] for r in candidate.pair.image_roles)
    right = candidate.pair.turns[1].value
    wrong = next(d for d in dates if d not in right)
    assert _tamper(candidate, s, wrong)
    assert _tamper(candidate, s, "1999-01-01")

    candidate, s = _pairs("fmow_image_on_date")[0]
    said = candidate.pair.turns[1].value.lower()
    other = next(o for o in ("first", "second", "third") if f"{o} image" not in said)
    assert _tamper(candidate, s, f"The {other} image.")

    candidate, s = _pairs("fmow_time_span")[0]
    assert _tamper(candidate, s, "40 years and 1 month.")


def test_when_questions_need_three_views_and_a_date_of_one_view():
    with pytest.raises(NotApplicable):
        make_pair(site(1, 2), TEMPLATES["fmow_view_date"], CONFIG)
    with pytest.raises(NotApplicable):
        make_pair(site(1, 1), TEMPLATES["fmow_time_span"], CONFIG)
    s = site(3, 3, same_day=True)
    candidate = make_pair(s, TEMPLATES["fmow_image_on_date"], CONFIG)
    asked = s.labels.properties["timestamp:t0"][:10]
    assert asked in candidate.pair.turns[0].value.rsplit("?", 1)[0]
    assert _audit(candidate, s) == []


def test_months_between():
    assert months_between("2011-09-02", "2016-06-14") == 57
    assert months_between("2012-01-31", "2012-02-29") == 0
    assert months_between("2012-01-29", "2013-01-29") == 12


@pytest.fixture(scope="module")
def sample_samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root: Path = tmp_path_factory.mktemp("fmow_pairs") / "fmow"
    corpus.write(root, seed=11)
    adapter = FMoW(root)
    return [adapter.read_unit(spec.unit)[0] for spec in corpus.SEQUENCES]


def test_sample_corpus_gives_every_template(sample_samples):
    made: Counter[str] = Counter()
    longest = 0
    for s in sample_samples:
        for template_id in OURS:
            try:
                candidate = make_pair(s, TEMPLATES[template_id], CONFIG)
            except NotApplicable:
                continue
            assert validate_pair(candidate, s, 100) == []
            assert _audit(candidate, s) == []
            made[template_id] += 1
            longest = max(longest, len(candidate.pair.image_roles))
    assert set(made) == set(OURS) and longest == 5
    assert made["fmow_view_class"] == len(sample_samples)
