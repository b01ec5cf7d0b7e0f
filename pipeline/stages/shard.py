"""Stage ``shard``: write the corpus, one row per sample, as Parquet (and WebDataset tars).

File layout (each image stored once; :mod:`eoinstruct.pipeline.corpus.layout`): every sample
that has pairs is written exactly once, into the files of its split and source, rotated by size
within a partition::

    <corpus>/data/<split>-<source>-<partition index>-<nnnnn>.parquet    sample rows
    <corpus>/pairs/<split>-<source>-<partition index>-<nnnnn>.parquet   their pairs, text only
    <corpus>/wds/<split>-<source>-<partition index>-<nnnnn>.tar         the same samples (option)

A sample row (:mod:`eoinstruct.pipeline.corpus.rows`) carries every image of the sample once:
its RGB rendering (``images``), its lossless raster when it is not 8-bit RGB or grey (``arrays``:
``.npy`` bytes with shape, dtype, bands, wavelengths, GSD, scale/offset, unit, nodata), one
acquisition time per image, the metadata JSON and its pairs (``dialogues``). The pair table
repeats the pairs without pixels, for counting and filtering by task. The Parquet shards are
the one stored copy of every image: the tars are written only with ``shard.webdataset: true``,
otherwise on demand by ``eoinstruct webdataset`` (:mod:`eoinstruct.pipeline.corpus.webdataset`,
byte-identical). The tar holds one key per sample (``<key>.json``, ``<key>.<role>.png``,
``<key>.<role>.npy``). The per-pair training view is :func:`~eoinstruct.pipeline.corpus.views.pairs`
(``datasets``) or :func:`~eoinstruct.pipeline.corpus.views.wds_pairs` (WebDataset).

A new file is started when the current one holds ``shard.max_rows`` samples or
``shard.max_bytes`` bytes of payload (images, arrays and JSON), so file names and contents depend
only on the samples, pairs and params: the stage stays byte-for-byte reproducible. Rotation is
own code (``webdataset.ShardWriter`` rotates the tar alone, not its Parquet twins); the tar
members are written by ``webdataset.TarWriter`` (:mod:`eoinstruct.pipeline.io.webdataset`).

The images come from the score stage's rendering cache (``<work>/_rendered/<partition>.arrow``,
:mod:`~eoinstruct.pipeline.io.rendered`), not decoded nor copied into Python bytes again
(:mod:`~eoinstruct.pipeline.corpus.columns`); the files are deleted once every partition's
shards are published (else by the next run). Where a partition's file is absent its samples
are decoded here, into the same bytes. Each shard file is hashed while written (a 1 MiB
buffer): publishing it does not read it back.

Per partition a summary (``<work>/shard/summary/<partition>.json``: pairs per
split/source/task, generators, sensors and their bands, sample locations, band value
histograms, answer lengths and the ``bytes`` stored vs the unique images' bytes) feeds the
corpus card and the build report. Completion records live in the work folder so that the corpus
folder holds only what is published; the card and the manifest are written last.

Accounting is per pair: read = written + failed (an image of its sample that cannot be read or
rendered fails every pair of the sample).
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.card import write_card
from eoinstruct.pipeline.corpus.columns import (
    BlobRendered,
    load_rendered_blobs,
    sample_table,
    stored_blobs,
)
from eoinstruct.pipeline.corpus.features import column_codecs, leaf_paths
from eoinstruct.pipeline.corpus.hub import ParquetFile
from eoinstruct.pipeline.corpus.layout import (
    SUMMARY_KIND,
    box_convention_text,
    check_token,
    corpus_schema,
    merge_summaries,
    pair_schema,
    shard_stem,
    summary_paths,
)
from eoinstruct.pipeline.corpus.manifest import MANIFEST_NAME, write_manifest
from eoinstruct.pipeline.corpus.partition_summary import PartitionSummary
from eoinstruct.pipeline.corpus.rows import (
    Blob,
    TarDocSize,
    needs_array,
    npy_bytes,
    pair_modalities,
    sample_key,
    sample_records,
    stored_array,
)
from eoinstruct.pipeline.io.atomic import HashingWriter
from eoinstruct.pipeline.io.parquet import (
    Failure,
    iter_samples,
    read_pairs,
    release_arrow_memory,
    write_failures,
)
from eoinstruct.pipeline.io.rasters import RasterReadError
from eoinstruct.pipeline.io.rendered import RENDER_CACHE, RENDER_SUFFIX, rendered_path
from eoinstruct.pipeline.records import InstructionPair, Sample
from eoinstruct.pipeline.run.partitions import (
    AUX_PREFIX,
    Partition,
    PartitionOutputs,
    completed_records,
    output_path,
    partitions_from,
    run_partitions,
)
from eoinstruct.pipeline.run.runner import stage_executor
from eoinstruct.pipeline.settings_cache import require

if TYPE_CHECKING:
    from eoinstruct.pipeline.io.webdataset import TarShardWriter

log = logging.getLogger(__name__)

STAGE = "shard"

DEFAULT_MAX_ROWS = 10_000
"""Samples per shard file when ``shard.max_rows`` is not set."""

DEFAULT_MAX_BYTES = 500_000_000
"""Payload bytes per shard file when ``shard.max_bytes`` is not set (the Hub's advice is
files of a few hundred MB)."""


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
        "labels": {
            "scheme": sample.labels.scheme,
            "classes": list(sample.labels.classes),
            "objects": [
                {
                    "category": o.category,
                    "attribute": o.attribute,
                    "image_role": o.image_role,
                    "bbox": [round(float(v), 3) for v in o.bbox],
                }
                for o in sample.labels.objects
            ],
            "properties": dict(sorted(sample.labels.properties.items())),
        },
    }


COUNTS_KIND = "counts"
"""Aux output per partition: each shard file's rows and sizes as written (card, manifest)."""

WRITE_BUFFER = 1 << 20
"""Bytes buffered before a shard file's writes reach its hash and the file system."""

BINARY_COLUMNS = ("images.list.element.bytes", "arrays.list.element.npy")
"""Columns of encoded pixels (PNG, ``.npy``): written without dictionary encoding and
statistics (a dictionary of unique images never pays, min/max of image bytes mean nothing)."""


_SCHEMAS: dict[str, tuple[pa.Schema, pa.Schema, list[str]]] = {}
""":func:`_schemas`, once per process (the driver's travel with the step to a Dask worker)."""


def _schemas() -> tuple[pa.Schema, pa.Schema, list[str]]:
    """The sample and pair schemas and the sample columns that keep dictionaries/statistics."""
    if "corpus" not in _SCHEMAS:
        schema = corpus_schema()  # datasets' schema and metadata, without importing datasets
        columns = [c for c in leaf_paths(schema) if c not in BINARY_COLUMNS]
        _SCHEMAS["corpus"] = (schema, pair_schema(), columns)
    return _SCHEMAS["corpus"]


def _seed_schemas(schemas: tuple[pa.Schema, pa.Schema, list[str]]) -> None:
    """Use the driver's :func:`_schemas` in this process.

    A module-level function, so that a step pickled by value sets this module's cache, not a
    copy of it.
    """
    _SCHEMAS.setdefault("corpus", schemas)


def _written_counts(writer: pq.ParquetWriter | None) -> tuple[int, int] | None:
    """Rows and uncompressed row-group bytes of a closed Parquet writer's file.

    Taken from the footer the writer holds in memory; None where this pyarrow does not expose
    it (the card and the manifest then read the file).
    """
    meta = getattr(getattr(writer, "writer", None), "metadata", None)
    if meta is None:
        return None
    data = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return int(meta.num_rows), int(data)


class _ShardGroup:
    """The rotating sample Parquet, pair Parquet and tar writers of one split/source."""

    def __init__(
        self,
        outputs: PartitionOutputs,
        key: tuple[str, str],
        shard: Mapping[str, Any],
    ) -> None:
        self.outputs = outputs
        self.split, self.source = key
        self.schema, self.pair_schema, self.plain_columns = _schemas()
        self.row_group_size = int(shard["row_group_size"])
        self.compression = str(shard["compression"])
        self.codecs, self.levels = column_codecs(self.schema, self.compression, BINARY_COLUMNS[:1])
        self.max_rows = int(shard.get("max_rows") or DEFAULT_MAX_ROWS)
        self.max_bytes = int(shard.get("max_bytes") or DEFAULT_MAX_BYTES)
        self.index = -1
        self.parquet: pq.ParquetWriter | None = None
        self.pairs: pq.ParquetWriter | None = None
        self.with_tars = bool(shard.get("webdataset", False))
        self.tar: TarShardWriter | None = None
        self.sinks: list[tuple[Path, HashingWriter]] = []
        self.buffers: list[io.BufferedWriter[HashingWriter]] = []
        self.rows: list[dict[str, Any]] = []
        self.pair_rows: list[dict[str, Any]] = []
        self.file_rows = 0
        self.file_bytes = 0
        self.pending: list[TarDocSize] = []
        """Tar documents of the current file whose size is bounded, not yet computed (tars
        off): ``file_bytes`` counts their sizes only once :meth:`_settle` computed them."""
        self.pending_upper = 0
        self.paths: list[tuple[str, Path]] = []
        self.stem = ""
        self.counts: dict[str, list[int]] = {}
        """Relative path → [rows, file bytes, uncompressed row-group bytes] of each file
        written, for the card and the manifest (no footer read back)."""

    def _open(self) -> None:
        self.close()
        self.index += 1
        stem = shard_stem(self.split, self.source, self.outputs.partition.name, self.index)
        self.stem = stem
        path = self.outputs.path("data", ".parquet", stem)
        pairs = self.outputs.path("pairs", ".parquet", stem)
        sinks = [path, pairs]
        if self.with_tars:
            tar = self.outputs.path("wds", ".tar", stem)
            sinks.append(tar)
        self.sinks = [(p, HashingWriter(p)) for p in sinks]
        # buffered: the hash and the write system call see MiB blocks, not 10 KiB tar records
        files = [io.BufferedWriter(sink, WRITE_BUFFER) for _, sink in self.sinks]
        self.buffers = files
        self.parquet = pq.ParquetWriter(
            files[0],
            self.schema,
            compression=self.codecs,
            compression_level=self.levels or None,
            use_dictionary=self.plain_columns,
            write_statistics=self.plain_columns,
        )
        self.pairs = pq.ParquetWriter(files[1], self.pair_schema, compression=self.compression)
        self.paths += [("parquet", path), ("parquet", pairs)]
        if self.with_tars:  # imported here: ``webdataset`` (urllib, http…) only for tars
            from eoinstruct.pipeline.io.webdataset import TarShardWriter

            self.tar = TarShardWriter(tar, files[2])
            self.paths.append(("tar", tar))
        self.file_rows = self.file_bytes = self.pending_upper = 0
        self.pending = []

    def _settle(self) -> None:
        """Count the exact size of the pending tar documents into ``file_bytes``."""
        self.file_bytes += sum(doc.exact() for doc in self.pending)
        self.pending, self.pending_upper = [], 0

    def add(
        self,
        row: dict[str, Any],
        pair_rows: list[dict[str, Any]],
        members: dict[str, Blob],
        doc: TarDocSize | None = None,
    ) -> None:
        """Add a sample (``doc``: the size of its tar JSON, where ``members`` lack it)."""
        size = sum(len(v) for v in members.values())
        full = self.file_rows >= self.max_rows
        if not full and self.file_rows > 0:
            upper = self.file_bytes + self.pending_upper + size + (doc.upper if doc else 0)
            if upper > self.max_bytes:  # near the limit: the exact sizes decide
                self._settle()
                if doc is not None:
                    size += doc.exact()
                    doc = None
                full = self.file_bytes + size > self.max_bytes
        if self.parquet is None or full:
            self._open()
        if doc is not None:
            self.pending.append(doc)
            self.pending_upper += doc.upper
        self.rows.append(row)
        self.pair_rows.extend(pair_rows)
        if self.tar is not None:
            self.tar.write(sample_key(row["sample_id"]), {k: bytes(v) for k, v in members.items()})
        self.file_rows += 1
        self.file_bytes += size
        if len(self.rows) >= self.row_group_size:
            self.flush()

    def flush(self) -> None:
        if self.rows and self.parquet is not None and self.pairs is not None:
            pairs = pa.Table.from_pylist(self.pair_rows, schema=self.pair_schema)
            self.parquet.write_table(sample_table(self.rows, self.schema, pairs))
            self.pairs.write_table(pairs)
            self.rows, self.pair_rows = [], []

    def close(self) -> None:
        self.flush()
        for writer in (self.parquet, self.pairs, self.tar):
            if writer is not None:
                writer.close()
        for buffer in self.buffers:
            buffer.close()  # flushes into the hashing sink and closes it
        names = [f"data/{self.stem}.parquet", f"pairs/{self.stem}.parquet", f"wds/{self.stem}.tar"]
        kept = [_written_counts(self.parquet), _written_counts(self.pairs), (self.file_rows, 0)]
        for (tmp, sink), name, counted in zip(self.sinks, names, kept, strict=False):
            sink.close()  # hashed while written: published without a re-read
            self.outputs.digest_of(tmp, sink.hexdigest(), sink.size)
            if counted is not None:
                self.counts[name] = [counted[0], sink.size, counted[1]]
        self.sinks, self.buffers = [], []
        self.parquet = self.pairs = self.tar = None

    def file_bytes_by_kind(self) -> Counter[str]:
        """Bytes of the files written (call after :meth:`close`), by ``parquet``/``tar``."""
        out: Counter[str] = Counter()
        for kind, path in self.paths:
            out[f"{kind}_files"] += path.stat().st_size
        return out


def _read_sample(sample: Sample, with_rasters: bool) -> BlobRendered:
    """Read and render every image of a sample, each once (raises RasterReadError).

    Only for a sample the score stage did not render (its ``rendered`` file predates it):
    the reader and the renderer are imported here.
    """
    from eoinstruct.pipeline.io.rasters import read_image
    from eoinstruct.pipeline.io.render import render_png
    from eoinstruct.pipeline.quality.histograms import band_histograms

    rendered: dict[str, Blob] = {}
    stored: dict[str, tuple[Blob, dict[str, Any]]] = {}
    hists: dict[str, dict[str, list[int]]] = {}
    for image in sample.images:
        array = read_image(image)
        rendered[image.role] = render_png(image, array)
        hists[image.role] = band_histograms(image, array)
        if with_rasters and needs_array(image):
            kept, info = stored_array(sample, image, array)
            stored[image.role] = (npy_bytes(kept), info)
    return rendered, stored, hists


def shard_partition(
    partition: Partition,
    outputs: PartitionOutputs,
    shard: dict[str, Any],
    box_convention: str,
    rendered_file: Path | None = None,
) -> StageStats:
    """Write the shards of one partition: one row and one tar key per sample with pairs.

    Args:
        partition: The partition (inputs: validated pairs, dedup's kept samples).
        outputs: Where to write.
        shard: The ``shard`` parameters.
        box_convention: Description of the box format.
        rendered_file: The score stage's rendered file of the partition (a cache: where it is
            None or absent, each sample is decoded and rendered here, into the same bytes).

    Returns:
        Counts per pair, with pairs per split, source, task and modality in ``produced``.
    """
    with_rasters = bool(shard.get("raster_members", True))
    samples = {s.sample_id: s for s in iter_samples(partition.inputs[1])}
    by_sample: dict[str, list[InstructionPair]] = {}
    for pair in read_pairs(partition.inputs[0])[1]:
        if pair.sample_id not in samples:
            raise ValueError(f"{partition.name}: pair {pair.pair_id} has no kept sample")
        by_sample.setdefault(pair.sample_id, []).append(pair)
    stats = StageStats()
    summary = PartitionSummary()
    failures: list[Failure] = []
    groups: dict[tuple[str, str], _ShardGroup] = {}
    from_score = load_rendered_blobs(rendered_file, set(by_sample))
    try:
        for sample_id, pairs in by_sample.items():
            sample = samples[sample_id]
            stats.read += len(pairs)
            try:
                rows = from_score.pop(sample_id, None)
                if rows is not None and {r["role"] for r in rows} == {
                    im.role for im in sample.images
                }:
                    rendered, stored, hists = stored_blobs(sample, rows, with_rasters)
                else:
                    rendered, stored, hists = _read_sample(sample, with_rasters)
            except RasterReadError as exc:
                for pair in pairs:
                    failures.append(Failure(pair.pair_id, exc.kind, f"{sample_id}: {exc}"))
                    stats.fail(exc.kind)
                continue
            splits = {p.split or "train" for p in pairs}
            if len(splits) != 1:
                raise ValueError(f"{partition.name}: {sample_id} has pairs in splits {splits}")
            split = check_token("split", splits.pop())
            key = (split, check_token("source", sample.source))
            metadata = sample_metadata(sample, box_convention)
            modalities = pair_modalities(sample, pairs)
            if key not in groups:
                groups[key] = _ShardGroup(outputs, key, shard)
            tars = groups[key].with_tars
            row, pair_rows, members = sample_records(
                sample, pairs, split, rendered, stored, metadata, modalities, tar_json=tars
            )
            infos = {role: info for role, (_, info) in stored.items()}
            doc = None if tars else TarDocSize(sample, pairs, split, row, infos)
            groups[key].add(row, pair_rows, members, doc)
            images = [len(v) for v in rendered.values()] + [len(v[0]) for v in stored.values()]
            summary.bytes["unique_images"] += sum(images)
            summary.bytes["parquet_images"] += sum(len(i["bytes"]) for i in row["images"])
            summary.bytes["parquet_images"] += sum(len(a["npy"]) for a in row["arrays"])
            if groups[key].with_tars:
                summary.bytes["tar_images"] += sum(
                    len(v) for k, v in members.items() if k.endswith((".png", ".npy"))
                )
            summary.bytes["samples"] += 1
            summary.add_sample(sample, hists)
            for pair, modality in zip(pairs, modalities, strict=True):
                check_token("task", pair.task)
                summary.add_pair(pair, sample, split, modality)
                stats.kept += 1
                stats.produced[f"split:{split}"] += 1
                stats.produced[f"task:{pair.task}"] += 1
                stats.produced[f"source:{pair.source}"] += 1
                stats.produced[f"modality:{modality}"] += 1
    finally:
        for group in groups.values():
            group.close()
        release_arrow_memory()  # the row groups are freed: peak RSS flat in partitions
    counts: dict[str, list[int]] = {}
    for group in groups.values():
        summary.bytes.update(group.file_bytes_by_kind())
        counts.update(group.counts)
    write_failures(
        outputs.path("failed", aux=True), STAGE, partition.name, partition.source, failures
    )
    outputs.path(SUMMARY_KIND, ".json", aux=True).write_text(summary.to_json(), encoding="utf-8")
    counted = json.dumps(dict(sorted(counts.items())), indent=1) + "\n"
    outputs.path(COUNTS_KIND, ".json", aux=True).write_text(counted, encoding="utf-8")
    return stats


def run(params: Params, progress: bool = True) -> StageStats:
    """Run the shard stage, then write the corpus card and the manifest.

    Args:
        params: Parameters (sections ``shard``, ``generate``, ``filter``, ``sources``,
            ``paths``).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    shard = params.settings.shard.as_dict()
    scale = require(params.settings.generate, "generate").box_scale
    box_convention = box_convention_text(scale)
    corpus = params.path_of("corpus")
    records_dir = params.work_dir(STAGE) / "_done"
    partitions = partitions_from(
        [(params.work_dir("validate"), "pairs"), (params.work_dir("dedup"), "kept")]
    )
    work = params.path_of("work")

    schemas = _schemas()

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        _seed_schemas(schemas)
        path = rendered_path(work, partition.name)
        stats = shard_partition(partition, outputs, shard, box_convention, path)
        outputs.consumed(path)  # deleted once the shards are on disk and recorded
        return stats

    with stage_executor(params) as executor:
        stats = run_partitions(
            STAGE,
            corpus,
            partitions,
            step,
            {"shard": shard, "box_convention": box_convention},
            keep=["README.md", MANIFEST_NAME],
            progress=progress,
            records_dir=records_dir,
            state_dir=params.state_dir(STAGE),
            executor=executor,
        )
    # each partition's rendering is deleted once its shards are recorded, by the committer
    # (:meth:`PartitionOutputs.consumed`: off the partitions' path, on every worker of a
    # cluster); what is left here are those of partitions shard skipped as current, of a
    # killed run and of partitions that no longer exist. The kernel frees their blocks
    # (≈ 5 ms per 25 MB file) in a thread, beside the card and the manifest below
    renderings = sorted((work / RENDER_CACHE).glob(f"*{RENDER_SUFFIX}"))
    deleting = threading.Thread(target=_unlink_all, args=(renderings,), name="renderings")
    deleting.start()
    try:
        _write_card_and_manifest(params, corpus, records_dir, stats, box_convention)
    finally:
        deleting.join()
    return stats


def _unlink_all(paths: list[Path]) -> None:
    """Delete ``paths`` (those already gone are skipped)."""
    for path in paths:
        path.unlink(missing_ok=True)


def _write_card_and_manifest(
    params: Params, corpus: Path, records_dir: Path, stats: StageStats, box_convention: str
) -> None:
    """Write the corpus card, then the manifest, from the partitions' summaries and records."""
    summary = merge_summaries(summary_paths(params))
    records = completed_records(corpus, records_dir)
    counts = _file_counts(corpus, records_dir, records)
    files = {
        rel: ParquetFile(rows, size, data)
        for rel, (rows, size, data) in counts.items()
        if rel.endswith(".parquet")
    }
    write_card(corpus, stats, summary, params, box_convention, files)
    known = {  # the digests taken when each shard file was published
        key: (entry["sha256"], entry["bytes"])
        for record in records
        for key, entry in record["outputs"].items()
        if not key.startswith(AUX_PREFIX)
    }
    write_manifest(corpus, known, {rel: (c[0], c[1]) for rel, c in counts.items()})


def _file_counts(
    corpus: Path, records_dir: Path, records: Sequence[Mapping[str, Any]]
) -> dict[str, tuple[int, int, int]]:
    """Rows, bytes and row-group bytes of each shard file, as the partitions counted them.

    A partition done before these counts existed has none: its files are read instead (the
    card and the manifest check each entry's size against the file's).
    """
    out: dict[str, tuple[int, int, int]] = {}
    for record in records:
        for key in record["outputs"]:
            if key.startswith(f"{AUX_PREFIX}{COUNTS_KIND}/"):
                path = output_path(corpus, key, records_dir)
                data = json.loads(path.read_text(encoding="utf-8"))
                out.update({rel: (int(v[0]), int(v[1]), int(v[2])) for rel, v in data.items()})
    return out
