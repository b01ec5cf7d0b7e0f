"""Stage ``validate``: check every instruction pair before it can be written to the corpus.

For each pair of the generate stage (and, when present, of the captioner) the stage looks up
its sample and checks (:func:`eoinstruct.pipeline.instructions.validate.validate_pair`): non-empty,
well-ordered turns;
one ``<image>`` per image reference and image roles the sample has; boxes inside the grid;
closed-set answers among the listed options; no duplicate pair; length limits. Template pairs
are checked against their labels independently of the generate stage: the stage recomputes
the answer from the sample's labels with the pair's template and paraphrase, and the pair's
boxes and answer must equal what the source annotation gives. Outputs per partition:
``pairs/<partition>.parquet`` (the valid pairs) and ``rejected/<partition>.parquet`` (every
rejected pair with all its problems). Accounting per pair: read = kept + dropped (by first
problem).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable, TaskValues
from eoinstruct.pipeline.instructions.pairs import (
    GENERATOR,
    Candidate,
    generation_config,
    make_pair,
    pair_modality,
)
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.io.parquet import iter_pairs, iter_samples, write_table
from eoinstruct.pipeline.records import InstructionPair, Sample, pairs_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import ItemDropped, ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings import require
from eoinstruct.templates import Template, load_templates

STAGE = "validate"

TEMPORAL_ROLES = frozenset({"pre", "post", "before", "t0", "t1", "t2", "t3", "t4"})
"""Image roles that are dates of a time series: two of them in one pair make it multi-temporal."""


def check_pair(
    pair: InstructionPair,
    sample: Sample | None,
    templates: dict[str, Template],
    config: GenerationConfig,
) -> list[str]:
    """Return every problem of one pair (empty: valid).

    Args:
        pair: The pair.
        sample: Its sample (``None`` if the sample is unknown).
        templates: Templates by id.
        config: Generation settings (box grid, seed, class set).

    Returns:
        Problem codes, each optionally followed by ``:`` and details.
    """
    if sample is None:
        return ["unknown_sample"]
    expected = TaskValues(values={})
    problems: list[str] = []
    if pair.generator == GENERATOR:
        template = templates.get(pair.template_id)
        if template is None:
            return [f"unknown_template:{pair.template_id}"]
        try:
            recomputed = make_pair(sample, template, config)
        except NotApplicable as exc:
            return [f"labels_do_not_support_template:{exc.reason}"]
        expected = recomputed.expected
        if recomputed.pair.turns != pair.turns:
            problems.append("answer_inconsistent_with_labels")
    problems += validate_pair(Candidate(pair=pair, expected=expected), sample, config.box_scale)
    return problems


class ValidateStep(ItemStage[tuple[InstructionPair, Sample | None], InstructionPair]):
    """Check one partition's pairs (items: each pair with its sample, ``None`` if unknown).

    Args:
        templates: All instruction templates.
        config: Generation settings.
    """

    name = STAGE
    drops_kind = "rejected"
    failures_kind = None

    def __init__(self, templates: list[Template], config: GenerationConfig) -> None:
        self.by_id = {t.id: t for t in templates}
        self.config = config

    def items(self, partition: Partition) -> Iterable[tuple[InstructionPair, Sample | None]]:
        """The pairs of every pair file (generate, then caption), with their samples."""
        *pair_files, sample_file = partition.inputs
        samples = {s.sample_id: s for s in iter_samples(sample_file)}
        for path in pair_files:
            for pair in iter_pairs(path):
                yield pair, samples.get(pair.sample_id)

    def item_id(self, item: tuple[InstructionPair, Sample | None]) -> str:
        """A pair is named by its id."""
        return item[0].pair_id

    def process(
        self, item: tuple[InstructionPair, Sample | None], ledger: Ledger
    ) -> list[InstructionPair]:
        """Keep a valid pair; reject it with every problem found."""
        pair, sample = item
        problems = check_pair(pair, sample, self.by_id, self.config)
        content = ("content", pair.sample_id, pair.image_roles, pair.turns)
        if ("id", pair.pair_id) in ledger.seen or content in ledger.seen:
            problems.append("duplicate_pair")
        if problems:
            raise ItemDropped(problems, pair.sample_id)
        assert sample is not None
        ledger.seen.update((("id", pair.pair_id), content))
        ledger.stats.produced[f"pairs:{pair.task}"] += 1
        modality = pair_modality(sample, pair.image_roles)
        temporal = "multi" if len({*pair.image_roles} & TEMPORAL_ROLES) > 1 else "single"
        ledger.stats.produced[f"by_modality:{modality}/{pair.task}"] += 1
        ledger.stats.produced[f"by_temporal:{temporal}/{pair.task}"] += 1
        return [pair]

    def write(
        self,
        partition: Partition,
        outputs: PartitionOutputs,
        kept: list[InstructionPair],
        ledger: Ledger,
    ) -> None:
        """Write the valid pairs."""
        write_table(outputs.path("pairs"), pairs_table(kept))


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the validate stage.

    Args:
        params: Parameters (section ``generate`` for the box grid and seed).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    config = generation_config(require(params.settings.generate, "generate"))
    templates = load_templates()
    upstream: list[tuple[Path, str]] = [(params.work_dir("generate"), "pairs")]
    caption = params.work_dir("caption")
    if (caption / "_done").is_dir():
        upstream.append((caption, "pairs"))
    upstream.append((params.work_dir("dedup"), "kept"))
    partitions = partitions_from(upstream)
    fingerprint = {
        "generate": dataclasses.asdict(config),
        "templates": [[t.id, t.digest()] for t in templates],
    }

    step = ValidateStep(templates, config)
    return run_work_stage(params, STAGE, partitions, step, fingerprint, progress)
