"""Stage ``validate``: check every instruction pair before it can be written to the corpus.

For each pair of the generate stage (and, when present, of the captioner) the stage looks up
its sample and checks (:func:`eoinstruct.pipeline.instructions.validate.validate_pair`): non-empty,
well-ordered turns;
one ``<image>`` per image reference and image roles the sample has; boxes inside the grid;
closed-set answers among the listed options; no duplicate pair; length limits. Template pairs
are checked against their labels independently of the generate stage: the stage recomputes
the answer from the sample's labels with the pair's template and paraphrase, and the pair's
boxes and answer must equal what the source annotation gives. Making the pair again is
skipped for a pairs file that the generate stage wrote from the same sample file with the
same code, settings and templates and that is unchanged since (its SHA-256 equals its
completion record's): generating is deterministic, so it would give the same turns; a file
changed after generate wrote it has all its pairs made again and compared. Outputs per partition:
``pairs/<partition>.parquet`` (the valid pairs) and ``rejected/<partition>.parquet`` (every
rejected pair with all its problems). Accounting per pair: read = kept + dropped (by first
problem).

Every pair, template or captioner, is also audited (:mod:`eoinstruct.pipeline.audit`): its
template's family rule re-derives the answer from the labels with code of its own, and the
generic checks look for metadata answers, unanswered yes/no questions and grammar slips. A
flagged pair is rejected with a reason ``audit:<code>`` for each problem. Each partition
writes its audit (``audit/<partition>.json``); after the partitions the stage sums them into
``<paths.metrics>/audit.json`` (per template: pairs, flags by code, unchecked pairs, answer
balance, duplicates, variety) and the DVC metrics ``<paths.metrics>/audit/``
(:meth:`~eoinstruct.pipeline.audit.report.AuditReport.to_metrics`), then fails with one line
naming the worst codes when the flagged share of template pairs exceeds
``audit.max_flagged_rate`` (captioner pairs: ``audit.max_flagged_rate_captioner``) or a
balanced template's most frequent answer exceeds ``audit.max_answer_share`` over at least
``audit.balance_min_pairs`` pairs.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.audit.item import SampleView, from_pair, sample_view
from eoinstruct.pipeline.audit.report import AuditReport, TemplateInfo
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.instructions.builders import (
    BUILDERS,
    GenerationConfig,
    NotApplicable,
    TaskValues,
)
from eoinstruct.pipeline.instructions.generated import current_pair_files
from eoinstruct.pipeline.instructions.pairs import (
    GENERATOR,
    Candidate,
    generation_config,
    make_pair,
    pair_modality,
    pairs_columns,
)
from eoinstruct.pipeline.instructions.validate import validate_pair
from eoinstruct.pipeline.io.files import replace_files, write_file
from eoinstruct.pipeline.io.parquet import (
    iter_samples,
    read_pairs,
    release_arrow_memory,
    take_rows,
    write_table,
)
from eoinstruct.pipeline.records import InstructionPair, Sample
from eoinstruct.pipeline.run.fingerprint import file_sha256
from eoinstruct.pipeline.run.partitions import (
    Partition,
    PartitionOutputs,
    completed_records,
    output_of,
    partitions_from,
)
from eoinstruct.pipeline.run.runner import ItemDropped, ItemStage, Ledger, run_work_stage
from eoinstruct.pipeline.settings_cache import require
from eoinstruct.templates import Template, load_templates

STAGE = "validate"

TEMPORAL_ROLES = frozenset({"pre", "post", "before", "t0", "t1", "t2", "t3", "t4"})
"""Image roles that are dates of a time series: two of them in one pair make it multi-temporal."""


Item = tuple[InstructionPair, Sample | None]
"""A pair and its sample (``None`` if unknown)."""


def check_pair(
    pair: InstructionPair,
    sample: Sample | None,
    templates: dict[str, Template],
    config: GenerationConfig,
    current: bool = False,
) -> list[str]:
    """Return every problem of one pair (empty: valid).

    Args:
        pair: The pair.
        sample: Its sample (``None`` if the sample is unknown).
        templates: Templates by id.
        config: Generation settings (box grid, seed, class set).
        current: The pair comes from a pairs file that the generate stage wrote from this
            very sample file with this code, settings and templates, unchanged since (see
            :func:`~eoinstruct.pipeline.instructions.generated.current_pair_files`): making it
            again would give the same turns, so only its builder's values are computed.

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
            if current:
                expected = BUILDERS[template.builder](sample, config)
            else:
                recomputed = make_pair(sample, template, config)
                expected = recomputed.expected
                if recomputed.pair.turns != pair.turns:
                    problems.append("answer_inconsistent_with_labels")
        except NotApplicable as exc:
            return [f"labels_do_not_support_template:{exc.reason}"]
    problems += validate_pair(Candidate(pair=pair, expected=expected), sample, config.box_scale)
    return problems


class ValidateStep(ItemStage[Item, InstructionPair]):
    """Check one partition's pairs (items: each pair with its sample, ``None`` if unknown).

    Args:
        templates: All instruction templates.
        config: Generation settings.
    """

    name = STAGE
    drops_kind = "rejected"
    failures_kind = None

    def __init__(
        self,
        templates: list[Template],
        config: GenerationConfig,
        current: dict[Path, str] | None = None,
    ) -> None:
        self.by_id = {t.id: t for t in templates}
        self.config = config
        self.current = current or {}
        self.trusted: set[int] = set()  # id() of the pairs read from a current pairs file
        self.infos = {t.id: TemplateInfo(t.family, t.balanced) for t in templates}
        self.audit = AuditReport(self.infos)
        self.tables: list[pa.Table] = []
        self.rows: dict[int, tuple[int, InstructionPair]] = {}  # id(pair) → its row, pair
        self.views: dict[str, SampleView] = {}
        self.counted: dict[tuple[str, tuple[str, ...], str], tuple[str, str, str]] = {}

    def run_partition(self, partition: Partition, outputs: PartitionOutputs) -> StageStats:
        """Run one partition with an audit of its own.

        The loop runs on a copy of the step, so that partitions running side by side never
        share an audit.
        """
        step = copy.copy(self)
        step.audit = AuditReport(self.infos)
        step.tables = []
        step.rows = {}
        step.views = {}
        step.counted = {}
        step.trusted = set()
        stats = ItemStage.run_partition(step, partition, outputs)
        del step  # its tables and pairs: then their pages go back (peak RSS flat in partitions)
        release_arrow_memory()
        return stats

    def items(self, partition: Partition) -> Iterable[Item]:
        """The pairs of every pair file (generate, then caption), with their samples."""
        *pair_files, sample_file = partition.inputs
        samples = {s.sample_id: s for s in iter_samples(sample_file)}
        row = 0
        for path in pair_files:
            digest = self.current.get(path)
            current = digest is not None and file_sha256(path) == digest
            table, pairs = read_pairs(path)
            self.tables.append(table)
            for pair in pairs:
                self.rows[id(pair)] = (row, pair)
                if current:
                    self.trusted.add(id(pair))
                yield pair, samples.get(pair.sample_id)
                row += 1

    def item_id(self, item: Item) -> str:
        """A pair is named by its id."""
        return item[0].pair_id

    def process(self, item: Item, ledger: Ledger) -> list[InstructionPair]:
        """Keep a valid pair; reject it with every problem found."""
        pair, sample = item
        current = id(pair) in self.trusted
        problems = check_pair(pair, sample, self.by_id, self.config, current)
        if sample is not None:
            view = self.views.get(sample.sample_id)
            if view is None:
                view = self.views[sample.sample_id] = sample_view(sample)
            flags = self.audit.add(from_pair(pair, sample, view))
            if flags:
                problems += [f"audit:{code}" for code in flags]
            kind = "template" if pair.generator == GENERATOR else "captioner"
            produced = ledger.stats.produced
            produced[f"audited:{kind}"] += 1
            produced[f"audit_flagged:{kind}"] += bool(flags)
        seen = ledger.seen
        pair_key = ("id", pair.pair_id)
        # the turns as plain tuples: hashed in C (a Turn's dataclass hash runs in Python)
        content = (
            "content",
            pair.sample_id,
            pair.image_roles,
            tuple([(turn.speaker, turn.value) for turn in pair.turns]),
        )
        if pair_key in seen or content in seen:
            problems.append("duplicate_pair")
        if problems:
            raise ItemDropped(problems, pair.sample_id)
        assert sample is not None
        seen.add(pair_key)
        seen.add(content)
        key = (sample.sample_id, pair.image_roles, pair.task)  # a sample's pairs share them
        counted = self.counted.get(key)
        if counted is None:
            modality = pair_modality(sample, pair.image_roles)
            temporal = "multi" if len({*pair.image_roles} & TEMPORAL_ROLES) > 1 else "single"
            counted = self.counted[key] = (
                f"pairs:{pair.task}",
                f"by_modality:{modality}/{pair.task}",
                f"by_temporal:{temporal}/{pair.task}",
            )
        produced = ledger.stats.produced
        for name in counted:
            produced[name] += 1
        return [pair]

    def write(
        self,
        partition: Partition,
        outputs: PartitionOutputs,
        kept: list[InstructionPair],
        ledger: Ledger,
    ) -> None:
        """Write the valid pairs (their rows as read: the same table) and the partition's audit."""
        rows = [self.rows.get(id(pair), (-1, None)) for pair in kept]
        if self.tables and all(read is pair for (_, read), pair in zip(rows, kept, strict=True)):
            table = pa.concat_tables(self.tables).combine_chunks()  # one chunk: as pairs_table
            write_table(outputs.path("pairs"), take_rows(table, [row for row, _ in rows]))
        else:  # pairs that were not read from the partition's files
            write_table(outputs.path("pairs"), pairs_columns(kept))
        audit = json.dumps(self.audit.to_dict(full=True), sort_keys=True)
        outputs.path("audit", suffix=".json").write_text(audit + "\n", encoding="utf-8")


def merged_audit(stage_dir: Path) -> AuditReport:
    """Sum the audits of a finished validate stage's partitions.

    Args:
        stage_dir: The stage's folder (``<paths.work>/validate``).

    Returns:
        The audit of every pair the stage read.
    """
    report = AuditReport(infos={}, rules={})
    for record in completed_records(stage_dir):
        path = output_of(stage_dir, record, "audit")
        if path is not None:
            report.merge(AuditReport.from_dict(json.loads(path.read_text(encoding="utf-8"))))
    return report


def write_audit(report: AuditReport, metrics: Path) -> None:
    """Write ``<metrics>/audit.json`` (the summary) and the DVC metrics ``<metrics>/audit/``."""
    summary = json.dumps(report.to_dict(full=False), indent=1, sort_keys=True)
    write_file(metrics / "audit.json", summary + "\n")
    files = {
        name[len("audit/") :]: json.dumps(data, indent=1, sort_keys=True) + "\n"
        for name, data in report.to_metrics().items()
    }
    replace_files(metrics / "audit", files)


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the validate stage.

    Args:
        params: Parameters (section ``generate`` for the box grid and seed, ``audit`` for
            the audit's limits).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.

    Raises:
        AuditError: If the audit exceeds the limits of ``audit`` (after writing its figures).
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

    step = ValidateStep(templates, config, current_pair_files(params, templates))
    stats = run_work_stage(params, STAGE, partitions, step, fingerprint, progress)
    report = merged_audit(params.work_dir(STAGE))
    write_audit(report, params.path_of("metrics"))
    report.check(params.settings.audit)
    return stats
