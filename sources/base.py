"""What every source adapter is: a named reader of units (patches, tiles) into samples.

An adapter is constructed with the dataset root as its publisher distributes it and the
adapter's options from ``params.yaml``. :meth:`SourceAdapter.list_units` lists the units in a
deterministic order (the executor splits that list into partitions);
:meth:`SourceAdapter.read_unit` turns one unit into zero or more :class:`~pipeline.records.Sample`
records and raises :class:`SourceError` for bad input, which the ingest stage records as a
failure of that unit instead of crashing the run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
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
class SourceInfo:
    """Facts about a source, declared as data by its adapter (shown in the README table).

    Attributes:
        title: Dataset name and version.
        modalities: Modalities of its samples (values of :data:`~pipeline.records.MODALITIES`).
        sensors: Sensors or platforms.
        bands: The bands the adapter reads.
        gsd: Ground sample distance as text (e.g. ``10 / 20 / 60 m``).
        temporal: ``single`` or ``multi`` (pre/post, time series).
        tasks: Task families its labels support.
        licence: Licence of the data (SPDX id where there is one).
        citation: How to cite the dataset.
        homepage: Where the dataset is described and distributed.
        layout: The folder the adapter expects as ``root``, in one line.
    """

    title: str
    modalities: tuple[str, ...]
    sensors: tuple[str, ...]
    bands: tuple[Band, ...]
    gsd: str
    temporal: str
    tasks: tuple[str, ...]
    licence: str
    citation: str
    homepage: str
    layout: str


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

    Subclasses set :attr:`name`, :attr:`licence` and :attr:`info` and implement
    :meth:`list_units` and :meth:`read_unit`. Paths written into samples are ``root`` joined
    with the path inside the dataset, so a relative ``root`` gives relative,
    machine-independent records.

    Args:
        root: Root folder of the dataset, as extracted from its official archives.
        options: The adapter's options from ``params.yaml`` (``sources.<name>``), minus ``root``.
    """

    name: ClassVar[str]
    licence: ClassVar[str]
    info: ClassVar[SourceInfo]

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
