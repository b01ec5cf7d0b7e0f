"""Reading ``params.yaml``: the one place stages get their parameters and paths from.

A file validated once is not validated again by later processes while it, this package's
version and the settings models stay the same (:mod:`eoinstruct.pipeline.settings_cache`):
their sections come from the record, and pydantic is not imported.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from eoinstruct.pipeline.errors import ConfigError
from eoinstruct.pipeline.settings_cache import read_cached, settings_key, write_cached

if TYPE_CHECKING:
    from eoinstruct.pipeline.settings import Settings

__all__ = ["DEFAULT_PARAMS", "ConfigError", "Params", "load_params", "parse_override"]

DEFAULT_PARAMS = Path("params.yaml")


@dataclass(frozen=True)
class Params:
    """The parsed ``params.yaml``.

    Attributes:
        raw: The whole YAML document.
        path: Where it was read from.
        validated: The document's settings when already known to be valid (from the
            validated-settings record, see :func:`load_params`); not part of equality.
    """

    raw: Mapping[str, Any]
    path: Path
    validated: Any = field(default=None, compare=False, repr=False)

    @functools.cached_property
    def settings(self) -> Settings:
        """The whole document, validated and typed (:mod:`eoinstruct.pipeline.settings`).

        Settings rebuilt from the record (:mod:`eoinstruct.pipeline.settings_cache`) have the
        same attributes and ``as_dict()`` as the models.

        Raises:
            ConfigError: Naming every bad key.
        """
        if self.validated is not None:
            return self.validated  # type: ignore[no-any-return]
        from eoinstruct.pipeline.settings import validate_settings

        return validate_settings(self.raw, str(self.path))

    def section(self, name: str) -> Mapping[str, Any]:
        """Return a top-level section.

        Args:
            name: Section name, e.g. ``filter``.

        Returns:
            The section mapping.

        Raises:
            ConfigError: If the section is missing or not a mapping.
        """
        value = self.raw.get(name)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.path}: section {name!r} is missing or not a mapping")
        return value

    def path_of(self, key: str) -> Path:
        """Return ``paths.<key>`` as a path.

        Args:
            key: One of ``sample``, ``work``, ``corpus``, ``metrics``.

        Returns:
            The path (relative paths are relative to the working directory).
        """
        paths = self.section("paths")
        if key not in paths:
            raise ConfigError(f"{self.path}: paths.{key} is not set")
        return Path(str(paths[key]))

    def with_section(self, name: str, value: Mapping[str, Any]) -> Params:
        """Return a copy with one top-level section replaced (e.g. CLI overrides).

        Args:
            name: Section name.
            value: The new section.

        Returns:
            The new parameters.
        """
        return Params(raw={**self.raw, name: dict(value)}, path=self.path)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Params:
        """Return a copy with dotted keys set (``{"filter.min_tags": 2}``), checked again.

        Args:
            overrides: Dotted key → value; intermediate sections are created when missing.

        Returns:
            The new parameters (validated as a whole).

        Raises:
            ConfigError: If a key does not name a setting or a value is invalid.
        """
        raw: dict[str, Any] = _deep_copy(self.raw)
        for dotted, value in overrides.items():
            parts = dotted.split(".")
            if not all(parts):
                raise ConfigError(f"--set {dotted}: not a dotted key like filter.min_tags")
            node = raw
            for part in parts[:-1]:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                if not isinstance(child, dict):
                    raise ConfigError(f"--set {dotted}: {part} is not a section")
                node = child
            node[parts[-1]] = value
        params = Params(raw=raw, path=self.path)
        _ = params.settings
        return params

    def work_dir(self, stage: str) -> Path:
        """Return the intermediate folder of a stage, ``<paths.work>/<stage>``."""
        return self.path_of("work") / stage

    def state_dir(self, stage: str) -> Path:
        """Return a stage's local state folder, ``<paths.work>/_state/<stage>``.

        It holds the fingerprints and timings of finished partitions: bookkeeping for resumed
        runs, not an output (DVC does not track it).
        """
        return self.path_of("work") / "_state" / stage


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set section.key=value``; the value is YAML (``2``, ``true``, ``[a, b]``).

    Args:
        text: ``section.key=value``.

    Returns:
        The dotted key and the value.

    Raises:
        ConfigError: If there is no ``=`` or the value is not valid YAML.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {text!r}: expected section.key=value")
    try:
        return key.strip(), yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML ({exc})") from None


_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FAST_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's safe emitter where PyYAML was built with it (the same text, ≈ 4x faster), else
PyYAML's own."""


def safe_load_yaml(text: str) -> Any:
    """Parse YAML like :func:`yaml.safe_load`, with libyaml's C parser where PyYAML has it.

    The same safe constructor and resolver build the same values; only the scanning and
    parsing run in C (a params.yaml or prompt file in ~2 ms instead of ~30 ms of every stage's
    start-up).

    Args:
        text: The document.

    Returns:
        The parsed document.

    Raises:
        yaml.YAMLError: If the text is not valid YAML.
    """
    return yaml.load(text, Loader=_FAST_LOADER)


def load_params(path: Path = DEFAULT_PARAMS) -> Params:
    """Load ``params.yaml``.

    Args:
        path: The file to read.

    Returns:
        The parameters.

    Raises:
        ConfigError: If the file is missing, not a YAML mapping, or holds a bad value
            anywhere (every section is checked now, before any stage runs).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} not found: run from the repository root or pass --params")
    data = path.read_bytes()
    text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
    try:
        raw = safe_load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    key = settings_key(data)
    known = read_cached(raw, key)
    if known is not None:  # validated before, by this version: the same settings
        return Params(raw=raw, path=path, validated=known)
    params = Params(raw=raw, path=path)
    write_cached(raw, key, params.settings)  # the whole file is checked before any stage runs
    return params
