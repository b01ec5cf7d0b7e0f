"""Stage ``ingest``: read every enabled source into samples, partition by partition.

Each source's units (patches, tiles) are listed in a stable order and cut into partitions of
``ingest.partition_size`` units. For each partition the stage writes
``samples/<partition>.parquet`` (:data:`~eoinstruct.pipeline.records.SAMPLE_SCHEMA`) and
``failed/<partition>.parquet`` (units that could not be read, with the error). Ingest reads
metadata only; pixels are first read by the score stage.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import write_table
from eoinstruct.pipeline.records import Sample, samples_table
from eoinstruct.pipeline.run.fingerprint import index_file_lines, unit_file_lines
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs
from eoinstruct.pipeline.run.runner import ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require
from eoinstruct.pipeline.stages import stage as stage_entry
from eoinstruct.sources.base import SourceAdapter, SourceError
from eoinstruct.sources.registry import enabled_sources, make_adapter

log = logging.getLogger(__name__)

STAGE = "ingest"

LISTINGS_KEPT = 20_000
"""Unit folders whose file names the plan's listing hands to reading (``keep_listings``):
about 1 kB each, so ≈ 20 MB at most; folders past it are listed again when read."""

_Item = tuple[str, str, list[Sample] | Exception | None]
"""An ingest item: source, unit id, and the unit's samples or error if read ahead."""


def plan(params: Params) -> tuple[dict[str, SourceAdapter], list[Partition]]:
    """List the partitions of the ingest stage.

    Args:
        params: Parameters (``sources``, ``ingest.partition_size``).

    Returns:
        The adapters by source name, and the partitions.
    """
    size = require(params.settings.ingest, "ingest").partition_size
    sources = params.section("sources")
    adapters: dict[str, SourceAdapter] = {}
    partitions: list[Partition] = []
    for name in enabled_sources(sources):
        adapter = make_adapter(name, sources[name])
        adapters[name] = adapter
        keep_listings = getattr(adapter, "keep_listings", None)
        if keep_listings is not None:  # the signatures' listing serves reading too
            keep_listings(LISTINGS_KEPT)
        units = adapter.list_units()
        log.info("ingest: %s: %d units under %s", name, len(units), adapter.root)
        # the root's index, split and label files concern every unit: each partition's
        # signature names them, so a changed split CSV redoes the source's partitions
        root = Path(adapter.root)
        index = "\n".join(index_file_lines(root)) if root.is_dir() else ""
        index_line = f"index:{hashlib.sha256(index.encode()).hexdigest()}"
        for k, start in enumerate(range(0, len(units), size)):
            chunk = units[start : start + size]
            partitions.append(
                Partition(
                    name=f"{name}-{k:05d}",
                    source=name,
                    items=tuple(chunk),
                    signature=f"{index_line}\nfiles:{_files_digest(adapter, chunk)}",
                )
            )
    return adapters, partitions


def _files_digest(adapter: SourceAdapter, units: Sequence[str]) -> str:
    """SHA-256 over the units' ``path:size:mtime_ns`` lines (:func:`unit_file_lines`).

    A partition's signature holds this digest rather than the lines: the same changes redo
    it, without the plan holding every file's line (≈ 100 bytes each; millions at scale)
    until the partitions are done, nor shipping them to the workers.
    """
    return hashlib.sha256("\n".join(unit_file_lines(adapter, units)).encode()).hexdigest()


class IngestStep(ItemStage[_Item, Sample]):
    """Read one partition's units into samples (items: ``(source, unit id, read ahead)``).

    An adapter with a ``read_units`` method reads the partition's units in one call (BigEarthNet
    v1 transforms all their footprints at once); each item then carries its unit's samples or
    error. Otherwise the third element is None and :meth:`process` calls ``read_unit``.

    Args:
        adapters: The enabled sources' adapters, by name.
    """

    name = STAGE
    expected_errors = (SourceError,)

    def __init__(self, adapters: dict[str, SourceAdapter]) -> None:
        self.adapters = adapters

    def run_partition(self, partition: Partition, outputs: PartitionOutputs) -> StageStats:
        """Run the partition inside one GDAL environment.

        rasterio opens (and closes) a default environment around every call made outside one:
        for the adapters' per-unit CRS transforms that cost more than the transforms. Inside
        this one the calls run with the same defaults.
        """
        from rasterio.env import Env  # the adapters import rasterio anyway

        with Env.from_defaults():
            return super().run_partition(partition, outputs)

    def items(self, partition: Partition) -> Iterable[_Item]:
        """The partition's unit ids, with their source and what ``read_units`` gave, if any."""
        units = partition.items
        read_units = getattr(self.adapters[partition.source], "read_units", None)
        ahead = read_units(units) if read_units is not None else [None] * len(units)
        return ((partition.source, unit, got) for unit, got in zip(units, ahead, strict=True))

    def item_id(self, item: _Item) -> str:
        """A unit is named by its id."""
        return item[1]

    def process(self, item: _Item, ledger: Ledger) -> list[Sample]:
        """Read one unit; a sample id met twice in the partition fails the unit."""
        source, unit, got = item
        if got is None:
            got = self.adapters[source].read_unit(unit)
        elif isinstance(got, Exception):
            raise got
        duplicate = [s.sample_id for s in got if s.sample_id in ledger.seen]
        if duplicate:
            raise SourceError("bad_metadata", f"duplicate sample id {duplicate[0]}")
        ledger.seen.update(s.sample_id for s in got)
        return got

    def write(
        self, partition: Partition, outputs: PartitionOutputs, kept: list[Sample], ledger: Ledger
    ) -> None:
        """Write the samples; ``produced.samples`` counts them."""
        ledger.stats.produced["samples"] = len(kept)
        write_table(outputs.path("samples"), samples_table(kept))


def _declared_folders(params: Params) -> list[Path]:
    """The stage's declared outputs besides its work folder (``sources.stac.chips_dir``…).

    DVC refuses a build whose declared output is missing, so each is created even when its
    source is disabled or wrote nothing (an empty folder).
    """
    folders = []
    for template in stage_entry(STAGE).outputs:
        keys = re.fullmatch(r"\$\{([\w.]+)\}", template)
        if not keys:
            continue
        value: Any = params.raw
        for key in keys.group(1).split("."):
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, str) and value:
            folders.append(Path(value))
    return folders


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the ingest stage.

    Args:
        params: Parameters.
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    adapters, partitions = plan(params)
    config = {"sources": dict(params.section("sources")), "ingest": dict(params.section("ingest"))}
    stats = run_work_stage(params, STAGE, partitions, IngestStep(adapters), config, progress)
    for folder in _declared_folders(params):
        folder.mkdir(parents=True, exist_ok=True)
    return stats
