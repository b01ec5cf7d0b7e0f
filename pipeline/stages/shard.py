"""Stage ``shard``: write the corpus as Parquet shards with images and as WebDataset tars.

For every partition of pairs, and every split in it, the stage writes
``<corpus>/data/<split>-<partition>.parquet``, whose schema carries the Hugging Face features
(so ``datasets.load_dataset(<corpus>)`` decodes the images and reads conversations as lists of
turns), and ``<corpus>/wds/<split>-<partition>.tar`` with, per pair, ``<pair_id>.json`` and one
``<pair_id>.<role>.png`` per image. Images are the RGB renderings of :mod:`pipeline.render`.
Then it writes the corpus card ``README.md``. Completion records live in the work folder so
the corpus folder holds only what is published.

Accounting is per pair: read = written + failed (an image that cannot be read or rendered).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.accounting import StageStats
from pipeline.config import Params
from pipeline.dataset_card import write_card
from pipeline.executor import (
    Partition,
    PartitionOutputs,
    completed_records,
    partitions_from,
    run_partitions,
)
from pipeline.executors import make_executor
from pipeline.parquet_io import Failure, iter_pairs, iter_samples, write_failures
from pipeline.rasters import RasterReadError
from pipeline.records import InstructionPair, Sample, to_json
from pipeline.render import render_png
from pipeline.webdataset_io import TarShardWriter

log = logging.getLogger(__name__)

STAGE = "shard"


def corpus_features() -> Any:
    """Return the Hugging Face ``Features`` of the corpus Parquet shards."""
    from datasets import Features, Image, List, Value

    return Features(
        {
            "pair_id": Value("string"),
            "sample_id": Value("string"),
            "source": Value("string"),
            "task": Value("string"),
            "template_id": Value("string"),
            "paraphrase_id": Value("int32"),
            "modality": Value("string"),
            "sensor": Value("string"),
            "images": List(Image()),
            "image_roles": List(Value("string")),
            "conversations": List({"from": Value("string"), "value": Value("string")}),
            "generator": Value("string"),
            "generator_params": Value("string"),
            "metadata": Value("string"),
        }
    )


def sample_metadata(sample: Sample, box_convention: str) -> dict[str, Any]:
    """Return the per-pair metadata stored as JSON beside the conversation.

    Args:
        sample: The pair's sample.
        box_convention: Description of the box format used in the answers.

    Returns:
        A JSON-ready dict.
    """
    return {
        "native_id": sample.native_id,
        "bands": list(sample.bands),
        "gsd_m": sample.gsd_m,
        "crs": sample.crs,
        "footprint_wkt": sample.footprint_wkt,
        "acquired": list(sample.acquired),
        "licence": sample.licence,
        "split": sample.split,
        "tags": dict(sorted(sample.tags.items())),
        "box_convention": box_convention,
        "image_sizes": {im.role: [im.width, im.height] for im in sample.images},
    }


class _SplitWriter:
    """Parquet and tar writers of one split of one partition, flushed in row groups."""

    def __init__(
        self, outputs: PartitionOutputs, split: str, schema: pa.Schema, shard: dict[str, Any]
    ) -> None:
        stem = f"{split}-{outputs.partition.name}"
        self.schema = schema
        self.row_group_size = int(shard["row_group_size"])
        self.parquet = pq.ParquetWriter(
            outputs.path("data", ".parquet", stem), schema, compression=str(shard["compression"])
        )
        self.tar = TarShardWriter(outputs.path("wds", ".tar", stem))
        self.rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any], members: dict[str, bytes]) -> None:
        self.rows.append(row)
        self.tar.write(row["pair_id"], members)
        if len(self.rows) >= self.row_group_size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.parquet.close()
        self.tar.close()


def shard_partition(
    partition: Partition, outputs: PartitionOutputs, shard: dict[str, Any], box_convention: str
) -> StageStats:
    """Write the shards of one partition.

    Args:
        partition: The partition (inputs: generate pairs, filter kept samples).
        outputs: Where to write.
        shard: The ``shard`` parameters.
        box_convention: Description of the box format.

    Returns:
        Counts per pair, with pairs per split, source and task in ``produced``.
    """
    schema = corpus_features().arrow_schema
    samples = {s.sample_id: s for s in iter_samples(partition.inputs[1])}
    stats = StageStats()
    failures: list[Failure] = []
    writers: dict[str, _SplitWriter] = {}
    rendered: dict[str, bytes] = {}
    rendered_for = ""
    try:
        for pair in iter_pairs(partition.inputs[0]):
            stats.read += 1
            sample = samples.get(pair.sample_id)
            if sample is None:
                raise ValueError(f"{partition.name}: pair {pair.pair_id} has no kept sample")
            if rendered_for != sample.sample_id:
                rendered, rendered_for = {}, sample.sample_id
            try:
                for role in pair.image_roles:
                    if role not in rendered:
                        rendered[role] = render_png(sample.image(role))
            except RasterReadError as exc:
                failures.append(Failure(pair.pair_id, exc.kind, f"{sample.sample_id}: {exc}"))
                stats.fail(exc.kind)
                continue
            row, members = _pair_row(pair, sample, rendered, box_convention)
            split = pair.split or "train"
            if split not in writers:
                writers[split] = _SplitWriter(outputs, split, schema, shard)
            writers[split].add(row, members)
            stats.kept += 1
            stats.produced[f"split:{split}"] += 1
            stats.produced[f"task:{pair.task}"] += 1
            stats.produced[f"source:{pair.source}"] += 1
            stats.produced[f"modality:{sample.modality}"] += 1
    finally:
        for writer in writers.values():
            writer.close()
    write_failures(
        outputs.path("failed", aux=True), STAGE, partition.name, partition.source, failures
    )
    return stats


def _pair_row(
    pair: InstructionPair, sample: Sample, rendered: dict[str, bytes], box_convention: str
) -> tuple[dict[str, Any], dict[str, bytes]]:
    conversations = [{"from": t.speaker, "value": t.value} for t in pair.turns]
    metadata = sample_metadata(sample, box_convention)
    images = [
        {"bytes": rendered[role], "path": f"{pair.pair_id}.{role}.png"} for role in pair.image_roles
    ]
    row = {
        "pair_id": pair.pair_id,
        "sample_id": pair.sample_id,
        "source": pair.source,
        "task": pair.task,
        "template_id": pair.template_id,
        "paraphrase_id": pair.paraphrase_id,
        "modality": sample.modality,
        "sensor": sample.sensor,
        "images": images,
        "image_roles": list(pair.image_roles),
        "conversations": conversations,
        "generator": pair.generator,
        "generator_params": to_json(dict(pair.generator_params)),
        "metadata": to_json(metadata),
    }
    doc = {k: v for k, v in row.items() if k != "images"}
    doc["generator_params"] = dict(pair.generator_params)
    doc["metadata"] = metadata
    members = {"json": json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")}
    for role in pair.image_roles:
        members[f"{role}.png"] = rendered[role]
    return row, members


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the shard stage and write the corpus card.

    Args:
        params: Parameters (sections ``shard``, ``generate``, ``paths``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    shard = dict(params.section("shard"))
    scale = int(params.section("generate")["box_scale"])
    box_convention = (
        f"[[x1, y1, x2, y2, angle]] with x and y scaled to 0..{scale} of the image width and "
        "height (origin top-left), angle in degrees (0: axis-aligned)"
    )
    corpus = params.path_of("corpus")
    records_dir = params.work_dir(STAGE) / "_done"
    partitions = partitions_from(
        [(params.work_dir("generate"), "pairs"), (params.work_dir("filter"), "kept")]
    )

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return shard_partition(partition, outputs, shard, box_convention)

    executor = make_executor(params.raw.get("executor"))
    try:
        stats = run_partitions(
            STAGE,
            corpus,
            partitions,
            step,
            {"shard": shard, "box_convention": box_convention},
            keep=["README.md"],
            progress=progress,
            records_dir=records_dir,
            state_dir=params.state_dir(STAGE),
            executor=executor,
        )
    finally:
        executor.close()
    splits = Counter(
        {k.split(":", 1)[1]: v for k, v in stats.produced.items() if k.startswith("split:")}
    )
    write_card(corpus, stats, splits, box_convention, completed_records(corpus, records_dir))
    return stats
