"""What every source adapter is: a named reader of units (patches, tiles) into samples.

An adapter is constructed with the dataset root as its publisher distributes it and the
adapter's options from ``params.yaml``. :meth:`SourceAdapter.list_units` lists the units in a
deterministic order (the executor splits that list into partitions);
:meth:`SourceAdapter.read_unit` turns one unit into zero or more
:class:`~eoinstruct.pipeline.records.Sample`
records and raises :class:`SourceError` for bad input, which the ingest stage records as a
failure of that unit instead of crashing the run. What is known about a source (title, bands,
licence…) is a :class:`SourceFacts`, stated once in the source's ``facts.py``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from eoinstruct.pipeline.records import Sample

FAILURE_KINDS: tuple[str, ...] = (
    "missing_file",
    "missing_band",
    "malformed_label",
    "bad_metadata",
    "corrupt_raster",
)
"""Kinds of :class:`SourceError`; they become the ``failed`` keys in the stage metrics."""


@dataclass(frozen=True)
class Band:
    """One band of a sensor, as a source distributes it.

    Attributes:
        name: Band name as used in file names or asset keys (``B04``, ``VV``, ``tci``).
        description: What the band is (``red``, ``VV backscatter``…).
        wavelength_nm: Centre wavelength in nanometres (None for SAR and composites).
        gsd_m: Ground sample distance of the band in metres, where fixed.
    """

    name: str
    description: str = ""
    wavelength_nm: float | None = None
    gsd_m: float | None = None


@dataclass(frozen=True)
class SourceFacts:
    """Facts about a source, stated once, in ``sources/<name>/facts.py`` as ``FACTS``.

    The adapter (its :attr:`SourceAdapter.name` and :attr:`SourceAdapter.licence`), the
    download spec (``sources/<name>/download.py``), the README sources table
    (:mod:`~eoinstruct.sources.table`) and the corpus card all read this one declaration.

    Attributes:
        name: Source name: the registry key and the ``params.yaml`` section
            ``sources.<name>``.
        title: Dataset name and version.
        homepage: Where the dataset is described and distributed.
        modalities: Modalities of its samples (values of
            :data:`~eoinstruct.pipeline.records.MODALITIES`).
        sensors: Sensors or platforms.
        bands: The bands the adapter reads.
        gsd: Ground sample distance as text (e.g. ``10 / 20 / 60 m``).
        temporal: ``single`` or ``multi`` (pre/post, time series).
        tasks: Task families its labels support.
        licence: Licence of the data as the README, the corpus card and ``eoinstruct download
            --list`` state it (SPDX id where there is one, with any caveat).
        citation: How to cite the dataset.
        layout: The folder the adapter expects as ``root``, in one line.
        sample_licence: The licence id each sample carries (``metadata.licence``) when it is
            shorter than :attr:`licence` (an SPDX id without the caveat); empty means
            :attr:`licence`. Adapters that know a finer licence per sensor or collection
            write that instead.
    """

    name: str
    title: str
    homepage: str
    modalities: tuple[str, ...]
    sensors: tuple[str, ...]
    bands: tuple[Band, ...]
    gsd: str
    temporal: str
    tasks: tuple[str, ...]
    licence: str
    citation: str
    layout: str
    sample_licence: str = ""


class _DeclaredFacts:
    """Class attribute: the ``FACTS`` of a source package's ``facts`` module, read on use."""

    def __init__(self, package: str) -> None:
        self.module = f"{package}.facts"

    def __get__(self, obj: object, owner: type | None = None) -> SourceFacts:
        facts = getattr(importlib.import_module(self.module), "FACTS", None)
        if not isinstance(facts, SourceFacts):
            raise TypeError(f"{self.module}.FACTS must be a SourceFacts")
        return facts


def facts_of(package: str | None) -> SourceFacts:
    """Declare in an adapter class that its facts are ``FACTS`` of ``<package>.facts``.

    Written ``facts = facts_of(__package__)`` in the class body. The facts module may import
    the adapter module (for the band tables the adapter reads), so it is imported when the
    facts are first read, not here.

    Args:
        package: The source's package (``__package__`` of the adapter module).

    Returns:
        A class attribute that reads as the :class:`SourceFacts`.
    """
    if not package:
        raise ValueError("facts_of(__package__) must be used in a module of a source package")
    return _DeclaredFacts(package)  # type: ignore[return-value]


class _FromFacts:
    """Class attribute of an adapter read from its facts (one field, or a function of them)."""

    def __init__(self, read: Callable[[SourceFacts], str]) -> None:
        self.read = read

    def __get__(self, obj: object, owner: type[SourceAdapter] | None = None) -> str:
        cls = owner if owner is not None else type(obj)
        return self.read(cls.facts)


class SourceError(Exception):
    """One unit of a source cannot be read.

    Attributes:
        kind: One of :data:`FAILURE_KINDS`.
        unit: The unit that failed (filled in by the caller when unknown).
    """

    def __init__(self, kind: str, message: str, unit: str = "") -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; expected one of {FAILURE_KINDS}")
        super().__init__(message)
        self.kind = kind
        self.unit = unit


class SourceNotFoundError(FileNotFoundError):
    """The dataset root is missing or does not look like the source's layout."""


class SourceAdapter(ABC):
    """Base class of a source adapter.

    Subclasses set :attr:`facts` (``facts = facts_of(__package__)``: the source's
    ``facts.py``), from which :attr:`name` and :attr:`licence` are read, and implement
    :meth:`list_units` and :meth:`read_unit`. Paths written into samples are ``root`` joined
    with the path inside the dataset, so a relative ``root`` gives relative,
    machine-independent records.

    Args:
        root: Root folder of the dataset, as extracted from its official archives.
        options: The adapter's options from ``params.yaml`` (``sources.<name>``), minus ``root``.
    """

    facts: ClassVar[SourceFacts]
    """The source's facts (its ``facts.py``)."""
    name: ClassVar[str] = _FromFacts(lambda facts: facts.name)  # type: ignore[assignment]
    """Source name (``facts.name``)."""
    licence: ClassVar[str] = _FromFacts(  # type: ignore[assignment]
        lambda facts: facts.sample_licence or facts.licence
    )
    """Licence id written into the samples (``facts.sample_licence``, else ``facts.licence``)."""

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        self.root = Path(root)
        self.options: Mapping[str, Any] = dict(options or {})
        if not self.root.is_dir():
            raise SourceNotFoundError(
                f"{self.name}: dataset root {self.root} does not exist; download the dataset "
                f"(see README, 'Real datasets') or set sources.{self.name}.root in params.yaml"
            )

    @abstractmethod
    def list_units(self) -> list[str]:
        """List the units of the dataset in a deterministic (sorted) order.

        Returns:
            Unit ids; each is passed to :meth:`read_unit`.

        Raises:
            SourceNotFoundError: If the root does not hold the expected layout.
        """

    def unit_files(self, unit: str) -> list[Path]:
        """List the files a unit is read from, so a re-run notices when they change.

        The default lists the files of the folder ``root/<unit>`` if there is one. Adapters
        whose units are not folders override it.

        Args:
            unit: A unit id from :meth:`list_units`.

        Returns:
            Paths of the unit's files (missing files are simply not listed).
        """
        folder = self.root / unit
        return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    @abstractmethod
    def read_unit(self, unit: str) -> list[Sample]:
        """Read one unit into samples.

        Args:
            unit: A unit id from :meth:`list_units`.

        Returns:
            The samples of the unit (most units give one).

        Raises:
            SourceError: If the unit's files are missing, malformed or inconsistent.
        """
