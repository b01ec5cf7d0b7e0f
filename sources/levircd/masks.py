"""The LEVIR change mask: binary check, connected components, areas, thirds.

A LEVIR-CD label is a single-channel PNG, 0 for no change and 255 for change (torchgeo
``LEVIRCD`` docstring: "masks are single-channel pngs where no change = 0, change = 255"); the
authors annotate *building* change in both directions (new buildings and demolished ones,
Chen & Shi 2020), and the mask does not say which. What the labels can claim is therefore
"changed building areas", never "new buildings".

Read here, once, at ingest (the only pixels the adapter reads in full):

- the mask must be binary: values {0, 255} (or {0, 1}); anything else is ``malformed_label``;
- its changed areas are the 8-connected components of the changed pixels, traced by
  ``rasterio.features.shapes`` (a maintained library: each polygon follows pixel edges, so
  its area is its pixel count and its bounds its pixel box); sorted top to bottom, then left
  to right;
- the figures stored in ``labels.properties`` (:func:`mask_figures`), so that builders and
  the audit work from labels, not rasters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from PIL import Image, UnidentifiedImageError
from rasterio.features import shapes
from shapely.geometry import shape

from eoinstruct.sources.base import SourceError

CHANGE_VALUES: tuple[frozenset[int], ...] = (frozenset({0, 255}), frozenset({0, 1}))
"""Value sets a binary mask may hold (0 and 255 as released; 0 and 1 as some copies save)."""


@dataclass(frozen=True)
class Component:
    """One changed area: its pixel box ``(x1, y1, x2, y2)`` (pixel edges), pixels and outline."""

    bbox: tuple[float, float, float, float]
    pixels: int
    wkt: str


def read_mask(path: Path, unit: str) -> np.ndarray:
    """Read a change mask as a boolean array (True: changed).

    Args:
        path: The label PNG.
        unit: The unit, for messages.

    Returns:
        A (height, width) boolean array.

    Raises:
        SourceError: ``malformed_label`` if the file cannot be read, has colour channels that
            differ, or holds values other than a binary pair.
    """
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            array = np.asarray(image.convert("L") if mode == "P" else image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "malformed_label", f"levircd {unit}: {path}: unreadable mask ({exc})", unit
        ) from exc
    if array.ndim == 3:
        if array.shape[2] == 4:
            array = array[:, :, :3]
        if not (array == array[:, :, :1]).all():
            raise SourceError(
                "malformed_label",
                f"levircd {unit}: {path}: mask channels differ (expected a grey mask)",
                unit,
            )
        array = array[:, :, 0]
    values = {int(v) for v in np.unique(array)}
    if not any(values <= allowed for allowed in CHANGE_VALUES):
        shown = sorted(values)[:6]
        raise SourceError(
            "malformed_label",
            f"levircd {unit}: {path}: mask is not binary (values {shown}; expected 0 and 255)",
            unit,
        )
    return array > 0


def components(mask: np.ndarray) -> list[Component]:
    """Return the 8-connected changed areas of a mask, top to bottom, then left to right."""
    binary = mask.astype(np.uint8)
    found = []
    for geometry, _value in shapes(binary, mask=mask, connectivity=8):
        polygon = shape(geometry)
        x1, y1, x2, y2 = (float(v) for v in polygon.bounds)
        found.append(
            Component(
                bbox=(x1, y1, x2, y2),
                pixels=round(polygon.area),
                wkt=shapely.to_wkt(polygon, rounding_precision=0, trim=True),
            )
        )
    return sorted(found, key=lambda c: (c.bbox[1], c.bbox[0], c.bbox[3], c.bbox[2]))


def third_edges(size: int) -> tuple[int, int, int, int]:
    """Pixel edges of the three cells along one axis: ``0, size // 3, 2 * size // 3, size``."""
    return (0, size // 3, 2 * size // 3, size)


def pixels_by_third(mask: np.ndarray) -> list[int]:
    """Changed pixels in each of the 3 x 3 cells, row-major."""
    height, width = mask.shape
    rows, cols = third_edges(height), third_edges(width)
    return [
        int(mask[rows[r] : rows[r + 1], cols[c] : cols[c + 1]].sum())
        for r in range(3)
        for c in range(3)
    ]


def mask_figures(mask: np.ndarray, found: list[Component], gsd_m: float) -> dict[str, str]:
    """The label properties a mask gives (all text, as ``labels.properties`` holds them).

    Args:
        mask: The boolean mask.
        found: Its components (:func:`components`), in object order.
        gsd_m: Pixel size in metres.

    Returns:
        ``building_change`` (``true``/``false``), ``change_components``, ``changed_pixels``,
        ``image_pixels``, ``pixel_size_m``, ``changed_area_m2``, ``component_pixels`` (one
        count per object, comma-separated) and ``changed_pixels_by_third`` (nine counts).
    """
    changed = int(mask.sum())
    return {
        "building_change": "true" if changed else "false",
        "change_components": str(len(found)),
        "changed_pixels": str(changed),
        "image_pixels": str(int(mask.size)),
        "pixel_size_m": f"{gsd_m:g}",
        "changed_area_m2": f"{changed * gsd_m * gsd_m:g}",
        "component_pixels": ",".join(str(c.pixels) for c in found),
        "changed_pixels_by_third": ",".join(str(n) for n in pixels_by_third(mask)),
    }
