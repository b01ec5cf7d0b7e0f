"""LEVIR-CD / LEVIR-CD+ building change: one A/B image pair with its change mask → one sample.

The adapter class here lists the pairs and assembles each sample; its helpers live beside it:
:mod:`~eoinstruct.sources.levircd.files` (the three layouts, unit ids, PNG checks) and
:mod:`~eoinstruct.sources.levircd.masks` (binary check, connected components, figures). Each
states the layout facts it relies on.

Decisions:

- **Whole images, no tiling or resizing.** A sample is the full pair as released (1024 x 1024
  px, 0.5 m: 512 m on a side). Chips would need a pixel window on
  :class:`~eoinstruct.pipeline.records.ImageRef`, which no stage reads yet; the boxes are on
  the 0..100 grid of the whole image, so a model sees what the answer describes.
- Images: ``pre`` is ``A`` (the earlier date), ``post`` is ``B``; both 8-bit RGB, checked
  whole at ingest (``Image.verify``: a truncated PNG fails here, ``corrupt_raster``).
  Dates are not in the release (the pairs span 2002–2018 for LEVIR-CD, 5–14 years apart), so
  ``acquired`` is empty.
- The mask is ``labels.rasters["change_mask"]`` and is read once here: every changed area
  (8-connected component) becomes an object ``changed building area`` on ``post`` with its
  pixel box and outline; the figures go to ``labels.properties``
  (:func:`~eoinstruct.sources.levircd.masks.mask_figures`). A mask does not say whether a
  building appeared or disappeared, so nothing claims which.
- No georeference exists (the release gives no coordinates, only "20 regions in Texas"), so
  ``crs`` and ``footprint_wkt`` are empty: ``filter.exempt`` in ``params.yaml`` keeps these
  samples despite ``no_geolocation``, and despite ``too_few_tags`` (the dense mask is the
  label; there are no OSM tags without a footprint).
- Not read: the change captions of LEVIR-CC / LEVIR-MCI. Their format is documented
  (``LevirCCcaptions.json``: ``images[]`` with ``filename``, ``filepath`` (the split),
  ``sentences[].raw``, ``changeflag``; images under ``images/{train,val,test}/{A,B}``), but
  they caption 256 x 256 crops with their own file names, and no crop → LEVIR-CD pair
  mapping ships with them, so they cannot be attached to these masks; they would be a source
  of their own, and human captions are not re-derivable by the audit.
- Errors: a missing A, B or label file → ``missing_file``; an unreadable, truncated or
  non-RGB image, or A and B of different sizes → ``corrupt_raster``; a mask that is
  unreadable, not binary, or of another size than the images → ``malformed_label``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.levircd.facts import GSD_M, SENSOR
from eoinstruct.sources.levircd.files import (
    FOLDERS,
    ROLES,
    groups,
    parse_unit,
    rgb_size,
    units_of,
)
from eoinstruct.sources.levircd.masks import components, mask_figures, read_mask

CATEGORY = "changed building area"
"""Object category of a connected changed area of the mask."""

MASK_RASTER = "change_mask"
"""Name of the mask in ``labels.rasters``."""


class LEVIRCD(SourceAdapter):
    """Reader of LEVIR-CD and LEVIR-CD+ image pairs with their building-change masks.

    Args:
        root: The folder holding any of the layouts of :mod:`~eoinstruct.sources.levircd.files`.
        options: The adapter's options (none).

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)

    def list_units(self) -> list[str]:
        """List ``<group>/<stem>`` for every pair with any of its three files.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If no group folder with ``A/``, ``B/`` or ``label/`` exists.
        """
        found = groups(self.root)
        if not found:
            raise SourceNotFoundError(
                f"levircd: no A/, B/ or label/ folder under {self.root} (nor under its "
                "train/, val/, test/ or LEVIR-CD+/{train,test}/); extract the LEVIR-CD or "
                "LEVIR-CD+ archives there"
            )
        return sorted(u.id for g in found for u in units_of(self.root, g))

    def unit_files(self, unit: str) -> list[Path]:
        """List the pair's A, B and label files that exist.

        Args:
            unit: ``<group>/<stem>``.

        Returns:
            Existing paths, sorted.
        """
        try:
            parsed = parse_unit(unit)
        except ValueError:
            return []
        return sorted(p for f in FOLDERS if (p := parsed.path(self.root, f)).is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one pair into one sample.

        Args:
            unit: ``<group>/<stem>`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: See the module docstring.
            ValueError: If ``unit`` is not a unit id.
        """
        parsed = parse_unit(unit)
        paths = {f: parsed.path(self.root, f) for f in FOLDERS}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise SourceError("missing_file", f"levircd {unit}: missing {', '.join(missing)}", unit)
        sizes = {f: rgb_size(paths[f], unit) for f in ROLES}
        if sizes["A"] != sizes["B"]:
            raise SourceError(
                "corrupt_raster",
                f"levircd {unit}: A is {sizes['A'][0]}x{sizes['A'][1]} but B is "
                f"{sizes['B'][0]}x{sizes['B'][1]}; the pair is not co-registered",
                unit,
            )
        mask = read_mask(paths["label"], unit)
        width, height = sizes["A"]
        if mask.shape != (height, width):
            raise SourceError(
                "malformed_label",
                f"levircd {unit}: mask is {mask.shape[1]}x{mask.shape[0]}, images are "
                f"{width}x{height}",
                unit,
            )
        found = components(mask)
        objects = tuple(
            ObjectLabel(
                category=CATEGORY,
                attribute="",
                image_role="post",
                bbox=c.bbox,
                polygon_wkt=c.wkt,
                uid=str(i),
            )
            for i, c in enumerate(found)
        )
        return [
            Sample(
                sample_id=f"{self.name}:{parsed.native_id}",
                source=self.name,
                native_id=parsed.native_id,
                modality="rgb",
                sensor=SENSOR,
                bands=("R", "G", "B"),
                gsd_m=GSD_M,
                crs="",
                footprint_wkt="",
                acquired=(),
                images=tuple(
                    ImageRef(
                        role=role,
                        files=(str(paths[folder]),),
                        bands=("R", "G", "B"),
                        encoding="uint8",
                        width=width,
                        height=height,
                    )
                    for folder, role in ROLES.items()
                ),
                tags={"subset": parsed.subset},
                labels=Labels(
                    objects=objects,
                    properties=mask_figures(mask, found, GSD_M),
                    rasters={MASK_RASTER: str(paths["label"])},
                ),
                licence=self.licence,
                split=parsed.split,
            )
        ]
