"""Stage ``score``: compute the triple filter's scores for every ingested sample.

Writes ``scores/<partition>.parquet`` (:data:`SCORE_SCHEMA`, one row per scored sample) and
``failed/<partition>.parquet`` (samples whose pixels could not be read: a corrupt GeoTIFF, a
missing band file…). Besides the filter's scores, each row holds per-band brightness
statistics, a degenerate flag, snow/cloud evidence and the hashes de-duplication compares
(:mod:`eoinstruct.pipeline.quality.dedup`). Thresholds are not applied here: the cheap filter stage
does that, so changing a threshold does not re-read any pixel.

Each image is read once (every band) and rendered once: the same pass writes
``<work>/_rendered/<partition>.arrow`` (:data:`RENDER_SCHEMA`: per image its PNG, or the
original PNG/JPEG bytes, its ``.npy`` array where the corpus ships one, and its band
histograms), which the shard stage copies into the corpus instead of decoding the pixels again
and then deletes: a hand-off cache outside the stage's outputs (:mod:`.rendered`).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import iter_samples, write_table
from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.io.rendered import (
    RENDER_SUFFIX,
    RENDERED_KIND,
    rendered_image,
    write_rendered_rows,
)
from eoinstruct.pipeline.quality.scores import (
    cloud_fraction,
    count_tag_fields,
    geolocation_problem,
    image_scores,
    rgb_or_none,
    snow_cloud_flagged,
)
from eoinstruct.pipeline.records import Sample
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require

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


PAYLOAD_KEY = "_rendered"
"""Key of a score row's rendered images until :meth:`ScoreStep.write` splits them off."""


class ScoreStep(ItemStage[Sample, dict[str, object]]):
    """Score one partition's samples (items: the enrich stage's samples).

    Args:
        dark_level: Unit brightness under which a pixel is dark.
        bright_level: Unit brightness over which a pixel is saturated.
    """

    name = STAGE
    expected_errors = (RasterReadError,)

    def __init__(self, dark_level: float, bright_level: float) -> None:
        self.dark_level = dark_level
        self.bright_level = bright_level

    def items(self, partition: Partition) -> Iterable[Sample]:
        """The enriched samples."""
        return iter_samples(partition.inputs[0])

    def item_id(self, item: Sample) -> str:
        """A sample is named by its id."""
        return item.sample_id

    def process(self, item: Sample, ledger: Ledger) -> list[dict[str, object]]:
        """Read the sample's pixels once; return its row of scores and its rendered images."""
        row, rendered = score_sample(item, self.dark_level, self.bright_level)
        row[PAYLOAD_KEY] = rendered
        return [row]

    def write(
        self,
        partition: Partition,
        outputs: PartitionOutputs,
        kept: list[dict[str, object]],
        ledger: Ledger,
    ) -> None:
        """Write the score rows and the rendered images (both possibly empty)."""
        rendered: list[dict[str, Any]] = []
        for row in kept:
            rendered.extend(row.pop(PAYLOAD_KEY, []))  # type: ignore[arg-type]
        write_table(outputs.path("scores"), pa.Table.from_pylist(kept, schema=SCORE_SCHEMA))
        write_rendered_rows(outputs.path(RENDERED_KIND, RENDER_SUFFIX, transient=True), rendered)


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else value


def score_row(sample: Sample, dark_level: float, bright_level: float) -> dict[str, object]:
    """Compute one sample's scores (a row of :data:`SCORE_SCHEMA`).

    Args:
        sample: The sample.
        dark_level: Unit brightness under which a pixel is dark.
        bright_level: Unit brightness over which a pixel is saturated.

    Returns:
        The row.

    Raises:
        RasterReadError: If a raster cannot be read.
    """
    return score_sample(sample, dark_level, bright_level)[0]


def score_sample(
    sample: Sample, dark_level: float, bright_level: float
) -> tuple[dict[str, object], list[dict[str, Any]]]:
    """Read each image of a sample once: its row of scores and its rendered images.

    Args:
        sample: The sample.
        dark_level: Unit brightness under which a pixel is dark.
        bright_level: Unit brightness over which a pixel is saturated.

    Returns:
        The row of :data:`SCORE_SCHEMA` and one row of :data:`RENDER_SCHEMA` per image.

    Raises:
        RasterReadError: If a raster cannot be read.
    """
    per_image = []
    rendered = []
    for image in sample.images:
        array = read_image(image)  # every band, each file opened once
        rgb = rgb_or_none(image, array)
        per_image.append(image_scores(image, dark_level, bright_level, array=array, rgb=rgb))
        rendered.append(rendered_image(sample, image, array, rgb))
    clouds = cloud_fraction(sample)
    content = hashlib.sha256(
        "".join(
            f"{im.role}:{s.content_sha256};" for im, s in zip(sample.images, per_image, strict=True)
        ).encode()
    ).hexdigest()
    row: dict[str, object] = {
        "sample_id": sample.sample_id,
        "source": sample.source,
        "n_tags": count_tag_fields(sample),
        "geo_problem": geolocation_problem(sample),
        "image_roles": [im.role for im in sample.images],
        "image_encodings": [im.encoding for im in sample.images],
        "brightness": [_clean(s.brightness) for s in per_image],
        "dark_fraction": [s.dark_fraction for s in per_image],
        "bright_fraction": [s.bright_fraction for s in per_image],
        "valid_fraction": [s.valid_fraction for s in per_image],
        "band_names": [list(im.bands) for im in sample.images],
        "band_mean": [[_clean(v) for v in s.band_mean] for s in per_image],
        "band_p2": [[_clean(v) for v in s.band_p2] for s in per_image],
        "band_p50": [[_clean(v) for v in s.band_p50] for s in per_image],
        "band_p98": [[_clean(v) for v in s.band_p98] for s in per_image],
        "degenerate": [s.degenerate for s in per_image],
        "snow_cloud": snow_cloud_flagged(sample),
        "cloud_fraction": clouds,
        "content_sha256": content,
        "phash": [s.phash for s in per_image],
    }
    return row, rendered


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the score stage over the enrich stage's partitions.

    Args:
        params: Parameters (section ``score``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    settings = require(params.settings.score, "score")
    partitions = partitions_from([(params.work_dir("enrich"), "samples")])
    step = ScoreStep(settings.dark_level, settings.bright_level)
    return run_work_stage(params, STAGE, partitions, step, settings.as_dict(), progress)
