r"""EarthDial's closed tag vocabulary: task tags, sensor/resolution tags, and our additions.

EarthDial (hiyamdebary/EarthDial) starts the first human turn with a task tag and a
sensor/resolution tag, ``[refer] [hr_rgb_0.5] <image>\n…``. Both are special tokens that
EarthDial adds to its tokenizer: ``token_list`` in ``src/earthdial/train/finetune.py``, values
in ``src/earthdial/train/constants.py`` (listed in ``shared/docs/design-examples.md``,
"EarthDial's instruction conventions"). The number in a sensor tag names a *resolution
class*, not a tile's measured GSD, so a tag written with each tile's GSD (``[hr_rgb_1.6]``)
is a new, untrained token for an EarthDial model. Here a sample's sensor family, modality,
date count and GSD are mapped onto that closed set; the exact GSD stays in the row's
``metadata.gsd_m``.

Choices, stated once:

- ``[s1_vh_*]`` is EarthDial's only SAR token; the ``vh`` names EarthDial's Sentinel-1
  class, not the polarisation: VV, VH and VV+VH samples all get it (the bands are in the
  row's metadata). Its two classes are 10 m (Sentinel-1 GRD) and 1 m (high-resolution
  SAR, EarthDial's ship-detection sets); a GSD goes to the nearer class on a log scale, so a
  Satlas Sentinel-1 tile resampled to 6.4 m is ``[s1_vh_10]``.
- A sample whose sensor name starts with ``Sentinel-2`` or ``Landsat`` keeps that family
  whatever its resampled GSD (Satlas's 6.4 m web-Mercator tiles are ``[s2_ms_10]``).
- Landsat 9 (OLI-2/TIRS-2) gets the ``l8_`` tokens: EarthDial has no Landsat 9 token and
  names its Landsat class after Landsat 8, whose OLI bands and 30 m grid Landsat 9 repeats.
- A Landsat thermal band (``ST_B10``) is ``[l8_ms_30]``, as in EarthDial's urban-heat-island
  data (``[uhi] [l8_ms_30]``); thermal imagery from other sensors is ``[Inf_thermal_1]``,
  the tag of EarthDial's thermal evaluation files (not in ``token_list``). An ``infrared``
  sample whose bands are all long-wave infrared (:data:`THERMAL_IR_BANDS`, e.g. HIT-UAV's
  uncalibrated 8-bit thermal frames) gets it too; other infrared (RGB + NIR) is
  ``[hr_rgbi_0.5]``.
- Any hyperspectral sample is ``[hyper_rgb_3]`` (EarthDial's AVIRIS-NG STARCOP token).
- RGB from a sensor that is neither Sentinel-2 nor Landsat goes to the nearest RGB class:
  ``[hr_rgb_0.5]`` up to 5 m (or with no GSD), else ``[s2_rgb_10]`` or ``[l8_rgb_30]``.
- EarthDial's multi-date tokens exist only for high-resolution RGB and 10 m Sentinel-1;
  other multi-date samples get one of :data:`ADDED_SENSOR_TAGS`, listed with its reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eoinstruct.pipeline.records import Sample

SOURCE = (
    "hiyamdebary/EarthDial src/earthdial/train/finetune.py (token_list) and "
    "src/earthdial/train/constants.py; evaluation files src/earthdial/eval/*/results/*.jsonl"
)
"""Where the closed sets below come from."""

EARTHDIAL_TASK_TAGS: frozenset[str] = frozenset(
    {
        "[classify]",
        "[treeclassify]",
        "[refer]",
        "[identify]",
        "[grounding]",
        "[caption]",
        "[changedet]",
        "[uhi]",
    }
)
"""EarthDial's task tokens. VQA and plain questions carry no task tag (``''``)."""

EARTHDIAL_SENSOR_TAGS: frozenset[str] = frozenset(
    {
        "[s2_rgb_10]",
        "[s2_ms_10]",
        "[l8_rgb_30]",
        "[l8_ms_30]",
        "[hr_rgb_0.5]",
        "[hr_rgb_temp_0.5]",
        "[hr_rgbi_0.5]",
        "[s1_vh_10]",
        "[s1_vh_1]",
        "[s1_vh_temp_10]",
        "[hyper_rgb_3]",
    }
)
"""EarthDial's sensor/resolution tokens (``token_list``)."""

EARTHDIAL_EVAL_TAGS: frozenset[str] = frozenset({"[Inf_thermal_1]"})
"""Sensor tags EarthDial's evaluation files use that are not in ``token_list``."""

_TEMP_REASON = (
    "several acquisition dates of a sensor class for which EarthDial has no multi-date token "
    "(it has [hr_rgb_temp_0.5] and [s1_vh_temp_10] only)"
)

ADDED_SENSOR_TAGS: Mapping[str, str] = {
    "[hr_ms_0.5]": "high-resolution multispectral imagery: EarthDial's multispectral tokens "
    "are Sentinel-2 and Landsat only",
    "[hr_rgbi_temp_0.5]": _TEMP_REASON,
    "[s2_rgb_temp_10]": _TEMP_REASON,
    "[s2_ms_temp_10]": _TEMP_REASON,
    "[l8_rgb_temp_30]": _TEMP_REASON,
    "[l8_ms_temp_30]": _TEMP_REASON,
    "[s1_vh_temp_1]": _TEMP_REASON,
    "[hyper_rgb_temp_3]": _TEMP_REASON,
    "[Inf_thermal_temp_1]": _TEMP_REASON,
    "[hr_ms_temp_0.5]": _TEMP_REASON,
}
"""Sensor tags this project adds where EarthDial has no token, each with its reason."""

SENSOR_TAGS: frozenset[str] = EARTHDIAL_SENSOR_TAGS | EARTHDIAL_EVAL_TAGS | set(ADDED_SENSOR_TAGS)
"""Every sensor tag the generator may write."""

_FAMILIES = (("Sentinel-2", "s2"), ("Sentinel-1", "s1"), ("Landsat", "l8"))
"""Sensor-name prefixes and their EarthDial family (Landsat 8 and 9 alike)."""

HR_MAX_GSD_M = 5.0
"""Imagery at or finer than this (metres) from no named family is high resolution (``hr``)."""

_BASE_BY_MODALITY: Mapping[str, tuple[tuple[str, float], ...]] = {
    # Candidate (family_modality, class GSD) per modality, for sensors of no named family.
    "rgb": (("hr_rgb", 0.5), ("s2_rgb", 10.0), ("l8_rgb", 30.0)),
    "multispectral": (("hr_ms", 0.5), ("s2_ms", 10.0), ("l8_ms", 30.0)),
    "sar": (("s1_vh", 1.0), ("s1_vh", 10.0)),
    "infrared": (("hr_rgbi", 0.5),),
    "thermal": (("Inf_thermal", 1.0),),
    "hyperspectral": (("hyper_rgb", 3.0),),
}

THERMAL_IR_BANDS: frozenset[str] = frozenset({"LWIR"})
"""Band names of long-wave (thermal) infrared imagery that is not calibrated to kelvin (a grey
frame stored as three channels names them ``LWIR_1``…)."""

_FAMILY_BASE: Mapping[tuple[str, str], tuple[tuple[str, float], ...]] = {
    ("s2", "rgb"): (("s2_rgb", 10.0),),
    ("s2", "multispectral"): (("s2_ms", 10.0),),
    ("l8", "rgb"): (("l8_rgb", 30.0),),
    ("l8", "multispectral"): (("l8_ms", 30.0),),
    ("l8", "thermal"): (("l8_ms", 30.0),),
}

TAG_PATTERN = re.compile(r"\[[^\]\s]+\]")
"""A bracketed tag (task or sensor)."""


def _class_text(gsd_m: float) -> str:
    return f"{gsd_m:g}"


def nearest_class(gsd_m: float | None, classes: Iterable[float]) -> float:
    """Return the resolution class nearest to a GSD on a log scale.

    Args:
        gsd_m: The GSD in metres; None (unknown) gives the finest class.
        classes: The classes' GSDs in metres.

    Returns:
        The chosen class GSD.
    """
    ordered = sorted(set(classes))
    if gsd_m is None or gsd_m <= 0:
        return ordered[0]
    return min(ordered, key=lambda c: (abs(math.log(gsd_m / c)), c))


def sensor_family(sensor: str) -> str:
    """Return EarthDial's family of a sensor name (``s2``, ``s1``, ``l8``) or ``''``."""
    return next((short for prefix, short in _FAMILIES if sensor.startswith(prefix)), "")


def bucket_sensor_tag(
    modality: str,
    sensor: str,
    gsd_m: float | None,
    dates: int,
    bands: Iterable[str] = (),
) -> str:
    """Map a sample's modality, sensor, GSD and date count onto the closed sensor tags.

    Args:
        modality: The sample's modality (``rgb``, ``multispectral``, ``sar``…).
        sensor: The sensor name (``Sentinel-2 MSI``, ``Landsat 9 OLI-2/TIRS-2``…).
        gsd_m: The sample's GSD in metres, or None.
        dates: How many acquisition dates the pair shows.
        bands: The sample's band names: an ``infrared`` sample whose bands are all in
            :data:`THERMAL_IR_BANDS` is thermal infrared (``[Inf_thermal_1]``).

    Returns:
        A tag in :data:`SENSOR_TAGS`, e.g. ``[s2_ms_10]`` or ``[hr_rgb_temp_0.5]``.

    Raises:
        ValueError: If the modality is unknown.
    """
    names = {b.split("_")[0] for b in bands}
    if modality == "infrared" and names and names <= THERMAL_IR_BANDS:
        modality = "thermal"  # long-wave infrared frames: EarthDial's thermal-infrared class
    family = sensor_family(sensor)
    candidates = _FAMILY_BASE.get((family, modality)) or _BASE_BY_MODALITY.get(modality)
    if candidates is None:
        raise ValueError(f"no sensor tag for modality {modality!r}")
    if modality in ("rgb", "multispectral") and not family:
        finest = candidates[0][1]
        if gsd_m is None or gsd_m <= HR_MAX_GSD_M:
            candidates = ((candidates[0][0], finest),)
        else:
            candidates = candidates[1:]
    chosen = nearest_class(gsd_m, [c for _, c in candidates])
    base = next(b for b, c in candidates if c == chosen)
    middle = "_temp" if dates > 1 else ""
    tag = f"[{base}{middle}_{_class_text(chosen)}]"
    if tag not in SENSOR_TAGS:
        raise ValueError(f"sensor tag {tag} is outside the closed set")
    return tag


def is_known_tag(tag: str) -> bool:
    """Return whether a tag is an EarthDial token, an EarthDial evaluation tag or an addition."""
    return tag in EARTHDIAL_TASK_TAGS or tag in SENSOR_TAGS


def check_task_tag(tag: str, where: str) -> str:
    """Return a template's task tag after checking it is EarthDial's (or empty).

    Args:
        tag: The task tag, e.g. ``[classify]``, or ``''`` for none.
        where: What the tag belongs to, for the error message.

    Returns:
        The tag unchanged.

    Raises:
        ValueError: If the tag is not one of :data:`EARTHDIAL_TASK_TAGS`.
    """
    if tag and tag not in EARTHDIAL_TASK_TAGS:
        raise ValueError(
            f"{where}: task tag {tag!r} is not one of EarthDial's {sorted(EARTHDIAL_TASK_TAGS)}"
        )
    return tag


def leading_tags(first_turn: str) -> list[str]:
    """Return the tags before the first ``<image>`` of a first human turn."""
    return TAG_PATTERN.findall(first_turn.split("<image>", 1)[0])


def tag_kind(tag: str) -> str:
    """Return how a tag is known: ``earthdial``, ``earthdial-eval`` or ``added``.

    Raises:
        KeyError: If the tag is in none of the sets.
    """
    if tag in EARTHDIAL_TASK_TAGS or tag in EARTHDIAL_SENSOR_TAGS:
        return "earthdial"
    if tag in EARTHDIAL_EVAL_TAGS:
        return "earthdial-eval"
    if tag in ADDED_SENSOR_TAGS:
        return "added"
    raise KeyError(tag)


def card_section(counts: Mapping[str, int]) -> list[str]:
    """Return the dataset card's section on the tags the corpus uses.

    Args:
        counts: Pairs per tag (task and sensor tags of the first human turns).

    Returns:
        Markdown lines.
    """
    lines = [
        "## Task and sensor tags",
        "",
        "The first human turn starts with EarthDial's task tag (none for VQA and plain "
        "questions), its sensor/resolution tag, then one `<image>` per image. Tags come from "
        f"a closed set ({SOURCE}); the number in a sensor tag is EarthDial's resolution class, "
        "the measured GSD is in each row's `metadata.gsd_m`. Landsat 9 uses the `l8_` tokens "
        "(EarthDial has none for Landsat 9; its bands and grid repeat Landsat 8's); `[s1_vh_*]` "
        "names EarthDial's Sentinel-1 class whatever the polarisations (VV and VH).",
        "",
        "| tag | pairs | in EarthDial |",
        "|---|---|---|",
    ]
    names = {"earthdial": "yes (token)", "earthdial-eval": "evaluation files only"}
    for tag in sorted(counts):
        kind = tag_kind(tag)
        lines.append(f"| `{tag}` | {counts[tag]} | {names.get(kind, 'no: added token')} |")
    lines += ["", "Added tokens (not in EarthDial's vocabulary) and why:", ""]
    lines += [f"- `{tag}`: {reason}." for tag, reason in ADDED_SENSOR_TAGS.items()]
    return [*lines, ""]


THERMAL_ENCODINGS = frozenset({"kelvin"})


def pair_modality(sample: Sample, image_roles: tuple[str, ...]) -> str:
    """Return the modality of what a pair shows.

    A pair that shows only a sample's thermal image (e.g. the Landsat ST_B10 chip of a
    multispectral scene) is a thermal pair; otherwise it has the sample's modality.

    Args:
        sample: The pair's sample.
        image_roles: The images the pair shows.

    Returns:
        One of :data:`~eoinstruct.pipeline.records.MODALITIES`.
    """
    encodings = {sample.image(role).encoding for role in image_roles}
    if encodings and encodings <= THERMAL_ENCODINGS:
        return "thermal"
    return sample.modality
