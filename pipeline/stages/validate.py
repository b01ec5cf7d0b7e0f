"""Stage ``validate``: check every instruction pair before it can be written to the corpus.

For each pair of the generate stage (and, when present, of the captioner) the stage looks up
its sample and checks (:func:`pipeline.validate.validate_pair`): non-empty, well-ordered turns;
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
from pathlib import Path

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import GenerationConfig, NotApplicable, TaskValues
from eoinstruct.pipeline.instructions.pairs import GENERATOR, Candidate, make_pair, pair_modality
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.io.parquet import Drop, iter_pairs, iter_samples, write_drops, write_table
from eoinstruct.pipeline.records import InstructionPair, Sample, pairs_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.stages import run_work_stage
from eoinstruct.pipeline.stages.generate import generation_config
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


def validate_partition(
    partition: Partition,
    outputs: PartitionOutputs,
    templates: list[Template],
    config: GenerationConfig,
) -> StageStats:
    """Validate one partition's pairs.

    Args:
        partition: The partition (inputs: pair files…, then the kept samples file).
        outputs: Where to write.
        templates: All instruction templates.
        config: Generation settings.

    Returns:
        Counts per pair.
    """
    *pair_files, sample_file = partition.inputs
    samples = {s.sample_id: s for s in iter_samples(sample_file)}
    by_id = {t.id: t for t in templates}
    stats = StageStats()
    valid: list[InstructionPair] = []
    rejected: list[Drop] = []
    seen_ids: set[str] = set()
    seen_content: set[tuple[object, ...]] = set()
    for path in pair_files:
        for pair in iter_pairs(path):
            stats.read += 1
            problems = check_pair(pair, samples.get(pair.sample_id), by_id, config)
            content = (pair.sample_id, pair.image_roles, pair.turns)
            if pair.pair_id in seen_ids or content in seen_content:
                problems.append("duplicate_pair")
            if problems:
                rejected.append(Drop(pair.pair_id, tuple(problems), pair.sample_id))
                stats.drop(problems[0].split(":", 1)[0])
                continue
            seen_ids.add(pair.pair_id)
            seen_content.add(content)
            valid.append(pair)
            stats.kept += 1
            stats.produced[f"pairs:{pair.task}"] += 1
            sample = samples[pair.sample_id]
            modality = pair_modality(sample, pair.image_roles)
            temporal = "multi" if len({*pair.image_roles} & TEMPORAL_ROLES) > 1 else "single"
            stats.produced[f"by_modality:{modality}/{pair.task}"] += 1
            stats.produced[f"by_temporal:{temporal}/{pair.task}"] += 1
    write_table(outputs.path("pairs"), pairs_table(valid))
    write_drops(outputs.path("rejected"), STAGE, partition.name, partition.source, rejected)
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the validate stage.

    Args:
        params: Parameters (section ``generate`` for the box grid and seed).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    config = generation_config(params)
    templates = load_templates()
    upstream: list[tuple[Path, str]] = [(params.work_dir("generate"), "pairs")]
    caption = params.work_dir("caption")
    if (caption / "_done").is_dir():
        upstream.append((caption, "pairs"))
    upstream.append((params.work_dir("dedup"), "kept"))
    partitions = partitions_from(upstream)
    fingerprint = {
        "generate": dataclasses.asdict(config),
        "templates": [
            [t.id, [p.question + "|" + p.answer for p in t.paraphrases]] for t in templates
        ],
    }

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return validate_partition(partition, outputs, templates, config)

    return run_work_stage(params, STAGE, partitions, step, fingerprint, progress)
