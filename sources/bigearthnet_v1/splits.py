"""Which BigEarthNet v1.0 patches are read and their split: sensor names, split lists.

Holds the values of the ``sensors`` option (checked by the shared
:func:`~eoinstruct.sources.options.parse_sensors`) and the reading of the official split lists
into the split of every listed S2 and S1 patch name.

Layout facts relied on (see ``shared/docs/source-formats.md`` §1, and the files in
``shared/peer-data`` §1a, §8a, §8b that the tests read):

- Splits: the BigEarthNet-MM CSVs as torchgeo names them, ``bigearthnet-{train,val,test}.csv``
  (no header, rows ``<s2>,<s1>``), or the original S2-only lists ``{train,val,test}.csv``
  (one S2 name per line). ``val`` becomes ``validation``.
- Quality lists: ``patches_with_seasonal_snow.csv`` and ``patches_with_cloud_and_shadow.csv``,
  one S2 name per line (61,707 and 9,280 names); a listed patch, and the S1 patch paired with
  it, is flagged as reBEN flags its patches, so ``filter.snow_cloud: drop`` drops it.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from eoinstruct.sources.base import short_repr

SENSORS: tuple[str, ...] = ("s2", "s1")
"""Values of the ``sensors`` option and prefixes of unit ids."""

SPLIT_FILES: tuple[tuple[str, str], ...] = (
    ("train", "train"),
    ("val", "validation"),
    ("test", "test"),
)
"""(file stem, split name) of the split lists."""


QUALITY_LISTS: tuple[tuple[str, str], ...] = (
    ("patches_with_seasonal_snow.csv", "contains_seasonal_snow"),
    ("patches_with_cloud_and_shadow.csv", "contains_cloud_or_shadow"),
)
"""The official lists of S2 patches with seasonal snow or cloud/shadow (one name per line),
and the flag each sets (the keys reBEN's metadata uses, which the filter's ``snow_cloud``
reads)."""


_NAME = re.compile(r"[A-Za-z0-9_]+")
"""A patch name as the lists write it (letters, digits, underscores)."""


@dataclass(frozen=True)
class _Splits:
    """Split of each listed S2 and S1 patch name; snow/cloud flags of listed S2 patches.

    ``split_problem`` says why a patch missing from the split lists cannot be given a
    geographic split (a list of the set is missing or unreadable: the patch may be an official
    test patch); ``flag_problem`` why no patch can be trusted to be snow- and cloud-free (a
    quality list is unreadable).
    """

    s2: dict[str, str]
    s1: dict[str, str]
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    split_problem: str = ""
    flag_problem: str = ""

    def flag_tags(self, s2_patch: str) -> dict[str, str]:
        """Tags of the quality lists that name an S2 patch (``{flag: "true"}``)."""
        return {flag: "true" for flag in self.flags.get(s2_patch, ())}


def _read_rows(path: Path, cells: int) -> list[list[str]] | str:
    """The rows of a list (their first ``cells`` cells), or why the file is unreadable."""
    rows: list[list[str]] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle, strict=True), start=1):
                got = [c.strip() for c in row[:cells]]
                if not any(got):
                    continue
                bad = [c for c in got if c and not _NAME.fullmatch(c)]
                if bad:
                    return f"{path} line {number}: {short_repr(bad[0], 60)} is not a patch name"
                rows.append(got)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"{path} is unreadable ({short_repr(str(exc), 80)})"
    return rows


def _load_splits(root: Path) -> _Splits:
    """Read the split lists under ``root``.

    The BigEarthNet-MM CSVs (``bigearthnet-*.csv``) come first; the S2-only lists
    (``train.csv`` …) fill in S2 names the former do not list. A set of lists of which only
    some are present, or one with a malformed row, is recorded as the ``split_problem``
    (the patches it lists are not known); an unreadable quality list as the ``flag_problem``.

    Args:
        root: The dataset root.

    Returns:
        The split of every listed S2 and S1 patch name.
    """
    s2: dict[str, str] = {}
    s1: dict[str, str] = {}
    problems: list[str] = []
    for prefix in ("bigearthnet-", ""):
        paths = [(root / f"{prefix}{stem}.csv", split) for stem, split in SPLIT_FILES]
        present = [p.name for p, _ in paths if p.is_file()]
        if present and len(present) < len(paths):
            missing = [p.name for p, _ in paths if not p.is_file()]
            problems.append(f"{', '.join(missing)} missing beside {', '.join(present)}")
        for path, split in paths:
            if not path.is_file():
                continue
            rows = _read_rows(path, 2)
            if isinstance(rows, str):
                problems.append(rows)
                continue
            for cells in rows:
                if cells[0]:
                    s2.setdefault(cells[0], split)
                if len(cells) > 1 and cells[1]:
                    s1.setdefault(cells[1], split)
    flags: dict[str, tuple[str, ...]] = {}
    flag_problems: list[str] = []
    for name, flag in QUALITY_LISTS:
        path = root / name
        if not path.is_file():
            continue
        rows = _read_rows(path, 1)
        if isinstance(rows, str):
            flag_problems.append(rows)
            continue
        for (patch,) in rows:
            flags[patch] = (*flags.get(patch, ()), flag)
    return _Splits(
        s2=s2,
        s1=s1,
        flags=flags,
        split_problem="; ".join(problems),
        flag_problem="; ".join(flag_problems),
    )
