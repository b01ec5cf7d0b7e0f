"""The card's front matter, in the form the Hugging Face Hub reads and writes.

The Hub's metadata fields (https://github.com/huggingface/hub-docs, ``datasetcard.md``):
``pretty_name``, ``language``, ``license`` (Hub licence ids; ``other`` with ``license_name``
and ``license_link`` for terms the Hub does not list), ``size_categories``,
``task_categories`` and ``task_ids`` (the Hub's task taxonomy, huggingface.js
``packages/tasks/src/pipelines.ts``), ``source_datasets``, ``tags``, ``configs`` and
``dataset_info`` (features and, per configuration and split, ``num_examples`` and
``num_bytes``), which :mod:`datasets` writes itself
(:meth:`datasets.info.DatasetInfosDict.to_dataset_card_data`) and checks when it loads a
configuration.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.corpus.features import (
    corpus_feature_dict,
    pair_feature_dict,
    yaml_features,
)
from eoinstruct.pipeline.corpus.licences import licence
from eoinstruct.sources.base import SourceFacts

PRETTY_NAME = "eoinstruct Earth-observation instruction corpus"

SIZE_CATEGORIES: tuple[tuple[int, str], ...] = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)
"""Upper bound (exclusive) → the Hub's ``size_categories`` bucket."""

HUB_TASK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "visual-question-answering": ("visual-question-answering",),
    "image-to-text": ("image-captioning",),
    "image-classification": (
        "multi-label-image-classification",
        "multi-class-image-classification",
    ),
    "object-detection": ("face-detection", "vehicle-detection"),
}
"""The Hub task categories the card may use, with their valid ``task_ids`` (pipelines.ts)."""

TASK_CATEGORIES: dict[str, tuple[str, ...]] = {
    "captioning": ("image-to-text",),
    "captioner_caption": ("image-to-text",),
    "classification": ("image-classification",),
    "detection": ("object-detection",),
    "grounding": ("object-detection",),
    "disaster_assessment": ("image-classification",),
    "earthquake": ("image-classification",),
    "methane": ("image-classification",),
}
"""Task family → Hub task categories besides ``visual-question-answering``, which every pair
is (a question about images, answered in text)."""

TASK_IDS: dict[str, tuple[str, ...]] = {
    "vqa": ("visual-question-answering",),
    "captioner_qa": ("visual-question-answering",),
    "captioning": ("image-captioning",),
    "captioner_caption": ("image-captioning",),
}
"""Task family → Hub ``task_ids`` that describe all of its pairs."""

BASE_TAGS = ("remote-sensing", "earth-observation", "satellite-imagery", "instruction-tuning")


@dataclass(frozen=True)
class ParquetFile:
    """Sizes of one Parquet shard of the corpus.

    Attributes:
        rows: Rows in it (samples in ``data/``, pairs in ``pairs/``).
        file_bytes: Size of the file (the Hub's ``download_size``).
        data_bytes: Uncompressed size of its row groups (the Hub's ``num_bytes``).
    """

    rows: int
    file_bytes: int
    data_bytes: int


def parquet_files(
    corpus: Path, known: Mapping[str, ParquetFile] | None = None
) -> dict[str, ParquetFile]:
    """Read the sizes of the corpus's Parquet shards from their footers.

    Args:
        corpus: The corpus folder.
        known: Sizes the shard stage took from its writers (relative path → sizes), used where
            the file's size matches instead of reading its footer again.

    Returns:
        ``data/<name>.parquet`` and ``pairs/<name>.parquet`` (relative, POSIX) → sizes.
    """
    import pyarrow.parquet as pq

    out: dict[str, ParquetFile] = {}
    for folder in ("data", "pairs"):
        for path in sorted((corpus / folder).glob("*.parquet")):
            rel = f"{folder}/{path.name}"
            size = path.stat().st_size
            have = (known or {}).get(rel)
            if have is not None and have.file_bytes == size:
                out[rel] = have
                continue
            meta = pq.read_metadata(path)
            data = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
            out[rel] = ParquetFile(meta.num_rows, size, data)
    return out


def size_category(pairs: int) -> str:
    """Return the Hub's ``size_categories`` bucket of a number of examples."""
    for bound, name in SIZE_CATEGORIES:
        if pairs < bound:
            return name
    return "n>1B"


def task_metadata(tasks: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return the Hub ``task_categories`` and ``task_ids`` of a set of task families.

    Args:
        tasks: The task families of the corpus.

    Returns:
        Sorted categories (always ``visual-question-answering``) and sorted task ids, each
        valid under one of the categories.
    """
    categories = {"visual-question-answering"}
    ids: set[str] = set()
    for task in tasks:
        categories.update(TASK_CATEGORIES.get(task, ()))
        ids.update(TASK_IDS.get(task, ()))
    return sorted(categories), sorted(ids)


def source_dataset(facts: SourceFacts) -> str:
    """Return how ``source_datasets`` names a source: its Hub id when it is on the Hub."""
    prefix = "https://huggingface.co/datasets/"
    url = facts.homepage.split()[0] if facts.homepage else ""
    return url[len(prefix) :].strip("/") if url.startswith(prefix) else facts.name


def licence_metadata(licence_ids: Sequence[str]) -> dict[str, Any]:
    """Return ``license`` (and ``license_name``/``license_link`` when needed) for the Hub.

    Args:
        licence_ids: The licence ids of the sources in the corpus.

    Returns:
        ``license``: the sorted Hub ids of the licences (``other`` for terms the Hub does not
        list, ``unknown`` where no licence is stated); with ``other``, ``license_name`` and
        ``license_link`` pointing at the card, whose licence table names every term.
    """
    hub_ids = sorted({licence(i).hub_id for i in licence_ids}) or ["unknown"]
    out: dict[str, Any] = {"license": hub_ids}
    if "other" in hub_ids:
        out["license_name"] = "eoinstruct-per-source"
        out["license_link"] = "README.md"
    return out


def _globs(patterns: str | Sequence[str]) -> list[str]:
    return [patterns] if isinstance(patterns, str) else list(patterns)


def _matching(files: Mapping[str, ParquetFile], patterns: str | Sequence[str]) -> list[str]:
    globs = [patterns] if isinstance(patterns, str) else list(patterns)
    return [name for name in files if any(fnmatch.fnmatchcase(name, g) for g in globs)]


def dataset_info(
    configs: Sequence[Mapping[str, Any]], files: Mapping[str, ParquetFile]
) -> dict[str, Any]:
    """Return ``dataset_info`` as :mod:`datasets` writes it: features and sizes per config.

    The same mapping as ``DatasetInfosDict(…).to_dataset_card_data`` (``datasets`` is not
    imported: :mod:`eoinstruct.pipeline.corpus.features`; tests compare the two).

    Args:
        configs: The card's ``configs`` (``data_files``: split and path glob(s)).
        files: The Parquet shards (:func:`parquet_files`).

    Returns:
        ``{"dataset_info": …}``: one entry per configuration, sorted by name.
    """
    infos: dict[str, dict[str, Any]] = {}
    for config in configs:
        paths = [p for e in config["data_files"] for p in _globs(e["path"])]
        pair_table = bool(paths) and all(p.startswith("pairs/") for p in paths)
        features = pair_feature_dict() if pair_table else corpus_feature_dict()
        splits: dict[str, dict[str, Any]] = {}
        for entry in config["data_files"]:
            chosen = [files[n] for n in _matching(files, entry["path"])]
            if str(entry["split"]) in splits:  # as datasets.SplitDict.add
                raise ValueError(f"Split {entry['split']} already present")
            splits[str(entry["split"])] = {
                "name": str(entry["split"]),
                "num_bytes": sum(f.data_bytes for f in chosen),
                "num_examples": sum(f.rows for f in chosen),
            }
        chosen = [files[n] for e in config["data_files"] for n in _matching(files, e["path"])]
        infos[str(config["config_name"])] = {
            "features": yaml_features(features),
            "splits": list(splits.values()),
            "download_size": sum(f.file_bytes for f in chosen),
            "dataset_size": sum(f.data_bytes for f in chosen),
        }
    if not infos:
        return {}
    if len(infos) == 1:
        name, info = next(iter(infos.items()))
        return {"dataset_info": info if name == "default" else {"config_name": name, **info}}
    return {"dataset_info": [{"config_name": n, **infos[n]} for n in sorted(infos)]}


def front_matter(
    *,
    configs: Sequence[Mapping[str, Any]],
    files: Mapping[str, ParquetFile],
    pairs: int,
    tasks: Sequence[str],
    modalities: Sequence[str],
    infos: Sequence[SourceFacts],
    licence_ids: Sequence[str],
    synthetic: bool,
) -> dict[str, Any]:
    """Return the card's YAML front matter, keys in the order the card prints them.

    Args:
        configs: The configurations (``configs:``), ``default`` first.
        files: The Parquet shards and their sizes.
        pairs: Pairs in the corpus.
        tasks: Task families present.
        modalities: Modalities present.
        infos: Facts of the sources present.
        licence_ids: Their licence ids.
        synthetic: Whether this is a build of the embedded (synthetic) sample corpus.

    Returns:
        The mapping to dump as YAML (``sort_keys=False``).
    """
    categories, ids = task_metadata(tasks)
    tags = [*BASE_TAGS, *sorted(modalities)]
    if synthetic:
        tags.append("synthetic")
    meta: dict[str, Any] = {
        "pretty_name": PRETTY_NAME,
        "language": ["en"],
        **licence_metadata(licence_ids),
        "size_categories": [size_category(pairs)],
        "task_categories": categories,
    }
    if ids:
        meta["task_ids"] = ids
    meta["source_datasets"] = sorted(source_dataset(info) for info in infos)
    meta["tags"] = tags
    meta["configs"] = [dict(c) for c in configs]
    meta.update(dataset_info(configs, files))
    return meta
