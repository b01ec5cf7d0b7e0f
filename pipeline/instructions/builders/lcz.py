"""Local climate zone tasks on So2Sat LCZ42 Sentinel-2 patches: the zone and its urban facts.

The facts: built-up or natural, compact or open, building height.

A So2Sat sample's class (``labels.classes``, scheme ``lcz17``) is one of Stewart and Oke's 17
zones; ``labels.properties`` repeat what the zone defines: ``built_type`` (built/natural),
``urban_form`` (compact/open for LCZ 1–6), ``building_height`` (LCZ 1–8). Yes/no questions draw
the side first (50/50): the asked value is the true one or another one.
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
from eoinstruct.pipeline.records import Sample

SCHEME = "lcz17"

ZONES: tuple[tuple[str, str], ...] = (
    ("1", "Compact high-rise"),
    ("2", "Compact mid-rise"),
    ("3", "Compact low-rise"),
    ("4", "Open high-rise"),
    ("5", "Open mid-rise"),
    ("6", "Open low-rise"),
    ("7", "Lightweight low-rise"),
    ("8", "Large low-rise"),
    ("9", "Sparsely built"),
    ("10", "Heavy industry"),
    ("A", "Dense trees"),
    ("B", "Scattered trees"),
    ("C", "Bush, scrub"),
    ("D", "Low plants"),
    ("E", "Bare rock or paved"),
    ("F", "Bare soil or sand"),
    ("G", "Water"),
)
"""(code, name) of the 17 zones."""

_KIND_PHRASE = {"built": "a built-up area", "natural": "natural land without buildings"}
HEIGHTS = ("high-rise", "mid-rise", "low-rise")
FORMS = ("compact", "open")


def _zone(sample: Sample) -> tuple[str, str]:
    if sample.labels.scheme != SCHEME or len(sample.labels.classes) != 1:
        raise NotApplicable("no_lcz_label")
    name = sample.labels.classes[0]
    code = next((c for c, n in ZONES if n == name), None)
    if code is None:
        raise NotApplicable("unknown_lcz")
    return code, name


def _asked(
    sample: Sample, config: GenerationConfig, key: str, truth: str, values: tuple[str, ...]
) -> str:
    """The value a yes/no question asks about: the true one or (50/50) another one."""
    if draw(config.seed, sample.sample_id, f"{key}_side", n=2) == 0:
        return truth
    others = [v for v in values if v != truth]
    return others[draw(config.seed, sample.sample_id, f"{key}_other", n=len(others))]


def lcz_classify(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which local climate zone is the patch (17 classes)?"""
    code, name = _zone(sample)
    return TaskValues(
        values={
            "options": "; ".join(n for _, n in ZONES),
            "zone": name,
            "code": code,
            "zone_lc": name[0].lower() + name[1:],
        },
        options=tuple(n for _, n in ZONES),
        answers=(name,),
    )


def lcz_built(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Is the patch a built-up area (LCZ 1–10) or natural land (A–G)? Side drawn 50/50."""
    code, name = _zone(sample)
    truth = "built" if code[0].isdigit() else "natural"
    asked = _asked(sample, config, "lcz_built", truth, ("built", "natural"))
    answer = yes_no(asked == truth)
    return TaskValues(
        values={
            "kind": _KIND_PHRASE[asked],
            "answer": answer,
            "zone_lc": name[0].lower() + name[1:],
            "actual": _KIND_PHRASE[truth],
            "code": code,
        },
        options=("Yes", "No"),
        answers=(answer,),
    )


def _property(sample: Sample, key: str, allowed: tuple[str, ...]) -> str:
    value = sample.labels.properties.get(key, "")
    if value not in allowed:
        raise NotApplicable(f"no_{key}")
    return value


def _asked_property(
    sample: Sample,
    config: GenerationConfig,
    name: str,
    key: str,
    allowed: tuple[str, ...],
    slot: str,
) -> TaskValues:
    """A yes/no question on one zone property (``key``), its side drawn 50/50.

    Args:
        sample: The So2Sat sample.
        config: Generation settings (the seed of the draw).
        name: The builder name (part of the draw's seed).
        key: The label property (``building_height``, ``urban_form``).
        allowed: Its values.
        slot: The template slot that names the asked value.

    Returns:
        The values, with ``answer`` Yes exactly when the asked value is the zone's.
    """
    code, zone = _zone(sample)
    truth = _property(sample, key, allowed)
    asked = _asked(sample, config, name, truth, allowed)
    answer = yes_no(asked == truth)
    return TaskValues(
        values={
            slot: asked,
            "answer": answer,
            "actual": truth,
            "zone_lc": zone[0].lower() + zone[1:],
            "code": code,
        },
        options=("Yes", "No"),
        answers=(answer,),
    )


def lcz_height(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Are the buildings high-, mid- or low-rise (LCZ 1–8)? Side drawn 50/50."""
    return _asked_property(sample, config, "lcz_height", "building_height", HEIGHTS, "height")


def lcz_compact(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Is the built fabric compact or open (LCZ 1–6)? Side drawn 50/50."""
    return _asked_property(sample, config, "lcz_compact", "urban_form", FORMS, "form")


BUILDERS: dict[str, Builder] = {
    "lcz_classify": lcz_classify,
    "lcz_built": lcz_built,
    "lcz_height": lcz_height,
    "lcz_compact": lcz_compact,
}
"""Builder name (as used in template files) → function."""
