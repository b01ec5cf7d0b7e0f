"""Source adapter for SkyScript: one RGB JPEG with its OpenStreetMap tags and captions.

One unit is one image, identified by the ``filepath`` column of the caption CSVs (e.g.
``images2/w779523169_CH_18.jpg``), and gives one :class:`~pipeline.records.Sample`. An image
listed in several CSVs (the top-30 % list is a subset of the top-50 % one) is still one sample.
Reading is metadata-only: the CSV row, the JPEG header and the meta pickle.

Layout facts relied on (``shared/docs/source-formats.md`` §3, which cites
wangzhecheng/SkyScript ``README.md`` and ``image_sources.py``; torchgeo's layout fixture
``tests/data/skyscript`` in ``shared/peer-data`` §1d):

- Images: ``images2/`` … ``images7/`` (one folder per ``imagesN.zip``) of RGB ``.jpg`` files
  named ``<t><osm_id>_<SRC>_<yy>.jpg``: ``<t>`` the OSM element type of the focus object
  (``a`` area, ``w`` way, ``n`` node), ``<SRC>`` the imagery-source code
  (:data:`IMAGERY_SOURCES`), ``<yy>`` the two-digit capture year (README: ``_19`` → 2019).
- Meta: ``meta2/`` … ``meta7/``, one ``<stem>.pickle`` per image: a dict with ``box``
  ``(west, south, east, north)`` in degrees, ``time`` ``(year, month, day, hour, minute)``,
  ``center_tags`` ``{key: value}`` of the focus object and ``surrounding_tags``, a list of
  such dicts, one per surrounding object. The folder names ``metaN/`` are inferred from the
  zip names (UNVERIFIED); meta for ``imagesN/x.jpg`` is looked up at ``metaN/x.pickle``.
- Captions: ``SkyScript_*.csv`` under the root or its ``dataframe/`` folder (the download URL
  path), with columns ``filepath,title,title_multi_objects`` and, in torchgeo's fixture, a
  fourth ``similarity_CLIP_openai``. The split comes from the name: ``SkyScript_train*`` →
  train, ``SkyScript_val*`` → validation, ``SkyScript_test*`` → test.

**Security.** The meta files are Python pickles downloaded from the internet; a pickle can run
any code when loaded. They are read only with :class:`RestrictedUnpickler`, whose
``find_class`` refuses every global: only pickles made of dicts, lists, tuples, strings,
numbers, booleans and ``None`` load, and anything naming a class or function (``os.system``,
``numpy`` scalars…) fails as ``malformed_label`` before it can be called. Files over
:data:`MAX_META_BYTES` are refused unread.

**Scale.** The real top-30 % train CSV has 1.5 M rows and the unfiltered one 5.1 M. CSVs are
streamed (never loaded whole): the adapter keeps, per distinct image, its ``filepath`` string
and the byte offset of its row(s), about 150 bytes per image in CPython 3.11, and
:meth:`SkyScript.list_units` adds an 8-byte list slot per image. Measured on a synthetic
1.5 M-row CSV: 230 MB for the index plus 12 MB for the list (peak RSS growth 245 MB), built
in about 5 s (3.6 µs per row); reading every CSV of the full release (5.2 M distinct images)
needs about 0.8 GB. :meth:`SkyScript.read_unit` seeks straight to its row(s). The index is
cached per process (keyed by the CSV files' paths, sizes and modification times), so a copy
of the adapter sent to a Dask worker rebuilds it once per worker, not once per partition.

Decisions:

- ``tags``: ``osm_element_type`` (``area``/``way``/``node``), ``osm_id``, ``imagery_source``
  (the Google Earth Engine collection, e.g. ``ORTHO/Switzerland/SWISSIMAGE/10cm``) and
  ``year`` from the file name; from the pickle, ``center:<key>`` = value for every OSM tag
  of the focus object (``osm:`` is left to the enrich stage),
  ``surrounding_objects`` = the number of surrounding objects and, per surrounding key,
  ``surrounding:<key>`` = ``"value (count); …"`` (most frequent first, at most
  :data:`MAX_SURROUNDING_VALUES` values).
- ``labels.properties``: every non-empty CSV column but ``filepath`` (``title``,
  ``title_multi_objects``, ``similarity_CLIP_openai``…), first value wins in CSV order (the
  ``csvs`` option's order, else sorted by name); columns of ``*language_polished*`` CSVs are
  stored with the suffix ``_polished`` (their column names are UNVERIFIED). Also
  ``listed_in`` (the CSV names, ``;``-separated), ``imagery_source_code``,
  ``nominal_gsd_m`` and ``surrounding_tags`` (the list as canonical JSON).
- Split: the first split found among test, validation, train, in that order (an image in both a
  train and a test list counts as test, so it cannot leak into training); ``""`` if no CSV
  name says.
- Footprint: the pickle ``box`` as a lon/lat polygon, ``crs`` ``EPSG:4326``; without a meta
  pickle (or a ``box`` in it) both stay empty (the filter then drops the sample as
  ``no_geolocation``).
  ``acquired``: the pickle ``time`` as ``YYYY-MM-DDThh:mm:00Z`` (that it is UTC is
  UNVERIFIED; Earth Engine times are UTC).
- ``gsd_m``: the pixel size measured from the box and the JPEG size (mean of the east-west and
  north-south sizes, spherical Earth) when there is a box, else the nominal GSD of the imagery
  source (:data:`IMAGERY_SOURCES`), the finest the collection offers: an exported image need
  not have it (how SkyScript chose export scales is UNVERIFIED).
- Sensor: from the imagery-source code. An unknown code of the right form is kept (sensor
  ``unknown (<code>)``, GSD from the box only).
- Licence: SkyScript states no licence for the data (its code is MIT); each image falls under
  its imagery source's terms, named in the ``imagery_source`` tag.

UNVERIFIED: the ``metaN/`` folder names, the extra CSV columns of the ``_laion_RS`` and
``_language_polished`` files, image sizes, that the pickles hold only plain Python types (a
pickle with numpy scalars would be refused), the time zone of ``time``, the data licence, and
the nominal GSDs of NAIP (``US``, 0.6–1 m; 1.0 used), SkySat (``P3`` 0.8 m, ``P5`` 2.0 m) and
PNOA (``ES``, 0.1 m read from the collection name ``PNOA10``).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import pickle
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import shapely
from PIL import Image, UnidentifiedImageError
from shapely.geometry import box as shapely_box
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.geo import box_pixel_size_m

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImagerySource:
    """An imagery source of SkyScript, by its two-letter code in the file names.

    Attributes:
        collection: The Google Earth Engine image collection the images came from.
        sensor: Sensor or platform name for :attr:`~pipeline.records.Sample.sensor`.
        nominal_gsd_m: The collection's finest ground sample distance in metres.
        gsd_verified: Whether :attr:`nominal_gsd_m` is certain (from the collection name or
            the sensor's specification) rather than an approximation.
    """

    collection: str
    sensor: str
    nominal_gsd_m: float
    gsd_verified: bool


IMAGERY_SOURCES: dict[str, ImagerySource] = {
    "US": ImagerySource("USDA/NAIP/DOQQ", "NAIP aerial orthophoto", 1.0, False),
    "DE": ImagerySource(
        "Germany/Brandenburg/orthos/20cm", "Brandenburg aerial orthophoto", 0.2, True
    ),
    "FI": ImagerySource("Finland/SMK/V/50cm", "Finland NLS aerial orthophoto", 0.5, True),
    "CH": ImagerySource(
        "ORTHO/Switzerland/SWISSIMAGE/10cm", "SWISSIMAGE aerial orthophoto", 0.1, True
    ),
    "ES": ImagerySource("Spain/PNOA/PNOA10", "PNOA aerial orthophoto", 0.1, False),
    "P3": ImagerySource("SKYSAT/GEN-A/PUBLIC/ORTHO/RGB", "SkySat", 0.8, False),
    "P5": ImagerySource("SKYSAT/GEN-A/PUBLIC/ORTHO/MULTISPECTRAL", "SkySat", 2.0, False),
    "S2": ImagerySource("COPERNICUS/S2_SR_HARMONIZED", "Sentinel-2 MSI", 10.0, True),
    "L8": ImagerySource("LANDSAT/LC08/C02/T1_TOA", "Landsat 8 OLI", 30.0, True),
    "L9": ImagerySource("LANDSAT/LC09/C02/T1_TOA", "Landsat 9 OLI-2", 30.0, True),
}
"""Imagery-source code → source (codes and collections: wangzhecheng/SkyScript
``image_sources.py``; GSDs of entries with ``gsd_verified=False`` are UNVERIFIED)."""

ELEMENT_TYPES: dict[str, str] = {"a": "area", "w": "way", "n": "node"}
"""First letter of an image name → OSM element type of the focus object."""

SPLITS: tuple[tuple[str, str], ...] = (
    ("test", "test"),
    ("val", "validation"),
    ("train", "train"),
)
"""CSV name prefix (after ``SkyScript_``) → split, in order of precedence."""

MAX_META_BYTES = 16 * 1024 * 1024
"""Meta pickles larger than this are refused unread (real ones hold a few tags)."""

MAX_SURROUNDING_VALUES = 10
"""Values listed per ``surrounding:<key>`` tag; the rest are summarised as ``+N more``."""

MAX_CSVS = 256
"""Most caption CSVs one adapter reads (the row index packs the CSV number into 8 bits)."""

CSV_GLOB = "SkyScript_*.csv"
"""Names of the caption CSVs read by default."""

_NAME_RE = re.compile(
    r"^(?P<type>[anw])(?P<osm_id>\d+)_(?P<code>[A-Z0-9]{2})_(?P<yy>\d{2})\.(?:jpg|jpeg|JPG|JPEG)$"
)
_IMAGES_DIR_RE = re.compile(r"^images(?P<n>\d+)$")
_CSV_BITS = 8

_Fail = Callable[[str, str], SourceError]


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global, so loading can run no code.

    Plain dicts, lists, tuples, sets of literals, strings, bytes, numbers, booleans and
    ``None`` need no global and load as usual; any pickle that names a module attribute (a
    class to instantiate, a function to call such as ``os.system``) fails in
    :meth:`find_class`, before the object is looked up, let alone called.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Refuse every global.

        Args:
            module: The global's module.
            name: The global's name.

        Raises:
            pickle.UnpicklingError: Always.
        """
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def load_pickle_restricted(path: Path, unit: str = "") -> object:
    """Load a pickle file with :class:`RestrictedUnpickler`.

    Args:
        path: The pickle file.
        unit: The unit being read, for error messages.

    Returns:
        The unpickled object (made only of built-in containers and scalars).

    Raises:
        SourceError: ``malformed_label`` if the file is larger than :data:`MAX_META_BYTES`,
            is not a valid pickle, or names any global; ``missing_file`` if it cannot be
            opened.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_META_BYTES + 1)
    except FileNotFoundError as exc:
        raise SourceError("missing_file", f"skyscript {unit}: {path}: not found", unit) from exc
    except OSError as exc:
        raise SourceError("missing_file", f"skyscript {unit}: {path}: {exc}", unit) from exc
    if len(data) > MAX_META_BYTES:
        raise SourceError(
            "malformed_label",
            f"skyscript {unit}: {path}: meta pickle larger than {MAX_META_BYTES} bytes",
            unit,
        )
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # a crafted pickle can raise almost any exception type
        raise SourceError(
            "malformed_label",
            f"skyscript {unit}: {path}: not a plain-data pickle ({type(exc).__name__}: {exc})",
            unit,
        ) from exc


@dataclass(frozen=True)
class Meta:
    """The content of a meta pickle, validated.

    Attributes:
        box: ``(west, south, east, north)`` in degrees, or ``None`` if absent.
        time: ISO 8601 acquisition time, or ``""`` if absent.
        center_tags: Tags of the focus object (values as text).
        surrounding_tags: Tags of each surrounding object (values as text).
    """

    box: tuple[float, float, float, float] | None
    time: str
    center_tags: dict[str, str] = field(default_factory=dict)
    surrounding_tags: tuple[dict[str, str], ...] = ()


def parse_meta(data: object, path: Path, unit: str = "") -> Meta:
    """Validate an unpickled meta dict.

    Args:
        data: What the pickle held.
        path: The pickle file, for messages.
        unit: The unit being read, for messages.

    Returns:
        The validated meta.

    Raises:
        SourceError: ``malformed_label`` if ``data`` is not a dict or the tags are not
            dicts of text; ``bad_metadata`` for a ``box`` or ``time`` that is not a valid
            lon/lat box or date.
    """

    def fail(kind: str, why: str) -> SourceError:
        return SourceError(kind, f"skyscript {unit}: {path}: {why}", unit)

    if not isinstance(data, dict):
        raise fail("malformed_label", f"meta is a {type(data).__name__}, not a dict")
    return Meta(
        box=_parse_box(data.get("box"), fail),
        time=_parse_time(data.get("time"), fail),
        center_tags=_parse_tags(data.get("center_tags"), "center_tags", fail),
        surrounding_tags=_parse_surrounding(data.get("surrounding_tags"), fail),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_box(value: object, fail: _Fail) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, tuple | list) or len(value) != 4 or not all(map(_is_number, value)):
        raise fail("bad_metadata", f"box {value!r:.120} is not four numbers")
    west, south, east, north = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise fail("bad_metadata", f"box {value!r} is not finite")
    if not (-180.0 <= west < east <= 180.0 and -90.0 <= south < north <= 90.0):
        raise fail("bad_metadata", f"box {value!r} is not (west, south, east, north) in degrees")
    return west, south, east, north


def _parse_time(value: object, fail: _Fail) -> str:
    if value is None:
        return ""
    if (
        not isinstance(value, tuple | list)
        or not 3 <= len(value) <= 6
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise fail("bad_metadata", f"time {value!r:.120} is not (year, month, day, hour, minute)")
    parts = [*value, 0, 0, 0][:6]
    year, month, day, hour, minute, second = parts
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except (ValueError, OverflowError) as exc:
        raise fail("bad_metadata", f"time {value!r} is not a date ({exc})") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def _parse_tags(value: object, where: str, fail: _Fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("malformed_label", f"{where} is a {type(value).__name__}, not a dict")
    tags: dict[str, str] = {}
    for key, raw in value.items():
        text = _tag_text(raw)
        if not isinstance(key, str) or (text is None and raw is not None):
            raise fail("malformed_label", f"{where} entry {key!r:.60}: {raw!r:.60} is not a tag")
        if key.strip() and text:
            tags[key.strip()] = text
    return tags


def _parse_surrounding(value: object, fail: _Fail) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise fail("malformed_label", f"surrounding_tags is a {type(value).__name__}, not a list")
    return tuple(_parse_tags(item, f"surrounding_tags[{i}]", fail) for i, item in enumerate(value))


def surrounding_summary(objects: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Summarise the surrounding objects' tags as one tag per key.

    Args:
        objects: Tags of each surrounding object.

    Returns:
        ``surrounding:<key>`` → ``"value (count); …"``, values by falling count then
        alphabetically, at most :data:`MAX_SURROUNDING_VALUES` of them (then ``+N more``).
    """
    counts: dict[str, Counter[str]] = {}
    for tags in objects:
        for key, value in tags.items():
            counts.setdefault(key, Counter())[value] += 1
    summary: dict[str, str] = {}
    for key in sorted(counts):
        ranked = sorted(counts[key].items(), key=lambda kv: (-kv[1], kv[0]))
        parts = [f"{value} ({n})" for value, n in ranked[:MAX_SURROUNDING_VALUES]]
        if len(ranked) > MAX_SURROUNDING_VALUES:
            parts.append(f"+{len(ranked) - MAX_SURROUNDING_VALUES} more")
        summary[f"surrounding:{key}"] = "; ".join(parts)
    return summary


def split_of_csv(name: str) -> str:
    """Return the split a caption CSV's name stands for.

    Args:
        name: File name, e.g. ``SkyScript_val_5K_filtered_by_CLIP_openai.csv``.

    Returns:
        ``train``, ``validation``, ``test``, or ``""`` if the name says none.
    """
    stem = name.lower()
    stem = stem.removeprefix("skyscript_")
    for prefix, split in SPLITS:
        if stem.startswith(prefix):
            return split
    return ""


# -- the CSV index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Csv:
    path: Path
    header: tuple[str, ...]
    filepath_column: int
    split: str
    polished: bool


@dataclass
class _Index:
    csvs: list[_Csv]
    refs: dict[str, int | tuple[int, ...]]
    skipped: int = 0


_INDEX_CACHE: dict[tuple[object, ...], _Index] = {}
"""Per-process cache of CSV indexes (at most one entry is kept)."""


def _records(handle: io.BufferedReader) -> Iterator[tuple[int, bytes]]:
    """Yield ``(byte offset, raw record)`` of each CSV record, joining quoted newlines."""
    offset = 0
    start = 0
    pending = b""
    for line in handle:
        if not pending:
            start = offset
        pending = pending + line if pending else line
        offset += len(line)
        if pending.count(b'"') % 2 == 0:
            yield start, pending
            pending = b""
    if pending:
        yield start, pending


def _parse_record(raw: bytes, encoding: str = "utf-8") -> list[str]:
    text = raw.decode(encoding)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0] if rows else []


def _read_header(path: Path, handle: io.BufferedReader) -> tuple[str, ...]:
    for _, raw in _records(handle):
        try:
            header = tuple(c.strip().lstrip("\ufeff") for c in _parse_record(raw, "utf-8-sig"))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SourceNotFoundError(f"skyscript: {path}: unreadable CSV header ({exc})") from exc
        if header:
            return header
    raise SourceNotFoundError(f"skyscript: {path}: empty CSV (no header)")


def _build_index(paths: Sequence[Path]) -> _Index:
    csvs: list[_Csv] = []
    refs: dict[str, int | tuple[int, ...]] = {}
    skipped = 0
    for number, path in enumerate(paths):
        with path.open("rb") as handle:
            header = _read_header(path, handle)
            if "filepath" not in header:
                raise SourceNotFoundError(
                    f"skyscript: {path}: no 'filepath' column in header {list(header)[:8]}; "
                    "is this a SkyScript caption CSV? (fix sources.skyscript.csvs in params.yaml)"
                )
            column = header.index("filepath")
            csvs.append(
                _Csv(path, header, column, split_of_csv(path.name), "polished" in path.name)
            )
            handle.seek(0)
            records = _records(handle)
            next(records, None)  # the header (any leading blank lines were skipped with it)
            for offset, raw in records:
                if column == 0 and not raw.startswith(b'"'):
                    end = raw.find(b",")
                    cell = (raw if end < 0 else raw[:end]).strip(b"\r\n")
                    try:
                        filepath = cell.decode("utf-8").strip()
                    except UnicodeDecodeError:
                        filepath = ""
                else:
                    try:
                        row = _parse_record(raw)
                    except (UnicodeDecodeError, csv.Error):
                        row = []
                    filepath = row[column].strip() if len(row) > column else ""
                if not filepath:
                    if raw.strip():
                        skipped += 1
                    continue
                ref = (offset << _CSV_BITS) | number
                old = refs.get(filepath)
                if old is None:
                    refs[filepath] = ref
                elif isinstance(old, int):
                    refs[filepath] = (old, ref)
                else:
                    refs[filepath] = (*old, ref)
    if skipped:
        log.warning("skyscript: skipped %d CSV rows without a readable filepath", skipped)
    return _Index(csvs, refs, skipped)


def _read_row(entry: _Csv, offset: int) -> list[str]:
    with entry.path.open("rb") as handle:
        handle.seek(offset)
        record = next(_records(handle), (0, b""))[1]
    return _parse_record(record)


# -- the adapter -----------------------------------------------------------------------------


class SkyScript(SourceAdapter):
    """Reader of SkyScript images with their OSM tags (meta pickles) and captions (CSVs).

    Options (``sources.skyscript`` in ``params.yaml``):
        csvs: Caption CSV file names to read, looked up in the root and then in
            ``dataframe/``; default every ``SkyScript_*.csv`` found there (a name in the root
            hides the same name in ``dataframe/``). The order sets which CSV's captions win
            for an image listed in several.

    Args:
        root: The folder holding ``images2/`` … ``images7/``, ``meta2/`` … ``meta7/`` and the
            caption CSVs (or ``dataframe/`` with them).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If ``csvs`` is not a list of file names.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        names = self.options.get("csvs")
        if names is None:
            self.csv_names: tuple[str, ...] | None = None
        else:
            items = (names,) if isinstance(names, str) else tuple(names)
            if not items or not all(isinstance(n, str) and n.strip() for n in items):
                raise ValueError(
                    f"skyscript: sources.skyscript.csvs in params.yaml must be a list of CSV "
                    f"file names, got {names!r}"
                )
            self.csv_names = tuple(n.strip() for n in items)
        self._index: _Index | None = None

    def __getstate__(self) -> dict[str, Any]:
        """Drop the row index when pickled (a worker rebuilds or reuses its own)."""
        state = dict(self.__dict__)
        state["_index"] = None
        return state

    # -- CSVs --------------------------------------------------------------------------------

    def csv_paths(self) -> list[Path]:
        """Return the caption CSVs to read, in precedence order.

        Returns:
            Paths of the CSVs.

        Raises:
            SourceNotFoundError: If a named CSV is missing, or none is found.
        """
        folders = (self.root, self.root / "dataframe")
        if self.csv_names is not None:
            paths = []
            for name in self.csv_names:
                found = next((f / name for f in folders if (f / name).is_file()), None)
                if found is None:
                    raise SourceNotFoundError(
                        f"skyscript: caption CSV {name!r} not found in {self.root} or "
                        f"{self.root / 'dataframe'}; download it from "
                        "https://opendatasharing.s3.us-west-2.amazonaws.com/SkyScript/dataframe/ "
                        "or fix sources.skyscript.csvs / sources.skyscript.root in params.yaml"
                    )
                paths.append(found)
        else:
            by_name: dict[str, Path] = {}
            for folder in folders:
                if folder.is_dir():
                    for path in sorted(folder.glob(CSV_GLOB)):
                        if path.is_file():
                            by_name.setdefault(path.name, path)
            paths = [by_name[n] for n in sorted(by_name)]
            if not paths:
                raise SourceNotFoundError(
                    f"skyscript: no {CSV_GLOB} caption CSV in {self.root} or "
                    f"{self.root / 'dataframe'}; download the images{{2..7}}.zip and "
                    "meta{2..7}.zip archives and the caption CSVs as described at "
                    "https://github.com/wangzhecheng/SkyScript, extract them there, and point "
                    "sources.skyscript.root in params.yaml at that folder"
                )
        if len(paths) > MAX_CSVS:
            raise ValueError(f"skyscript: {len(paths)} CSVs; at most {MAX_CSVS} are supported")
        return paths

    def _get_index(self) -> _Index:
        if self._index is not None:
            return self._index
        paths = self.csv_paths()
        key: tuple[object, ...] = tuple(
            (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths
        )
        index = _INDEX_CACHE.get(key)
        if index is None:
            index = _build_index(paths)
            _INDEX_CACHE.clear()
            _INDEX_CACHE[key] = index
        self._index = index
        return index

    def list_units(self) -> list[str]:
        """List the distinct ``filepath`` values of the caption CSVs.

        Returns:
            Sorted unit ids such as ``images2/w779523169_CH_18.jpg``.

        Raises:
            SourceNotFoundError: If no caption CSV is found, or a CSV has no ``filepath``
                column.
        """
        return sorted(self._get_index().refs)

    def _refs(self, unit: str) -> list[tuple[_Csv, int]]:
        index = self._get_index()
        entry = index.refs.get(unit)
        if entry is None:
            raise ValueError(f"skyscript: {unit!r} is not listed in any caption CSV")
        packed = (entry,) if isinstance(entry, int) else entry
        mask = (1 << _CSV_BITS) - 1
        return [(index.csvs[ref & mask], ref >> _CSV_BITS) for ref in packed]

    # -- one unit ----------------------------------------------------------------------------

    def _meta_path(self, unit: str) -> Path | None:
        path = PurePosixPath(unit)
        match = _IMAGES_DIR_RE.match(path.parent.name)
        if not match:
            return None
        return self.root / path.parent.parent / f"meta{match['n']}" / f"{path.stem}.pickle"

    def unit_files(self, unit: str) -> list[Path]:
        """List the image, its meta pickle and the CSVs listing it, where they exist.

        Args:
            unit: A ``filepath`` from :meth:`list_units`.

        Returns:
            Existing paths, sorted.
        """
        paths: set[Path] = set()
        if _safe_relative(unit):
            paths.add(self.root / unit)
            meta = self._meta_path(unit)
            if meta is not None:
                paths.add(meta)
        try:
            paths.update(entry.path for entry, _ in self._refs(unit))
        except ValueError:
            pass
        return sorted(p for p in paths if p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one image into one sample.

        Args:
            unit: A ``filepath`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``bad_metadata`` if the ``filepath`` is not a safe relative path
                named ``<t><osm_id>_<SRC>_<yy>.jpg``, a CSV row no longer matches, or the
                meta ``box``/``time`` are invalid; ``malformed_label`` for an unreadable CSV
                row or a meta pickle that is not a plain dict of tags (or names any global);
                ``missing_file`` if the image is missing; ``corrupt_raster`` if its header
                cannot be read or it is not RGB.
            ValueError: If ``unit`` is not listed in any CSV.
        """
        refs = self._refs(unit)
        if not _safe_relative(unit):
            raise SourceError(
                "bad_metadata", f"skyscript {unit}: filepath is not a relative path", unit
            )
        name = PurePosixPath(unit).name
        match = _NAME_RE.match(name)
        if not match:
            raise SourceError(
                "bad_metadata",
                f"skyscript {unit}: file name {name!r} is not <a|w|n><osm id>_<SRC>_<yy>.jpg",
                unit,
            )
        properties, listed_in, splits = self._csv_facts(unit, refs)

        image_path = self.root / unit
        if not image_path.is_file():
            raise SourceError("missing_file", f"skyscript {unit}: missing {image_path}", unit)
        width, height = _jpeg_size(image_path, unit)

        meta_path = self._meta_path(unit)
        meta = Meta(box=None, time="")
        if meta_path is not None and meta_path.is_file():
            meta = parse_meta(load_pickle_restricted(meta_path, unit), meta_path, unit)

        code = match["code"]
        source = IMAGERY_SOURCES.get(code)
        tags: dict[str, str] = {
            "osm_element_type": ELEMENT_TYPES[match["type"]],
            "osm_id": match["osm_id"],
            "imagery_source": source.collection if source else code,
            "year": f"20{match['yy']}",
        }
        for key, value in meta.center_tags.items():
            tags[f"center:{key}"] = value
        if meta_path is not None and meta_path.is_file():
            tags["surrounding_objects"] = str(len(meta.surrounding_tags))
            tags.update(surrounding_summary(meta.surrounding_tags))
            properties["surrounding_tags"] = json.dumps(
                [dict(sorted(t.items())) for t in meta.surrounding_tags],
                ensure_ascii=False,
                separators=(",", ":"),
            )
        properties["listed_in"] = ";".join(listed_in)
        properties["imagery_source_code"] = code
        if source is not None:
            properties["nominal_gsd_m"] = f"{source.nominal_gsd_m:g}"

        crs, footprint, gsd = "", "", source.nominal_gsd_m if source else None
        if meta.box is not None:
            west, south, east, north = meta.box
            crs = "EPSG:4326"
            polygon = orient(shapely_box(west, south, east, north), 1.0)
            footprint = shapely.to_wkt(polygon, rounding_precision=10)
            gsd = box_pixel_size_m(meta.box, width, height)

        split = next((s for _, s in SPLITS if s in splits), "")
        sample = Sample(
            sample_id=f"{self.name}:{unit}",
            source=self.name,
            native_id=unit,
            modality="rgb",
            sensor=source.sensor if source else f"unknown ({code})",
            bands=("R", "G", "B"),
            gsd_m=gsd,
            crs=crs,
            footprint_wkt=footprint,
            acquired=(meta.time,) if meta.time else (),
            images=(
                ImageRef(
                    role="image",
                    files=(str(image_path),),
                    bands=("R", "G", "B"),
                    encoding="uint8",
                    width=width,
                    height=height,
                    display_bands=("R", "G", "B"),
                ),
            ),
            tags=tags,
            labels=Labels(properties=properties),
            licence=self.licence,
            split=split,
        )
        return [sample]

    def _csv_facts(
        self, unit: str, refs: list[tuple[_Csv, int]]
    ) -> tuple[dict[str, str], list[str], set[str]]:
        """Read a unit's CSV rows: properties (first value wins), CSV names and splits."""
        properties: dict[str, str] = {}
        listed_in: list[str] = []
        splits: set[str] = set()
        for entry, offset in refs:
            try:
                row = _read_row(entry, offset)
            except (UnicodeDecodeError, csv.Error) as exc:
                raise SourceError(
                    "malformed_label",
                    f"skyscript {unit}: {entry.path}: unreadable row at byte {offset} ({exc})",
                    unit,
                ) from exc
            except OSError as exc:
                raise SourceError(
                    "missing_file", f"skyscript {unit}: {entry.path}: {exc}", unit
                ) from exc
            column = entry.filepath_column
            if len(row) <= column or row[column].strip() != unit:
                raise SourceError(
                    "bad_metadata",
                    f"skyscript {unit}: {entry.path} changed since it was listed "
                    f"(row at byte {offset} is not this image)",
                    unit,
                )
            if entry.path.name not in listed_in:
                listed_in.append(entry.path.name)
            if entry.split:
                splits.add(entry.split)
            for i, name in enumerate(entry.header):
                if i == column or i >= len(row) or not name:
                    continue
                key = f"{name}_polished" if entry.polished else name
                value = row[i].strip()
                if value and key not in properties:
                    properties[key] = value
        return properties, listed_in, splits


# -- helpers ---------------------------------------------------------------------------------


def _safe_relative(filepath: str) -> bool:
    path = PurePosixPath(filepath)
    return (
        bool(filepath)
        and not path.is_absolute()
        and "\\" not in filepath
        and ":" not in filepath
        and all(part not in ("", ".", "..") for part in filepath.split("/"))
    )


def _jpeg_size(path: Path, unit: str) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"skyscript {unit}: {path}: unreadable ({exc})", unit
        ) from exc
    if mode != "RGB":
        raise SourceError(
            "corrupt_raster", f"skyscript {unit}: {path}: expected an RGB JPEG, got {mode}", unit
        )
    return int(size[0]), int(size[1])
