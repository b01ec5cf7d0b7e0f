"""BigEarthNet v2.0 (reBEN) metadata tables: schema check, rows, labels, split, flags.

Holds the names of the release's files, the reading and schema check of ``metadata.parquet``
and of the snow/cloud companion (:func:`read_metadata`, :func:`check_metadata_schema`), the
row record :class:`PatchRow` with the index of rows by patch and S1 name, and what a row
gives a sample: its 19-class labels, split, country and snow/cloud flags.

Layout facts relied on (``shared/docs/source-formats.md`` §2; the files in
``shared/peer-data`` §1b, §6 and §7 that the tests read):

- The official release (https://zenodo.org/records/10891137) holds ``BigEarthNet-S2.tar.zst``,
  ``BigEarthNet-S1.tar.zst``, ``Reference_Maps.tar.zst``, ``metadata.parquet`` and
  ``metadata_for_patches_with_snow_cloud_or_shadow.parquet``; extracted into one folder they
  give ``BigEarthNet-S2/``, ``BigEarthNet-S1/`` and ``Reference_Maps/`` beside the two
  Parquet files (kai-tub/bigearthnet-pipeline ``ben-data-finalizer.nu``).
- ``metadata.parquet`` columns ``patch_id, labels (list<string>, 19-class names), split
  (train/validation/test), country, s1_name, s2v1_name, contains_seasonal_snow,
  contains_cloud_or_shadow``; the companion file has the same schema and lists the 69,450
  patches reBEN excluded for seasonal snow or cloud/shadow (measured on the real file).
  torchgeo's layout fixture has only ``patch_id, s1_name, split, labels``, so the other four
  columns are optional here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.bigearthnet_classes import BEN19_NAMES

METADATA_FILE = "metadata.parquet"
"""The patch table of the release (one row per S2/S1 pair)."""

SNOW_CLOUD_FILE = "metadata_for_patches_with_snow_cloud_or_shadow.parquet"
"""The companion table of the patches reBEN left out for seasonal snow or cloud/shadow."""

DOWNLOAD_URL = "https://zenodo.org/records/10891137"
"""Where the release is distributed."""

METADATA_COLUMNS: tuple[str, ...] = (
    "patch_id",
    "labels",
    "split",
    "country",
    "s1_name",
    "s2v1_name",
    "contains_seasonal_snow",
    "contains_cloud_or_shadow",
)
"""The eight columns of the real ``metadata.parquet``, in file order."""

REQUIRED_COLUMNS: tuple[str, ...] = ("patch_id", "labels", "split", "s1_name")
"""Columns without which the table cannot be read (the four torchgeo's fixture has)."""

FLAG_COLUMNS: tuple[str, ...] = ("contains_seasonal_snow", "contains_cloud_or_shadow")
"""Boolean columns that mark snow- or cloud-affected patches."""

SPLITS: dict[str, str] = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}
"""Accepted ``split`` values (lower-cased) → split name."""

_HINT = (
    f"the root is where the reBEN release ({DOWNLOAD_URL}: metadata.parquet, "
    "BigEarthNet-S2.tar.zst, BigEarthNet-S1.tar.zst, Reference_Maps.tar.zst) is extracted"
)


@dataclass(frozen=True)
class PatchRow:
    """One row of ``metadata.parquet`` (or of the snow/cloud companion), values as stored.

    Attributes:
        patch_id: The S2 patch id, e.g. ``S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57``.
        labels: The 19-class label names, or None where the cell is null.
        split: ``train``, ``validation`` or ``test`` (None where null).
        s1_name: The paired S1 patch name (None where null).
        country: Country name (None where null or the column is absent).
        s2v1_name: The BigEarthNet v1.0 S2 name of the patch (None where null or absent).
        contains_seasonal_snow: Snow flag (None where null or absent).
        contains_cloud_or_shadow: Cloud/shadow flag (None where null or absent).
        source_file: Path of the Parquet file the row comes from.
    """

    patch_id: str
    labels: tuple[object, ...] | None
    split: str | None
    s1_name: str | None
    country: str | None = None
    s2v1_name: str | None = None
    contains_seasonal_snow: bool | None = None
    contains_cloud_or_shadow: bool | None = None
    source_file: str = ""


def read_metadata(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """Read a reBEN metadata table, checking its schema.

    Args:
        path: ``metadata.parquet`` or the snow/cloud companion file.
        columns: Columns to read (default: every known column the file has).

    Returns:
        The table with the known columns the file has (unknown columns are left out).

    Raises:
        SourceNotFoundError: If the file is missing or unreadable, lacks a required column or
            has a column of the wrong type (e.g. ``labels`` as one joined string).
    """
    schema = check_metadata_schema(path)
    wanted = [c for c in (columns or METADATA_COLUMNS) if c in schema.names]
    try:
        return pq.read_table(path, columns=wanted)
    except (pa.ArrowException, OSError) as exc:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} cannot be read as Parquet ({exc}); {_HINT}"
        ) from exc


def check_metadata_schema(path: Path) -> pa.Schema:
    """Check that a file is a reBEN metadata table, reading only its schema.

    Args:
        path: ``metadata.parquet`` or the snow/cloud companion file.

    Returns:
        The file's Arrow schema.

    Raises:
        SourceNotFoundError: If the file is missing or unreadable, lacks a required column or
            has a column of the wrong type.
    """
    if not path.is_file():
        raise SourceNotFoundError(f"bigearthnet_v2: {path} does not exist; {_HINT}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} cannot be read as Parquet ({exc}); {_HINT}"
        ) from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path} lacks the column(s) {missing} (has {schema.names}); "
            f"it is not a reBEN metadata table; {_HINT}"
        )
    for name in METADATA_COLUMNS:
        if name in schema.names:
            _check_column_type(path, name, schema.field(name).type)
    return schema


def _check_column_type(path: Path, name: str, dtype: pa.DataType) -> None:
    """Raise SourceNotFoundError if a known column has the wrong Arrow type."""
    if name == "labels":
        ok = (pa.types.is_list(dtype) or pa.types.is_large_list(dtype)) and (
            pa.types.is_string(dtype.value_type) or pa.types.is_large_string(dtype.value_type)
        )
        expected = "list<string>"
    elif name in FLAG_COLUMNS:
        ok, expected = pa.types.is_boolean(dtype), "bool"
    else:
        ok = pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
        expected = "string"
    if not ok:
        raise SourceNotFoundError(
            f"bigearthnet_v2: {path}: column {name!r} is {dtype}, expected {expected}"
        )


@dataclass
class _Index:
    """The metadata tables and where each listed patch and S1 name is in them."""

    tables: list[tuple[Path, pa.Table]]
    by_patch: dict[str, list[tuple[int, int]]]
    by_s1: dict[str, list[tuple[int, int]]]

    def row(self, where: tuple[int, int]) -> PatchRow:
        """Materialise one row."""
        table_no, row_no = where
        path, table = self.tables[table_no]
        cells = table.slice(row_no, 1).to_pylist()[0]
        labels = cells.get("labels")
        return PatchRow(
            patch_id=str(cells["patch_id"]),
            labels=None if labels is None else tuple(labels),
            split=cells.get("split"),
            s1_name=cells.get("s1_name"),
            country=cells.get("country"),
            s2v1_name=cells.get("s2v1_name"),
            contains_seasonal_snow=cells.get("contains_seasonal_snow"),
            contains_cloud_or_shadow=cells.get("contains_cloud_or_shadow"),
            source_file=str(path),
        )


def _classes(row: PatchRow, unit: str) -> tuple[str, ...]:
    """Return the row's sorted, unique 19-class names.

    Raises:
        SourceError: ``malformed_label`` if the labels are null, empty, not strings or not
            among the 19 BigEarthNet classes.
    """
    where = f"{row.source_file}: row {row.patch_id}"
    if not row.labels:
        raise SourceError("malformed_label", f"{where}: labels are null or empty", unit)
    if not all(isinstance(x, str) for x in row.labels):
        raise SourceError("malformed_label", f"{where}: labels hold a null", unit)
    unknown = sorted({str(x) for x in row.labels if x not in BEN19_NAMES})
    if unknown:
        raise SourceError(
            "malformed_label", f"{where}: labels not among the 19 classes: {unknown}", unit
        )
    return tuple(sorted({str(x) for x in row.labels}))


def _split(row: PatchRow, unit: str) -> str:
    """Return the split name of a row (empty if null).

    Raises:
        SourceError: ``bad_metadata`` if the value is not a known split.
    """
    if row.split is None or not row.split.strip():
        return ""
    split = SPLITS.get(row.split.strip().lower())
    if split is None:
        raise SourceError(
            "bad_metadata",
            f"{row.source_file}: row {row.patch_id}: unknown split {row.split!r}",
            unit,
        )
    return split


def _row_tags(row: PatchRow) -> dict[str, str]:
    """Tags every sample of a row carries: country, and the snow/cloud flags that are set."""
    tags: dict[str, str] = {}
    if row.country and row.country.strip():
        tags["country"] = row.country.strip()
    for flag in FLAG_COLUMNS:
        if getattr(row, flag) is True:
            tags[flag] = "true"
    return tags


def _flags(row: PatchRow) -> dict[str, str]:
    """Label properties: the snow/cloud flags as ``true``/``false`` where the row has them."""
    values = {flag: getattr(row, flag) for flag in FLAG_COLUMNS}
    return {flag: str(v).lower() for flag, v in values.items() if v is not None}
