"""SkyScript's caption CSVs: a streamed row index and the split of each CSV.

Holds the index of the caption CSVs (per distinct ``filepath``, the CSV and byte offset of
its rows), built by streaming each file record by record and cached per process, the reading
of one row by its offset, and :func:`split_of_csv`.

Layout facts relied on (``shared/docs/source-formats.md`` §3, which cites
wangzhecheng/SkyScript ``README.md`` and ``image_sources.py``; torchgeo's layout fixture
``tests/data/skyscript`` in ``shared/peer-data`` §1d):

- Captions: ``SkyScript_*.csv`` under the root or its ``dataframe/`` folder (the download URL
  path), with columns ``filepath,title,title_multi_objects`` and, in torchgeo's fixture, a
  fourth ``similarity_CLIP_openai``. The split comes from the name: ``SkyScript_train*`` →
  train, ``SkyScript_val*`` → validation, ``SkyScript_test*`` → test.

**Scale.** The real top-30 % train CSV has 1.5 M rows and the unfiltered one 5.1 M. CSVs are
streamed (never loaded whole): the adapter keeps, per distinct image, its ``filepath`` string
and the byte offset of its row(s), about 150 bytes per image in CPython 3.11, and
:meth:`SkyScript.list_units` adds an 8-byte list slot per image. Measured on a synthetic
1.5 M-row CSV: 230 MB for the index plus 12 MB for the list (peak RSS growth 245 MB), built
in about 5 s (3.6 µs per row); reading every CSV of the full release (5.2 M distinct images)
needs about 0.8 GB. :meth:`SkyScript.read_unit` seeks straight to its row(s). The index is
cached per process (keyed by the CSV files' paths, sizes and modification times), so a copy
of the adapter sent to a Dask worker rebuilds it once per worker, not once per partition.

Decision:

- Split: the first split found among test, validation, train, in that order (an image in both a
  train and a test list counts as test, so it cannot leak into training); ``""`` if no CSV
  name says.

UNVERIFIED: the extra CSV columns of the ``_laion_RS`` and ``_language_polished`` files.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from eoinstruct.sources.base import SourceNotFoundError
from eoinstruct.sources.csvrows import strict_row

log = logging.getLogger(__name__)

SPLITS: tuple[tuple[str, str], ...] = (
    ("test", "test"),
    ("val", "validation"),
    ("train", "train"),
)
"""CSV name prefix (after ``SkyScript_``) → split, in order of precedence."""

MAX_CSVS = 256
"""Most caption CSVs one adapter reads (the row index packs the CSV number into 8 bits)."""

CSV_GLOB = "SkyScript_*.csv"
"""Names of the caption CSVs read by default."""

_CSV_BITS = 8


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
    """Parse one record strictly (:func:`~eoinstruct.sources.csvrows.strict_row`).

    Raises:
        csv.Error: If the record is not exactly one well-formed CSV row, so its text never
            reaches labels.
        UnicodeDecodeError: If the record is not valid in ``encoding``.
    """
    return strict_row(raw.decode(encoding))


def _parses(raw: bytes) -> bool:
    try:
        _parse_record(raw)
    except (UnicodeDecodeError, csv.Error):
        return False
    return True


def _index_records(handle: io.BufferedReader) -> Iterator[tuple[int, bytes]]:
    """Records of :func:`_records`; a multi-line one that does not parse is split in lines.

    A stray quote then costs its own row only, not the rows it swallowed.
    """
    for start, raw in _records(handle):
        if raw.rstrip(b"\r\n").count(b"\n") == 0 or _parses(raw):
            yield start, raw
            continue
        offset = start
        for line in raw.splitlines(keepends=True):
            yield offset, line
            offset += len(line)


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
            records = _index_records(handle)
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
