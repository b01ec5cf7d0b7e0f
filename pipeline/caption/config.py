"""Settings of the captioner: the ``caption`` section of ``params.yaml`` and its ``launch``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eoinstruct.pipeline.config import ConfigError

ENGINES: tuple[str, ...] = ("vllm", "lmdeploy", "openai")
"""Allowed values of ``caption.engine``."""


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
