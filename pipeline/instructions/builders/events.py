"""Event, change, caption and heat tasks computed from labels.

Disaster damage (xBD), change detection, methane plumes (STARCOP), earthquakes (QuakeSet),
captions from source captions (SkyScript) and land-surface temperature (thermal images).
Every answer comes from the sample's labels or, for plume extent and temperature, from its
rasters.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from eoinstruct.pipeline.instructions.builders.common import (
    DAMAGE_LEVELS,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    join_phrases,
    yes_no,
)
from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.records import Sample

MAGNITUDE_CLASSES: tuple[str, ...] = (
    "micro",
    "minor",
    "light",
    "moderate",
    "strong",
    "major",
    "great",
)
"""Magnitude classes (USGS: minor 3–3.9 … great ≥ 8; micro below 3) as QuakeSet tags them."""

EMISSION_CLASSES: tuple[str, ...] = ("weak", "strong")


def _damage_counts(sample: Sample) -> Counter[str]:
    return Counter(
        o.attribute for o in sample.labels.objects if o.category == "building" and o.attribute
    )


def buildings_affected(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: are any buildings damaged (minor, major or destroyed)?"""
    counts = _damage_counts(sample)
    if not any(counts[level] for level in DAMAGE_LEVELS):
        raise NotApplicable("no_damage_labels")
    damaged = sum(counts[level] for level in DAMAGE_LEVELS[1:])
    answer = yes_no(damaged > 0)
    return TaskValues(values={"answer": answer}, options=("Yes", "No"), answers=(answer,))


def damage_change(sample: Sample, config: GenerationConfig) -> TaskValues:
    """XBD change detection: what changed between the pre and post images."""
    counts = _damage_counts(sample)
    total = sum(counts[level] for level in DAMAGE_LEVELS)
    if not total:
        raise NotApplicable("no_damage_labels")
    damaged = {lvl: counts[lvl] for lvl in DAMAGE_LEVELS[1:] if counts[lvl]}
    if not damaged:
        answer = f"No change: none of the {total} buildings shows damage."
    else:
        parts = [f"{n} {lvl.replace('-', ' ')}" for lvl, n in sorted(damaged.items())]
        n_damaged = sum(damaged.values())
        answer = (
            f"{n_damaged} of the {total} buildings changed after the event: {join_phrases(parts)}."
        )
    return TaskValues(values={"answer": answer})


def damage_description(sample: Sample, config: GenerationConfig) -> TaskValues:
    """xBD: a one-sentence damage description (disaster type and damage per level)."""
    dtype = sample.labels.properties.get("disaster_type", "")
    counts = _damage_counts(sample)
    if not dtype or not any(counts[level] for level in DAMAGE_LEVELS):
        raise NotApplicable("no_damage_labels")
    parts = [f"{counts[lvl]} {lvl.replace('-', ' ')}" for lvl in reversed(DAMAGE_LEVELS)]
    return TaskValues(
        values={"disaster_type": dtype, "counts": join_phrases(parts)}, answers=(dtype,)
    )


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


def _pair_roles(sample: Sample) -> tuple[str, ...]:
    pair = sample.labels.properties.get("pair", "")
    roles = tuple(pair.split("/")) if pair else ()
    if len(roles) != 2:
        raise NotApplicable("no_pair_roles")
    return roles


def earthquake_occurred(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet: did an earthquake affect the area between the two acquisitions?"""
    value = sample.labels.properties.get("earthquake", "")
    if value not in ("yes", "no"):
        raise NotApplicable("no_earthquake_label")
    answer = yes_no(value == "yes")
    return TaskValues(
        values={"answer": answer},
        options=("Yes", "No"),
        answers=(answer,),
        image_roles=_pair_roles(sample),
    )


def earthquake_magnitude(sample: Sample, config: GenerationConfig) -> TaskValues:
    """QuakeSet: magnitude class of the earthquake (positive pairs only)."""
    props = sample.labels.properties
    label = sample.tags.get("magnitude_class", "")
    if props.get("earthquake") != "yes" or label not in MAGNITUDE_CLASSES:
        raise NotApplicable("no_magnitude")
    return TaskValues(
        values={
            "class": label,
            "magnitude": props.get("magnitude", ""),
            "options": ", ".join(MAGNITUDE_CLASSES),
        },
        options=MAGNITUDE_CLASSES,
        answers=(label,),
        image_roles=_pair_roles(sample),
    )


def source_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: the source's caption (multi-object caption when there is one)."""
    props = sample.labels.properties
    caption = props.get("title_multi_objects") or props.get("title") or ""
    caption = caption.strip()
    if not caption:
        raise NotApplicable("no_caption")
    return TaskValues(values={"caption": caption[0].upper() + caption[1:].rstrip(".") + "."})


def main_object(sample: Sample, config: GenerationConfig) -> TaskValues:
    """SkyScript: what the image's focus object is, from its OpenStreetMap tags."""
    centre = sorted(
        (k.split(":", 1)[1], v) for k, v in sample.tags.items() if k.startswith("center:")
    )
    preferred = ("building", "landuse", "natural", "leisure", "amenity", "highway", "waterway")
    for key in preferred:
        for k, v in centre:
            if k == key and v not in ("yes", ""):
                name = v.replace("_", " ")
                return TaskValues(values={"object": name}, answers=(name,))
    raise NotApplicable("no_focus_tag")


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


def scene_platform(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which satellite acquired the scene, from the STAC item's ``platform``."""
    platform = sample.tags.get("platform", "")
    if not platform:
        raise NotApplicable("no_platform")
    return TaskValues(values={"platform": platform, "date": (sample.acquired or ("",))[0][:10]})


def osm_land_use(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Land uses OpenStreetMap maps on the footprint (``osm:landuse`` from the enrich stage)."""
    values = [v.replace("_", " ") for v in sample.tags.get("osm:landuse", "").split(";") if v]
    if not values:
        raise NotApplicable("no_osm_landuse")
    return TaskValues(values={"land_uses": join_phrases(sorted(values))})
