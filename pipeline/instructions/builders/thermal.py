"""Land-surface temperature tasks (urban heat island) from thermal images in kelvin."""

from __future__ import annotations

import numpy as np

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
)
from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.records import Sample


def thermal_summary(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Urban heat island: land-surface temperature statistics of a thermal (kelvin) image."""
    thermal = [im for im in sample.images if im.encoding == "kelvin"]
    if not thermal:
        raise NotApplicable("no_thermal_image")
    image = thermal[0]
    try:
        kelvin = read_image(image)[0]
    except RasterReadError as exc:
        raise NotApplicable("unreadable_thermal_image") from exc
    valid = np.isfinite(kelvin)
    if valid.mean() < 0.5:
        raise NotApplicable("too_little_thermal_data")
    celsius = kelvin - 273.15
    mean = float(np.nanmean(celsius))
    p90 = float(np.nanpercentile(celsius, 90))
    h, w = celsius.shape
    quadrants = {
        "north-west": celsius[: h // 2, : w // 2],
        "north-east": celsius[: h // 2, w // 2 :],
        "south-west": celsius[h // 2 :, : w // 2],
        "south-east": celsius[h // 2 :, w // 2 :],
    }
    hottest = max(sorted(quadrants), key=lambda q: float(np.nanmean(quadrants[q])))
    spread = p90 - float(np.nanpercentile(celsius, 10))
    label = "strong" if spread >= 8 else "moderate" if spread >= 4 else "weak"
    band = image.bands[0]
    return TaskValues(
        values={
            "mean": f"{mean:.1f}",
            "p90": f"{p90:.1f}",
            "hottest": hottest,
            "contrast": label,
            "spread": f"{spread:.1f}",
            "band": band,
        },
        options=("weak", "moderate", "strong"),
        answers=(label,),
        image_roles=(image.role,),
    )


BUILDERS: dict[str, Builder] = {
    "thermal_summary": thermal_summary,
}
"""Builder name (as used in template files) → function."""
