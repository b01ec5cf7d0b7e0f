"""Turn a sample into instruction pairs with the templates, in EarthDial's conventions.

The first human turn is ``<task tag> <sensor tag> <image> … <image>``, a newline and the
question: one ``<image>`` per image shown, in the order of
:attr:`InstructionPair.image_roles`. The paraphrase is a seeded, deterministic draw per
(sample, template); the pair id hashes the sample, template, paraphrase and generator
version, so the same inputs always give the same ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from eoinstruct.pipeline.instructions.builders import (
    BUILDERS,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
)
from eoinstruct.pipeline.records import InstructionPair, Sample, Turn
from eoinstruct.pipeline.settings import GenerateSettings
from eoinstruct.templates import Template

GENERATOR = "template/1"
"""Name and version of the template generator, recorded in every pair."""

_SENSOR_SHORT = {
    "Sentinel-2": "s2",
    "Sentinel-1": "s1",
    "Landsat": "l8",
}


def format_gsd(gsd_m: float) -> str:
    """Format a GSD for a sensor tag: ``10.0`` → ``10``, ``0.46`` → ``0.5``."""
    return f"{round(gsd_m, 1):g}"


def sensor_tag(sample: Sample, n_images: int) -> str:
    """Return EarthDial's sensor/resolution tag, e.g. ``[s2_ms_10]`` or ``[hr_rgb_temp_0.5]``.

    The tag is the sensor family (``hr`` for very-high-resolution RGB, else the satellite),
    the modality (``rgb``, ``ms``, ``sar``…), ``temp`` when several dates are shown, and the
    GSD in metres.

    Args:
        sample: The sample.
        n_images: Number of images the pair shows.

    Returns:
        The bracketed tag.
    """
    modality = {"multispectral": "ms", "hyperspectral": "hyper", "infrared": "inf"}.get(
        sample.modality, sample.modality
    )
    family = next((v for k, v in _SENSOR_SHORT.items() if sample.sensor.startswith(k)), "")
    if sample.modality == "rgb" and (sample.gsd_m is None or sample.gsd_m <= 5):
        family = "hr"
    parts = [p for p in (family, modality) if p]
    if n_images > 1:
        parts.append("temp")
    if sample.gsd_m:
        parts.append(format_gsd(sample.gsd_m))
    return "[" + "_".join(parts) + "]"


def pair_id(sample_id: str, template_id: str, paraphrase_id: int) -> str:
    """Return the stable id of a pair (80 bits of SHA-256, hex)."""
    text = f"{GENERATOR}|{sample_id}|{template_id}|{paraphrase_id}".encode()
    return hashlib.sha256(text).hexdigest()[:20]


@dataclass(frozen=True)
class Candidate:
    """A pair made from a template, with the values the validator checks it against."""

    pair: InstructionPair
    expected: TaskValues


def make_pair(sample: Sample, template: Template, config: GenerationConfig) -> Candidate:
    """Fill one template for one sample.

    Args:
        sample: The sample.
        template: The template; its builder computes the values.
        config: Generation settings.

    Returns:
        The pair and the values it was built from.

    Raises:
        NotApplicable: If the sample lacks what the template needs.
    """
    if template.chain:
        return _make_chain(sample, template, config)
    values = BUILDERS[template.builder](sample, config)
    roles = values.image_roles or template.images or tuple(im.role for im in sample.images)
    have = {im.role for im in sample.images}
    if not set(roles) <= have:
        raise NotApplicable("missing_image_role")
    index = draw(config.seed, sample.sample_id, template.id, n=len(template.paraphrases))
    paraphrase = template.paraphrases[index]
    images = " ".join(["<image>"] * len(roles))
    prefix = " ".join(p for p in (template.task_tag, sensor_tag(sample, len(roles)), images) if p)
    human = f"{prefix}\n{paraphrase.question.format(**values.values)}"
    answer = paraphrase.answer.format(**values.values)
    pair = InstructionPair(
        pair_id=pair_id(sample.sample_id, template.id, index),
        sample_id=sample.sample_id,
        source=sample.source,
        task=template.task,
        template_id=template.id,
        paraphrase_id=index,
        generator=GENERATOR,
        generator_params=config.as_params(),
        image_roles=tuple(roles),
        turns=(Turn("human", human), Turn("gpt", answer)),
        split=sample.split or "train",
    )
    return Candidate(pair=pair, expected=values)


def _make_chain(sample: Sample, template: Template, config: GenerationConfig) -> Candidate:
    """A multi-turn dialogue: the parts' questions in order, images shown in the first turn."""
    parts = [make_pair(sample, part, config) for part in template.chain]
    roles = parts[0].pair.image_roles
    if any(p.pair.image_roles != roles for p in parts):
        raise NotApplicable("chain_parts_show_different_images")
    turns: list[Turn] = list(parts[0].pair.turns)
    for part in parts[1:]:
        human, gpt = part.pair.turns
        question = human.value.split("\n", 1)[1]
        tag = part.pair.turns[0].value.split(" ", 1)[0]
        turns += [Turn("human", f"{tag} {question}" if tag.startswith("[") else question), gpt]
    expected = TaskValues(
        values={},
        options=tuple(o for p in parts for o in p.expected.options),
        answers=tuple(a for p in parts for a in p.expected.answers),
        boxes=tuple(b for p in parts for b in p.expected.boxes),
    )
    index = sum(p.pair.paraphrase_id for p in parts)
    pair = InstructionPair(
        pair_id=pair_id(sample.sample_id, template.id, index),
        sample_id=sample.sample_id,
        source=sample.source,
        task=template.task,
        template_id=template.id,
        paraphrase_id=index,
        generator=GENERATOR,
        generator_params=config.as_params(),
        image_roles=roles,
        turns=tuple(turns),
        split=sample.split or "train",
    )
    return Candidate(pair=pair, expected=expected)


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


def templates_for(sample: Sample, templates: list[Template]) -> list[Template]:
    """Return the templates that apply to a sample's source, in id order."""
    return [t for t in templates if sample.source in t.sources]


def generation_config(settings: GenerateSettings) -> GenerationConfig:
    """Return the builders' settings from the typed ``generate`` section.

    Args:
        settings: The validated section.

    Returns:
        Seed, box grid, box limit and BigEarthNet class set.
    """
    return GenerationConfig(
        seed=settings.seed,
        box_scale=settings.box_scale,
        max_boxes=settings.max_boxes,
        class_set=settings.class_set,
    )
