"""Stage ``generate``: template-based instruction pairs for every kept sample.

For each sample, every template of its source is tried (:mod:`templates`); the builder
computes the answer from the labels. Outputs per partition: ``pairs/<partition>.parquet``
(:data:`~eoinstruct.pipeline.records.PAIR_SCHEMA`; checked by the validate stage before anything is
written to the corpus), ``dropped/<partition>.parquet`` (samples that got no pair, with the
reasons of each template) and ``failed/<partition>.parquet`` (unexpected errors).

Accounting is per sample: read = kept (≥ 1 pair) + dropped (no template applied) + failed.
Pairs per task and templates not applicable by reason are in ``produced``.
"""

from __future__ import annotations

from collections.abc import Iterable

from eoinstruct.pipeline.accounting import Reason, StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.generated import fingerprint_config
from eoinstruct.pipeline.instructions.pairs import (
    generation_config,
    make_pair,
    pairs_columns,
    templates_for,
)
from eoinstruct.pipeline.io.parquet import iter_samples, release_arrow_memory, write_table
from eoinstruct.pipeline.records import InstructionPair, Sample
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import ItemDropped, ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require
from eoinstruct.templates import Template, load_templates

STAGE = "generate"


class GenerateStep(ItemStage[Sample, InstructionPair]):
    """Make the pairs of one partition's samples (items: the dedup stage's kept samples).

    Args:
        templates: All templates.
        config: Generation settings.
    """

    name = STAGE
    drops_kind = "dropped"

    def __init__(self, templates: list[Template], config: GenerationConfig) -> None:
        self.templates = templates
        self.config = config

    def items(self, partition: Partition) -> Iterable[Sample]:
        """The kept samples."""
        return iter_samples(partition.inputs[0])

    def item_id(self, item: Sample) -> str:
        """A sample is named by its id."""
        return item.sample_id

    def process(self, item: Sample, ledger: Ledger) -> list[InstructionPair]:
        """Try every template of the sample's source; drop the sample if none applies."""
        made: list[InstructionPair] = []
        skipped: list[str] = []
        for template in templates_for(item, self.templates):
            try:
                candidate = make_pair(item, template, self.config)
            except NotApplicable as exc:
                skipped.append(f"{template.id}:{exc.reason}")
                ledger.stats.produced[f"not_applicable:{exc.reason}"] += 1
                continue
            made.append(candidate.pair)
        if not made:
            reasons = tuple(skipped) or ("no_template_for_source",)
            raise ItemDropped((Reason.NO_APPLICABLE_TEMPLATE, *reasons))
        for pair in made:
            ledger.stats.produced[f"pairs:{pair.task}"] += 1
        return made

    def write(
        self,
        partition: Partition,
        outputs: PartitionOutputs,
        kept: list[InstructionPair],
        ledger: Ledger,
    ) -> None:
        """Write the pairs; ``produced.pairs`` counts them."""
        ledger.stats.produced["pairs"] = len(kept)
        write_table(outputs.path("pairs"), pairs_columns(kept))
        release_arrow_memory()  # peak RSS flat in the number of partitions


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the generate stage.

    Args:
        params: Parameters (section ``generate``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    settings = require(params.settings.generate, "generate")
    config = generation_config(settings)
    templates = load_templates()
    partitions = partitions_from([(params.work_dir("dedup"), "kept")])
    step = GenerateStep(templates, config)
    fingerprint = fingerprint_config(settings, templates)
    return run_work_stage(params, STAGE, partitions, step, fingerprint, progress)
