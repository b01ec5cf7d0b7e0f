"""Turn a sample into instruction pairs with the templates, in EarthDial's conventions.

The first human turn is ``<task tag> <sensor tag> <image> … <image>``, a newline and the
question: one ``<image>`` per image shown, in the order of
:attr:`InstructionPair.image_roles`. The question phrasing, answer style, hint and answer
frame are seeded, deterministic draws per (sample, template); the pair id hashes the sample,
template, phrasing and generator version, so the same inputs always give the same ids.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from eoinstruct.pipeline.instructions.builders import (
    BUILDERS,
    GenerationConfig,
    NotApplicable,
    TaskValues,
    draw,
)
from eoinstruct.pipeline.instructions.tags import bucket_sensor_tag
from eoinstruct.pipeline.instructions.tags import pair_modality as pair_modality
from eoinstruct.pipeline.records import PAIR_SCHEMA, TURN_TYPE, InstructionPair, Sample, Turn
from eoinstruct.templates import Template, TurnTemplate

if TYPE_CHECKING:  # the models import pydantic
    from eoinstruct.pipeline.settings import GenerateSettings

GENERATOR = "template/2"
"""Name and version of the template generator, recorded in every pair."""


def format_gsd(gsd_m: float) -> str:
    """Format a GSD for text: ``10.0`` → ``10``, ``0.46`` → ``0.5``."""
    return f"{round(gsd_m, 1):g}"


DATE_ROLES = frozenset({"pre", "post", "before", "t0", "t1", "t2", "t3", "t4"})
"""Image roles that stand for an acquisition date (``t0_bands`` is the same date as ``t0``)."""


def date_count(roles: tuple[str, ...]) -> int:
    """Return how many acquisition dates a pair's images show (1 for same-date products).

    Two products of one acquisition (a scene and its thermal band, a hyperspectral scene and
    its methane map) are one date; ``pre`` and ``post`` are two.
    """
    dates = {r.removesuffix("_bands") for r in roles} & DATE_ROLES
    return max(len(dates), 1)


def sensor_tag(sample: Sample, n_images: int) -> str:
    """Return EarthDial's sensor/resolution tag, e.g. ``[s2_ms_10]`` or ``[hr_rgb_temp_0.5]``.

    The tag comes from EarthDial's closed vocabulary (or a listed addition, see
    :mod:`eoinstruct.pipeline.instructions.tags`): the GSD is bucketed to EarthDial's
    resolution class; the exact GSD stays in the row's metadata.

    Args:
        sample: The sample.
        n_images: Number of acquisition dates the pair shows (:func:`date_count`).

    Returns:
        The bracketed tag.
    """
    return _sensor_tag(sample.modality, sample.sensor, sample.gsd_m, n_images, tuple(sample.bands))


@functools.lru_cache(maxsize=1024)  # a build has a few sensors: the same few tags
def _sensor_tag(
    modality: str, sensor: str, gsd_m: float | None, n_images: int, bands: tuple[str, ...]
) -> str:
    return bucket_sensor_tag(modality, sensor, gsd_m, n_images, bands)


def pair_id(sample_id: str, template_id: str, paraphrase_id: int) -> str:
    """Return the stable id of a pair (80 bits of SHA-256, hex)."""
    text = f"{GENERATOR}|{sample_id}|{template_id}|{paraphrase_id}".encode()
    return hashlib.sha256(text).hexdigest()[:20]


@dataclass(frozen=True)
class Candidate:
    """A pair made from a template, with the values the validator checks it against."""

    pair: InstructionPair
    expected: TaskValues


def _pick(seed: int, sample_id: str, template_id: str, what: str, options: tuple[str, ...]) -> str:
    return options[draw(seed, sample_id, template_id, what, n=len(options))]


def _exchange(
    turn: TurnTemplate, style: str, values: dict[str, str], keys: tuple[str, str], seed: int
) -> tuple[int, str, str]:
    """Draw one exchange's wording and fill it: (question index, question, answer)."""
    q_index = draw(seed, *keys, turn.id, "question", n=len(turn.questions))
    chosen = turn.style(style)
    question = turn.questions[q_index].format(**values)
    if chosen.hints:
        question = f"{question} {_pick(seed, keys[0], keys[1], turn.id + '|hint', chosen.hints)}"
    answer = _pick(seed, keys[0], keys[1], turn.id + "|frame", chosen.frames).format(**values)
    return q_index, question, answer


@functools.lru_cache(maxsize=64)  # one config per build: its string map, made once
def _params_of(config: GenerationConfig) -> tuple[tuple[str, str], ...]:
    return tuple(config.as_params().items())


def make_pair(sample: Sample, template: Template, config: GenerationConfig) -> Candidate:
    """Fill one template for one sample.

    The answer style is drawn once per pair; each exchange draws its question phrasing,
    hint and answer frame (all seeded by sample and template).

    Args:
        sample: The sample.
        template: The template; its builder computes the values.
        config: Generation settings.

    Returns:
        The pair and the values it was built from.

    Raises:
        NotApplicable: If the sample lacks what the template needs.
    """
    values = BUILDERS[template.builder](sample, config)
    roles = values.image_roles or template.images or tuple(im.role for im in sample.images)
    have = {im.role for im in sample.images}
    if not set(roles) <= have:
        raise NotApplicable("missing_image_role")
    keys = (sample.sample_id, template.id)
    style = _pick(config.seed, *keys, "style", template.style_names)
    exchanges = [t for t in template.turns if not values.turns or t.id in values.turns]
    if values.turns:
        order = {t: i for i, t in enumerate(values.turns)}
        exchanges.sort(key=lambda t: order[t.id])
    if not exchanges:
        raise NotApplicable("no_turns")
    images = " ".join(["<image>"] * len(roles))
    tag = sensor_tag(sample, date_count(tuple(roles)))
    prefix = " ".join(p for p in (template.task_tag, tag, images) if p)
    turns: list[Turn] = []
    first_index = 0
    for n, exchange in enumerate(exchanges):
        index, question, answer = _exchange(exchange, style, values.values, keys, config.seed)
        if n == 0:
            first_index = index
            question = f"{prefix}\n{question}"
        turns += [Turn("human", question), Turn("gpt", answer)]
    pair = InstructionPair(
        pair_id=pair_id(sample.sample_id, template.id, first_index),
        sample_id=sample.sample_id,
        source=sample.source,
        task=template.task,
        template_id=template.id,
        paraphrase_id=first_index,
        generator=GENERATOR,
        generator_params=dict(_params_of(config)),
        image_roles=tuple(roles),
        turns=tuple(turns),
        split=sample.split or "train",
        answer_style=style,
    )
    return Candidate(pair=pair, expected=values)


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


def pairs_columns(pairs: Sequence[InstructionPair]) -> pa.Table:
    """Build the table of pairs column by column (the same table as ``pairs_table``).

    :func:`~eoinstruct.pipeline.records.pairs_table` makes one dict per row for
    ``from_pylist``; here each column is one list, and the conversations one flat struct
    array with offsets, so writing it gives the same bytes.

    Args:
        pairs: Pairs in the order they are to be written.

    Returns:
        A table with :data:`~eoinstruct.pipeline.records.PAIR_SCHEMA`.
    """
    offsets, speakers, texts = [0], [], []
    for pair in pairs:
        for turn in pair.turns:
            speakers.append(turn.speaker)
            texts.append(turn.value)
        offsets.append(len(texts))
    maps: dict[int, list[tuple[str, str]]] = {}  # one sorted map per distinct params object
    params = []
    for pair in pairs:
        key = id(pair.generator_params)
        if key not in maps:
            maps[key] = sorted((str(k), str(v)) for k, v in pair.generator_params.items())
        params.append(maps[key])
    turns = pa.StructArray.from_arrays(
        [pa.array(speakers, pa.string()), pa.array(texts, pa.string())], fields=list(TURN_TYPE)
    )
    columns = [
        pa.array([p.pair_id for p in pairs], pa.string()),
        pa.array([p.sample_id for p in pairs], pa.string()),
        pa.array([p.source for p in pairs], pa.string()),
        pa.array([p.task for p in pairs], pa.string()),
        pa.array([p.template_id for p in pairs], pa.string()),
        pa.array([p.paraphrase_id for p in pairs], pa.int32()),
        pa.array([p.generator for p in pairs], pa.string()),
        pa.array(params, PAIR_SCHEMA.field("generator_params").type),
        pa.array([list(p.image_roles) for p in pairs], PAIR_SCHEMA.field("image_roles").type),
        pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), turns),
        pa.array([p.split for p in pairs], pa.string()),
        pa.array([p.answer_style for p in pairs], pa.string()),
    ]
    return pa.Table.from_arrays(columns, schema=PAIR_SCHEMA)
