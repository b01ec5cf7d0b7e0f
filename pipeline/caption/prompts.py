"""Prompts of the captioner: templates and mixes of ``templates/captioner/prompts.yaml``.

A request (:func:`build_request`) is a system message, the template's constant instruction
(filled only with the run's character limits, so every sample of a template shares it and a
server's prefix cache covers it), then a user message with the sample's rendered image and its
facts (:mod:`~eoinstruct.pipeline.caption.facts`: only what the image can show).

``caption.prompt_template`` names a mix (template id → weight) or one template; a mix's
template is drawn per sample from the seed and the sample id (:meth:`PromptBook.choose`), as
are the region of a region template and the question of a caption template.

With ``structured_output`` the request carries ``response_format`` ``json_schema`` (vLLM's
guided decoding) sized by :mod:`~eoinstruct.pipeline.caption.schema` so that the reply closes
inside ``max_tokens``; the parser still checks.
"""

from __future__ import annotations

import base64
import hashlib
import io
import string
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.pipeline.caption.cache import cache_key
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.facts import TagPolicy, load_policy, scene_facts
from eoinstruct.pipeline.caption.schema import Budget, budget, response_schema
from eoinstruct.pipeline.config import ConfigError, safe_load_yaml
from eoinstruct.pipeline.instructions.tags import check_task_tag
from eoinstruct.pipeline.records import ImageRef, Sample
from eoinstruct.templates import TEMPLATE_DIR

PROMPTS_FILE = TEMPLATE_DIR / "captioner" / "prompts.yaml"
"""Default prompt template file (package data, also in an installed wheel)."""

SYSTEM_FIELDS = frozenset({"max_pairs", "question_chars", "answer_chars", "caption_chars"})
"""Placeholders of a system message: the run's limits only (constant per template)."""

USER_FIELDS = frozenset({"facts", "region"})
"""Placeholders of a user message and of caption questions."""


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt template of ``prompts.yaml`` (see the file's header for the fields)."""

    id: str
    task: str
    task_tag: str
    reply: str
    system: str
    user: str
    max_pairs: int = 4
    max_chars: int = 1000
    max_question_chars: int = 200
    min_answer_chars: int = 40
    question_share: float = 0.3
    questions: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


class PromptError(ValueError):
    """The prompt template file is malformed."""


def _placeholders(text: str, where: str) -> set[str]:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise PromptError(f"{where}: bad placeholder: {exc}") from exc
    return names


def _template(entry: Mapping[str, Any], where: str) -> PromptTemplate:
    missing = [k for k in ("id", "task", "reply", "system", "user") if not entry.get(k)]
    if "task_tag" not in entry:
        missing.append("task_tag")
    if missing:
        raise PromptError(f"{where}: missing {missing}")
    try:
        check_task_tag(str(entry["task_tag"] or ""), where)
    except ValueError as exc:
        raise PromptError(str(exc)) from exc
    template = PromptTemplate(
        id=str(entry["id"]),
        task=str(entry["task"]),
        task_tag=str(entry["task_tag"] or ""),
        reply=str(entry["reply"]),
        system=str(entry["system"]),
        user=str(entry["user"]),
        max_pairs=int(entry.get("max_pairs", 4)),
        max_chars=int(entry.get("max_chars", 1000)),
        max_question_chars=int(entry.get("max_question_chars", 200)),
        min_answer_chars=int(entry.get("min_answer_chars", 40)),
        question_share=float(entry.get("question_share", 0.3)),
        questions=tuple(str(q) for q in entry.get("questions") or ()),
        regions=tuple(str(r) for r in entry.get("regions") or ()),
    )
    if template.reply not in ("qa", "caption"):
        raise PromptError(f"{where}: reply must be 'qa' or 'caption'")
    if template.reply == "caption" and not template.questions:
        raise PromptError(f"{where}: a caption template needs 'questions'")
    if not (template.max_pairs >= 1 and 0 < template.question_share < 1):
        raise PromptError(f"{where}: max_pairs >= 1 and 0 < question_share < 1")
    bad = _placeholders(template.system, where) - SYSTEM_FIELDS
    if bad:
        raise PromptError(f"{where}: bad placeholder in 'system': {sorted(bad)}")
    for text in (template.user, *template.questions):
        bad = _placeholders(text, where) - USER_FIELDS
        if bad:
            raise PromptError(f"{where}: bad placeholder in 'user' or 'questions': {sorted(bad)}")
        if "{region}" in text and not template.regions:
            raise PromptError(f"{where}: {{region}} needs 'regions'")
    return template


@dataclass(frozen=True)
class PromptBook:
    """The templates and mixes of a prompt file.

    Attributes:
        templates: Templates by id.
        mixes: Mix name → template id → weight.
    """

    templates: Mapping[str, PromptTemplate]
    mixes: Mapping[str, Mapping[str, int]]

    def selection(self, name: str) -> tuple[PromptTemplate, ...]:
        """Return the templates a name stands for, each repeated by its weight.

        Args:
            name: A mix or a template id.

        Returns:
            The weighted list a sample's template is drawn from.

        Raises:
            ConfigError: If the name is neither.
        """
        if name in self.mixes:
            return tuple(
                self.templates[t] for t, w in sorted(self.mixes[name].items()) for _ in range(w)
            )
        if name in self.templates:
            return (self.templates[name],)
        raise ConfigError(
            f"caption.prompt_template {name!r}: not a mix {sorted(self.mixes)} nor a template "
            f"{sorted(self.templates)}"
        )

    def choose(self, name: str, seed: int, sample_id: str) -> PromptTemplate:
        """Return the template of one sample (a seeded draw from :meth:`selection`)."""
        from eoinstruct.pipeline.instructions.builders import draw  # the builders: on first use

        options = self.selection(name)
        return options[draw(seed, sample_id, "captioner-template", n=len(options))]


def load_prompt_book(path: Path | str = "") -> PromptBook:
    """Load and check the captioner's prompt templates and mixes.

    Args:
        path: The YAML file (default :data:`PROMPTS_FILE`).

    Returns:
        The templates and mixes.

    Raises:
        PromptError: If the file is malformed.
    """
    path = Path(path) if path else PROMPTS_FILE
    try:
        doc = safe_load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: {exc}") from exc
    entries = doc.get("templates") if isinstance(doc, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise PromptError(f"{path}: expected a non-empty 'templates' list")
    templates: dict[str, PromptTemplate] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: templates[{i}]"
        if not isinstance(entry, Mapping):
            raise PromptError(f"{where}: not a mapping")
        template = _template(entry, where)
        if template.id in templates:
            raise PromptError(f"{where}: duplicate id {template.id!r}")
        templates[template.id] = template
    mixes: dict[str, dict[str, int]] = {}
    for name, weights in (doc.get("mixes") or {}).items():
        if not isinstance(weights, Mapping) or not weights:
            raise PromptError(f"{path}: mixes.{name} must map template ids to weights")
        unknown = sorted(set(weights) - set(templates))
        if unknown or any(not isinstance(w, int) or w < 1 for w in weights.values()):
            raise PromptError(f"{path}: mixes.{name}: unknown ids {unknown} or weights < 1")
        mixes[str(name)] = {str(t): int(w) for t, w in weights.items()}
    return PromptBook(templates=templates, mixes=mixes)


def load_prompts(path: Path | str = "") -> dict[str, PromptTemplate]:
    """Load the captioner's prompt templates by id (see :func:`load_prompt_book`)."""
    return dict(load_prompt_book(path).templates)


def caption_image(sample: Sample) -> ImageRef:
    """Return the image a sample is captioned from.

    Args:
        sample: The sample.

    Returns:
        The image its static labels refer to (``labels.properties["static_image_role"]``,
        SatlasPretrain's newest image) when it has one, else the first image whose encoding
        is not ``float`` (auxiliary layers such as a methane enhancement), else the first.
    """
    shown = [im for im in sample.images if im.encoding != "float"] or list(sample.images)
    role = sample.labels.properties.get("static_image_role", "")
    return next((im for im in shown if im.role == role), shown[0])


def caption_bytes(image: ImageRef) -> bytes:
    """Return the encoded image a sample is captioned from (:func:`render_png`'s bytes).

    An 8-bit RGB PNG file is sent as it is, after checking every chunk's CRC through to the
    end (a truncated or damaged file fails here) instead of decoding all its pixels: the
    request is built at send time, and a full decode per request costs more CPU than the
    rest of the request. Everything else goes through :func:`render_png`.

    Args:
        image: The image.

    Returns:
        PNG or JPEG bytes.

    Raises:
        RasterReadError: If the pixels cannot be read.
    """
    # imported here: Pillow and the raster readers (rasterio) are needed only once a request
    # is built, not by a caption stage that sends nothing
    from PIL import Image, UnidentifiedImageError

    from eoinstruct.pipeline.io.rasters import WINDOW_SEPARATOR, RasterReadError
    from eoinstruct.pipeline.io.render import render_png

    path = Path(image.files[0])
    whole = len(image.files) == 1 and WINDOW_SEPARATOR not in image.files[0]
    if not (whole and image.encoding == "uint8" and len(image.bands) == 3):
        return render_png(image)
    if path.suffix.lower() != ".png":
        return render_png(image)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise RasterReadError("missing_file", f"{path}: file not found") from exc
    except OSError as exc:
        raise RasterReadError("corrupt_raster", f"{path}: {exc}") from exc
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format != "PNG" or probe.mode != "RGB":
                return render_png(image)
            probe.verify()
    except (OSError, SyntaxError, ValueError, struct.error, UnidentifiedImageError) as exc:
        raise RasterReadError("corrupt_raster", f"{path}: {exc}") from exc
    return data


def region_of(sample: Sample, template: PromptTemplate, seed: int) -> str:
    """Return the region a region template asks about (a seeded draw), or ``""``."""
    if not template.regions:
        return ""
    from eoinstruct.pipeline.instructions.builders import draw

    index = draw(seed, sample.sample_id, template.id, "region", n=len(template.regions))
    return template.regions[index]


def template_budget(template: PromptTemplate, config: CaptionConfig) -> Budget:
    """Return the character limits of a template's reply under the run's ``max_tokens``."""
    return budget(
        template, config.max_tokens, config.chars_per_token, strict=config.structured_output
    )


def system_text(template: PromptTemplate, config: CaptionConfig) -> str:
    """Return a template's system message for a run (the same for every sample)."""
    return template.system.format(**template_budget(template, config).fields())


def user_text(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    policy: TagPolicy | None = None,
) -> str:
    """Return the text of a sample's user message (its facts, and its region)."""
    policy = policy or load_policy(config.tag_policy_file)
    facts = scene_facts(sample, caption_image(sample), policy).render(policy.headings)
    return template.user.format(facts=facts, region=region_of(sample, template, config.seed))


def image_mime(data: bytes) -> str:
    """Return the MIME type of PNG or JPEG bytes (``image/png`` otherwise)."""
    return "image/jpeg" if data[:3] == b"\xff\xd8\xff" else "image/png"


@dataclass(frozen=True)
class CaptionRequest:
    """One chat-completions request, with its cache key.

    Attributes:
        key: Cache key (hex SHA-256), see :func:`cache_key`.
        body: The JSON body sent to ``/chat/completions``.
        image_sha256: SHA-256 of the image bytes sent.
        image_role: Role of the image shown.
        template_id: The prompt template.
        region: The region asked about (region templates), else ``""``.
    """

    key: str
    body: Mapping[str, Any]
    image_sha256: str
    image_role: str
    template_id: str = ""
    region: str = ""


def build_request(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    image_bytes: bytes | None = None,
    policy: TagPolicy | None = None,
) -> CaptionRequest:
    """Build the request for one sample.

    Args:
        sample: The sample.
        template: The prompt template.
        config: Captioner settings.
        image_bytes: The encoded image (default: :func:`caption_bytes` of
            :func:`caption_image`); it is sent downscaled to ``config.max_dynamic_patch``
            tiles (:func:`~eoinstruct.pipeline.caption.tiles.cap_image`).
        policy: The tag policy (default: ``config.tag_policy_file``).

    Returns:
        The request.

    Raises:
        RasterReadError: If the image cannot be rendered.
        ConfigError: If ``max_tokens`` cannot hold the template's reply.
    """
    from eoinstruct.pipeline.caption.tiles import cap_image  # Pillow: see caption_bytes

    image = caption_image(sample)
    data = cap_image(
        caption_bytes(image) if image_bytes is None else image_bytes, config.max_dynamic_patch
    )
    digest = hashlib.sha256(data).hexdigest()
    system = system_text(template, config)
    user = user_text(sample, template, config, policy)
    schema = (
        response_schema(template.reply, template_budget(template, config))
        if config.structured_output
        else None
    )
    url = f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
    body: dict[str, Any] = {
        "model": config.model,
        "messages": [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": user},
                ],
            },
        ],
        **config.sampling(),
    }
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": template.reply, "schema": schema, "strict": True},
        }
    body.update(config.extra_body)
    key = cache_key(config, system, user, digest, schema)
    return CaptionRequest(
        key=key,
        body=body,
        image_sha256=digest,
        image_role=image.role,
        template_id=template.id,
        region=region_of(sample, template, config.seed),
    )
