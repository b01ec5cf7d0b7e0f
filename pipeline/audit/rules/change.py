"""Audit rules for the LEVIR-CD change templates: re-derive each answer from the mask labels.

Each rule takes an :class:`~eoinstruct.pipeline.audit.item.AuditItem` and returns its problems
(short codes, ``code:detail``; empty: the pair agrees with its labels). Rules never import a
template builder: they read the text with their own parsing.

What they read: the objects ``changed building area`` (one per connected component of the
change mask, boxes on the ``post`` image) and ``labels.properties`` ``component_pixels`` (one
count per object, in object order), ``changed_pixels``, ``image_pixels``, ``pixel_size_m``,
``changed_pixels_by_third`` (nine cells, row-major). What they check:

- yes/no: the region the question names ("anywhere in the image", "in the upper-left part",
  "in the central part") against the changed pixels there;
- counts: the first number of the answer (digits, words, ``no``) against the objects;
- boxes: ``[[x1, y1, x2, y2, angle]]`` on a 0..100 grid against the object boxes rounded
  outwards by this module;
- areas (m²) and shares (%) against pixels x GSD², rounded to the decimals written;
- locations: "centred in the X part" and "k in the X part", the cell of each box centre;
- nothing may say a building is new or was demolished: the mask does not tell which.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.instructions.validate import parse_boxes

GRID = 100
CATEGORY = "changed building area"
_CELL = r"(upper|middle|lower)-(left|middle|right)|central"
_CELL_RE = re.compile(rf"\b(?:{_CELL}) part\b")
_WORDS = (
    "no one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_NUMBER = r"\d+|" + "|".join(_WORDS) + r"|none"
_AREAS_COUNT = re.compile(rf"\b({_NUMBER}) (?:changed )?building areas?\b", re.IGNORECASE)
_BARE = re.compile(r"^\W*(\d+)\W*$")
_DECIMAL = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
_AREA = re.compile(_DECIMAL + r"\s*m²")
_PERCENT = re.compile(_DECIMAL + r"\s*%")
_LARGEST = re.compile(rf"largest, about {_DECIMAL} m², is centred in the ({_CELL}) part")
_ONLY = re.compile(rf"\bIt is centred in the ({_CELL}) part")
_BY_CELL = re.compile(rf"\b({_NUMBER}) in the ({_CELL}) part", re.IGNORECASE)
_DIRECTION = re.compile(r"\bnew buildings?\b|\bnewly built\b|\bwas demolished\b", re.IGNORECASE)
_ROWS = {"upper": 0, "middle": 1, "lower": 2}
_COLS = {"left": 0, "middle": 1, "right": 2}


def _count(word: str) -> int:
    word = word.lower()
    if word in ("no", "none"):
        return 0
    return int(word) if word.isdigit() else _WORDS.index(word)


def _cell_of(text: str) -> int:
    """Cell index (row-major) of a ``X-Y``/``central`` cell name."""
    if text == "central":
        return 4
    row, col = text.split("-")
    return 3 * _ROWS[row] + _COLS[col]


@dataclass(frozen=True)
class Truth:
    """The changed areas as the labels give them."""

    boxes: tuple[tuple[float, float, float, float], ...]
    pixels: tuple[int, ...]
    changed: int
    total: int
    gsd: float
    by_cell: tuple[int, ...]
    size: tuple[int, int]

    def cell(self, box: tuple[float, float, float, float]) -> int:
        """The cell holding a box's centre."""
        width, height = self.size
        col = min(max(math.floor(3 * (box[0] + box[2]) / 2 / width), 0), 2)
        row = min(max(math.floor(3 * (box[1] + box[3]) / 2 / height), 0), 2)
        return 3 * row + col


def _truth(item: AuditItem) -> Truth | None:
    props = item.labels.properties
    objects = [o for o in item.labels.objects if o.category == CATEGORY]
    try:
        pixels = tuple(int(v) for v in props["component_pixels"].split(",") if v.strip())
        by_cell = tuple(int(v) for v in props["changed_pixels_by_third"].split(","))
        truth = Truth(
            boxes=tuple(o.bbox for o in objects),
            pixels=pixels,
            changed=int(props["changed_pixels"]),
            total=int(props["image_pixels"]),
            gsd=float(props["pixel_size_m"]),
            by_cell=by_cell,
            size=item.image_sizes["post"],
        )
    except (KeyError, ValueError):
        return None
    if len(pixels) != len(objects) or sum(pixels) != truth.changed or len(by_cell) != 9:
        return None
    return truth


def _stated_count(answer: str) -> int | None:
    """The count of changed areas an answer states ("three changed building areas", "3")."""
    found = _AREAS_COUNT.search(answer) or _BARE.match(answer)
    return _count(found.group(1)) if found else None


def _number(match: re.Match[str], start: int = 1) -> tuple[float, int]:
    whole, decimals = match.group(start), match.group(start + 1) or ""
    return float(whole.replace(",", "") + (f".{decimals}" if decimals else "")), len(decimals)


def _close(value: float, decimals: int, truth: float) -> bool:
    return abs(value - truth) <= 0.5 * 10.0**-decimals + 1e-9


def _grid(box: tuple[float, float, float, float], size: tuple[int, int]) -> tuple[int, ...]:
    width, height = size
    x1 = min(max(math.floor(box[0] * GRID / width), 0), GRID - 1)
    y1 = min(max(math.floor(box[1] * GRID / height), 0), GRID - 1)
    x2 = max(min(math.ceil(box[2] * GRID / width), GRID), x1 + 1)
    y2 = max(min(math.ceil(box[3] * GRID / height), GRID), y1 + 1)
    return (x1, y1, x2, y2, 0)


def _common(item: AuditItem) -> tuple[Truth | None, list[str]]:
    problems = []
    if tuple(item.image_roles) != ("pre", "post"):
        problems.append(f"images_not_pre_post:{'+'.join(item.image_roles)}")
    if any(_DIRECTION.search(a) for a in item.answers):
        problems.append("direction_not_in_mask")
    truth = _truth(item)
    if truth is None:
        problems.append("no_change_figures")
    return truth, problems


def _answer(item: AuditItem) -> str:
    return item.answers[-1] if item.answers else ""


def _area_problems(text: str, truth: Truth) -> list[str]:
    """Every m² figure must be the total or one component's area; every % the share."""
    allowed = [truth.changed * truth.gsd**2] + [p * truth.gsd**2 for p in truth.pixels]
    problems = []
    for match in _AREA.finditer(text):
        value, decimals = _number(match)
        if not any(_close(value, decimals, a) for a in allowed):
            problems.append(f"area_mismatch:{value:g}")
    share = 100.0 * truth.changed / truth.total
    for match in _PERCENT.finditer(text):
        value, decimals = _number(match)
        if not _close(value, decimals, share):
            problems.append(f"share_mismatch:{value:g}!={share:.2f}")
    return problems


def check_presence(item: AuditItem) -> list[str]:
    """``levircd_change_presence``: yes/no against the changed pixels of the region asked."""
    truth, problems = _common(item)
    if truth is None:
        return problems
    question = item.questions[0] if item.questions else ""
    named = _CELL_RE.search(question)
    if named:
        cell = _cell_of(named.group(0).removesuffix(" part"))
        pixels = truth.by_cell[cell]
    elif "anywhere in the image" in question:
        pixels = truth.changed
    else:
        return [*problems, "region_not_in_question"]
    said = re.match(r"\W*(yes|no)\b", _answer(item), re.IGNORECASE)
    if said is None:
        return [*problems, "no_yes_no"]
    if (said.group(1).lower() == "yes") != (pixels > 0):
        problems.append(f"wrong_yes_no:changed pixels {pixels}")
    for match in _AREA.finditer(_answer(item)):
        value, decimals = _number(match)
        if not _close(value, decimals, pixels * truth.gsd**2):
            problems.append(f"area_mismatch:{value:g}!={pixels * truth.gsd**2:g}")
    return problems


def check_count(item: AuditItem) -> list[str]:
    """``levircd_change_count``: the first number said is the number of changed areas."""
    truth, problems = _common(item)
    if truth is None:
        return problems
    answer = _answer(item)
    said = _stated_count(answer)
    if said is None:
        return [*problems, "no_count"]
    if said != len(truth.pixels):
        problems.append(f"count_mismatch:{said}!={len(truth.pixels)}")
    return problems + _area_problems(answer, truth)


def check_grounding(item: AuditItem) -> list[str]:
    """``levircd_change_grounding``: one box per changed area, and the count said."""
    truth, problems = _common(item)
    if truth is None:
        return problems
    answer = _answer(item)
    boxes = sorted(parse_boxes(answer))
    expected = sorted(_grid(b, truth.size) for b in truth.boxes)
    if not boxes:
        problems.append("no_boxes")
    elif boxes != expected:
        problems.append(f"boxes_mismatch:{len(boxes)}!={len(expected)}")
    said = _stated_count(answer)
    if said is None:
        problems.append("no_count")
    elif said != len(expected):
        problems.append(f"count_mismatch:{said}!={len(expected)}")
    return problems


def check_description(item: AuditItem) -> list[str]:
    """``levircd_change_description``: count, areas, share, the largest and the cells."""
    truth, problems = _common(item)
    if truth is None:
        return problems
    answer = _answer(item)
    n = len(truth.pixels)
    said = _stated_count(answer)
    if said is None:
        problems.append("no_count")
    elif said != n:
        problems.append(f"count_mismatch:{said}!={n}")
    problems += _area_problems(answer, truth)
    cells = [truth.cell(b) for b in truth.boxes]
    largest = _LARGEST.search(answer)
    if largest:
        value, decimals = _number(largest)
        biggest = max(truth.pixels, default=0)
        if not _close(value, decimals, biggest * truth.gsd**2):
            problems.append(f"largest_mismatch:{value:g}")
        at = [cells[i] for i, p in enumerate(truth.pixels) if p == biggest]
        if _cell_of(largest.group(3)) not in at:
            problems.append(f"largest_cell_mismatch:{largest.group(3)}")
    only = _ONLY.search(answer)
    if only and (n != 1 or _cell_of(only.group(1)) != cells[0]):
        problems.append(f"cell_mismatch:{only.group(1)}")
    if n > 1:
        stated: dict[int, int] = {}
        for match in _BY_CELL.finditer(answer.split("By location:", 1)[-1]):
            cell = _cell_of(match.group(2))
            stated[cell] = stated.get(cell, 0) + _count(match.group(1))
        actual = {cell: cells.count(cell) for cell in set(cells)}
        if stated and stated != actual:
            problems.append(f"cell_counts_mismatch:{sorted(stated.items())}")
    if n > 1 and "By location:" not in answer:
        problems.append("no_locations")
    return problems


RULES: dict[str, Rule] = {
    "levircd_change_presence": check_presence,
    "levircd_change_count": check_count,
    "levircd_change_grounding": check_grounding,
    "levircd_change_description": check_description,
}
"""Template id → rule."""
