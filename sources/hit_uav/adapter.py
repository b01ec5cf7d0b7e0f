"""HIT-UAV thermal-infrared frames: one 640x512 JPEG frame and its VOC boxes → one Sample.

Layout (the authors' repository: ``normal_xml`` holds the VOC-format horizontal boxes, GitHub
issue #9): ``normal_xml/Annotations/<frame>.xml``, ``normal_xml/JPEGImages/<frame>.jpg`` and
split lists ``normal_xml/ImageSets/Main/{train,val,test}.txt`` (the split-list names are
UNVERIFIED; a frame in none of them is ``train``). The oriented boxes (``rotate_*``) and the
COCO copy (``normal_json``) are not read.

Decisions:

- Units are frame stems with an XML or a JPEG, so a frame missing either fails
  (``missing_file``) instead of vanishing.
- Classes Person, Car, Bicycle, OtherVehicle become ``person``, ``car``, ``bicycle``,
  ``other_vehicle``. ``DontCare`` boxes (objects the annotators could not classify) are
  dropped from the objects: no answer boxes, counts or names them. Their number is kept in
  ``dontcare_boxes``, and a frame with any of them lists no ``absent_categories`` (a
  DontCare could be one of the four classes, so absence is not asserted).
- Any other class name, a box outside the frame or without area, or XML that does not parse
  fails the unit with ``malformed_label``.
- Flight data from the frame name ``<daylight>_<altitude>_<angle>_<scene>_<index>``
  (``0`` day, ``1`` night; metres; degrees) become the tags ``daylight``,
  ``altitude_m`` and ``camera_angle_deg`` (the name scheme is UNVERIFIED; names that do not
  match give no tags).
- Frames carry no georeference and no GSD (it varies across an oblique frame): the filter
  exempts this source from ``no_geolocation`` (``params.yaml`` ``filter.exempt``). Modality
  ``infrared`` with the band ``LWIR`` gets EarthDial's ``[Inf_thermal_1]`` tag.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.jpeg import check_box, jpeg_info

BASE = "normal_xml"
CLASSES: dict[str, str] = {
    "Person": "person",
    "Car": "car",
    "Bicycle": "bicycle",
    "OtherVehicle": "other_vehicle",
}
"""HIT-UAV class name → category."""

DONT_CARE = "DontCare"
SPLITS: tuple[str, ...] = ("train", "val", "test")
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}
_NAME_RE = re.compile(r"^(?P<night>[01])_(?P<alt>\d+)_(?P<angle>\d+)_(?P<scene>\d+)_(?P<idx>\d+)$")


def _number(node: ET.Element, tag: str, unit: str) -> float:
    text = node.findtext(tag)
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SourceError("malformed_label", f"hit_uav {unit}: bad <{tag}> {text!r}", unit) from exc


def flight_tags(stem: str) -> dict[str, str]:
    """Tags from a frame name ``<daylight>_<altitude>_<angle>_<scene>_<index>`` (or none)."""
    match = _NAME_RE.match(stem)
    if not match:
        return {}
    return {
        "daylight": "night" if match["night"] == "1" else "day",
        "altitude_m": str(int(match["alt"])),
        "camera_angle_deg": str(int(match["angle"])),
    }


class HITUAV(SourceAdapter):
    """Reader of HIT-UAV frames with their person and vehicle boxes.

    Args:
        root: The folder holding ``normal_xml/``.
        options: The adapter's options (none).
    """

    facts = facts_of(__package__)

    def _split_of(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for split in SPLITS:
            path = self.root / BASE / "ImageSets" / "Main" / f"{split}.txt"
            if path.is_file():
                for line in path.read_text(encoding="utf-8").split():
                    found.setdefault(line.strip(), _SPLIT_NAMES[split])
        return found

    def list_units(self) -> list[str]:
        """List the stems of every frame with an annotation or an image.

        Returns:
            Sorted frame stems.

        Raises:
            SourceNotFoundError: If ``normal_xml/Annotations`` and ``normal_xml/JPEGImages``
                are both missing.
        """
        folders = [self.root / BASE / "Annotations", self.root / BASE / "JPEGImages"]
        if not any(f.is_dir() for f in folders):
            raise SourceNotFoundError(
                f"hit_uav: no {BASE}/Annotations or {BASE}/JPEGImages under {self.root}; "
                "extract HIT-UAV there or fix sources.hit_uav.root in params.yaml"
            )
        stems = {
            p.stem
            for f in folders
            if f.is_dir()
            for p in f.iterdir()
            if p.suffix.lower() in (".xml", ".jpg") and not p.name.startswith(".")
        }
        return sorted(stems)

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one frame and its boxes.

        Args:
            unit: A frame stem from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` for a missing XML or JPEG; ``malformed_label`` for
                XML that does not parse, an unknown class, a bad or out-of-frame box;
                ``corrupt_raster`` for a JPEG that does not decode or whose size differs
                from the XML's.
        """
        xml_path = self.root / BASE / "Annotations" / f"{unit}.xml"
        jpg_path = self.root / BASE / "JPEGImages" / f"{unit}.jpg"
        if not xml_path.is_file():
            raise SourceError("missing_file", f"hit_uav {unit}: missing {xml_path}", unit)
        try:
            tree = ET.parse(xml_path).getroot()
        except ET.ParseError as exc:
            msg = f"hit_uav {unit}: {xml_path}: {exc}"
            raise SourceError("malformed_label", msg, unit) from exc
        width, height, channels = jpeg_info(jpg_path, unit, "hit_uav")
        size = tree.find("size")
        if size is not None and size.findtext("width"):
            declared = (int(_number(size, "width", unit)), int(_number(size, "height", unit)))
            if declared != (width, height):
                raise SourceError(
                    "corrupt_raster",
                    f"hit_uav {unit}: {jpg_path} is {width}x{height}, annotated {declared}",
                    unit,
                )
        objects: list[ObjectLabel] = []
        dont_care = 0
        for index, obj in enumerate(tree.findall("object")):
            name = (obj.findtext("name") or "").strip()
            node = obj.find("bndbox")
            if node is None:
                raise SourceError("malformed_label", f"hit_uav {unit}: object without bndbox", unit)
            box = tuple(_number(node, t, unit) for t in ("xmin", "ymin", "xmax", "ymax"))
            check_box(box, (width, height), unit, "hit_uav")  # type: ignore[arg-type]
            if name == DONT_CARE:
                dont_care += 1
                continue
            if name not in CLASSES:
                msg = f"hit_uav {unit}: unknown class {name!r}"
                raise SourceError("malformed_label", msg, unit)
            objects.append(ObjectLabel(CLASSES[name], "", "image", box, uid=str(index)))  # type: ignore[arg-type]
        properties = {"static_image_role": "image"}
        if dont_care:
            properties["dontcare_boxes"] = str(dont_care)
        else:
            absent = sorted(set(CLASSES.values()) - {o.category for o in objects})
            if absent:
                properties["absent_categories"] = ",".join(absent)
        bands = ("LWIR",) if channels == 1 else ("LWIR_1", "LWIR_2", "LWIR_3")  # grey as RGB
        sample = Sample(
            sample_id=f"{self.name}:{unit}",
            source=self.name,
            native_id=unit,
            modality="infrared",
            sensor=self.facts.sensors[0],
            bands=bands,
            gsd_m=None,
            crs="",
            footprint_wkt="",
            acquired=(),
            images=(ImageRef("image", (str(jpg_path),), bands, "uint8", width, height),),
            tags=flight_tags(unit),
            labels=Labels(objects=tuple(objects), properties=properties),
            licence=self.licence,
            split=self._split_of().get(unit, "train"),
        )
        return [sample]
