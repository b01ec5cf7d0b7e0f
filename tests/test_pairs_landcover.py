"""Land-cover pairs (BigEarthNet v1/v2, SatlasPretrain): true to the labels, balanced, worded well.

Samples are crafted here (labels and class shares as the adapters record them); the audit
rules of :mod:`eoinstruct.pipeline.audit.rules.landcover` re-derive every answer.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from eoinstruct.pipeline.audit.item import AuditItem, from_corpus_row, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.builders.landcover import (
    is_plural,
    prose_name,
    serial_list,
    urban_rural,
)
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43, CLC43_NAMES, to_ben19
from eoinstruct.sources.bigearthnet_v2.shares import reference_map_shares
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
BEN_TEMPLATES = (
    "ben_landcover_multilabel",
    "ben_landcover_presence",
    "ben_urban_rural",
    "ben_landcover_caption",
)
SATLAS_TEMPLATES = ("satlas_landcover", "satlas_landcover_share")
CONFIG = GenerationConfig(seed=11)
NAME = dict(CLC43)
CODES = (111, 112, 121, 122, 131, 141, 211, 231, 242, 243, 311, 312, 313, 324, 411, 512)
"""Level-3 codes the crafted reBEN patches are made of (122 has no 19-class equivalent)."""


def ben_sample(
    classes: tuple[str, ...] = (),
    shares: dict[str, float] | None = None,
    scheme: str = "ben19",
    sid: str = "p",
    modality: str = "multispectral",
) -> Sample:
    """A BigEarthNet sample; with ``shares`` (level-3 names) its ben19 classes follow them."""
    if shares is not None and not classes:
        classes = to_ben19(n for n in shares if n in CLC43_NAMES)
    properties = {"class_shares": json.dumps(shares)} if shares is not None else {}
    source = "bigearthnet_v2" if scheme == "ben19" else "bigearthnet_v1"
    return Sample(
        sample_id=f"{source}:{sid}",
        source=source,
        native_id=sid,
        modality=modality,
        sensor="Sentinel-2 MSI" if modality == "multispectral" else "Sentinel-1 C-SAR",
        bands=("B02", "B03", "B04"),
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="",
        acquired=(),
        images=(ImageRef("image", ("a",), ("B02", "B03", "B04"), "reflectance_1e4", 120, 120),),
        tags={},
        labels=Labels(scheme=scheme, classes=tuple(sorted(classes)), properties=properties),
        licence="x",
    )


def satlas_sample(shares: dict[str, float], sid: str = "t") -> Sample:
    """A Satlas tile whose land-cover shares are ``shares``."""
    images = tuple(
        ImageRef(r, ("a.png",), ("tci_r", "tci_g", "tci_b"), "uint8", 512, 512)
        for r in ("t0", "t1")
    )
    properties = {"static_image_role": "t1", "land_cover_shares": json.dumps(shares)}
    return Sample(
        sample_id=f"satlas:{sid}",
        source="satlas",
        native_id=sid,
        modality="rgb",
        sensor="Sentinel-2",
        bands=("tci_r", "tci_g", "tci_b"),
        gsd_m=9.6,
        crs="EPSG:3857",
        footprint_wkt="",
        acquired=(),
        images=images,
        tags={},
        labels=Labels(properties=properties),
        licence="x",
    )


def random_shares(rng: np.random.Generator) -> dict[str, float]:
    """Level-3 shares of 1-5 codes (Dirichlet), sometimes with unlabelled pixels."""
    codes = rng.choice(CODES, size=int(rng.integers(1, 6)), replace=False)
    weights = rng.dirichlet(np.full(len(codes), 0.6))
    shares = {NAME[int(c)]: round(float(w), 3) for c, w in zip(codes, weights, strict=True)}
    if rng.random() < 0.3:
        shares["unlabelled"] = 0.01
    return {k: v for k, v in shares.items() if v > 0}


def crafted_ben(n: int) -> list[Sample]:
    """reBEN-like samples with shares, without shares, and v1-like CLC-43 samples."""
    rng = np.random.default_rng(4)
    out: list[Sample] = []
    for i in range(n):
        shares = random_shares(rng)
        if not to_ben19(k for k in shares if k in CLC43_NAMES):
            continue
        kind = i % 3
        if kind == 0:
            out.append(
                ben_sample(shares=shares, sid=f"s{i}", modality=("multispectral", "sar")[i % 2])
            )
        elif kind == 1:
            out.append(ben_sample(to_ben19(k for k in shares if k in CLC43_NAMES), sid=f"b{i}"))
        else:
            names = tuple(k for k in shares if k in CLC43_NAMES)
            out.append(ben_sample(names, scheme="clc43", sid=f"c{i}"))
    return out


def crafted_satlas(n: int) -> list[Sample]:
    """Satlas tiles with random shares of 1-5 categories, some with unlabelled pixels."""
    rng = np.random.default_rng(5)
    categories = ("water", "developed", "tree", "shrub", "grass", "crop", "bare", "wetland")
    out = []
    for i in range(n):
        chosen = rng.choice(categories, size=int(rng.integers(1, 6)), replace=False)
        weights = rng.dirichlet(np.full(len(chosen), 0.8))
        shares = {str(c): round(float(w), 3) for c, w in zip(chosen, weights, strict=True)}
        if i % 4 == 0:
            shares["unlabelled"] = 0.02
        out.append(satlas_sample({k: v for k, v in shares.items() if v > 0}, sid=f"t{i}"))
    return out


def audit(candidate, sample: Sample) -> list[str]:
    return RULES[candidate.pair.template_id](from_pair(candidate.pair, sample))


def item_of(template_id: str, sample: Sample, config: GenerationConfig = CONFIG) -> AuditItem:
    candidate = make_pair(sample, TEMPLATES[template_id], config)
    return from_pair(candidate.pair, sample)


def with_answer(item: AuditItem, text: str) -> AuditItem:
    return dataclasses.replace(item, answers=(text,))


# -- templates ---------------------------------------------------------------------------------


def test_every_template_has_twelve_phrasings_and_two_styles():
    for tid in (*BEN_TEMPLATES, *SATLAS_TEMPLATES):
        for turn in TEMPLATES[tid].turns:
            assert len(turn.questions) >= 12, tid
            assert len(turn.styles) >= 2, tid
            assert all(len(s.frames) >= 2 or s.name == "terse" for s in turn.styles), tid
        assert tid in RULES
    assert TEMPLATES["ben_landcover_presence"].balanced
    assert TEMPLATES["ben_urban_rural"].balanced


# -- every generated pair is valid and passes its audit rule ---------------------------------


def test_generated_pairs_pass_validation_and_audit():
    styles: dict[str, set[str]] = {t: set() for t in (*BEN_TEMPLATES, *SATLAS_TEMPLATES)}
    made = Counter()
    for seed in range(4):
        for clc43 in (False, True):
            config = GenerationConfig(seed=seed, class_set="clc43" if clc43 else "ben19")
            for s in crafted_ben(60) + crafted_satlas(20):
                tids = BEN_TEMPLATES if s.source.startswith("bigearthnet") else SATLAS_TEMPLATES
                for tid in tids:
                    try:
                        candidate = make_pair(s, TEMPLATES[tid], config)
                    except NotApplicable:
                        continue
                    assert validate_pair(candidate, s, 100) == [], (tid, candidate.pair.turns)
                    assert audit(candidate, s) == [], (tid, candidate.pair.turns)
                    styles[tid].add(candidate.pair.answer_style)
                    made[tid] += 1
    for tid, seen in styles.items():
        assert seen == set(TEMPLATES[tid].style_names), tid
        assert made[tid] > 20, tid


def test_presence_is_balanced_and_negatives_come_from_the_same_class_set():
    answers = Counter()
    for s in crafted_ben(300):
        for clc43 in (False, True):
            config = dataclasses.replace(CONFIG, class_set="clc43" if clc43 else "ben19")
            try:
                pair = make_pair(s, TEMPLATES["ben_landcover_presence"], config).pair
            except NotApplicable:
                continue
            answer = pair.turns[1].value.split()[0].strip(".,")
            answers[answer] += 1
            question = pair.turns[0].value.split("\n", 1)[1].casefold()
            names = CLC43_NAMES if clc43 and s.labels.scheme == "clc43" else BEN19_NAMES
            assert any(prose_name(n).casefold() in question for n in names), question
    total = sum(answers.values())
    assert set(answers) == {"Yes", "No"} and total > 200
    assert max(answers.values()) / total <= 0.6


def test_presence_wording_agrees_with_the_class():
    s = ben_sample(("Pastures",))
    texts = []
    for seed in range(40):
        pair = make_pair(s, TEMPLATES["ben_landcover_presence"], GenerationConfig(seed=seed)).pair
        texts.append(pair.turns[0].value + " " + pair.turns[1].value)
    joined = " ".join(texts)
    assert "there is pastures" not in joined.lower() and "is pastures" not in joined.lower()
    assert "No, there is no " in joined or "No, this patch does not contain " in joined
    assert is_plural("pastures") and is_plural("industrial or commercial units")
    assert not is_plural("arable land") and not is_plural("broad-leaved forest")
    assert not is_plural(prose_name(BEN19_NAMES[6]))  # agricultural land with …
    assert is_plural("natural grassland and sparsely vegetated areas")
    assert serial_list(["a, b", "c", "d"]) == "a, b; c; and d"
    assert serial_list(["a", "b"]) == "a and b"


# -- urban or rural ------------------------------------------------------------------------------


def test_urban_rural_from_class_areas():
    urban = ben_sample(shares={"Continuous urban fabric": 0.4, "Airports": 0.2, "Pastures": 0.4})
    assert urban_rural(urban, CONFIG).answers == ("urban",)
    forest = ben_sample(
        shares={"Coniferous forest": 0.7, "Mixed forest": 0.24, "Discontinuous urban fabric": 0.06}
    )
    assert urban_rural(forest, CONFIG).answers == ("rural",)
    assert "about 6 %" in urban_rural(forest, CONFIG).values["reason"]
    for shares in (
        {"Discontinuous urban fabric": 0.3, "Pastures": 0.7},  # between the thresholds
        {"Mineral extraction sites": 0.6, "Pastures": 0.4},  # artificial, not urban
        {"Pastures": 0.92, "unlabelled": 0.08, "Discontinuous urban fabric": 0.03},
        {"Water bodies": 0.8, "Pastures": 0.2},  # mostly water
    ):
        with pytest.raises(NotApplicable):
            urban_rural(ben_sample(shares=shares), CONFIG)
    with pytest.raises(NotApplicable, match="no_class_shares"):  # BEN-19 omits roads, airports
        urban_rural(ben_sample(("Arable land",)), CONFIG)


def test_urban_rural_from_clc43_labels_only_where_certain():
    def answer(*classes: str) -> str:
        return urban_rural(ben_sample(classes, scheme="clc43"), CONFIG).values["answer"]

    assert answer("Continuous urban fabric", "Green urban areas") == "urban"
    assert answer("Pastures", "Coniferous forest") == "rural"
    for classes in (
        ("Discontinuous urban fabric", "Pastures"),
        ("Mineral extraction sites",),
        ("Water bodies",),
    ):
        with pytest.raises(NotApplicable):
            answer(*classes)


def test_sample_corpus_patches_exercise_urban_and_rural(tmp_path: Path):
    from eoinstruct.sources.bigearthnet_v2 import sample as corpus
    from eoinstruct.sources.bigearthnet_v2.adapter import BigEarthNetV2

    corpus.write(tmp_path, 0)
    adapter = BigEarthNetV2(tmp_path)
    forest, town = corpus.PATCHES[1], corpus.PATCHES[3]
    for unit in (f"s2/{forest.patch_id}", f"s1/{forest.s1_name}"):
        (s,) = adapter.read_unit(unit)
        assert "Urban fabric" in s.labels.classes  # one small urban spot
        shares = json.loads(s.labels.properties["class_shares"])
        forests = ("Broad-leaved forest", "Coniferous forest", "Mixed forest")
        assert sum(shares[k] for k in forests) >= 0.5
        values = urban_rural(s, CONFIG)
        assert values.answers == ("rural",)
        candidate = make_pair(s, TEMPLATES["ben_urban_rural"], CONFIG)
        assert audit(candidate, s) == []
    (s,) = adapter.read_unit(f"s2/{town.patch_id}")
    assert urban_rural(s, CONFIG).answers == ("urban",)
    (mixed,) = adapter.read_unit(f"s2/{corpus.PATCHES[0].patch_id}")
    with pytest.raises(NotApplicable):
        urban_rural(mixed, CONFIG)


# -- captions ------------------------------------------------------------------------------------


def test_captions_name_classes_naturally_with_shares_when_known():
    shares = {
        "Coniferous forest": 0.7,
        "Non-irrigated arable land": 0.2,
        "Land principally occupied by agriculture, with significant areas of natural "
        "vegetation": 0.1,
    }
    texts = {
        make_pair(ben_sample(shares=shares), TEMPLATES["ben_landcover_caption"], cfg)
        .pair.turns[1]
        .value
        for cfg in (GenerationConfig(seed=k) for k in range(30))
    }
    assert any(
        "mostly coniferous forest (about 70 %), with some arable land (about 20 %) and "
        "agricultural land with significant areas of natural vegetation (about 10 %)" in t
        for t in texts
    )
    assert any("coniferous forest, arable land and agricultural land" in t for t in texts)
    assert not any("Sentinel" in t or "Land principally" in t for t in texts)
    assert all(t[0].isupper() and t.endswith(".") for t in texts)


# -- the audit catches wrong pairs ---------------------------------------------------------------


def test_audit_catches_wrong_bigearthnet_answers():
    shares = {"Coniferous forest": 0.7, "Pastures": 0.26, "Discontinuous urban fabric": 0.04}
    s = ben_sample(shares=shares)
    presence = item_of("ben_landcover_presence", s)
    asked_yes = presence.answers[0].startswith("Yes")
    flipped = with_answer(presence, "No" if asked_yes else "Yes")
    assert any(p.startswith("wrong_yes_no:") for p in RULES["ben_landcover_presence"](flipped))
    invented = with_answer(presence, "Yes. The patch shows pastures and marine waters.")
    problems = RULES["ben_landcover_presence"](invented)
    assert "class_not_in_labels:Marine waters" in problems

    multi = item_of("ben_landcover_multilabel", s)
    rule = RULES["ben_landcover_multilabel"]
    assert rule(with_answer(multi, "Coniferous forest; Pastures")) == ["missing_class:Urban fabric"]
    wrong = with_answer(multi, "Coniferous forest; Pastures; Urban fabric; Inland waters")
    assert rule(wrong) == ["class_not_in_labels:Inland waters"]

    ur = item_of("ben_urban_rural", s)
    assert RULES["ben_urban_rural"](with_answer(ur, "urban")) == ["wrong_urban_rural:urban"]
    lie = with_answer(ur, "Rural: artificial surfaces cover only about 1 % of the patch.")
    assert RULES["ben_urban_rural"](lie) == ["share_mismatch:rural:1!=4"]

    cap = item_of("ben_landcover_caption", s)
    rule = RULES["ben_landcover_caption"]
    assert rule(with_answer(cap, "This patch shows pastures and vineyards.")) == [
        "class_not_in_labels:Vineyards"
    ]
    assert rule(with_answer(cap, "This patch is mostly pastures (about 26 %).")) == [
        "not_mostly:Pastures"
    ]
    assert rule(with_answer(cap, "This patch is mostly coniferous forest (about 50 %).")) == [
        "share_mismatch:Coniferous forest:50!=70"
    ]
    v1 = ben_sample(("Discontinuous urban fabric", "Pastures"), scheme="clc43")
    v1_item = dataclasses.replace(ur, labels=v1.labels)
    assert RULES["ben_urban_rural"](with_answer(v1_item, "rural")) == ["wrong_urban_rural:rural"]


def test_audit_reads_corpus_rows():
    s = ben_sample(shares={"Continuous urban fabric": 0.9, "Pastures": 0.1})
    pair = make_pair(s, TEMPLATES["ben_urban_rural"], CONFIG).pair
    labels = {"scheme": "ben19", "classes": list(s.labels.classes)}
    row = {
        "pair_id": pair.pair_id,
        "sample_id": s.sample_id,
        "source": s.source,
        "task": pair.task,
        "template_id": pair.template_id,
        "generator": pair.generator,
        "conversations": [{"from": t.speaker, "value": t.value} for t in pair.turns],
        "metadata": json.dumps({"labels": {**labels, "properties": dict(s.labels.properties)}}),
    }
    assert RULES["ben_urban_rural"](from_corpus_row(row)) == []
    row["metadata"] = json.dumps({"labels": labels})  # no shares: cannot check
    assert RULES["ben_urban_rural"](from_corpus_row(row)) == ["unverifiable:no_class_shares"]


def test_satlas_builders_answer_only_what_the_shares_settle():
    s = satlas_sample({"tree": 0.6, "water": 0.3, "developed": 0.1})
    lc = make_pair(s, TEMPLATES["satlas_landcover"], CONFIG)
    assert lc.expected.answers == ("tree cover", "water", "developed land")
    assert lc.pair.image_roles == ("t1",)
    assert make_pair(s, TEMPLATES["satlas_landcover_share"], CONFIG).expected.answers == (
        "tree cover",
    )
    near_line = satlas_sample({"tree": 0.6, "water": 0.36, "crop": 0.03, "unlabelled": 0.01})
    assert make_pair(near_line, TEMPLATES["satlas_landcover"], CONFIG).expected.answers == (
        "tree cover",
        "water",
    )
    unsure = satlas_sample({"tree": 0.6, "water": 0.3, "crop": 0.04, "unlabelled": 0.06})
    with pytest.raises(NotApplicable, match="share_uncertain"):
        make_pair(unsure, TEMPLATES["satlas_landcover"], CONFIG)
    close = satlas_sample({"tree": 0.46, "water": 0.44, "unlabelled": 0.1})
    with pytest.raises(NotApplicable, match="dominant_uncertain"):
        make_pair(close, TEMPLATES["satlas_landcover_share"], CONFIG)
    bare = dataclasses.replace(s, labels=Labels())
    with pytest.raises(NotApplicable, match="no_land_cover_shares"):
        make_pair(bare, TEMPLATES["satlas_landcover"], CONFIG)


def test_audit_catches_wrong_satlas_answers():
    s = satlas_sample({"tree": 0.6, "water": 0.3, "developed": 0.07, "crop": 0.03})
    lc = item_of("satlas_landcover", s)
    rule = RULES["satlas_landcover"]
    assert rule(with_answer(lc, "tree cover, water")) == ["missing_class:developed"]
    assert rule(with_answer(lc, "tree cover, water, developed land, cropland")) == [
        "class_below_share:crop"
    ]
    shares = with_answer(
        lc, "The tile is made up of tree cover (about 40 %), water and developed land."
    )
    assert rule(shares) == ["share_mismatch:tree:40!=60"]
    dom = item_of("satlas_landcover_share", s)
    rule = RULES["satlas_landcover_share"]
    assert rule(with_answer(dom, "water (30 %)")) == ["wrong_dominant:water!=tree"]
    assert rule(with_answer(dom, "tree cover (45 %)")) == ["share_mismatch:tree:45!=60"]
    assert rule(dataclasses.replace(dom, labels=Labels())) == ["unverifiable:no_land_cover_shares"]


# -- shares recorded at ingest -----------------------------------------------------------------


def test_reference_map_shares_count_unlabelled_pixels(tmp_path: Path):
    codes = np.full((10, 10), 312, dtype=np.uint16)
    codes[:2] = 112  # 20 %
    codes[2, :5] = 999  # unavailable
    codes[2, 5:] = 0  # nodata
    codes[3, :4] = 335  # glaciers, outside the 43 classes
    path = tmp_path / "map.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=10, height=10, count=1, dtype="uint16",
        crs="EPSG:32633", transform=from_origin(0, 100, 10, 10), nodata=0,
    ) as ds:  # fmt: skip
        ds.write(codes, 1)
    assert reference_map_shares(path) == {
        "Coniferous forest": 0.66,
        "Discontinuous urban fabric": 0.2,
        "Glaciers and perpetual snow": 0.04,
        "unlabelled": 0.1,
    }


def test_satlas_adapter_records_land_cover_shares(tmp_path: Path):
    from eoinstruct.sources.satlas import sample as corpus
    from eoinstruct.sources.satlas.adapter import SatlasPretrain
    from eoinstruct.sources.satlas.land_cover import land_cover_shares

    corpus.write(tmp_path, 0)
    adapter = SatlasPretrain(tmp_path)
    (s,) = adapter.read_unit("sentinel2/1300_2889")
    shares = json.loads(s.labels.properties["land_cover_shares"])
    assert shares == land_cover_shares(Path(s.labels.rasters["land_cover"]))
    assert abs(sum(shares.values()) - 1) < 0.005 and max(shares, key=shares.get) == "grass"
    candidate = make_pair(s, TEMPLATES["satlas_landcover_share"], CONFIG)
    assert "grassland" in candidate.pair.turns[1].value and audit(candidate, s) == []
