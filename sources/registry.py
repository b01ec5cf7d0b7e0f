"""The list of sources, by the name used in ``params.yaml`` (``sources.<name>``).

:data:`BUILTIN` is the only list of sources: one line per source, its name and the class name
of its adapter. The folder convention gives the rest: a source ``<name>`` is the package
``eoinstruct.sources.<name>`` holding

- ``adapter.py``: the adapter class (a :class:`~eoinstruct.sources.base.SourceAdapter`);
- ``facts.py``: ``FACTS``, its :class:`~eoinstruct.sources.base.SourceFacts`;
- ``sample.py``: ``write(root, seed)``, the writer of its part of the sample corpus (and,
  optionally, ``NO_OSM``: native ids the synthetic OSM extract must not cover);
- ``download.py`` (optional): ``SPEC``, its
  :class:`~eoinstruct.sources.download.spec.DownloadSpec`.

Modules are imported only when used. A test or a plugin adds a source at run time with
:func:`register_source` (any importable package following the same convention).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from eoinstruct.sources.base import SourceAdapter, SourceFacts

if TYPE_CHECKING:
    from eoinstruct.sources.download.spec import DownloadSpec

BUILTIN: dict[str, str] = {
    "bigearthnet_v1": "BigEarthNetV1",
    "bigearthnet_v2": "BigEarthNetV2",
    "levircd": "LEVIRCD",
    "fmow": "FMoW",
    "dior": "DIOR",
    "dota": "DOTA",
    "quakeset": "QuakeSet",
    "rsvqa": "RSVQA",
    "satlas": "SatlasPretrain",
    "skyscript": "SkyScript",
    "so2sat": "So2Sat",
    "stac": "STACScenes",
    "starcop": "STARCOP",
    "treesatai": "TreeSatAI",
    "xbd": "XBD",
    "hrsid": "HRSID",
    "hit_uav": "HITUAV",
}
"""Built-in sources: name → adapter class in ``eoinstruct.sources.<name>.adapter``."""


@dataclass(frozen=True)
class SourceEntry:
    """One registered source: its name and the package of its folder.

    Attributes:
        name: Source name (``sources.<name>`` in ``params.yaml``).
        package: Importable package holding ``adapter.py``, ``facts.py``, ``sample.py`` and
            optionally ``download.py``.
        adapter: Class name of the adapter in ``<package>.adapter``; empty means the one
            :class:`~eoinstruct.sources.base.SourceAdapter` subclass defined there.
    """

    name: str
    package: str
    adapter: str = ""

    def module(self, part: str) -> ModuleType:
        """Import ``<package>.<part>`` (``adapter``, ``facts``, ``sample``, ``download``)."""
        return importlib.import_module(f"{self.package}.{part}")

    def adapter_class(self) -> type[SourceAdapter]:
        """Return the adapter class.

        Raises:
            LookupError: If ``adapter.py`` defines no adapter class, or several and the entry
                names none.
        """
        module = self.module("adapter")
        if self.adapter:
            named = getattr(module, self.adapter, None)
            if not (inspect.isclass(named) and issubclass(named, SourceAdapter)):
                raise LookupError(f"{module.__name__}.{self.adapter} is not a SourceAdapter class")
            return named
        found = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj)
            and issubclass(obj, SourceAdapter)
            and obj.__module__ == module.__name__
            and not inspect.isabstract(obj)
        ]
        if len(found) != 1:
            raise LookupError(
                f"{module.__name__} defines {len(found)} adapter classes; name one in the "
                f"registry entry of {self.name!r}"
            )
        return found[0]

    def facts(self) -> SourceFacts:
        """Return the source's facts (``FACTS`` of ``facts.py``).

        Raises:
            ValueError: If the facts name another source.
        """
        facts = getattr(self.module("facts"), "FACTS", None)
        if not isinstance(facts, SourceFacts):
            raise LookupError(f"{self.package}.facts has no FACTS = SourceFacts(...)")
        if facts.name != self.name:
            raise ValueError(f"{self.package}.facts names {facts.name!r}, not {self.name!r}")
        return facts

    def writer(self) -> Callable[[Path, int], None]:
        """Return the sample-corpus writer, ``write(root, seed)`` of ``sample.py``."""
        write = getattr(self.module("sample"), "write", None)
        if not callable(write):
            raise LookupError(f"{self.package}.sample has no write(root, seed)")
        return cast(Callable[[Path, int], None], write)

    def has_download(self) -> bool:
        """Whether the source has a ``download.py`` (found without importing it)."""
        return importlib.util.find_spec(f"{self.package}.download") is not None

    def download_spec(self) -> DownloadSpec | None:
        """Return the download spec (``SPEC`` of ``download.py``), or None if there is none."""
        return self.module("download").SPEC if self.has_download() else None


_SOURCES: dict[str, SourceEntry] = {
    name: SourceEntry(name, f"{__package__}.{name}", adapter) for name, adapter in BUILTIN.items()
}


def register_source(name: str, package: str, adapter: str = "") -> SourceEntry:
    """Add a source at run time (a plugin, or a test).

    Args:
        name: Source name; its facts must carry the same name.
        package: Importable package following the folder convention (module docstring).
        adapter: Class name of the adapter in ``<package>.adapter`` (default: the only one).

    Returns:
        The new entry.

    Raises:
        ValueError: If a source of that name is registered already.
    """
    if name in _SOURCES:
        raise ValueError(f"a source named {name!r} is registered already")
    _SOURCES[name] = SourceEntry(name, package, adapter)
    return _SOURCES[name]


def unregister_source(name: str) -> None:
    """Remove a source added with :func:`register_source` (built-ins cannot be removed).

    Raises:
        KeyError: If no source has that name.
        ValueError: If it is a built-in source.
    """
    if name in BUILTIN:
        raise ValueError(f"{name!r} is a built-in source")
    del _SOURCES[name]


def source_names() -> list[str]:
    """Return the names of every registered source, sorted."""
    return sorted(_SOURCES)


def entry(name: str) -> SourceEntry:
    """Return the registry entry of a source.

    Raises:
        KeyError: If no source has that name.
    """
    if name not in _SOURCES:
        raise KeyError(f"unknown source {name!r}; known sources: {', '.join(source_names())}")
    return _SOURCES[name]


def adapter_class(name: str) -> type[SourceAdapter]:
    """Return the adapter class of a source.

    Args:
        name: Source name, e.g. ``xbd``.

    Returns:
        The class.

    Raises:
        KeyError: If no source has that name.
    """
    return entry(name).adapter_class()


def facts(name: str) -> SourceFacts:
    """Return the facts of a source (its ``facts.py``).

    Raises:
        KeyError: If no source has that name.
    """
    return entry(name).facts()


def writer(name: str) -> Callable[[Path, int], None]:
    """Return the sample-corpus writer of a source, ``write(root, seed)``.

    Raises:
        KeyError: If no source has that name.
    """
    return entry(name).writer()


def download_spec(name: str) -> DownloadSpec | None:
    """Return the download spec of a source, or None if it has none.

    Raises:
        KeyError: If no source has that name.
    """
    return entry(name).download_spec()


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
