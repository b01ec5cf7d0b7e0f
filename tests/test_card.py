"""The dataset card's parts that need no build: licences and the commercial-safe subset, the
configurations, the Hub metadata helpers, the sample-build test, links and citations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import eoinstruct
from eoinstruct.pipeline.config import FAST_DUMPER, Params
from eoinstruct.pipeline.corpus.card import (
    COMMERCIAL_SAFE,
    config_sources,
    link,
    make_configs,
    synthetic_sources,
)
from eoinstruct.pipeline.corpus.citation import EOINSTRUCT_BIBTEX
from eoinstruct.pipeline.corpus.hub import (
    HUB_TASK_CATEGORIES,
    TASK_CATEGORIES,
    TASK_IDS,
    ParquetFile,
    front_matter,
    licence_metadata,
    size_category,
    task_metadata,
)
from eoinstruct.pipeline.corpus.licences import (
    HUB_LICENCE_IDS,
    LICENCES,
    commercial_use,
    licence,
    licence_ids,
    licences_of,
)
from eoinstruct.sources.registry import facts, source_names

REPO = Path(__file__).resolve().parents[1]

# --- licences -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("licence_id", "commercial"),
    [
        ("CDLA-Permissive-1.0", True),
        ("ODC-BY-1.0", True),
        ("ODbL-1.0", True),
        ("CC-BY-4.0", True),
        ("public domain", True),
        ("Copernicus Sentinel data terms", True),
        ("CC-BY-NC-4.0", False),
        ("CC-BY-NC-SA-4.0", False),
        ("CC-BY-NC-ND-4.0", False),
        ("NOASSERTION", False),
        ("unstated", False),
        ("Some-Licence-Nobody-Listed", False),  # not in the table: not cleared
    ],
)
def test_commercial_use_is_decided_by_the_licence_table(licence_id: str, commercial: bool) -> None:
    assert licence(licence_id).commercial is commercial


def test_licence_ids_are_read_out_of_the_facts_text() -> None:
    assert licence_ids("CDLA-Permissive-1.0") == ("CDLA-Permissive-1.0",)
    assert licence_ids("ODC-BY-1.0 (new labels); ODbL-1.0 (OSM labels); CC-BY-4.0 (x)") == (
        "ODC-BY-1.0",
        "ODbL-1.0",
        "CC-BY-4.0",
    )
    # a caveat may itself hold ";" and parentheses
    assert licence_ids("NOASSERTION (third parties cite CC-BY-NC-4.0 (Zenodo); unverified)") == (
        "NOASSERTION",
    )
    assert licence_ids("") == ()


def test_every_source_licence_is_in_the_table_with_a_hub_id() -> None:
    for name in source_names():
        ids = licence_ids(facts(name).licence)
        assert ids and all(i in LICENCES for i in ids), (name, ids)
    assert {entry.hub_id for entry in LICENCES.values()} <= HUB_LICENCE_IDS
    assert all(entry.url.startswith("https://") for entry in LICENCES.values() if entry.url)


def test_which_sources_are_commercial_safe() -> None:
    safe = {name for name in source_names() if commercial_use(facts(name))}
    assert safe == {
        "bigearthnet_v1",
        "bigearthnet_v2",
        "quakeset",
        "satlas",
        "so2sat",
        "stac",
        "treesatai",
    }


def test_hub_licence_fields() -> None:
    assert licence_metadata(["CC-BY-4.0", "CDLA-Permissive-1.0"]) == {
        "license": ["cc-by-4.0", "cdla-permissive-1.0"]
    }
    other = licence_metadata(["Copernicus Sentinel data terms", "NOASSERTION"])
    assert other["license"] == ["other", "unknown"]
    assert other["license_name"] and other["license_link"] == "README.md"


# --- configurations ---------------------------------------------------------------------------

GROUPS = {
    "train|xbd|grounding": {"pairs": 3},
    "test|xbd|grounding": {"pairs": 1},
    "train|satlas|detection": {"pairs": 2},
    "validation|stac|vqa": {"pairs": 2},
    "test|stac|vqa": {"pairs": 0},
}


def test_commercial_safe_configuration_selects_the_safe_sources_per_split() -> None:
    configs = {c["config_name"]: c for c in make_configs(GROUPS, ["satlas", "stac"])}
    safe = configs[COMMERCIAL_SAFE]
    assert safe["data_files"] == [
        {"split": "train", "path": ["data/train-satlas-*.parquet"]},
        {"split": "validation", "path": ["data/validation-stac-*.parquet"]},
    ]
    assert config_sources(safe, GROUPS) == ["satlas", "stac"]
    assert config_sources(configs["xbd"], GROUPS) == ["xbd"]
    assert config_sources(configs["default"], GROUPS) == ["satlas", "stac", "xbd"]
    assert config_sources(configs["pairs"], GROUPS) == ["satlas", "stac", "xbd"]
    assert configs["pairs"]["data_files"][0]["path"].startswith("pairs/")
    names = list(configs)
    assert names[0] == "default" and names[1:] == sorted(names[1:])


def test_no_commercial_safe_configuration_without_a_safe_source() -> None:
    names = {c["config_name"] for c in make_configs(GROUPS, ["starcop"])}
    assert COMMERCIAL_SAFE not in names and {"default", "xbd", "pairs"} <= names
    assert "xbd_grounding" not in names  # no per-task files: filter the pair view by task


@pytest.mark.parametrize("name", ["commercial_safe", "pairs", "default"])
def test_a_source_may_not_take_a_configuration_name(name: str) -> None:
    groups = {f"train|{name}|grounding": {"pairs": 1}}
    with pytest.raises(ValueError, match=name):
        make_configs(groups, [name])


# --- Hub metadata -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "bucket"),
    [(0, "n<1K"), (999, "n<1K"), (1_000, "1K<n<10K"), (250_000, "100K<n<1M"), (10**10, "n>1B")],
)
def test_size_categories(pairs: int, bucket: str) -> None:
    assert size_category(pairs) == bucket


def test_task_categories_and_ids_are_the_hubs() -> None:
    for categories in TASK_CATEGORIES.values():
        assert set(categories) <= set(HUB_TASK_CATEGORIES)
    categories, ids = task_metadata(["captioning", "grounding", "vqa", "unknown_family"])
    assert categories == ["image-to-text", "object-detection", "visual-question-answering"]
    assert ids == ["image-captioning", "visual-question-answering"]
    for family, family_ids in TASK_IDS.items():
        cats, _ = task_metadata([family])
        assert set(family_ids) <= {i for c in cats for i in HUB_TASK_CATEGORIES[c]}, family


# --- sample builds, links, citations -----------------------------------------------------------


def _params(sample: str, roots: dict[str, str]) -> Params:
    raw = {"paths": {"sample": sample}, "sources": {n: {"root": r} for n, r in roots.items()}}
    return Params(raw=raw, path=Path("params.yaml"))


def test_sources_read_from_the_sample_corpus_are_synthetic(tmp_path: Path) -> None:
    sample = tmp_path / "data" / "sample"
    params = _params(
        str(sample), {"xbd": str(sample / "xbd"), "satlas": str(tmp_path / "real" / "satlas")}
    )
    assert synthetic_sources(params, ["satlas", "xbd"]) == ["xbd"]
    assert synthetic_sources(params, ["satlas"]) == []
    relative = _params("data/sample", {"xbd": "data/sample/xbd", "stac": "data/samples/stac"})
    assert synthetic_sources(relative, ["stac", "xbd"]) == ["xbd"]


def test_links_are_well_formed_or_plain_text() -> None:
    assert link("BigEarthNet", "https://bigearth.net") == "[BigEarthNet](https://bigearth.net)"
    assert (
        link("STAC scenes", "https://stacspec.org (Earth Search, Microsoft Planetary Computer)")
        == "[STAC scenes](https://stacspec.org) (Earth Search, Microsoft Planetary Computer)"
    )
    assert link("local", "not a url") == "local (not a url)"
    assert link("x", "") == "x"
    for name in source_names():
        text = link(facts(name).title, facts(name).homepage)
        target = re.search(r"\]\(([^)]*)\)", text)
        assert target and " " not in target.group(1), (name, text)


def test_every_source_states_bibtex() -> None:
    keys = set()
    for name in source_names():
        bibtex = facts(name).bibtex
        assert bibtex.startswith("@"), name
        assert bibtex.count("{") == bibtex.count("}"), name
        entries = re.findall(r"^@(\w+)\{([^,\s]+),", bibtex, flags=re.M)
        assert entries and all(kind in ("article", "inproceedings", "misc") for kind, _ in entries)
        for field in ("author", "title", "year"):
            assert re.search(rf"^\s+{field}\s+=", bibtex, flags=re.M), (name, field)
        keys.update(key for _, key in entries)
    # stac cites Landsat and Copernicus, dior also DIOR-R, dota also DOTA v2.0's paper
    assert len(keys) == len(source_names()) + 3


def test_eoinstruct_bibtex_matches_citation_cff() -> None:
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["version"] == eoinstruct.__version__
    assert f"version = {{{cff['version']}}}" in EOINSTRUCT_BIBTEX
    assert f"year    = {{{cff['date-released'][:4]}}}" in EOINSTRUCT_BIBTEX
    flat = re.sub(r"\s+", " ", EOINSTRUCT_BIBTEX.replace("{", "").replace("}", ""))
    assert cff["title"] in flat


def test_front_matter_from_libyaml_is_the_python_emitters_text() -> None:
    """The card dumps its front matter with libyaml (CSafeDumper, ≈ 2 ms, not 35): the text of
    ``yaml.safe_dump`` for a card of every source (licence names, links, unicode, long lists)."""
    if FAST_DUMPER is yaml.SafeDumper:
        pytest.skip("PyYAML was built without libyaml: the card uses its own emitter")
    names = source_names()
    infos = [facts(name) for name in names]
    groups = {f"{s}|{name}|vqa": {"pairs": 2} for name in names for s in ("train", "test")}
    safe = [name for name, info in zip(names, infos, strict=True) if commercial_use(info)]
    files = {f"data/train-{name}-0000-00000.parquet": ParquetFile(3, 1234, 5678) for name in names}
    meta = front_matter(
        configs=make_configs(groups, safe),
        files=files,
        pairs=2 * len(names),
        tasks=["captioning", "vqa"],
        modalities=["optical", "sar"],
        infos=infos,
        licence_ids=licences_of(infos),
        synthetic=False,
    )
    options = {"sort_keys": False, "allow_unicode": True, "width": 100}
    text = yaml.dump(meta, Dumper=FAST_DUMPER, **options)
    assert text == yaml.safe_dump(meta, **options)
    assert yaml.safe_load(text) == meta and len(text) > 1000
