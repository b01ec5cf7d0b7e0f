"""Stage ``ingest``: read every enabled source into samples, partition by partition.

Each source's units (patches, tiles) are listed in a stable order and cut into partitions of
``ingest.partition_size`` units. For each partition the stage writes
``samples/<partition>.parquet`` (:data:`~pipeline.records.SAMPLE_SCHEMA`) and
``failed/<partition>.parquet`` (units that could not be read, with the error). Ingest reads
metadata only; pixels are first read by the score stage.
"""

from __future__ import annotations

import logging

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import Failure, write_failures, write_table
from eoinstruct.pipeline.records import Sample, samples_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs
from eoinstruct.pipeline.stages import run_work_stage
from eoinstruct.sources.base import SourceAdapter, SourceError
from eoinstruct.sources.registry import enabled_sources, make_adapter

log = logging.getLogger(__name__)

STAGE = "ingest"


def _signature(adapter: SourceAdapter, units: list[str]) -> str:
    parts = []
    for unit in units:
        for path in adapter.unit_files(unit):
            try:
                st = path.stat()
            except OSError:
                continue
            parts.append(f"{path.as_posix()}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts)


def plan(params: Params) -> tuple[dict[str, SourceAdapter], list[Partition]]:
    """List the partitions of the ingest stage.

    Args:
        params: Parameters (``sources``, ``ingest.partition_size``).

    Returns:
        The adapters by source name, and the partitions.
    """
    size = int(params.section("ingest")["partition_size"])
    if size < 1:
        raise ValueError("ingest.partition_size must be at least 1")
    sources = params.section("sources")
    adapters: dict[str, SourceAdapter] = {}
    partitions: list[Partition] = []
    for name in enabled_sources(sources):
        adapter = make_adapter(name, sources[name])
        adapters[name] = adapter
        units = adapter.list_units()
        log.info("ingest: %s: %d units under %s", name, len(units), adapter.root)
        for k, start in enumerate(range(0, len(units), size)):
            chunk = units[start : start + size]
            partitions.append(
                Partition(
                    name=f"{name}-{k:05d}",
                    source=name,
                    items=tuple(chunk),
                    signature=_signature(adapter, chunk),
                )
            )
    return adapters, partitions


def ingest_partition(
    adapter: SourceAdapter, partition: Partition, outputs: PartitionOutputs
) -> StageStats:
    """Read one partition's units and write its samples and failures.

    Args:
        adapter: The partition's source adapter.
        partition: The partition (its items are unit ids).
        outputs: Where to write.

    Returns:
        Counts: read = units, kept = units read, failed by kind; ``produced.samples``.
    """
    stats = StageStats()
    samples: list[Sample] = []
    failures: list[Failure] = []
    seen: set[str] = set()
    for unit in partition.items:
        stats.read += 1
        try:
            got = adapter.read_unit(unit)
            duplicate = [s.sample_id for s in got if s.sample_id in seen]
            if duplicate:
                raise SourceError("bad_metadata", f"duplicate sample id {duplicate[0]}")
        except SourceError as exc:
            failures.append(Failure(unit, exc.kind, str(exc)))
            stats.fail(exc.kind)
            continue
        except Exception as exc:  # an adapter bug on odd input must not lose the run
            log.exception("ingest: unexpected error on %s %s", partition.source, unit)
            failures.append(Failure(unit, "unexpected_error", f"{type(exc).__name__}: {exc}"))
            stats.fail("unexpected_error")
            continue
        seen.update(s.sample_id for s in got)
        samples.extend(got)
        stats.kept += 1
    stats.produced["samples"] = len(samples)
    write_table(outputs.path("samples"), samples_table(samples))
    write_failures(outputs.path("failed"), STAGE, partition.name, partition.source, failures)
    return stats


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

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return ingest_partition(adapters[partition.source], partition, outputs)

    return run_work_stage(params, STAGE, partitions, step, config, progress)
