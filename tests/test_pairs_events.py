"""Pairs of the event families — methane (STARCOP), earthquake (QuakeSet), urban heat island.

Every generated pair of these templates must pass the validator and the family's independent
audit rule; crafted wrong pairs must be caught; closed answers must stay balanced; the label
figures the rules read (plume size, temperature statistics) are computed at ingest.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import Candidate, make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, Sample
from eoinstruct.sources.quakeset import sample as quakeset_corpus
from eoinstruct.sources.quakeset.adapter import QuakeSet
from eoinstruct.sources.stac.thermal import temperature_figures, thermal_properties
from eoinstruct.sources.starcop import sample as starcop_corpus
from eoinstruct.sources.starcop.adapter import STARCOP
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = ("starcop_presence", "starcop_extent", "quakeset_occurred", "uhi_summary")
YES_NO = ("starcop_presence", "quakeset_occurred")
N = 60


def _sample(source: str, sid: str, images: tuple[ImageRef, ...], props: dict[str, str]) -> Sample:
    return Sample(
        sample_id=f"{source}:{sid}",
        source=source,
        native_id=sid,
        modality={"starcop": "hyperspectral", "quakeset": "sar"}.get(source, "multispectral"),
        sensor="sensor",
        bands=(),
        gsd_m=3.0,
        crs="EPSG:32613",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2020-01-01T00:00:00Z",),
        images=images,
        tags={},
        labels=Labels(properties=props),
        licence="x",
        split="train",
    )


STARCOP_IMAGES = (
    ImageRef("image", ("toa.tif",), ("TOA_AVIRIS_640nm",), "normalized_radiance", 64, 64),
    ImageRef("mag1c", ("mag1c.tif",), ("mag1c",), "float", 64, 64),
)


def starcop(i: int, plume: bool, pixels: int = 298, gsd: float = 3.0) -> Sample:
    pixels = pixels if plume else 0
    props = {
        "has_plume": "true" if plume else "false",
        "qplume_kg_h": "1534.2" if plume else "0.0",
        "plume_pixels": str(pixels),
        "image_pixels": "4096",
        "pixel_size_m": f"{gsd:g}",
        "plume_area_m2": f"{pixels * gsd * gsd:.2f}",
    }
    return _sample("starcop", f"ev{i}", STARCOP_IMAGES, props)


def quake(i: int, hit: bool) -> Sample:
    roles = ("pre", "post", "before") if hit else ("before", "pre")
    images = tuple(
        ImageRef(r, (f"q.h5::/e/p{i}/{r}",), ("VV", "VH"), "sar_linear", 100, 100) for r in roles
    )
    props = {
        "earthquake": "yes" if hit else "no",
        "pair": "pre/post" if hit else "before/pre",
        "magnitude": "6.4" if hit else "0",
        "event_magnitude": "6.4",
    }
    return _sample("quakeset", f"e/p{i}", images, props)


def thermal(i: int, mean: float = 19.93, spread: float = 8.01, warm: str = "south-east") -> Sample:
    quarters = dict.fromkeys(("north-west", "north-east", "south-west", "south-east"), mean - 1)
    quarters[warm] = mean + 2.5
    props = {
        "lst_mean_c": f"{mean:.2f}",
        "lst_p10_c": f"{mean - spread / 2:.2f}",
        "lst_p90_c": f"{mean + spread / 2:.2f}",
        "lst_quadrant_means_c": json.dumps(quarters),
    }
    images = (
        ImageRef("image", ("sr.tif",), ("SR_B4",), "reflectance", 64, 64),
        ImageRef("thermal", ("st.tif",), ("ST_B10",), "kelvin", 64, 64),
    )
    return _sample("stac", f"landsat/L{i}", images, props)


def crafted(template_id: str, i: int) -> Sample:
    """The i-th crafted sample for a template: both label sides and varied figures."""
    if template_id == "starcop_presence":
        return starcop(i, plume=i % 2 == 0)
    if template_id == "starcop_extent":
        return starcop(i, plume=True, pixels=1 + 37 * i, gsd=(3.0, 2.5, 8.1)[i % 3])
    if template_id == "quakeset_occurred":
        return quake(i, hit=i % 2 == 0)
    quarter = ("north-west", "north-east", "south-west", "south-east")[i % 4]
    return thermal(i, mean=-5.0 + 0.73 * i, spread=(2.0, 5.5, 12.25)[i % 3], warm=quarter)


def generated(template_id: str, n: int = N) -> list[tuple[Sample, Candidate]]:
    out = []
    for i in range(n):
        s = crafted(template_id, i)
        out.append((s, make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=i))))
    return out


def audit(pair: InstructionPair, s: Sample) -> list[str]:
    return RULES[pair.template_id](from_pair(pair, s))


def edited(
    pair: InstructionPair,
    s: Sample,
    answer: str | None = None,
    question: str | None = None,
    **changes: Any,
) -> AuditItem:
    """The audit view of a pair with its answer (or question) replaced."""
    item = from_pair(pair, s)
    if answer is not None:
        changes["answers"] = (answer,)
    if question is not None:
        changes["questions"] = (question,)
    return dataclasses.replace(item, **changes)


# -- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", OURS)
def test_templates_have_twelve_questions_and_two_styles(template_id: str) -> None:
    template = TEMPLATES[template_id]
    for turn in template.turns:
        assert len(turn.questions) >= 12
        assert len(turn.styles) >= 2
    assert template.balanced == (template_id in YES_NO)


def test_unanswerable_templates_are_gone() -> None:
    assert "quakeset_magnitude" not in TEMPLATES  # an event label, not in a SAR patch
    assert "starcop_strength" not in TEMPLATES  # the emission rate is not in the pixels


# -- every generated pair ----------------------------------------------------------------------


@pytest.mark.parametrize("template_id", OURS)
def test_every_pair_passes_the_validator_and_the_audit(template_id: str) -> None:
    styles: Counter[str] = Counter()
    questions = set()
    for s, candidate in generated(template_id):
        pair = candidate.pair
        assert validate_pair(candidate, s, 100) == []
        assert audit(pair, s) == []
        styles[pair.answer_style] += 1
        questions.add(pair.paraphrase_id)
        answer = pair.turns[-1].value
        assert answer[0].isupper()
        if pair.answer_style != "terse":
            assert answer.endswith(".")
        assert "{" not in answer and "  " not in answer
        for text in (pair.turns[0].value, answer):  # articles by the grammar helper
            assert not re.search(r"\ba ([aeiou]|8|11|18)", text), text
    assert set(styles) == set(TEMPLATES[template_id].style_names)
    assert len(questions) >= 10


@pytest.mark.parametrize("template_id", YES_NO)
def test_yes_no_questions_get_yes_or_no_in_every_style(template_id: str) -> None:
    seen = set()
    for s, candidate in generated(template_id):
        pair = candidate.pair
        props = s.labels.properties
        truth = props.get("has_plume", props.get("earthquake")) in ("true", "yes")
        first = re.match(r"(Yes|No)\b", pair.turns[-1].value)
        assert first and (first.group(1) == "Yes") == truth
        seen.add((pair.answer_style, truth))
    assert len(seen) == 2 * len(TEMPLATES[template_id].style_names)


def test_plume_questions_show_the_mag1c_map_and_no_emission_rate() -> None:
    for template_id in ("starcop_presence", "starcop_extent"):
        for _, candidate in generated(template_id, 12):
            pair = candidate.pair
            assert pair.image_roles == ("mag1c",)
            assert "mag1c" in pair.turns[0].value or "methane" in pair.turns[0].value
            assert "kg/h" not in pair.turns[-1].value and "1534" not in pair.turns[-1].value


def test_earthquake_pairs_compare_the_two_acquisitions_without_magnitude() -> None:
    for s, candidate in generated("quakeset_occurred", 24):
        pair = candidate.pair
        assert pair.image_roles == tuple(s.labels.properties["pair"].split("/"))
        assert pair.turns[0].value.count("<image>") == 2
        question = pair.turns[0].value.lower()
        assert "an earthquake" in question and ("two" in question or "first" in question)
        assert "6.4" not in pair.turns[-1].value and "magnitude" not in pair.turns[-1].value


def test_extent_answers_state_the_mask_figures() -> None:
    s = starcop(0, plume=True, pixels=298, gsd=3.0)
    texts = {
        make_pair(s, TEMPLATES["starcop_extent"], GenerationConfig(seed=k)).pair.turns[-1].value
        for k in range(40)
    }
    assert all("2,680 m²" in t for t in texts)  # 298 × 9 m² = 2,682 m², three figures
    assert any("7.3 %" in t for t in texts)  # 298 / 4,096
    assert any("298 pixels" in t and "4,096" in t for t in texts)


def test_uhi_answers_the_figures_and_never_the_band() -> None:
    s = thermal(0, mean=25.64, spread=9.0, warm="south-east")
    for k in range(30):
        pair = make_pair(s, TEMPLATES["uhi_summary"], GenerationConfig(seed=k)).pair
        text = pair.turns[-1].value
        assert pair.image_roles == ("thermal",)
        assert "25.6 °C" in text and "strong" in text
        assert "south-east" in text or "bottom right" in text
        assert "ST_B10" not in text and "band" not in text
        assert not re.match(r"(is|are|does|do)\b", pair.turns[0].value.split("\n")[1], re.I)


# -- balance -----------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", YES_NO)
def test_yes_no_balance_over_crafted_samples(template_id: str) -> None:
    answers = Counter(
        c.pair.turns[-1].value.split(",")[0].split(".")[0] for _, c in generated(template_id)
    )
    assert set(answers) == {"Yes", "No"}
    assert max(answers.values()) / sum(answers.values()) <= 0.7


def _answers_over(samples: list[Sample], template_id: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for s in samples:
        pair = make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=0)).pair
        assert audit(pair, s) == []
        out[re.match(r"(Yes|No)", pair.turns[-1].value).group(1)] += 1  # type: ignore[union-attr]
    return out


@pytest.fixture(scope="module")
def starcop_samples(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = tmp_path_factory.mktemp("starcop") / "STARCOP"
    starcop_corpus.write(root, 20261124)
    adapter = STARCOP(root)
    return [adapter.read_unit(spec.event_id)[0] for spec in starcop_corpus.GOOD_EVENTS]


def test_sample_corpus_plumes_are_balanced(starcop_samples: list[Sample]) -> None:
    answers = _answers_over(starcop_samples, "starcop_presence")
    assert answers["Yes"] >= 2 and answers["No"] >= 2
    assert max(answers.values()) / sum(answers.values()) <= 0.7


def test_sample_corpus_earthquakes_are_balanced(tmp_path: Path) -> None:
    quakeset_corpus.write(tmp_path, seed=7)
    adapter = QuakeSet(tmp_path)
    samples = [s for unit in quakeset_corpus.GOOD_UNITS for s in adapter.read_unit(unit)]
    answers = _answers_over(samples, "quakeset_occurred")
    assert answers["Yes"] >= 3 and answers["No"] >= 3
    assert max(answers.values()) / sum(answers.values()) <= 0.7


# -- figures at ingest -------------------------------------------------------------------------


def test_starcop_ingest_stores_the_plume_size(starcop_samples: list[Sample]) -> None:
    plumes = 0
    for s in starcop_samples:
        props = s.labels.properties
        with rasterio.open(s.labels.rasters["plume_mask"]) as ds:
            mask = ds.read(1) > 0
        assert props["plume_pixels"] == str(int(mask.sum()))
        assert props["image_pixels"] == str(mask.size) == "4096"
        assert props["pixel_size_m"] == "3"
        assert float(props["plume_area_m2"]) == pytest.approx(mask.sum() * 9.0)
        assert (mask.sum() > 0) == (props["has_plume"] == "true")
        plumes += int(mask.sum() > 0)
        for template_id in ("starcop_presence", "starcop_extent"):
            try:
                candidate = make_pair(s, TEMPLATES[template_id], GenerationConfig())
            except NotApplicable:
                assert template_id == "starcop_extent" and props["has_plume"] == "false"
                continue
            assert validate_pair(candidate, s, 100) == []
            assert audit(candidate.pair, s) == []
    assert plumes == 2


def test_temperature_figures_of_a_chip(tmp_path: Path) -> None:
    kelvin = np.full((64, 64), 295.0)
    kelvin[32:, 32:] = 310.0  # a hot south-east quarter
    kelvin[0, :8] = np.nan
    figures = temperature_figures(kelvin)
    assert float(figures["lst_mean_c"]) == pytest.approx(25.6, abs=0.01)
    quarters = json.loads(figures["lst_quadrant_means_c"])
    assert max(quarters, key=quarters.get) == "south-east"
    assert quarters["south-east"] == pytest.approx(36.85)
    assert float(figures["lst_p90_c"]) - float(figures["lst_p10_c"]) == pytest.approx(15.0)
    path = tmp_path / "st.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=64, height=64, count=1, dtype="float32",
        crs="EPSG:32613", transform=from_origin(0, 640, 10, 10), nodata=float("nan"),
    ) as ds:  # fmt: skip
        ds.write(kelvin.astype("float32"), 1)
    assert thermal_properties(path, "u") == figures
    mostly_empty = np.full((10, 10), np.nan)
    mostly_empty[:4] = 300.0
    assert set(temperature_figures(mostly_empty)) == {"lst_valid_share"}
    s = thermal(0)
    s = dataclasses.replace(s, labels=Labels(properties={"lst_valid_share": "0.400"}))
    with pytest.raises(NotApplicable):
        make_pair(s, TEMPLATES["uhi_summary"], GenerationConfig())


# -- the audit catches wrong pairs -------------------------------------------------------------


def _one(template_id: str, i: int = 0, style: str | None = None) -> tuple[Sample, InstructionPair]:
    for k in range(200):
        s = crafted(template_id, i)
        candidate = make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=k))
        if style is None or candidate.pair.answer_style == style:
            return s, candidate.pair
    raise AssertionError(f"no {style} pair")


def test_methane_audit_catches_wrong_pairs() -> None:
    s, pair = _one("starcop_presence", 0)  # a plume
    rule = RULES["starcop_presence"]
    assert rule(edited(pair, s, "No")) == ["wrong_yes_no:methane plume:no"]
    assert rule(edited(pair, s, "There might be one.")) == ["no_yes_no"]
    assert "metadata_answer:emission_rate" in rule(edited(pair, s, "Yes, about 1534 kg/h."))
    assert rule(edited(pair, s, "Yes", image_roles=("image",))) == ["plume_not_shown:image"]
    bad_mask = dataclasses.replace(
        from_pair(pair, s),
        labels=Labels(properties={**s.labels.properties, "plume_pixels": "0"}),
    )
    assert rule(bad_mask) == ["plume_label_disagrees_with_mask:0"]
    clean, no_pair = _one("starcop_presence", 1)
    assert rule(edited(no_pair, clean, "Yes, this map shows a methane plume.")) == [
        "wrong_yes_no:methane plume:yes"
    ]

    s, pair = _one("starcop_extent", 6)  # 223 pixels of 3 m: 2,007 m², 5.44 % of 4,096
    rule = RULES["starcop_extent"]
    right = "The plume covers about 2,010 m², 5.4 % of the image."
    assert rule(edited(pair, s, right)) == []
    assert rule(edited(pair, s, right.replace("2,010", "3,000"))) == ["area_mismatch:3000!=2007"]
    assert rule(edited(pair, s, right.replace("5.4", "8.0"))) == ["share_mismatch:8!=5.44"]
    count = "The plume covers 300 pixels of the map's 4,096, 5.4 % of the image; about 2,010 m²."
    assert rule(edited(pair, s, count)) == ["count_mismatch:plume pixels:300!=223"]
    total = count.replace("300", "223").replace("4,096", "5,000")
    assert rule(edited(pair, s, total)) == ["count_mismatch:image pixels:5000!=4096"]
    assert rule(edited(pair, s, "5.4 % of the image.")) == ["no_area"]
    asked = "Pixels are 5 m across. How large is the plume?"
    assert rule(edited(pair, s, right, question=asked)) == ["pixel_size_mismatch:5!=3"]
    assert rule(edited(pair, s, right, question="How large is the plume?")) == [
        "pixel_size_not_given"
    ]
    clean = starcop(1, plume=False)
    assert "extent_without_plume" in rule(edited(pair, clean))


def test_earthquake_audit_catches_wrong_pairs() -> None:
    s, pair = _one("quakeset_occurred", 0)  # a positive pair
    rule = RULES["quakeset_occurred"]
    assert rule(edited(pair, s, "No")) == ["wrong_yes_no:earthquake:no"]
    assert rule(edited(pair, s, "An earthquake, yes.")) == ["no_yes_no"]
    assert rule(edited(pair, s, "Yes, a magnitude 6.4 earthquake.")) == [
        "metadata_answer:magnitude"
    ]
    assert rule(edited(pair, s, "Yes (M 6.4).")) == ["metadata_answer:magnitude"]
    assert rule(edited(pair, s, "Yes, seen by Sentinel-1.")) == ["metadata_answer:platform"]
    assert rule(edited(pair, s, "Yes", image_roles=("before", "post"))) == [
        "wrong_images:before+post!=pre+post"
    ]
    neg, neg_pair = _one("quakeset_occurred", 1)
    assert rule(edited(neg_pair, neg, "Yes, an earthquake struck this area.")) == [
        "wrong_yes_no:earthquake:yes"
    ]
    mislabelled = dataclasses.replace(
        from_pair(neg_pair, neg),
        labels=Labels(properties={**neg.labels.properties, "earthquake": "yes"}),
        answers=("Yes",),
    )
    assert rule(mislabelled) == ["label_disagrees_with_pair:yes:before/pre"]


def test_thermal_audit_catches_wrong_pairs() -> None:
    s, pair = _one("uhi_summary", 0)  # mean −5.0 °C, spread 2 °C (weak), north-west warmest
    rule = RULES["uhi_summary"]
    right = "Mean -5.0 °C; warmest in the north-west quarter; weak thermal contrast."
    assert rule(edited(pair, s, right)) == []
    assert rule(edited(pair, s, right.replace("north-west", "south-east"))) == [
        "wrong_quarter:south-east!=north-west"
    ]
    assert rule(edited(pair, s, right.replace("weak", "strong"))) == ["wrong_contrast:strong!=weak"]
    assert rule(edited(pair, s, right.replace("-5.0", "3.2"))) == ["mean_mismatch:3.2!=-5.00"]
    assert rule(edited(pair, s, right + " Band ST_B10.")) == ["metadata_answer:band"]
    assert rule(edited(pair, s, "Mean -5.0 °C, warmest at the bottom left, weak contrast.")) == [
        "wrong_quarter:south-west!=north-west"
    ]
    spread = right.replace("contrast.", "contrast of 6.0 °C.")
    assert rule(edited(pair, s, spread)) == ["spread_mismatch:6!=2.00"]
    asked = "Is there an urban heat island in this thermal image?"
    assert rule(edited(pair, s, right, question=asked)) == ["yes_no_question_without_yes_no"]
    assert rule(edited(pair, s, right, image_roles=("image",))) == ["not_the_thermal_image:image"]


def test_builders_refuse_what_the_labels_cannot_answer() -> None:
    with pytest.raises(NotApplicable):
        make_pair(starcop(0, plume=False), TEMPLATES["starcop_extent"], GenerationConfig())
    disagreeing = starcop(0, plume=True)
    disagreeing = dataclasses.replace(
        disagreeing,
        labels=Labels(properties={**disagreeing.labels.properties, "plume_pixels": "0"}),
    )
    for template_id in ("starcop_presence", "starcop_extent"):
        with pytest.raises(NotApplicable):
            make_pair(disagreeing, TEMPLATES[template_id], GenerationConfig())
    no_map = dataclasses.replace(starcop(0, plume=True), images=STARCOP_IMAGES[:1])
    with pytest.raises(NotApplicable):
        make_pair(no_map, TEMPLATES["starcop_presence"], GenerationConfig())
    tie = thermal(0)
    flat = dict.fromkeys(("north-west", "north-east", "south-west", "south-east"), 20.0)
    tie = dataclasses.replace(
        tie,
        labels=Labels(
            properties={**tie.labels.properties, "lst_quadrant_means_c": json.dumps(flat)}
        ),
    )
    with pytest.raises(NotApplicable):
        make_pair(tie, TEMPLATES["uhi_summary"], GenerationConfig())
    unlabelled = dataclasses.replace(quake(0, True), labels=Labels(properties={"pair": "pre/post"}))
    with pytest.raises(NotApplicable):
        make_pair(unlabelled, TEMPLATES["quakeset_occurred"], GenerationConfig())


def test_audit_items_from_corpus_rows_carry_what_the_rules_read() -> None:
    s, pair = _one("starcop_extent", 3)
    item = from_pair(pair, s)
    assert isinstance(item, AuditItem)
    assert item.labels.properties["plume_pixels"] == s.labels.properties["plume_pixels"]
    assert RULES["starcop_extent"](item) == []
