"""Scene pairs (SkyScript captions and focus object, land use) against their audit rules.

The focus object is named by OSM key and value ("a residential road"); land uses come from
the source's own tags first, OpenStreetMap enrichment only where it agrees; no pair asks or
states the platform or the date.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
import yaml

from eoinstruct.pipeline.audit.item import AuditItem, from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.enrich.osm.extract import load_xml_tagger
from eoinstruct.pipeline.enrich.osm.match import OsmConfig
from eoinstruct.pipeline.enrich.osm.tagger import enrich
from eoinstruct.pipeline.enrich.sample_extract import write_extract
from eoinstruct.pipeline.instructions.builders import BUILDERS, GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Labels, Sample
from eoinstruct.sources.skyscript import sample as skyscript_corpus
from eoinstruct.sources.skyscript.adapter import SkyScript
from eoinstruct.sources.skyscript.meta import surrounding_summary
from eoinstruct.templates import load_templates

TEMPLATES = {t.id: t for t in load_templates()}
SCENE_TEMPLATES = ("skyscript_caption", "skyscript_main_object", "osm_land_use")
SEEDS = range(40)
REPO = Path(__file__).resolve().parents[1]


def skyscript(
    centre: dict[str, str],
    around: Sequence[dict[str, str]] = (),
    caption: str = "",
    osm: str = "",
    name: str = "x",
) -> Sample:
    tags = {f"center:{k}": v for k, v in centre.items()}
    tags.update(surrounding_summary(list(around)))
    if osm:
        tags["osm:landuse"] = osm
    props = {"surrounding_tags": json.dumps([dict(a) for a in around])}
    if caption:
        props["title"] = caption.split(";")[0]
        props["title_multi_objects"] = caption
    return Sample(
        sample_id=f"skyscript:images2/{name}.jpg",
        source="skyscript",
        native_id=f"images2/{name}.jpg",
        modality="rgb",
        sensor="NAIP",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 0.01 0, 0.01 0.01, 0 0.01, 0 0))",
        acquired=("2019-08-03T16:12:00Z",),
        images=(ImageRef("image", ("a.jpg",), ("R", "G", "B"), "uint8", 224, 224),),
        tags=tags,
        labels=Labels(properties=props),
        licence="x",
        split="train",
    )


def stac(osm: str) -> Sample:
    return Sample(
        sample_id="stac:sentinel-2-l2a/S2A_13TDE_20231008_0_L2A",
        source="stac",
        native_id="sentinel-2-l2a/S2A_13TDE_20231008_0_L2A",
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        bands=("B04", "B03", "B02"),
        gsd_m=10.0,
        crs="EPSG:32613",
        footprint_wkt="POLYGON ((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0))",
        acquired=("2023-10-08T17:40:00Z",),
        images=(ImageRef("image", ("a.tif",), ("B04", "B03", "B02"), "reflectance_1e4", 64, 64),),
        tags={"platform": "Sentinel-2A", "osm:landuse": osm},
        labels=Labels(),
        licence="x",
        split="train",
    )


FARMLAND = skyscript(
    {"landuse": "farmland"},
    [{"building": "farm"}, {"landuse": "farmyard"}, {"highway": "unclassified"}],
    "a satellite image of farmland; a farm building and a farmyard nearby",
    osm="forest;industrial",
    name="a1_US_19",
)
ROAD = skyscript(
    {"highway": "residential", "surface": "asphalt"},
    [{"building": "house"}, {"building": "house"}, {"landuse": "forest"}],
    "a satellite image of an asphalt residential road; houses and a forest nearby",
    osm="forest;residential;retail",
    name="w2_FI_19",
)
CRAFTED = (
    FARMLAND,
    ROAD,
    skyscript({"man_made": "water_tower", "building": "yes"}, [{"building": "residential"}],
              "a satellite image of a water tower", osm="residential", name="n3_DE_20"),
    skyscript({"natural": "water", "water": "lake"}, [{"landuse": "forest"}, {"leisure": "park"}],
              "a satellite image of a lake; forests and a park nearby", name="a4_S2_21"),
    skyscript({"building": "house"}, [], "a satellite image of a house", name="w5_US_20"),
    skyscript({"leisure": "park"}, [{"landuse": "residential"}], "a satellite image of a park",
              osm="commercial", name="a6_DE_19"),
    stac("farmland;meadow;residential"),
)  # fmt: skip


def pairs(template_id: str, s: Sample, seeds: Iterable[int] = SEEDS) -> list[InstructionPair]:
    out = []
    for seed in seeds:
        try:
            candidate = make_pair(s, TEMPLATES[template_id], GenerationConfig(seed=seed))
        except NotApplicable:
            continue
        assert validate_pair(candidate, s, 100) == [], candidate.pair.turns
        out.append(candidate.pair)
    return out


def answers(template_id: str, s: Sample, style: str) -> set[str]:
    return {p.turns[-1].value for p in pairs(template_id, s) if p.answer_style == style}


def item(template_id: str, s: Sample, answer: str, question: str = "?") -> AuditItem:
    return AuditItem(
        pair_id="x",
        sample_id=s.sample_id,
        source=s.source,
        task="vqa",
        template_id=template_id,
        generator="template/2",
        answer_style="terse",
        image_roles=("image",),
        questions=(question,),
        answers=(answer,),
        labels=s.labels,
        tags=s.tags,
        image_sizes={"image": (s.images[0].width, s.images[0].height)},
        acquired=s.acquired,
    )


def test_scene_templates_have_twelve_phrasings_and_two_styles_and_no_platform_question() -> None:
    for template_id in SCENE_TEMPLATES:
        template = TEMPLATES[template_id]
        assert len(template.turns[0].questions) >= 12, template_id
        assert len(template.style_names) >= 2, template_id
        assert template_id in RULES
    assert "scene_platform" not in TEMPLATES and "scene_platform" not in BUILDERS


@pytest.mark.parametrize("template_id", SCENE_TEMPLATES)
def test_every_pair_passes_validation_and_audit(template_id: str) -> None:
    styles = set()
    for s in CRAFTED:
        if s.source not in TEMPLATES[template_id].sources:
            continue
        for pair in pairs(template_id, s):
            styles.add(pair.answer_style)
            assert RULES[template_id](from_pair(pair, s)) == [], pair.turns
    assert styles == set(TEMPLATES[template_id].style_names)


def test_caption_terse_is_the_source_caption_and_sentence_reads_this_image_shows() -> None:
    assert answers("skyscript_caption", ROAD, "terse") == {
        "A satellite image of an asphalt residential road; houses and a forest nearby."
    }
    sentences = answers("skyscript_caption", ROAD, "sentence")
    assert "This image shows an asphalt residential road, with houses and a forest nearby." in (
        sentences
    )
    assert all(a[0].isupper() and a.endswith("nearby.") for a in sentences)


def test_main_object_is_named_by_key_and_value_with_articles() -> None:
    def named(s: Sample) -> tuple[set[str], set[str]]:
        return answers("skyscript_main_object", s, "terse"), answers(
            "skyscript_main_object", s, "sentence"
        )

    terse, sentences = named(ROAD)
    assert terse == {"residential road"}
    assert sentences and all(a.endswith(" a residential road.") for a in sentences)
    terse, sentences = named(FARMLAND)
    assert terse == {"farmland"} and all(a.endswith(" farmland.") for a in sentences)
    assert not any(" a farmland" in a for a in sentences)
    assert named(CRAFTED[2])[0] == {"water tower"}  # man_made before building=yes
    assert named(CRAFTED[3])[0] == {"lake"}  # natural=water named by water=lake
    assert named(CRAFTED[4])[0] == {"house"}
    assert all(a.endswith(" a park.") for a in named(CRAFTED[5])[1])


def test_land_use_follows_the_source_tags_not_a_disagreeing_extract() -> None:
    said = {p.turns[-1].value for p in pairs("osm_land_use", FARMLAND)}
    assert said
    for text in said:
        assert "farmland" in text and "farmyard" in text
        assert "forest" not in text and "industrial" not in text
        assert "OpenStreetMap" not in text
    # OSM's residential agrees with the houses around the road; its retail does not
    for text in {p.turns[-1].value for p in pairs("osm_land_use", ROAD)}:
        assert "forest" in text and "residential" in text and "retail" not in text
    # without source tags, OpenStreetMap's land uses are stated, and cited
    cited = answers("osm_land_use", CRAFTED[-1], "explanatory")
    assert cited and cited <= {
        "According to OpenStreetMap, the land uses are farmland, meadow and residential.",
        "According to OpenStreetMap, this area's land uses are farmland, meadow and residential.",
        "According to OpenStreetMap, farmland, meadow and residential are the land uses of "
        "this area.",
    }
    for text in {p.turns[-1].value for s in CRAFTED[:-1] for p in pairs("osm_land_use", s)}:
        assert "OpenStreetMap" not in text


def test_rules_catch_wrong_pairs() -> None:
    rule = RULES["skyscript_main_object"]
    assert rule(item("skyscript_main_object", ROAD, "residential")) == [
        "tag_value_without_key:highway=residential"
    ]
    assert rule(item("skyscript_main_object", ROAD, "The image is centred on a forest.")) == [
        "main_object_not_in_tags:the image is centred on a forest"
    ]
    assert rule(item("skyscript_main_object", ROAD, "a residential road")) == []
    land = RULES["osm_land_use"]
    assert land(item("osm_land_use", FARMLAND, "forest and industrial.")) == [
        "land_use_contradicts_source:forest",
        "land_use_contradicts_source:industrial",
        "missing_centre_land_use:farmland",
    ]
    assert land(item("osm_land_use", FARMLAND, "OpenStreetMap maps farmland here.")) == [
        "osm_claim_not_in_osm:farmland"
    ]
    stac_scene = CRAFTED[-1]
    assert land(item("osm_land_use", stac_scene, "farmland and meadow")) == [
        "missing_land_use:residential"
    ]
    assert land(
        item("osm_land_use", stac_scene, "Sentinel-2A maps farmland, meadow and residential.")
    ) == ["states_metadata:platform:sentinel-2a"]
    caption = RULES["skyscript_caption"]
    assert caption(item("skyscript_caption", ROAD, "This image shows a gravel track.")) == [
        "caption_mismatch"
    ]
    assert (
        caption(
            item("skyscript_caption", ROAD, "A satellite image of an asphalt residential road.")
        )
        == []
    )
    assert caption(
        item("skyscript_caption", ROAD, "An asphalt residential road, taken on 2019-08-03.")
    ) == ["caption_mismatch", "states_metadata:date:2019-08-03"]


@pytest.fixture(scope="module")
def sample_skyscript(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """The sample SkyScript corpus, enriched from the sample OSM extract as the pipeline does."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    seed = params["sample_data"]["seed"]
    root = tmp_path_factory.mktemp("skyscript")
    skyscript_corpus.write(root / "skyscript", seed)
    adapter = SkyScript(root / "skyscript")
    samples = [s for spec in skyscript_corpus.GOOD_IMAGES for s in adapter.read_unit(spec.filepath)]
    write_extract(root / "extract.osm", [s.footprint_wkt for s in samples], seed)
    tagger = load_xml_tagger(root / "extract.osm", OsmConfig.from_mapping(params["osm"]))
    return [enrich(s, tagger) for s in samples]


def test_sample_corpus_has_a_tile_whose_extract_disagrees_and_its_pairs_pass(
    sample_skyscript: list[Sample],
) -> None:
    disagreeing = [
        s
        for s in sample_skyscript
        if "center:landuse" in s.tags
        and s.tags["center:landuse"] not in s.tags.get("osm:landuse", "").split(";")
    ]
    assert disagreeing, {s.sample_id: s.tags.get("osm:landuse") for s in sample_skyscript}
    for s in sample_skyscript:
        for template_id in SCENE_TEMPLATES:
            for pair in pairs(template_id, s, range(8)):
                assert RULES[template_id](from_pair(pair, s)) == [], pair.turns
    for s in disagreeing:
        for pair in pairs("osm_land_use", s, range(8)):
            assert s.tags["center:landuse"] in pair.turns[-1].value
