"""Prompts of the captioner: templates loaded from ``templates/captioner/prompts.yaml``.

A request (:func:`build_request`) carries the sample's rendered image and the prompt of a
template filled in from the sample (:func:`prompt_fields`).

With ``structured_output`` the request carries ``response_format`` ``json_schema`` (vLLM's
guided decoding), so well-behaved servers only return parseable JSON; the parser still checks.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.pipeline.caption.cache import cache_key
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.instructions.pairs import format_gsd
from eoinstruct.pipeline.io.render import render_png
from eoinstruct.pipeline.records import ImageRef, Sample
from eoinstruct.templates import TEMPLATE_DIR

PROMPTS_FILE = TEMPLATE_DIR / "captioner" / "prompts.yaml"
"""Default prompt template file (package data, also in an installed wheel)."""


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
    questions: tuple[str, ...] = ()


class PromptError(ValueError):
    """The prompt template file is malformed."""


def load_prompts(path: Path | str = "") -> dict[str, PromptTemplate]:
    """Load and check the captioner's prompt templates.

    Args:
        path: The YAML file (default :data:`PROMPTS_FILE`).

    Returns:
        Templates by id.

    Raises:
        PromptError: If the file is malformed.
    """
    path = Path(path) if path else PROMPTS_FILE
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromptError(f"{path}: {exc}") from exc
    entries = doc.get("templates") if isinstance(doc, Mapping) else None
    if not isinstance(entries, list) or not entries:
        raise PromptError(f"{path}: expected a non-empty 'templates' list")
    out: dict[str, PromptTemplate] = {}
    for i, entry in enumerate(entries):
        where = f"{path}: templates[{i}]"
        if not isinstance(entry, Mapping):
            raise PromptError(f"{where}: not a mapping")
        missing = [
            k for k in ("id", "task", "task_tag", "reply", "system", "user") if not entry.get(k)
        ]
        if missing:
            raise PromptError(f"{where}: missing {missing}")
        template = PromptTemplate(
            id=str(entry["id"]),
            task=str(entry["task"]),
            task_tag=str(entry["task_tag"]),
            reply=str(entry["reply"]),
            system=str(entry["system"]),
            user=str(entry["user"]),
            max_pairs=int(entry.get("max_pairs", 4)),
            max_chars=int(entry.get("max_chars", 1000)),
            questions=tuple(str(q) for q in entry.get("questions") or ()),
        )
        if template.reply not in ("qa", "caption"):
            raise PromptError(f"{where}: reply must be 'qa' or 'caption'")
        if template.reply == "caption" and not template.questions:
            raise PromptError(f"{where}: a caption template needs 'questions'")
        if template.id in out:
            raise PromptError(f"{where}: duplicate id {template.id!r}")
        try:
            template.user.format(**{k: "" for k in _PROMPT_FIELDS})
        except (KeyError, IndexError, ValueError) as exc:
            raise PromptError(f"{where}: bad placeholder in 'user': {exc}") from exc
        out[template.id] = template
    return out


_PROMPT_FIELDS = (
    "sensor",
    "modality",
    "gsd",
    "tags",
    "classes",
    "objects",
    "properties",
    "max_pairs",
)
_PROPERTY_SKIP = ("surrounding_tags", "listed_in", "similarity_CLIP_openai", "imagery_source_code")


def caption_image(sample: Sample) -> ImageRef:
    """Return the image a sample is captioned from: its first non-auxiliary image.

    Args:
        sample: The sample.

    Returns:
        The first image whose encoding is not ``float`` (auxiliary layers such as a methane
        enhancement), else the first image.
    """
    return next((im for im in sample.images if im.encoding != "float"), sample.images[0])


def prompt_fields(sample: Sample, template: PromptTemplate) -> dict[str, str]:
    """Return the placeholder values of a sample's prompt.

    Args:
        sample: The sample.
        template: The prompt template.

    Returns:
        Texts for every placeholder (``none`` where the sample has nothing).
    """
    tags = "\n".join(f"- {k}: {v}" for k, v in sorted(sample.tags.items()) if str(v).strip())
    image = caption_image(sample)
    counts: dict[str, int] = {}
    for ob in sample.labels.objects:
        if ob.image_role == image.role:
            name = f"{ob.category} ({ob.attribute})" if ob.attribute else ob.category
            counts[name] = counts.get(name, 0) + 1
    objects = "; ".join(f"{n} x {name}" for name, n in sorted(counts.items()))
    properties = "; ".join(
        f"{k}: {v}"
        for k, v in sorted(sample.labels.properties.items())
        if k not in _PROPERTY_SKIP and str(v).strip()
    )
    return {
        "sensor": sample.sensor or "an unknown sensor",
        "modality": sample.modality,
        "gsd": f"{format_gsd(sample.gsd_m)} m" if sample.gsd_m else "unknown",
        "tags": tags or "- none",
        "classes": "; ".join(sample.labels.classes) or "none",
        "objects": objects or "none",
        "properties": properties or "none",
        "max_pairs": str(template.max_pairs),
    }


def response_schema(template: PromptTemplate) -> dict[str, Any]:
    """Return the JSON schema of a template's reply (for ``response_format``).

    Args:
        template: The prompt template.

    Returns:
        A JSON schema.
    """
    text = {"type": "string", "minLength": 1, "maxLength": template.max_chars}
    if template.reply == "caption":
        return {
            "type": "object",
            "properties": {"caption": text},
            "required": ["caption"],
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array",
                "minItems": 1,
                "maxItems": template.max_pairs,
                "items": {
                    "type": "object",
                    "properties": {"question": text, "answer": text},
                    "required": ["question", "answer"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["pairs"],
        "additionalProperties": False,
    }


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
    """

    key: str
    body: Mapping[str, Any]
    image_sha256: str
    image_role: str


def build_request(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    image_bytes: bytes | None = None,
) -> CaptionRequest:
    """Build the request for one sample.

    Args:
        sample: The sample.
        template: The prompt template.
        config: Captioner settings.
        image_bytes: The encoded image to send (default: :func:`render_png` of
            :func:`caption_image`).

    Returns:
        The request.

    Raises:
        RasterReadError: If the image cannot be rendered.
    """
    image = caption_image(sample)
    data = render_png(image) if image_bytes is None else image_bytes
    digest = hashlib.sha256(data).hexdigest()
    user = template.user.format(**prompt_fields(sample, template))
    schema = response_schema(template) if config.structured_output else None
    url = f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
    body: dict[str, Any] = {
        "model": config.model,
        "messages": [
            {"role": "system", "content": template.system},
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
    key = cache_key(config, template.system, user, digest, schema)
    return CaptionRequest(key=key, body=body, image_sha256=digest, image_role=image.role)
