"""Stage ``score``: compute the triple filter's scores for every ingested sample.

Writes ``scores/<partition>.parquet`` (:data:`SCORE_SCHEMA`, one row per scored sample) and
``failed/<partition>.parquet`` (samples whose pixels could not be read: a corrupt GeoTIFF, a
missing band file…). Thresholds are not applied here: the cheap filter stage does that, so
changing a threshold does not re-read any pixel.
"""

from __future__ import annotations

import logging
import math

import pyarrow as pa

from pipeline.accounting import StageStats
from pipeline.config import Params
from pipeline.executor import Partition, PartitionOutputs, partitions_from
from pipeline.parquet_io import Failure, iter_samples, write_failures, write_table
from pipeline.rasters import RasterReadError
from pipeline.scores import count_tag_fields, geolocation_problem, image_scores
from pipeline.stages import run_work_stage

log = logging.getLogger(__name__)

STAGE = "score"

SCORE_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("source", pa.string()),
        ("n_tags", pa.int32()),
        ("geo_problem", pa.string()),
        ("image_roles", pa.list_(pa.string())),
        ("image_encodings", pa.list_(pa.string())),
        ("brightness", pa.list_(pa.float64())),
        ("dark_fraction", pa.list_(pa.float64())),
        ("bright_fraction", pa.list_(pa.float64())),
        ("valid_fraction", pa.list_(pa.float64())),
    ]
)
"""Scores of one sample; list columns hold one value per image, in the sample's order."""


def score_partition(
    partition: Partition, outputs: PartitionOutputs, dark_level: float, bright_level: float
) -> StageStats:
    """Score one partition's samples.

    Args:
        partition: The partition (input: the enrich stage's samples file).
        outputs: Where to write.
        dark_level: Unit brightness under which a pixel is dark.
        bright_level: Unit brightness over which a pixel is saturated.

    Returns:
        Counts: read = samples, kept = scored, failed by kind.
    """
    stats = StageStats()
    rows: list[dict[str, object]] = []
    failures: list[Failure] = []
    for sample in iter_samples(partition.inputs[0]):
        stats.read += 1
        try:
            per_image = [image_scores(im, dark_level, bright_level) for im in sample.images]
        except RasterReadError as exc:
            failures.append(Failure(sample.sample_id, exc.kind, str(exc)))
            stats.fail(exc.kind)
            continue
        except Exception as exc:  # keep the run alive; the ledger names the sample
            log.exception("score: unexpected error on %s", sample.sample_id)
            failures.append(
                Failure(sample.sample_id, "unexpected_error", f"{type(exc).__name__}: {exc}")
            )
            stats.fail("unexpected_error")
            continue

        def clean(value: float) -> float | None:
            return None if math.isnan(value) else value

        rows.append(
            {
                "sample_id": sample.sample_id,
                "source": sample.source,
                "n_tags": count_tag_fields(sample),
                "geo_problem": geolocation_problem(sample),
                "image_roles": [im.role for im in sample.images],
                "image_encodings": [im.encoding for im in sample.images],
                "brightness": [clean(s.brightness) for s in per_image],
                "dark_fraction": [s.dark_fraction for s in per_image],
                "bright_fraction": [s.bright_fraction for s in per_image],
                "valid_fraction": [s.valid_fraction for s in per_image],
            }
        )
        stats.kept += 1
    write_table(outputs.path("scores"), pa.Table.from_pylist(rows, schema=SCORE_SCHEMA))
    write_failures(outputs.path("failed"), STAGE, partition.name, partition.source, failures)
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the score stage over the ingest stage's partitions.

    Args:
        params: Parameters (section ``score``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    config = dict(params.section("score"))
    dark, bright = float(config["dark_level"]), float(config["bright_level"])
    partitions = partitions_from([(params.work_dir("enrich"), "samples")])

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return score_partition(partition, outputs, dark, bright)

    return run_work_stage(params, STAGE, partitions, step, config, progress)
