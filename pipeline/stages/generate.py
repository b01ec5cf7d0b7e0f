"""Stage ``generate``: template-based instruction pairs for every kept sample.

For each sample, every template of its source is tried (:mod:`templates`); the builder
computes the answer from the labels. Outputs per partition: ``pairs/<partition>.parquet``
(:data:`~pipeline.records.PAIR_SCHEMA`; checked by the validate stage before anything is
written to the corpus), ``dropped/<partition>.parquet`` (samples that got no pair, with the
reasons of each template) and ``failed/<partition>.parquet`` (unexpected errors).

Accounting is per sample: read = kept (≥ 1 pair) + dropped (no template applied) + failed.
Pairs per task and templates not applicable by reason are in ``produced``.
"""

from __future__ import annotations

import logging

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable
from eoinstruct.pipeline.instructions.pairs import GENERATOR, make_pair, templates_for
from eoinstruct.pipeline.io.parquet import (
    Drop,
    Failure,
    iter_samples,
    write_drops,
    write_failures,
    write_table,
)
from eoinstruct.pipeline.records import InstructionPair, pairs_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.stages import run_work_stage
from eoinstruct.templates import Template, load_templates

log = logging.getLogger(__name__)

STAGE = "generate"


def generation_config(params: Params) -> GenerationConfig:
    """Read the ``generate`` section into a :class:`GenerationConfig`."""
    section = params.section("generate")
    return GenerationConfig(
        seed=int(section["seed"]),
        box_scale=int(section["box_scale"]),
        max_boxes=int(section["max_boxes"]),
        class_set=str(section["class_set"]),
    )


def generate_partition(
    partition: Partition,
    outputs: PartitionOutputs,
    templates: list[Template],
    config: GenerationConfig,
) -> StageStats:
    """Make and validate the pairs of one partition.

    Args:
        partition: The partition (input: the filter stage's kept samples).
        outputs: Where to write.
        templates: All templates.
        config: Generation settings.

    Returns:
        Counts per sample, with pairs per task in ``produced``.
    """
    stats = StageStats()
    pairs: list[InstructionPair] = []
    drops: list[Drop] = []
    failures: list[Failure] = []
    for sample in iter_samples(partition.inputs[0]):
        stats.read += 1
        made: list[InstructionPair] = []
        skipped: list[str] = []
        try:
            for template in templates_for(sample, templates):
                try:
                    candidate = make_pair(sample, template, config)
                except NotApplicable as exc:
                    skipped.append(f"{template.id}:{exc.reason}")
                    stats.produced[f"not_applicable:{exc.reason}"] += 1
                    continue
                made.append(candidate.pair)
        except Exception as exc:  # a template bug must not lose the run
            log.exception("generate: unexpected error on %s", sample.sample_id)
            failures.append(
                Failure(sample.sample_id, "unexpected_error", f"{type(exc).__name__}: {exc}")
            )
            stats.fail("unexpected_error")
            continue
        if made:
            pairs.extend(made)
            stats.kept += 1
            for pair in made:
                stats.produced[f"pairs:{pair.task}"] += 1
        else:
            reasons = tuple(skipped) or ("no_template_for_source",)
            drops.append(Drop(sample.sample_id, ("no_applicable_template", *reasons)))
            stats.drop("no_applicable_template")
    stats.produced["pairs"] = len(pairs)
    write_table(outputs.path("pairs"), pairs_table(pairs))
    write_drops(outputs.path("dropped"), STAGE, partition.name, partition.source, drops)
    write_failures(outputs.path("failed"), STAGE, partition.name, partition.source, failures)
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the generate stage.

    Args:
        params: Parameters (section ``generate``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    config = generation_config(params)
    templates = load_templates()
    fingerprint_config = {
        "generate": dict(params.section("generate")),
        "generator": GENERATOR,
        "templates": [t.id for t in templates],
        "template_text": [[p.question + "|" + p.answer for p in t.paraphrases] for t in templates],
    }
    partitions = partitions_from([(params.work_dir("dedup"), "kept")])

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return generate_partition(partition, outputs, templates, config)

    return run_work_stage(params, STAGE, partitions, step, fingerprint_config, progress)
