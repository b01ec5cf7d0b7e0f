"""Every task family's answers, checked against the labels of crafted samples."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from eoinstruct.pipeline.audit.item import from_pair
from eoinstruct.pipeline.audit.rules import RULES
from eoinstruct.pipeline.instructions.builders import BUILDERS, GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import make_pair, pair_modality
from eoinstruct.pipeline.instructions.validate import parse_boxes, validate_pair
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.templates import load_templates

CONFIG = GenerationConfig(seed=3, box_scale=100, max_boxes=40, class_set="ben19")
TEMPLATES = {t.id: t for t in load_templates()}


def sample(source: str, **overrides) -> Sample:
    fields = dict(
        sample_id=f"{source}:x",
        source=source,
        native_id="x",
        modality="rgb",
        sensor="sensor",
        bands=("R", "G", "B"),
        gsd_m=3.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2020-01-01T00:00:00Z",),
        images=(ImageRef("image", ("a.png",), ("R", "G", "B"), "uint8", 200, 100),),
        tags={},
        labels=Labels(),
        licence="x",
        split="train",
    )
    fields.update(overrides)
    return Sample(**fields)


def pair_of(template_id: str, s: Sample):
    candidate = make_pair(s, TEMPLATES[template_id], CONFIG)
    assert validate_pair(candidate, s, CONFIG.box_scale) == []
    return candidate.pair


def answer(template_id: str, s: Sample) -> str:
    return pair_of(template_id, s).turns[-1].value


def write_tif(path: Path, data: np.ndarray, dtype: str = "float32") -> str:
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=dtype,
        crs="EPSG:32613",
        transform=from_origin(0, 640, 10, 10),
    ) as ds:
        ds.write(data.astype(dtype), 1)
    return str(path)


def test_every_builder_has_a_template_and_every_template_a_builder():
    used = {t.builder for t in TEMPLATES.values()}
    assert used == set(BUILDERS)


def test_methane_presence_and_extent_from_labels():
    mag1c = ImageRef("mag1c", ("m.tif",), ("mag1c",), "float", 20, 20)
    figures = {"plume_pixels": "20", "image_pixels": "400", "pixel_size_m": "3"}
    plume = sample(
        "starcop",
        modality="hyperspectral",
        images=(mag1c,),
        labels=Labels(
            properties={"has_plume": "true", "plume_area_m2": "180.00", **figures},
        ),
    )
    presence = pair_of("starcop_presence", plume)
    assert presence.image_roles == ("mag1c",)  # the plume shows in the mag1c map only
    assert presence.turns[-1].value.startswith("Yes")
    extent = answer("starcop_extent", plume)
    assert "180 m²" in extent  # 20 px × 3 m × 3 m
    clean = sample(
        "starcop",
        images=(mag1c,),
        labels=Labels(properties={"has_plume": "false", "plume_pixels": "0"}),
    )
    assert answer("starcop_presence", clean).startswith("No")
    with pytest.raises(NotApplicable):
        make_pair(clean, TEMPLATES["starcop_extent"], CONFIG)


def test_earthquake_pairs_show_the_right_images():
    images = tuple(
        ImageRef(r, (f"q.h5::/e/p/{r}",), ("VV", "VH"), "sar_linear", 8, 8)
        for r in ("pre", "post", "before")
    )
    positive = sample(
        "quakeset",
        modality="sar",
        images=images,
        tags={"magnitude_class": "strong"},
        labels=Labels(properties={"earthquake": "yes", "magnitude": "6.4", "pair": "pre/post"}),
    )
    negative = dataclasses.replace(
        positive,
        tags={},
        labels=Labels(properties={"earthquake": "no", "magnitude": "0", "pair": "before/pre"}),
    )
    yes = pair_of("quakeset_occurred", positive)
    no = pair_of("quakeset_occurred", negative)
    assert yes.turns[-1].value.startswith("Yes") and yes.image_roles == ("pre", "post")
    assert no.turns[-1].value.startswith("No") and no.image_roles == ("before", "pre")
    assert "6.4" not in yes.turns[-1].value  # the magnitude is not in the pixels


def satlas_sample() -> Sample:
    objects = (
        ObjectLabel("wind_turbine", "", "t1", (10, 10, 14, 14)),
        ObjectLabel("wind_turbine", "", "t1", (100, 50, 104, 54)),
        ObjectLabel("solar_farm", "", "t1", (20, 60, 80, 90)),
    )
    images = (
        ImageRef("t0", ("a.png",), ("tci_r", "tci_g", "tci_b"), "uint8", 200, 100),
        ImageRef("t1", ("b.png",), ("tci_r", "tci_g", "tci_b"), "uint8", 200, 100),
    )
    return sample("satlas", images=images, labels=Labels(objects=objects))


def test_satlas_refer_identify_ground_and_count():
    s = satlas_sample()
    refer = pair_of("satlas_refer", s)
    assert refer.image_roles == ("t1",)
    boxes = parse_boxes(refer.turns[-1].value)
    if "wind turbines" in refer.turns[0].value:
        assert boxes == [(5, 10, 7, 14, 0), (50, 50, 52, 54, 0)]
    else:
        assert boxes == [(10, 60, 40, 90, 0)]
    ident = pair_of("satlas_identify", s).turns[-1].value
    assert "wind turbine" in ident or "solar farm" in ident
    ground = pair_of("satlas_grounding", s).turns[-1].value
    assert "solar_farm" not in ground and "solar farm</ref>" in ground
    assert "wind turbines</ref>" in ground and len(parse_boxes(ground)) == 3
    count = pair_of("satlas_count", s)
    q, a = count.turns[0].value, count.turns[-1].value
    assert ("2" in a or "two" in a) if "wind turbines" in q else ("1" in a or "one" in a.lower())


def test_satlas_land_cover_from_the_raster_label(tmp_path):
    from PIL import Image

    from eoinstruct.sources.satlas.land_cover import land_cover_shares, shares_json

    values = np.zeros((10, 10), dtype=np.uint8)
    values[:, :6] = 3  # tree 60 %
    values[:, 6:9] = 1  # water 30 %
    values[:, 9] = 2  # developed 10 %
    values[0, 0] = 0  # unlabelled: tree 59 %
    Image.fromarray(values, mode="L").save(tmp_path / "land_cover.png")
    shares = land_cover_shares(tmp_path / "land_cover.png")
    assert shares == {"developed": 0.1, "tree": 0.59, "unlabelled": 0.01, "water": 0.3}
    s = dataclasses.replace(
        satlas_sample(),
        labels=Labels(
            properties={"static_image_role": "t1", "land_cover_shares": shares_json(shares)},
        ),
    )
    lc = pair_of("satlas_landcover", s)
    text = lc.turns[-1].value
    assert lc.image_roles == ("t1",)
    assert text.index("tree cover") < text.index("water") < text.index("developed land")
    share = answer("satlas_landcover_share", s)
    assert "tree cover" in share and "59 %" in share


def test_skyscript_caption_and_main_object():
    s = sample(
        "skyscript",
        tags={"center:landuse": "farmland", "center:name": "x"},
        labels=Labels(properties={"title": "a satellite image of farmland"}),
    )
    assert answer("skyscript_caption", s) in (
        "A satellite image of farmland.",
        "This image shows farmland.",
        "The image shows farmland.",
        "This scene shows farmland.",
        "In this image you can see farmland.",
    )
    assert answer("skyscript_main_object", s).removesuffix(".").endswith("farmland")


def test_urban_heat_island_from_the_thermal_figures():
    quarters = {"north-west": 21.85, "north-east": 21.85, "south-west": 21.85, "south-east": 36.85}
    figures = {
        "lst_mean_c": "25.60",
        "lst_p10_c": "21.85",
        "lst_p90_c": "36.85",
        "lst_quadrant_means_c": json.dumps(quarters),
    }
    images = (
        ImageRef("image", ("sr.tif",), ("SR_B4",), "reflectance", 64, 64),
        ImageRef("thermal", ("st.tif",), ("ST_B10",), "kelvin", 64, 64),
    )
    s = sample(
        "stac",
        modality="multispectral",
        images=images,
        tags={"platform": "Landsat 8"},
        labels=Labels(properties=figures),
    )
    p = pair_of("uhi_summary", s)
    text = p.turns[-1].value
    assert p.image_roles == ("thermal",) and pair_modality(s, p.image_roles) == "thermal"
    assert ("south-east" in text or "bottom right" in text) and "strong" in text
    assert "25.6" in text and "ST_B10" not in text  # mean of 21.85 °C (3/4) and 36.85 °C (1/4)


def test_landcover_vqa_and_caption():
    s = sample(
        "bigearthnet_v1",
        modality="multispectral",
        labels=Labels(scheme="clc43", classes=("Discontinuous urban fabric", "Pastures")),
    )
    with pytest.raises(NotApplicable):  # labels alone cannot tell how urban a mix is
        make_pair(s, TEMPLATES["ben_urban_rural"], CONFIG)
    urban = dataclasses.replace(
        s, labels=Labels(scheme="clc43", classes=("Discontinuous urban fabric",))
    )
    assert "urban" in answer("ben_urban_rural", urban).lower()
    rural = dataclasses.replace(s, labels=Labels(scheme="clc43", classes=("Pastures",)))
    assert "rural" in answer("ben_urban_rural", rural).lower()
    presence = pair_of("ben_landcover_presence", s)
    asked = presence.turns[0].value
    present = "urban fabric" in asked or "pastures" in asked
    assert presence.turns[-1].value.startswith("Yes" if present else "No")
    assert "pastures and urban fabric" in answer("ben_landcover_caption", s)


def test_xbd_affected_identify_change_description_and_dialogue():
    objects = (
        ObjectLabel("building", "destroyed", "post", (0, 0, 20, 20)),
        ObjectLabel("building", "no-damage", "post", (100, 50, 120, 70)),
    )
    images = (
        ImageRef("pre", ("a.png",), ("R", "G", "B"), "uint8", 200, 100),
        ImageRef("post", ("b.png",), ("R", "G", "B"), "uint8", 200, 100),
    )
    s = sample(
        "xbd",
        images=images,
        labels=Labels(objects=objects, properties={"disaster_type": "fire"}),
    )
    for template_id in [t for t in TEMPLATES if t.startswith("xbd_")]:
        pair = pair_of(template_id, s)
        assert RULES[template_id](from_pair(pair, s)) == [], template_id
    assert answer("xbd_affected", s).split(",")[0].rstrip(".:") in ("Yes", "No")
    ident = pair_of("xbd_identify_damage", s)
    box = parse_boxes(ident.turns[0].value)[0]
    level = "destroyed" if box[0] == 0 else "no damage"
    assert level in ident.turns[-1].value.lower()
    assert (
        "one of the two buildings was damaged: it was destroyed" in answer("xbd_change", s).lower()
    )
    assert "wildfire" in answer("xbd_damage_description", s)
    dialogue = pair_of("xbd_dialogue", s)
    assert [t.speaker for t in dialogue.turns] == ["human", "gpt"] * 3
    assert "wildfire" in dialogue.turns[1].value.lower()
    assert parse_boxes(dialogue.turns[-1].value) == [(0, 0, 10, 20, 0)]
    assert dialogue.turns[0].value.count("<image>") == 2
    assert all("<image>" not in t.value for t in dialogue.turns[1:])
    undamaged = dataclasses.replace(
        s, labels=Labels(objects=objects[1:], properties={"disaster_type": "fire"})
    )
    assert "the only building was not damaged" in answer("xbd_change", undamaged).lower()
    with pytest.raises(NotApplicable, match="no_visible_damage"):
        make_pair(undamaged, TEMPLATES["xbd_dialogue"], CONFIG)
