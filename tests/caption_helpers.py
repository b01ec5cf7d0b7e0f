"""Samples, parameters and output readers shared by the captioner's tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import yaml
from PIL import Image

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample, samples_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, run_partitions

PINNED = hashlib.sha1(b"test weights").hexdigest()
"""A revision that pins weights (40 hex digits)."""

SKYSCRIPT_TAGS = {
    "osm_element_type": "area",
    "imagery_source": "USDA/NAIP/DOQQ",
    "center:landuse": "farmland",
    "center:crop": "maize",
    "surrounding_objects": "5",
    "surrounding:highway": "residential (3); footway (1)",
    "surrounding:building": "house (2)",
    "osm:natural": "water",
    "osm:leisure": "park",
    "osm:landuse": "farmland;meadow",
}
"""Tags as the SkyScript adapter and the enrich stage give them (plus osm_id and year)."""

SKYSCRIPT_PROPERTIES = {
    "title": "farmland of maize",
    "title_multi_objects": "farmland of maize with a residential road and houses",
    "listed_in": "SkyScript_train_top30pct_filtered_by_CLIP_openai.csv",
    "imagery_source_code": "US",
}


def png(path: Path, seed: int, size: int = 24) -> Path:
    """Write a random RGB PNG."""
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(30, 220, (size, size, 3), dtype=np.uint8)).save(path)
    return path


def sample(i: int, folder: Path, fault: str = "", source: str = "skyscript", **kw: Any) -> Sample:
    """A SkyScript-like sample; ``fault`` steers the stub server (its sensor names the plan)."""
    tags = {**SKYSCRIPT_TAGS, "osm_id": str(1000 + i), "year": "2019"}
    fields: dict[str, Any] = dict(
        sample_id=f"{source}:img{i}",
        source=source,
        native_id=f"img{i}",
        modality="rgb",
        sensor=f"NAIP aerial orthophoto fault:{fault}" if fault else "NAIP aerial orthophoto",
        bands=("R", "G", "B"),
        gsd_m=1.0,
        crs="EPSG:4326",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2019-06-01",),
        images=(
            ImageRef(
                "image", (str(png(folder / f"img{i}.png", i)),), ("R", "G", "B"), "uint8", 24, 24
            ),
        ),
        tags=tags,
        labels=Labels(properties=dict(SKYSCRIPT_PROPERTIES)),
        licence="unknown",
        split="train",
    )
    fields.update(kw)
    return Sample(**fields)


def satlas_sample(i: int, folder: Path, turbines: int = 3) -> Sample:
    """A SatlasPretrain-like sample: two images, objects and conditions on the newest."""
    images = tuple(
        ImageRef(
            role,
            (str(png(folder / f"sat{i}{role}.png", 100 * i + k)),),
            ("tci_r", "tci_g", "tci_b"),
            "uint8",
            24,
            24,
        )
        for k, role in enumerate(("t0", "t1"))
    )
    objects = tuple(ObjectLabel("wind_turbine", "", "t1", (1, 1, 3, 3)) for _ in range(turbines))
    objects += tuple(
        ObjectLabel("road", "residential", "t1", (0, 5, 24, 7), "LINESTRING (0 6, 24 6)")
        for _ in range(4)
    )
    objects += (ObjectLabel("power_plant", "gas", "t0", (2, 2, 9, 9)),)
    return Sample(
        sample_id=f"satlas:sentinel2/{i}_7",
        source="satlas",
        native_id=f"sentinel2/{i}_7",
        modality="rgb",
        sensor="Sentinel-2 MSI",
        bands=("tci_r", "tci_g", "tci_b"),
        gsd_m=9.55,
        crs="EPSG:3857",
        footprint_wkt="POLYGON ((0 0, 1 0, 1 1, 0 1, 0 0))",
        acquired=("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
        images=images,
        tags={
            "sensor": "sentinel2",
            "tile": f"{i}_7",
            "zoom": "13",
            "image_count": "2",
            "platform": "Sentinel-2A",
            "mgrs_tile": "T10UEU",
            "processing_level": "MSIL1C",
            "label_categories": "power_plant,road,wind_turbine",
            "raster_labels": "land_cover",
        },
        labels=Labels(
            objects=objects,
            properties={
                "snow": "partial",
                "smoke:t0": "yes",
                "absent_categories": "dam,helipad",
                "static_image_role": "t1",
            },
        ),
        licence="ODC-BY-1.0",
        split="train",
    )


def write_filter_output(root: Path, partitions: dict[str, list[Sample]]) -> None:
    """Write ``<root>/work/dedup`` (the samples the caption stage reads) as that stage would."""

    def step(partition: Partition, outputs: PartitionOutputs) -> Any:
        from eoinstruct.pipeline.accounting import StageStats
        from eoinstruct.pipeline.io.parquet import write_table

        rows = partitions[partition.name]
        write_table(outputs.path("kept"), samples_table(rows))
        return StageStats(read=len(rows), kept=len(rows))

    parts = [Partition(name=n, source=n.split("-")[0], items=(n,)) for n in sorted(partitions)]
    run_partitions("dedup", root / "work" / "dedup", parts, step, {}, progress=False)


def write_params(root: Path, **caption_section: Any) -> Path:
    """Write a ``params.yaml`` with an enabled ``caption`` section (overridden by keywords)."""
    params = {
        "paths": {k: str(root / k) for k in ("sample", "work", "corpus", "metrics")},
        "caption": {
            "enabled": True,
            "engine": "vllm",
            "model": "stub-model",
            "revision": PINNED,
            "concurrency": 4,
            "timeout_s": 2.0,
            "retries": 2,
            "backoff_s": 0.01,
            "seed": 3,
            "cache_dir": str(root / "cache"),
            **caption_section,
        },
    }
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def outputs(root: Path, kind: str) -> list[dict[str, Any]]:
    """Rows of the caption stage's ``pairs``, ``dropped`` or ``failed`` files."""
    folder = root / "work" / "caption" / kind
    return [row for f in sorted(folder.glob("*.parquet")) for row in pq.read_table(f).to_pylist()]
