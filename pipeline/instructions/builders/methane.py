"""STARCOP methane tasks: plume presence, emission class and plume extent from the plume mask."""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    yes_no,
)
from eoinstruct.pipeline.records import Sample

EMISSION_CLASSES: tuple[str, ...] = ("weak", "strong")


def _plume(sample: Sample) -> bool:
    value = sample.labels.properties.get("has_plume", "").lower()
    if value not in ("true", "false"):
        raise NotApplicable("no_plume_label")
    return value == "true"


def methane_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STARCOP: is there a methane plume?"""
    answer = yes_no(_plume(sample))
    return TaskValues(values={"answer": answer}, options=("Yes", "No"), answers=(answer,))


def methane_strength(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STARCOP: emission class of a plume (strong from 1000 kg/h) and its flux."""
    if not _plume(sample):
        raise NotApplicable("no_plume")
    try:
        flux = float(sample.labels.properties["qplume_kg_h"])
    except (KeyError, ValueError) as exc:
        raise NotApplicable("no_flux") from exc
    label = "strong" if flux >= 1000 else "weak"
    return TaskValues(
        values={"class": label, "flux": f"{flux:.0f}", "options": ", ".join(EMISSION_CLASSES)},
        options=EMISSION_CLASSES,
        answers=(label,),
    )


def methane_extent(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STARCOP: plume area from the binary plume mask (pixels × GSD²) and its image share."""
    import rasterio

    if not _plume(sample):
        raise NotApplicable("no_plume")
    path = sample.labels.rasters.get("plume_mask")
    if not path or not sample.gsd_m:
        raise NotApplicable("no_plume_mask")
    try:
        with rasterio.open(path) as ds:
            mask = ds.read(1) > 0
    except rasterio.errors.RasterioError as exc:
        raise NotApplicable("unreadable_plume_mask") from exc
    pixels = int(mask.sum())
    if pixels == 0:
        raise NotApplicable("empty_plume_mask")
    area_m2 = pixels * sample.gsd_m**2
    return TaskValues(
        values={
            "area": f"{area_m2:,.0f}",
            "percent": f"{100 * pixels / mask.size:.1f}",
            "pixels": str(pixels),
        }
    )


BUILDERS: dict[str, Builder] = {
    "methane_presence": methane_presence,
    "methane_strength": methane_strength,
    "methane_extent": methane_extent,
}
"""Builder name (as used in template files) → function."""
