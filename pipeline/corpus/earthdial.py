r"""Export the corpus for EarthDial's trainer: ``datasets`` saved to disk plus a mixture file.

EarthDial (hiyamdebary/EarthDial) trains on Hugging Face datasets written with
``save_to_disk``, one per sub-dataset, listed in a mixture file of the form of its
``src/shell/data/Stage*_*.json``: a mapping from a dataset name to ``annotation`` (the
dataset folder), ``image_key`` (the image column, or comma-separated columns for
multi-image samples such as ``jpg_pre,jpg_post``), ``conversation`` (the column holding the
dialogue as a JSON string), ``bands``, ``normalization`` (a name its ``build_transform``
knows: ``imagenet``, ``s2_l2a``, ``s2_norm``, ``s1``…), ``dynamic_image`` and
``repeat_time``. Multispectral samples are read from a ``tif_ms`` column holding the
(bands, height, width) array, converted with ``np.array``. These facts come from EarthDial's
``src/earthdial/train/dataset.py`` (``build_transform`` normalisation names, one ``<image>``
replaced per image) and ``src/earthdial/eval/rs_classification/classification_shards_MS.py``
(``tif_ms``, ``bands: 12``, ``normalization: s2_l2a`` for BigEarthNet S2, the ``__key__``
column).

The export reads only the corpus folder (its Parquet sample shards hold, per sample, the
dialogues, the RGB renderings and the arrays; ``webdataset.parquet_pair_records`` explodes them
into pairs, the records a WebDataset tar of the same stem gives), so it works as well on a
corpus downloaded from the Hub, with or without tars. It stays one row per pair: that is what
EarthDial's loader reads. A sub-dataset is one split of one source, task, modality and set of
image roles, named ``<source>_<task>_<modality>[_<roles>]_<split>``. Its columns:

- ``__key__`` (the pair id), ``conversations`` (JSON string of ``[{"from", "value"}]``), and
  ``source``, ``task``, ``modality``, ``sensor``, ``metadata`` (JSON) for bookkeeping;
- RGB renderings as ``png`` (one image) or ``png_<role>`` (``png_pre``, ``png_post``); ``jpg``
  instead of ``png`` when every image of the sub-dataset is a JPEG (JPEGs in a ``png``
  sub-dataset are re-encoded losslessly as PNG);
- for images that are not 8-bit RGB or grey, the raster as ``tif_ms`` (or ``tif_ms_<role>``): all
  bands on the image's grid, uint16 reflectance × 10 000 for Sentinel-2, float32 otherwise,
  nodata as 0; the mixture points ``image_key`` at these columns.

**Routing (EarthDial's ``ShardDataLoader``).** The loader picks its branch by the prefix of the
dataset *name* in the mixture (``Naip``, ``Change_SAR``, ``Change``, ``STARCOP``, else the
single-image branch), and a multi-image entry in the single-image branch fails and is retried
without end. The export therefore names and lays out each sub-dataset for its branch
(:func:`~eoinstruct.pipeline.corpus.earthdial_routes.route_of`):

- one 8-bit RGB image: ``png``/``jpg``, ``bands: 3``, ``imagenet``;
- one raster: ``tif_ms`` as (C, H, W), ``bands`` = C;
- several RGB images (xBD pre/post): name ``Change_<name>``, one image column per image;
- several SAR rasters with the same bands (QuakeSet): name ``Change_SAR_<name>``, columns
  ``tif_ms_<role>`` stored (H, W, C) (the branch transposes them to (C, H, W));
- several other rasters of one shape: ``Change_<name>``, (C, H, W) arrays;
- several rasters on one grid with different bands (Landsat SR_B1–B7 + ST_B10): stacked into
  one ``tif_ms`` (the 8 bands ``[l8_ms_30]`` stands for), its ``<image>`` tokens merged into one.

The ``STARCOP`` branch needs an RGB image plus mag1c at 512 × 512; STARCOP's methane pairs show
the mag1c map alone (64 × 64), so they go out as a one-band ``tif_ms`` in the single-image
branch (the corpus row also carries the TOA bands and their rendering).

**Units.** ``normalization`` must match the values: SAR in linear power (QuakeSet, Sentinel-1
from STAC) is converted to dB (``10·log10``, floored at −50 dB) for ``s1``, EarthDial's dB
statistics; 12-band Sentinel-2 reflectance in [0, 1] is scaled to uint16 × 10 000 for
``s2_l2a``; every other raster (Landsat reflectance and Kelvin, mag1c) uses ``s2_norm`` (mean
0, std 1: the values as stored). A single Landsat thermal band (the urban-heat-island pairs)
is not the 8-band image ``[l8_ms_30]`` names: its sensor tag becomes ``[Inf_thermal_1]``,
EarthDial's thermal-infrared tag (``earthdial_routes.THERMAL_TAG``), with ``bands: 1``. Every
entry has ``data_augment: false`` (read unconditionally by EarthDial's ``build_datasets``) and
``dynamic_image: false`` (raster branches take one tile per image).

**Where ``<image>`` goes.** EarthDial's evaluation prompts put the task tag and the
sensor/resolution tag first, then one ``<image>`` per image, then the instruction
(``[refer] [hr_rgb_0.5] <image>\nGive me…``), and its loader replaces the ``<image>``
tokens wherever they are, one per image. The corpus is generated that way and the export
keeps it (``image_tokens="after_tags"``): the first human turn starts with its tags followed
by exactly one ``<image>`` per image, and no other turn holds ``<image>``. For trainers that
want the placeholders at the very start (InternVL-style ``<image>\n…``),
``image_tokens="first"`` moves them there.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eoinstruct.pipeline.corpus.earthdial_routes import (
    L8_MS_TAG,
    ROUTE_PREFIX,
    THERMAL_TAG,
    ExportError,
    convert_raster,
    exported_encoding,
    normalization_for,
    route_of,
)
from eoinstruct.pipeline.corpus.saved_dataset import SavedDatasetWriter
from eoinstruct.pipeline.corpus.webdataset import parquet_pair_records
from eoinstruct.pipeline.io.atomic import write_text_atomic

IMAGE_TOKEN = "<image>"
TAG = re.compile(r"\[[^\]\s]+\]")
"""A task or sensor tag such as ``[refer]`` or ``[hr_rgb_0.5]``."""


def image_key_prefix(data: bytes) -> str:
    """Return ``jpg`` for JPEG bytes and ``png`` for anything else."""
    return "jpg" if data[:3] == b"\xff\xd8\xff" else "png"


def split_leading_tags(text: str) -> tuple[list[str], str]:
    """Split the leading ``[tag]`` tokens off a prompt.

    Args:
        text: A human turn.

    Returns:
        The tags and the rest of the text (leading whitespace removed).
    """
    tags: list[str] = []
    rest = text.lstrip()
    while True:
        match = TAG.match(rest)
        if not match:
            return tags, rest
        tags.append(match.group(0))
        rest = rest[match.end() :].lstrip()


def check_conversation(turns: list[dict[str, str]], n_images: int, where: str) -> None:
    """Check a conversation as EarthDial's loader needs it.

    Args:
        turns: The ``[{"from", "value"}]`` turns.
        n_images: Number of images of the record.
        where: Record name for messages.

    Raises:
        ExportError: If it is empty, does not alternate human/gpt starting with human, has an
            empty turn, or the ``<image>`` tokens are not exactly one per image right after
            the leading tags of the first human turn.
    """
    if not turns:
        raise ExportError(f"{where}: empty conversation")
    for i, turn in enumerate(turns):
        expected = "human" if i % 2 == 0 else "gpt"
        if turn.get("from") != expected or not str(turn.get("value", "")).strip():
            raise ExportError(f"{where}: turn {i} is not a non-empty {expected} turn")
    _, rest = split_leading_tags(turns[0]["value"])
    if not rest.startswith(" ".join([IMAGE_TOKEN] * n_images)) and n_images:
        raise ExportError(f"{where}: the first human turn does not start with its images")
    total = sum(t["value"].count(IMAGE_TOKEN) for t in turns)
    if turns[0]["value"].count(IMAGE_TOKEN) != n_images or total != n_images:
        raise ExportError(f"{where}: {total} {IMAGE_TOKEN} tokens for {n_images} images")


def place_image_tokens(text: str, n_images: int, mode: str) -> str:
    r"""Return the first human turn with its ``<image>`` tokens where the trainer wants them.

    Args:
        text: The first human turn as generated (tags, images, instruction).
        n_images: Number of images.
        mode: ``after_tags`` (unchanged) or ``first`` (``<image> <image>\n[tags] …``).

    Returns:
        The turn.

    Raises:
        ValueError: If the mode is unknown.
    """
    if mode == "after_tags":
        return text
    if mode != "first":
        raise ValueError(f"image_tokens must be 'after_tags' or 'first', not {mode!r}")
    tags, rest = split_leading_tags(text)
    rest = rest.replace(IMAGE_TOKEN, "", n_images).lstrip(" \n")
    images = " ".join([IMAGE_TOKEN] * n_images)
    return f"{images}\n{' '.join([*tags, rest]) if tags else rest}"


@dataclass
class _Subset:
    """What the scan learns about one sub-dataset before writing it."""

    source: str
    task: str
    modality: str
    roles: tuple[str, ...]
    split: str
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    jpeg_only: bool = True
    rasters: dict[str, dict[str, Any]] = field(default_factory=dict)
    shapes: dict[str, set[tuple[int, ...]]] = field(default_factory=lambda: defaultdict(set))
    sensors: set[str] = field(default_factory=set)
    band_names: tuple[str, ...] = ()
    variant: str = ""

    @property
    def name(self) -> str:
        roles = "" if self.roles == ("image",) else "_" + "_".join(self.roles)
        variant = f"_{self.variant}" if self.variant else ""
        return f"{self.source}_{self.task}_{self.modality}{roles}{variant}_{self.split}"

    @property
    def route(self) -> str:
        return route_of(self.roles, self.rasters, self.name)

    @property
    def export_name(self) -> str:
        """The dataset name in the mixture: its prefix picks the loader's branch."""
        return ROUTE_PREFIX.get(self.route, "") + self.name

    @property
    def sensor(self) -> str:
        return sorted(self.sensors)[0]

    def image_columns(self) -> dict[str, str]:
        prefix = "jpg" if self.jpeg_only else "png"
        if len(self.roles) == 1:
            return {self.roles[0]: prefix}
        return {role: f"{prefix}_{role}" for role in self.roles}

    def raster_columns(self) -> dict[str, str]:
        if self.route in ("raster", "stacked"):
            return {r: "tif_ms" for r in self.roles if r in self.rasters}
        return {r: f"tif_ms_{r}" for r in self.roles if r in self.rasters}

    def image_key(self) -> str:
        if self.route in ("rgb", "change_rgb"):
            return ",".join(self.image_columns()[r] for r in self.roles)
        return ",".join(dict.fromkeys(self.raster_columns()[r] for r in self.roles))

    def band_count(self) -> int:
        if self.route in ("rgb", "change_rgb"):
            return 3
        if self.route == "stacked":
            return sum(len(self.rasters[r]["bands"]) for r in self.roles)
        return len(self.rasters[self.roles[0]]["bands"])

    def normalization(self) -> str:
        if self.route in ("rgb", "change_rgb"):
            return "imagenet"
        if self.route == "stacked":
            return "s2_norm"
        info = self.rasters[self.roles[0]]
        encoding = exported_encoding(info, self.sensor)
        return normalization_for(encoding, self.sensor, len(info["bands"]))


def _first_bands(doc: dict[str, Any]) -> tuple[str, ...]:
    rasters = doc.get("rasters", {})
    first = next((rasters[r] for r in doc["image_roles"] if r in rasters), None)
    return tuple(first["bands"]) if first else ()


def _scan(corpus: Path) -> dict[str, _Subset]:
    """Group the corpus's records into subsets, by name.

    One trainer entry states one band count, so records of one name with different band
    lists (e.g. STAC Sentinel-2 and Landsat time series) become subsets named by their band
    count (``…_t0_t1_12b_train``).
    """
    found: dict[tuple[str, tuple[str, ...]], _Subset] = {}
    for tar in sorted((corpus / "data").glob("*.parquet")):
        try:
            records = list(_scan_records(tar))
        except ValueError as exc:
            raise ExportError(str(exc)) from exc
        for key, doc, members in records:
            roles = tuple(doc["image_roles"])
            sub = _Subset(doc["source"], doc["task"], doc["modality"], roles, doc["split"])
            sub.band_names = _first_bands(doc)
            sub = found.setdefault((sub.name, sub.band_names), sub)
            if not sub.files or sub.files[-1] != tar:
                sub.files.append(tar)
            sub.rows += 1
            sub.sensors.add(doc["sensor"])
            for role in roles:
                png = members.get(f"{role}.png")
                if png is None:
                    raise ExportError(f"{tar}: pair {key} has no {role}.png")
                sub.jpeg_only &= image_key_prefix(png) == "jpg"
            for role, info in doc.get("rasters", {}).items():
                sub.rasters.setdefault(role, info)
                sub.shapes[role].add(tuple(info["shape"]))
    names = Counter(name for name, _ in found)
    counts = Counter((name, len(bands)) for name, bands in found)
    subsets: dict[str, _Subset] = {}
    for (name, bands), sub in found.items():
        if names[name] > 1:
            sub.variant = f"{len(bands)}b"
            if counts[(name, len(bands))] > 1:  # same count, other bands: name them apart
                sub.variant += hashlib.sha256("|".join(bands).encode()).hexdigest()[:6]
        subsets[sub.name] = sub
    return subsets


def _raster_shape(sub: _Subset, role: str) -> tuple[int, ...] | None:
    """The exported array shape of a raster column, or None when it varies by row."""
    roles = sub.roles if sub.route == "stacked" else (role,)
    shapes = [sub.shapes[r] for r in roles]
    if any(len(s) != 1 for s in shapes):
        return None
    first = [next(iter(s)) for s in shapes]
    if len({s[1:] for s in first}) != 1:
        return None
    c, h, w = sum(s[0] for s in first), *first[0][1:]
    return (h, w, c) if sub.route == "change_sar" else (c, h, w)


def _features(sub: _Subset) -> Any:
    from datasets import Array3D, Features, Image, List, Value

    columns: dict[str, Any] = {
        "__key__": Value("string"),
        "conversations": Value("string"),
        "source": Value("string"),
        "task": Value("string"),
        "modality": Value("string"),
        "sensor": Value("string"),
        "metadata": Value("string"),
    }
    for column in sub.image_columns().values():
        columns[column] = Image()
    for role, column in sub.raster_columns().items():
        uint16 = all(
            exported_encoding(sub.rasters[r], sub.sensor) == "reflectance_1e4"
            for r in (sub.roles if sub.route == "stacked" else (role,))
        )
        dtype = "uint16" if uint16 else "float32"
        shape = _raster_shape(sub, role)
        if shape is not None:
            columns[column] = Array3D(shape=shape, dtype=dtype)
        else:
            columns[column] = List(List(List(Value(dtype))))
    return Features(columns)


def _as_png(data: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _first_turn(sub: _Subset, text: str) -> str:
    """The first human turn as the route needs it (stacked images: one ``<image>``)."""
    if sub.route == "stacked":
        text = text.replace(" ".join([IMAGE_TOKEN] * len(sub.roles)), IMAGE_TOKEN, 1)
    elif sub.route == "raster":
        info = sub.rasters[sub.roles[0]]
        if len(info["bands"]) == 1 and info["encoding"] == "kelvin":
            tags, rest = split_leading_tags(text)
            if L8_MS_TAG in tags:
                tags = [THERMAL_TAG if t == L8_MS_TAG else t for t in tags]
                text = " ".join([*tags, rest])
    return text


def _raster_values(sub: _Subset, members: dict[str, bytes], where: str) -> dict[str, Any]:
    """The raster columns of one record, converted and laid out for the route."""
    arrays: dict[str, np.ndarray] = {}
    for role in sub.raster_columns():
        raw = members.get(f"{role}.npy")
        if raw is None:
            raise ExportError(f"{where}: no {role}.npy raster member")
        array = np.load(io.BytesIO(raw), allow_pickle=False)
        arrays[role] = convert_raster(array, sub.rasters[role], sub.sensor)
    if sub.route == "stacked":
        if len({a.shape[1:] for a in arrays.values()}) != 1:
            raise ExportError(f"{where}: images {sub.roles} are not on one grid; cannot stack")
        uint16 = all(a.dtype == np.uint16 for a in arrays.values())
        stacked = np.concatenate([arrays[r] for r in sub.roles], axis=0)
        return {"tif_ms": stacked if uint16 else stacked.astype(np.float32)}
    columns = sub.raster_columns()
    if sub.route == "change_sar":
        return {columns[r]: np.ascontiguousarray(a.transpose(1, 2, 0)) for r, a in arrays.items()}
    return {columns[r]: a for r, a in arrays.items()}


def _subset_key(doc: Mapping[str, Any]) -> tuple[Any, ...]:
    """What tells a record's sub-dataset apart (all of a :class:`_Subset`'s identity)."""
    return (
        doc["source"],
        doc["task"],
        doc["modality"],
        tuple(doc["image_roles"]),
        doc["split"],
        _first_bands(doc),
    )


def _row(
    sub: _Subset,
    key: str,
    doc: dict[str, Any],
    members: dict[str, bytes],
    image_tokens: str,
    where: str,
) -> dict[str, Any]:
    """Return the exported row of one pair record of a sub-dataset."""
    n_images = 1 if sub.route == "stacked" else len(sub.roles)
    turns = [{"from": t["from"], "value": t["value"]} for t in doc["conversations"]]
    check_conversation(turns, len(sub.roles), where)
    turns[0]["value"] = _first_turn(sub, turns[0]["value"])
    check_conversation(turns, n_images, where)
    turns[0]["value"] = place_image_tokens(turns[0]["value"], n_images, image_tokens)
    row: dict[str, Any] = {
        "__key__": key,
        "conversations": json.dumps(turns, ensure_ascii=False),
        "source": doc["source"],
        "task": doc["task"],
        "modality": doc["modality"],
        "sensor": doc["sensor"],
        "metadata": json.dumps(doc["metadata"], sort_keys=True, ensure_ascii=False),
    }
    for role, column in sub.image_columns().items():
        data = members[f"{role}.png"]
        if column.startswith("png") and image_key_prefix(data) == "jpg":
            data = _as_png(data)
        row[column] = {"bytes": data, "path": None}
    row.update(_raster_values(sub, members, where))
    return row


def export_earthdial(
    corpus: Path,
    out: Path,
    *,
    image_tokens: str = "after_tags",
    repeat_time: Mapping[str, int] | None = None,
    annotation_root: str | None = None,
) -> dict[str, Any]:
    """Write the EarthDial export of a corpus folder.

    Args:
        corpus: The corpus folder (its ``data/*.parquet`` are read).
        out: The export folder; each sub-dataset goes to ``<out>/<name>/`` and the mixtures
            to ``<out>/mixture_<split>.json``. Its previous content is replaced.
        image_tokens: ``after_tags`` (EarthDial's evaluation layout, as generated) or
            ``first``; see the module docstring.
        repeat_time: ``repeat_time`` per source (key ``default`` for the rest; default 1).
        annotation_root: Prefix of the ``annotation`` paths in the mixtures (e.g. where the
            export will lie on the training machine); default: paths relative to ``out``.

    Returns:
        The mixtures by split.

    Raises:
        ExportError: If a record cannot be exported.
        FileNotFoundError: If the corpus has no shards and no manifest (never sharded).
    """
    import datasets

    corpus, out = Path(corpus), Path(out)
    if not any((corpus / "data").glob("*.parquet")):
        if not (corpus / "manifest.json").is_file():
            raise FileNotFoundError(f"{corpus}/data has no shards: run the shard stage first")
        # an empty corpus (every source empty or disabled): an empty export, no mixture
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        return {}
    subsets = _scan(corpus)
    repeats = dict(repeat_time or {})
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    mixtures: dict[str, dict[str, Any]] = defaultdict(dict)
    # datasets draws a progress bar per subset and step (140 lines in a log for the sample
    # build); the stage prints its own summary instead
    bars_were_on = datasets.utils.logging.is_progress_bar_enabled()
    datasets.utils.logging.disable_progress_bar()
    try:
        return _export_subsets(subsets, out, mixtures, image_tokens, repeats, annotation_root)
    finally:
        if bars_were_on:
            datasets.utils.logging.enable_progress_bar()


EXPORT_BATCH_ROWS = 32
"""Rows the export buffers before writing them (``datasets``' default, 1,000, holds a
thousand rows of images in memory: a few GB with 1024² pairs, growing with the corpus)."""


def _scan_records(path: Path) -> Iterator[tuple[str, dict[str, Any], dict[str, bytes]]]:
    """The pairs of one Parquet shard with only the first bytes of each image (for the scan)."""
    for key, doc, members in parquet_pair_records(path, arrays=False):  # no .npy read
        yield key, doc, {k: v[:4] for k, v in members.items() if k.endswith(".png")}


def _file_groups(subsets: dict[str, _Subset]) -> list[list[_Subset]]:
    """Sub-datasets grouped so that no two groups read the same Parquet file, in file order.

    One group per split and source in practice (a shard file holds one split of one source).
    """
    groups: list[tuple[set[Path], list[_Subset]]] = []
    for sub in sorted(subsets.values(), key=lambda s: s.name):
        files = set(sub.files)
        joined = [g for g in groups if g[0] & files]
        groups = [g for g in groups if not g[0] & files]
        groups.append(
            (files.union(*(g[0] for g in joined)), [*(s for g in joined for s in g[1]), sub])
        )
    return [subs for _, subs in sorted(groups, key=lambda g: min(g[0]))]


def _write_rows(subsets: dict[str, _Subset], out: Path, image_tokens: str) -> dict[str, int]:
    """Read each Parquet file once and route its pair records to their sub-datasets' writers.

    Each sub-dataset receives its rows in the order of its files and of the rows in them, as
    if it were written alone. Only the writers of one group of sub-datasets sharing files (a
    split of a source) are open at a time, each buffering at most ``EXPORT_BATCH_ROWS`` rows.
    Returns the rows written per sub-dataset.
    """
    written: dict[str, int] = {}
    for group in _file_groups(subsets):
        by_key = {
            (sub.source, sub.task, sub.modality, sub.roles, sub.split, sub.band_names): sub
            for sub in group
        }
        writers: dict[str, SavedDatasetWriter] = {}
        try:
            for path in sorted({path for sub in group for path in sub.files}):
                for key, doc, members in parquet_pair_records(path):
                    sub = by_key.get(_subset_key(doc))
                    if sub is None or path not in sub.files:
                        continue
                    writer = writers.get(sub.name)
                    if writer is None:
                        dest = out / sub.export_name
                        writer = writers[sub.name] = SavedDatasetWriter(
                            _features(sub), dest, sub.export_name, EXPORT_BATCH_ROWS
                        )
                    where = f"{path.name}:{key}"
                    writer.write(_row(sub, key, doc, members, image_tokens, where))
            for name in sorted(writers):
                written[name] = writers.pop(name).finish()
        finally:
            for writer in writers.values():
                writer.close()
    return written


def _export_subsets(
    subsets: dict[str, _Subset],
    out: Path,
    mixtures: dict[str, dict[str, Any]],
    image_tokens: str,
    repeats: dict[str, int],
    annotation_root: str | None,
) -> dict[str, dict[str, Any]]:
    """Write every subset in ``save_to_disk``'s layout, then the mixture JSON of each split."""
    written = _write_rows(subsets, out, image_tokens)
    for name, sub in sorted(subsets.items()):
        export_name = sub.export_name
        rows = written.get(name, 0)
        if rows != sub.rows:
            raise ExportError(f"{name}: wrote {rows} rows, expected {sub.rows}")
        root = annotation_root.rstrip("/") + "/" if annotation_root else ""
        mixtures[sub.split][export_name] = {
            "annotation": f"{root}{export_name}",
            "image_key": sub.image_key(),
            "conversation": "conversations",
            "bands": sub.band_count(),
            "normalization": sub.normalization(),
            "data_augment": False,
            "dynamic_image": False,
            "repeat_time": int(repeats.get(sub.source, repeats.get("default", 1))),
        }
    for split, mixture in sorted(mixtures.items()):
        write_text_atomic(
            out / f"mixture_{split}.json", json.dumps(mixture, indent=2, sort_keys=True) + "\n"
        )
    return dict(mixtures)
