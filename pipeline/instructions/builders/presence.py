"""Object presence (yes/no) from annotated objects: SAR ships (HRSID), HIT-UAV infrared frames.

"Are there any ships in this image?" is answered Yes from the objects of the image and No only
from a category the labels state is absent (``absent_categories[:<role>]``, written by adapters
whose annotation is exhaustive), never from an object merely missing from the labels. The
answer is drawn first, uniformly among those the sample can give, then the category, so
the template's Yes and No stay balanced.
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
from eoinstruct.pipeline.instructions.builders.detection import category_name
from eoinstruct.pipeline.instructions.grammar import plural, sentence_case
from eoinstruct.pipeline.records import Sample


def _absent(sample: Sample, role: str) -> set[str]:
    props = sample.labels.properties
    keys = [f"absent_categories:{role}"]
    if props.get("static_image_role") == role:
        keys.append("absent_categories")
    return {c.strip() for k in keys for c in props.get(k, "").split(",") if c.strip()}


def object_presence(sample: Sample, config: GenerationConfig) -> TaskValues:
    """Presence: are there any objects of one category in the (single) image? Yes or No.

    Raises:
        NotApplicable: ``not_one_image`` for a sample of several images; ``no_categories``
            when no category is either present or stated absent.
    """
    if len(sample.images) != 1:
        raise NotApplicable("not_one_image")
    role = sample.images[0].role
    present = sorted({o.category for o in sample.labels.objects if o.image_role == role})
    absent = sorted(_absent(sample, role) - set(present))
    pools = [(True, present), (False, absent)]
    pools = [(answer, cats) for answer, cats in pools if cats]
    if not pools:
        raise NotApplicable("no_categories")
    answer, cats = pools[draw(config.seed, sample.sample_id, "presence_answer", n=len(pools))]
    category = cats[draw(config.seed, sample.sample_id, "presence_category", n=len(cats))]
    objects = plural(category_name(category))
    statement = f"there are {objects}" if answer else f"there are no {objects}"
    return TaskValues(
        values={
            "objects": objects,
            "answer": yes_no(answer),
            "statement": statement,
            "statement_cap": sentence_case(statement),
        },
        options=("Yes", "No"),
        answers=(yes_no(answer),),
        image_roles=(role,),
    )


BUILDERS: dict[str, Builder] = {"object_presence": object_presence}
"""Builder name (as used in template files) → function."""
