"""The captioner's prompts: visible facts only, constant instruction first, mixes, sized schema."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from caption_helpers import PINNED, SKYSCRIPT_PROPERTIES, sample, satlas_sample

from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.facts import POLICY_FILE, load_policy, scene_facts
from eoinstruct.pipeline.caption.prompts import (
    PromptError,
    build_request,
    caption_image,
    load_prompt_book,
    load_prompts,
    template_budget,
)
from eoinstruct.pipeline.caption.schema import REPEAT_CHUNK, skeleton, text_pattern
from eoinstruct.pipeline.config import ConfigError

BOOK = load_prompt_book()
CONFIG = CaptionConfig(enabled=True, model="m", revision=PINNED)

NON_VISUAL = [
    "osm",
    "1001",  # osm_id
    "2019",  # year
    "imagery",
    "USDA",
    "DOQQ",
    "area",  # osm_element_type
    "(3)",  # surrounding counts
    "surrounding",
    "center:",
    "water",  # osm:natural of a feature somewhere around the footprint
    "park",  # osm:leisure idem
    "meadow",  # osm:landuse that the source's own tags do not hold
    "title",
    *SKYSCRIPT_PROPERTIES.values(),
    "tile",
    "T10UEU",
    "Sentinel-2A",
    "MSIL1C",
    "zoom",
    "sentinel2",
    "label",
    "land_cover",
    "power plant",  # labelled on another image of the sample
    "smoke",  # a condition of another image
]


def user_text(request) -> str:
    return request.body["messages"][1]["content"][1]["text"]


def shows(text: str, word: str) -> bool:
    """Whether a prompt shows a word (whole words; any substring for punctuation)."""
    if re.fullmatch(r"[\w ]+", word):
        return re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) is not None
    return word.lower() in text.lower()


def test_skyscript_prompt_shows_only_visible_facts(tmp_path: Path) -> None:
    request = build_request(sample(1, tmp_path), BOOK.templates["detailed/2"], CONFIG)
    text = user_text(request)
    assert text.splitlines() == [
        "Image: an RGB image (NAIP aerial orthophoto), about 1 m per pixel",
        "- Main mapped feature: farmland; crop: maize",
        "- Other mapped features in the image: house; residential street; footway",
    ]
    for word in NON_VISUAL:
        assert not shows(text, word), word


def test_satlas_prompt_shows_only_visible_facts(tmp_path: Path) -> None:
    s = satlas_sample(1, tmp_path)
    assert caption_image(s).role == "t1"  # the image the static labels refer to
    request = build_request(s, BOOK.templates["detailed/2"], CONFIG)
    text = user_text(request)
    assert request.image_role == "t1"
    assert text.splitlines() == [
        "Image: an RGB image (Sentinel-2 MSI), about 9.6 m per pixel",
        "- Labelled objects: 3 wind turbines; residential roads",
        "- Annotated as absent: dams; helipads",
        "- Conditions: partial snow cover",
    ]
    for word in NON_VISUAL:
        assert not shows(text, word), word


@pytest.mark.parametrize(
    ("tags", "focus", "other"),
    [
        ({"center:building": "yes"}, ("building",), ()),
        (
            {"center:highway": "primary", "center:surface": "asphalt"},
            ("primary road", "surface: asphalt"),
            (),
        ),
        ({"center:amenity": "restaurant", "center:name": "Chez Nous"}, (), ()),
        ({"center:highway": "bus_stop"}, (), ()),
        ({"center:landuse": "Brandenburg 12"}, (), ()),
        (
            {"surrounding:leisure": "pitch (2); +3 more", "surrounding:crop": "wheat (1)"},
            (),
            ("sports pitch",),
        ),
        ({"osm:landuse": "farmland", "osm:leisure": "park"}, (), ()),
        ({"center:landuse": "farmland", "osm:landuse": "farmland;meadow"}, ("farmland",), ()),
        ({"surrounding:landuse": "meadow (1)", "osm:landuse": "meadow"}, (), ("meadow",)),
    ],
)
def test_tag_policy(tags: dict, focus: tuple, other: tuple, tmp_path: Path) -> None:
    s = dataclasses.replace(sample(1, tmp_path), tags=tags)
    facts = scene_facts(s, s.images[0], load_policy())
    assert (facts.focus, facts.other) == (focus, other)


def test_modalities_read_with_the_right_article(tmp_path: Path) -> None:
    s = sample(1, tmp_path)
    lines = {
        m: scene_facts(dataclasses.replace(s, modality=m, sensor="X"), s.images[0]).image
        for m in ("rgb", "sar", "multispectral", "thermal")
    }
    assert lines["rgb"].startswith("Image: an RGB image (X)")
    assert lines["sar"].startswith("Image: a false-colour rendering of a radar (SAR) image")
    assert lines["multispectral"].startswith("Image: a true-colour rendering")
    no_gsd = scene_facts(dataclasses.replace(s, gsd_m=None, sensor="unknown (Q)"), s.images[0])
    assert no_gsd.image == "Image: an RGB image"


def test_instruction_first_and_constant_facts_after_the_image(tmp_path: Path) -> None:
    for template in BOOK.templates.values():
        requests = [build_request(sample(i, tmp_path), template, CONFIG) for i in range(3)]
        systems = {r.body["messages"][0]["content"] for r in requests}
        assert len(systems) == 1  # the same prefix for every sample: prefix-cacheable
        system = systems.pop()
        assert "{" not in system.replace('{"', "").replace("{{", "")
        assert re.search(r"at most \d+", system)
        for r in requests:
            assert [m["role"] for m in r.body["messages"]] == ["system", "user"]
            parts = r.body["messages"][1]["content"]
            assert [p["type"] for p in parts] == ["image_url", "text"]
            assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_mix_is_drawn_per_sample_deterministically() -> None:
    ids = [BOOK.choose("default", 0, f"s{i}").id for i in range(400)]
    assert ids == [BOOK.choose("default", 0, f"s{i}").id for i in range(400)]
    share = {t: ids.count(t) / len(ids) for t in BOOK.templates}
    weights = BOOK.mixes["default"]
    for t, w in weights.items():
        assert abs(share[t] - w / sum(weights.values())) < 0.08
    assert {BOOK.choose("qa/2", 0, f"s{i}").id for i in range(20)} == {"qa/2"}
    with pytest.raises(ConfigError, match="not a mix"):
        BOOK.choose("qa_tags/1", 0, "s")


def test_prompt_files_are_checked(tmp_path: Path) -> None:
    doc = yaml.safe_load((Path(POLICY_FILE).parent / "prompts.yaml").read_text())
    template = doc["templates"][0]
    cases = [
        ({**template, "user": "{nope}"}, "placeholder"),
        ({**template, "system": "{facts}"}, "placeholder in 'system'"),
        ({**template, "user": "{region}"}, "needs 'regions'"),
        ({**template, "reply": "essay"}, "reply must be"),
    ]
    for entry, message in cases:
        bad = tmp_path / "p.yaml"
        bad.write_text(yaml.safe_dump({"templates": [entry]}))
        with pytest.raises(PromptError, match=message):
            load_prompts(bad)
    bad.write_text(yaml.safe_dump({"templates": [template], "mixes": {"m": {"nope/1": 1}}}))
    with pytest.raises(PromptError, match="unknown ids"):
        load_prompts(bad)


@pytest.mark.parametrize("max_chars", [1, 2, 99, 100, 101, 128, 129, 200, 1009, 1200])
def test_text_pattern_bounds_length_and_characters(max_chars: int) -> None:
    pattern = re.compile(text_pattern(max_chars))
    assert pattern.match("a" * max_chars) and pattern.match("a")
    assert not pattern.match("a" * (max_chars + 1)) and not pattern.match("")
    assert all(pattern.match("b" * n) for n in range(1, max_chars + 1))
    for bad in (
        " leading space",
        'a "quote"',
        "back\\slash",
        "an <image>",
        "tab\there",
        "caf\u00e9",
    ):
        assert not pattern.match(bad[: max(2, max_chars)]) or len(bad) > max_chars
    assert max(int(n) for n in re.findall(r"\{(?:\d+,)?(\d+)\}", pattern.pattern)) <= REPEAT_CHUNK


@pytest.mark.parametrize("max_tokens", [256, 512, 1024, 4096])
def test_schema_always_closes_inside_max_tokens(max_tokens: int) -> None:
    """At one token per character, the longest reply the schema allows fits max_tokens."""
    config = dataclasses.replace(CONFIG, max_tokens=max_tokens)
    for template in BOOK.templates.values():
        try:
            limits = template_budget(template, config)
        except ConfigError:
            assert max_tokens < 512  # only a small max_tokens cannot hold a template
            continue
        longest = len(skeleton(template.reply, limits.pairs)) + limits.pairs * (
            limits.question_chars + limits.answer_chars
        )
        assert longest + 1 <= max_tokens  # + the end-of-text token
        assert limits.answer_chars >= template.min_answer_chars
        assert limits.answer_chars <= template.max_chars
    defaults = {t.id: template_budget(t, CONFIG) for t in BOOK.templates.values()}
    assert defaults["qa/2"].pairs == 3 and defaults["detailed/2"].answer_chars > 900


def test_more_chars_per_token_allows_longer_texts() -> None:
    template = BOOK.templates["qa/2"]
    low = template_budget(template, dataclasses.replace(CONFIG, max_tokens=512))
    high = template_budget(template, dataclasses.replace(CONFIG, max_tokens=512, chars_per_token=3))
    assert high.answer_chars > low.answer_chars
    with pytest.raises(ConfigError, match="raise max_tokens"):
        template_budget(template, dataclasses.replace(CONFIG, max_tokens=40))
