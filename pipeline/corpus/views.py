"""Read the corpus: one row per sample, and the per-pair training view one line away.

The corpus stores each sample once (:mod:`eoinstruct.pipeline.corpus.rows`). Trainers that
want one example per pair use:

- ``datasets``: ``pairs(datasets.load_dataset("data/corpus"))`` (:func:`pairs`): one row per
  dialogue with the images and arrays of that pair's roles, the sample's metadata and the
  pair's conversation;
- WebDataset: ``wds.WebDataset(shards).decode("pil").compose(wds_pairs)`` (:func:`wds_pairs`):
  one sample dict per pair, ``json`` being the pair's document and ``<role>.png``/``.npy``
  the pair's images.

:func:`to_physical` turns one ``arrays`` item into float32 physical values (NaN = nodata).
Readers inside the package (audit, EarthDial export, build report) use :func:`pair_rows` and
:func:`tar_pair_records`, never the file layout directly.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

PAIR_KEYS = (
    "pair_id",
    "task",
    "template_id",
    "paraphrase_id",
    "answer_style",
    "generator",
    "generator_params",
    "modality",
    "image_roles",
    "conversations",
)
"""Fields of a dialogue that become fields of a pair."""

SAMPLE_KEYS = ("sample_id", "source", "sensor", "split", "metadata")
"""Fields of a sample that every pair of it repeats."""


def decode_array(item: Mapping[str, Any]) -> np.ndarray:
    """Return the stored array of one ``arrays`` item (its ``npy`` bytes), as stored."""
    array: np.ndarray = np.load(io.BytesIO(item["npy"]), allow_pickle=False)
    return array


def to_physical(item: Mapping[str, Any]) -> np.ndarray:
    """Return one ``arrays`` item as float32 (bands, height, width) in physical units.

    Args:
        item: An item of a sample row's ``arrays`` (``npy``, ``scale``, ``offset``, ``nodata``).

    Returns:
        stored × scale + offset, NaN where the stored value is the nodata value.
    """
    stored = decode_array(item)
    values = stored.astype(np.float32) * np.float32(item["scale"]) + np.float32(item["offset"])
    nodata = item.get("nodata")
    if nodata is not None and nodata != "NaN" and not np.isnan(nodata):
        values[stored == nodata] = np.nan
    return values


def pair_rows(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Explode one sample row into its pairs (no pixels copied unless the row has them).

    Args:
        row: A sample row (any subset of columns that includes ``dialogues`` and
            ``sample_id``; ``images``/``arrays`` are narrowed to each pair's roles when given).

    Returns:
        One dict per dialogue: the dialogue's fields plus the sample's ``sample_id``,
        ``source``, ``sensor``, ``split``, ``metadata`` and, when present, ``images`` and
        ``arrays`` of the pair's image roles, in the pair's order.
    """
    roles = list(row.get("image_roles") or [])
    out = []
    for dialogue in row["dialogues"]:
        pair = {k: row[k] for k in SAMPLE_KEYS if k in row}
        pair.update({k: dialogue[k] for k in PAIR_KEYS})
        wanted = list(dialogue["image_roles"])
        if "images" in row:
            pair["images"] = [row["images"][roles.index(r)] for r in wanted]
        if "arrays" in row:
            by_role = {a["role"]: a for a in row["arrays"]}
            pair["arrays"] = [by_role[r] for r in wanted if r in by_role]
        out.append(pair)
    return out


def pairs(ds: Any) -> Any:
    """Return the per-pair view of a corpus ``Dataset`` or ``DatasetDict`` of sample rows.

    One line away from the corpus: ``pairs(datasets.load_dataset("data/corpus"))``. Uses a
    batched ``map`` (images are passed through undecoded, so no pixel is re-encoded).

    Args:
        ds: A ``datasets.Dataset`` (or ``DatasetDict``) with the corpus's features.

    Returns:
        The same type, one row per pair (see :func:`pair_rows`).
    """
    import datasets

    if isinstance(ds, datasets.DatasetDict):
        return datasets.DatasetDict({name: pairs(split) for name, split in ds.items()})
    raw = ds.cast_column("images", datasets.List(datasets.Image(decode=False)))
    features = datasets.Features(
        {
            **{k: ds.features[k] for k in SAMPLE_KEYS},
            **{k: ds.features["dialogues"].feature[k] for k in PAIR_KEYS},
            "images": datasets.List(datasets.Image()),
            "arrays": ds.features["arrays"],
        }
    )

    def explode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {k: [] for k in features}
        for i in range(len(batch["sample_id"])):
            row = {k: v[i] for k, v in batch.items()}
            for pair in pair_rows(row):
                for key in features:
                    out[key].append(pair[key])
        return out

    return raw.map(explode, batched=True, remove_columns=raw.column_names, features=features)


def _pair_doc(doc: Mapping[str, Any], dialogue: Mapping[str, Any]) -> dict[str, Any]:
    roles = list(dialogue["image_roles"])
    pair = {k: doc[k] for k in SAMPLE_KEYS if k in doc}
    pair.update({k: dialogue[k] for k in PAIR_KEYS})
    pair["rasters"] = {r: doc["arrays"][r] for r in roles if r in doc.get("arrays", {})}
    return pair


def wds_pairs(samples: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    """Turn decoded WebDataset samples of the corpus into one sample per pair.

    Use as ``wds.WebDataset(shards).decode("pil").compose(wds_pairs)``.

    Args:
        samples: Decoded samples (``json`` a dict; ``<role>.png``/``<role>.npy`` decoded or not).

    Yields:
        Per pair: ``__key__`` (the pair id), ``json`` (the pair's document: the dialogue's
        fields, the sample's metadata and ``rasters``, the array descriptions of its roles),
        and ``<role>.png``/``<role>.npy`` of the pair's roles.
    """
    for sample in samples:
        doc = sample["json"]
        for dialogue in doc["dialogues"]:
            pair: dict[str, Any] = {
                "__key__": dialogue["pair_id"],
                "json": _pair_doc(doc, dialogue),
            }
            for role in dialogue["image_roles"]:
                for ext in ("png", "npy"):
                    if f"{role}.{ext}" in sample:
                        pair[f"{role}.{ext}"] = sample[f"{role}.{ext}"]
            yield pair


def iter_tar_records(path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield ``(key, {extension: bytes})`` for each WebDataset key of a tar.

    Args:
        path: A tar written by the shard stage (members of a key are consecutive).

    Yields:
        The key and its members.
    """
    key, members = "", dict[str, bytes]()
    with tarfile.open(path, "r") as tar:
        for member in tar:
            if not member.isfile():
                continue
            name = member.name.split("/")[-1]
            this, ext = name.split(".", 1)
            if this != key and members:
                yield key, members
                members = {}
            key = this
            handle = tar.extractfile(member)
            assert handle is not None
            members[ext] = handle.read()
    if members:
        yield key, members


def tar_pair_records(path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, bytes]]]:
    """Yield ``(pair_id, pair document, members of its roles)`` for every pair of a tar.

    Args:
        path: A corpus tar.

    Yields:
        One entry per dialogue; the document as :func:`wds_pairs` gives it, the members raw.

    Raises:
        ValueError: If a key has no JSON member.
    """
    for key, members in iter_tar_records(path):
        if "json" not in members:
            raise ValueError(f"{path}: sample {key} has no JSON member")
        sample = {**members, "json": json.loads(members["json"])}
        for pair in wds_pairs([sample]):
            pair_id, doc = pair.pop("__key__"), pair.pop("json")
            yield pair_id, doc, pair
