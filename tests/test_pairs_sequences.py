"""Change pairs and image sequences: STAC time series, Satlas sequences, QuakeSet before/pre/post.

Every generated pair must pass the validator and the family's independent audit rule and show
its images oldest first with a ``temp`` sensor tag; crafted wrong pairs must be caught; closed
answers stay balanced; the STAC adapter groups one tile's items into a series sample with
NDVI figures computed at ingest, and the sample corpora hold a three-date Satlas sequence.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import Candidate, make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, Sample
from eoinstruct.sources.satlas import sample as satlas_corpus
from eoinstruct.sources.satlas.adapter import SatlasPretrain
from eoinstruct.sources.stac import sample as stac_corpus
from eoinstruct.sources.stac.adapter import STACScenes
from eoinstruct.sources.stac.series import ndvi_figures, parse_series_unit, series_units
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
OURS = (
    "stac_vegetation_change",
    "stac_greenest_image",
    "satlas_sequence_landcover",
    "quakeset_sequence_interval",
)
BALANCED = ("stac_vegetation_change", "quakeset_sequence_interval")
N = 60


def _sample(source: str, sid: str, images: tuple[ImageRef, ...], props: dict[str, str]) -> Sample:
    return Sample(
        sample_id=f"{source}:{sid}",
        source=source,
        native_id=sid,
        modality="sar" if source == "quakeset" else "multispectral",
        sensor="Sentinel-2 MSI" if source != "quakeset" else "Sentinel-1",
        bands=(),
        gsd_m=10.0,
        crs="EPSG:32613",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=tuple(f"2023-0{k + 1}-01T00:00:00Z" for k in range(len(images))),
        images=images,
        tags={},
        labels=Labels(properties=props),
        licence="x",
        split="train",
    )


def _dates(n: int, extra: str = "") -> tuple[ImageRef, ...]:
    refs = []
    for k in range(n):
        refs.append(ImageRef(f"t{k}", (f"t{k}.tif",), ("B04", "B08"), "reflectance", 96, 96))
        if extra:
            refs.append(ImageRef(f"t{k}{extra}", (f"b{k}.png",), ("b08",), "uint8", 48, 48))
    return tuple(refs)


def stac_series(i: int, means: tuple[float, ...]) -> Sample:
    roles = [f"t{k}" for k in range(len(means))]
    props = {"series_roles": "/".join(roles), "stac_collection": "sentinel-2-l2a"}
    props |= {f"ndvi_mean:{r}": f"{m:.3f}" for r, m in zip(roles, means, strict=True)}
    props |= {f"ndvi_valid_share:{r}": "1.000" for r in roles}
    return _sample("stac", f"series/s2/T{i}", _dates(len(means)), props)


def satlas_series(i: int, n: int = 3) -> Sample:
    shares = {"grass": 0.44 + 0.01 * (i % 5), "tree": 0.28, "crop": 0.15, "unlabelled": 0.0}
    shares["bare"] = round(1 - sum(shares.values()), 3)
    text = "{" + ",".join(f'"{k}":{v:.3f}' for k, v in sorted(shares.items())) + "}"
    props = {"land_cover_shares": text, "static_image_role": f"t{n - 1}"}
    return _sample("satlas", f"sentinel2/{i}_1", _dates(n, "_bands"), props)


def quake_sequence(i: int) -> Sample:
    images = tuple(
        ImageRef(r, (f"q.h5::/e/p{i}/{r}",), ("VV", "VH"), "sar_linear", 100, 100)
        for r in ("pre", "post", "before")
    )
    props = {"earthquake": "yes", "pair": "pre/post", "magnitude": "6.4"}
    return _sample("quakeset", f"e/p{i}", images, props)


_CHANGES = (0.25, -0.18, 0.04, -0.07, 0.12, -0.3)


def crafted(template_id: str, i: int) -> Sample:
    """The i-th crafted sample for a template, varied over answers and sequence lengths."""
    if template_id == "stac_vegetation_change":
        n = 2 + i % 4
        start = 0.2 + 0.01 * i % 0.3
        middle = [0.3] * (n - 2)
        return stac_series(i, (start, *middle, start + _CHANGES[i % len(_CHANGES)]))
    if template_id == "stac_greenest_image":
        n = 2 + i % 4
        means = [0.2 + 0.02 * k for k in range(n)]
        means[i % n] = 0.7
        return stac_series(i, tuple(means))
    if template_id == "satlas_sequence_landcover":
        return satlas_series(i, 2 + i % 3)
    return quake_sequence(i)


def generated(template_id: str, n: int = N) -> list[tuple[Sample, Candidate]]:
    out = []
    for i in range(n):
        s = crafted(template_id, i)
        out.append((s, make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=i))))
    return out


def audit(pair: InstructionPair, s: Sample) -> list[str]:
    return RULES[pair.template_id](from_pair(pair, s))


def edited(
    pair: InstructionPair, s: Sample, answer: str | None = None, **changes: Any
) -> AuditItem:
    item = from_pair(pair, s)
    if answer is not None:
        changes["answers"] = (answer,)
    return dataclasses.replace(item, **changes)


def _one(template_id: str, i: int = 0, style: str | None = None) -> tuple[Sample, InstructionPair]:
    for k in range(200):
        s = crafted(template_id, i)
        candidate = make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=k))
        if style is None or candidate.pair.answer_style == style:
            return s, candidate.pair
    raise AssertionError(f"no {style} pair")


# -- templates and every generated pair ---------------------------------------------------------


@pytest.mark.parametrize("template_id", OURS)
def test_templates_have_twelve_questions_and_two_styles(template_id: str) -> None:
    template = TEMPLATES[template_id]
    for turn in template.turns:
        assert len(turn.questions) >= 12
        assert len(turn.styles) >= 2
    assert template.balanced == (template_id in BALANCED)
    assert template.task_tag == "[changedet]"


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
        assert "{" not in answer and "  " not in answer
        if pair.answer_style != "terse" or template_id != "satlas_sequence_landcover":
            assert answer[0].isupper()  # terse land cover is the class name, as elsewhere
        if pair.answer_style != "terse":
            assert answer.endswith(".")
        assert not re.search(r"\b20\d\d\b|Sentinel|Landsat", answer)
    assert set(styles) == set(TEMPLATES[template_id].style_names)
    assert len(questions) >= 10


@pytest.mark.parametrize("template_id", OURS)
def test_pairs_show_every_date_oldest_first_with_a_temp_tag(template_id: str) -> None:
    for s, candidate in generated(template_id, 12):
        pair = candidate.pair
        roles = pair.image_roles
        if template_id == "quakeset_sequence_interval":
            assert roles == ("before", "pre", "post")
        else:
            assert roles == tuple(f"t{k}" for k in range(len(roles)))
            assert len(roles) == sum(1 for im in s.images if re.fullmatch(r"t\d", im.role))
        head = pair.turns[0].value.split("\n")[0]
        assert head.count("<image>") == len(roles) >= 2
        assert "_temp_" in head and head.startswith("[changedet] ")


def test_closed_answers_are_balanced_over_crafted_samples() -> None:
    verdicts = Counter(c.expected.answers[0] for _, c in generated("stac_vegetation_change"))
    assert set(verdicts) == {"Greener", "Less green", "No clear change"}
    assert max(verdicts.values()) <= 0.5 * N
    yes_no = Counter(c.expected.answers[0] for _, c in generated("quakeset_sequence_interval"))
    assert set(yes_no) == {"Yes", "No"} and max(yes_no.values()) <= 0.65 * N


def test_interval_answers_follow_the_interval_asked() -> None:
    for _, candidate in generated("quakeset_sequence_interval"):
        question, answer = candidate.pair.turns[0].value, candidate.pair.turns[1].value
        late = "second and the third" in question
        assert ("first and the second" in question) != late
        assert answer.startswith("Yes" if late else "No")


# -- the audit catches wrong pairs --------------------------------------------------------------


def test_vegetation_audit_catches_wrong_pairs() -> None:
    s, pair = _one("stac_vegetation_change", 1)  # 3 dates, NDVI 0.21 → 0.03: less green
    rule = RULES["stac_vegetation_change"]
    assert rule(edited(pair, s, "Less green")) == []
    assert rule(edited(pair, s, "Greener")) == ["wrong_verdict:greener!=less green"]
    assert rule(edited(pair, s, "No clear change.")) == [
        "wrong_verdict:no clear change!=less green"
    ]
    assert rule(edited(pair, s, "It changed.")) == ["no_verdict"]
    assert rule(edited(pair, s, "Less green: NDVI fell from 0.21 to 0.05.")) == [
        "unknown_figure:0.05"
    ]
    assert rule(edited(pair, s, "Less green than in July.")) == ["metadata_answer:date"]
    assert rule(edited(pair, s, "Less green", image_roles=("t1", "t0"))) == [
        "wrong_images:t1+t0!=t0+t1+t2"
    ]
    flat, flat_pair = _one("stac_vegetation_change", 2)  # change 0.04: no clear change
    assert rule(edited(flat_pair, flat, "Greener")) == ["wrong_verdict:greener!=no clear change"]


def test_greenest_audit_catches_wrong_pairs() -> None:
    s, pair = _one("stac_greenest_image", 2)  # 4 dates, the third at NDVI 0.70
    rule = RULES["stac_greenest_image"]
    assert rule(edited(pair, s, "The third image.")) == []
    assert rule(edited(pair, s, "The first image.")) == ["wrong_image:first!=third"]
    assert rule(edited(pair, s, "The third image, NDVI 0.9.")) == ["unknown_figure:0.9"]
    assert rule(edited(pair, s, "The greenest one.")) == ["no_position"]


def test_satlas_sequence_audit_catches_wrong_pairs() -> None:
    s, pair = _one("satlas_sequence_landcover", 1)  # 3 dates, grassland 45 %
    rule = RULES["satlas_sequence_landcover"]
    assert rule(edited(pair, s, "grassland (45 %)")) == []
    assert rule(edited(pair, s, "tree cover (28 %)")) == ["wrong_dominant:tree!=grass"]
    assert rule(edited(pair, s, "grassland (45 %)", image_roles=("t0", "t2"))) == [
        "not_a_date_sequence:t0+t2",
        "dates_left_out:t1",
    ]
    assert rule(edited(pair, s, "grassland (45 %)", image_roles=("t0", "t1"))) == [
        "dates_left_out:t2",
        "labels_not_on_last_image:t2",
    ]


def test_interval_audit_catches_wrong_pairs() -> None:
    rule = RULES["quakeset_sequence_interval"]
    for i in range(6):
        s, pair = _one("quakeset_sequence_interval", i)
        truth = pair.turns[1].value.startswith("Yes")
        flipped = "No." if truth else "Yes."
        assert rule(edited(pair, s, flipped)) == [f"wrong_yes_no:interval:{flipped[:-1].lower()}"]
        assert rule(edited(pair, s, "Maybe.")) == ["no_yes_no"]
        assert "wrong_images:pre+post" in rule(edited(pair, s, image_roles=("pre", "post")))
        negative = dataclasses.replace(
            from_pair(pair, s), labels=Labels(properties={"earthquake": "no"})
        )
        assert rule(negative) == ["not_an_earthquake_sequence"]


def test_builders_refuse_what_the_labels_cannot_answer() -> None:
    template = TEMPLATES["stac_greenest_image"]
    with pytest.raises(NotApplicable, match="no_clear_lead"):
        make_pair(stac_series(0, (0.40, 0.45)), template, GenerationConfig())
    no_ndvi = stac_series(0, (0.4, 0.5))
    no_ndvi.labels.properties.pop("ndvi_mean:t1")
    with pytest.raises(NotApplicable, match="no_ndvi"):
        make_pair(no_ndvi, TEMPLATES["stac_vegetation_change"], GenerationConfig())
    with pytest.raises(NotApplicable, match="fewer_than_two_dates"):
        make_pair(satlas_series(0, 1), TEMPLATES["satlas_sequence_landcover"], GenerationConfig())
    pair_only = dataclasses.replace(quake_sequence(0), images=quake_sequence(0).images[:2])
    with pytest.raises(NotApplicable, match="no_three_image_sequence"):
        make_pair(pair_only, TEMPLATES["quakeset_sequence_interval"], GenerationConfig())


# -- ingest: series units, NDVI figures, the sample corpora -------------------------------------


def test_ndvi_figures() -> None:
    red = np.full((4, 4), 0.1)
    nir = np.full((4, 4), 0.3)
    nir[0, 0] = np.nan
    figures = ndvi_figures(red, nir)
    assert figures == {"ndvi_valid_share": "0.938", "ndvi_mean": "0.500"}
    nir[:3] = np.nan
    assert ndvi_figures(red, nir) == {"ndvi_valid_share": "0.250"}


def _item(item_id: str, when: str, cloud: float, tile: str = "13TDE") -> dict[str, Any]:
    return {
        "id": item_id,
        "collection": "sentinel-2-l2a",
        "properties": {"datetime": when, "eo:cloud_cover": cloud, "s2:mgrs_tile": tile},
        "assets": {},
    }


def test_series_units_group_one_tile_by_date() -> None:
    items = {
        "sentinel-2-l2a/a": _item("a", "2023-07-24T17:00:00Z", 3.0),
        "sentinel-2-l2a/b": _item("b", "2023-07-24T17:00:05Z", 1.0),  # same date as a
        "sentinel-2-l2a/c": _item("c", "2023-08-24T17:00:00Z", 55.0),  # too cloudy
        "sentinel-2-l2a/d": _item("d", "2023-10-08T17:00:00Z", 0.0),
        "sentinel-2-l2a/e": _item("e", "2023-10-08T17:00:00Z", 0.0, tile="13TDF"),
    }
    units = series_units(items, sorted(items))
    assert units == ["series/sentinel-2-l2a/T13TDE/a+d"]
    assert parse_series_unit(units[0]) == ("sentinel-2-l2a", "T13TDE", ["a", "d"])
    assert series_units(items, sorted(items), max_cloud=60.0) == [
        "series/sentinel-2-l2a/T13TDE/a+c+d"
    ]
    with pytest.raises(ValueError, match="bad series unit"):
        parse_series_unit("series/sentinel-2-l2a/T13TDE/a")


@pytest.fixture(scope="module")
def stac_series_samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Sample]:
    root = tmp_path_factory.mktemp("stac")
    stac_corpus.write(root / "stac", 0)
    adapter = STACScenes(
        root / "stac",
        {
            "chips_dir": str(root / "chips"),
            "chip_center": [-105.1019, 40.1672],
            "chip_size": {"sentinel-2-l2a": 96, "landsat-c2-l2": 64, "sentinel-1-grd": 96},
            "time_series": True,
        },
    )
    units = [u for u in adapter.list_units() if u.startswith("series/")]
    return {s.native_id.split("/")[1]: s for u in units for s in adapter.read_unit(u)}


def test_stac_sample_series_are_change_pairs_with_ndvi(
    stac_series_samples: dict[str, Sample],
) -> None:
    assert set(stac_series_samples) == {"sentinel-2-l2a", "landsat-c2-l2"}
    for s in stac_series_samples.values():
        props = s.labels.properties
        assert [im.role for im in s.images] == ["t0", "t1"]
        assert list(s.acquired) == sorted(s.acquired) and len(set(s.acquired)) == 2
        assert props["series_roles"] == "t0/t1"
        # the broken member items (corrupt B04, missing red) are left out
        assert "20230729" not in props["series_items"] and "20230720" not in props["series_items"]
        # July is greener than October in the sample landscape
        assert float(props["ndvi_mean:t0"]) > float(props["ndvi_mean:t1"])
        assert s.sample_id.startswith("stac:series/")
    s2 = stac_series_samples["sentinel-2-l2a"]
    assert s2.labels.properties["series_items"] == (
        "S2B_13TDE_20230724_0_L2A/S2A_13TDE_20231008_0_L2A"
    )
    assert s2.tags["platform"] == "Sentinel-2A+Sentinel-2B" and s2.tags["mgrs_tile"] == "T13TDE"
    assert s2.tags["cloud_cover"] == "clear"  # kept: both dates are clear (tags all dates share)
    landsat = stac_series_samples["landsat-c2-l2"]
    assert landsat.labels.properties["eo:cloud_cover:t1"] == "0.06"
    assert landsat.tags["wrs_path_row"] == "033/032"
    for s in stac_series_samples.values():
        candidate = make_pair(s, TEMPLATES["stac_vegetation_change"], GenerationConfig(seed=7))
        assert audit(candidate.pair, s) == []
        assert "_temp_" in candidate.pair.turns[0].value
        with_osm = dataclasses.replace(s, tags={**s.tags, "osm:landuse": "farmland"})
        with pytest.raises(NotApplicable, match="time_series"):  # asked of the single items
            make_pair(with_osm, TEMPLATES["osm_land_use"], GenerationConfig(seed=7))


def test_satlas_sample_has_a_three_date_sequence(tmp_path: Path) -> None:
    satlas_corpus.write(tmp_path, 0)
    [s] = SatlasPretrain(tmp_path).read_unit("sentinel2/1300_2889")
    assert [im.role for im in s.images if "_" not in im.role] == ["t0", "t1", "t2"]
    assert list(s.acquired) == sorted(s.acquired)
    candidate = make_pair(s, TEMPLATES["satlas_sequence_landcover"], GenerationConfig(seed=7))
    assert candidate.pair.image_roles == ("t0", "t1", "t2")
    assert candidate.pair.turns[0].value.startswith("[changedet] [s2_ms_temp_")
    assert audit(candidate.pair, s) == []
