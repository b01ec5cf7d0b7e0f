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

import functools
import importlib
import importlib.util
import json
import reprlib
import shlex
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from eoinstruct.pipeline.records import Sample

FAILURE_KINDS: tuple[str, ...] = (
    "missing_file",
    "missing_band",
    "malformed_label",
    "bad_metadata",
    "corrupt_raster",
    "network",
)
"""Kinds of :class:`SourceError`; they become the ``failed`` keys in the stage metrics.

``network``: a remote read (STAC API, asset over HTTP) timed out, was refused or reset, or
got HTTP 429/5xx; unlike the others it says nothing about the data, so a later run may
succeed."""


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
        citation: How to cite the dataset, in one line (the README sources table).
        layout: The folder the adapter expects as ``root``, in one line.
        sample_licence: The licence id each sample carries (``metadata.licence``) when it is
            shorter than :attr:`licence` (an SPDX id without the caveat); empty means
            :attr:`licence`. Adapters that know a finer licence per sensor or collection
            write that instead.
        bibtex: BibTeX entries of the paper (and data DOI) to cite, as the corpus card prints
            them; fields that could not be confirmed are left out or marked in a comment.
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
    bibtex: str = ""


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


MESSAGE_CHARS = 2000
"""Longest :class:`SourceError` message kept (the failure ledger stores it)."""

_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxdict = _SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxset = 6
_SHORT_REPR.maxstring = _SHORT_REPR.maxother = 80


def short_repr(value: object, limit: int = 120) -> str:
    """``repr`` of untrusted data, bounded in time and length.

    A plain ``repr`` of a crafted structure (a pickle whose lists share themselves a billion
    times over) never ends; this one shows a few items per level and a few levels.

    Args:
        value: Anything read from a dataset file.
        limit: Characters at most.

    Returns:
        The bounded representation.
    """
    text = _SHORT_REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def json_loads(text: str) -> Any:
    """``json.loads`` of a dataset file, where nesting too deep is a decoding error.

    Python's parser raises ``RecursionError`` on a document nested a thousand levels deep (a
    crafted ``catalog.json`` or label file); here that is a
    :class:`json.JSONDecodeError` like any other malformed JSON, so it fails its unit.

    Args:
        text: The JSON text.

    Returns:
        The parsed value.

    Raises:
        json.JSONDecodeError: If the text is not JSON or is nested too deeply.
    """
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply to parse", "", 0) from None


class SourceError(Exception):
    """One unit of a source cannot be read.

    Attributes:
        kind: One of :data:`FAILURE_KINDS`.
        unit: The unit that failed (filled in by the caller when unknown).
    """

    def __init__(self, kind: str, message: str, unit: str = "") -> None:
        if kind not in FAILURE_KINDS:
            raise ValueError(f"unknown failure kind {kind!r}; expected one of {FAILURE_KINDS}")
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 3] + "..."
        super().__init__(message)
        self.kind = kind
        self.unit = unit


class SourceNotFoundError(FileNotFoundError):
    """The dataset root is missing or does not look like the source's layout.

    Raise it with what is wrong; when it leaves an adapter (its constructor,
    :meth:`~SourceAdapter.list_units` or :meth:`~SourceAdapter.read_unit`) the adapter appends
    what to do (:func:`remedy`), so the one-line message ends with it.

    Attributes:
        remedy: The text appended by the adapter (empty until then).
    """

    remedy: str = ""


def remedy(name: str, root: Path | str, package: str | None = None) -> str:
    """Return what to do about a missing or unrecognised dataset root, in one clause.

    Args:
        name: Source name (``sources.<name>`` in ``params.yaml``).
        root: The root the adapter was given.
        package: The source's package; when it has a ``download.py``, the text ends with the
            ``eoinstruct download`` command (saying when the download needs a manual step).

    Returns:
        E.g. ``point sources.xbd.root in params.yaml at the dataset, set
        sources.xbd.enabled: false, or run eoinstruct download xbd --root data/xbd``.
    """
    settings = f"point sources.{name}.root in params.yaml at the dataset"
    disable = f"set sources.{name}.enabled: false"
    spec = _download_spec(package)
    if spec is None:
        return f"{settings} or {disable}"
    manual = (
        " (after registering with the publisher; it lists the files to fetch by hand)"
        if getattr(spec, "manual", None)
        else ""
    )
    command = f"eoinstruct download {name} --root {shlex.quote(str(root))}"
    return f"{settings}, {disable}, or{manual} run {command}"


def _download_spec(package: str | None) -> object | None:
    """``SPEC`` of ``<package>.download``, or None when the source has no download spec."""
    if not package:
        return None
    try:
        if importlib.util.find_spec(f"{package}.download") is None:
            return None
    except (ImportError, ValueError):  # not a package (an adapter defined in a script)
        return None
    return getattr(importlib.import_module(f"{package}.download"), "SPEC", None)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _adding_remedy(method: _Method) -> _Method:
    """Wrap an adapter method: a :class:`SourceNotFoundError` leaving it ends with the remedy.

    The remedy is appended once, however many wrapped methods the error passes through.
    """

    @functools.wraps(method)
    def wrapper(self: SourceAdapter, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except SourceNotFoundError as exc:
            if not exc.remedy:
                root = getattr(self, "root", None) or (args[0] if args else "<root>")
                package = type(self).__module__.rpartition(".")[0]
                exc.remedy = remedy(self.name, root, package)
                exc.args = (f"{str(exc).rstrip('; ')}; {exc.remedy}", *exc.args[1:])
            raise

    wrapper._adds_remedy = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


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

    _REMEDY_METHODS: ClassVar[tuple[str, ...]] = ("__init__", "list_units", "read_unit")
    """Methods whose :class:`SourceNotFoundError` gets the remedy appended (every subclass)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr in cls._REMEDY_METHODS:
            method = cls.__dict__.get(attr)
            if callable(method) and not getattr(method, "_adds_remedy", False):
                setattr(cls, attr, _adding_remedy(method))

    @_adding_remedy
    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        self.root = Path(root)
        self.options: Mapping[str, Any] = dict(options or {})
        if not self.root.is_dir():
            raise SourceNotFoundError(f"{self.name}: dataset root {self.root} does not exist")

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

    def unit_file_stats(self, unit: str) -> list[tuple[str, int, int]]:
        """Return ``(path, size, mtime_ns)`` for each file of :meth:`unit_files`, in its order.

        The default stats each listed file (one that vanished is left out); an adapter whose
        unit is one folder may override it with a single ``os.scandir`` of that folder.

        Args:
            unit: A unit id from :meth:`list_units`.

        Returns:
            The POSIX path, size in bytes and modification time in nanoseconds of each file.
        """
        found = []
        for path in self.unit_files(unit):
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((path.as_posix(), st.st_size, st.st_mtime_ns))
        return found

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
