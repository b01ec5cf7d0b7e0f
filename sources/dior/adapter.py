"""DIOR / DIOR-R: one 800x800 Google Earth image with its VOC XML objects becomes one Sample.

Layout (torchgeo's fixture and the authors' release): ``Images/{trainval,test}/<6-digit id>.jpg``;
horizontal boxes in ``Annotations/trainval/<id>.xml`` (torchgeo) or ``Annotations/Horizontal
Bounding Boxes/<id>.xml`` (release); DIOR-R's oriented boxes in ``Annotations/Oriented Bounding
Boxes/<id>.xml``, whose objects hold ``robndbox`` with ``x_left_top``, ``y_left_top``,
``x_right_top`` … ``y_left_bottom`` (the corners mmrotate's ``DIORDataset`` reads).

UNVERIFIED (no real DIOR-R XML seen here): the ``robndbox`` corner element names come from
mmrotate's reader (open-mmlab/mmrotate ``mmrotate/datasets/dior.py``), the folder names
``Horizontal Bounding Boxes`` / ``Oriented Bounding Boxes`` from mmrotate's defaults and
third-party conversion guides; the licence (no licence file in the release).

Decisions:

- Units are ``<split>/<id>`` for every image, plus ``-/<id>`` for an annotation without an
  image (it fails with ``missing_file`` instead of vanishing).
- Where the oriented XML exists its objects are read (quadrilateral outlines); otherwise the
  horizontal boxes, whose outline is the box. Outlines go to ``polygon_wkt`` and to the
  ``outlines`` label property (:mod:`eoinstruct.sources.outlines`).
- Class names are DIOR's 20, lower-cased with ``-`` and run-together words split
  (``Expressway-Service-area`` → ``expressway_service_area``, ``storagetank`` →
  ``storage_tank``); any other name → ``malformed_label``.
- DIOR annotates all 20 classes on every image, so the classes with no object are written as
  ``absent_categories`` (counting questions may answer 0 for them).
- The GSD of an image is not given (0.5–30 m over the set): ``gsd_m`` is None.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources import outlines as ol
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of

SPLITS = {"trainval": "train", "test": "test"}
"""Image folders → the split written into the samples."""

CLASSES: dict[str, str] = {
    "airplane": "airplane", "airport": "airport", "baseballfield": "baseball_field",
    "basketballcourt": "basketball_court", "bridge": "bridge", "chimney": "chimney",
    "dam": "dam", "expresswayservicearea": "expressway_service_area",
    "expresswaytollstation": "expressway_toll_station", "golffield": "golf_field",
    "groundtrackfield": "ground_track_field", "harbor": "harbor", "overpass": "overpass",
    "ship": "ship", "stadium": "stadium", "storagetank": "storage_tank",
    "tenniscourt": "tennis_court", "trainstation": "train_station", "vehicle": "vehicle",
    "windmill": "windmill",
}  # fmt: skip
"""DIOR's class names, lower-cased without ``-`` (the release writes
``Expressway-Service-area``, torchgeo's fixture ``expresswayservicearea``) → category."""

HORIZONTAL_DIRS = ("Annotations/Horizontal Bounding Boxes", "Annotations/trainval")
ORIENTED_DIR = "Annotations/Oriented Bounding Boxes"
CORNERS = ("left_top", "right_top", "right_bottom", "left_bottom")


def _image_size(path: Path, unit: str) -> tuple[int, int]:
    try:
        with Image.open(path) as im:
            return im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise SourceError(
            "corrupt_raster", f"{path}: cannot read image header: {exc}", unit
        ) from exc


def _number(node: ET.Element, tag: str, what: str, unit: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text) if text is not None else float("nan")
    except ValueError as exc:
        raise SourceError("malformed_label", f"{what}: <{tag}> is {text!r}", unit) from exc


def read_xml(
    path: Path, width: int, height: int, unit: str
) -> list[tuple[str, tuple[ol.Point, ...]]]:
    """Read a DIOR VOC XML file: ``(category, outline)`` per object, in file order.

    Args:
        path: The XML file (horizontal ``bndbox`` or oriented ``robndbox`` objects).
        width: Image width in pixels.
        height: Image height in pixels.
        unit: The unit id (for errors).

    Returns:
        The objects' categories and outlines (pixel corners, clamped to the image).

    Raises:
        SourceError: ``malformed_label`` for unparsable XML, an unknown class, a missing or
            non-numeric coordinate, or a corner outside the image.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise SourceError("malformed_label", f"{path}: invalid XML: {exc}", unit) from exc
    found: list[tuple[str, tuple[ol.Point, ...]]] = []
    for index, obj in enumerate(root.iter("object")):
        what = f"{path.name} object {index}"
        name = (obj.findtext("name") or "").strip().lower().replace("-", "")
        if name not in CLASSES:
            raise SourceError("malformed_label", f"{what}: unknown DIOR class {name!r}", unit)
        rbox, box = obj.find("robndbox"), obj.find("bndbox")
        if rbox is not None:
            values = [
                str(_number(rbox, f"{axis}_{corner}", what, unit))
                for corner in CORNERS
                for axis in ("x", "y")
            ]
        elif box is not None:
            x1, y1, x2, y2 = (_number(box, t, what, unit) for t in ("xmin", "ymin", "xmax", "ymax"))
            values = [str(v) for v in (x1, y1, x2, y1, x2, y2, x1, y2)]
        else:
            raise SourceError("malformed_label", f"{what}: no bndbox or robndbox", unit)
        quad = ol.parse_quad(values, unit, what)
        ol.check_inside(quad, width, height, unit, what)
        found.append((CLASSES[name], ol.clamp(quad, width, height)))
    return found


class DIOR(SourceAdapter):
    """Reader of DIOR / DIOR-R images and their (oriented where available) object boxes.

    Options (``sources.dior`` in ``params.yaml``):
        splits: Image folders to read (``trainval``, ``test``); default both.

    Args:
        root: The folder holding ``Images/`` and ``Annotations/``.
        options: The adapter's options.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        splits = self.options.get("splits", list(SPLITS))
        names = [splits] if isinstance(splits, str) else [str(s) for s in splits]
        unknown = [s for s in names if s not in SPLITS]
        if unknown:
            raise ValueError(f"dior: unknown splits {unknown}; expected some of {list(SPLITS)}")
        self.splits = tuple(names)

    def _annotation(self, native: str) -> tuple[Path | None, Path | None]:
        oriented = self.root / ORIENTED_DIR / f"{native}.xml"
        horizontal = next(
            (p for d in HORIZONTAL_DIRS if (p := self.root / d / f"{native}.xml").is_file()), None
        )
        return (oriented if oriented.is_file() else None), horizontal

    def list_units(self) -> list[str]:
        """List ``<split>/<id>`` per image and ``-/<id>`` per annotation without an image.

        Raises:
            SourceNotFoundError: If no ``Images/<split>`` folder exists.
        """
        folders = [s for s in self.splits if (self.root / "Images" / s).is_dir()]
        if not folders:
            raise SourceNotFoundError(
                f"dior: no Images/{{{','.join(self.splits)}}} under {self.root}"
            )
        units = {
            f"{s}/{p.stem}"
            for s in folders
            for p in (self.root / "Images" / s).glob("*.jpg")
            if not p.name.startswith(".")
        }
        imaged = {u.split("/", 1)[1] for u in units}
        if set(self.splits) == set(SPLITS):
            for folder in (*HORIZONTAL_DIRS, ORIENTED_DIR):
                directory = self.root / folder
                if directory.is_dir():
                    units |= {
                        f"-/{p.stem}" for p in directory.glob("*.xml") if p.stem not in imaged
                    }
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """The unit's image and annotation files that exist."""
        split, _, native = unit.partition("/")
        paths = [self.root / "Images" / split / f"{native}.jpg", *self._annotation(native)]
        return sorted(p for p in paths if p is not None and p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one image and its objects into one sample.

        Raises:
            SourceError: ``missing_file`` without the image or any annotation;
                ``corrupt_raster`` for an unreadable JPEG header; ``malformed_label`` (see
                :func:`read_xml`).
        """
        split, _, native = unit.partition("/")
        image = self.root / "Images" / split / f"{native}.jpg"
        if split not in SPLITS or not image.is_file():
            raise SourceError("missing_file", f"dior {unit}: image {image} not found", unit)
        oriented, horizontal = self._annotation(native)
        xml = oriented or horizontal
        if xml is None:
            raise SourceError("missing_file", f"dior {unit}: no annotation XML for {native}", unit)
        width, height = _image_size(image, unit)
        others = [
            s for s in SPLITS if s != split and (self.root / "Images" / s / image.name).is_file()
        ]
        native_id = f"{split}/{native}" if others else native
        objects = read_xml(xml, width, height, unit)
        present = {c for c, _ in objects}
        labels = Labels(
            objects=tuple(
                ObjectLabel(
                    category=category,
                    attribute="",
                    image_role="image",
                    bbox=ol.bounds(quad),
                    polygon_wkt=ol.wkt(quad),
                    uid=str(i),
                )
                for i, (category, quad) in enumerate(objects)
            ),
            properties={
                ol.OUTLINES_KEY: ol.outlines_property([q for _, q in objects]),
                "absent_categories": ",".join(sorted(set(CLASSES.values()) - present)),
                "box_kind": "oriented" if oriented else "horizontal",
            },
        )
        return [
            Sample(
                sample_id=f"{self.name}:{native_id}",
                source=self.name,
                native_id=native_id,
                modality="rgb",
                sensor="Google Earth",
                bands=("R", "G", "B"),
                gsd_m=None,
                crs="",
                footprint_wkt="",
                acquired=(),
                images=(
                    ImageRef(
                        role="image",
                        files=(str(image),),
                        bands=("R", "G", "B"),
                        encoding="uint8",
                        width=width,
                        height=height,
                    ),
                ),
                tags={"imagery_source": "Google Earth"},
                labels=labels,
                licence=self.licence,
                split=SPLITS[split],
            )
        ]
