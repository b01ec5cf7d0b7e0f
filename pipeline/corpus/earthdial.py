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

The export reads only the corpus folder (its WebDataset tars hold the JSON, the RGB
renderings and the rasters), so it works as well on a corpus downloaded from the Hub. A
sub-dataset is one split of one source, task, modality and set of image roles, named
``<source>_<task>_<modality>[_<roles>]_<split>``. Its columns:

- ``__key__`` (the pair id), ``conversations`` (JSON string of ``[{"from", "value"}]``), and
  ``source``, ``task``, ``modality``, ``sensor``, ``metadata`` (JSON) for bookkeeping;
- RGB renderings as ``png`` (one image) or ``png_<role>`` (``png_pre``, ``png_post``); ``jpg``
  instead of ``png`` when every image of the sub-dataset is a JPEG (JPEGs in a ``png``
  sub-dataset are re-encoded losslessly as PNG);
- for images that are not 8-bit RGB, the raster as ``tif_ms`` (or ``tif_ms_<role>``): all
  bands on the image's grid, uint16 reflectance × 10 000 for Sentinel-2, float32 otherwise,
  nodata as 0; the mixture points ``image_key`` at these columns.

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
import tarfile
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from eoinstruct.pipeline.corpus.layout import parse_stem
from eoinstruct.pipeline.io.atomic import write_text_atomic

IMAGE_TOKEN = "<image>"
TAG = re.compile(r"\[[^\]\s]+\]")
"""A task or sensor tag such as ``[refer]`` or ``[hr_rgb_0.5]``."""

NORMALIZATION_BY_ENCODING: dict[str, str] = {
    "uint8": "imagenet",
    "sar_db": "s1",
    "sar_linear": "s1",
}
"""EarthDial ``normalization`` names per encoding; Sentinel-2 reflectance uses ``s2_l2a``
and every other raster ``s2_norm`` (mean 0, std 1: the values as stored)."""


class ExportError(ValueError):
    """A corpus record cannot be exported (bad conversation, missing member)."""


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


def iter_tar_records(path: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield ``(key, {extension: bytes})`` for each WebDataset sample of a tar.

    Args:
        path: A tar written by the shard stage (members of a sample are consecutive).

    Yields:
        The key and its members.
    """
    key, members = "", {}
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


@dataclass
class _Subset:
    """What the scan learns about one sub-dataset before writing it."""

    source: str
    task: str
    modality: str
    roles: tuple[str, ...]
    split: str
    tars: list[Path] = field(default_factory=list)
    rows: int = 0
    jpeg_only: bool = True
    rasters: dict[str, dict[str, Any]] = field(default_factory=dict)
    shapes: dict[str, set[tuple[int, ...]]] = field(default_factory=lambda: defaultdict(set))
    sensors: set[str] = field(default_factory=set)
    bands: tuple[str, ...] = ()
    variant: str = ""

    @property
    def name(self) -> str:
        roles = "" if self.roles == ("image",) else "_" + "_".join(self.roles)
        variant = f"_{self.variant}" if self.variant else ""
        return f"{self.source}_{self.task}_{self.modality}{roles}{variant}_{self.split}"

    def image_columns(self) -> dict[str, str]:
        prefix = "jpg" if self.jpeg_only else "png"
        if len(self.roles) == 1:
            return {self.roles[0]: prefix}
        return {role: f"{prefix}_{role}" for role in self.roles}

    def raster_columns(self) -> dict[str, str]:
        if len(self.roles) == 1:
            return {r: "tif_ms" for r in self.roles if r in self.rasters}
        return {r: f"tif_ms_{r}" for r in self.roles if r in self.rasters}


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
    for tar in sorted((corpus / "wds").glob("*.tar")):
        tokens = parse_stem(tar.stem)
        for key, members in iter_tar_records(tar):
            if "json" not in members:
                raise ExportError(f"{tar}: sample {key} has no JSON member")
            doc = json.loads(members["json"])
            roles = tuple(doc["image_roles"])
            sub = _Subset(tokens["source"], tokens["task"], doc["modality"], roles, tokens["split"])
            sub.bands = _first_bands(doc)
            sub = found.setdefault((sub.name, sub.bands), sub)
            if not sub.tars or sub.tars[-1] != tar:
                sub.tars.append(tar)
            sub.rows += 1
            sub.sensors.add(doc["sensor"])
            for role in roles:
                png = members.get(f"{role}.png")
                if png is None:
                    raise ExportError(f"{tar}: sample {key} has no {role}.png")
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
        dtype = "uint16" if sub.rasters[role]["dtype"] == "uint16" else "float32"
        shapes = sub.shapes[role]
        if len(shapes) == 1:
            columns[column] = Array3D(shape=next(iter(shapes)), dtype=dtype)
        else:
            columns[column] = List(List(List(Value(dtype))))
    return Features(columns)


def _as_png(data: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _rows(sub: _Subset, image_tokens: str) -> Iterator[dict[str, Any]]:
    images = sub.image_columns()
    rasters = sub.raster_columns()
    for tar in sub.tars:
        for key, members in iter_tar_records(tar):
            doc = json.loads(members["json"])
            if tuple(doc["image_roles"]) != sub.roles or doc["modality"] != sub.modality:
                continue
            if _first_bands(doc) != sub.bands:
                continue
            turns = [{"from": t["from"], "value": t["value"]} for t in doc["conversations"]]
            check_conversation(turns, len(sub.roles), f"{tar.name}:{key}")
            turns[0]["value"] = place_image_tokens(turns[0]["value"], len(sub.roles), image_tokens)
            row: dict[str, Any] = {
                "__key__": key,
                "conversations": json.dumps(turns, ensure_ascii=False),
                "source": doc["source"],
                "task": doc["task"],
                "modality": doc["modality"],
                "sensor": doc["sensor"],
                "metadata": json.dumps(doc["metadata"], sort_keys=True, ensure_ascii=False),
            }
            for role, column in images.items():
                data = members[f"{role}.png"]
                if column.startswith("png") and image_key_prefix(data) == "jpg":
                    data = _as_png(data)
                row[column] = {"bytes": data, "path": None}
            for role, column in rasters.items():
                raw = members.get(f"{role}.npy")
                if raw is None:
                    raise ExportError(f"{tar.name}:{key}: no {role}.npy raster member")
                array = np.load(io.BytesIO(raw), allow_pickle=False)
                if array.dtype != np.uint16:
                    array = np.nan_to_num(array.astype(np.float32), nan=0.0)
                row[column] = array
            yield row


def normalization_for(sub_encoding: str, sensor: str) -> str:
    """Return EarthDial's ``normalization`` name for a raster encoding and sensor.

    Args:
        sub_encoding: The image encoding (``uint8``, ``reflectance_1e4``, ``sar_db``…).
        sensor: The sensor name.

    Returns:
        ``imagenet`` (8-bit RGB), ``s2_l2a`` (Sentinel-2 reflectance), ``s1`` (SAR in dB) or
        ``s2_norm`` (identity, the values as stored).
    """
    if sub_encoding == "reflectance_1e4" and "Sentinel-2" in sensor:
        return "s2_l2a"
    return NORMALIZATION_BY_ENCODING.get(sub_encoding, "s2_norm")


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
        corpus: The corpus folder (its ``wds/*.tar`` are read).
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
        FileNotFoundError: If the corpus has no tars.
    """
    import datasets

    corpus, out = Path(corpus), Path(out)
    if not any((corpus / "wds").glob("*.tar")):
        raise FileNotFoundError(f"{corpus}/wds has no tar shards: run the shard stage first")
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


def _export_subsets(
    subsets: dict[str, _Subset],
    out: Path,
    mixtures: dict[str, dict[str, Any]],
    image_tokens: str,
    repeats: dict[str, int],
    annotation_root: str | None,
) -> dict[str, dict[str, Any]]:
    """Write every subset with ``save_to_disk``, then the mixture JSON of each split."""
    import datasets  # slow to import; only the export needs it

    with tempfile.TemporaryDirectory(prefix="earthdial-", dir=out) as cache:
        for name, sub in sorted(subsets.items()):
            features = _features(sub)
            dataset = datasets.Dataset.from_generator(
                _rows,
                gen_kwargs={"sub": sub, "image_tokens": image_tokens},
                features=features,
                cache_dir=cache,
            )
            if len(dataset) != sub.rows:
                raise ExportError(f"{name}: wrote {len(dataset)} rows, expected {sub.rows}")
            dataset.save_to_disk(str(out / name))
            rasters = sub.raster_columns()
            if rasters:
                role = next(iter(rasters))
                info = sub.rasters[role]
                image_key = ",".join(rasters[r] for r in sub.roles if r in rasters)
                bands = len(info["bands"])
                norm = normalization_for(info["encoding"], sorted(sub.sensors)[0])
            else:
                image_key = ",".join(sub.image_columns()[r] for r in sub.roles)
                bands, norm = 3, "imagenet"
            root = annotation_root.rstrip("/") + "/" if annotation_root else ""
            mixtures[sub.split][name] = {
                "annotation": f"{root}{name}",
                "image_key": image_key,
                "conversation": "conversations",
                "bands": bands,
                "normalization": norm,
                "dynamic_image": False,
                "repeat_time": int(repeats.get(sub.source, repeats.get("default", 1))),
            }
    for split, mixture in sorted(mixtures.items()):
        write_text_atomic(
            out / f"mixture_{split}.json", json.dumps(mixture, indent=2, sort_keys=True) + "\n"
        )
    return dict(mixtures)
