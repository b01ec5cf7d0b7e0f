"""Land-surface temperature task (urban heat island): a description of a thermal chip.

The pair shows the sample's thermal image (encoding ``kelvin``; Landsat ST_B10 / ST_B6), which
the corpus renders in grey at a fixed scale (250 K black, 330 K white), so each figure is
readable from the shipped pixels. The figures come from ``labels.properties``, computed from
the chip at ingest (:mod:`eoinstruct.sources.stac.thermal`): the mean temperature, the warmest
quarter (north is the top of the chip) and the thermal contrast.

Thermal contrast is the spread between the 10th and 90th percentiles of the chip's
temperatures: **strong** from :data:`STRONG_SPREAD_C` (8 °C), **moderate** from
:data:`MODERATE_SPREAD_C` (4 °C), **weak** below.
"""

from __future__ import annotations

import json
import math

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
)
from eoinstruct.pipeline.instructions.grammar import article
from eoinstruct.pipeline.records import Sample

STRONG_SPREAD_C = 8.0
"""10th-to-90th percentile spread (°C) from which the thermal contrast is strong."""

MODERATE_SPREAD_C = 4.0
"""Spread (°C) from which the thermal contrast is moderate (weak below)."""

CONTRASTS: tuple[str, ...] = ("weak", "moderate", "strong")

POSITIONS: dict[str, str] = {
    "north-west": "top left",
    "north-east": "top right",
    "south-west": "bottom left",
    "south-east": "bottom right",
}
"""Quarter name → where it is in the (north-up) image."""


def contrast_class(spread_c: float) -> str:
    """Return ``weak``, ``moderate`` or ``strong`` for a percentile spread in °C."""
    if spread_c >= STRONG_SPREAD_C:
        return "strong"
    return "moderate" if spread_c >= MODERATE_SPREAD_C else "weak"


def _figures(sample: Sample) -> tuple[float, float, dict[str, float]]:
    props = sample.labels.properties
    try:
        mean = float(props["lst_mean_c"])
        spread = float(props["lst_p90_c"]) - float(props["lst_p10_c"])
        quadrants = {str(k): float(v) for k, v in json.loads(props["lst_quadrant_means_c"]).items()}
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise NotApplicable("no_temperature_figures") from exc
    if set(quadrants) != set(POSITIONS) or not all(
        math.isfinite(v) for v in (mean, spread, *quadrants.values())
    ):
        raise NotApplicable("bad_temperature_figures")
    return mean, spread, quadrants


def thermal_summary(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Urban heat island: mean temperature, warmest quarter and contrast of the thermal chip."""
    thermal = [im for im in sample.images if im.encoding == "kelvin"]
    if not thermal:
        raise NotApplicable("no_thermal_image")
    mean, spread, quadrants = _figures(sample)
    ranked = sorted(quadrants, key=lambda q: (-quadrants[q], q))
    if quadrants[ranked[0]] - quadrants[ranked[1]] < 0.05:
        raise NotApplicable("no_single_warmest_quarter")
    hottest = ranked[0]
    label = contrast_class(spread)
    return TaskValues(
        values={
            "mean": f"{mean:.1f}".replace("-0.0", "0.0"),
            "hottest": hottest,
            "position": POSITIONS[hottest],
            "contrast": label,
            "a_contrast": article(f"{label} contrast"),
            "spread": f"{spread:.1f}",
        },
        options=CONTRASTS,
        answers=(label,),
        image_roles=(thermal[0].role,),
    )


BUILDERS: dict[str, Builder] = {
    "thermal_summary": thermal_summary,
}
"""Builder name (as used in template files) → function."""
