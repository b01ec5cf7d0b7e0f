"""Stage ``filter``: apply the triple filter's thresholds to the stored scores.

A cheap stage by design: it reads the samples and their scores and writes
``kept/<partition>.parquet`` (the samples that pass, same schema as the ingest output) and
``dropped/<partition>.parquet`` (every removed sample with all the reasons that applied and
the values behind them). Samples that failed scoring were already counted as failures by the
score stage and are not read here.

Reasons, checked in this order (the first one is the sample's counted reason; all are kept in
the ledger): ``no_geolocation``, ``outside_aoi`` (footprint does not meet ``filter.aoi``),
``low_coverage``, ``snow_or_cloud`` (the source flags snow/cloud/shadow, or a cloud mask covers
more than ``filter.max_cloud_fraction``; only with ``filter.snow_cloud: drop``), ``too_dark``,
``too_bright``, ``degenerate`` (a band constant or entirely nodata), ``too_few_tags``.

After the partitions, the stage writes ``<paths.metrics>/filter.json`` (kept and dropped per
source and reason) and plots under ``<paths.metrics>/plots/`` (:mod:`pipeline.filter_plots`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.errors import ShapelyError

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import ConfigError, Params
from eoinstruct.pipeline.io.parquet import Drop, iter_rows, iter_samples, write_drops, write_table
from eoinstruct.pipeline.quality.plots import write_filter_metrics
from eoinstruct.pipeline.records import ENCODINGS, samples_table, to_json
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.stages import run_work_stage

STAGE = "filter"

REASONS: tuple[str, ...] = (
    "no_geolocation",
    "outside_aoi",
    "low_coverage",
    "snow_or_cloud",
    "too_dark",
    "too_bright",
    "degenerate",
    "too_few_tags",
)

SNOW_CLOUD_MODES: tuple[str, ...] = ("drop", "keep")


@dataclass(frozen=True)
class Thresholds:
    """The filter's thresholds (``params.yaml`` section ``filter``).

    Attributes:
        min_tags: Minimum number of tag fields.
        min_valid_fraction: Minimum valid-pixel fraction of every image.
        require_geolocation: Drop samples without a usable footprint and CRS.
        brightness: Encoding → (min, max) mean unit brightness of every image.
        aoi: Area of interest ``(west, south, east, north)`` in degrees, or None for the whole
            Earth; samples whose footprint does not intersect it are dropped.
        snow_cloud: ``drop`` or ``keep`` samples flagged for snow/cloud/shadow.
        max_cloud_fraction: Largest cloud-mask share kept (with ``snow_cloud: drop``).
        drop_degenerate: Drop samples with a constant or all-nodata band.
    """

    min_tags: int
    min_valid_fraction: float
    require_geolocation: bool
    brightness: Mapping[str, tuple[float, float]]
    aoi: tuple[float, float, float, float] | None = None
    snow_cloud: str = "drop"
    max_cloud_fraction: float = 0.1
    drop_degenerate: bool = True

    @classmethod
    def from_params(cls, section: Mapping[str, Any]) -> Thresholds:
        """Build thresholds from the ``filter`` section, checking every value."""
        try:
            brightness = {
                enc: (float(v["min"]), float(v["max"]))
                for enc, v in dict(section["brightness"]).items()
            }
            aoi_value = section.get("aoi")
            aoi = None if aoi_value is None else tuple(float(v) for v in aoi_value)
            out = cls(
                min_tags=int(section["min_tags"]),
                min_valid_fraction=float(section["min_valid_fraction"]),
                require_geolocation=bool(section["require_geolocation"]),
                brightness=brightness,
                aoi=aoi,  # type: ignore[arg-type]
                snow_cloud=str(section.get("snow_cloud", "drop")),
                max_cloud_fraction=float(section.get("max_cloud_fraction", 0.1)),
                drop_degenerate=bool(section.get("drop_degenerate", True)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"filter section of params.yaml is incomplete: {exc}") from exc
        if out.aoi is not None:
            box = out.aoi
            if len(box) != 4 or not (
                -180 <= box[0] < box[2] <= 180 and -90 <= box[1] < box[3] <= 90
            ):
                raise ConfigError("filter.aoi must be [west, south, east, north] in degrees")
        if out.snow_cloud not in SNOW_CLOUD_MODES:
            raise ConfigError(f"filter.snow_cloud must be one of {list(SNOW_CLOUD_MODES)}")
        if not 0 <= out.max_cloud_fraction <= 1:
            raise ConfigError("filter.max_cloud_fraction must lie in [0, 1]")
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
    if thresholds.aoi is not None and not in_aoi(scores.get("footprint_wkt"), thresholds):
        reasons.append("outside_aoi")
    # auxiliary products (encoding "float", e.g. STARCOP's mag1c, whose zeros are nodata)
    # take part in neither the coverage nor the brightness test
    primary = [i for i, enc in enumerate(scores["image_encodings"]) if enc != "float"] or list(
        range(len(scores["image_encodings"]))
    )
    if min(scores["valid_fraction"][i] for i in primary) < thresholds.min_valid_fraction:
        reasons.append("low_coverage")
    if thresholds.snow_cloud == "drop":
        clouds = scores.get("cloud_fraction")
        if scores.get("snow_cloud") or (
            clouds is not None and clouds > thresholds.max_cloud_fraction
        ):
            reasons.append("snow_or_cloud")
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
    degenerate = scores.get("degenerate") or []
    if thresholds.drop_degenerate and any(degenerate[i] for i in primary if i < len(degenerate)):
        reasons.append("degenerate")
    if scores["n_tags"] < thresholds.min_tags:
        reasons.append("too_few_tags")
    return reasons


def in_aoi(footprint_wkt: object, thresholds: Thresholds) -> bool:
    """Say whether a footprint meets the area of interest (always true without one).

    Args:
        footprint_wkt: The sample's lon/lat footprint (WKT), possibly empty or invalid.
        thresholds: The thresholds (``aoi``).

    Returns:
        True when the footprint intersects the AOI box; False when it does not or cannot
        be parsed.
    """
    if thresholds.aoi is None:
        return True
    try:
        geom = shapely.from_wkt(str(footprint_wkt or ""))
    except (ShapelyError, ValueError):
        return False
    if geom is None or geom.is_empty:
        return False
    return bool(geom.intersects(shapely.box(*thresholds.aoi)))


DETAIL_KEYS: tuple[str, ...] = (
    "n_tags",
    "geo_problem",
    "image_encodings",
    "brightness",
    "valid_fraction",
    "dark_fraction",
    "bright_fraction",
    "degenerate",
    "snow_cloud",
    "cloud_fraction",
)


def _detail(scores: Mapping[str, Any]) -> str:
    return to_json({k: scores[k] for k in DETAIL_KEYS if k in scores})


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
        row = {**row, "footprint_wkt": sample.footprint_wkt}
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

    stats = run_work_stage(params, STAGE, partitions, step, section, progress)
    write_filter_metrics(
        params.work_dir(STAGE), params.work_dir("score"), params.path_of("metrics"), thresholds
    )
    return stats
