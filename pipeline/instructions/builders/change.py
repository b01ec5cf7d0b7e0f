"""Building change from LEVIR-CD masks: is there change, how many areas, where, a description.

Answers come from the labels the LEVIR-CD adapter stores at ingest (``sources/levircd``): one
object ``changed building area`` per 8-connected component of the change mask (its pixel box
on the ``post`` image), ``labels.properties`` ``component_pixels`` (pixels per object, in
object order), ``changed_pixels``, ``image_pixels``, ``pixel_size_m`` and
``changed_pixels_by_third`` (changed pixels in each cell of a 3 x 3 grid, row-major).

The mask marks buildings that appeared *or* disappeared and does not say which, so the text
speaks of "changed building areas" (built or demolished), never of new buildings. Locations
are cells of the 3 x 3 grid ("the upper-left part"); an area lies in the cell holding the
centre of its box. Areas are pixels x GSD², in m².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    format_boxes,
    scale_box,
    yes_no,
)
from eoinstruct.pipeline.instructions.grammar import (
    count_phrase,
    is_are,
    join_list,
    number_word,
    sentence_case,
)
from eoinstruct.pipeline.records import ObjectLabel, Sample

CATEGORY = "changed building area"
"""The object category the LEVIR-CD adapter writes for a changed area."""

ROWS = ("upper", "middle", "lower")
COLUMNS = ("left", "middle", "right")


def cell_name(cell: int) -> str:
    """Name of a 3 x 3 cell (row-major): ``upper-left`` … ``central`` … ``lower-right``."""
    return "central" if cell == 4 else f"{ROWS[cell // 3]}-{COLUMNS[cell % 3]}"


@dataclass(frozen=True)
class Changes:
    """The changed areas of a sample, as its labels state them."""

    objects: tuple[ObjectLabel, ...]
    pixels: tuple[int, ...]
    changed_pixels: int
    image_pixels: int
    gsd: float
    by_third: tuple[int, ...]
    size: tuple[int, int]

    def area(self, pixels: int) -> float:
        """Ground area in m² of a pixel count."""
        return pixels * self.gsd * self.gsd

    def cell(self, obj: ObjectLabel) -> int:
        """The 3 x 3 cell holding the centre of an object's box."""
        width, height = self.size
        cx, cy = (obj.bbox[0] + obj.bbox[2]) / 2, (obj.bbox[1] + obj.bbox[3]) / 2
        column = min(max(math.floor(3 * cx / width), 0), 2)
        row = min(max(math.floor(3 * cy / height), 0), 2)
        return 3 * row + column


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(",") if v.strip())


def changes(sample: Sample) -> Changes:
    """Read a sample's changed areas and figures from its labels.

    Raises:
        NotApplicable: If the sample has no change figures or they disagree with its objects.
    """
    props = sample.labels.properties
    if "changed_pixels_by_third" not in props or "component_pixels" not in props:
        raise NotApplicable("no_change_mask_figures")
    objects = tuple(o for o in sample.labels.objects if o.category == CATEGORY)
    try:
        pixels = _ints(props["component_pixels"])
        by_third = _ints(props["changed_pixels_by_third"])
        changed, total = int(props["changed_pixels"]), int(props["image_pixels"])
        gsd = float(props["pixel_size_m"])
        post = sample.image("post")
    except (KeyError, ValueError) as exc:
        raise NotApplicable("no_change_mask_figures") from exc
    if len(pixels) != len(objects) or len(by_third) != 9 or sum(by_third) != changed:
        raise NotApplicable("change_figures_disagree_with_objects")
    if sum(pixels) != changed or total <= 0 or gsd <= 0:
        raise NotApplicable("change_figures_disagree_with_objects")
    return Changes(objects, pixels, changed, total, gsd, by_third, (post.width, post.height))


def area_text(area: float) -> str:
    """An area in m² for text: whole square metres with separators (``1,250``) from 10 m²."""
    return f"{area:,.0f}" if area >= 10 else f"{area:g}"


def percent_text(share: float) -> str:
    """A percentage with one decimal, or two below 0.1 %."""
    return f"{share:.1f}" if share >= 0.1 else f"{share:.2f}"


NOUN = "changed building area"

_REASON_YES = (
    "part of a changed building area, about {area} m², falls there",
    "the change mask marks about {area} m² there where a building was built or removed",
)
_REASON_NO = (
    "no building was built or removed there between the two dates",
    "the buildings there are the same in both images",
)


def change_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """LEVIR-CD: did any building change in the image, or in one cell of the 3 x 3 grid.

    The region asked is drawn so that both answers occur: a drawn target answer picks among
    the regions (the whole image, or a cell) whose changed pixels give that answer; an
    unchanged pair can only answer "No".
    """
    ch = changes(sample)
    regions = [ch.changed_pixels, *ch.by_third]  # 0: the whole image, k: cell k - 1
    want_yes = draw(config.seed, sample.sample_id, "change_presence|target", n=2) == 0
    matching = [i for i, px in enumerate(regions) if (px > 0) == want_yes] or list(range(10))
    region = matching[
        draw(config.seed, sample.sample_id, "change_presence|region", n=len(matching))
    ]
    pixels = regions[region]
    if region == 0:
        where, there = "anywhere in the image", "in the image"
    else:
        where = f"in the {cell_name(region - 1)} part of the image"
        there = where
    changed = pixels > 0
    reasons = _REASON_YES if changed else _REASON_NO
    pick = draw(config.seed, sample.sample_id, "change_presence|reason", n=len(reasons))
    reason = reasons[pick].format(area=area_text(ch.area(pixels)))
    answer = yes_no(changed)
    return TaskValues(
        values={
            "region": where,
            "answer": answer,
            "status": (
                f"some building area changed {there}" if changed else f"no building changed {there}"
            ),
            "reason": sentence_case(reason),
            "reason_lc": reason,
        },
        options=("Yes", "No"),
        answers=(answer,),
    )


def change_count(sample: Sample, config: GenerationConfig) -> TaskValues:
    """LEVIR-CD: how many separate building areas changed (connected components of the mask)."""
    ch = changes(sample)
    n = len(ch.objects)
    phrase = count_phrase(n, NOUN, words=True)
    share = 100 * ch.changed_pixels / ch.image_pixels
    return TaskValues(
        values={
            "n": str(n),
            "is_are_count": is_are(n),
            "count": phrase,
            "count_cap": sentence_case(phrase),
            "area": area_text(ch.area(ch.changed_pixels)),
            "percent": percent_text(share),
            "covering": (
                f", covering about {area_text(ch.area(ch.changed_pixels))} m² in all "
                f"({percent_text(share)} % of the image)"
                if n
                else ""
            ),
            "why": (
                "each is a separate area where a building was built or removed"
                if n
                else "no building was built or removed between the two dates"
            ),
        }
    )


def change_grounding(sample: Sample, config: GenerationConfig) -> TaskValues:
    """LEVIR-CD: the box of every changed building area, top to bottom then left to right."""
    ch = changes(sample)
    n = len(ch.objects)
    if n == 0:
        raise NotApplicable("no_change")
    if n > config.max_boxes:
        raise NotApplicable("too_many_boxes")
    width, height = ch.size
    boxes = tuple(scale_box(o.bbox, width, height, config.box_scale) for o in ch.objects)
    ref = count_phrase(n, NOUN)
    return TaskValues(
        values={
            "ref_q": f"{NOUN}s",
            "ref": ref,
            "is_are": is_are(n),
            "boxes": format_boxes(boxes),
        },
        boxes=boxes,
    )


def _where(ch: Changes) -> str:
    counts: dict[int, int] = {}
    for obj in ch.objects:
        counts[ch.cell(obj)] = counts.get(ch.cell(obj), 0) + 1
    parts = [
        f"{number_word(k)} in the {cell_name(cell)} part"
        for cell, k in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return join_list(parts)


def change_description(sample: Sample, config: GenerationConfig) -> TaskValues:
    """LEVIR-CD: number, total and largest size, and location of the changed building areas."""
    ch = changes(sample)
    n = len(ch.objects)
    share = 100 * ch.changed_pixels / ch.image_pixels
    if n == 0:
        summary = (
            "No building area changed between the two images: no building was built or "
            "removed, and the differences are of light, season or vegetation only."
        )
        detail = ""
    else:
        largest = max(range(n), key=lambda i: (ch.pixels[i], -i))
        areas = count_phrase(n, "building area", words=True)
        summary = (
            f"{sentence_case(areas)} changed between the two images (buildings built or "
            "demolished), covering about "
            f"{area_text(ch.area(ch.changed_pixels))} m², {percent_text(share)} % of the image."
        )
        if n == 1:
            detail = f" It is centred in the {cell_name(ch.cell(ch.objects[0]))} part of the image."
        else:
            detail = (
                f" The largest, about {area_text(ch.area(ch.pixels[largest]))} m², is centred "
                f"in the {cell_name(ch.cell(ch.objects[largest]))} part of the image. "
                f"By location: {_where(ch)}."
            )
    return TaskValues(
        values={
            "summary": summary,
            "summary_lc": summary[0].lower() + summary[1:],
            "detail": detail,
        }
    )


BUILDERS: dict[str, Builder] = {
    "change_presence": change_presence,
    "change_count": change_count,
    "change_grounding": change_grounding,
    "change_description": change_description,
}
"""Builder name (as used in template files) → function."""
