"""STARCOP split CSVs: reading the rows, merging an event's rows, and what they say.

Holds the reading of a split CSV into rows by column (a leading pandas index dropped), the
merge of the rows that list one event (they must agree), the parsing of ``has_plume``,
``qplume``, the window columns and the time, and the split, tags and label properties an
event's CSV values give.

Facts relied on (``shared/docs/source-formats.md`` section 6, which cites spaceml-org/STARCOP;
re-read from that repository, commit c478926):

- CSV columns (the dataset notebook prints ``test_mini10.csv``): ``id, candidate_id, qplume,
  name, folder, date, datetime, window_col_off, window_row_off, window_width, window_height,
  subset, difficulty, label_path, has_plume, window_labels``. CSVs are written with
  ``to_csv(index=True)`` on a frame indexed by ``id``, so ``id`` comes first; files edited
  by hand may carry a leading unnamed pandas index column (``""`` or ``Unnamed: 0``), which
  is ignored. ``folder`` is the authors' stale absolute path (ignored for reading).
- ``qplume`` is the plume's emission rate in kg/h from the Permian 2019 plume list; for
  plume rows ``difficulty`` is ``easy`` exactly when ``qplume`` ≥ 1000 kg/h, for plume-free
  tiles it is ``hard`` (the tiles with most mag1c confounders) or ``random``
  (``sampling_dataset.sampling_no_plumes``). Plume-free rows have ``qplume`` 0 and empty
  ``candidate_id``/``label_path``.
- Ids: ``<flight line>_r<row>_c<col>_w<width>_h<height>``, the window in the flight line
  (``ang%Y%m%dt%H%M%S``, UTC); ``datetime`` is the flight line's start time.

UNVERIFIED: the units of ``qplume`` (kg/h, consistent with the values and the 1000 kg/h
easy/hard split), and ``window_labels`` of plume-free rows.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eoinstruct.sources.base import (
    SourceError,
    SourceNotFoundError,
)
from eoinstruct.sources.csvrows import strict_row
from eoinstruct.sources.starcop.rasters import SENSOR

STRONG_PLUME_KG_H = 1000.0
"""Emission rate from which a plume is ``strong`` (STARCOP's easy/hard split of plumes)."""

MAG1C_UNITS = "ppm·m"

TOA_UNITS = "µW cm⁻² nm⁻¹ (π·L·d²/cos θs, L in µW cm⁻² sr⁻¹ nm⁻¹)"

EXCLUDED_CSV = (re.compile(r"_tiled_"), re.compile(r"_sampled_data\.csv$"))
"""Patterns of CSV names that are training caches, not release indexes."""

SPLITS: dict[str, str] = {
    "train": "train",
    "test": "test",
    "val": "validation",
    "validation": "validation",
}
"""``subset`` values (or CSV name prefixes) → sample split."""

_ID_WINDOW = re.compile(r"^(?P<line>.+)_r(?P<r>-?\d+)_c(?P<c>-?\d+)_w(?P<w>\d+)_h(?P<h>\d+)$")

_FLIGHT_LINE = re.compile(r"^ang(\d{8})t(\d{6})")

_INDEX_HEADERS = ("", "Unnamed: 0")

_TRUE = ("true", "1", "1.0", "yes")

_FALSE = ("false", "0", "0.0", "no")

_WINDOW_COLUMNS = ("window_col_off", "window_row_off", "window_width", "window_height")


@dataclass(frozen=True)
class _Row:
    """One CSV row: where it is and its raw values by column."""

    csv: str
    line: int
    values: Mapping[str, str]
    problem: str = ""


def _parse_line(line: str) -> tuple[list[str], str]:
    """The cells of one CSV line and, if it is malformed, why (else ``""``).

    STARCOP's CSVs hold ids, numbers and short names, one row a line; a malformed row
    (:func:`~eoinstruct.sources.csvrows.strict_row`) is unreadable, so its text never
    reaches a label.
    """
    try:
        return strict_row(line), ""
    except csv.Error as exc:
        return line.split(","), f"malformed CSV ({exc})"


def _read_csv(path: Path) -> list[_Row]:
    """Read a STARCOP CSV into rows keyed by column (a leading pandas index is dropped).

    Raises:
        SourceNotFoundError: If the file is not readable CSV text or has no ``id`` column.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceNotFoundError(f"starcop: cannot read {path} as CSV: {exc}") from exc
    lines: list[list[str]] = []
    broken: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields, why = _parse_line(line)  # one row a line: a stray quote spoils its row only
        lines.append(fields)
        if why:
            broken[number] = why
    if 1 in broken:
        raise SourceNotFoundError(f"starcop: {path}: unreadable header ({broken[1]})")
    if not lines:
        raise SourceNotFoundError(f"starcop: {path} is empty; expected a header with 'id'")
    header = [h.strip() for h in lines[0]]
    skip = 1 if header and header[0] in _INDEX_HEADERS else 0
    columns = header[skip:]
    if "id" not in columns:
        raise SourceNotFoundError(
            f"starcop: {path} has no 'id' column (header {lines[0]}); is it a STARCOP split "
            "CSV? List the right ones in sources.starcop.csv_files (params.yaml)"
        )
    rows: list[_Row] = []
    for number, fields in enumerate(lines[1:], start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        cells = fields[skip:]
        problem = broken.get(number, "")
        if not problem and len(fields) != len(header):
            problem = f"line {number} has {len(fields)} fields, the header {len(header)}"
        values = {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns)}
        if not values["id"]:
            continue  # no id, no event folder to read: nothing to list
        rows.append(_Row(path.name, number, values, problem))
    return rows


def _merge_rows(unit: str, rows: Sequence[_Row]) -> dict[str, str]:
    """Combine the rows listing one event, which must agree on every shared column."""
    merged: dict[str, str] = {}
    origin: dict[str, _Row] = {}
    for row in rows:
        if row.problem:
            raise SourceError("bad_metadata", f"{row.csv} (id {unit}): {row.problem}", unit)
        for column, value in row.values.items():
            if column in merged and merged[column] != value:
                first = origin[column]
                raise SourceError(
                    "bad_metadata",
                    f"id {unit} has {column}={merged[column]!r} in {first.csv} line "
                    f"{first.line} but {value!r} in {row.csv} line {row.line}",
                    unit,
                )
            if column not in merged:
                merged[column] = value
                origin[column] = row
    return merged


def _parse_bool(values: Mapping[str, str], column: str, where: str, unit: str) -> bool:
    raw = values.get(column)
    if raw is None:
        raise SourceError("bad_metadata", f"{where}: no {column} column", unit)
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise SourceError("bad_metadata", f"{where}: {column}={raw!r} is not a boolean", unit)


def _parse_qplume(values: Mapping[str, str], where: str, unit: str) -> float | None:
    raw = values.get("qplume", "")
    if not raw or raw.lower() == "nan":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SourceError(
            "bad_metadata", f"{where}: qplume={raw!r} is not a number", unit
        ) from None
    if not math.isfinite(value) or value < 0:
        raise SourceError("bad_metadata", f"{where}: qplume={raw!r} is not a rate ≥ 0", unit)
    return value


def _parse_windows(values: Mapping[str, str], where: str, unit: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for column in _WINDOW_COLUMNS:
        raw = values.get(column, "")
        if not raw:
            continue
        try:
            number = float(raw)
        except ValueError:
            number = math.nan
        if not number.is_integer() or (column in _WINDOW_COLUMNS[2:] and number <= 0):
            raise SourceError("bad_metadata", f"{where}: {column}={raw!r} is not valid", unit)
        out[column] = int(number)
    return out


def _parse_time(values: Mapping[str, str], unit: str, where: str) -> tuple[str, ...]:
    """Acquisition time from ``datetime``, else from the flight-line name (UTC)."""
    raw = values.get("datetime", "")
    if raw:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise SourceError(
                "bad_metadata", f"{where}: datetime={raw!r} is not an ISO 8601 time", unit
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return (moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),)
    for text in (values.get("name", ""), unit):
        match = _FLIGHT_LINE.match(text)
        if match:
            try:
                moment = datetime.strptime(match[1] + match[2], "%Y%m%d%H%M%S")
            except ValueError:
                continue
            return (moment.strftime("%Y-%m-%dT%H:%M:%SZ"),)
    return ()


def _split(values: Mapping[str, str], rows: Sequence[_Row]) -> str:
    subset = values.get("subset", "").lower()
    if subset:
        return SPLITS.get(subset, "")
    for row in rows:
        prefix = re.split(r"[_.]", row.csv.lower(), maxsplit=1)[0]
        if prefix in SPLITS:
            return SPLITS[prefix]
    return ""


def _emission_class(has_plume: bool, qplume: float | None) -> str:
    if not has_plume or qplume is None or qplume <= 0:
        return ""
    return "strong" if qplume >= STRONG_PLUME_KG_H else "weak"


def _tags(values: Mapping[str, str], has_plume: bool, qplume: float | None) -> dict[str, str]:
    tags = {"sensor": SENSOR, "methane_plume": "present" if has_plume else "absent"}
    emission = _emission_class(has_plume, qplume)
    if emission:
        tags["emission_class"] = emission
    if values.get("difficulty"):
        tags["difficulty"] = values["difficulty"]
    places = f"{values.get('folder', '')} {values.get('label_path', '')}".lower()
    if "permian" in places:
        tags["region"] = "Permian Basin"
    return tags


def _properties(
    values: Mapping[str, str],
    has_plume: bool,
    qplume: float | None,
    windows: Mapping[str, int],
    csv_names: str,
    unit: str,
) -> dict[str, str]:
    """Every non-empty CSV value, with ``has_plume``/``qplume``/windows normalised."""
    props = {k: v for k, v in values.items() if k not in ("id", "qplume") and v}
    props["has_plume"] = "true" if has_plume else "false"
    if qplume is not None:
        props["qplume_kg_h"] = values["qplume"]
    props.update({k: str(v) for k, v in windows.items()})
    props["csv"] = csv_names
    props["mag1c_units"] = MAG1C_UNITS
    props["toa_units"] = TOA_UNITS
    match = _ID_WINDOW.match(unit)
    if match:
        props["flight_line_window"] = (
            f"row_off={match['r']} col_off={match['c']} width={match['w']} height={match['h']}"
        )
    return props
