"""Stage ``score``: compute the triple filter's scores for every ingested sample.

Writes ``scores/<partition>.parquet`` (:data:`SCORE_SCHEMA`, one row per scored sample) and
``failed/<partition>.parquet`` (samples whose pixels could not be read: a corrupt GeoTIFF, a
missing band file…). Besides the filter's scores, each row holds per-band brightness
statistics, a degenerate flag, snow/cloud evidence and the hashes de-duplication compares
(:mod:`pipeline.dedup`). Thresholds are not applied here: the cheap filter stage does that, so
changing a threshold does not re-read any pixel.
"""

from __future__ import annotations

import hashlib
import logging
import math

import pyarrow as pa

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import Failure, iter_samples, write_failures, write_table
from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.quality.scores import (
    cloud_fraction,
    count_tag_fields,
    geolocation_problem,
    image_scores,
    snow_cloud_flagged,
)
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.stages import run_work_stage

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
        ("band_names", pa.list_(pa.list_(pa.string()))),
        ("band_mean", pa.list_(pa.list_(pa.float64()))),
        ("band_p2", pa.list_(pa.list_(pa.float64()))),
        ("band_p50", pa.list_(pa.list_(pa.float64()))),
        ("band_p98", pa.list_(pa.list_(pa.float64()))),
        ("degenerate", pa.list_(pa.bool_())),
        ("snow_cloud", pa.bool_()),
        ("cloud_fraction", pa.float64()),
        ("content_sha256", pa.string()),
        ("phash", pa.list_(pa.uint64())),
    ]
)
"""Scores of one sample; list columns hold one value per image, in the sample's order
(``band_*``: one list per image, one value per band of that image, unit brightness;
``cloud_fraction``: null without a cloud mask; ``content_sha256``: over every image's pixel
hash; ``phash``: null where an image has no RGB rendering)."""


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
            clouds = cloud_fraction(sample)
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

        content = hashlib.sha256(
            "".join(
                f"{im.role}:{s.content_sha256};"
                for im, s in zip(sample.images, per_image, strict=True)
            ).encode()
        ).hexdigest()

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
                "band_names": [list(im.bands) for im in sample.images],
                "band_mean": [[clean(v) for v in s.band_mean] for s in per_image],
                "band_p2": [[clean(v) for v in s.band_p2] for s in per_image],
                "band_p50": [[clean(v) for v in s.band_p50] for s in per_image],
                "band_p98": [[clean(v) for v in s.band_p98] for s in per_image],
                "degenerate": [s.degenerate for s in per_image],
                "snow_cloud": snow_cloud_flagged(sample),
                "cloud_fraction": clouds,
                "content_sha256": content,
                "phash": [s.phash for s in per_image],
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
