"""The three scores of the triple filter, as pure functions of a sample.

- **Tags**: :func:`count_tag_fields`, the number of distinct non-empty label fields (class
  labels, object kinds, OpenStreetMap tags, semantic labels; never metadata:
  :mod:`eoinstruct.pipeline.quality.tag_fields`).
- **Brightness**: :func:`image_scores`, sensor-aware (see
  :func:`eoinstruct.pipeline.io.rasters.unit_brightness`) mean brightness of the visible bands, the
  fractions of dark (black) and saturated pixels, per-band mean and 2nd/50th/98th
  percentiles, and a *degenerate* flag (a band that is constant or entirely NaN).
- **Coverage**: the fraction of valid pixels (no NaN or nodata in any band),
  :func:`geolocation_problem` (whether the footprint exists, is in range and has a known CRS),
  :func:`snow_cloud_flagged` (a source's own snow/cloud/shadow flags, e.g. reBEN's
  ``contains_seasonal_snow`` and ``contains_cloud_or_shadow``) and :func:`cloud_fraction` (the
  share of cloud pixels of a ``cloud_mask`` raster label, where a source provides one).
- **Identity** (for de-duplication, :mod:`eoinstruct.pipeline.quality.dedup`): a SHA-256 of every
image's decoded
  pixels and a 64-bit perceptual hash of each image's RGB rendering.

The score stage stores these as columns; the filter stage compares them with thresholds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.errors import ShapelyError

from eoinstruct.pipeline.io.brightness import maps_within_unit
from eoinstruct.pipeline.io.rasters import (
    RasterReadError,
    native_pixels,
    read_image,
    unit_brightness,
)
from eoinstruct.pipeline.io.render import display_bands, render_rgb
from eoinstruct.pipeline.quality.dedup import perceptual_hash
from eoinstruct.pipeline.quality.histograms import HIST_BINS as HIST_BINS
from eoinstruct.pipeline.quality.histograms import VALUE_RANGES as VALUE_RANGES
from eoinstruct.pipeline.quality.histograms import _sorted_bands
from eoinstruct.pipeline.quality.histograms import _sorted_native as _sorted_native
from eoinstruct.pipeline.quality.histograms import band_histograms as band_histograms
from eoinstruct.pipeline.quality.pixel_hash import pixel_sha256 as pixel_sha256
from eoinstruct.pipeline.quality.tag_fields import label_fields
from eoinstruct.pipeline.records import ImageRef, Sample

SNOW_CLOUD_KEYS: tuple[str, ...] = ("contains_seasonal_snow", "contains_cloud_or_shadow")
"""Label properties or tags that flag snow, cloud or cloud shadow when ``true`` (reBEN's
``metadata_for_patches_with_snow_cloud_or_shadow.parquet`` columns)."""

CLOUD_MASK_RASTER = "cloud_mask"
"""Name of the raster label (``labels.rasters``) holding a cloud/shadow mask: non-zero is
cloud or shadow, zero clear, nodata/NaN unknown. Any adapter that has a QA band or mask
(e.g. Sentinel-2 SCL classes 3, 8, 9, 10 mapped to 1) can provide it."""


def count_tag_fields(sample: Sample) -> int:
    """Count the distinct non-empty label fields of a sample (what ``filter.min_tags`` reads).

    A label field is a scene class label, a distinct object kind (category and attribute,
    e.g. ``building/destroyed``), an OpenStreetMap tag key (``osm:landuse``, SkyScript's
    ``center:highway``) or a semantic label of the source (``disaster_type``,
    ``has_plume``…); metadata (ids, sensor, platform, dates, cloud cover, tiles…) never
    counts (:mod:`eoinstruct.pipeline.quality.tag_fields`).

    Args:
        sample: The sample.

    Returns:
        The count.
    """
    return len(label_fields(sample))


WELL_KNOWN_EPSG: frozenset[int] = frozenset(
    (4326, 3857, *range(32601, 32661), *range(32701, 32761))
)
"""EPSG codes every PROJ database holds (WGS 84, Web Mercator and the 120 WGS 84 UTM zones).

``EPSG:<code>`` with one of them is known without asking PROJ: the score stage then never
loads rasterio and GDAL (≈ 50 CPU-ms of its start-up) for the usual Sentinel footprints.
``tests/test_scores_crs.py`` checks PROJ knows every one."""

_EPSG_TEXT = re.compile(r"EPSG:([0-9]{4,5})")


@functools.lru_cache(maxsize=1024)
def _known_crs(text: str) -> bool:
    """Whether PROJ knows a CRS string (asked once per string: a source's samples share few)."""
    match = _EPSG_TEXT.fullmatch(text)
    if match is not None and int(match.group(1)) in WELL_KNOWN_EPSG:
        return True
    from rasterio.crs import CRS  # GDAL only for a CRS outside WELL_KNOWN_EPSG
    from rasterio.errors import CRSError

    try:
        CRS.from_user_input(text)
    except CRSError:
        return False
    return True


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
    if not sample.crs.strip() or not _known_crs(sample.crs):
        return "unknown_crs"
    return _footprint_problem(sample.footprint_wkt)


@functools.lru_cache(maxsize=4096)
def _footprint_problem(wkt: str) -> str:
    """:func:`geolocation_problem`'s footprint checks, once per footprint text.

    A pure function of the text: the samples of a pair (a Sentinel-2 patch and its
    Sentinel-1 partner) share one footprint, parsed and checked once.
    """
    try:
        geom = shapely.from_wkt(wkt)
    except (ShapelyError, ValueError):
        return "invalid_footprint"
    if geom.is_empty or not geom.is_valid or geom.area <= 0:
        return "invalid_footprint"
    west, south, east, north = geom.bounds
    if west < -180 or east > 180 or south < -90 or north > 90:
        return "footprint_out_of_range"
    return ""


def snow_cloud_flagged(sample: Sample) -> bool:
    """Say whether the source flags a sample for seasonal snow, cloud or cloud shadow.

    Args:
        sample: The sample.

    Returns:
        True when a label property or tag in :data:`SNOW_CLOUD_KEYS` is ``true``.
    """
    for key in SNOW_CLOUD_KEYS:
        for mapping in (sample.labels.properties, sample.tags):
            if str(mapping.get(key, "")).strip().lower() == "true":
                return True
    return False


def cloud_fraction(sample: Sample) -> float | None:
    """Return the share of cloud/shadow pixels of a sample's ``cloud_mask`` raster label.

    Args:
        sample: The sample.

    Returns:
        Cloud pixels / known pixels, ``None`` when the sample has no cloud mask, 1.0 when the
        mask has no known pixel.

    Raises:
        pipeline.rasters.RasterReadError: If the mask file is missing or unreadable.
    """
    path_text = sample.labels.rasters.get(CLOUD_MASK_RASTER)
    if not path_text:
        return None
    path = Path(path_text)
    if not path.is_file():
        raise RasterReadError("missing_file", f"{path}: cloud mask not found")
    import rasterio  # GDAL only for a cloud mask
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(path) as ds:
            mask = ds.read(1, masked=True).astype(np.float64).filled(np.nan)
    except RasterioError as exc:
        raise RasterReadError("corrupt_raster", f"{path}: cannot read cloud mask: {exc}") from exc
    known = np.isfinite(mask)
    if not known.any():
        return 1.0
    return float((mask[known] != 0).mean())


@dataclass(frozen=True)
class ImageScores:
    """Brightness, coverage and identity of one image.

    Attributes:
        brightness: Mean unit brightness of the display bands over valid pixels (NaN if there
            are none, or if the encoding has no brightness scale).
        dark_fraction: Fraction of valid pixels darker than the dark level (black pixels).
        bright_fraction: Fraction of valid pixels brighter than the bright level (saturated).
        valid_fraction: Fraction of pixels valid in every band.
        band_mean: Per band (all bands, in the image's order), mean unit brightness over the
            band's finite pixels (NaN: none, or no brightness scale).
        band_p2: Per band, 2nd percentile of unit brightness.
        band_p50: Per band, median unit brightness.
        band_p98: Per band, 98th percentile of unit brightness.
        degenerate: A band is entirely NaN/nodata or constant over its finite pixels.
        content_sha256: SHA-256 of the decoded pixels (all bands, shape included).
        phash: 64-bit perceptual hash of the RGB rendering (None if it cannot be rendered).
    """

    brightness: float
    dark_fraction: float
    bright_fraction: float
    valid_fraction: float
    band_mean: tuple[float, ...] = field(default=())
    band_p2: tuple[float, ...] = field(default=())
    band_p50: tuple[float, ...] = field(default=())
    band_p98: tuple[float, ...] = field(default=())
    degenerate: bool = False
    content_sha256: str = ""
    phash: int | None = None


def _is_sorted(rows: np.ndarray) -> bool:
    return bool(np.all(rows[:, 1:] >= rows[:, :-1]))


_MONOTONE = frozenset(
    (
        "uint8",
        "reflectance_1e4",
        "reflectance",
        "sar_db",
        "radiance",
        "normalized_radiance",
        "kelvin",
    )
)
"""Encodings whose unit brightness is a correctly rounded affine map then a clip: non-decreasing
in the value, so the brightness of a sorted band is sorted (``sar_linear``'s logarithm is
checked instead)."""

_PERCENTILES = np.asarray([2.0, 50.0, 98.0])


def _sorted_percentiles(rows: np.ndarray, encoding: str | None = None) -> np.ndarray:
    """``np.percentile(rows, [2, 50, 98], axis=1)`` of rows already sorted, without sorting.

    The same arithmetic as numpy's default (``linear``) method: the virtual index
    ``(n - 1) q``, its floor and the next index, and numpy's two-sided lerp in float64
    (tests/test_scores_stats.py compares the two bit for bit).

    Args:
        rows: ``(bands, n)`` sorted values, all finite.
        encoding: Convert the values interpolated to unit brightness of this encoding first
            (one of :data:`_MONOTONE`, so that the converted rows stay sorted).

    Returns:
        ``(3, bands)`` float64.
    """
    previous, following, t, rest, upper = _percentile_plan(rows.shape[1])
    low = rows[:, previous].T
    high = rows[:, following].T
    if rows.dtype.kind in "ui":  # integers (exact in float32): their float32 values
        low, high = low.astype(np.float32), high.astype(np.float32)
    if encoding is not None:
        low, high = unit_brightness(low, encoding), unit_brightness(high, encoding)
    diff = high - low
    out: np.ndarray = np.add(low, diff * t)
    np.subtract(high, diff * rest, out=out, where=upper, casting="unsafe")
    return out


@functools.lru_cache(maxsize=64)
def _percentile_plan(
    n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_sorted_percentiles`' indices and weights for rows of ``n`` values (once per n).

    numpy's ``linear`` method: floor and next of ``(n - 1) q``, ``t``, ``1 - t``, ``t >= 0.5``.
    """
    quantiles = np.true_divide(_PERCENTILES, 100)
    virtual = (n - 1) * quantiles
    previous = np.floor(virtual).astype(np.intp)
    following = previous + 1
    above = virtual >= n - 1
    previous[above], following[above] = -1, -1
    below = virtual < 0
    previous[below], following[below] = 0, 0
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    t = gamma.reshape(-1, 1)
    plan = (previous, following, t, 1 - t, t >= 0.5)
    for array in plan:
        array.setflags(write=False)
    return plan


def _band_stats(
    array: np.ndarray, encoding: str
) -> tuple[list[float], list[float], list[float], list[float], bool]:
    """Per band mean and 2/50/98th percentiles of unit brightness, and the degenerate flag.

    See :func:`_band_stats_unit`.
    """
    return _band_stats_unit(array, encoding)[:5]


def _band_stats_unit(
    array: np.ndarray, encoding: str
) -> tuple[list[float], list[float], list[float], list[float], bool, np.ndarray | None]:
    """Per band mean and percentiles of unit brightness, the degenerate flag, the brightness.

    The last item is every pixel's unit brightness, ``(bands, pixels)`` (None on the per-band
    path), which :func:`image_scores` reuses for its visible bands.

    Where every pixel is finite, one sort over the bands gives the percentiles the per-band
    ``np.percentile`` calls give (a percentile depends on the values, not their order): for an
    encoding whose unit brightness is non-decreasing (:data:`_MONOTONE`) only the six values
    each band's percentiles interpolate are converted; otherwise every sorted value is, and
    checked to be sorted. The means are taken over the pixels in their order, as before.
    """
    sorted_bands = _sorted_bands(array)
    if sorted_bands is not None and int(sorted_bands[1].min()) == sorted_bands[0].shape[1]:
        ordered = sorted_bands[0]
        percentiles: np.ndarray | None = None
        if encoding not in _MONOTONE and ordered.dtype != np.float32:
            ordered = ordered.astype(np.float32)
        if encoding in _MONOTONE:
            percentiles = _sorted_percentiles(ordered, encoding)
        else:
            unit_sorted = unit_brightness(ordered, encoding)
            if np.isfinite(unit_sorted).all():
                if not _is_sorted(unit_sorted):
                    unit_sorted = np.sort(unit_sorted, axis=1)
                percentiles = _sorted_percentiles(unit_sorted)
        if percentiles is not None:
            low, mid, high = percentiles
            # a monotone map whose extremes land in [0, 1]: clipping the pixels changes nothing
            ends = float(ordered[:, 0].min()), float(ordered[:, -1].max())
            clip = not (
                encoding in _MONOTONE
                and array.dtype == np.float32
                and maps_within_unit(*ends, encoding)
            )
            unit = unit_brightness(array.reshape(array.shape[0], -1), encoding, clip=clip)
            return (
                [float(v) for v in unit.mean(axis=1)],
                [float(v) for v in low],
                [float(v) for v in mid],
                [float(v) for v in high],
                bool(np.any(ordered[:, 0] == ordered[:, -1])),
                unit,
            )
    means: list[float] = []
    p2: list[float] = []
    p50: list[float] = []
    p98: list[float] = []
    degenerate = False
    for band in array:
        finite = band[np.isfinite(band)]
        if finite.size == 0 or float(finite.min()) == float(finite.max()):
            degenerate = True
        unit = unit_brightness(finite, encoding) if finite.size else finite
        if unit.size == 0 or not np.isfinite(unit).any():
            means.append(float("nan"))
            p2.append(float("nan"))
            p50.append(float("nan"))
            p98.append(float("nan"))
            continue
        low, mid, high = np.percentile(unit, [2, 50, 98])
        means.append(float(unit.mean()))
        p2.append(float(low))
        p50.append(float(mid))
        p98.append(float(high))
    return means, p2, p50, p98, degenerate, None


def rgb_or_none(image: ImageRef, array: np.ndarray) -> np.ndarray | None:
    """Render an image from its pixels, or None where it has no RGB rendering.

    Args:
        image: The image.
        array: Its pixels (every band).

    Returns:
        The ``(3, height, width)`` uint8 rendering, or None.
    """
    try:
        return render_rgb(image, array)
    except (RasterReadError, ValueError):
        return None


def image_scores(
    image: ImageRef,
    dark_level: float,
    bright_level: float,
    identity: bool = True,
    array: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
) -> ImageScores:
    """Compute an image's brightness, coverage and identity scores (reading it if needed).

    Args:
        image: The image.
        dark_level: Unit brightness under which a pixel counts as dark.
        bright_level: Unit brightness over which a pixel counts as saturated.
        identity: Also compute the content and perceptual hashes.
        array: The image's pixels, every band (read once by the caller); read when None.
        rgb: Its RGB rendering (:func:`rgb_or_none`); rendered from ``array`` when None.

    Returns:
        The scores.

    Raises:
        pipeline.rasters.RasterReadError: If the pixels cannot be read.
    """
    if array is None:
        array = read_image(image)  # every band: a corrupt band file fails here
    all_valid = native_pixels(array) is not None  # integers without nodata: no NaN to find
    valid = np.ones(array.shape[1:], np.bool_) if all_valid else np.all(np.isfinite(array), axis=0)
    # the means of booleans as counts (np.mean sums them exactly in float64, then divides)
    valid_fraction = (
        (1.0 if all_valid else np.count_nonzero(valid) / valid.size) if valid.size else 0.0
    )
    means, p2, p50, p98, degenerate, unit = _band_stats_unit(array, image.encoding)
    content = pixel_sha256(array) if identity else ""
    phash: int | None = None
    if identity:
        if rgb is None:
            rgb = rgb_or_none(image, array)
        # no RGB rendering: near-duplicate search skips the image
        phash = None if rgb is None else perceptual_hash(rgb)
    extra = {
        "band_mean": tuple(means),
        "band_p2": tuple(p2),
        "band_p50": tuple(p50),
        "band_p98": tuple(p98),
        "degenerate": degenerate,
        "content_sha256": content,
        "phash": phash,
    }
    visible = [image.bands.index(b) for b in display_bands(image)]
    if unit is None:
        brightness = unit_brightness(array[visible], image.encoding).mean(axis=0)
    else:  # the same values (elementwise), not converted again
        brightness = unit[visible].reshape(len(visible), *array.shape[1:]).mean(axis=0)
    values = brightness.reshape(-1) if all_valid else brightness[valid]
    if values.size == 0 or image.encoding == "float":
        return ImageScores(float("nan"), 0.0, 0.0, valid_fraction, **extra)  # type: ignore[arg-type]
    return ImageScores(
        brightness=float(values.mean()),
        dark_fraction=np.count_nonzero(values < dark_level) / values.size,
        bright_fraction=np.count_nonzero(values > bright_level) / values.size,
        valid_fraction=valid_fraction,
        **extra,  # type: ignore[arg-type]
    )
