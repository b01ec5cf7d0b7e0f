"""Audit rules for object pairs on SAR and infrared imagery (HRSID ships, HIT-UAV frames).

Referring, identification, grounding and counting use the detection family's rules (boxes
recomputed from the annotation's pixel boxes on the 0..100 grid); presence is re-derived
here: Yes when the named category has an object on the image, No only when the labels state
it absent.
"""

from __future__ import annotations

import re

from eoinstruct.pipeline.audit.item import AuditItem
from eoinstruct.pipeline.audit.rules.base import Rule
from eoinstruct.pipeline.audit.rules.detection import (
    _named,
    count_rule,
    grounding_rule,
    identify_rule,
    refer_rule,
)


def _absent(item: AuditItem, role: str) -> set[str]:
    props = item.labels.properties
    keys = [f"absent_categories:{role}"]
    if props.get("static_image_role") == role:
        keys.append("absent_categories")
    return {c.strip() for k in keys for c in props.get(k, "").split(",") if c.strip()}


def presence_rule(item: AuditItem) -> list[str]:
    """The yes/no answer agrees with the objects (yes) or the stated absences (no)."""
    if len(item.image_roles) != 1:
        return ["image_roles:not_one_image"]
    role = item.image_roles[0]
    present = {o.category for o in item.labels.objects if o.image_role == role}
    absent = _absent(item, role)
    question = item.questions[0] if item.questions else ""
    named = _named(question, present | absent)
    if len(named) != 1:
        return [f"presence_category_unknown:{question}"]
    category = named[0]
    if category not in present and category not in absent:
        return [f"presence_unannotated:{category}"]
    words = re.findall(r"[a-z]+", " ".join(item.answers).lower())
    said = words[0] if words else ""
    if said not in ("yes", "no"):
        return ["presence_answer_missing"]
    truth = "yes" if category in present else "no"
    return [] if said == truth else [f"presence_mismatch:{category}:{said}!={truth}"]


RULES: dict[str, Rule] = {
    "objects_refer": refer_rule,
    "objects_identify": identify_rule,
    "objects_grounding": grounding_rule,
    "objects_count": count_rule,
    "objects_presence": presence_rule,
}
"""Template id → rule."""
