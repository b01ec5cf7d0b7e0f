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
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class _Splits:
    """Split of each listed S2 and S1 patch name; snow/cloud flags of listed S2 patches."""

    s2: dict[str, str]
    s1: dict[str, str]
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def flag_tags(self, s2_patch: str) -> dict[str, str]:
        """Tags of the quality lists that name an S2 patch (``{flag: "true"}``)."""
        return {flag: "true" for flag in self.flags.get(s2_patch, ())}


def _load_splits(root: Path) -> _Splits:
    """Read the split lists under ``root``.

    The BigEarthNet-MM CSVs (``bigearthnet-*.csv``) come first; the S2-only lists
    (``train.csv`` …) fill in S2 names the former do not list.

    Args:
        root: The dataset root.

    Returns:
        The split of every listed S2 and S1 patch name.
    """
    s2: dict[str, str] = {}
    s1: dict[str, str] = {}
    for prefix in ("bigearthnet-", ""):
        for stem, split in SPLIT_FILES:
            path = root / f"{prefix}{stem}.csv"
            if not path.is_file():
                continue
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.reader(handle):
                    cells = [c.strip() for c in row]
                    if cells and cells[0]:
                        s2.setdefault(cells[0], split)
                    if len(cells) > 1 and cells[1]:
                        s1.setdefault(cells[1], split)
    flags: dict[str, tuple[str, ...]] = {}
    for name, flag in QUALITY_LISTS:
        path = root / name
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if row and row[0].strip():
                    patch = row[0].strip()
                    flags[patch] = (*flags.get(patch, ()), flag)
    return _Splits(s2=s2, s1=s1, flags=flags)
