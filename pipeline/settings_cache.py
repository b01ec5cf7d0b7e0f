"""Settings without pydantic: the validated-settings cache and what stages need on import.

Every stage is a process of its own, and validating ``params.yaml`` with pydantic costs each
one ≈ 90 ms (importing pydantic, building the section models' schemas). The document rarely
changes between stages, so once it has been validated, its typed sections are stored as plain
data in ``<paths.work>/_state/settings.json``, keyed by a digest of the file's bytes, this
package's version and the source of the models that validated it
(:data:`SCHEMA_MODULES`). A later process loading the same file rebuilds the sections from
that record as :class:`PlainSection` objects — the same attributes, values and
:meth:`~PlainSection.as_dict` as the models — without importing pydantic. Any change of the
file, the version or the models is a miss: the document is validated again, so a bad value
still fails with the same message. The record is written only into a work folder that
already exists, and only when the rebuilt sections equal the models exactly
(:func:`encode_settings`); an unreadable or stale record is ignored.

:func:`require` lives here (and is re-exported by :mod:`eoinstruct.pipeline.settings`) so that
a stage module can import it without pydantic.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import eoinstruct
from eoinstruct.pipeline.errors import ConfigError

__all__ = [
    "PlainSection",
    "cache_file",
    "encode_settings",
    "read_cached",
    "require",
    "settings_key",
    "write_cached",
]

FORMAT = 1
"""Version of the record's layout."""

SCHEMA_MODULES = ("settings.py", "caption/config.py")
"""The files (under ``pipeline/``) whose code decides what a valid document is."""

_PIPELINE = Path(__file__).resolve().parent


def require(section: Any, name: str, origin: str = "params.yaml") -> Any:
    """Return a section a stage needs, or fail with a clear message if it is absent.

    Args:
        section: The typed section (``None`` when the file has none).
        name: Section name.
        origin: Where the parameters came from.

    Returns:
        The section.

    Raises:
        ConfigError: If the section is missing.
    """
    if section is None:
        raise ConfigError(f"{origin}: section {name!r} is missing")
    return section


class PlainSection:
    """A validated section rebuilt from the cache, standing in for its pydantic model.

    Attributes read as the model's fields (and, for ``sources.<name>``, its extra keys) with
    the values the model held; it is immutable, and :meth:`as_dict` equals the model's.
    """

    __slots__ = ("_extra", "_model", "_values")

    def __init__(self, model: str, values: dict[str, Any], extra: list[str] | None = None) -> None:
        """Hold a section's values.

        Args:
            model: Name of the model it stands in for, e.g. ``FilterSettings``.
            values: Field name → value (nested sections as :class:`PlainSection`).
            extra: Which of the values are extra keys (``None``: the model allows none).
        """
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_extra", extra)

    @property
    def model_extra(self) -> dict[str, Any] | None:
        """The extra keys and values, as the model's ``model_extra``."""
        return None if self._extra is None else {k: self._values[k] for k in self._extra}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._model!r} object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{self._model} is frozen: {name} cannot be set")

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlainSection, (self._model, self._values, self._extra))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlainSection):
            return bool(self._model == other._model and self._values == other._values)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._model, json.dumps(self.as_dict(), sort_keys=True)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"{self._model}({fields})"

    def as_dict(self) -> dict[str, Any]:
        """Return the section as plain data (for fingerprints and JSON), as the model does."""
        return _plain(self)  # type: ignore[no-any-return]

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        """The model's ``model_dump`` (both modes alike: every value is plain JSON data)."""
        return _plain(self)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, PlainSection):
        return {k: _plain(v) for k, v in value._values.items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Unsupported(Exception):
    """A value the record cannot hold exactly (the document is then not cached)."""


_SCALARS = (str, int, float, bool, type(None))


def _encode(value: Any) -> Any:
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:  # a section model
        values = {name: _encode(getattr(value, name)) for name in fields}
        extra = getattr(value, "model_extra", None)
        for name, item in (extra or {}).items():
            values[name] = _encode(item)
        return {"s": type(value).__name__, "f": values, "x": None if extra is None else list(extra)}
    if type(value) is dict:
        if not all(type(k) is str for k in value):
            raise _Unsupported("a key that is not a string")
        return {"d": {k: _encode(v) for k, v in value.items()}}
    if type(value) is list:
        return {"l": [_encode(v) for v in value]}
    if type(value) in _SCALARS:
        return {"v": value}
    raise _Unsupported(type(value).__name__)


def _decode(node: Mapping[str, Any]) -> Any:
    if "s" in node:
        return PlainSection(node["s"], {k: _decode(v) for k, v in node["f"].items()}, node["x"])
    if "d" in node:
        return {k: _decode(v) for k, v in node["d"].items()}
    if "l" in node:
        return [_decode(v) for v in node["l"]]
    return node["v"]


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same types, dicts in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (a != a and b != b)  # NaN equals NaN here


def encode_settings(settings: Any) -> Any | None:
    """Return validated settings as the record's plain data, or ``None`` if not exactly kept.

    Args:
        settings: The validated :class:`~eoinstruct.pipeline.settings.Settings`.

    Returns:
        JSON-ready data that :func:`read_cached` rebuilds into sections with the same
        attribute values and ``as_dict()``; ``None`` when a value would not survive
        (e.g. a YAML date inside an adapter's options).
    """
    try:
        encoded = _encode(settings)
        rebuilt = _decode(json.loads(json.dumps(encoded)))
    except (_Unsupported, ValueError, TypeError):
        return None
    if not _same(rebuilt.as_dict(), settings.as_dict()):
        return None
    if not _same(_plain(rebuilt), settings.model_dump()):  # the attributes' values
        return None
    if rebuilt.sources and not all(
        _same(rebuilt.sources[k].model_extra, v.model_extra) for k, v in settings.sources.items()
    ):
        return None
    return encoded


def settings_key(text: bytes) -> str:
    """Digest of a parameters file's bytes, this package's version and the models' source.

    Args:
        text: The file's bytes.

    Returns:
        The hex digest the record is kept under.
    """
    digest = hashlib.sha256(f"eoinstruct {eoinstruct.__version__} {FORMAT}\0".encode())
    for name in SCHEMA_MODULES:
        digest.update((_PIPELINE / name).read_bytes() + b"\0")
    digest.update(text)
    return digest.hexdigest()


def cache_file(raw: Mapping[str, Any]) -> Path | None:
    """Where the record of a document goes: ``<paths.work>/_state/settings.json``.

    Args:
        raw: The parsed document.

    Returns:
        The path, or ``None`` when ``paths.work`` is not a plain string.
    """
    paths = raw.get("paths", {})
    work = paths.get("work", "data/work") if isinstance(paths, Mapping) else None
    return Path(work) / "_state" / "settings.json" if isinstance(work, str) and work else None


def read_cached(raw: Mapping[str, Any], key: str) -> PlainSection | None:
    """Return the sections recorded for ``key``, or ``None`` on a miss.

    Args:
        raw: The parsed document (for the record's place).
        key: :func:`settings_key` of the file.

    Returns:
        The settings rebuilt from the record, or ``None`` when there is none for this key
        or it cannot be read.
    """
    path = cache_file(raw)
    if path is None:
        return None
    try:
        record = json.loads(path.read_bytes())
        if record.get("key") != key:
            return None
        settings = _decode(record["settings"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return settings if isinstance(settings, PlainSection) else None


def write_cached(raw: Mapping[str, Any], key: str, settings: Any) -> bool:
    """Record validated settings for later processes, when the work folder exists.

    Args:
        raw: The parsed document.
        key: :func:`settings_key` of the file.
        settings: The validated settings.

    Returns:
        Whether the record was written (never raises: the record only saves time).
    """
    path = cache_file(raw)
    if path is None or not path.parent.parent.is_dir():
        return False
    encoded = encode_settings(settings)
    if encoded is None:
        return False
    text = json.dumps({"key": key, "settings": encoded}, separators=(",", ":"))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        return False
    return True
