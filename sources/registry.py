"""The list of source adapters, by the name used in ``params.yaml`` (``sources.<name>``)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import SourceAdapter

ADAPTERS: dict[str, str] = {
    "bigearthnet_v1": "eoinstruct.sources.bigearthnet_v1.adapter:BigEarthNetV1",
    "xbd": "eoinstruct.sources.xbd.adapter:XBD",
    "skyscript": "eoinstruct.sources.skyscript.adapter:SkyScript",
    "starcop": "eoinstruct.sources.starcop.adapter:STARCOP",
    "quakeset": "eoinstruct.sources.quakeset.adapter:QuakeSet",
    "bigearthnet_v2": "eoinstruct.sources.bigearthnet_v2.adapter:BigEarthNetV2",
    "satlas": "eoinstruct.sources.satlas.adapter:SatlasPretrain",
    "stac": "eoinstruct.sources.stac.adapter:STACScenes",
}
"""Adapter name → ``module:class``; adapters are imported only when used."""


def adapter_class(name: str) -> type[SourceAdapter]:
    """Return the adapter class registered under ``name``.

    Args:
        name: Source name, e.g. ``xbd``.

    Returns:
        The class.

    Raises:
        KeyError: If no adapter has that name.
    """
    if name not in ADAPTERS:
        raise KeyError(f"unknown source {name!r}; known sources: {', '.join(sorted(ADAPTERS))}")
    module, cls = ADAPTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def make_adapter(name: str, options: Mapping[str, Any]) -> SourceAdapter:
    """Build an adapter from its ``params.yaml`` section.

    Args:
        name: Source name.
        options: The section; ``root`` is required, ``enabled`` is ignored, the rest is
            passed to the adapter.

    Returns:
        The adapter.
    """
    if "root" not in options:
        raise KeyError(f"sources.{name}.root is not set in params.yaml")
    rest = {k: v for k, v in options.items() if k not in ("root", "enabled")}
    return adapter_class(name)(Path(str(options["root"])), rest)


def enabled_sources(sources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return the names of the enabled sources of a ``sources`` section, sorted."""
    return sorted(name for name, opts in sources.items() if opts.get("enabled", True))
