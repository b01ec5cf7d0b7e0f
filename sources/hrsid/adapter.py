"""HRSID SAR ship chips: one 800x800 JPEG chip and its COCO boxes become one :class:`Sample`.

Layout (HRSID's GitHub README; the image folder name is UNVERIFIED, both forms are read):
``annotations/train2017.json`` and ``annotations/test2017.json`` (COCO: ``images`` with
``file_name``/``width``/``height``/``id``, ``annotations`` with ``image_id``, ``category_id``,
``bbox`` ``[x, y, width, height]`` in pixels, ``categories`` with the one class ``ship``),
chips in ``JPEGImages/`` (or ``images/``). ``train_test2017.json`` (the union) is not read.

Decisions:

- Units are ``<annotation file stem>/<chip stem>``; an annotation file that is not valid COCO
  JSON is listed as one unit ``<annotation file stem>`` that fails with ``malformed_label``.
- A chip with no annotation is a ship-free chip: ``absent_categories`` is ``ship`` (HRSID
  annotates every ship of a chip), which makes "how many ships" → 0 answerable;
  ``static_image_role`` names the one image these labels describe.
- Chips carry no georeference and no per-chip sensor, polarisation or GSD: ``gsd_m`` is None
  (EarthDial's high-resolution SAR class, ``[s1_vh_1]``), the footprint is empty (the filter
  exempts this source from ``no_geolocation``, ``params.yaml`` ``filter.exempt``).
- Every box is checked to lie inside its chip and to have area; a category other than
  ``ship`` fails the unit (``malformed_label``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import (
    SourceAdapter,
    SourceError,
    SourceNotFoundError,
    facts_of,
    json_loads,
)
from eoinstruct.sources.jpeg import check_box, jpeg_info

ANNOTATION_FILES: tuple[str, ...] = ("train2017.json", "test2017.json")
"""The split annotation files read by default (the union file is left out)."""

SPLITS: dict[str, str] = {"train2017": "train", "test2017": "test"}
"""Annotation file stem → corpus split."""

IMAGE_FOLDERS: tuple[str, ...] = ("JPEGImages", "images")
"""Folders searched for the chips, in order."""

CATEGORY = "ship"


@dataclass(frozen=True)
class _Chip:
    file_name: str
    width: int
    height: int
    boxes: tuple[tuple[int, list[Any], Any], ...]  # (annotation id, bbox, category id)


class HRSID(SourceAdapter):
    """Reader of HRSID chips with their ship boxes.

    Options (``sources.hrsid`` in ``params.yaml``):
        annotations: Annotation files under ``annotations/`` (default :data:`ANNOTATION_FILES`).

    Args:
        root: The folder holding ``annotations/`` and ``JPEGImages/``.
        options: The adapter's options.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        names = self.options.get("annotations", ANNOTATION_FILES)
        self.annotation_files = (names,) if isinstance(names, str) else tuple(names)
        self._parsed: dict[str, dict[str, _Chip] | str] = {}
        self._ship_ids: dict[str, set[Any]] = {}

    def _parse(self, stem: str) -> dict[str, _Chip] | str:
        """Chips of one annotation file by stem, or the reason it cannot be read."""
        if stem in self._parsed:
            return self._parsed[stem]
        path = self.root / "annotations" / f"{stem}.json"
        result: dict[str, _Chip] | str
        try:
            data = json_loads(path.read_text(encoding="utf-8"))
            cats = {c["id"]: str(c["name"]) for c in data["categories"]}
            self._ship_ids[stem] = {k for k, v in cats.items() if v.lower() == CATEGORY}
            boxes: dict[Any, list[tuple[int, list[Any], Any]]] = {}
            for ann in data["annotations"]:
                boxes.setdefault(ann["image_id"], []).append(
                    (ann.get("id", 0), ann["bbox"], ann["category_id"])
                )
            result = {}
            for image in data["images"]:
                name = str(image["file_name"])
                result[Path(name).stem] = _Chip(
                    name, int(image["width"]), int(image["height"]),
                    tuple(boxes.get(image["id"], ())),
                )  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError) as exc:
            result = f"{path}: not a COCO annotation file ({type(exc).__name__}: {exc})"
        self._parsed[stem] = result
        return result

    def list_units(self) -> list[str]:
        """List ``<annotation stem>/<chip stem>`` for every chip of every annotation file.

        Returns:
            Sorted unit ids (an unreadable annotation file is one unit, its stem).

        Raises:
            SourceNotFoundError: If none of the annotation files exists.
        """
        stems = [
            Path(n).stem for n in self.annotation_files if (self.root / "annotations" / n).is_file()
        ]
        if not stems:
            raise SourceNotFoundError(
                f"hrsid: none of {list(self.annotation_files)} under {self.root}/annotations; "
                "extract HRSID there or fix sources.hrsid.root in params.yaml"
            )
        units: list[str] = []
        for stem in stems:
            chips = self._parse(stem)
            units += [stem] if isinstance(chips, str) else [f"{stem}/{c}" for c in chips]
        return sorted(units)

    def _image_path(self, file_name: str) -> Path:
        for folder in IMAGE_FOLDERS:
            path = self.root / folder / file_name
            if path.is_file():
                return path
        return self.root / IMAGE_FOLDERS[0] / file_name

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one chip and its ship boxes.

        Args:
            unit: ``<annotation stem>/<chip stem>`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``malformed_label`` for an unreadable annotation file, a bad or
                out-of-image box or a category other than ship; ``missing_file`` for a
                missing chip; ``corrupt_raster`` for a chip that does not decode or whose size
                differs from the annotation's.
        """
        stem, _, chip_stem = unit.partition("/")
        chips = self._parse(stem)
        if isinstance(chips, str):
            raise SourceError("malformed_label", f"hrsid {unit}: {chips}", unit)
        if chip_stem not in chips:
            raise SourceError("malformed_label", f"hrsid {unit}: no such chip in {stem}", unit)
        chip = chips[chip_stem]
        path = self._image_path(chip.file_name)
        width, height, channels = jpeg_info(path, unit, "hrsid")
        if (width, height) != (chip.width, chip.height):
            raise SourceError(
                "corrupt_raster",
                f"hrsid {unit}: {path} is {width}x{height}, annotated {chip.width}x{chip.height}",
                unit,
            )
        objects = []
        for ann_id, bbox, category_id in chip.boxes:
            if category_id not in self._ship_ids.get(stem, set()):
                raise SourceError(
                    "malformed_label", f"hrsid {unit}: unknown category id {category_id!r}", unit
                )
            try:
                x, y, w, h = (float(v) for v in bbox)
            except (TypeError, ValueError) as exc:
                msg = f"hrsid {unit}: bad bbox {bbox!r}"
                raise SourceError("malformed_label", msg, unit) from exc
            box = (x, y, x + w, y + h)
            check_box(box, (width, height), unit, "hrsid")
            objects.append(ObjectLabel(CATEGORY, "", "image", box, uid=str(ann_id)))
        properties = {"static_image_role": "image"}
        if not objects:
            properties["absent_categories"] = CATEGORY
        bands = ("amplitude",) if channels == 1 else ("amplitude_1", "amplitude_2", "amplitude_3")
        sample = Sample(
            sample_id=f"{self.name}:{chip_stem}",
            source=self.name,
            native_id=chip_stem,
            modality="sar",
            sensor=self.facts.sensors[0],
            bands=bands,
            gsd_m=None,
            crs="",
            footprint_wkt="",
            acquired=(),
            images=(ImageRef("image", (str(path),), bands, "uint8", width, height),),
            tags={},
            labels=Labels(objects=tuple(objects), properties=properties),
            licence=self.licence,
            split=SPLITS.get(stem, "train"),
        )
        return [sample]
