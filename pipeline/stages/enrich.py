"""Stage ``enrich``: add OpenStreetMap tags to every sample by its footprint.

Reads the ingest stage's samples and writes ``samples/<partition>.parquet`` with
``osm:<key>`` tags merged in (:mod:`pipeline.osm`), from the local extract or the Overpass
endpoint of the ``osm`` section of ``params.yaml``. Nothing is dropped: samples without a
footprint pass unchanged and are counted (``produced.no_footprint``). With ``osm.enabled``
false the samples are copied through, so the stages after it do not change. An unusable
extract or endpoint stops the stage with its error (a configuration problem, not a sample's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import iter_samples, write_table
from eoinstruct.pipeline.records import samples_table
from eoinstruct.pipeline.run.partitions import (
    Partition,
    PartitionOutputs,
    file_sha256,
    partitions_from,
)
from eoinstruct.pipeline.stages import run_work_stage

STAGE = "enrich"


def enrich_partition(
    partition: Partition, outputs: PartitionOutputs, section: Mapping[str, Any]
) -> StageStats:
    """Add OSM tags to one partition's samples.

    Args:
        partition: The partition (input: the ingest samples file).
        outputs: Where to write.
        section: The ``osm`` parameters.

    Returns:
        Counts: read = kept = samples; ``produced`` counts enriched samples, samples without
        a footprint and samples on which no feature was found.
    """
    from eoinstruct.pipeline.enrich.osm.match import parse_footprint
    from eoinstruct.pipeline.enrich.osm.tagger import enrich, tagger_from_params

    tagger = tagger_from_params(section)
    stats = StageStats()
    samples = []
    for sample in iter_samples(partition.inputs[0]):
        stats.read += 1
        stats.kept += 1
        if tagger is None:
            samples.append(sample)
            continue
        if parse_footprint(sample.footprint_wkt) is None:
            stats.produced["no_footprint"] += 1
            samples.append(sample)
            continue
        enriched = enrich(sample, tagger)
        added = sum(1 for key in enriched.tags if key.startswith(str(section.get("prefix", ""))))
        stats.produced["enriched" if added else "no_osm_tags"] += 1
        samples.append(enriched)
    write_table(outputs.path("samples"), samples_table(samples))
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the enrich stage over the ingest stage's partitions.

    Args:
        params: Parameters (section ``osm``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    section = dict(params.section("osm"))
    config: dict[str, object] = {"osm": section}
    extract = section.get("extract")
    if section.get("enabled", True) and extract:
        from pathlib import Path

        path = Path(str(extract))
        if not path.is_file():
            raise FileNotFoundError(f"osm.extract {path} not found (params.yaml, section osm)")
        config["extract_sha256"] = file_sha256(path)
    partitions = partitions_from([(params.work_dir("ingest"), "samples")])

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return enrich_partition(partition, outputs, section)

    return run_work_stage(params, STAGE, partitions, step, config, progress)
