"""The two typed records that flow between stages: a sample and an instruction pair.

A :class:`Sample` is one observation read from a source: one or more images of the same
place (a pre/post pair, an S2 patch, …) with everything known about it. An
:class:`InstructionPair` is one dialogue about one sample. Stages exchange them as Parquet
files with the fixed Arrow schemas :data:`SAMPLE_SCHEMA` and :data:`PAIR_SCHEMA`; the
conversion helpers here are the only place that knows how a record maps to a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

MODALITIES: tuple[str, ...] = (
    "rgb",
    "multispectral",
    "sar",
    "infrared",
    "thermal",
    "hyperspectral",
)
"""Allowed values of :attr:`Sample.modality`."""

ENCODINGS: tuple[str, ...] = (
    "uint8",
    "reflectance_1e4",
    "reflectance",
    "sar_db",
    "sar_linear",
    "radiance",
    "normalized_radiance",
    "kelvin",
    "float",
)
"""How pixel values of an image are to be read.

- ``uint8``: 8-bit display values (RGB PNG/JPEG, Satlas band PNGs); no implicit nodata.
- ``reflectance_1e4``: surface reflectance × 10 000 in uint16 (Sentinel-2 L2A); 0 is nodata.
- ``reflectance``: surface or TOA reflectance as floats, 0–1 (scale/offset already applied).
- ``sar_db``: backscatter in decibels, float32 (Sentinel-1 GRD as in BigEarthNet).
- ``sar_linear``: backscatter as linear power (σ0, γ0), float32; converted to dB when read
  for brightness or display.
- ``radiance``: at-sensor radiance in µW cm⁻² sr⁻¹ nm⁻¹.
- ``normalized_radiance``: radiance × π d² / cos θs in µW cm⁻² nm⁻¹ (STARCOP's AVIRIS-NG
  TOA bands; reflectance × 100 × solar irradiance), visible values about 20–60.
- ``kelvin``: brightness or surface temperature in kelvin (thermal bands).
- ``float``: any other physical quantity (e.g. a methane enhancement); no brightness scale,
  and auxiliary: the filter's brightness and coverage tests ignore such images.
NaN is always nodata, as is the file's declared nodata value.
"""


class RecordError(ValueError):
    """A record violates its schema (unknown modality, empty id, bad box…)."""


@dataclass(frozen=True)
class ImageRef:
    """One image of a sample, as found on disk.

    Attributes:
        role: What the image is within the sample: ``image``, ``pre``, ``post``…
        files: One path per band file, in the order of ``bands``, or a single path when one
            file holds all bands (an RGB PNG).
        bands: Band names in the order they are read (``B04``, ``VV``, ``R``…).
        encoding: One of :data:`ENCODINGS`.
        width: Width in pixels of the image's reference grid (the finest band).
        height: Height in pixels of the image's reference grid.
        display_bands: Bands that make the image's rendering and brightness: three for
            red, green, blue; one for a grey image; ``("VV", "VH")`` for dual-polarised SAR.
            Empty: guessed from the band names (see :mod:`eoinstruct.pipeline.io.render`).
    """

    role: str
    files: tuple[str, ...]
    bands: tuple[str, ...]
    encoding: str
    width: int
    height: int
    display_bands: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise RecordError(f"unknown encoding {self.encoding!r}; expected one of {ENCODINGS}")
        if not self.files:
            raise RecordError(f"image {self.role!r} has no files")
        if len(self.files) not in (1, len(self.bands)):
            raise RecordError(
                f"image {self.role!r}: {len(self.files)} files for {len(self.bands)} bands"
            )
        unknown = [b for b in self.display_bands if b not in self.bands]
        if unknown or len(self.display_bands) not in (0, 1, 2, 3):
            raise RecordError(f"image {self.role!r}: bad display bands {self.display_bands}")

    def band_file(self, band: str) -> str:
        """Return the file that holds ``band``.

        Args:
            band: A name from :attr:`bands`.

        Returns:
            The path of the band's file (the single file when all bands share one).

        Raises:
            KeyError: If the image has no such band.
        """
        if band not in self.bands:
            raise KeyError(f"image {self.role!r} has no band {band!r} (has {list(self.bands)})")
        if len(self.files) == 1:
            return self.files[0]
        return self.files[self.bands.index(band)]


@dataclass(frozen=True)
class ObjectLabel:
    """One annotated object (a building footprint, a vessel…) in pixel space.

    Attributes:
        category: Object class, e.g. ``building``.
        attribute: A state of the object, e.g. the xBD damage subtype ``destroyed``; empty
            when the source gives none.
        image_role: The :attr:`ImageRef.role` whose pixel grid the geometry refers to.
        bbox: Axis-aligned box ``(x1, y1, x2, y2)`` in pixels of that image.
        polygon_wkt: The source geometry in pixel coordinates as WKT (empty if only a box).
        uid: The source's identifier of the object (empty if none).
    """

    category: str
    attribute: str
    image_role: str
    bbox: tuple[float, float, float, float]
    polygon_wkt: str = ""
    uid: str = ""


@dataclass(frozen=True)
class Labels:
    """Everything a source says about what is in a sample.

    Attributes:
        scheme: Name of the class nomenclature of :attr:`classes` (``clc43``…), empty if none.
        classes: Scene-level class names (multi-label; sorted, no duplicates).
        objects: Annotated objects.
        properties: Other label facts, e.g. ``disaster_type``.
        rasters: Raster labels by name → file path, e.g. ``{"reference_map": …}`` (reBEN),
            ``{"land_cover": …}`` (SatlasPretrain), ``{"plume_mask": …}`` (STARCOP).
    """

    scheme: str = ""
    classes: tuple[str, ...] = ()
    objects: tuple[ObjectLabel, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    rasters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One observation: a place seen by one sensor at one or more times.

    Attributes:
        sample_id: Globally unique id, ``<source>:<native_id>``.
        source: Adapter name (``bigearthnet_v1``, ``xbd``…).
        native_id: The source's own id of the observation (patch or tile name).
        modality: One of :data:`MODALITIES`.
        sensor: Sensor or platform, e.g. ``Sentinel-2 MSI``.
        bands: Band names of the sample (the union over its images, in reading order).
        gsd_m: Ground sample distance in metres of the finest band; ``None`` if unknown.
        crs: CRS of the source rasters as ``EPSG:<code>`` or WKT; empty if unknown.
        footprint_wkt: Footprint polygon in lon/lat (EPSG:4326) as WKT; empty if unknown.
        acquired: Acquisition times, ISO 8601, one per distinct date (pre, post…).
        images: The images of the sample with their roles.
        tags: Descriptive key/value tags (metadata and, later, OpenStreetMap tags).
        labels: What the source annotates.
        licence: SPDX id or licence name of the source data.
        split: Official split of the source (``train``, ``validation``, ``test``) or empty.
    """

    sample_id: str
    source: str
    native_id: str
    modality: str
    sensor: str
    bands: tuple[str, ...]
    gsd_m: float | None
    crs: str
    footprint_wkt: str
    acquired: tuple[str, ...]
    images: tuple[ImageRef, ...]
    tags: Mapping[str, str]
    labels: Labels
    licence: str
    split: str = ""

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise RecordError(f"unknown modality {self.modality!r}; expected one of {MODALITIES}")
        if not self.sample_id or not self.source or not self.native_id:
            raise RecordError("sample_id, source and native_id must be non-empty")
        if not self.images:
            raise RecordError(f"sample {self.sample_id} has no images")
        roles = [image.role for image in self.images]
        if len(set(roles)) != len(roles):
            raise RecordError(f"sample {self.sample_id} repeats image roles {roles}")

    def image(self, role: str) -> ImageRef:
        """Return the image with the given role.

        Args:
            role: An image role such as ``pre``.

        Returns:
            The matching image.

        Raises:
            KeyError: If no image has that role.
        """
        for image in self.images:
            if image.role == role:
                return image
        raise KeyError(f"sample {self.sample_id} has no image {role!r}")


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation, in EarthDial's ``{"from", "value"}`` form.

    Attributes:
        speaker: ``human`` or ``gpt``.
        value: The text of the turn.
    """

    speaker: str
    value: str


@dataclass(frozen=True)
class InstructionPair:
    """One dialogue about one sample.

    Attributes:
        pair_id: Stable id (hash of sample, template and paraphrase).
        sample_id: The :attr:`Sample.sample_id` it is about.
        source: The sample's source.
        task: Task family, e.g. ``classification``, ``grounding``, ``disaster_assessment``.
        template_id: Template that produced it.
        paraphrase_id: Index of the question phrasing chosen within the template (first turn).
        generator: Name and version of the generator (``template/1``…).
        generator_params: Parameters of the generator (seed, box convention…).
        image_roles: The sample's image roles, in the order of the ``<image>`` tokens.
        turns: The conversation, alternating human and gpt, human first.
        split: The split the pair belongs to.
        answer_style: The answer style drawn (``terse``, ``sentence``, ``explanatory``…;
            empty for pairs that have none, e.g. the captioner's).
    """

    pair_id: str
    sample_id: str
    source: str
    task: str
    template_id: str
    paraphrase_id: int
    generator: str
    generator_params: Mapping[str, str]
    image_roles: tuple[str, ...]
    turns: tuple[Turn, ...]
    split: str = ""
    answer_style: str = ""


_MAP = pa.map_(pa.string(), pa.string())

IMAGE_TYPE = pa.struct(
    [
        ("role", pa.string()),
        ("files", pa.list_(pa.string())),
        ("bands", pa.list_(pa.string())),
        ("encoding", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("display_bands", pa.list_(pa.string())),
    ]
)
OBJECT_TYPE = pa.struct(
    [
        ("category", pa.string()),
        ("attribute", pa.string()),
        ("image_role", pa.string()),
        ("bbox", pa.list_(pa.float64(), 4)),
        ("polygon_wkt", pa.string()),
        ("uid", pa.string()),
    ]
)
LABELS_TYPE = pa.struct(
    [
        ("scheme", pa.string()),
        ("classes", pa.list_(pa.string())),
        ("objects", pa.list_(OBJECT_TYPE)),
        ("properties", _MAP),
        ("rasters", _MAP),
    ]
)

SAMPLE_SCHEMA = pa.schema(
    [
        ("sample_id", pa.string()),
        ("source", pa.string()),
        ("native_id", pa.string()),
        ("modality", pa.string()),
        ("sensor", pa.string()),
        ("bands", pa.list_(pa.string())),
        ("gsd_m", pa.float64()),
        ("crs", pa.string()),
        ("footprint_wkt", pa.string()),
        ("acquired", pa.list_(pa.string())),
        ("images", pa.list_(IMAGE_TYPE)),
        ("tags", _MAP),
        ("labels", LABELS_TYPE),
        ("licence", pa.string()),
        ("split", pa.string()),
    ]
)
"""Arrow schema of a Parquet file of samples."""

TURN_TYPE = pa.struct([("from", pa.string()), ("value", pa.string())])

PAIR_SCHEMA = pa.schema(
    [
        ("pair_id", pa.string()),
        ("sample_id", pa.string()),
        ("source", pa.string()),
        ("task", pa.string()),
        ("template_id", pa.string()),
        ("paraphrase_id", pa.int32()),
        ("generator", pa.string()),
        ("generator_params", _MAP),
        ("image_roles", pa.list_(pa.string())),
        ("conversations", pa.list_(TURN_TYPE)),
        ("split", pa.string()),
        ("answer_style", pa.string()),
    ]
)
"""Arrow schema of a Parquet file of instruction pairs."""


def _sorted_map(mapping: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((str(k), str(v)) for k, v in mapping.items())


def _as_dict(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {str(k): str(v) for k, v in value}


def sample_to_row(sample: Sample) -> dict[str, object]:
    """Convert a sample to a row of :data:`SAMPLE_SCHEMA`.

    Args:
        sample: The sample.

    Returns:
        A dict with one entry per schema field; maps are sorted so rows are deterministic.
    """
    return {
        "sample_id": sample.sample_id,
        "source": sample.source,
        "native_id": sample.native_id,
        "modality": sample.modality,
        "sensor": sample.sensor,
        "bands": list(sample.bands),
        "gsd_m": sample.gsd_m,
        "crs": sample.crs,
        "footprint_wkt": sample.footprint_wkt,
        "acquired": list(sample.acquired),
        "images": [
            {
                "role": im.role,
                "files": list(im.files),
                "bands": list(im.bands),
                "encoding": im.encoding,
                "width": im.width,
                "height": im.height,
                "display_bands": list(im.display_bands),
            }
            for im in sample.images
        ],
        "tags": _sorted_map(sample.tags),
        "labels": {
            "scheme": sample.labels.scheme,
            "classes": list(sample.labels.classes),
            "objects": [
                {
                    "category": ob.category,
                    "attribute": ob.attribute,
                    "image_role": ob.image_role,
                    "bbox": [float(v) for v in ob.bbox],
                    "polygon_wkt": ob.polygon_wkt,
                    "uid": ob.uid,
                }
                for ob in sample.labels.objects
            ],
            "properties": _sorted_map(sample.labels.properties),
            "rasters": _sorted_map(sample.labels.rasters),
        },
        "licence": sample.licence,
        "split": sample.split,
    }


def sample_from_row(row: Mapping[str, Any]) -> Sample:
    """Rebuild a sample from a row of :data:`SAMPLE_SCHEMA` (as given by ``to_pylist``).

    Args:
        row: The row.

    Returns:
        The sample.
    """
    labels = row["labels"]
    assert isinstance(labels, Mapping)
    return Sample(
        sample_id=str(row["sample_id"]),
        source=str(row["source"]),
        native_id=str(row["native_id"]),
        modality=str(row["modality"]),
        sensor=str(row["sensor"]),
        bands=tuple(row["bands"] or ()),
        gsd_m=None if row["gsd_m"] is None else float(row["gsd_m"]),
        crs=str(row["crs"]),
        footprint_wkt=str(row["footprint_wkt"]),
        acquired=tuple(row["acquired"] or ()),
        images=tuple(
            ImageRef(
                role=im["role"],
                files=tuple(im["files"]),
                bands=tuple(im["bands"]),
                encoding=im["encoding"],
                width=int(im["width"]),
                height=int(im["height"]),
                display_bands=tuple(im.get("display_bands") or ()),
            )
            for im in row["images"]
        ),
        tags=_as_dict(row["tags"]),
        labels=Labels(
            scheme=str(labels["scheme"]),
            classes=tuple(labels["classes"] or ()),
            objects=tuple(
                ObjectLabel(
                    category=ob["category"],
                    attribute=ob["attribute"],
                    image_role=ob["image_role"],
                    bbox=tuple(ob["bbox"]),
                    polygon_wkt=ob["polygon_wkt"],
                    uid=ob["uid"],
                )
                for ob in labels["objects"] or ()
            ),
            properties=_as_dict(labels["properties"]),
            rasters=_as_dict(labels.get("rasters")),
        ),
        licence=str(row["licence"]),
        split=str(row["split"] or ""),
    )


def pair_to_row(pair: InstructionPair) -> dict[str, object]:
    """Convert an instruction pair to a row of :data:`PAIR_SCHEMA`.

    Args:
        pair: The pair.

    Returns:
        A dict with one entry per schema field.
    """
    return {
        "pair_id": pair.pair_id,
        "sample_id": pair.sample_id,
        "source": pair.source,
        "task": pair.task,
        "template_id": pair.template_id,
        "paraphrase_id": pair.paraphrase_id,
        "generator": pair.generator,
        "generator_params": _sorted_map(pair.generator_params),
        "image_roles": list(pair.image_roles),
        "conversations": [{"from": t.speaker, "value": t.value} for t in pair.turns],
        "split": pair.split,
        "answer_style": pair.answer_style,
    }


def pair_from_row(row: Mapping[str, Any]) -> InstructionPair:
    """Rebuild an instruction pair from a row of :data:`PAIR_SCHEMA`.

    Args:
        row: The row.

    Returns:
        The pair.
    """
    return InstructionPair(
        pair_id=str(row["pair_id"]),
        sample_id=str(row["sample_id"]),
        source=str(row["source"]),
        task=str(row["task"]),
        template_id=str(row["template_id"]),
        paraphrase_id=int(row["paraphrase_id"]),
        generator=str(row["generator"]),
        generator_params=_as_dict(row["generator_params"]),
        image_roles=tuple(row["image_roles"]),
        turns=tuple(Turn(t["from"], t["value"]) for t in row["conversations"]),
        split=str(row["split"] or ""),
        answer_style=str(row.get("answer_style") or ""),
    )


def samples_table(samples: Iterable[Sample]) -> pa.Table:
    """Build an Arrow table of samples.

    Args:
        samples: Samples in the order they are to be written.

    Returns:
        A table with :data:`SAMPLE_SCHEMA`.
    """
    return pa.Table.from_pylist([sample_to_row(s) for s in samples], schema=SAMPLE_SCHEMA)


def pairs_table(pairs: Iterable[InstructionPair]) -> pa.Table:
    """Build an Arrow table of instruction pairs.

    Args:
        pairs: Pairs in the order they are to be written.

    Returns:
        A table with :data:`PAIR_SCHEMA`.
    """
    return pa.Table.from_pylist([pair_to_row(p) for p in pairs], schema=PAIR_SCHEMA)


def to_json(value: object) -> str:
    """Serialise a value to canonical JSON (sorted keys, no spaces) for hashing and metadata.

    Args:
        value: A JSON-serialisable value.

    Returns:
        The JSON text.
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
