"""BigEarthNet v1.0 band files and georeference: file lookup, CRS, size.

Holds :func:`find_band_files`, the CRS from the JSON's WKT or else from the band headers,
:func:`crs_string` and the image size from the band headers; BigEarthNet v2.0 reuses the
public ones. The footprint (corner coordinates to a lon/lat polygon) is the shared
:func:`~eoinstruct.sources.geo.footprint_from_box`.

Layout facts relied on (see ``shared/docs/source-formats.md`` §1, and the files in
``shared/peer-data`` §1a, §8a, §8b that the tests read):

- An S2 folder holds 12 single-band GeoTIFFs ``<name>_<band>.tif`` (B01 to B12 and B8A, no B10)
  at 120/60/20 px for 10/20/60 m; an S1 folder holds ``<name>_VV.tif`` and ``<name>_VH.tif``
  (float32 dB). Files are found by their ``_<band>.tif`` suffix, because torchgeo's fixture
  has an S1 folder ``…_61_42`` whose files are named ``…_61_42_41_*``.

What the adapter does with torchgeo's layout fixture, whose JSON has empty ``projection`` and
all-zero corner coordinates: the CRS comes from the first band file's header (EPSG:4326
there), the footprint stays empty (the filter stage drops such samples as having no
geolocation) and the image size comes from the band headers.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from eoinstruct.sources.base import SourceError

if TYPE_CHECKING:  # rasterio is imported on first use: listing units needs none of it
    from rasterio.crs import CRS

GRID_M = 10.0
"""Pixel size in metres of the reference (finest) grid of both sensors."""


def scandir_file_stats(
    folder: str, listed: dict[str, tuple[str, ...]] | None = None
) -> list[tuple[str, int, int]]:
    """Return ``(path, size, mtime_ns)`` of a folder's files (links to files too), by name.

    One ``os.scandir`` and one ``stat`` per file; the same files, paths and order as sorting
    ``Path(folder).iterdir()``'s files. A missing folder gives an empty list; a file that
    vanished meanwhile is left out.

    Args:
        folder: The folder.
        listed: If given and the folder exists, ``listed[folder]`` is set to its files' names
            (sorted; those stat'ed or not), so a reader need not list it again.
    """
    try:
        with os.scandir(folder) as found:
            entries = sorted((e for e in found if e.is_file()), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    if listed is not None:
        listed[folder] = tuple(e.name for e in entries)
    stats = []
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        stats.append((entry.path, st.st_size, st.st_mtime_ns))
    return stats


def find_band_files(folder: Path, patch: str, bands: Sequence[str], unit: str) -> list[Path]:
    """Find one ``*_<band>.tif`` per band (the file prefix need not equal the folder name).

    Raises:
        SourceError: ``missing_band`` naming every band without a file.
    """
    return [folder / name for name in band_file_names(folder, patch, bands, unit)]


def band_file_names(folder: Path | str, patch: str, bands: Sequence[str], unit: str) -> list[str]:
    """The file names :func:`find_band_files` picks, one per band (in ``folder``).

    Among the folder's ``*.tif`` files (or links to files) by name, a band's file is
    ``<patch>_<band>.tif`` if present, else the first whose stem ends in ``_<band>``.

    Raises:
        SourceError: ``missing_band`` naming every band without a file.
    """
    with os.scandir(folder) as found:
        return pick_band_files(list(found), folder, patch, bands, unit)


def pick_band_files(
    entries: Sequence[os.DirEntry[str]],
    folder: Path | str,
    patch: str,
    bands: Sequence[str],
    unit: str,
) -> list[str]:
    """:func:`band_file_names` of a folder already listed (its ``os.scandir`` entries).

    Raises:
        SourceError: ``missing_band`` naming every band without a file.
    """
    return pick_band_names([e.name for e in entries if e.is_file()], folder, patch, bands, unit)


def pick_band_names(
    files: Sequence[str], folder: Path | str, patch: str, bands: Sequence[str], unit: str
) -> list[str]:
    """:func:`pick_band_files` of a folder's file names (files or links to files only).

    Raises:
        SourceError: ``missing_band`` naming every band without a file.
    """
    # names with a ".tif" suffix (as Path.suffix: not the whole name)
    names = sorted(n for n in files if len(n) > 4 and n[-4:].lower() == ".tif")
    stems: dict[str, str] = {}  # stem -> first such name
    first: dict[str, str] = {}  # text after the stem's last "_" -> first such name
    for name in names:
        stems.setdefault(name[:-4], name)
        _, sep, tail = name[:-4].rpartition("_")
        if sep:
            first.setdefault(tail, name)
    chosen: list[str] = []
    missing: list[str] = []
    for band in bands:
        exact = stems.get(f"{patch}_{band}")
        if exact is None:
            if "_" in band:  # not a single suffix: scan (no BigEarthNet band has one)
                exact = next((n for n in names if n[:-4].endswith(f"_{band}")), None)
            else:
                exact = first.get(band)
        if exact is None:
            missing.append(band)
        else:
            chosen.append(exact)
    if missing:
        raise SourceError("missing_band", f"{folder}: no *_<band>.tif file for {missing}", unit)
    return chosen


def crs_and_string_from_wkt(wkt: object) -> tuple[CRS | None, str]:
    """Parse a ``projection`` WKT and format it (:func:`crs_string`), once per distinct text.

    Returns:
        The CRS and its string, or ``(None, "")`` if missing or unparseable.
    """
    if not isinstance(wkt, str) or not wkt.strip():
        return None, ""
    return _parsed_wkt(wkt)


@functools.lru_cache(maxsize=64)
def _parsed_wkt(wkt: str) -> tuple[CRS | None, str]:
    """:func:`crs_and_string_from_wkt` of a non-blank text, cached (a patch's tiles share one)."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    try:
        crs = CRS.from_wkt(wkt)
    except CRSError:
        return None, ""
    return crs, crs_string(crs)


def _crs_from_headers(files: Sequence[Path | str]) -> CRS | None:
    """Return the CRS of the first band file whose header can be read and has one."""
    import rasterio
    from rasterio.errors import RasterioIOError

    for path in files:
        try:
            with rasterio.open(path) as dataset:
                if dataset.crs is not None:
                    return dataset.crs
        except RasterioIOError:
            continue
    return None


def crs_string(crs: CRS) -> str:
    """Format a CRS as ``EPSG:<code>``, or as WKT if it has no EPSG code."""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def _size_from_headers(files: Sequence[Path | str], path: Path | str, unit: str) -> tuple[int, int]:
    """Return the largest width and height among the band headers (the 10 m grid).

    Raises:
        SourceError: ``bad_metadata`` if no header can be read.
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    sizes: list[tuple[int, int]] = []
    for band_file in files:
        try:
            with rasterio.open(band_file) as dataset:
                sizes.append((dataset.width, dataset.height))
        except RasterioIOError:
            continue
    if not sizes:
        raise SourceError(
            "bad_metadata",
            f"{path}: corner coordinates have no extent and no band header is readable",
            unit,
        )
    return max(w for w, _ in sizes), max(h for _, h in sizes)
