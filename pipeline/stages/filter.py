"""Stage ``filter``: apply the triple filter's thresholds to the stored scores.

A cheap stage by design: it reads the samples and their scores and writes
``kept/<partition>.parquet`` (the samples that pass, same schema as the ingest output) and
``dropped/<partition>.parquet`` (every removed sample with all the reasons that applied and
the values behind them). Samples that failed scoring were already counted as failures by the
score stage and are not read here.

Reasons, checked in this order (the first one is the sample's counted reason):
``no_geolocation``, ``low_coverage``, ``too_dark``, ``too_bright``, ``too_few_tags``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.accounting import StageStats
from pipeline.config import ConfigError, Params
from pipeline.executor import Partition, PartitionOutputs, partitions_from
from pipeline.parquet_io import Drop, iter_rows, iter_samples, write_drops, write_table
from pipeline.records import ENCODINGS, samples_table, to_json
from pipeline.stages import run_work_stage

STAGE = "filter"

REASONS: tuple[str, ...] = (
    "no_geolocation",
    "low_coverage",
    "too_dark",
    "too_bright",
    "too_few_tags",
)


@dataclass(frozen=True)
class Thresholds:
    """The filter's thresholds (``params.yaml`` section ``filter``).

    Attributes:
        min_tags: Minimum number of tag fields.
        min_valid_fraction: Minimum valid-pixel fraction of every image.
        require_geolocation: Drop samples without a usable footprint and CRS.
        brightness: Encoding → (min, max) mean unit brightness of every image.
    """

    min_tags: int
    min_valid_fraction: float
    require_geolocation: bool
    brightness: Mapping[str, tuple[float, float]]

    @classmethod
    def from_params(cls, section: Mapping[str, Any]) -> Thresholds:
        """Build thresholds from the ``filter`` section, checking every value."""
        try:
            brightness = {
                enc: (float(v["min"]), float(v["max"]))
                for enc, v in dict(section["brightness"]).items()
            }
            out = cls(
                min_tags=int(section["min_tags"]),
                min_valid_fraction=float(section["min_valid_fraction"]),
                require_geolocation=bool(section["require_geolocation"]),
                brightness=brightness,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"filter section of params.yaml is incomplete: {exc}") from exc
        unknown = set(brightness) - set(ENCODINGS)
        if unknown:
            raise ConfigError(f"filter.brightness: unknown encodings {sorted(unknown)}")
        for enc, (low, high) in brightness.items():
            if not 0 <= low < high <= 1:
                raise ConfigError(f"filter.brightness.{enc}: need 0 <= min < max <= 1")
        if not 0 <= out.min_valid_fraction <= 1:
            raise ConfigError("filter.min_valid_fraction must lie in [0, 1]")
        return out


def decide(scores: Mapping[str, Any], thresholds: Thresholds) -> list[str]:
    """Return every drop reason that applies to a scored sample (empty: keep it).

    Args:
        scores: A row of the score stage's output.
        thresholds: The thresholds.

    Returns:
        Reasons in :data:`REASONS` order.
    """
    reasons: list[str] = []
    if thresholds.require_geolocation and scores["geo_problem"]:
        reasons.append("no_geolocation")
    # auxiliary products (encoding "float", e.g. STARCOP's mag1c, whose zeros are nodata)
    # take part in neither the coverage nor the brightness test
    primary = [i for i, enc in enumerate(scores["image_encodings"]) if enc != "float"] or list(
        range(len(scores["image_encodings"]))
    )
    if min(scores["valid_fraction"][i] for i in primary) < thresholds.min_valid_fraction:
        reasons.append("low_coverage")
    dark = bright = False
    for i in primary:
        enc, value = scores["image_encodings"][i], scores["brightness"][i]
        low, high = thresholds.brightness.get(enc, (0.0, 1.0))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue  # no valid pixel (low_coverage says so) or no brightness scale
        dark |= value < low
        bright |= value > high
    if dark:
        reasons.append("too_dark")
    if bright:
        reasons.append("too_bright")
    if scores["n_tags"] < thresholds.min_tags:
        reasons.append("too_few_tags")
    return reasons


def _detail(scores: Mapping[str, Any]) -> str:
    keys = ("n_tags", "geo_problem", "brightness", "valid_fraction", "dark_fraction")
    return to_json({k: scores[k] for k in keys})


def filter_partition(
    partition: Partition, outputs: PartitionOutputs, thresholds: Thresholds
) -> StageStats:
    """Apply the thresholds to one partition.

    Args:
        partition: The partition (inputs: enriched samples, scores).
        outputs: Where to write.
        thresholds: The thresholds.

    Returns:
        Counts: read = scored samples, kept, dropped by first reason.
    """
    scores = {str(row["sample_id"]): row for row in iter_rows(partition.inputs[1])}
    stats = StageStats()
    kept = []
    drops: list[Drop] = []
    for sample in iter_samples(partition.inputs[0]):
        row = scores.get(sample.sample_id)
        if row is None:
            continue  # failed in the score stage, counted there
        stats.read += 1
        reasons = decide(row, thresholds)
        if reasons:
            drops.append(Drop(sample.sample_id, tuple(reasons), _detail(row)))
            stats.drop(reasons[0])
        else:
            kept.append(sample)
            stats.kept += 1
    if stats.read != len(scores):
        raise ValueError(f"{partition.name}: scores for samples that enrich did not write")
    write_table(outputs.path("kept"), samples_table(kept))
    write_drops(outputs.path("dropped"), STAGE, partition.name, partition.source, drops)
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the filter stage.

    Args:
        params: Parameters (section ``filter``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    section = dict(params.section("filter"))
    thresholds = Thresholds.from_params(section)
    partitions = partitions_from(
        [(params.work_dir("enrich"), "samples"), (params.work_dir("score"), "scores")]
    )

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return filter_partition(partition, outputs, thresholds)

    return run_work_stage(params, STAGE, partitions, step, section, progress)
