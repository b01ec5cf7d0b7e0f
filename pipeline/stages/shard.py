"""Stage ``shard``: write the corpus as Parquet shards with images and as WebDataset tars.

File layout (one design serves the named configurations without copying any image bytes):
every pair is written exactly once, into the Parquet file and the tar of its split, source and
task, rotated by size within a partition::

    <corpus>/data/<split>-<source>-<partition index>-<task>-<nnnnn>.parquet
    <corpus>/wds/<split>-<source>-<partition index>-<task>-<nnnnn>.tar

e.g. ``data/train-xbd-00000-grounding-00000.parquet``. Because source and task are tokens of
the file name (neither may contain ``-``), the configurations of the corpus card are plain
globs over the same files: ``<source>`` is ``data/<split>-<source>-*``, ``<task>`` is
``data/<split>-*-<task>-*`` and ``<source>_<task>`` is ``data/<split>-<source>-*-<task>-*``
(see :func:`config_patterns`). A new file is started when the current one holds
``shard.max_rows`` pairs or ``shard.max_bytes`` bytes of payload (images, rasters and JSON), so
file names and contents depend only on the pairs and the params: the stage stays
byte-for-byte reproducible. Rotation is own code (kept: ``webdataset.ShardWriter`` rotates the
tar alone, not its Parquet twin, and checks ``maxsize`` only after a sample is written, so a
shard outgrows ``max_bytes``; read in webdataset 1.0.2); the tar members are written by
``webdataset.TarWriter`` (:mod:`eoinstruct.pipeline.io.webdataset`).

The Parquet schema carries the Hugging Face features (so ``datasets.load_dataset(<corpus>)``
decodes the images and reads conversations as lists of turns). A tar holds, per pair,
``<pair_id>.json``, one ``<pair_id>.<role>.png`` RGB rendering per image
(:mod:`eoinstruct.pipeline.io.render`) and, for every image that is not 8-bit RGB (multispectral,
SAR,
thermal, hyperspectral…), ``<pair_id>.<role>.npy``: the raster itself, all bands on the image's
grid (band names, encoding and nodata in the JSON's ``rasters``). Per partition a summary
(``<work>/shard/summary/<partition>.json``: pairs per split/source/task, generators, sensors and
their bands, sample locations, band value histograms, answer lengths) feeds the corpus card
and the build report. Completion records live in the work folder so that the corpus folder
holds only what is published; the card and the manifest are written last.

Accounting is per pair: read = written + failed (an image that cannot be read or rendered).
"""

from __future__ import annotations

import io
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.card import write_card
from eoinstruct.pipeline.corpus.layout import (
    SUMMARY_KIND,
    box_convention_text,
    check_token,
    corpus_features,
    merge_summaries,
    shard_stem,
    summary_paths,
)
from eoinstruct.pipeline.corpus.manifest import MANIFEST_NAME, write_manifest
from eoinstruct.pipeline.instructions.pairs import pair_modality
from eoinstruct.pipeline.instructions.tags import leading_tags
from eoinstruct.pipeline.io.parquet import Failure, iter_pairs, iter_samples, write_failures
from eoinstruct.pipeline.io.rasters import RADIANCE_WHITE, RasterReadError, read_image, to_db
from eoinstruct.pipeline.io.render import display_bands, render_png
from eoinstruct.pipeline.io.webdataset import TarShardWriter
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Sample, to_json
from eoinstruct.pipeline.run.backends import make_executor
from eoinstruct.pipeline.run.partitions import (
    Partition,
    PartitionOutputs,
    partitions_from,
    run_partitions,
)
from eoinstruct.pipeline.settings import require

log = logging.getLogger(__name__)

STAGE = "shard"

DEFAULT_MAX_ROWS = 10_000
"""Pairs per shard file when ``shard.max_rows`` is not set."""

DEFAULT_MAX_BYTES = 500_000_000
"""Payload bytes per shard file when ``shard.max_bytes`` is not set (the Hub's advice is
files of a few hundred MB)."""


HIST_BINS = 32
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "uint8": (0.0, 255.0),
    "reflectance_1e4": (0.0, 10000.0),
    "reflectance": (0.0, 1.0),
    "sar_db": (-50.0, 10.0),
    "sar_linear": (-50.0, 10.0),
    "radiance": (0.0, 2 * RADIANCE_WHITE),
    "normalized_radiance": (0.0, 120.0),
    "kelvin": (200.0, 350.0),
}
"""Histogram range of band values per encoding (``sar_linear`` is histogrammed in dB; values
outside fall into the edge bins; ``float`` images have no fixed scale and are left out)."""


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


def npy_bytes(array: np.ndarray) -> bytes:
    """Serialise an array as ``.npy`` bytes (no pickle; deterministic header)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def ships_raster(image: ImageRef) -> bool:
    """Whether an image also ships its raster (``<role>.npy``) beside the PNG rendering.

    Every image but 8-bit RGB/grey: the PNG holds those whole, not a 4-band 8-bit image
    (TreeSatAI's colour-infrared IR, G, B, R), whose near-infrared band only the raster keeps.
    """
    return image.encoding != "uint8" or len(image.bands) > 3


def raster_array(image: ImageRef, array: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Return the array stored as ``<role>.npy`` and its description.

    Reflectance ×10 000 is stored as uint16 with 0 for nodata (its own nodata value); 8-bit
    images (a 4-band colour-infrared one) as uint8 without nodata; everything else as float32
    with NaN for nodata, in the image's own unit.

    Args:
        image: The image.
        array: Its pixels from :func:`eoinstruct.pipeline.io.rasters.read_image` (bands, height,
            width).

    Returns:
        The array to store and the JSON description (bands, encoding, dtype, shape, nodata).
    """
    if image.encoding == "reflectance_1e4":
        stored = np.nan_to_num(array, nan=0.0).clip(0, 65535).round().astype("<u2")
        nodata: float | str | None = 0
    elif image.encoding == "uint8" and not np.isnan(array).any():
        stored = array.clip(0, 255).round().astype("u1")
        nodata = None
    else:
        stored = array.astype("<f4")
        nodata = "NaN"
    info = {
        "bands": list(image.bands),
        "display_bands": list(image.display_bands),
        "encoding": image.encoding,
        "dtype": str(stored.dtype),
        "shape": list(stored.shape),
        "nodata": nodata,
        "member": f"{image.role}.npy",
    }
    return stored, info


def band_histograms(image: ImageRef, array: np.ndarray) -> dict[str, list[int]]:
    """Histogram each band of an image over the fixed range of its encoding.

    Args:
        image: The image.
        array: Its pixels (bands, height, width), NaN for nodata.

    Returns:
        Band name → :data:`HIST_BINS` counts (NaN excluded); empty for ``float`` images.
    """
    limits = VALUE_RANGES.get(image.encoding)
    if limits is None:
        return {}
    values = to_db(array) if image.encoding == "sar_linear" else array
    out: dict[str, list[int]] = {}
    for band, layer in zip(image.bands, values, strict=True):
        finite = layer[np.isfinite(layer)]
        clipped = np.clip(finite, limits[0], limits[1])
        counts, _ = np.histogram(clipped, bins=HIST_BINS, range=limits)
        out[band] = [int(c) for c in counts]
    return out


def _footprint_point(wkt: str) -> tuple[float, float] | None:
    if not wkt:
        return None
    try:
        from shapely import wkt as shapely_wkt

        centre = shapely_wkt.loads(wkt).centroid
    except Exception:  # a bad footprint only costs the map a point
        return None
    if centre.is_empty:
        return None
    return round(float(centre.x), 4), round(float(centre.y), 4)


class _Summary:
    """What a partition contributes to the card and the build report."""

    def __init__(self) -> None:
        self.groups: dict[str, Counter[str]] = defaultdict(Counter)
        self.sensors: dict[str, dict[str, Any]] = {}
        self.points: list[list[Any]] = []
        self.hist: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.answer_lengths: dict[str, Counter[int]] = defaultdict(Counter)
        self.seen_samples: set[str] = set()

    def add_pair(self, pair: InstructionPair, sample: Sample, split: str) -> None:
        group = self.groups[f"{split}|{pair.source}|{pair.task}"]
        group["pairs"] += 1
        group[f"modality:{pair_modality(sample, pair.image_roles)}"] += 1
        group[f"sensor:{sample.sensor}"] += 1
        group[f"generator:{pair.generator}"] += 1
        for tag in leading_tags(pair.turns[0].value):
            group[f"tag:{tag}"] += 1
        model = pair.generator_params.get("model", "")
        if model:
            group[f"model:{model}"] += 1
        for turn in pair.turns:
            if turn.speaker == "gpt":
                self.answer_lengths[pair.task][len(turn.value)] += 1

    def add_sample(self, sample: Sample, arrays: Mapping[str, np.ndarray]) -> None:
        if sample.sample_id in self.seen_samples:
            return
        self.seen_samples.add(sample.sample_id)
        point = _footprint_point(sample.footprint_wkt)
        if point is not None:
            self.points.append([point[0], point[1], sample.source, sample.modality])
        entry = self.sensors.setdefault(
            sample.sensor, {"modality": sample.modality, "images": {}, "sources": []}
        )
        if sample.source not in entry["sources"]:
            entry["sources"] = sorted([*entry["sources"], sample.source])
        for image in sample.images:
            key = f"{image.encoding}|{','.join(image.bands)}"
            entry["images"].setdefault(
                key,
                {
                    "encoding": image.encoding,
                    "bands": list(image.bands),
                    "display_bands": list(display_bands(image)),
                },
            )
            array = arrays.get(image.role)
            if array is None:
                continue
            for band, counts in band_histograms(image, array).items():
                slot = self.hist[sample.sensor].setdefault(
                    band,
                    {
                        "encoding": image.encoding,
                        "range": list(VALUE_RANGES[image.encoding]),
                        "counts": [0] * HIST_BINS,
                    },
                )
                if slot["encoding"] == image.encoding:
                    slot["counts"] = [a + b for a, b in zip(slot["counts"], counts, strict=True)]

    def to_json(self) -> str:
        data = {
            "groups": {k: dict(sorted(v.items())) for k, v in sorted(self.groups.items())},
            "sensors": dict(sorted(self.sensors.items())),
            "points": sorted(self.points),
            "band_histograms": {k: dict(sorted(v.items())) for k, v in sorted(self.hist.items())},
            "answer_lengths": {
                task: {str(n): c for n, c in sorted(lengths.items())}
                for task, lengths in sorted(self.answer_lengths.items())
            },
        }
        return json.dumps(data, sort_keys=True, indent=1) + "\n"


class _ShardGroup:
    """The rotating Parquet and tar writers of one split/source/task of one partition."""

    def __init__(
        self,
        outputs: PartitionOutputs,
        key: tuple[str, str, str],
        schema: pa.Schema,
        shard: Mapping[str, Any],
    ) -> None:
        self.outputs = outputs
        self.split, self.source, self.task = key
        self.schema = schema
        self.row_group_size = int(shard["row_group_size"])
        self.compression = str(shard["compression"])
        self.max_rows = int(shard.get("max_rows") or DEFAULT_MAX_ROWS)
        self.max_bytes = int(shard.get("max_bytes") or DEFAULT_MAX_BYTES)
        self.index = -1
        self.parquet: pq.ParquetWriter | None = None
        self.tar: TarShardWriter | None = None
        self.rows: list[dict[str, Any]] = []
        self.file_rows = 0
        self.file_bytes = 0

    def _open(self) -> None:
        self.close()
        self.index += 1
        name = self.outputs.partition.name
        stem = shard_stem(self.split, self.source, name, self.task, self.index)
        self.parquet = pq.ParquetWriter(
            self.outputs.path("data", ".parquet", stem), self.schema, compression=self.compression
        )
        self.tar = TarShardWriter(self.outputs.path("wds", ".tar", stem))
        self.file_rows = self.file_bytes = 0

    def add(self, row: dict[str, Any], members: dict[str, bytes]) -> None:
        size = sum(len(v) for v in members.values())
        full = self.file_rows >= self.max_rows or (
            self.file_rows > 0 and self.file_bytes + size > self.max_bytes
        )
        if self.parquet is None or full:
            self._open()
        assert self.tar is not None
        self.rows.append(row)
        self.tar.write(row["pair_id"], members)
        self.file_rows += 1
        self.file_bytes += size
        if len(self.rows) >= self.row_group_size:
            self.flush()

    def flush(self) -> None:
        if self.rows and self.parquet is not None:
            self.parquet.write_table(pa.Table.from_pylist(self.rows, schema=self.schema))
            self.rows = []

    def close(self) -> None:
        self.flush()
        if self.parquet is not None:
            self.parquet.close()
            self.parquet = None
        if self.tar is not None:
            self.tar.close()
            self.tar = None


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
        Counts per pair, with pairs per split, source, task and modality in ``produced``.
    """
    schema = corpus_features().arrow_schema
    with_rasters = bool(shard.get("raster_members", True))
    samples = {s.sample_id: s for s in iter_samples(partition.inputs[1])}
    stats = StageStats()
    summary = _Summary()
    failures: list[Failure] = []
    groups: dict[tuple[str, str, str], _ShardGroup] = {}
    rendered: dict[str, bytes] = {}
    rasters: dict[str, tuple[bytes, dict[str, Any]]] = {}
    arrays: dict[str, np.ndarray] = {}
    current = ""
    try:
        for pair in iter_pairs(partition.inputs[0]):
            stats.read += 1
            sample = samples.get(pair.sample_id)
            if sample is None:
                raise ValueError(f"{partition.name}: pair {pair.pair_id} has no kept sample")
            if current != sample.sample_id:
                rendered, rasters, arrays, current = {}, {}, {}, sample.sample_id
            try:
                for role in pair.image_roles:
                    if role in rendered:
                        continue
                    image = sample.image(role)
                    rendered[role] = render_png(image)
                    arrays[role] = read_image(image)
                    if with_rasters and ships_raster(image):
                        stored, info = raster_array(image, arrays[role])
                        rasters[role] = (npy_bytes(stored), info)
            except RasterReadError as exc:
                failures.append(Failure(pair.pair_id, exc.kind, f"{sample.sample_id}: {exc}"))
                stats.fail(exc.kind)
                continue
            split = check_token("split", pair.split or "train")
            key = (split, check_token("source", pair.source), check_token("task", pair.task))
            row, members = _pair_row(pair, sample, rendered, rasters, box_convention)
            if key not in groups:
                groups[key] = _ShardGroup(outputs, key, schema, shard)
            groups[key].add(row, members)
            summary.add_pair(pair, sample, split)
            summary.add_sample(sample, arrays)
            stats.kept += 1
            stats.produced[f"split:{split}"] += 1
            stats.produced[f"task:{pair.task}"] += 1
            stats.produced[f"source:{pair.source}"] += 1
            stats.produced[f"modality:{pair_modality(sample, pair.image_roles)}"] += 1
    finally:
        for group in groups.values():
            group.close()
    write_failures(
        outputs.path("failed", aux=True), STAGE, partition.name, partition.source, failures
    )
    outputs.path(SUMMARY_KIND, ".json", aux=True).write_text(summary.to_json(), encoding="utf-8")
    return stats


def _pair_row(
    pair: InstructionPair,
    sample: Sample,
    rendered: dict[str, bytes],
    rasters: dict[str, tuple[bytes, dict[str, Any]]],
    box_convention: str,
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
        "answer_style": pair.answer_style,
        "modality": pair_modality(sample, pair.image_roles),
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
    doc["rasters"] = {role: rasters[role][1] for role in pair.image_roles if role in rasters}
    members = {"json": json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")}
    for role in pair.image_roles:
        members[f"{role}.png"] = rendered[role]
        if role in rasters:
            members[f"{role}.npy"] = rasters[role][0]
    return row, members


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

    def step(partition: Partition, outputs: PartitionOutputs) -> StageStats:
        return shard_partition(partition, outputs, shard, box_convention)

    executor = make_executor(params.settings.executor.as_dict())
    try:
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
    finally:
        executor.close()
    summary = merge_summaries(summary_paths(params))
    write_card(corpus, stats, summary, params, box_convention)
    write_manifest(corpus)
    return stats
