"""Land-cover tasks: presence and urban/rural questions, and land-cover captions.

Answers come from the scene classes (BigEarthNet CLC-43 or BEN-19 labels) and, for
SatlasPretrain, from the class shares of its ``land_cover.png`` raster label.
"""

from __future__ import annotations

import numpy as np

from eoinstruct.pipeline.instructions.builders.common import (
    Builder,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
    join_phrases,
    yes_no,
)
from eoinstruct.pipeline.records import Sample
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES, to_ben19

URBAN_CLASSES: frozenset[str] = frozenset(
    {
        "Urban fabric",
        "Industrial or commercial units",
        "Continuous urban fabric",
        "Discontinuous urban fabric",
        "Road and rail networks and associated land",
        "Port areas",
        "Airports",
    }
)
"""CLC classes that make a BigEarthNet patch urban (artificial surfaces with buildings)."""

SATLAS_LAND_COVER: tuple[str, ...] = (
    "background",
    "water",
    "developed",
    "tree",
    "shrub",
    "grass",
    "crop",
    "bare",
    "snow",
    "wetland",
    "mangroves",
    "moss",
)
"""SatlasPretrain ``land_cover`` categories (allenai/satlas ``satlas/tasks.py`` via torchgeo
``satlas.py``); pixel value k is category k, 0 meaning no label (UNVERIFIED whether 0 is also
"background")."""

MIN_SHARE = 0.05
"""A land-cover class counts as present in a Satlas tile from this share of labelled pixels."""


def _class_set(sample: Sample, config: GenerationConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (options, present classes) in the configured BigEarthNet class set."""
    if sample.labels.scheme == "ben19":
        return BEN19_NAMES, tuple(sorted(set(sample.labels.classes)))
    if sample.labels.scheme == "clc43":
        if config.class_set == "clc43":
            return CLC43_NAMES, tuple(sorted(set(sample.labels.classes)))
        return BEN19_NAMES, to_ben19(sample.labels.classes)
    raise NotApplicable("no_clc_labels")


def landcover_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Is a given land-cover class present? Half the draws ask about a present class."""
    options, present = _class_set(sample, config)
    if not present:
        raise NotApplicable("no_class_in_set")
    absent = [c for c in options if c not in present]
    ask_present = draw(config.seed, sample.sample_id, "presence_side", n=2) == 0 or not absent
    pool = present if ask_present else tuple(absent)
    name = pool[draw(config.seed, sample.sample_id, "presence_class", n=len(pool))]
    answer = yes_no(name in present)
    return TaskValues(
        values={"class": name, "answer": answer}, options=("Yes", "No"), answers=(answer,)
    )


def urban_rural(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Urban or rural, from the presence of artificial-surface classes."""
    if sample.labels.scheme not in ("clc43", "ben19"):
        raise NotApplicable("no_clc_labels")
    urban = bool(URBAN_CLASSES & set(sample.labels.classes))
    answer = "urban" if urban else "rural"
    return TaskValues(values={"answer": answer}, options=("urban", "rural"), answers=(answer,))


def landcover_caption(sample: Sample, config: GenerationConfig) -> TaskValues:
    """A one-sentence description of the classes present."""
    _, present = _class_set(sample, config)
    if not present:
        raise NotApplicable("no_class_in_set")
    names = [c[0].lower() + c[1:] for c in present]
    return TaskValues(values={"classes": join_phrases(names), "sensor": sample.sensor})


def satlas_shares(sample: Sample) -> dict[str, float]:
    """Read a Satlas tile's ``land_cover.png`` and return each category's share of labelled pixels.

    Raises:
        NotApplicable: If the sample has no land-cover raster or it holds no label.
    """
    from PIL import Image

    path = sample.labels.rasters.get("land_cover")
    if not path:
        raise NotApplicable("no_land_cover_raster")
    try:
        with Image.open(path) as im:
            values = np.asarray(im.convert("L"))
    except OSError as exc:
        raise NotApplicable("unreadable_land_cover_raster") from exc
    counts = np.bincount(values.ravel(), minlength=len(SATLAS_LAND_COVER))
    labelled = counts[1 : len(SATLAS_LAND_COVER)].sum()
    if labelled == 0:
        raise NotApplicable("empty_land_cover_raster")
    return {
        SATLAS_LAND_COVER[k]: float(counts[k] / labelled)
        for k in range(1, len(SATLAS_LAND_COVER))
        if counts[k]
    }


def _static_image(sample: Sample) -> tuple[str, ...]:
    """The image static labels describe (the most recent), as the Satlas adapter records it."""
    role = sample.labels.properties.get("static_image_role", "")
    return (role,) if role else ()


def satlas_landcover(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Multi-label land cover of a Satlas tile: classes with at least 5 % of the pixels."""
    shares = satlas_shares(sample)
    present = tuple(sorted(c for c, v in shares.items() if v >= MIN_SHARE))
    if not present:
        raise NotApplicable("no_class_above_share")
    options = SATLAS_LAND_COVER[1:]
    return TaskValues(
        values={"options": ", ".join(options), "classes": ", ".join(present)},
        options=options,
        answers=present,
        image_roles=_static_image(sample),
    )


def satlas_dominant_share(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Which land-cover class covers most of a Satlas tile, and what share."""
    shares = satlas_shares(sample)
    name, share = max(sorted(shares.items()), key=lambda kv: kv[1])
    return TaskValues(
        values={
            "options": ", ".join(SATLAS_LAND_COVER[1:]),
            "class": name,
            "percent": f"{round(100 * share)}",
        },
        options=SATLAS_LAND_COVER[1:],
        answers=(name,),
        image_roles=_static_image(sample),
    )


def landcover_multilabel(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Multi-label land-cover classification from BigEarthNet CLC labels (v1: 43, v2: 19)."""
    if sample.labels.scheme == "ben19":
        if config.class_set != "ben19":
            raise NotApplicable("no_clc43_labels")
        options, classes = BEN19_NAMES, tuple(sorted(set(sample.labels.classes)))
    elif sample.labels.scheme != "clc43":
        raise NotApplicable("no_clc_labels")
    elif config.class_set == "ben19":
        options, classes = BEN19_NAMES, to_ben19(sample.labels.classes)
    elif config.class_set == "clc43":
        options, classes = CLC43_NAMES, tuple(sorted(set(sample.labels.classes)))
    else:
        raise ValueError(f"unknown class_set {config.class_set!r}; use ben19 or clc43")
    if not classes:
        raise NotApplicable("no_class_in_set")
    return TaskValues(
        values={"options": "; ".join(options), "classes": "; ".join(classes)},
        options=tuple(options),
        answers=tuple(classes),
    )


BUILDERS: dict[str, Builder] = {
    "landcover_multilabel": landcover_multilabel,
    "landcover_presence": landcover_presence,
    "urban_rural": urban_rural,
    "landcover_caption": landcover_caption,
    "satlas_landcover": satlas_landcover,
    "satlas_dominant_share": satlas_dominant_share,
}
"""Builder name (as used in template files) → function."""
