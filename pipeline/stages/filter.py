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
source and reason) and plots under ``<paths.metrics>/plots/``
(:mod:`eoinstruct.pipeline.quality.plots`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import (
    read_columns,
    read_samples_table,
    take_rows,
    write_table,
)
from eoinstruct.pipeline.quality.plots import write_filter_metrics
from eoinstruct.pipeline.quality.thresholds import (
    DETAIL_KEYS,
    REASONS,
    Thresholds,
    decide,
    drop_detail,
)
from eoinstruct.pipeline.run.epilogues import after_partitions
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import ItemDropped, ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require

__all__ = ["REASONS", "FilterStep", "Thresholds", "decide", "run"]

STAGE = "filter"


SCORE_COLUMNS: tuple[str, ...] = ("sample_id", "source", *DETAIL_KEYS)
"""The score columns :func:`decide` and :func:`drop_detail` read (not the per-band lists)."""


def _score_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a scores file with the columns of :data:`SCORE_COLUMNS` it has."""
    parquet = pq.ParquetFile(path)
    names = set(parquet.schema_arrow.names)
    columns = [c for c in SCORE_COLUMNS if c in names]
    rows: list[dict[str, Any]] = parquet.read(columns=columns, use_threads=False).to_pylist()
    return rows


def _copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file, hashing its bytes on the way; return the SHA-256 and the size."""
    data = source.read_bytes()
    target.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), len(data)


class FilterStep(ItemStage[tuple[int, str, dict[str, Any]], int]):
    """Apply the thresholds to one partition (items: each scored sample with its scores).

    Samples that failed scoring were counted by the score stage and are not read here. An
    item is the sample's row number in the enrich table, its id and its scores; only the
    ``sample_id`` and ``footprint_wkt`` columns of the samples are read for the decisions,
    and the kept rows are taken from the table as columns (no :class:`Sample` per row).

    Args:
        thresholds: The thresholds.
    """

    name = STAGE
    drops_kind = "dropped"
    failures_kind = None

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._sizes: dict[str, tuple[int, int]] = {}
        """Per partition being run: rows of its samples file and of its scores file."""

    def items(self, partition: Partition) -> Iterable[tuple[int, str, dict[str, Any]]]:
        """The enriched samples that have a row of scores: row number, id and scores."""
        score_rows = _score_rows(partition.inputs[1])
        scores = {str(row["sample_id"]): row for row in score_rows}
        columns = read_columns(partition.inputs[0], ["sample_id", "footprint_wkt"])
        self._sizes[partition.name] = (columns.num_rows, len(score_rows))
        ids = columns.column("sample_id").to_pylist()
        footprints = columns.column("footprint_wkt").to_pylist()
        for index, (sample_id, footprint) in enumerate(zip(ids, footprints, strict=True)):
            row = scores.get(str(sample_id))
            if row is not None:  # the values as a Sample holds them (str, as sample_from_row)
                yield index, str(sample_id), {**row, "footprint_wkt": str(footprint)}

    def item_id(self, item: tuple[int, str, dict[str, Any]]) -> str:
        """A sample is named by its id."""
        return item[1]

    def process(self, item: tuple[int, str, dict[str, Any]], ledger: Ledger) -> list[int]:
        """Keep the sample (its row number), or drop it with every reason that applies."""
        index, _, row = item
        reasons = decide(row, self.thresholds)
        if reasons:
            raise ItemDropped(reasons, drop_detail(row))
        return [index]

    def write(
        self, partition: Partition, outputs: PartitionOutputs, kept: list[int], ledger: Ledger
    ) -> None:
        """Write the kept samples' rows, after checking every score row found its sample.

        When every row of the samples file is kept, the file itself is the kept table (enrich
        wrote it with :func:`write_table`, as this would): it is copied, not decoded and
        encoded again.
        """
        sample_rows, score_rows = self._sizes.pop(partition.name)
        if ledger.stats.read != score_rows:
            raise ValueError(f"{partition.name}: scores for samples that enrich did not write")
        target = outputs.path("kept")
        if len(kept) == sample_rows:  # increasing row numbers, as many as the rows: all
            outputs.digest_of(target, *_copy_hashed(partition.inputs[0], target))
            return
        table = read_samples_table(partition.inputs[0])
        write_table(target, take_rows(table, kept))


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the filter stage.

    Args:
        params: Parameters (section ``filter``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    settings = require(params.settings.filter, "filter")
    thresholds = Thresholds.from_settings(settings)
    partitions = partitions_from(
        [(params.work_dir("enrich"), "samples"), (params.work_dir("score"), "scores")]
    )
    step = FilterStep(thresholds)
    stats = run_work_stage(params, STAGE, partitions, step, settings.as_dict(), progress)
    filter_dir, score_dir = params.work_dir(STAGE), params.work_dir("score")
    after_partitions(  # no later stage reads the figures: beside dedup in `eoinstruct all`
        STAGE,
        lambda: write_filter_metrics(filter_dir, score_dir, params.path_of("metrics"), thresholds),
    )
    return stats
