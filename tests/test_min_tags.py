"""``filter.min_tags`` counts label fields only: classes, objects, OSM tags, semantic labels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from build_helpers import make_params

import eoinstruct
from eoinstruct.pipeline.io.parquet import iter_samples
from eoinstruct.pipeline.quality.scores import count_tag_fields
from eoinstruct.pipeline.quality.tag_fields import (
    LABEL_KEYS,
    METADATA_KEYS,
    is_label_tag,
    label_fields,
)
from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample


def sample(**overrides: object) -> Sample:
    fields: dict[str, object] = dict(
        sample_id="x:1",
        source="x",
        native_id="1",
        modality="rgb",
        sensor="WorldView-2",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((10 40, 11 40, 11 41, 10 41, 10 40))",
        acquired=("2020-01-01T00:00:00Z",),
        images=(ImageRef("image", ("a.png",), ("R", "G", "B"), "uint8", 2, 2),),
        tags={},
        labels=Labels(),
        licence="x",
    )
    fields.update(overrides)
    return Sample(**fields)  # type: ignore[arg-type]


METADATA_TAGS = {
    "platform": "Sentinel-2B",
    "processing_level": "L2A",
    "mgrs_tile": "T33UUP",
    "cloud_cover": "clear",
    "year": "2018",
    "imagery_source": "LANDSAT/LC08/C02/T1_TOA",
    "osm_id": "77312456",
    "osm_element_type": "way",
    "sensor": "WORLDVIEW02",
    "osm:feature_count": "12",
    "disaster": "santa-rosa-wildfire",
}


def test_metadata_never_counts() -> None:
    assert count_tag_fields(sample(tags=METADATA_TAGS)) == 0
    props = {"qplume_kg_h": "6957", "magnitude": "7.1", "event_id": "1", "stac_item": "S2B"}
    assert count_tag_fields(sample(labels=Labels(properties=props))) == 0


def test_labels_count_once_each() -> None:
    labels = Labels(
        classes=("Pastures", "Arable land"),
        objects=(
            ObjectLabel("building", "destroyed", "post", (0, 0, 1, 1)),
            ObjectLabel("building", "destroyed", "post", (1, 1, 2, 2)),
            ObjectLabel("building", "no-damage", "post", (0, 0, 1, 1)),
        ),
        properties={"disaster_type": "fire", "has_plume": "true", "earthquake": "", "pair": "x"},
    )
    tags = {
        **METADATA_TAGS,
        "osm:landuse": "forest;meadow",
        "osm:highway": "track",
        "center:surface": "gravel",
        "surrounding:natural": "water (2)",
        "disaster_type": "fire",  # the same fact as the property
        "methane_plume": "present",  # the same fact as has_plume
        "osm:natural": " ",  # empty
    }
    fields = label_fields(sample(tags=tags, labels=labels))
    assert fields == {
        "class:Pastures",
        "class:Arable land",
        "object:building/destroyed",
        "object:building/no-damage",
        "tag:osm:landuse",
        "tag:osm:highway",
        "tag:center:surface",
        "tag:surrounding:natural",
        "tag:disaster_type",
        "tag:methane_plume",
    }
    assert count_tag_fields(sample(tags=tags, labels=labels)) == 10


def test_the_lists_do_not_overlap() -> None:
    assert not LABEL_KEYS & METADATA_KEYS
    assert not any(is_label_tag(key) for key in METADATA_KEYS)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus built up to the score stage; returns its params file."""
    root = tmp_path_factory.mktemp("min_tags")
    params = make_params(root)
    eoinstruct.build(params, stages=["sample_data", "ingest", "enrich", "score"])
    return params


def _enriched(params: Path) -> list[Sample]:
    folder = params.parent / "work" / "enrich" / "samples"
    return [s for path in sorted(folder.glob("*.parquet")) for s in iter_samples(path)]


def test_every_key_of_every_source_is_classified(scored: Path) -> None:
    samples = _enriched(scored)
    assert {s.source for s in samples} >= {"bigearthnet_v1", "xbd", "skyscript", "stac", "starcop"}
    unclassified = {
        (s.source, key)
        for s in samples
        for key in (*s.tags, *s.labels.properties)
        if not is_label_tag(key) and key not in METADATA_KEYS
    }
    assert unclassified == set()


def test_on_the_sample_data_the_count_ignores_metadata(scored: Path) -> None:
    for s in _enriched(scored):
        stripped = dataclasses.replace(
            s,
            tags={k: v for k, v in s.tags.items() if is_label_tag(k)},
            labels=dataclasses.replace(
                s.labels,
                properties={k: v for k, v in s.labels.properties.items() if is_label_tag(k)},
            ),
        )
        assert count_tag_fields(stripped) == count_tag_fields(s)
        label_properties = sum(is_label_tag(k) for k in s.labels.properties)  # RSVQA's QA types
        bound = len(s.tags) + len(s.labels.classes) + len(s.labels.objects) + 1 + label_properties
        assert count_tag_fields(s) < bound
        if any(k.startswith("osm:") for k in s.tags):
            no_osm = dataclasses.replace(
                s, tags={k: v for k, v in s.tags.items() if not k.startswith("osm:")}
            )
            assert count_tag_fields(no_osm) < count_tag_fields(s)


def _kept(params: Path, stage: str, kind: str) -> int:
    folder = params.parent / "work" / stage / kind
    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.glob("*.parquet"))


def _kept_files_are_encoded_tables(params: Path) -> tuple[int, int]:
    """Every kept file (copied where a partition kept all, else encoded) is its table encoded.

    Returns:
        How many kept files are copies of their samples file, and how many there are.
    """
    from eoinstruct.pipeline.io.parquet import read_samples_table, write_table

    work = params.parent / "work"
    kept = sorted((work / "filter" / "kept").glob("*.parquet"))
    assert kept
    copied = 0
    for path in kept:
        again = path.with_suffix(".again")
        write_table(again, read_samples_table(path))
        assert again.read_bytes() == path.read_bytes(), path.name
        again.unlink()
        copied += path.read_bytes() == (work / "enrich" / "samples" / path.name).read_bytes()
    return copied, len(kept)


def test_raising_min_tags_removes_samples_and_pairs(scored: Path) -> None:
    counts = {}
    paths: list[tuple[int, int]] = []
    for min_tags in (3, 10):
        results = eoinstruct.build(
            scored, stages=["filter", "dedup", "generate"], overrides={"filter.min_tags": min_tags}
        )
        counts[min_tags] = (
            results["filter"].kept,
            results["filter"].dropped.get("too_few_tags", 0),
            _kept(scored, "generate", "pairs"),
        )
        paths.append(_kept_files_are_encoded_tables(scored))
    (kept3, few3, pairs3), (kept10, few10, pairs10) = counts[3], counts[10]
    assert any(copied for copied, _ in paths) and any(c < n for c, n in paths)  # both ways
    assert kept10 < kept3 and few10 > few3
    assert pairs10 < pairs3
