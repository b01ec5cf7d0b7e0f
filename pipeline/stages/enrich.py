"""Stage ``enrich``: add OpenStreetMap tags to every sample by its footprint.

Reads the ingest stage's samples and writes ``samples/<partition>.parquet`` with
``osm:<key>`` tags merged in (``pipeline/enrich/osm/``), from the local extract or the Overpass
endpoint of the ``osm`` section of ``params.yaml``. Nothing is dropped: samples without a
footprint pass unchanged and are counted (``produced.no_footprint``). With ``osm.enabled``
false the samples are copied through, so the stages after it do not change. An unusable
extract or endpoint stops the stage with its error (a configuration problem, not a sample's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import iter_samples, read_samples_table, write_table
from eoinstruct.pipeline.records import Sample, samples_table
from eoinstruct.pipeline.run.fingerprint import file_sha256
from eoinstruct.pipeline.run.partitions import (
    Partition,
    PartitionOutputs,
    partitions_from,
)
from eoinstruct.pipeline.run.runner import ItemStage, Ledger, run_work_stage

STAGE = "enrich"


class EnrichStep(ItemStage[Sample, Sample]):
    """Add OSM tags to one partition's samples (items: the ingest stage's samples).

    Args:
        section: The ``osm`` parameters.
    """

    name = STAGE
    failures_kind = None

    def __init__(self, section: Mapping[str, Any]) -> None:
        self.section = dict(section)
        self._tagger: Any = None
        self._ready = False

    def run_partition(self, partition: Partition, outputs: PartitionOutputs) -> StageStats:
        """Enrich one partition; with OSM disabled, copy its table through as one column set.

        Without a tagger every sample passes unchanged, so the ingest table is written again
        as it is (the same rows and schema, the same bytes as rebuilding each sample) instead
        of turning each row into a :class:`Sample` and back.
        """
        if not self._ready:
            from eoinstruct.pipeline.enrich.osm.tagger import tagger_from_params

            self._tagger, self._ready = tagger_from_params(self.section), True
        if self._tagger is not None:
            return super().run_partition(partition, outputs)
        table = read_samples_table(partition.inputs[0])
        write_table(outputs.path("samples"), table)
        return StageStats(read=table.num_rows, kept=table.num_rows)

    def items(self, partition: Partition) -> Iterable[Sample]:
        """The ingested samples."""
        return iter_samples(partition.inputs[0])

    def item_id(self, item: Sample) -> str:
        """A sample is named by its id."""
        return item.sample_id

    def process(self, item: Sample, ledger: Ledger) -> list[Sample]:
        """Return the sample with its ``osm:*`` tags; count enriched and untouched samples."""
        # imported here: osmnx is slow to import and only this stage needs it
        from eoinstruct.pipeline.enrich.osm.match import parse_footprint
        from eoinstruct.pipeline.enrich.osm.tagger import enrich, tagger_from_params

        if not self._ready:
            self._tagger, self._ready = tagger_from_params(self.section), True
        if self._tagger is None:
            return [item]
        if parse_footprint(item.footprint_wkt) is None:
            ledger.stats.produced["no_footprint"] += 1
            return [item]
        enriched = enrich(item, self._tagger)
        prefix = str(self.section.get("prefix", ""))
        added = sum(1 for key in enriched.tags if key.startswith(prefix))
        ledger.stats.produced["enriched" if added else "no_osm_tags"] += 1
        return [enriched]

    def write(
        self, partition: Partition, outputs: PartitionOutputs, kept: list[Sample], ledger: Ledger
    ) -> None:
        """Write the samples."""
        write_table(outputs.path("samples"), samples_table(kept))


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
        path = Path(str(extract))
        if not path.is_file():
            raise FileNotFoundError(f"osm.extract {path} not found (params.yaml, section osm)")
        config["extract_sha256"] = file_sha256(path)
    partitions = partitions_from([(params.work_dir("ingest"), "samples")])
    return run_work_stage(params, STAGE, partitions, EnrichStep(section), config, progress)
