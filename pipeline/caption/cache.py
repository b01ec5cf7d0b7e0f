"""The request cache: every reply stored as it arrives, by a key over all that shapes it.

**Cache** (:class:`RequestCache`): every successful reply is stored at once, one JSON file per
key, written to a unique temporary name and renamed, so a killed run leaves complete entries
only. The key hashes the engine, the model and its pinned revision (changed weights must not
reuse old replies), the prompt (system and user text), the image's SHA-256, the sampling
parameters, the extra request fields, the tile cap and the ``response_format``: a re-run, or a
resumed run, sends no request whose reply is stored. An entry also keeps what the server said
about the reply (served model, ``system_fingerprint``, token usage, engine version) for
provenance.
Garbled or refused replies are cached too (they are what the model answers for that key);
transport failures are not.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.caption.config import CaptionConfig
from eoinstruct.pipeline.records import to_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reply:
    """A reply of the server (or of the cache).

    Attributes:
        content: The message text (empty when the server sent none).
        finish_reason: ``stop``, ``length``…
        base_url_index: Which of ``base_urls`` answered.
        cached: Read from the cache rather than requested now.
        served_model: The response's ``model`` (what the server says answered).
        system_fingerprint: The response's ``system_fingerprint`` (vLLM: engine version and
            configuration hash), empty when absent.
        prompt_tokens: ``usage.prompt_tokens`` (-1 when absent).
        completion_tokens: ``usage.completion_tokens`` (-1 when absent).
        engine_version: The server's ``/version`` (vLLM), empty when it has none.
    """

    content: str
    finish_reason: str
    base_url_index: int
    cached: bool = False
    served_model: str = ""
    system_fingerprint: str = ""
    prompt_tokens: int = -1
    completion_tokens: int = -1
    engine_version: str = ""


_PROVENANCE_FIELDS = (
    "served_model",
    "system_fingerprint",
    "prompt_tokens",
    "completion_tokens",
    "engine_version",
)


def cache_key(
    config: CaptionConfig,
    system: str,
    user: str,
    image_sha256: str,
    schema: Mapping[str, Any] | None,
) -> str:
    """Return the cache key of a request.

    Args:
        config: Captioner settings (engine, model, revision, sampling, extra request fields).
        system: System message.
        user: User message.
        image_sha256: SHA-256 of the image bytes.
        schema: The ``response_format`` schema, or ``None`` without structured output.

    Returns:
        Hex SHA-256 of the canonical JSON of all of these.
    """
    material = {
        "engine": config.engine,
        "model": config.model,
        "revision": config.revision,
        "system": system,
        "user": user,
        "image_sha256": image_sha256,
        "sampling": config.sampling(),
        "extra_body": dict(config.extra_body),
        "max_dynamic_patch": config.max_dynamic_patch,
        "response_schema": schema,
    }
    return hashlib.sha256(to_json(material).encode()).hexdigest()


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
                served_model=str(data.get("served_model", "")),
                system_fingerprint=str(data.get("system_fingerprint", "")),
                prompt_tokens=int(data.get("prompt_tokens", -1)),
                completion_tokens=int(data.get("completion_tokens", -1)),
                engine_version=str(data.get("engine_version", "")),
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
            **{name: getattr(reply, name) for name in _PROVENANCE_FIELDS},
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
