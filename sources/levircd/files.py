"""LEVIR-CD / LEVIR-CD+ files: the three layouts, unit ids, PNG checks.

Layouts under the root (any mix), each a *group* folder holding ``A/`` (the earlier image),
``B/`` (the later image) and ``label/`` (the change mask), one PNG of the same name in each:

- LEVIR-CD as its authors distribute it: ``{train,val,test}/{A,B,label}/<split>_<n>.png``
  (group ``train`` …);
- LEVIR-CD as the Hugging Face mirror's ``train.zip``/``val.zip``/``test.zip`` extract (the
  files torchgeo ``LEVIRCD._load_files`` globs, ``root/A/<split>*.png``, and its test fixture
  ``tests/data/levircd/levircd/``): ``{A,B,label}/<split>_<n>.png`` (group ``.``);
- LEVIR-CD+ (torchgeo ``LEVIRCDPlus``: ``LEVIR-CD+/<split>/{A,B,label}/<name>.png``, splits
  ``train`` and ``test``) (group ``LEVIR-CD+/train`` …).

UNVERIFIED: the file names inside LEVIR-CD+ (the torchgeo fixture has ``00.png``; any name is
read) and that the authors' archives hold the split folders (the brief and third-party
READMEs say so; the mirror's zips do not).

A unit is ``<group>/<stem>``; it is listed when any of its three files exists, so a pair
missing a file fails with ``missing_file`` instead of vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from eoinstruct.sources.base import SourceError

FOLDERS: tuple[str, str, str] = ("A", "B", "label")
"""The three sub-folders of a group: earlier image, later image, change mask."""

ROLES: dict[str, str] = {"A": "pre", "B": "post"}
"""Image folder → the sample's image role."""

LEVIR_CD_SPLITS: tuple[str, ...] = ("train", "val", "test")
PLUS_DIR = "LEVIR-CD+"
PLUS_SPLITS: tuple[str, ...] = ("train", "test")

SPLIT_MAP: dict[str, str] = {"train": "train", "val": "validation", "test": "test"}
"""Split name in the release → the sample's split."""


@dataclass(frozen=True)
class Unit:
    """One image pair: its group folder (relative to the root) and file stem."""

    group: str
    stem: str

    @property
    def id(self) -> str:
        """The unit id, ``<group>/<stem>``."""
        return f"{self.group}/{self.stem}"

    @property
    def native_id(self) -> str:
        """The sample's native id: the unit id without the flat layout's ``./``."""
        return self.stem if self.group == "." else self.id

    @property
    def subset(self) -> str:
        """``LEVIR-CD`` or ``LEVIR-CD+``."""
        return PLUS_DIR if self.group.startswith(PLUS_DIR + "/") else "LEVIR-CD"

    @property
    def split(self) -> str:
        """The sample's split: from the group folder, or the stem's prefix in the flat layout."""
        name = self.group.rsplit("/", 1)[-1]
        if self.group == ".":
            name = self.stem.split("_", 1)[0]
        return SPLIT_MAP.get(name, "")

    def path(self, root: Path, folder: str) -> Path:
        """The file of this unit in ``A``, ``B`` or ``label``."""
        return root / self.group / folder / f"{self.stem}.png"


def groups(root: Path) -> list[str]:
    """Return the group folders present under ``root`` (any of ``A/``, ``B/``, ``label/``)."""
    candidates = [
        ".",
        *LEVIR_CD_SPLITS,
        *(f"{PLUS_DIR}/{split}" for split in PLUS_SPLITS),
    ]
    return [g for g in candidates if any((root / g / f).is_dir() for f in FOLDERS)]


def units_of(root: Path, group: str) -> list[Unit]:
    """Return the units of one group: every PNG stem found in any of its three folders."""
    stems: set[str] = set()
    for folder in FOLDERS:
        directory = root / group / folder
        if directory.is_dir():
            stems |= {
                p.stem
                for p in directory.iterdir()
                if p.suffix == ".png" and not p.name.startswith(".") and p.is_file()
            }
    return [Unit(group, stem) for stem in sorted(stems)]


def parse_unit(unit: str) -> Unit:
    """Parse a unit id.

    Raises:
        ValueError: If it is not ``<group>/<stem>`` with a known group.
    """
    group, _, stem = unit.rpartition("/")
    known = {".", *LEVIR_CD_SPLITS, *(f"{PLUS_DIR}/{s}" for s in PLUS_SPLITS)}
    if group not in known or not stem:
        raise ValueError(f"levircd: bad unit id {unit!r}; expected '<group>/<stem>'")
    return Unit(group, stem)


def rgb_size(path: Path, unit: str) -> tuple[int, int]:
    """Check an image PNG (8-bit RGB, complete) and return its size.

    ``Image.verify`` reads every chunk and checks its CRC without decoding, so a truncated or
    damaged file fails here rather than in a later stage.

    Raises:
        SourceError: ``corrupt_raster`` for an unreadable, truncated or non-RGB file.
    """
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"levircd {unit}: {path}: unreadable ({exc})", unit
        ) from exc
    if mode not in ("RGB", "RGBA"):
        raise SourceError(
            "corrupt_raster",
            f"levircd {unit}: {path}: expected an 8-bit RGB PNG, got mode {mode}",
            unit,
        )
    return int(size[0]), int(size[1])
