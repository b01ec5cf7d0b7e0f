"""Stage ``dedup``: remove duplicates across the whole corpus and assign geographic splits.

Reads the filter's kept samples and the score stage's hashes. A first, global pass streams the
partitions into a column-wise index (:class:`eoinstruct.pipeline.quality.index.SampleIndex`:
numpy arrays of id, source, modality, sensor, content hash, perceptual hashes, centroid, dates,
official split and location keys; no pixels, no labels, no Python object per sample), decides
the duplicates (:func:`eoinstruct.pipeline.quality.dedup.decide`) and the splits of the samples
left (:func:`eoinstruct.pipeline.quality.splits.split_codes`). The partitioned pass then writes,
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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import ConfigError, Params
from eoinstruct.pipeline.io.atomic import write_text_atomic
from eoinstruct.pipeline.io.parquet import (
    Drop,
    read_columns,
    read_samples_table,
    take_rows,
    write_drops,
    write_table,
)
from eoinstruct.pipeline.quality.dedup import REASONS, Decisions, Duplicate, IndexEntry, decide
from eoinstruct.pipeline.quality.index import SPLITS, IndexBuilder, SampleIndex
from eoinstruct.pipeline.quality.places import footprint_centres, place_keys
from eoinstruct.pipeline.quality.splits import (
    Leakage,
    SplitConfig,
    key_leakage_counts,
    leakage_arrays,
    overridden_counts,
    split_codes,
)
from eoinstruct.pipeline.records import to_json
from eoinstruct.pipeline.run.epilogues import after_partitions
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import run_work_stage
from eoinstruct.pipeline.settings_cache import require

if TYPE_CHECKING:
    from eoinstruct.pipeline.settings import DedupSettings

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
                fractions={str(k): float(v) for k, v in settings.splits.fractions.items()},
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


def read_index(builder: IndexBuilder, kept: Path, scores: Path) -> None:
    """Add the index rows of one partition from its kept samples and scores.

    Only this partition's rows are Python objects at once; the builder keeps numpy arrays.

    Args:
        builder: The index being built.
        kept: The filter's kept samples of the partition.
        scores: The score stage's scores of the partition.
    """
    scored = pq.ParquetFile(scores).read(
        columns=["sample_id", "content_sha256", "phash"], use_threads=False
    )
    hashes = dict(
        zip(
            scored.column("sample_id").to_pylist(),
            zip(
                scored.column("content_sha256").to_pylist(),
                scored.column("phash").to_pylist(),
                strict=True,
            ),
            strict=True,
        )
    )
    table = read_columns(kept, SAMPLE_COLUMNS)
    # column by column: no dict per row
    ids, sources, native_ids, modalities, sensors, acquired, wkts, splits, tags, properties = (
        table.column(name).to_pylist() for name in table.column_names
    )
    # the partition's centroids in one GEOS call (the same values as one by one)
    centres = footprint_centres([wkt or "" for wkt in wkts])
    add = builder.add
    for i, sample_id in enumerate(ids):
        content, phash = hashes[sample_id]
        centre = centres[i]
        lon, lat = (None, None) if centre is None else centre
        add(
            sample_id=sample_id,
            source=sources[i],
            modality=modalities[i],
            sensor=sensors[i] or "",
            content=content or "",
            phashes=tuple(phash or ()),
            lon=lon,
            lat=lat,
            dates=tuple(str(t)[:10] for t in acquired[i] or ()),
            split=splits[i] or "",
            places=place_keys(native_ids[i] or "", dict(tags[i] or ()), dict(properties[i] or ())),
        )
    builder.flush()


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
        splits: Split assignment of the partition's samples left.

    Returns:
        Counts: read = kept samples of the filter, kept, dropped by reason.
    """
    stats = StageStats()
    table = read_samples_table(partition.inputs[0])
    kept: list[int] = []
    split_of: list[str] = []
    drops: list[Drop] = []
    for index, value in enumerate(table.column("sample_id").to_pylist()):
        sample_id = str(value)
        stats.read += 1
        dup = removed.get(sample_id)
        if dup is not None:
            detail = to_json({"duplicate_of": dup.duplicate_of, "distance": dup.distance})
            drops.append(Drop(sample_id, (dup.reason,), detail))
            stats.drop(dup.reason)
            continue
        kept.append(index)
        split_of.append(splits[sample_id])
        stats.kept += 1
    # the kept rows as columns, their split replaced: the same table as rebuilding each sample
    out = take_rows(table, kept)
    column = out.schema.get_field_index("split")
    field = out.schema.field(column)
    out = out.set_column(column, field, pa.array(split_of, type=field.type))
    write_table(outputs.path("kept"), out)
    write_drops(outputs.path("dropped"), STAGE, partition.name, partition.source, drops)
    return stats


def _signature(ids: list[str], removed: Mapping[str, Duplicate], splits: Mapping[str, str]) -> str:
    decisions = {
        i: (dataclasses.astuple(removed[i]) if i in removed else splits.get(i, "")) for i in ids
    }
    return hashlib.sha256(to_json(decisions).encode()).hexdigest()


def _rows_of(
    index: SampleIndex, rows: range, codes: np.ndarray
) -> tuple[list[str], dict[str, str]]:
    """The ids of some rows and the splits of those kept (built per partition, then freed)."""
    ids = [index.sample_id(i) for i in rows]
    splits = {ids[k]: SPLITS[codes[i]] for k, i in enumerate(rows) if codes[i] >= 0}
    return ids, splits


def dedup_metrics(
    entries: list[IndexEntry],
    removed: Mapping[str, Duplicate],
    splits: Mapping[str, str],
    config: DedupConfig,
) -> dict[str, Any]:
    """Summarise duplicates, splits and leakage (of index entries; see :func:`index_metrics`).

    Args:
        entries: All index entries.
        removed: The duplicates.
        splits: The split of every sample left.
        config: The configuration.

    Returns:
        The metrics (JSON-ready).
    """
    index = SampleIndex.from_entries(entries)
    row = {index.sample_id(i): i for i in range(len(index))}
    duplicate_of = np.full(len(index), -1, dtype=np.int64)
    reason = np.full(len(index), -1, dtype=np.int8)
    for dup in removed.values():
        duplicate_of[row[dup.sample_id]] = row[dup.duplicate_of]
        reason[row[dup.sample_id]] = REASONS.index(dup.reason)
    names = sorted(set(splits.values()))
    code = {name: i for i, name in enumerate(names)}
    codes = np.array([code.get(splits.get(i, ""), -1) for i in row], dtype=np.int64)
    decisions = Decisions(duplicate_of, reason, np.zeros(len(index)))
    return index_metrics(index, decisions, codes, names, config)


def index_metrics(
    index: SampleIndex,
    decisions: Decisions,
    codes: np.ndarray,
    names: Sequence[str],
    config: DedupConfig,
) -> dict[str, Any]:
    """Summarise duplicates, splits and leakage.

    Args:
        index: All samples.
        decisions: The duplicates.
        codes: Per row, its split as an index of ``names`` (-1: none, e.g. removed).
        names: The split names.
        config: The configuration.

    Returns:
        The metrics (JSON-ready).
    """
    removed = np.nonzero(decisions.duplicate_of >= 0)[0]
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    across: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for i in removed.tolist():
        source = index.sources[index.source[i]]
        reason = REASONS[decisions.reason[i]]
        reasons[reason] += 1
        by_source[source][reason] += 1
        if index.source[i] != index.source[decisions.duplicate_of[i]]:
            across[reason] += 1
    kept = decisions.duplicate_of < 0
    split_counts: dict[str, Counter[str]] = defaultdict(Counter)
    k = max(1, len(names))
    table = np.bincount(index.source[kept].astype(np.int64) * k + codes[kept],
                        minlength=len(index.sources) * k).reshape(-1, k)  # fmt: skip
    for source, split in zip(*np.nonzero(table), strict=True):
        split_counts[index.sources[source]][names[split]] = int(table[source, split])
    on_map = kept & index.located & (codes >= 0)
    lon, lat, split = index.lon[on_map], index.lat[on_map], codes[on_map]
    source = index.source[on_map]

    def leak(distance: float, per_source: bool) -> Leakage:
        by = (source, index.sources) if per_source else None
        return leakage_arrays(lon, lat, split, names, distance, by)

    block = leak(config.splits.block_km * 1000.0, True)
    place = leak(config.place_time_m, False) if config.place_time_m > 0 else None
    same_m = config.splits.same_place_m
    same = leak(same_m, True) if same_m > 0 else None
    valid = np.where(kept, codes, -1)
    keyed = key_leakage_counts(index, valid)
    official = np.array([SPLITS.index(n) if n in SPLITS else -2 for n in names] + [-1])
    by_sources: dict[str, dict[str, int]] = defaultdict(dict)
    for name, figures in (
        ("closer_than_block", block.by_sources),
        ("closer_than_same_place_m", same.by_sources if same else {}),
        ("same_location_key", keyed),
    ):
        for pair, n in figures.items():
            by_sources[pair][name] = n
    return {
        "read": len(index),
        "kept": int(kept.sum()),
        "duplicates": dict(sorted(reasons.items())),
        "duplicates_across_sources": dict(sorted(across.items())),
        "duplicates_by_source": {k: dict(sorted(v.items())) for k, v in sorted(by_source.items())},
        "splits_by_source": {k: dict(sorted(v.items())) for k, v in sorted(split_counts.items())},
        "official_splits_overridden": overridden_counts(index, official[valid]),
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


def decide_all(
    sources: Sequence[tuple[Path, Path]], config: DedupConfig
) -> tuple[SampleIndex, list[range], Decisions, np.ndarray]:
    """Build the index of every partition, then decide duplicates and splits.

    Args:
        sources: ``(kept, scores)`` files per partition.
        config: The configuration.

    Returns:
        The index, each partition's rows, the duplicate decisions and the split of every row
        (index of :data:`SPLITS`; -1 for removed rows).
    """
    builder = IndexBuilder()
    rows = []
    for kept, scores in sources:
        start = len(builder)
        read_index(builder, kept, scores)
        rows.append(range(start, len(builder)))
    index = builder.finish()
    decisions = decide(index, config.near_max_distance, config.place_time_m, config.source_priority)
    codes = split_codes(index, decisions.kept, config.splits)
    return index, rows, decisions, codes


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
    index, rows, decisions, codes = decide_all(
        [(p.inputs[0], p.inputs[1]) for p in partitions], config
    )
    removed = decisions.removed(index)
    rows_of = {p.name: r for p, r in zip(partitions, rows, strict=True)}

    def signature(partition: Partition) -> str:
        ids, splits = _rows_of(index, rows_of[partition.name], codes)
        return _signature(ids, removed, splits)

    partitions = [dataclasses.replace(p, signature=signature(p)) for p in partitions]

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        splits = _rows_of(index, rows_of[partition.name], codes)[1]
        return dedup_partition(partition, outputs, removed, splits)

    stats = run_work_stage(params, STAGE, partitions, step, section, progress)
    metrics_dir = params.path_of("metrics")

    def write_metrics() -> None:
        metrics = index_metrics(index, decisions, codes, SPLITS, config)
        metrics_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomic(
            metrics_dir / "dedup.json", json.dumps(metrics, indent=1, sort_keys=True) + "\n"
        )

    # read by shard's card only: beside generate's partitions in `eoinstruct all`
    after_partitions(STAGE, write_metrics)
    return stats
