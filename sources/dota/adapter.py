"""DOTA v1.0 / v1.5 / v2.0: each large image is tiled into square chips, one Sample per chip.

Layout: ``{train,val}/images/P<id>.png`` and one label file per image, looked for in
:data:`LABEL_DIRS` (the release's ``labelTxt-v<version>/…`` folders, a plain ``labelTxt/``,
torchgeo's ``annotations/version<version>/``). A label file holds optional header lines
``imagesource:<name>`` and ``gsd:<metres or null>``, then one object per line,
``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` (pixel corners, clockwise).

UNVERIFIED: the release's label folder names (``labelTxt-v1.0/labelTxt``,
``labelTxt-v1.5/DOTA-v1.5_train``…) vary between versions and mirrors, so several are looked
for; torchgeo's fixture confirms ``annotations/version<v>/`` and the line format only.

Chips (options ``chip_size``, ``overlap``, ``min_inside``):

- A chip is a square of side ``min(chip_size, width, height)``; chips start every
  ``side - overlap`` pixels, and the last chip of a row or column is moved back to end at the
  image's edge, so every pixel is in a chip and no chip leaves the image.
- An object is kept in a chip when at least ``min_inside`` (default 0.5) of its quadrilateral's
  area lies inside; its outline is then clipped to the chip (the convex hull of the part
  inside). An object less inside (but not outside) is dropped from the chip and its class is
  written to the ``cut_categories`` property: its visible part is unannotated, so no pair
  refers to, counts or grounds that class on that chip.
- A chip without any kept object is not a sample. The chip's image is the file with a
  ``#xywh=x,y,w,h`` window (:mod:`eoinstruct.pipeline.io.rasters`).

``absent_categories`` lists the version's classes with no object (kept or cut) on the chip:
DOTA annotates every instance of its classes. ``difficult`` objects are kept
(``attribute="difficult"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources import outlines as ol
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of

SPLITS = {"train": "train", "val": "validation"}

CLASSES_V1 = (
    "plane", "ship", "storage-tank", "baseball-diamond", "tennis-court", "basketball-court",
    "ground-track-field", "harbor", "bridge", "large-vehicle", "small-vehicle", "helicopter",
    "roundabout", "soccer-ball-field", "swimming-pool",
)  # fmt: skip
CLASSES: dict[str, tuple[str, ...]] = {
    "1.0": CLASSES_V1,
    "1.5": (*CLASSES_V1, "container-crane"),
    "2.0": (*CLASSES_V1, "container-crane", "airport", "helipad"),
}
"""Classes of each DOTA version (DOTA's page)."""

LABEL_DIRS = (
    "labelTxt-v{v}/labelTxt",
    "labelTxt-v{v}/DOTA-v{v}_{split}",
    "annotations/version{v}",
    "labelTxt",
)
"""Label folders under ``<split>/``, in the order they are looked for."""

SENSORS = {"GoogleEarth": "Google Earth", "GF2": "Gaofen-2", "JL1": "Jilin-1"}


def category(name: str) -> str:
    """DOTA's class name as a category: ``storage-tank`` → ``storage_tank``."""
    return name.replace("-", "_")


class DOTA(SourceAdapter):
    """Reader of DOTA images, tiled into chips with the oriented objects inside each.

    Options (``sources.dota`` in ``params.yaml``):
        version: ``1.0``, ``1.5`` or ``2.0`` (default ``1.0``): its classes and label folders.
        splits: ``train`` and/or ``val`` (default both).
        chip_size: Chip side in pixels (default 800).
        overlap: Overlap of neighbouring chips in pixels (default 200).
        min_inside: Share of an object's area inside a chip to keep it (default 0.5).

    Args:
        root: The folder holding ``train/`` and ``val/``.
        options: The adapter's options.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        self.version = str(self.options.get("version", "1.0"))
        if self.version not in CLASSES:
            raise ValueError(
                f"dota: unknown version {self.version!r}; expected one of {list(CLASSES)}"
            )
        splits = self.options.get("splits", list(SPLITS))
        self.splits = tuple([splits] if isinstance(splits, str) else [str(s) for s in splits])
        if any(s not in SPLITS for s in self.splits):
            raise ValueError(f"dota: unknown splits {self.splits}; expected some of {list(SPLITS)}")
        self.chip_size = int(self.options.get("chip_size", 800))
        self.overlap = int(self.options.get("overlap", 200))
        self.min_inside = float(self.options.get("min_inside", 0.5))
        if self.chip_size < 16 or not 0 <= self.overlap < self.chip_size // 2:
            raise ValueError("dota: need chip_size >= 16 and 0 <= overlap < chip_size / 2")
        if not 0 < self.min_inside <= 1:
            raise ValueError("dota: min_inside must be in (0, 1]")

    def _label_dir(self, split: str) -> Path | None:
        for pattern in LABEL_DIRS:
            path = self.root / split / pattern.format(v=self.version, split=split)
            if path.is_dir():
                return path
        return None

    def list_units(self) -> list[str]:
        """List ``<split>/P<id>`` for every image or label file.

        Raises:
            SourceNotFoundError: If no split folder has ``images/`` or a label folder.
        """
        units: set[str] = set()
        found = False
        for split in self.splits:
            for directory, suffix in (
                (self.root / split / "images", ".png"),
                (self._label_dir(split), ".txt"),
            ):
                if directory is None or not directory.is_dir():
                    continue
                found = True
                units |= {
                    f"{split}/{p.stem}"
                    for p in directory.glob(f"*{suffix}")
                    if not p.name.startswith(".")
                }
        if not found:
            raise SourceNotFoundError(
                f"dota: no {{train,val}}/images or label folder under {self.root}"
            )
        return sorted(units)

    def unit_files(self, unit: str) -> list[Path]:
        """The unit's image and label file that exist."""
        split, _, stem = unit.partition("/")
        labels = self._label_dir(split)
        paths = [self.root / split / "images" / f"{stem}.png"]
        if labels is not None:
            paths.append(labels / f"{stem}.txt")
        return sorted(p for p in paths if p.is_file())

    def _read_labels(
        self, path: Path, unit: str
    ) -> tuple[dict[str, str], list[tuple[str, str, tuple[ol.Point, ...]]]]:
        header: dict[str, str] = {}
        objects = []
        known = set(CLASSES[self.version])
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError("malformed_label", f"{path}: cannot read: {exc}", unit) from exc
        if not any(line.strip() for line in lines):  # no header, no object: it gives no chip
            raise SourceError("malformed_label", f"{path}: empty label file", unit)
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text:
                continue
            key, sep, value = text.partition(":")
            if sep and key in ("imagesource", "gsd"):
                header[key] = value.strip()
                continue
            parts = text.split()
            what = f"{path.name} line {number}"
            if len(parts) < 9:
                raise SourceError(
                    "malformed_label", f"{what}: {len(parts)} fields, expected 10", unit
                )
            coords, name, difficult = parts[:-2], parts[-2], parts[-1]
            if difficult not in ("0", "1"):  # a class followed by no flag: 9 fields
                coords, name, difficult = parts[:-1], parts[-1], "0"
            if name not in known:
                raise SourceError(
                    "malformed_label", f"{what}: unknown DOTA v{self.version} class {name!r}", unit
                )
            quad = ol.parse_quad(coords, unit, what)
            objects.append((category(name), "difficult" if difficult == "1" else "", quad))
        return header, objects

    def _starts(self, length: int, side: int) -> list[int]:
        stride = side - min(self.overlap, side // 2)  # a small image: at most half overlaps
        starts = list(range(0, max(length - side, 0) + 1, stride))
        if starts[-1] + side < length:
            starts.append(length - side)
        return starts

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one image and its label file into one sample per chip with objects.

        Raises:
            SourceError: ``missing_file`` without the image or label file; ``corrupt_raster``
                for an unreadable PNG header; ``malformed_label`` for a line with other than
                eight coordinates, an unknown class, a quadrilateral without area or a corner
                outside the image; ``bad_metadata`` for an unreadable ``gsd``.
        """
        split, _, stem = unit.partition("/")
        image = self.root / split / "images" / f"{stem}.png"
        labels_dir = self._label_dir(split)
        label = labels_dir / f"{stem}.txt" if labels_dir is not None else None
        if split not in SPLITS or not image.is_file():
            raise SourceError("missing_file", f"dota {unit}: image {image} not found", unit)
        if label is None or not label.is_file():
            raise SourceError("missing_file", f"dota {unit}: no label file for {stem}", unit)
        try:
            with Image.open(image) as im:
                width, height = im.size
                mode = im.mode
        except (UnidentifiedImageError, OSError) as exc:
            raise SourceError(
                "corrupt_raster", f"{image}: cannot read header: {exc}", unit
            ) from exc
        if mode not in ("RGB", "RGBA", "P"):
            raise SourceError("corrupt_raster", f"{image}: {mode} image, RGB expected", unit)
        header, objects = self._read_labels(label, unit)
        for index, (_, _, quad) in enumerate(objects):
            ol.check_inside(quad, width, height, unit, f"{label.name} object {index}")
        gsd_text = header.get("gsd", "")
        try:
            gsd = float(gsd_text) if gsd_text and gsd_text.lower() not in ("null", "none") else None
        except ValueError as exc:
            raise SourceError("bad_metadata", f"{label.name}: gsd {gsd_text!r}", unit) from exc
        source = header.get("imagesource", "")
        side = min(self.chip_size, width, height)
        samples = []
        for y in self._starts(height, side):
            for x in self._starts(width, side):
                sample = self._chip(
                    unit, stem, split, image, (x, y, side, side), objects, gsd, source
                )
                if sample is not None:
                    samples.append(sample)
        return samples

    def _chip(
        self,
        unit: str,
        stem: str,
        split: str,
        image: Path,
        window: tuple[int, int, int, int],
        objects: list[tuple[str, str, tuple[ol.Point, ...]]],
        gsd: float | None,
        source: str,
    ) -> Sample | None:
        kept: list[tuple[str, str, tuple[ol.Point, ...]]] = []
        cut: set[str] = set()
        for name, attribute, quad in objects:
            clipped, inside = ol.clip(quad, window)
            if inside >= self.min_inside and len(clipped) >= 3:
                kept.append((name, attribute, clipped))
            elif inside > 0:
                cut.add(name)
        if not kept:
            return None
        x, y, w, h = window
        native = f"{stem}_x{x}_y{y}"
        seen = {n for n, _, _ in kept} | cut
        properties = {
            ol.OUTLINES_KEY: ol.outlines_property([q for _, _, q in kept]),
            "absent_categories": ",".join(
                sorted({category(c) for c in CLASSES[self.version]} - seen)
            ),
            "box_kind": "oriented",
            "window_col_off": str(x),
            "window_row_off": str(y),
            "window_width": str(w),
            "window_height": str(h),
        }
        if cut:
            properties[ol.CUT_KEY] = ",".join(sorted(cut))
        if gsd is not None:
            properties["metadata_gsd_m"] = f"{gsd:g}"
        return Sample(
            sample_id=f"{self.name}:{split}/{native}",
            source=self.name,
            native_id=f"{split}/{native}",
            modality="rgb",
            sensor=SENSORS.get(source, source) or "Google Earth, Gaofen-2, Jilin-1 or aerial",
            bands=("R", "G", "B"),
            gsd_m=gsd,
            crs="",
            footprint_wkt="",
            acquired=(),
            images=(
                ImageRef(
                    role="image",
                    files=(f"{image}#xywh={x},{y},{w},{h}",),
                    bands=("R", "G", "B"),
                    encoding="uint8",
                    width=w,
                    height=h,
                ),
            ),
            tags={"imagery_source": source} if source else {},
            labels=Labels(
                objects=tuple(
                    ObjectLabel(
                        category=name,
                        attribute=attribute,
                        image_role="image",
                        bbox=ol.bounds(quad),
                        polygon_wkt=ol.wkt(quad),
                        uid=str(i),
                    )
                    for i, (name, attribute, quad) in enumerate(kept)
                ),
                properties=properties,
            ),
            licence=self.licence,
            split=SPLITS[split],
        )
