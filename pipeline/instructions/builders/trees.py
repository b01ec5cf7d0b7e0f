"""Tree genus tasks on TreeSatAI aerial patches: genera, dominant genus, presence, share.

A TreeSatAI sample lists its genera (``labels.classes``, the archive's 15 genus classes, of
which ``Cleared`` is cleared ground) and their area fractions (``labels.properties
["genus_shares"]``, JSON genus → fraction, from the forest inventory). Every answer comes from
these: the genera present, the largest fraction, a genus's fraction rounded to 5 %.
Near ties (a runner-up within :data:`DOMINANT_MARGIN`) give no dominant-genus pair.
"""

from __future__ import annotations

import json

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    yes_no,
)
from eoinstruct.pipeline.instructions.grammar import count_phrase, join_list
from eoinstruct.pipeline.records import Sample

SCHEME = "treesatai_genus15"

GENERA: dict[str, str] = {
    "Abies": "fir",
    "Acer": "maple",
    "Alnus": "alder",
    "Betula": "birch",
    "Cleared": "cleared ground",
    "Fagus": "beech",
    "Fraxinus": "ash",
    "Larix": "larch",
    "Picea": "spruce",
    "Pinus": "pine",
    "Populus": "poplar",
    "Prunus": "cherry",
    "Pseudotsuga": "Douglas fir",
    "Quercus": "oak",
    "Tilia": "linden",
}
"""The 15 genus classes with their English names."""

DOMINANT_MARGIN = 0.05
"""The dominant genus must lead the runner-up by at least this fraction."""

SHARE_STEP = 5
"""Shares are stated rounded to this many percent."""


def _shares(sample: Sample) -> dict[str, float]:
    if sample.labels.scheme != SCHEME:
        raise NotApplicable("no_genus_labels")
    try:
        shares = json.loads(sample.labels.properties.get("genus_shares", ""))
    except ValueError as exc:
        raise NotApplicable("no_genus_shares") from exc
    if not isinstance(shares, dict) or not shares or set(shares) - set(GENERA):
        raise NotApplicable("no_genus_shares")
    return {str(g): float(f) for g, f in shares.items()}


def _named(genus: str) -> str:
    return GENERA[genus] if genus == "Cleared" else f"{genus} ({GENERA[genus]})"


def percent(share: float) -> str:
    """Return a fraction as a percentage rounded to :data:`SHARE_STEP` (``about 55 %``)."""
    return f"{round(share * 100 / SHARE_STEP) * SHARE_STEP} %"


def tree_genera(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which genera grow in the patch (multi-label, from the 15 classes)?"""
    shares = _shares(sample)
    present = sorted(shares)
    ordered = sorted(shares, key=lambda g: -shares[g])
    return TaskValues(
        values={
            "options": "; ".join(GENERA),
            "genera": "; ".join(present),
            "genus_list": join_list([_named(g) for g in present]),
            "genus_count": count_phrase(len(present), "genus class", words=True),
            "by_share": join_list([f"{_named(g)} about {percent(shares[g])}" for g in ordered]),
        },
        options=tuple(GENERA),
        answers=tuple(present),
    )


def tree_dominant(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which genus covers the largest part of the patch?"""
    shares = _shares(sample)
    ordered = sorted(shares, key=lambda g: (-shares[g], g))
    top = ordered[0]
    if top == "Cleared":
        raise NotApplicable("dominant_is_cleared")
    if len(ordered) > 1 and shares[top] - shares[ordered[1]] < DOMINANT_MARGIN:
        raise NotApplicable("dominant_tie")
    others = [g for g in ordered[1:]]
    return TaskValues(
        values={
            "options": "; ".join(g for g in GENERA if g != "Cleared"),
            "genus": top,
            "common": GENERA[top],
            "share": percent(shares[top]),
            "rest": (
                f", ahead of {join_list([GENERA[g] for g in others])}" if others else ", alone"
            ),
        },
        options=tuple(g for g in GENERA if g != "Cleared"),
        answers=(top,),
    )


def tree_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Does a given genus grow in the patch? The side (yes/no) is drawn first, 50/50."""
    shares = _shares(sample)
    trees = [g for g in GENERA if g != "Cleared"]
    present = [g for g in trees if g in shares]
    absent = [g for g in trees if g not in shares]
    if not present:
        raise NotApplicable("no_tree_genus")
    ask_present = draw(config.seed, sample.sample_id, "tree_presence_side", n=2) == 0
    pool = present if ask_present else absent
    genus = pool[draw(config.seed, sample.sample_id, "tree_presence_genus", n=len(pool))]
    yes = genus in shares
    answer = yes_no(yes)
    return TaskValues(
        values={
            "genus": genus,
            "common": GENERA[genus],
            "answer": answer,
            "grows": "grows" if yes else "does not grow",
            "present": join_list([_named(g) for g in sorted(shares)]),
            "no": "" if yes else "no ",
        },
        options=("Yes", "No"),
        answers=(answer,),
    )


def tree_share(sample: Sample, config: GenerationConfig) -> TaskValues:
    """What share of the patch does one of its genera cover (to the nearest 5 %)?"""
    shares = _shares(sample)
    present = sorted(g for g in shares if g != "Cleared")
    if not present:
        raise NotApplicable("no_tree_genus")
    genus = present[draw(config.seed, sample.sample_id, "tree_share_genus", n=len(present))]
    return TaskValues(
        values={"genus": genus, "common": GENERA[genus], "share": percent(shares[genus])},
    )


BUILDERS: dict[str, Builder] = {
    "tree_genera": tree_genera,
    "tree_dominant": tree_dominant,
    "tree_presence": tree_presence,
    "tree_share": tree_share,
}
"""Builder name (as used in template files) → function."""
