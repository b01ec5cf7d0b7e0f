"""The three scores of the triple filter, as pure functions of a sample.

- **Tags**: :func:`count_tag_fields`, the number of distinct non-empty tag fields.
- **Brightness**: :func:`image_scores`, sensor-aware (see
  :func:`pipeline.rasters.unit_brightness`) mean brightness of the visible bands and the
  fractions of dark and saturated pixels.
- **Coverage**: the fraction of valid pixels (no NaN or nodata in any band) and
  :func:`geolocation_problem`, whether the footprint exists, is in range and has a known CRS.

The score stage stores these as columns; the filter stage compares them with thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError
from shapely.errors import ShapelyError

from pipeline.rasters import read_image, unit_brightness
from pipeline.records import ImageRef, Sample
from pipeline.render import display_bands


def count_tag_fields(sample: Sample) -> int:
    """Count the distinct non-empty tag fields of a sample.

    A tag field is a non-empty ``tags`` entry (metadata or OpenStreetMap tag), a scene class
    label, or a distinct object kind (category and attribute, e.g. ``building/destroyed``).

    Args:
        sample: The sample.

    Returns:
        The count.
    """
    fields = {f"tag:{k}" for k, v in sample.tags.items() if str(v).strip()}
    fields |= {f"class:{c}" for c in sample.labels.classes if c.strip()}
    fields |= {
        f"object:{o.category}/{o.attribute}" for o in sample.labels.objects if o.category.strip()
    }
    return len(fields)


def geolocation_problem(sample: Sample) -> str:
    """Say what is wrong with a sample's geolocation.

    Args:
        sample: The sample.

    Returns:
        ``""`` when the footprint is a valid lon/lat polygon in range and the CRS is known;
        otherwise one of ``no_footprint``, ``unknown_crs``, ``invalid_footprint``,
        ``footprint_out_of_range``.
    """
    if not sample.footprint_wkt.strip():
        return "no_footprint"
    if not sample.crs.strip():
        return "unknown_crs"
    try:
        CRS.from_user_input(sample.crs)
    except CRSError:
        return "unknown_crs"
    try:
        geom = shapely.from_wkt(sample.footprint_wkt)
    except (ShapelyError, ValueError):
        return "invalid_footprint"
    if geom.is_empty or not geom.is_valid or geom.area <= 0:
        return "invalid_footprint"
    west, south, east, north = geom.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        return "footprint_out_of_range"
    return ""


@dataclass(frozen=True)
class ImageScores:
    """Brightness and coverage of one image.

    Attributes:
        brightness: Mean unit brightness of the display bands over valid pixels (NaN if there
            are none, or if the encoding has no brightness scale).
        dark_fraction: Fraction of valid pixels darker than the dark level.
        bright_fraction: Fraction of valid pixels brighter than the bright level.
        valid_fraction: Fraction of pixels valid in every band.
    """

    brightness: float
    dark_fraction: float
    bright_fraction: float
    valid_fraction: float


def image_scores(image: ImageRef, dark_level: float, bright_level: float) -> ImageScores:
    """Read an image and compute its brightness and coverage scores.

    Args:
        image: The image.
        dark_level: Unit brightness under which a pixel counts as dark.
        bright_level: Unit brightness over which a pixel counts as saturated.

    Returns:
        The scores.

    Raises:
        pipeline.rasters.RasterReadError: If the pixels cannot be read.
    """
    array = read_image(image)  # every band: a corrupt band file fails here
    valid = np.all(np.isfinite(array), axis=0)
    valid_fraction = float(valid.mean()) if valid.size else 0.0
    visible = [image.bands.index(b) for b in display_bands(image)]
    brightness = unit_brightness(array[visible], image.encoding).mean(axis=0)
    values = brightness[valid]
    if values.size == 0 or image.encoding == "float":
        return ImageScores(float("nan"), 0.0, 0.0, valid_fraction)
    return ImageScores(
        brightness=float(values.mean()),
        dark_fraction=float((values < dark_level).mean()),
        bright_fraction=float((values > bright_level).mean()),
        valid_fraction=valid_fraction,
    )
