"""The corpus's file layout: shard names, features, configurations and the shard summaries.

One row per sample, each image stored once: ``data/<stem>.parquet`` holds sample rows (RGB
renderings, lossless arrays, dialogues), ``pairs/<stem>.parquet`` the same samples' pairs as a
text-only table, ``wds/<stem>.tar`` the same samples as WebDataset keys. Stems are
``<split>-<source>-<partition index>-<n>`` (:func:`shard_stem`), so a configuration of the
dataset card (a source or all, per split) is a glob (:func:`config_patterns`). Readers of the
corpus use these functions and :mod:`eoinstruct.pipeline.corpus.views`, never the shard stage.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.run.partitions import completed_records, output_path

if TYPE_CHECKING:
    import pyarrow as pa

SHARD_STAGE = "shard"
"""The stage that writes the corpus (its records live in ``<paths.work>/shard/_done``)."""


SUMMARY_KIND = "summary"


NAME_TOKEN = re.compile(r"^[a-z0-9_]+$")
"""Sources, tasks and splits are file-name tokens: lowercase, digits and ``_``, no ``-``."""


def check_token(kind: str, value: str) -> str:
    """Check that a split, source or task name can be a token of a shard file name.

    Args:
        kind: What the value is (for the message).
        value: The name.

    Returns:
        The name.

    Raises:
        ValueError: If it contains anything but lowercase letters, digits and ``_``.
    """
    if not NAME_TOKEN.match(value):
        raise ValueError(f"{kind} name {value!r} cannot name shard files: use [a-z0-9_] only")
    return value


def partition_index(partition: str, source: str) -> str:
    """Return the part of a partition name after ``<source>-`` (the whole name otherwise)."""
    prefix = f"{source}-"
    return partition[len(prefix) :] if partition.startswith(prefix) else partition


def shard_stem(split: str, source: str, partition: str, index: int) -> str:
    """Return the file name (without extension) of one shard.

    The sample file ``data/<stem>.parquet``, its pair table ``pairs/<stem>.parquet`` and its
    tar ``wds/<stem>.tar`` share the stem: they hold the same samples.

    Args:
        split: ``train``, ``validation``…
        source: Source name.
        partition: Partition name (``<source>-<nnnnn>``).
        index: Rotation index within the partition's split and source.

    Returns:
        ``<split>-<source>-<partition index>-<index:05d>``.
    """
    part = partition_index(partition, source).replace("-", "_")
    return f"{split}-{source}-{part}-{index:05d}"


def parse_stem(stem: str) -> dict[str, str]:
    """Split a shard file stem back into split, source, partition and index.

    Args:
        stem: A name made by :func:`shard_stem`.

    Returns:
        The four tokens by name.

    Raises:
        ValueError: If the stem does not have four ``-``-separated tokens.
    """
    parts = stem.split("-")
    if len(parts) != 4:
        raise ValueError(f"{stem!r} is not a shard name <split>-<source>-<part>-<n>")
    return dict(zip(("split", "source", "partition", "index"), parts, strict=True))


def config_patterns(
    source: str | None, split: str, folder: str = "data", ext: str = "parquet"
) -> str:
    """Return the glob selecting one split of a configuration.

    Args:
        source: The source, or ``None`` for all.
        split: The split.
        folder: ``data`` (samples), ``pairs`` (the text-only pair table) or ``wds`` (tars).
        ext: File extension.

    Returns:
        A glob relative to the corpus folder.
    """
    if source:
        return f"{folder}/{split}-{source}-*.{ext}"
    return f"{folder}/{split}-*.{ext}"


def corpus_features() -> Any:
    """Return the Hugging Face ``Features`` of the corpus's sample rows (``data/*.parquet``).

    Imports :mod:`datasets`; the shard stage uses :func:`corpus_schema` (the same schema).
    """
    from datasets import Features

    from eoinstruct.pipeline.corpus.features import corpus_feature_dict

    return Features.from_dict(corpus_feature_dict())


def pair_features() -> Any:
    """Return the ``Features`` of the text-only pair table (``pairs/*.parquet``)."""
    from datasets import Features

    from eoinstruct.pipeline.corpus.features import pair_feature_dict

    return Features.from_dict(pair_feature_dict())


def corpus_schema() -> pa.Schema:
    """Return ``corpus_features().arrow_schema`` without importing :mod:`datasets`."""
    from eoinstruct.pipeline.corpus.features import arrow_schema, corpus_feature_dict

    return arrow_schema(corpus_feature_dict())


def pair_schema() -> pa.Schema:
    """Return ``pair_features().arrow_schema`` without importing :mod:`datasets`."""
    from eoinstruct.pipeline.corpus.features import arrow_schema, pair_feature_dict

    return arrow_schema(pair_feature_dict())


def box_convention_text(scale: int) -> str:
    """Return the description of the box format for a ``generate.box_scale``."""
    return (
        f"[[x1, y1, x2, y2, angle]] with x and y scaled to 0..{scale} of the image width and "
        "height (origin top-left), angle in degrees (0: axis-aligned)"
    )


def merge_summaries(paths: Iterable[Path]) -> dict[str, Any]:
    """Merge the per-partition summaries written by :func:`shard_partition`.

    Args:
        paths: Summary JSON files.

    Returns:
        The same structure as one summary, summed over partitions.
    """
    groups: dict[str, Counter[str]] = defaultdict(Counter)
    sensors: dict[str, dict[str, Any]] = {}
    points: list[list[Any]] = []
    hist: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    lengths: dict[str, Counter[str]] = defaultdict(Counter)
    sizes: Counter[str] = Counter()
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for key, counts in data["groups"].items():
            groups[key].update(counts)
        for sensor, entry in data["sensors"].items():
            into = sensors.setdefault(sensor, {"modality": entry["modality"], "images": {}})
            into["sources"] = sorted(set(into.get("sources", [])) | set(entry["sources"]))
            for key, image in entry["images"].items():
                into["images"].setdefault(key, image)
        points.extend(data["points"])
        for sensor, bands in data["band_histograms"].items():
            for band, slot in bands.items():
                have = hist[sensor].get(band)
                if have is None:
                    hist[sensor][band] = dict(slot)
                elif have["encoding"] == slot["encoding"]:
                    pairs = zip(have["counts"], slot["counts"], strict=True)
                    have["counts"] = [a + b for a, b in pairs]
        for task, counts in data["answer_lengths"].items():
            lengths[task].update(counts)
        sizes.update(data.get("bytes", {}))
    return {
        "groups": {k: dict(sorted(v.items())) for k, v in sorted(groups.items())},
        "sensors": dict(sorted(sensors.items())),
        "points": sorted(points),
        "band_histograms": {k: dict(sorted(v.items())) for k, v in sorted(hist.items())},
        "answer_lengths": {k: dict(v) for k, v in sorted(lengths.items())},
        "bytes": dict(sorted(sizes.items())),
    }


def storage_figures(summary: dict[str, Any]) -> dict[str, float]:
    """Return the stored-vs-unique image bytes of a merged summary (the ``bytes`` entry).

    Args:
        summary: From :func:`merge_summaries`.

    Returns:
        ``unique_images`` (each image's rendering and array counted once), ``parquet_images``
        and ``tar_images`` (image bytes as written), ``parquet_files``/``tar_files`` (file
        sizes, text included) and their ratios to ``unique_images`` (``*_ratio``).
    """
    sizes = dict(summary.get("bytes", {}))
    unique = sizes.get("unique_images", 0)
    out: dict[str, float] = {k: float(v) for k, v in sizes.items()}
    for key in ("parquet_images", "tar_images", "parquet_files", "tar_files"):
        out[f"{key}_ratio"] = round(sizes.get(key, 0) / unique, 4) if unique else 0.0
    return out


def summary_paths(params: Params) -> list[Path]:
    """Return the summary files of the finished shard stage, by partition.

    Args:
        params: Parameters (paths).

    Returns:
        Paths of ``<work>/shard/summary/<partition>.json``.

    Raises:
        FileNotFoundError: If the shard stage has not run.
    """
    corpus = params.path_of("corpus")
    records_dir = params.work_dir(SHARD_STAGE) / "_done"
    paths = []
    for record in completed_records(corpus, records_dir):
        for key in record["outputs"]:  # type: ignore[union-attr]
            if key.startswith(f"aux:{SUMMARY_KIND}/"):
                paths.append(output_path(corpus, key, records_dir))
    return paths
