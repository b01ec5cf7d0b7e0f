"""STARCOP methane tasks: plume presence and plume size, asked over the mag1c enhancement map.

A methane plume is invisible in the RGB rendering of an AVIRIS-NG scene; it shows in the
``mag1c`` image (the matched-filter methane enhancement, ppm·m), so both templates show that
image only. Answers come from the labels the STARCOP adapter stores at ingest:
``has_plume`` (the CSV) and the plume mask's size (``plume_pixels``, ``image_pixels``,
``pixel_size_m``, ``plume_area_m2``). The emission rate (``qplume_kg_h``) is not asked: it is
not in the pixels.
"""

from __future__ import annotations

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    yes_no,
)
from eoinstruct.pipeline.instructions.grammar import article, plural, sentence_case
from eoinstruct.pipeline.records import Sample

PLUME = "methane plume"
"""What the questions ask about."""

MAG1C_ROLE = "mag1c"
"""The image role of the methane-enhancement map (STARCOP adapter)."""

_REASONS_YES: tuple[str, ...] = (
    "a coherent streak of high methane enhancement stands out from the background of the map",
    "the map holds a bright, elongated patch of elevated methane, the shape of a plume drifting "
    "away from its source",
    "one area of the map is clearly brighter than the background and trails off like a plume",
)
_REASONS_NO: tuple[str, ...] = (
    "nothing in the enhancement map forms a plume of elevated methane trailing from a source",
    "the map shows no coherent streak of elevated methane, only background variation and "
    "isolated bright spots at most",
    "the map nowhere rises above the background in the elongated shape of a plume",
)


def _plume(sample: Sample) -> bool:
    props = sample.labels.properties
    value = props.get("has_plume", "").lower()
    if value not in ("true", "false"):
        raise NotApplicable("no_plume_label")
    plume = value == "true"
    pixels = props.get("plume_pixels")
    if pixels is not None and (pixels != "0") != plume:
        raise NotApplicable("plume_label_disagrees_with_mask")
    return plume


def _mag1c(sample: Sample) -> tuple[str, ...]:
    if not any(im.role == MAG1C_ROLE for im in sample.images):
        raise NotApplicable("no_mag1c_image")
    return (MAG1C_ROLE,)


def methane_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STARCOP: does the mag1c map show a methane plume? Yes or No, from ``has_plume``."""
    plume = _plume(sample)
    roles = _mag1c(sample)
    answer = yes_no(plume)
    reasons = _REASONS_YES if plume else _REASONS_NO
    reason = reasons[draw(config.seed, sample.sample_id, "methane_presence|reason", n=len(reasons))]
    a_plume = article(PLUME)
    return TaskValues(
        values={
            "answer": answer,
            "shows": f"shows {a_plume}" if plume else f"shows no {PLUME}",
            "there_is": f"there is {a_plume}" if plume else f"there is no {PLUME}",
            "reason": sentence_case(reason),
            "reason_lc": reason,
        },
        options=("Yes", "No"),
        answers=(answer,),
        image_roles=roles,
    )


def _round_area(area: float) -> str:
    """Round an area to three significant figures, with thousands separators."""
    if area >= 1000:
        digits = len(str(int(area)))
        area = round(area, 3 - digits)
        return f"{area:,.0f}"
    return f"{area:.3g}" if area < 100 else f"{area:.0f}"


def _percent(share: float) -> str:
    """A percentage with one decimal, or two below 0.1 %."""
    return f"{share:.1f}" if share >= 0.1 else f"{share:.2f}"


def methane_extent(sample: Sample, config: GenerationConfig) -> TaskValues:
    """STARCOP: size of the plume from the mask figures (pixels, share, area at the GSD)."""
    if not _plume(sample):
        raise NotApplicable("no_plume")
    roles = _mag1c(sample)
    props = sample.labels.properties
    try:
        pixels = int(props["plume_pixels"])
        total = int(props["image_pixels"])
        area = float(props["plume_area_m2"])
        gsd = float(props["pixel_size_m"])
    except (KeyError, ValueError) as exc:
        raise NotApplicable("no_plume_figures") from exc
    if pixels <= 0 or total <= 0 or gsd <= 0:
        raise NotApplicable("empty_plume_mask")
    return TaskValues(
        values={
            "area": _round_area(area),
            "percent": _percent(100 * pixels / total),
            "pixels": f"{pixels:,} {'pixel' if pixels == 1 else plural('pixel')}",
            "total": f"{total:,}",
            "gsd": f"{gsd:g}",
        },
        image_roles=roles,
    )


BUILDERS: dict[str, Builder] = {
    "methane_presence": methane_presence,
    "methane_extent": methane_extent,
}
"""Builder name (as used in template files) → function."""
