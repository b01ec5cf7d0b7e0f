"""Servers for the captioner tests: a real vLLM on the CPU and a fault-injecting stub.

- :func:`start_vllm` builds the tiny random-weight LLaVA model (``tests/tiny_vlm``) with the
  interpreter of ``.venv-vllm`` (the separate environment of ``requirements-vllm.txt``) and
  starts ``python -m vllm.entrypoints.openai.api_server`` from it through the captioner's own
  launcher (:class:`pipeline.caption.server.ServerProcess`), once per test session. Without
  ``.venv-vllm`` the tests that need it skip, unless ``EOINSTRUCT_REQUIRE_VLLM=1`` (set in
  CI), which turns the skip into a failure.
- :class:`StubServer` is a tiny OpenAI-compatible chat-completions server in a thread. What it
  does with a request is steered by a ``fault:`` line of the request's user text
  (:data:`FAULT_LINE`): the n-th request of that prompt gets action n (the last one
  repeats). Actions: ``ok`` (a valid reply: caption JSON when the request's schema is named
  ``caption``, else QA JSON), ``500``, ``429`` (with ``Retry-After:
  1``), ``timeout`` (no answer before
  the client gives up), ``drop`` (connection closed without a response), ``malformed`` (a
  non-JSON body), ``empty`` (empty content), ``refusal``, ``garbled``. It counts requests per
  prompt key (SHA-256 of the request's messages), which is how the tests see repeats. Its
  replies carry ``system_fingerprint`` and ``usage`` and ``GET /version`` answers
  :data:`STUB_VERSION`, like vLLM's.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
VLLM_VENV = Path(os.environ.get("EOINSTRUCT_VLLM_VENV", REPO / ".venv-vllm"))
REQUIRE_ENV = "EOINSTRUCT_REQUIRE_VLLM"
SERVED_NAME = "tiny-vlm"

_SHIM = '''"""Test-only: define torchvision's nms/qnms op schemas (PyPI torchvision: CUDA build)."""
import torch

for _name, _args in (
    ("nms", "Tensor dets, Tensor scores, float iou_threshold"),
    ("qnms", "Tensor qdets, Tensor scores, float iou_threshold"),
):
    try:
        torch.library.define(f"torchvision::{_name}", f"({_args}) -> Tensor")
    except RuntimeError:
        pass
'''


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vllm_python() -> Path:
    """Return the vLLM environment's interpreter; skip (fail if ``EOINSTRUCT_REQUIRE_VLLM=1``)."""
    python = VLLM_VENV / "bin" / "python"
    if not python.is_file():
        message = (
            f"no vLLM environment at {VLLM_VENV}: create it with `python3 -m venv .venv-vllm && "
            ".venv-vllm/bin/pip install -r requirements-vllm.txt` (docs/captioner.md)"
        )
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
        pytest.skip(message)
    return python


class VllmServer:
    """A running vLLM server with the tiny model.

    Attributes:
        base_url: API root (``http://127.0.0.1:<port>/v1``).
        model: The served model name.
        revision: ``sha256:`` digest of the model folder (its pinned revision).
        launch: How it was started (model folder, interpreter, environment): what the offline
            engine needs to load the same model.
        version: What the server's ``/version`` says.
        startup_s: Seconds from launch to a healthy ``/health``.
        log_file: The server's output.
    """

    def __init__(
        self, process: Any, base_url: str, startup_s: float, log_file: Path, revision: str
    ) -> None:
        import urllib.request

        self.process = process
        self.launch = process.launch
        self.base_url = base_url
        self.model = SERVED_NAME
        self.revision = revision
        self.startup_s = startup_s
        self.log_file = log_file
        root = base_url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/version", timeout=10) as response:
            self.version = str(json.loads(response.read())["version"])

    def metric(self, name: str) -> float:
        """Sum of a Prometheus counter at ``/metrics`` (e.g. ``vllm:request_success_total``)."""
        import urllib.request

        root = self.base_url.removesuffix("/v1")
        with urllib.request.urlopen(f"{root}/metrics", timeout=10) as response:
            text = response.read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") or line.startswith(name + " "):
                total += float(line.rsplit(" ", 1)[1])
        return total


def start_vllm(tmp: Path) -> VllmServer:
    """Build the tiny model and start vLLM on it (once per session; stop: ``.process.stop()``).

    Args:
        tmp: A session temporary folder.

    Returns:
        The running server.
    """
    import subprocess

    from eoinstruct.pipeline.caption.config import CaptionConfig, LaunchConfig, weights_digest
    from eoinstruct.pipeline.caption.server import ServerProcess

    python = vllm_python()
    model_dir = tmp / "tiny_vlm"
    subprocess.run(
        [str(python), str(REPO / "tests" / "tiny_vlm" / "build_model.py"), str(model_dir)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    shim = tmp / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(_SHIM)
    (tmp / "vllm-cache").mkdir(exist_ok=True)
    (tmp / "hf").mkdir(exist_ok=True)
    log_file = tmp / "vllm.log"
    config = CaptionConfig(
        enabled=True,
        engine="vllm",
        model=SERVED_NAME,
        revision=weights_digest(model_dir),
        launch=LaunchConfig(
            model_path=str(model_dir),
            python=str(python),
            port=free_port(),
            extra_args=(
                "--dtype",
                "float32",
                "--max-model-len",
                "2048",
                "--enforce-eager",
                "-O0",
                "--structured-outputs-config",
                '{"backend": "xgrammar", "disable_any_whitespace": true}',
            ),
            env={
                "PYTHONPATH": str(shim),
                "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
                "VLLM_CPU_KVCACHE_SPACE": "1",
                "VLLM_CACHE_ROOT": str(tmp / "vllm-cache"),
                "VLLM_NO_USAGE_STATS": "1",
                "HF_HUB_OFFLINE": "1",
                "HF_HOME": str(tmp / "hf"),
            },
            startup_timeout_s=300,
            log_file=str(log_file),
        ),
    )
    process = ServerProcess(config)
    try:
        process.start()
    except Exception:
        tail = log_file.read_text(errors="replace")[-3000:] if log_file.exists() else ""
        raise RuntimeError(f"vLLM did not start; log tail:\n{tail}") from None
    return VllmServer(process, process.base_url, process.startup_s, log_file, config.revision)


# --------------------------------------------------------------------------- stub server

QA_REPLY = {"pairs": [{"question": "What is shown?", "answer": "Farmland with a road."}]}
CAPTION_REPLY = {"caption": "Farmland next to a road."}
STUB_VERSION = "stub-1.0"
STUB_FINGERPRINT = "stub-fp-1"
FAULT_LINE = re.compile(r"fault:([a-z0-9,]+)")
"""The fault plan in a request's text: the tests put ``fault:<a>,<b>`` in a sample's sensor
name, which the prompt's image line shows."""


def _prompt_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        else:
            parts.extend(p.get("text", "") for p in content if p.get("type") == "text")
    return "\n".join(parts)


class StubServer:
    """A chat-completions stub in a thread (see the module docstring).

    Args:
        delay_s: Seconds to wait before answering an ``ok`` request.
        hang_s: How long a ``timeout`` request hangs.
    """

    def __init__(self, delay_s: float = 0.0, hang_s: float = 5.0) -> None:
        self.delay_s = delay_s
        self.hang_s = hang_s
        self.requests: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.active = 0  # requests being handled now
        self.peak_active = 0
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/version":
                    self._send(200, json.dumps({"version": STUB_VERSION}).encode())
                else:
                    self._send(200, b'{"status": "ok"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with stub.lock:
                    stub.active += 1
                    stub.peak_active = max(stub.peak_active, stub.active)
                    stub.bodies.append(body)
                try:
                    stub.handle(self, body)
                finally:
                    with stub.lock:
                        stub.active -= 1

            def _send(
                self, status: int, payload: bytes, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """API root of the stub."""
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @staticmethod
    def key(body: dict[str, Any]) -> str:
        """Key of a request: SHA-256 of its messages (prompt and image)."""
        return hashlib.sha256(json.dumps(body.get("messages"), sort_keys=True).encode()).hexdigest()

    def handle(self, handler: Any, body: dict[str, Any]) -> None:
        """Answer one request according to its fault plan."""
        key = self.key(body)
        with self.lock:
            n = self.requests[key]
            self.requests[key] += 1
        match = FAULT_LINE.search(_prompt_text(body))
        plan = match.group(1).split(",") if match else ["ok"]
        action = plan[min(n, len(plan) - 1)].strip()
        if action == "500":
            handler._send(500, b'{"error": "boom"}')
            return
        if action == "429":
            handler._send(429, b'{"error": "slow down"}', {"Retry-After": "1"})
            return
        if action == "timeout":
            time.sleep(self.hang_s)
            handler.close_connection = True
            return
        if action == "drop":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if action == "malformed":
            handler._send(200, b'{"choices": [ {"mess')
            return
        schema = (body.get("response_format") or {}).get("json_schema") or {}
        ok = CAPTION_REPLY if schema.get("name") == "caption" else QA_REPLY
        content = {
            "ok": json.dumps(ok),
            "empty": "",
            "refusal": "I'm sorry, but I cannot help with that image.",
            "garbled": '{"pairs": [{"question": "What',
        }.get(action, json.dumps(ok))
        if self.delay_s:
            time.sleep(self.delay_s)
        reply = {
            "id": "stub",
            "object": "chat.completion",
            "model": body.get("model"),
            "system_fingerprint": STUB_FINGERPRINT,
            "usage": {"prompt_tokens": 11, "completion_tokens": len(content), "total_tokens": 0},
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
        }
        handler._send(200, json.dumps(reply).encode())
        with self.lock:
            self.answered[key] += 1

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
