"""The triple filter's thresholds and its decision: which drop reasons apply to scored samples.

The score stage stores scores; this module only compares them with the ``filter`` section of
``params.yaml`` (:class:`~eoinstruct.pipeline.settings.FilterSettings`), so changing a threshold
never re-reads a pixel. Reasons are checked in :data:`FILTER_REASONS` order; the first one is a
sample's counted reason, and all of them are kept in the drop ledger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.accounting import Reason
from eoinstruct.pipeline.errors import ConfigError
from eoinstruct.pipeline.records import ENCODINGS, to_json

if TYPE_CHECKING:  # the models import pydantic: only where a section is validated here
    from eoinstruct.pipeline.settings import FilterSettings

FILTER_REASONS: tuple[Reason, ...] = (
    Reason.NO_GEOLOCATION,
    Reason.OUTSIDE_AOI,
    Reason.LOW_COVERAGE,
    Reason.SNOW_OR_CLOUD,
    Reason.TOO_DARK,
    Reason.TOO_BRIGHT,
    Reason.DEGENERATE,
    Reason.TOO_FEW_TAGS,
)
"""The filter's reasons, in the order they are checked."""

REASONS = FILTER_REASONS
"""Alias kept for readers of the filter's ledgers."""

SNOW_CLOUD_MODES: tuple[str, ...] = ("drop", "keep")


@dataclass(frozen=True)
class Thresholds:
    """The filter's thresholds (``params.yaml`` section ``filter``).

    Attributes:
        min_tags: Minimum number of tag fields.
        min_valid_fraction: Minimum valid-pixel fraction of every image.
        require_geolocation: Drop samples without a usable footprint and CRS.
        brightness: Encoding → (min, max) mean unit brightness of every image.
        aoi: Area of interest ``(west, south, east, north)`` in degrees, or None for the whole
            Earth; samples whose footprint does not intersect it are dropped.
        snow_cloud: ``drop`` or ``keep`` samples flagged for snow/cloud/shadow.
        max_cloud_fraction: Largest cloud-mask share kept (with ``snow_cloud: drop``).
        drop_degenerate: Drop samples with a constant or all-nodata band.
        exempt: Source → reasons (values of :data:`FILTER_REASONS`) that never drop its
            samples, e.g. ``no_geolocation`` for a release without coordinates (LEVIR-CD,
            DIOR, DOTA, HRSID, HIT-UAV, So2Sat LCZ42), or ``too_few_tags`` where the object
            annotations are the instruction material.
    """

    min_tags: int
    min_valid_fraction: float
    require_geolocation: bool
    brightness: Mapping[str, tuple[float, float]]
    aoi: tuple[float, float, float, float] | None = None
    snow_cloud: str = "drop"
    max_cloud_fraction: float = 0.1
    drop_degenerate: bool = True
    exempt: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: FilterSettings) -> Thresholds:
        """Build thresholds from the typed ``filter`` section, checking what types cannot.

        Args:
            settings: The validated section.

        Returns:
            The thresholds.

        Raises:
            ConfigError: On an AOI that is not a box in degrees, an unknown encoding or an
                empty brightness range.
        """
        brightness = {enc: (r.min, r.max) for enc, r in settings.brightness.items()}
        aoi = None if settings.aoi is None else tuple(float(v) for v in settings.aoi)
        if aoi is not None and not (
            -180 <= aoi[0] < aoi[2] <= 180 and -90 <= aoi[1] < aoi[3] <= 90
        ):
            raise ConfigError("filter.aoi must be [west, south, east, north] in degrees")
        unknown = set(brightness) - set(ENCODINGS)
        if unknown:
            raise ConfigError(f"filter.brightness: unknown encodings {sorted(unknown)}")
        for enc, (low, high) in brightness.items():
            if not 0 <= low < high <= 1:
                raise ConfigError(f"filter.brightness.{enc}: need 0 <= min < max <= 1")
        known = {str(r) for r in FILTER_REASONS}
        for source, names in settings.exempt.items():
            bad = sorted(set(names) - known)
            if bad:
                raise ConfigError(f"filter.exempt.{source}: unknown reasons {bad}")
        return cls(
            min_tags=settings.min_tags,
            min_valid_fraction=settings.min_valid_fraction,
            require_geolocation=settings.require_geolocation,
            brightness=brightness,
            aoi=aoi,  # type: ignore[arg-type]
            snow_cloud=settings.snow_cloud,
            max_cloud_fraction=settings.max_cloud_fraction,
            drop_degenerate=settings.drop_degenerate,
            exempt={k: frozenset(v) for k, v in settings.exempt.items()},
        )

    @classmethod
    def from_params(cls, section: Mapping[str, Any]) -> Thresholds:
        """Build thresholds from a raw ``filter`` mapping (validated first).

        Args:
            section: The section as read from YAML.

        Returns:
            The thresholds.

        Raises:
            ConfigError: Naming the bad key.
        """
        from eoinstruct.pipeline.settings import FilterSettings, validate_section

        return cls.from_settings(validate_section(FilterSettings, section, "filter"))


def decide(scores: Mapping[str, Any], thresholds: Thresholds) -> list[Reason]:
    """Return every drop reason that applies to a scored sample (empty: keep it).

    Args:
        scores: A row of the score stage's output.
        thresholds: The thresholds.

    Returns:
        Reasons in :data:`FILTER_REASONS` order.
    """
    reasons: list[Reason] = []
    if thresholds.require_geolocation and scores["geo_problem"]:
        reasons.append(Reason.NO_GEOLOCATION)
    if thresholds.aoi is not None and not in_aoi(scores.get("footprint_wkt"), thresholds):
        reasons.append(Reason.OUTSIDE_AOI)
    # auxiliary products (encoding "float", e.g. STARCOP's mag1c, whose zeros are nodata)
    # take part in neither the coverage nor the brightness test
    primary = [i for i, enc in enumerate(scores["image_encodings"]) if enc != "float"] or list(
        range(len(scores["image_encodings"]))
    )
    if min(scores["valid_fraction"][i] for i in primary) < thresholds.min_valid_fraction:
        reasons.append(Reason.LOW_COVERAGE)
    if thresholds.snow_cloud == "drop":
        clouds = scores.get("cloud_fraction")
        if scores.get("snow_cloud") or (
            clouds is not None and clouds > thresholds.max_cloud_fraction
        ):
            reasons.append(Reason.SNOW_OR_CLOUD)
    dark = bright = False
    for i in primary:
        enc, value = scores["image_encodings"][i], scores["brightness"][i]
        low, high = thresholds.brightness.get(enc, (0.0, 1.0))
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue  # no valid pixel (low_coverage says so) or no brightness scale
        dark |= value < low
        bright |= value > high
    if dark:
        reasons.append(Reason.TOO_DARK)
    if bright:
        reasons.append(Reason.TOO_BRIGHT)
    degenerate = scores.get("degenerate") or []
    if thresholds.drop_degenerate and any(degenerate[i] for i in primary if i < len(degenerate)):
        reasons.append(Reason.DEGENERATE)
    if scores["n_tags"] < thresholds.min_tags:
        reasons.append(Reason.TOO_FEW_TAGS)
    exempt = thresholds.exempt.get(str(scores.get("source") or ""), frozenset())
    return [r for r in reasons if str(r) not in exempt]


def in_aoi(footprint_wkt: object, thresholds: Thresholds) -> bool:
    """Say whether a footprint meets the area of interest (always true without one).

    Args:
        footprint_wkt: The sample's lon/lat footprint (WKT), possibly empty or invalid.
        thresholds: The thresholds (``aoi``).

    Returns:
        True when the footprint intersects the AOI box; False when it does not or cannot
        be parsed.
    """
    if thresholds.aoi is None:
        return True
    import shapely  # ≈ 15 ms to import: only a build with an AOI needs it
    from shapely.errors import ShapelyError

    try:
        geom = shapely.from_wkt(str(footprint_wkt or ""))
    except (ShapelyError, ValueError):
        return False
    if geom is None or geom.is_empty:
        return False
    return bool(geom.intersects(shapely.box(*thresholds.aoi)))


DETAIL_KEYS: tuple[str, ...] = (
    "n_tags",
    "geo_problem",
    "image_encodings",
    "brightness",
    "valid_fraction",
    "dark_fraction",
    "bright_fraction",
    "degenerate",
    "snow_cloud",
    "cloud_fraction",
)
"""Score columns a drop ledger row keeps as its ``detail``."""


def drop_detail(scores: Mapping[str, Any]) -> str:
    """Return the scores behind a decision as JSON (the drop ledger's ``detail``)."""
    return to_json({k: scores[k] for k in DETAIL_KEYS if k in scores})
