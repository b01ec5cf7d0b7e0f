"""The offline batch engine (``engine: vllm_offline``): vLLM's ``LLM.chat``, no server.

For a one-off corpus build on machines one controls, a server and its HTTP round trips are
not needed: :class:`OfflineEngine` writes the requests that are not cached yet to a JSONL file
and runs :mod:`~eoinstruct.pipeline.caption.vllm_batch` with the interpreter of the
environment that has vLLM (``caption.launch.python``; vLLM is not a dependency of this
project), which loads the model once (``LLM(model=launch.model_path, **launch.engine_kwargs)``)
and answers the requests in batches of ``launch.batch_size``. The replies are the same
:class:`~eoinstruct.pipeline.caption.cache.Reply` the server client returns (same prompts,
same chat template, same guided decoding, so the same pairs), with the provenance the engine
has: the configured model name as ``served_model``, token usage, ``vllm.__version__`` as the
engine version; there is no ``system_fingerprint``.

Replies are stored in the request cache while the worker runs (it flushes after every batch;
the engine reads complete lines as they appear), so a killed run loses at most one batch. A
worker that exits with an error fails the requests it did not answer (``engine_error``, with
the tail of its log).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.caption.cache import Reply, RequestCache
from eoinstruct.pipeline.caption.client import ClientCounters, RequestFailure, split_cached
from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.caption.prompts import CaptionRequest
from eoinstruct.pipeline.config import ConfigError

log = logging.getLogger(__name__)

WORKER = Path(__file__).with_name("vllm_batch.py")
"""The worker script (standard library and vLLM only)."""

POLL_S = 0.5
"""How often the engine reads the worker's new replies."""


def worker_request(request: CaptionRequest) -> dict[str, Any]:
    """Return the worker's form of a request: messages, sampling fields and schema apart."""
    body = dict(request.body)
    messages = body.pop("messages")
    body.pop("model", None)
    response_format = body.pop("response_format", None) or {}
    schema = (response_format.get("json_schema") or {}).get("schema")
    return {"key": request.key, "messages": messages, "sampling": body, "schema": schema}


def _reply(data: dict[str, Any]) -> Reply:
    return Reply(
        content=str(data.get("text") or ""),
        finish_reason=str(data.get("finish_reason") or ""),
        base_url_index=0,
        served_model=str(data.get("served_model") or ""),
        prompt_tokens=int(data.get("prompt_tokens", -1)),
        completion_tokens=int(data.get("completion_tokens", -1)),
        engine_version=str(data.get("engine_version") or ""),
    )


class OfflineEngine:
    """Replies from vLLM's offline ``LLM.chat`` in a subprocess, with the request cache.

    Args:
        config: Captioner settings (``engine: vllm_offline`` with ``launch.model_path`` and
            ``launch.python``).
        cache: The request cache (``None``: no caching).
    """

    def __init__(self, config: CaptionConfig, cache: RequestCache | None) -> None:
        if config.launch is None or not config.launch.model_path:
            raise ConfigError("caption: engine vllm_offline needs launch.model_path")
        self.config = config
        self.launch = config.launch
        self.cache = cache
        self.counters = ClientCounters()

    def command(self, requests_file: Path, replies_file: Path) -> list[str]:
        """Return the worker's command line."""
        return [
            self.launch.python or "python",
            str(WORKER),
            "--model",
            self.launch.model_path,
            "--served-model-name",
            self.config.model,
            "--requests",
            str(requests_file),
            "--replies",
            str(replies_file),
            "--engine-kwargs",
            json.dumps(dict(self.launch.engine_kwargs)),
            "--batch-size",
            str(self.launch.batch_size),
        ]

    def fetch_sync(self, requests: Sequence[CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        """Get the replies of several requests (cached ones without asking).

        Args:
            requests: The requests.

        Returns:
            Reply or failure by cache key.
        """
        results, todo = split_cached(requests, self.cache, self.counters)
        if todo:
            results.update(self._run(todo))
        return results

    def _run(self, todo: dict[str, CaptionRequest]) -> dict[str, Reply | RequestFailure]:
        results: dict[str, Reply | RequestFailure] = {}
        with tempfile.TemporaryDirectory(prefix="eoinstruct-vllm-") as tmp:
            folder = Path(tmp)
            requests_file, replies_file = folder / "requests.jsonl", folder / "replies.jsonl"
            with open(requests_file, "w", encoding="utf-8") as handle:
                for request in todo.values():
                    handle.write(json.dumps(worker_request(request), ensure_ascii=False) + "\n")
            replies_file.touch()
            log_file = Path(self.launch.log_file) if self.launch.log_file else folder / "log"
            command = self.command(requests_file, replies_file)
            log.info("captioner: %d requests to %s", len(todo), " ".join(command))
            self.counters.attempts += len(todo)
            with open(log_file, "ab") as out, open(replies_file, encoding="utf-8") as replies:
                process = subprocess.Popen(
                    command,
                    env={**os.environ, **self.launch.env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                pending = ""
                while True:
                    done = process.poll() is not None
                    pending += replies.read()
                    *lines, pending = pending.split("\n")
                    for line in lines:
                        self._store(json.loads(line), todo, results)
                    if done:
                        break
                    time.sleep(POLL_S)
            if process.returncode != 0 or len(results) < len(todo):
                tail = log_file.read_text(errors="replace")[-1500:]
                message = f"vLLM offline worker exited with {process.returncode}: {tail}"
                for key in todo:
                    if key not in results:
                        results[key] = RequestFailure("engine_error", message, 1)
                        self.counters.failures += 1
        return results

    def _store(
        self,
        data: dict[str, Any],
        todo: dict[str, CaptionRequest],
        results: dict[str, Reply | RequestFailure],
    ) -> None:
        key = str(data.get("key"))
        if key not in todo:
            return
        reply = _reply(data)
        if self.cache is not None:
            self.cache.put(key, reply)
        self.counters.replies += 1
        results[key] = reply
