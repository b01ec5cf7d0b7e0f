"""Settings of the captioner: the ``caption`` section of ``params.yaml`` and its ``launch``."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.errors import ConfigError

log = logging.getLogger(__name__)

ENGINES: tuple[str, ...] = ("vllm", "lmdeploy", "openai", "vllm_offline")
"""Allowed values of ``caption.engine`` (``vllm_offline``: vLLM's ``LLM.chat``, no server)."""

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
"""A pinned hub revision: a full commit hash."""

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
"""A pinned local model: :func:`weights_digest` of its folder."""

RESERVED_BODY_KEYS = frozenset({"model", "messages"})
"""Request fields ``caption.extra_body`` may not set."""


def is_pinned(revision: str) -> bool:
    """Return whether a revision names fixed weights (a commit hash or a folder digest)."""
    return bool(COMMIT_RE.match(revision) or DIGEST_RE.match(revision))


def weights_digest(folder: Path | str) -> str:
    """Return ``sha256:<hex>`` over a local model folder: every file's relative path and bytes.

    Use it as ``caption.revision`` for a model served from a local folder, so that changed
    weights change the cache key.

    Args:
        folder: The model folder.

    Returns:
        The digest.
    """
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


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
        engine_kwargs: ``engine: vllm_offline``: keyword arguments of ``vllm.LLM``
            (``dtype``, ``max_model_len``, ``structured_outputs_config``…).
        batch_size: ``engine: vllm_offline``: requests per ``LLM.chat`` call (replies are
            stored after each).
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
    engine_kwargs: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 256

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
            engine_kwargs={str(k): v for k, v in (data.get("engine_kwargs") or {}).items()},
            batch_size=int(data.get("batch_size", 256)),
        )


@dataclass(frozen=True)
class CaptionConfig:
    """The ``caption`` section of ``params.yaml`` (see ``docs/captioner.md``).

    Attributes:
        enabled: Run the captioner; when false the stage writes empty outputs.
        base_urls: OpenAI-compatible API roots (``http://host:8000/v1``), one per server.
        model: Model name as the server knows it (``--served-model-name``).
        revision: The weights: a 40-hex hub commit, or ``sha256:<hex>``
            (:func:`weights_digest`) of a local folder; part of the cache key. Anything else
            (``main``, a tag, empty) is refused when enabled unless ``allow_unpinned_revision``.
        allow_unpinned_revision: Run with an unpinned revision (a warning is logged).
        engine: ``vllm``, ``lmdeploy``, ``openai`` (servers) or ``vllm_offline`` (vLLM's
            ``LLM.chat`` in a subprocess, ``launch.python``; recorded in ``generator``).
        api_key_env: Name of an environment variable holding a bearer token (optional).
        concurrency: Requests kept in flight (over all servers), across partitions: size it
            to the server's batch (vLLM's ``--max-num-seqs``, 256 by default; 128 here).
        timeout_s: Timeout of one request, seconds.
        retries: Retries after the first attempt on transient errors.
        backoff_s: First backoff; attempt ``k`` waits ``backoff_s * 2**k`` (plus jitter).
        max_failure_rate: Largest share of the captioned samples that may fail (transport
            errors, after their retries) before the stage exits non-zero; failed samples are
            asked again by the next run either way.
        circuit_breaker: Consecutive failed attempts (connection errors, timeouts, 5xx), with
            no reply in between, after which the server counts as down: the run stops asking
            and exits with one message (0: never).
        temperature: Sampling temperature.
        top_p: Nucleus sampling; ``None`` to leave the server's default.
        max_tokens: Reply length limit, tokens; the reply schema is sized to close inside it.
        chars_per_token: Characters per token assumed when sizing the schema (1: every reply
            closes inside ``max_tokens``; see :mod:`~eoinstruct.pipeline.caption.schema`).
        seed: Sampling seed sent with every request (and the draws of templates, regions and
            caption questions).
        structured_output: Send ``response_format`` ``json_schema`` (guided decoding).
        prompt_template: A mix of ``prompts_file`` (a template drawn per sample) or one
            template id.
        prompts_file: The prompt template file (default ``templates/captioner/prompts.yaml``).
        tag_policy_file: Which tags a prompt shows (default
            ``templates/captioner/tag_policy.yaml``).
        max_dynamic_patch: Most InternVL tiles (256 image tokens each) an image may cost: the
            image sent is downscaled to fit (:mod:`~eoinstruct.pipeline.caption.tiles`); start
            vLLM with ``--mm-processor-kwargs '{"max_dynamic_patch": N}'`` for the same cap on
            images far from square; 0: no cap.
        extra_body: Fields merged into every request body (e.g. vLLM's
            ``mm_processor_kwargs``); part of the cache key. ``model`` and ``messages`` may not
            be set.
        sources: Sources whose samples are captioned.
        cache_dir: Folder of the request cache.
        launch: Start and stop a server (``None``: use running servers).
    """

    enabled: bool = False
    base_urls: tuple[str, ...] = ("http://127.0.0.1:8000/v1",)
    model: str = "OpenGVLab/InternVL2-4B"
    revision: str = ""
    allow_unpinned_revision: bool = False
    engine: str = "vllm"
    api_key_env: str = ""
    concurrency: int = 128
    timeout_s: float = 120.0
    retries: int = 3
    backoff_s: float = 1.0
    max_failure_rate: float = 0.1
    circuit_breaker: int = 20
    temperature: float = 0.0
    top_p: float | None = None
    max_tokens: int = 1024
    chars_per_token: float = 1.0
    seed: int = 0
    structured_output: bool = True
    max_dynamic_patch: int = 1
    prompt_template: str = "default"
    prompts_file: str = ""
    tag_policy_file: str = ""
    extra_body: Mapping[str, Any] = field(default_factory=dict)
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
            ConfigError: On unknown keys or bad values, and when enabled with an unpinned
                ``revision`` (unless ``allow_unpinned_revision``).
        """
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"caption: unknown keys {sorted(unknown)}")
        base_urls = data.get("base_urls", cls.base_urls)
        if isinstance(base_urls, str):
            base_urls = [base_urls]
        launch = data.get("launch")
        extra_body = data.get("extra_body") or {}
        if not isinstance(extra_body, Mapping):
            raise ConfigError("caption.extra_body must be a mapping of request fields")
        config = cls(
            enabled=bool(data.get("enabled", False)),
            base_urls=tuple(str(u).rstrip("/") for u in base_urls or ()),
            model=str(data.get("model", cls.model)),
            revision=str(data.get("revision") or ""),
            allow_unpinned_revision=bool(data.get("allow_unpinned_revision", False)),
            engine=str(data.get("engine", cls.engine)),
            api_key_env=str(data.get("api_key_env") or ""),
            concurrency=int(data.get("concurrency", cls.concurrency)),
            timeout_s=float(data.get("timeout_s", cls.timeout_s)),
            retries=int(data.get("retries", cls.retries)),
            backoff_s=float(data.get("backoff_s", cls.backoff_s)),
            max_failure_rate=float(data.get("max_failure_rate", cls.max_failure_rate)),
            circuit_breaker=int(data.get("circuit_breaker", cls.circuit_breaker)),
            temperature=float(data.get("temperature", cls.temperature)),
            top_p=None if data.get("top_p") is None else float(data["top_p"]),
            max_tokens=int(data.get("max_tokens", cls.max_tokens)),
            chars_per_token=float(data.get("chars_per_token", cls.chars_per_token)),
            seed=int(data.get("seed", cls.seed)),
            structured_output=bool(data.get("structured_output", cls.structured_output)),
            max_dynamic_patch=int(data.get("max_dynamic_patch", cls.max_dynamic_patch)),
            prompt_template=str(data.get("prompt_template", cls.prompt_template)),
            prompts_file=str(data.get("prompts_file") or ""),
            tag_policy_file=str(data.get("tag_policy_file") or ""),
            extra_body={str(k): v for k, v in extra_body.items()},
            sources=tuple(str(s) for s in data.get("sources", cls.sources) or ()),
            cache_dir=str(data.get("cache_dir", cls.cache_dir)),
            launch=LaunchConfig.from_mapping(launch) if isinstance(launch, Mapping) else None,
        )
        config.check()
        return config

    def check(self) -> None:
        """Check the values (see :meth:`from_mapping`).

        Raises:
            ConfigError: On a bad value.
        """
        if self.engine not in ENGINES:
            raise ConfigError(f"caption.engine {self.engine!r}: expected one of {ENGINES}")
        if self.enabled and not self.base_urls and self.launch is None:
            raise ConfigError("caption: give base_urls or launch")
        if self.engine == "vllm_offline" and (self.launch is None or not self.launch.model_path):
            raise ConfigError("caption: engine vllm_offline needs launch.model_path (and python)")
        if self.concurrency < 1 or self.retries < 0 or self.timeout_s <= 0:
            raise ConfigError("caption: concurrency >= 1, retries >= 0, timeout_s > 0")
        if not 0.0 <= self.max_failure_rate <= 1.0 or self.circuit_breaker < 0:
            raise ConfigError("caption: 0 <= max_failure_rate <= 1, circuit_breaker >= 0")
        if self.max_dynamic_patch < 0:
            raise ConfigError("caption.max_dynamic_patch must be >= 0 (0: no tile cap)")
        if self.max_tokens < 1:
            raise ConfigError("caption.max_tokens must be positive")
        if not self.chars_per_token > 0:
            raise ConfigError("caption.chars_per_token must be positive")
        extra = self.extra_body.get("mm_processor_kwargs")
        asked = extra.get("max_dynamic_patch") if isinstance(extra, Mapping) else None
        if asked is not None and self.max_dynamic_patch and asked != self.max_dynamic_patch:
            raise ConfigError(
                f"caption.extra_body.mm_processor_kwargs.max_dynamic_patch {asked} differs from "
                f"caption.max_dynamic_patch {self.max_dynamic_patch} (which sizes the image sent)"
            )
        reserved = sorted(RESERVED_BODY_KEYS & set(self.extra_body))
        if reserved:
            raise ConfigError(f"caption.extra_body may not set {reserved}")
        if self.enabled and not is_pinned(self.revision):
            message = (
                f"caption.revision {self.revision!r} does not pin the weights: give the hub "
                "commit hash (40 hex digits) or sha256:<digest> of a local model folder "
                "(pipeline.caption.config.weights_digest)"
            )
            if not self.allow_unpinned_revision:
                raise ConfigError(message + ", or set caption.allow_unpinned_revision: true")
            log.warning("%s; allowed by caption.allow_unpinned_revision", message)

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
            "chars_per_token": self.chars_per_token,
            "structured_output": self.structured_output,
            "max_dynamic_patch": self.max_dynamic_patch,
            "prompt_template": self.prompt_template,
            "extra_body": dict(self.extra_body),
            "sources": list(self.sources),
        }
