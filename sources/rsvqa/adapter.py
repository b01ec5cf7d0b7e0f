"""RSVQA-LR and RSVQA-HR: one sample per image of a split, its question-answer pairs as labels.

The adapter class here lists the units and assembles each sample; its helpers live beside
it: :mod:`~eoinstruct.sources.rsvqa.splits` (the split JSON files, indexed by list position,
and an image's question-answer pairs), :mod:`~eoinstruct.sources.rsvqa.answers` (what a
well-formed answer of each type is) and :mod:`~eoinstruct.sources.rsvqa.images` (image files,
header, georeference). Each states the layout facts it relies on.

Layout: the root holds the extracted Zenodo records, LR and HR side by side (their file names
do not collide) or in the sub-folders named by the options ``lr_dir`` / ``hr_dir``:
``Images_LR/<id>.tif`` + ``LR_split_*_{questions,answers,images}.json`` and ``Data/<id>.tif``
+ ``USGS_split_*_{questions,answers,images}.json``. ``all_questions.json`` /
``USGSquestions.json`` and the like (every entry, no split) are not read.

The sample: modality ``rgb``, bands ``R, G, B`` (``uint8``), sensor Sentinel-2 MSI (LR) or a
USGS orthophoto (HR), no acquisition date (the images JSON gives the date the entry was added
to the database, not the acquisition). ``labels.scheme`` is ``rsvqa``; ``labels.properties``
holds, per question type, ``rsvqa_<type>``: a JSON list of ``[question id, question, answer]``
as the files give them (whitespace collapsed), and ``rsvqa_dropped``: a JSON list of
``[question id, reason]`` for the pairs not kept. Tags: ``rsvqa_dataset`` (LR/HR),
``rsvqa_split`` (as the files spell it), ``rsvqa_image_id``.

The questions and answers were generated automatically from OpenStreetMap by the authors
(Lobry et al. 2020, section II-A), not written by annotators; they are carried as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.records import ImageRef, Labels, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of
from eoinstruct.sources.rsvqa.answers import ALL_TYPES
from eoinstruct.sources.rsvqa.images import SENSOR, image_path, read_image
from eoinstruct.sources.rsvqa.splits import (
    SPLIT_NAME,
    SPLITS,
    SplitFiles,
    image_qa,
    load_split,
    split_path,
)

DATASETS: tuple[str, ...] = ("LR", "HR")
"""The datasets the source reads."""

_UNIT = re.compile(r"(lr|hr)_([a-z_]+?)_(\d+)")


def unit_name(dataset: str, split: str, image_id: int) -> str:
    """Return the unit of an image: ``lr_train_17``, ``hr_test_phili_3``."""
    return f"{dataset.lower()}_{split}_{image_id}"


class RSVQA(SourceAdapter):
    """Reader of RSVQA-LR and RSVQA-HR: images and their question-answer pairs, per split.

    Options (``sources.rsvqa`` in ``params.yaml``):
        datasets: Which of ``LR``, ``HR`` to read (default both; a dataset whose files are
            absent is skipped, but at least one must be there).
        lr_dir: Folder of RSVQA-LR under the root (default ``.``).
        hr_dir: Folder of RSVQA-HR under the root (default ``.``).

    Args:
        root: The folder holding the extracted records.
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If an option has a wrong type or value.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        chosen = self.options.get("datasets", DATASETS)
        names = (chosen,) if isinstance(chosen, str) else tuple(chosen)
        if not names or not all(isinstance(n, str) and n.upper() in DATASETS for n in names):
            raise ValueError(
                "rsvqa: sources.rsvqa.datasets (params.yaml) must list LR and/or HR, "
                f"got {chosen!r}"
            )
        self.datasets: tuple[str, ...] = tuple(dict.fromkeys(n.upper() for n in names))
        self.folders: dict[str, Path] = {}
        for dataset in DATASETS:
            key = f"{dataset.lower()}_dir"
            sub = self.options.get(key, ".")
            if not isinstance(sub, str) or Path(sub).is_absolute() or ".." in Path(sub).parts:
                raise ValueError(
                    f"rsvqa: sources.rsvqa.{key} must be a relative folder, got {sub!r}"
                )
            self.folders[dataset] = self.root / sub if sub != "." else self.root
        self._splits: dict[tuple[str, str], SplitFiles] | None = None

    def _index(self) -> dict[tuple[str, str], SplitFiles]:
        """Read every split file of the chosen datasets (once)."""
        if self._splits is not None:
            return self._splits
        found: dict[tuple[str, str], SplitFiles] = {}
        for dataset in self.datasets:
            for split in SPLITS[dataset]:
                files = load_split(self.folders[dataset], dataset, split)
                if files is not None:
                    found[(dataset, split)] = files
        if not found:
            wanted = ", ".join(
                str(split_path(self.folders[d], d, "train", "questions")) for d in self.datasets
            )
            raise SourceNotFoundError(
                f"rsvqa: no split files (e.g. {wanted}); download and extract RSVQA-LR "
                "(https://zenodo.org/records/6344334) and/or RSVQA-HR "
                "(https://zenodo.org/records/6344367) there"
            )
        self._splits = found
        return found

    def list_units(self) -> list[str]:
        """List one unit per active image of every split (and per image an active question names).

        Returns:
            Sorted unit ids such as ``lr_train_17``.

        Raises:
            SourceNotFoundError: If no split file is found, a split lacks one of its three
                files, or a file is not the expected JSON.
        """
        units = [
            unit_name(dataset, split, image_id)
            for (dataset, split), files in self._index().items()
            for image_id in files.active_images()
        ]
        return sorted(units)

    def _parse(self, unit: str) -> tuple[SplitFiles, int]:
        match = _UNIT.fullmatch(unit)
        key = (match[1].upper(), match[2]) if match else None
        if match is None or key is None or key not in self._index():
            raise SourceError("bad_metadata", f"{unit!r} names no split of RSVQA read here", unit)
        return self._index()[key], int(match[3])

    def unit_files(self, unit: str) -> list[Path]:
        """List the unit's image file and its split's three JSON files.

        Args:
            unit: A unit id.

        Returns:
            Existing paths, sorted.
        """
        try:
            files, image_id = self._parse(unit)
        except (SourceError, SourceNotFoundError):
            return []
        folder = self.folders[files.dataset]
        paths = [*files.paths.values(), image_path(folder, files.dataset, image_id)]
        return sorted(p for p in paths if p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one image and its question-answer pairs into a sample.

        Args:
            unit: A unit from :meth:`list_units`.

        Returns:
            A list holding the image's one sample.

        Raises:
            SourceError: See :mod:`~eoinstruct.sources.rsvqa.splits` and
                :mod:`~eoinstruct.sources.rsvqa.images` for which kind each defect gives.
        """
        files, image_id = self._parse(unit)
        dataset = files.dataset
        qa = image_qa(files, image_id, unit)
        folder = self.folders[dataset]
        info = read_image(image_path(folder, dataset, image_id), dataset, unit)
        properties = {
            f"rsvqa_{qtype}": json.dumps(qa.pairs[qtype], ensure_ascii=False)
            for qtype in ALL_TYPES
            if qtype in qa.pairs
        }
        if qa.dropped:
            properties["rsvqa_dropped"] = json.dumps(qa.dropped)
        image = ImageRef(
            role="image",
            files=(str(info.path),),
            bands=("R", "G", "B"),
            encoding="uint8",
            width=info.width,
            height=info.height,
            display_bands=("R", "G", "B"),
        )
        return [
            Sample(
                sample_id=f"{self.name}:{unit}",
                source=self.name,
                native_id=unit,
                modality="rgb",
                sensor=SENSOR[dataset],
                bands=("R", "G", "B"),
                gsd_m=info.gsd_m,
                crs=info.crs,
                footprint_wkt=info.footprint_wkt,
                acquired=(),
                images=(image,),
                tags={
                    "rsvqa_dataset": dataset,
                    "rsvqa_split": files.split,
                    "rsvqa_image_id": str(image_id),
                },
                labels=Labels(scheme="rsvqa", properties=properties),
                licence=self.licence,
                split=SPLIT_NAME[files.split],
            )
        ]
