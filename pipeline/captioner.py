"""The VLM captioner: instruction pairs from an image and its tags, asked of a served model.

The captioner is a client of an OpenAI-compatible chat-completions server (vLLM, LMDeploy's
``api_server`` or a hosted endpoint); which engine and model is configuration (``params.yaml``
section ``caption``, read by :meth:`CaptionConfig.from_mapping`). Per sample it sends

- the RGB rendering of the sample's first displayable image (:func:`pipeline.render.render_png`:
  8-bit files unchanged, reflectance/SAR/thermal data with the fixed stretches documented
  there) as a base64 ``image_url`` part, and
- a prompt built from the sample's sensor, GSD, tags, classes, objects and label properties
  with a template of ``templates/captioner/prompts.yaml`` (:func:`load_prompts`),

and turns the reply into one :class:`~pipeline.records.InstructionPair` in EarthDial form
(first human turn ``<task tag> <sensor tag> <image>``, a newline and the question).

**Requests** (:class:`CaptionClient`) are asynchronous (aiohttp) under a concurrency limit,
spread over several servers (``base_urls``: data-parallel replicas; a request goes to the
server chosen by its cache key and moves to the next one on each retry), with a timeout per
request and retries with exponential backoff on 5xx/408/429 answers, timeouts, dropped
connections and malformed response bodies. Other 4xx answers are not retried.

**Cache** (:class:`RequestCache`): every successful reply is stored at once, one JSON file per
key, written to a unique temporary name and renamed, so a killed run leaves complete entries
only. The key hashes the model and revision, the prompt (system and user text), the image's
SHA-256, the sampling parameters and the ``response_format``: a re-run, or a resumed run, sends
no request whose reply is stored. Garbled or refused replies are cached too (they are what the
model answers for that key); transport failures are not.

**Replies** (:func:`parse_reply`, :func:`contradictions`) are dropped with a reason, never
written, when they are

- ``empty_reply``: no text;
- ``refusal``: the text (or an answer in it) matches :data:`REFUSAL_RE` ("I cannot…",
  "I'm sorry…", "as an AI…");
- ``garbled_reply``: not JSON of the template's shape (``{"pairs": [{"question", "answer"}]}``
  or ``{"caption"}``), also when cut off by ``max_tokens``;
- ``contradicts_tags``: the cheap consistency checks of :func:`contradictions` fail: (1) the
  reply denies something the tags assert ("no farmland" when ``center:landuse=farmland``, or a
  scene class / annotated object category); (2) it states a count of an annotated object
  category that differs from the number of labelled objects ("3 buildings" against 5 labels);
  (3) for a closed class set (scheme ``clc43``/``ben19``) it names a class of the scheme that
  the sample does not have, without negating it;
- ``invalid_pair``: the pair fails :func:`pipeline.validate.validate_pair` (e.g. the model
  wrote an ``<image>`` token or a box).

With ``structured_output`` the request carries ``response_format`` ``json_schema`` (vLLM's
guided decoding), so well-behaved servers only return parseable JSON; the parser still checks.

**Server** (:class:`ServerProcess`): optionally the stage starts the server itself (``launch``),
waits until its health endpoint answers and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.pipeline.config import ConfigError
from eoinstruct.pipeline.instructions.builders import TaskValues, draw
from eoinstruct.pipeline.instructions.pairs import format_gsd, sensor_tag
from eoinstruct.pipeline.io.render import render_png
from eoinstruct.pipeline.records import ImageRef, InstructionPair, Sample, Turn, to_json

log = logging.getLogger(__name__)

PROMPTS_FILE = Path(__file__).resolve().parents[1] / "templates" / "captioner" / "prompts.yaml"
"""Default prompt template file."""

GENERATOR_VERSION = "1"
"""Version of the captioner's pair building; part of the pair id and the stage fingerprint."""

ENGINES: tuple[str, ...] = ("vllm", "lmdeploy", "openai")
"""Allowed values of ``caption.engine``."""

DROP_REASONS: tuple[str, ...] = (
    "empty_reply",
    "refusal",
    "garbled_reply",
    "contradicts_tags",
    "invalid_pair",
)
"""Reasons a reply is dropped (see the module docstring)."""

FAILURE_KINDS: tuple[str, ...] = (
    "server_error",
    "timeout",
    "connection_error",
    "bad_response",
    "client_error",
)
"""Kinds of request failure, after the retries (the stage adds render failures)."""

REFUSAL_RE = re.compile(
    r"\b(?:I\s*(?:cannot|can\s*not|can't|can’t|am\s+unable|'m\s+unable|am\s+not\s+able|"
    r"'m\s+not\s+able|won't|will\s+not)\b|I'm\s+sorry|I\s+am\s+sorry|as\s+an\s+AI\b|"
    r"unable\s+to\s+(?:assist|help|determine|view|see|analy[sz]e)\b)",
    re.IGNORECASE,
)
"""Phrases that mark a refusal."""

_NUMBER_WORDS = {
    "no": 0,
    "zero": 0,
    "one": 1,
    "a single": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_UNINFORMATIVE_VALUES = {"yes", "no", "true", "false", "unknown", "none", "other"}
_MAX_TURN_CHARS = 6000


def _scheme_vocabulary(scheme: str) -> tuple[str, ...]:
    """Return the class names of a closed class set, or ``()`` for an unknown scheme."""
    if scheme in ("clc43", "ben19"):
        from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES, CLC43_NAMES

        return CLC43_NAMES if scheme == "clc43" else BEN19_NAMES
    return ()


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class LaunchConfig:
    """How to start the server when the stage manages it (``caption.launch``).

    Attributes:
        model_path: Model folder or hub id given to the server.
        python: Interpreter that runs vLLM (``python -m vllm.entrypoints.openai.api_server``);
            default: this interpreter.
        host: Address the server binds.
        port: Port it listens on (the client then talks to ``http://host:port/v1``).
        extra_args: Further command-line arguments (``--dtype``, ``--max-model-len``…).
        env: Extra environment variables (``VLLM_CPU_KVCACHE_SPACE``…).
        command: The whole command line; overrides the engine's default command.
        health_path: Path polled until it answers 200 (default ``/health`` for vLLM,
            ``/v1/models`` otherwise).
        startup_timeout_s: How long to wait for the server to become healthy.
        log_file: Where the server's output goes (default: discarded).
    """

    model_path: str = ""
    python: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    extra_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    command: tuple[str, ...] = ()
    health_path: str = ""
    startup_timeout_s: float = 900.0
    log_file: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> LaunchConfig:
        """Read a ``launch`` mapping.

        Args:
            data: The mapping.

        Returns:
            The configuration.

        Raises:
            ConfigError: On unknown keys.
        """
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"caption.launch: unknown keys {sorted(unknown)}")
        return cls(
            model_path=str(data.get("model_path", "")),
            python=str(data.get("python") or ""),
            host=str(data.get("host", "127.0.0.1")),
            port=int(data.get("port", 8000)),
            extra_args=tuple(str(a) for a in data.get("extra_args") or ()),
            env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
            command=tuple(str(a) for a in data.get("command") or ()),
            health_path=str(data.get("health_path") or ""),
            startup_timeout_s=float(data.get("startup_timeout_s", 900.0)),
            log_file=str(data.get("log_file") or ""),
        )


@dataclass(frozen=True)
class CaptionConfig:
    """The ``caption`` section of ``params.yaml`` (see ``docs/captioner.md``).

    Attributes:
        enabled: Run the captioner; when false the stage writes empty outputs.
        base_urls: OpenAI-compatible API roots (``http://host:8000/v1``), one per server.
        model: Model name as the server knows it (``--served-model-name``).
        revision: Model revision (hub commit or tag), recorded and part of the cache key.
        engine: ``vllm``, ``lmdeploy`` or ``openai`` (recorded in ``generator``).
        api_key_env: Name of an environment variable holding a bearer token (optional).
        concurrency: Requests in flight at most (over all servers).
        timeout_s: Timeout of one request, seconds.
        retries: Retries after the first attempt on transient errors.
        backoff_s: First backoff; attempt ``k`` waits ``backoff_s * 2**k`` (plus jitter).
        temperature: Sampling temperature.
        top_p: Nucleus sampling; ``None`` to leave the server's default.
        max_tokens: Reply length limit, tokens.
        seed: Sampling seed sent with every request (and the draw of caption questions).
        structured_output: Send ``response_format`` ``json_schema`` (guided decoding).
        prompt_template: Id of the prompt template in ``prompts_file``.
        prompts_file: The prompt template file (default ``templates/captioner/prompts.yaml``).
        sources: Sources whose samples are captioned.
        cache_dir: Folder of the request cache.
        launch: Start and stop a server (``None``: use running servers).
    """

    enabled: bool = False
    base_urls: tuple[str, ...] = ("http://127.0.0.1:8000/v1",)
    model: str = "OpenGVLab/InternVL2-4B"
    revision: str = "main"
    engine: str = "vllm"
    api_key_env: str = ""
    concurrency: int = 16
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 512
    seed: int = 0
    structured_output: bool = True
    prompt_template: str = "qa_tags/1"
    prompts_file: str = ""
    sources: tuple[str, ...] = ("skyscript", "satlas")
    cache_dir: str = "data/cache/captioner"
    launch: LaunchConfig | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CaptionConfig:
        """Read and check the ``caption`` section.

        Args:
            data: The section.

        Returns:
            The configuration.

        Raises:
            ConfigError: On unknown keys or bad values.
        """
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"caption: unknown keys {sorted(unknown)}")
        base_urls = data.get("base_urls", cls.base_urls)
        if isinstance(base_urls, str):
            base_urls = [base_urls]
        launch = data.get("launch")
        config = cls(
            enabled=bool(data.get("enabled", False)),
            base_urls=tuple(str(u).rstrip("/") for u in base_urls or ()),
            model=str(data.get("model", cls.model)),
            revision=str(data.get("revision", cls.revision)),
            engine=str(data.get("engine", cls.engine)),
            api_key_env=str(data.get("api_key_env") or ""),
            concurrency=int(data.get("concurrency", cls.concurrency)),
            timeout_s=float(data.get("timeout_s", cls.timeout_s)),
            retries=int(data.get("retries", cls.retries)),
            backoff_s=float(data.get("backoff_s", cls.backoff_s)),
            temperature=float(data.get("temperature", cls.temperature)),
            top_p=None if data.get("top_p") is None else float(data["top_p"]),
            max_tokens=int(data.get("max_tokens", cls.max_tokens)),
            seed=int(data.get("seed", cls.seed)),
            structured_output=bool(data.get("structured_output", cls.structured_output)),
            prompt_template=str(data.get("prompt_template", cls.prompt_template)),
            prompts_file=str(data.get("prompts_file") or ""),
            sources=tuple(str(s) for s in data.get("sources", cls.sources) or ()),
            cache_dir=str(data.get("cache_dir", cls.cache_dir)),
            launch=LaunchConfig.from_mapping(launch) if isinstance(launch, Mapping) else None,
        )
        if config.engine not in ENGINES:
            raise ConfigError(f"caption.engine {config.engine!r}: expected one of {ENGINES}")
        if config.enabled and not config.base_urls and config.launch is None:
            raise ConfigError("caption: give base_urls or launch")
        if config.concurrency < 1 or config.retries < 0 or config.timeout_s <= 0:
            raise ConfigError("caption: concurrency >= 1, retries >= 0, timeout_s > 0")
        if config.max_tokens < 1:
            raise ConfigError("caption.max_tokens must be positive")
        return config

    def sampling(self) -> dict[str, Any]:
        """Return the sampling parameters sent with every request."""
        params: dict[str, Any] = {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        if self.top_p is not None:
            params["top_p"] = self.top_p
        return params

    def output_params(self) -> dict[str, Any]:
        """Return the settings the stage's outputs depend on (its fingerprint).

        Transport settings (concurrency, timeouts, retries, cache folder, launch) change how
        replies are fetched, not what they are, and are left out.
        """
        return {
            "enabled": self.enabled,
            "engine": self.engine,
            "model": self.model,
            "revision": self.revision,
            "n_servers": len(self.base_urls),
            "sampling": self.sampling(),
            "structured_output": self.structured_output,
            "prompt_template": self.prompt_template,
            "sources": list(self.sources),
        }


# --------------------------------------------------------------------------- prompts


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


def cache_key(
    config: CaptionConfig,
    system: str,
    user: str,
    image_sha256: str,
    schema: Mapping[str, Any] | None,
) -> str:
    """Return the cache key of a request.

    Args:
        config: Captioner settings (model, revision, sampling).
        system: System message.
        user: User message.
        image_sha256: SHA-256 of the image bytes.
        schema: The ``response_format`` schema, or ``None`` without structured output.

    Returns:
        Hex SHA-256 of the canonical JSON of all of these.
    """
    material = {
        "model": config.model,
        "revision": config.revision,
        "system": system,
        "user": user,
        "image_sha256": image_sha256,
        "sampling": config.sampling(),
        "response_schema": schema,
    }
    return hashlib.sha256(to_json(material).encode()).hexdigest()


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


# --------------------------------------------------------------------------- cache


@dataclass(frozen=True)
class Reply:
    """A reply of the server (or of the cache).

    Attributes:
        content: The message text (empty when the server sent none).
        finish_reason: ``stop``, ``length``…
        base_url_index: Which of ``base_urls`` answered.
        cached: Read from the cache rather than requested now.
    """

    content: str
    finish_reason: str
    base_url_index: int
    cached: bool = False


@dataclass(frozen=True)
class RequestFailure:
    """A request that failed after its retries.

    Attributes:
        kind: One of :data:`FAILURE_KINDS`.
        message: What happened on the last attempt.
        attempts: Attempts made.
    """

    kind: str
    message: str
    attempts: int


class RequestCache:
    """Replies by cache key, one JSON file each, written atomically.

    Files are ``<root>/<key[:2]>/<key>.json``; a file is written under a unique temporary name
    in the same folder and renamed, so a reader (or a resumed run after SIGKILL) sees a
    complete entry or none. An unreadable entry is treated as absent and rewritten.

    Args:
        root: The cache folder (created when needed).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._counter = 0

    def path(self, key: str) -> Path:
        """Return the file of a key."""
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Reply | None:
        """Return the stored reply of a key, or ``None``."""
        path = self.path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return Reply(
                content=str(data["content"]),
                finish_reason=str(data.get("finish_reason", "")),
                base_url_index=int(data.get("base_url_index", 0)),
                cached=True,
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("captioner: unreadable cache entry %s, ignored", path)
            return None

    def put(self, key: str, reply: Reply) -> None:
        """Store a reply atomically (temporary file, fsync, rename).

        Args:
            key: Cache key.
            reply: The reply.
        """
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{self._counter}")
        payload = {
            "key": key,
            "content": reply.content,
            "finish_reason": reply.finish_reason,
            "base_url_index": reply.base_url_index,
        }
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(payload, ensure_ascii=False, sort_keys=True))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()

    def keys(self) -> list[str]:
        """Return every stored key (sorted)."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*/*.json"))


# --------------------------------------------------------------------------- client


class _Retryable(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Fatal(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class ClientCounters:
    """What a client did: requests sent (attempts), retries, cache hits."""

    attempts: int = 0
    retries: int = 0
    cache_hits: int = 0
    replies: int = 0
    failures: int = 0


class CaptionClient:
    """Asynchronous chat-completions client with a cache, retries and a concurrency limit.

    Args:
        config: Captioner settings.
        cache: The request cache (``None``: no caching).
    """

    def __init__(self, config: CaptionConfig, cache: RequestCache | None) -> None:
        if not config.base_urls:
            raise ConfigError("caption: no base_urls to send requests to")
        self.config = config
        self.cache = cache
        self.counters = ClientCounters()
        self._rng = random.Random(config.seed)

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        token = os.environ.get(self.config.api_key_env, "") if self.config.api_key_env else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    async def _post(self, session: Any, index: int, body: Mapping[str, Any]) -> Reply:
        import aiohttp

        url = f"{self.config.base_urls[index]}/chat/completions"
        self.counters.attempts += 1
        try:
            async with session.post(url, json=body, headers=self._headers()) as response:
                text = await response.text()
                status = response.status
        except TimeoutError as exc:
            raise _Retryable(
                "timeout", f"no reply within {self.config.timeout_s} s from {url}"
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable("connection_error", f"{type(exc).__name__}: {exc} ({url})") from exc
        if status >= 500 or status in (408, 429):
            raise _Retryable("server_error", f"HTTP {status} from {url}: {text[:200]}")
        if status >= 400:
            raise _Fatal("client_error", f"HTTP {status} from {url}: {text[:300]}")
        try:
            data = json.loads(text)
            choice = data["choices"][0]
            message = choice["message"]
            content = message.get("content") or ""
            if not isinstance(content, str):
                raise TypeError("content is not a string")
            finish = str(choice.get("finish_reason") or "")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise _Retryable(
                "bad_response", f"malformed completion from {url}: {text[:200]!r} ({exc})"
            ) from exc
        return Reply(content=content, finish_reason=finish, base_url_index=index)

    async def _one(
        self, session: Any, limit: asyncio.Semaphore, request: CaptionRequest
    ) -> Reply | RequestFailure:
        n = len(self.config.base_urls)
        start = int(request.key[:8], 16) % n
        last: _Retryable | None = None
        attempt = 0
        for attempt in range(self.config.retries + 1):
            if attempt:
                self.counters.retries += 1
                delay = self.config.backoff_s * 2 ** (attempt - 1)
                await asyncio.sleep(delay * (1.0 + 0.1 * self._rng.random()))
            try:
                async with limit:
                    reply = await self._post(session, (start + attempt) % n, request.body)
            except _Retryable as exc:
                last = exc
                log.warning(
                    "captioner: attempt %d of %s failed: %s", attempt + 1, request.key[:12], exc
                )
                continue
            except _Fatal as exc:
                self.counters.failures += 1
                return RequestFailure(exc.kind, str(exc), attempt + 1)
            if self.cache is not None:
                self.cache.put(request.key, reply)
            self.counters.replies += 1
            return reply
        self.counters.failures += 1
        assert last is not None
        return RequestFailure(last.kind, str(last), attempt + 1)

    async def fetch(self, requests: Sequence[CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        """Get the replies of several requests (cached ones without asking).

        Identical keys are requested once. Each reply is stored in the cache as soon as it
        arrives.

        Args:
            requests: The requests.

        Returns:
            Reply or failure by cache key.
        """
        import aiohttp

        results: dict[str, Reply | RequestFailure] = {}
        todo: dict[str, CaptionRequest] = {}
        for request in requests:
            if request.key in results or request.key in todo:
                continue
            cached = self.cache.get(request.key) if self.cache is not None else None
            if cached is not None:
                self.counters.cache_hits += 1
                results[request.key] = cached
            else:
                todo[request.key] = request
        if not todo:
            return results
        limit = asyncio.Semaphore(self.config.concurrency)
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        connector = aiohttp.TCPConnector(limit=self.config.concurrency, force_close=False)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            replies = await asyncio.gather(*(self._one(session, limit, r) for r in todo.values()))
        results.update(zip(todo, replies, strict=True))
        return results

    def fetch_sync(self, requests: Sequence[CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        """Blocking :meth:`fetch` (runs its own event loop, in a thread if one is running).

        Args:
            requests: The requests.

        Returns:
            Reply or failure by cache key.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.fetch(requests))
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self.fetch(requests)).result()


# --------------------------------------------------------------------------- replies


class ReplyRejected(Exception):
    """A reply that must not become a pair.

    Args:
        reason: One of :data:`DROP_REASONS`.
        detail: What was wrong.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _strip_fences(text: str) -> str:
    match = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    return match.group(1) if match else text


def _load_json(text: str) -> Any:
    body = _strip_fences(text).strip()
    try:
        return json.loads(body)
    except ValueError:
        pass
    start = min((i for i in (body.find("{"), body.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise ValueError("no JSON object in the reply")
    value, _ = json.JSONDecoder().raw_decode(body[start:])
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("empty or non-string field")
    if len(value) > _MAX_TURN_CHARS:
        raise ValueError("field too long")
    return " ".join(value.split())


def parse_reply(reply: Reply, template: PromptTemplate) -> list[tuple[str, str]]:
    """Turn a reply into question/answer pairs, or reject it.

    A caption reply gives one pair whose question is filled in later (drawn from the
    template's ``questions``); its first element is then empty.

    Args:
        reply: The reply.
        template: The prompt template the request used.

    Returns:
        ``(question, answer)`` tuples, at most ``template.max_pairs`` for a QA template.

    Raises:
        ReplyRejected: With reason ``empty_reply``, ``refusal`` or ``garbled_reply``.
    """
    content = reply.content.strip()
    if not content:
        raise ReplyRejected("empty_reply", f"finish_reason={reply.finish_reason or 'none'}")
    try:
        data = _load_json(content)
    except ValueError as exc:
        if REFUSAL_RE.search(content):
            raise ReplyRejected("refusal", content[:200]) from exc
        cut = " (cut off: finish_reason=length)" if reply.finish_reason == "length" else ""
        raise ReplyRejected("garbled_reply", f"not JSON{cut}: {content[:200]!r}") from exc
    try:
        if template.reply == "caption":
            value = data.get("caption") if isinstance(data, Mapping) else data
            pairs = [("", _text(value))]
        else:
            items = data.get("pairs") if isinstance(data, Mapping) else data
            if not isinstance(items, list) or not items:
                raise ValueError("no 'pairs' list")
            pairs = []
            for item in items[: template.max_pairs]:
                if not isinstance(item, Mapping):
                    raise ValueError("a pair is not an object")
                pairs.append((_text(item.get("question")), _text(item.get("answer"))))
    except ValueError as exc:
        raise ReplyRejected("garbled_reply", f"{exc}: {content[:200]!r}") from exc
    for _, answer in pairs:
        if REFUSAL_RE.search(answer):
            raise ReplyRejected("refusal", answer[:200])
    return pairs


def _term_pattern(term: str) -> str:
    words = [re.escape(w) for w in term.replace("_", " ").split()]
    return r"\s+".join(words) + r"(?:s|es)?"


def _present_terms(sample: Sample) -> list[str]:
    terms: list[str] = []
    for key, value in sample.tags.items():
        if not key.startswith("center:"):
            continue
        for part in str(value).split(";"):
            part = part.strip().replace("_", " ")
            if len(part) >= 3 and part.lower() not in _UNINFORMATIVE_VALUES and not part.isdigit():
                terms.append(part)
    terms.extend(sample.labels.classes)
    terms.extend(ob.category for ob in sample.labels.objects)
    return sorted(set(terms))


_NEGATION = r"\b(?:no|without|not\s+any|lacks?|absence\s+of|free\s+of)\s+(?:[a-z-]+\s+){0,2}"
_COUNT = (
    r"\b(\d+|"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r")\s+(?:[a-z-]+\s+){0,2}?"
)


def contradictions(pairs: Sequence[tuple[str, str]], sample: Sample, image_role: str) -> list[str]:
    """Return the ways a reply contradicts the sample's tags (empty: consistent).

    Only the answers are checked (questions may ask about anything). The checks are cheap
    text rules, not understanding: see the module docstring.

    Args:
        pairs: ``(question, answer)`` tuples.
        sample: The sample.
        image_role: The role of the image the reply is about (for object counts).

    Returns:
        Problems such as ``denies:farmland``, ``count:building:3!=5``, ``absent_class:Airports``.
    """
    text = " ".join(answer for _, answer in pairs)
    lower = text.lower()
    problems: list[str] = []
    for term in _present_terms(sample):
        if re.search(_NEGATION + _term_pattern(term.lower()) + r"\b", lower):
            problems.append(f"denies:{term}")
    counts: dict[str, int] = {}
    for ob in sample.labels.objects:
        if ob.image_role == image_role:
            counts[ob.category] = counts.get(ob.category, 0) + 1
    for category, n in sorted(counts.items()):
        pattern = _COUNT + _term_pattern(category.lower()) + r"\b"
        for match in re.finditer(pattern, lower):
            word = match.group(1)
            stated = int(word) if word.isdigit() else _NUMBER_WORDS[word]
            if stated != n:
                problems.append(f"count:{category}:{stated}!={n}")
    vocabulary = _scheme_vocabulary(sample.labels.scheme)
    if vocabulary and sample.labels.classes:
        have = set(sample.labels.classes)
        for name in vocabulary:
            if name in have:
                continue
            for match in re.finditer(r"\b" + re.escape(name.lower()) + r"\b", lower):
                before = lower[max(0, match.start() - 40) : match.start()]
                if not re.search(r"\b(?:no|not|without|neither|nor)\b", before):
                    problems.append(f"absent_class:{name}")
                    break
    return sorted(set(problems))


def caption_pair_id(engine: str, sample_id: str, template_id: str, key: str) -> str:
    """Return the stable id of a captioner pair (80 bits of SHA-256, hex)."""
    text = f"captioner/{engine}/{GENERATOR_VERSION}|{sample_id}|{template_id}|{key}".encode()
    return hashlib.sha256(text).hexdigest()[:20]


def generator_params(
    config: CaptionConfig, template: PromptTemplate, reply: Reply, request: CaptionRequest
) -> dict[str, str]:
    """Return the provenance recorded in every captioner pair.

    Args:
        config: Captioner settings.
        template: The prompt template.
        reply: The reply the pair was made from.
        request: The request.

    Returns:
        Engine, model, revision, prompt template, sampling parameters, structured output,
        the server that answered (index into ``base_urls``), the finish reason, the image
        hash and the cache key.
    """
    return {
        "engine": config.engine,
        "model": config.model,
        "revision": config.revision,
        "prompt_template": template.id,
        "sampling": to_json(config.sampling()),
        "structured_output": str(config.structured_output).lower(),
        "base_url_index": str(reply.base_url_index),
        "finish_reason": reply.finish_reason,
        "image_sha256": request.image_sha256,
        "cache_key": request.key,
        "version": GENERATOR_VERSION,
    }


def make_pair(
    sample: Sample,
    template: PromptTemplate,
    config: CaptionConfig,
    request: CaptionRequest,
    reply: Reply,
) -> tuple[InstructionPair, TaskValues]:
    """Build the pair of one reply, or reject the reply.

    Args:
        sample: The sample.
        template: The prompt template.
        config: Captioner settings.
        request: The request the reply answers.
        reply: The reply.

    Returns:
        The pair (one multi-turn conversation) and the values :func:`validate_pair` checks it
        against (no boxes, no closed-set options).

    Raises:
        ReplyRejected: If the reply is empty, a refusal, garbled or contradicts the tags.
    """
    pairs = parse_reply(reply, template)
    problems = contradictions(pairs, sample, request.image_role)
    if problems:
        raise ReplyRejected("contradicts_tags", ";".join(problems))
    paraphrase = 0
    if template.reply == "caption":
        paraphrase = draw(config.seed, sample.sample_id, template.id, n=len(template.questions))
        pairs = [(template.questions[paraphrase], pairs[0][1])]
    prefix = " ".join(p for p in (template.task_tag, sensor_tag(sample, 1), "<image>") if p)
    turns: list[Turn] = []
    for i, (question, answer) in enumerate(pairs):
        turns.append(Turn("human", f"{prefix}\n{question}" if i == 0 else question))
        turns.append(Turn("gpt", answer))
    pair = InstructionPair(
        pair_id=caption_pair_id(config.engine, sample.sample_id, template.id, request.key),
        sample_id=sample.sample_id,
        source=sample.source,
        task=template.task,
        template_id=template.id,
        paraphrase_id=paraphrase,
        generator=f"captioner/{config.engine}",
        generator_params=generator_params(config, template, reply, request),
        image_roles=(request.image_role,),
        turns=tuple(turns),
        split=sample.split or "train",
    )
    return pair, TaskValues(values={})


# --------------------------------------------------------------------------- server


def server_command(config: CaptionConfig) -> list[str]:
    """Return the command line that starts the configured server.

    vLLM: ``<python> -m vllm.entrypoints.openai.api_server --model … --served-model-name …``
    (the module form also works with the ``vllm-cpu`` package, whose ``vllm serve`` entry
    point fails); LMDeploy: ``lmdeploy serve api_server <model> --model-name …``.

    Args:
        config: Captioner settings with ``launch`` set.

    Returns:
        The argv list.

    Raises:
        ConfigError: If ``launch`` is missing or incomplete.
    """
    launch = config.launch
    if launch is None:
        raise ConfigError("caption.launch is not set")
    if launch.command:
        return list(launch.command)
    if not launch.model_path:
        raise ConfigError("caption.launch.model_path is not set")
    if config.engine == "vllm":
        return [
            launch.python or sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            launch.model_path,
            "--served-model-name",
            config.model,
            "--host",
            launch.host,
            "--port",
            str(launch.port),
            *(
                ["--revision", config.revision]
                if config.revision not in ("", "main", "local")
                else []
            ),
            *launch.extra_args,
        ]
    if config.engine == "lmdeploy":
        return [
            "lmdeploy",
            "serve",
            "api_server",
            launch.model_path,
            "--model-name",
            config.model,
            "--server-name",
            launch.host,
            "--server-port",
            str(launch.port),
            *(
                ["--revision", config.revision]
                if config.revision not in ("", "main", "local")
                else []
            ),
            *launch.extra_args,
        ]
    raise ConfigError(f"caption.launch: cannot start engine {config.engine!r}; give launch.command")


class ServerError(RuntimeError):
    """The server did not start or died while starting."""


class ServerProcess:
    """A server started by the captioner; a context manager that stops it on exit.

    Args:
        config: Captioner settings with ``launch`` set.
    """

    def __init__(self, config: CaptionConfig) -> None:
        if config.launch is None:
            raise ConfigError("caption.launch is not set")
        self.config = config
        self.launch = config.launch
        self.process: subprocess.Popen[bytes] | None = None
        self.startup_s = 0.0

    @property
    def base_url(self) -> str:
        """The API root of the started server."""
        return f"http://{self.launch.host}:{self.launch.port}/v1"

    @property
    def health_url(self) -> str:
        """The URL polled until the server is ready."""
        path = self.launch.health_path or (
            "/health" if self.config.engine == "vllm" else "/v1/models"
        )
        return f"http://{self.launch.host}:{self.launch.port}{path}"

    def start(self) -> ServerProcess:
        """Start the server and wait until it is healthy.

        Returns:
            Itself.

        Raises:
            ServerError: If it exits or is not healthy within ``startup_timeout_s``.
        """
        command = server_command(self.config)
        env = {**os.environ, **self.launch.env}
        out = open(self.launch.log_file, "ab") if self.launch.log_file else subprocess.DEVNULL
        started = time.monotonic()
        log.info("captioner: starting %s", " ".join(command))
        try:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        deadline = started + self.launch.startup_timeout_s
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                raise ServerError(
                    f"server exited with code {code} while starting: {' '.join(command)}"
                    + (f" (log: {self.launch.log_file})" if self.launch.log_file else "")
                )
            if _healthy(self.health_url):
                self.startup_s = time.monotonic() - started
                log.info("captioner: server ready in %.1f s", self.startup_s)
                return self
            time.sleep(0.5)
        self.stop()
        raise ServerError(
            f"server not healthy at {self.health_url} after {self.launch.startup_timeout_s} s"
        )

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop the server (SIGTERM to its process group, then SIGKILL)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
