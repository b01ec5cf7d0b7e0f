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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.accounting import Reason, StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import (
    GENERATOR,
    generation_config,
    make_pair,
    pairs_columns,
    templates_for,
)
from eoinstruct.pipeline.io.parquet import iter_samples, write_table
from eoinstruct.pipeline.records import InstructionPair, Sample
from eoinstruct.pipeline.run.partitions import (
    Partition,
    PartitionOutputs,
    partition_fingerprint,
    partitions_from,
)
from eoinstruct.pipeline.run.records import completed_records, output_of, read_record
from eoinstruct.pipeline.run.runner import ItemDropped, ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require
from eoinstruct.templates import Template, load_templates

if TYPE_CHECKING:  # the models import pydantic
    from eoinstruct.pipeline.settings import GenerateSettings

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


def fingerprint_config(settings: GenerateSettings, templates: list[Template]) -> dict[str, Any]:
    """The parameters every partition's pairs depend on (part of its fingerprint).

    Args:
        settings: The ``generate`` section.
        templates: All templates.

    Returns:
        Settings, generator version and the templates' ids and digests.
    """
    return {
        "generate": settings.as_dict(),
        "generator": GENERATOR,
        "templates": [t.id for t in templates],
        "template_text": [[t.id, t.digest()] for t in templates],
    }


def current_pair_files(params: Params, templates: list[Template]) -> dict[Path, str]:
    """The pair files of finished partitions that this code would write again byte for byte.

    A partition is current when its recorded fingerprint (stage, code, settings, templates and
    the SHA-256 of its input samples, see
    :func:`~eoinstruct.pipeline.run.partitions.partition_fingerprint`) equals the one computed
    now: generating is deterministic, so its pairs file is then the one these samples give.
    Its content is vouched for only by the SHA-256 its completion record holds; a reader
    compares that with the file it reads (a pair changed since does not match).

    Args:
        params: Parameters (work and state folders, section ``generate``).
        templates: All templates.

    Returns:
        Pairs file → the SHA-256 its completion record holds (missing: not current or never
        recorded; its pairs must be checked by generating them again).
    """
    settings = require(params.settings.generate, "generate")
    config = fingerprint_config(settings, templates)
    stage_dir, states = params.work_dir(STAGE), params.state_dir(STAGE)
    try:
        partitions = partitions_from([(params.work_dir("dedup"), "kept")])
        records = {str(r["partition"]): r for r in completed_records(stage_dir)}
    except FileNotFoundError:
        return {}
    current: dict[Path, str] = {}
    for partition in partitions:
        record, state = records.get(partition.name), read_record(states, partition.name)
        if record is None or state is None:
            continue
        if state.get("fingerprint") != partition_fingerprint(STAGE, config, partition):
            continue
        path = output_of(stage_dir, record, "pairs")
        outputs = record["outputs"]
        if path is not None and isinstance(outputs, dict):
            digest = outputs.get(path.relative_to(stage_dir).as_posix(), {}).get("sha256")
            if isinstance(digest, str):
                current[path] = digest
    return current
