"""Stage ``dedup``: remove duplicates across the whole corpus and assign geographic splits.

Reads the filter's kept samples and the score stage's hashes. A first, global pass builds one
small :class:`eoinstruct.pipeline.quality.dedup.IndexEntry` per kept sample (id, source, modality,
sensor,
content hash, perceptual hashes, centroid, dates, official split: no pixels, no labels),
decides the duplicates (:func:`eoinstruct.pipeline.quality.dedup.find_duplicates`) and the splits
of the samples
left (:func:`eoinstruct.pipeline.quality.splits.assign_splits`). The partitioned pass then writes,
per partition,
``kept/<partition>.parquet`` (the samples left, ``split`` set to the assignment) and
``dropped/<partition>.parquet`` (each removed sample with its reason ``duplicate_exact``,
``duplicate_near`` or ``duplicate_place_time`` and, in ``detail``, the id it duplicates). A
partition's fingerprint includes the decisions about its samples, so it is redone when a
sample elsewhere changes what happens to one of its own.

Finally ``<paths.metrics>/dedup.json`` gives duplicates per source and reason, samples per
split and source, the official splits the place rule overrode, and the leakage: pairs of
samples in different splits closer than the block size, closer than ``place_time_m``, closer
than ``splits.same_place_m`` and sharing a location key, the last three per pair of sources
(``leakage.by_sources``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import shapely
from shapely.errors import ShapelyError

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import ConfigError, Params
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.parquet import Drop, iter_samples, write_drops, write_table
from eoinstruct.pipeline.quality.dedup import Duplicate, IndexEntry, find_duplicates
from eoinstruct.pipeline.quality.places import place_keys
from eoinstruct.pipeline.quality.splits import (
    SplitConfig,
    assign_splits,
    key_leakage,
    leakage,
    overridden,
)
from eoinstruct.pipeline.records import samples_table, to_json
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import run_work_stage
from eoinstruct.pipeline.settings import DedupSettings, require

STAGE = "dedup"

SAMPLE_COLUMNS = [
    "sample_id",
    "source",
    "native_id",
    "modality",
    "sensor",
    "acquired",
    "footprint_wkt",
    "split",
    "tags",
    "labels.properties",
]


@dataclasses.dataclass(frozen=True)
class DedupConfig:
    """The ``dedup`` section of params.yaml.

    Attributes:
        near_max_distance: Largest Hamming distance (of 64 bits) of near-duplicates.
        place_time_m: Largest centroid distance of same-place-and-time duplicates.
        source_priority: Sources in order of preference (the first copy is kept).
        splits: The split configuration.
    """

    near_max_distance: int
    place_time_m: float
    source_priority: tuple[str, ...]
    splits: SplitConfig

    @classmethod
    def from_settings(cls, settings: DedupSettings) -> DedupConfig:
        """Build the configuration from the typed ``dedup`` section (already checked).

        Raises:
            ConfigError: If the split fractions are inconsistent.
        """
        try:
            splits = SplitConfig(
                block_km=settings.splits.block_km,
                fractions=dict(settings.splits.fractions),
                keep_official=settings.splits.keep_official,
                salt=settings.splits.salt,
                same_place_m=settings.splits.same_place_m,
            )
        except ValueError as exc:
            raise ConfigError(f"dedup.splits: {exc}") from exc
        return cls(
            near_max_distance=settings.near_max_distance,
            place_time_m=settings.place_time_m,
            source_priority=tuple(settings.source_priority),
            splits=splits,
        )


def _centroid(wkt: str) -> tuple[float | None, float | None]:
    try:
        geom = shapely.from_wkt(wkt) if wkt and wkt.strip() else None
    except (ShapelyError, ValueError):
        return None, None
    if geom is None or geom.is_empty:
        return None, None
    point = geom.centroid
    return float(point.x), float(point.y)


def read_index(kept: Path, scores: Path) -> list[IndexEntry]:
    """Build the index entries of one partition from its kept samples and scores.

    Args:
        kept: The filter's kept samples of the partition.
        scores: The score stage's scores of the partition.

    Returns:
        One entry per kept sample, in file order.
    """
    hashes = {
        row["sample_id"]: row
        for row in pq.read_table(
            scores, columns=["sample_id", "content_sha256", "phash"]
        ).to_pylist()
    }
    entries = []
    for row in pq.read_table(kept, columns=SAMPLE_COLUMNS).to_pylist():
        score = hashes[row["sample_id"]]
        lon, lat = _centroid(row["footprint_wkt"] or "")
        entries.append(
            IndexEntry(
                sample_id=row["sample_id"],
                source=row["source"],
                modality=row["modality"],
                sensor=row["sensor"] or "",
                content=score["content_sha256"] or "",
                phashes=tuple(score["phash"] or ()),
                lon=lon,
                lat=lat,
                dates=tuple(str(t)[:10] for t in row["acquired"] or ()),
                split=row["split"] or "",
                places=place_keys(
                    row["native_id"] or "", dict(row["tags"] or ()), dict(row["properties"] or ())
                ),
            )
        )
    return entries


def dedup_partition(
    partition: Partition,
    outputs: PartitionOutputs,
    removed: Mapping[str, Duplicate],
    splits: Mapping[str, str],
) -> StageStats:
    """Write one partition's kept samples (with their splits) and its duplicates.

    Args:
        partition: The partition (inputs: filter kept samples, scores).
        outputs: Where to write.
        removed: Global decisions: sample id → duplicate.
        splits: Global split assignment of the samples left.

    Returns:
        Counts: read = kept samples of the filter, kept, dropped by reason.
    """
    stats = StageStats()
    kept = []
    drops: list[Drop] = []
    for sample in iter_samples(partition.inputs[0]):
        stats.read += 1
        dup = removed.get(sample.sample_id)
        if dup is not None:
            detail = to_json({"duplicate_of": dup.duplicate_of, "distance": dup.distance})
            drops.append(Drop(sample.sample_id, (dup.reason,), detail))
            stats.drop(dup.reason)
            continue
        kept.append(dataclasses.replace(sample, split=splits[sample.sample_id]))
        stats.kept += 1
    write_table(outputs.path("kept"), samples_table(kept))
    write_drops(outputs.path("dropped"), STAGE, partition.name, partition.source, drops)
    return stats


def _signature(ids: list[str], removed: Mapping[str, Duplicate], splits: Mapping[str, str]) -> str:
    decisions = {
        i: (dataclasses.astuple(removed[i]) if i in removed else splits.get(i, "")) for i in ids
    }
    return hashlib.sha256(to_json(decisions).encode()).hexdigest()


def dedup_metrics(
    entries: list[IndexEntry],
    removed: Mapping[str, Duplicate],
    splits: Mapping[str, str],
    config: DedupConfig,
) -> dict[str, Any]:
    """Summarise duplicates, splits and leakage.

    Args:
        entries: All index entries.
        removed: The duplicates.
        splits: The split of every sample left.
        config: The configuration.

    Returns:
        The metrics (JSON-ready).
    """
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    across: Counter[str] = Counter()
    source_of = {e.sample_id: e.source for e in entries}
    for dup in removed.values():
        by_source[source_of[dup.sample_id]][dup.reason] += 1
        if source_of[dup.sample_id] != source_of[dup.duplicate_of]:
            across[dup.reason] += 1
    split_counts: dict[str, Counter[str]] = defaultdict(Counter)
    points = []
    sources = []
    for e in entries:
        if e.sample_id in removed:
            continue
        split_counts[e.source][splits[e.sample_id]] += 1
        if e.lon is not None and e.lat is not None:
            points.append((e.sample_id, e.lon, e.lat, splits[e.sample_id]))
            sources.append(e.source)
    block = leakage(points, config.splits.block_km * 1000.0, sources=sources)
    place = leakage(points, config.place_time_m) if config.place_time_m > 0 else None
    same_m = config.splits.same_place_m
    same = leakage(points, same_m, sources=sources) if same_m > 0 else None
    keyed = key_leakage(entries, splits)
    by_sources: dict[str, dict[str, int]] = defaultdict(dict)
    for name, figures in (
        ("closer_than_block", block.by_sources),
        ("closer_than_same_place_m", same.by_sources if same else {}),
        ("same_location_key", keyed),
    ):
        for pair, n in figures.items():
            by_sources[pair][name] = n
    return {
        "read": len(entries),
        "kept": len(entries) - len(removed),
        "duplicates": dict(sorted(Counter(d.reason for d in removed.values()).items())),
        "duplicates_across_sources": dict(sorted(across.items())),
        "duplicates_by_source": {k: dict(sorted(v.items())) for k, v in sorted(by_source.items())},
        "splits_by_source": {k: dict(sorted(v.items())) for k, v in sorted(split_counts.items())},
        "official_splits_overridden": overridden(entries, splits),
        "leakage": {
            "block_km": config.splits.block_km,
            "pairs_closer_than_block": block.pairs,
            "by_splits": dict(block.by_splits),
            "samples_involved": block.samples,
            "pairs_closer_than_place_time_m": place.pairs if place else None,
            "same_place_m": same_m,
            "pairs_closer_than_same_place_m": same.pairs if same else None,
            "pairs_sharing_a_location_key": sum(keyed.values()),
            "by_sources": {k: dict(sorted(v.items())) for k, v in sorted(by_sources.items())},
        },
    }


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the dedup stage.

    Args:
        params: Parameters (section ``dedup``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    settings = require(params.settings.dedup, "dedup")
    section = settings.as_dict()
    config = DedupConfig.from_settings(settings)
    partitions = partitions_from(
        [(params.work_dir("filter"), "kept"), (params.work_dir("score"), "scores")]
    )
    ids_of: dict[str, list[str]] = {}
    entries: list[IndexEntry] = []
    for partition in partitions:
        part = read_index(partition.inputs[0], partition.inputs[1])
        ids_of[partition.name] = [e.sample_id for e in part]
        entries += part
    removed = find_duplicates(
        entries, config.near_max_distance, config.place_time_m, config.source_priority
    )
    splits = assign_splits([e for e in entries if e.sample_id not in removed], config.splits)
    partitions = [
        dataclasses.replace(p, signature=_signature(ids_of[p.name], removed, splits))
        for p in partitions
    ]

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return dedup_partition(partition, outputs, removed, splits)

    stats = run_work_stage(params, STAGE, partitions, step, section, progress)
    metrics = dedup_metrics(entries, removed, splits, config)
    metrics_dir = params.path_of("metrics")
    metrics_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        metrics_dir / "dedup.json", json.dumps(metrics, indent=1, sort_keys=True) + "\n"
    )
    return stats
