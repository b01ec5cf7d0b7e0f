"""Write a tiny RSVQA-LR and RSVQA-HR in the real layout, with drawn scenes and their answers.

What is real (``shared/docs/source-formats.md`` section 12; see
:mod:`~eoinstruct.sources.rsvqa.splits`): the file names (``Images_LR/<id>.tif``,
``Data/<id>.tif``, ``LR_split_{train,val,test}_*.json``, ``USGS_split_{train,val,test,
test_phili}_*.json``), the JSON schema of images, questions and answers (ids as list
positions, ``active`` flags, ``questions_ids``/``answers_ids`` references), the question
types per dataset, the answer forms (``yes``/``no``, ``rural``/``urban``, whole-number
counts, areas as ``<n>m2``) and question wordings in the style the RSVQA paper quotes ("How
many roads are present in the image?", "Is there a small retail place?"). Every split file
lists every entry of its dataset, ``active`` marking the split's members (inferred, as the
official loader indexes the lists by position).

What is synthetic: the pixels, drawn scenes (fields, roads, roofs, a pond) over noise, and
GeoTIFF georeference (UTM 31N near Delft for LR, UTM 18N in New York and Philadelphia for HR;
whether the real files carry one is UNVERIFIED). The answers are *true of the drawn pixels*:
counts are the roofs and roads drawn, presence follows what is drawn, areas are the roof
pixels times the pixel area, rural/urban follows the roof count. No peer-data fixture exists.

Good images: LR 6 (train 3, val 2, test 1), HR 6 (train 2, val 1, test 1, test_phili 2).
Deliberately bad units (:data:`BAD_UNITS`), checked by ``tests/test_source_rsvqa.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.transform import Affine

from eoinstruct.sources.geo import from_lonlat
from eoinstruct.sources.rsvqa.images import IMAGE_DIR, SIZE

GSD = {"LR": 10.0, "HR": 0.15}
EPSG = {"LR": 32631, "HR": 32618}
BASE_LONLAT = {"LR": (4.36, 52.01), "HR": (-73.95, 40.70)}
PHILI_LONLAT = (-75.16, 39.95)


@dataclass(frozen=True)
class ImageSpec:
    """One image of the sample corpus.

    Attributes:
        dataset: ``LR`` or ``HR``.
        image_id: Its id (list position).
        split: Split as the file names spell it (``None``: inactive everywhere).
        roofs: Roofs drawn.
        roads: Roads drawn.
        water: Whether a pond is drawn.
        fields: Whether crop fields are drawn.
        defect: Which broken unit it is (empty: a good image).
    """

    dataset: str
    image_id: int
    split: str | None
    roofs: int
    roads: int
    water: bool
    fields: bool
    defect: str = ""


IMAGES: tuple[ImageSpec, ...] = (
    ImageSpec("LR", 0, "train", 14, 3, False, False),
    ImageSpec("LR", 1, "train", 2, 1, True, True),
    ImageSpec("LR", 2, "train", 0, 2, True, True, "duplicate"),
    ImageSpec("LR", 3, "val", 9, 2, True, False),
    ImageSpec("LR", 4, "val", 1, 0, False, True),
    ImageSpec("LR", 5, "test", 11, 4, False, True),
    ImageSpec("LR", 6, "train", 3, 1, False, True, "answer_id_missing"),
    ImageSpec("LR", 7, "val", 4, 1, True, False, "missing_image"),
    ImageSpec("LR", 8, None, 5, 2, False, True),
    ImageSpec("HR", 0, "train", 6, 1, False, False),
    ImageSpec("HR", 1, "train", 0, 1, True, True, "one_bad_count"),
    ImageSpec("HR", 2, "val", 3, 2, False, True),
    ImageSpec("HR", 3, "test", 8, 2, True, False),
    ImageSpec("HR", 4, "test_phili", 5, 1, False, False),
    ImageSpec("HR", 5, "test_phili", 1, 0, True, True),
    ImageSpec("HR", 6, "train", 2, 1, False, True, "non_numeric_count"),
    ImageSpec("HR", 7, "val", 3, 1, True, False, "all_inactive"),
    ImageSpec("HR", 8, "test", 4, 2, False, True, "wrong_size"),
)
"""Every image written, good and bad (see :data:`BAD_UNITS`)."""

ORPHAN_QUESTION_IMAGE = 9
"""The image id a question of LR ``val`` names although the images list stops at 8."""

BAD_UNITS: dict[str, str] = {
    "lr_train_6": "malformed_label: a question's answers_ids names an answer beyond the list",
    "lr_val_7": "missing_file: Images_LR/7.tif is not written",
    "lr_val_9": "bad_metadata: an active question names image 9, which the images list lacks",
    "hr_train_6": "malformed_label: its only questions are counts answered 'many'",
    "hr_val_7": "malformed_label: every question of the image is inactive",
    "hr_test_8": "corrupt_raster: Data/8.tif is 256x256, not 512x512",
}
"""Broken units: unit → the ingest failure kind and why."""

PARTLY_BROKEN: dict[str, str] = {
    "lr_train_2": "a question asked twice with different answers: both dropped",
    "hr_train_1": "one count answered 'several': that pair dropped, the rest kept",
}
"""Good units with pairs dropped (``rsvqa_dropped``), and why."""

NEVER_LISTED: tuple[str, ...] = ("lr_8",)
"""Images inactive in every split: no unit."""


def _questions(spec: ImageSpec) -> list[tuple[str, str, str]]:
    """The (type, question, answer) triples of an image, true of its drawn scene."""
    yes = {True: "yes", False: "no"}
    triples = [
        ("presence", "Is there a building in the image?", yes[spec.roofs > 0]),
        ("presence", "Is a water area present?", yes[spec.water]),
        ("presence", "Is there a road?", yes[spec.roads > 0]),
        ("presence", "Are there farmlands in the image?", yes[spec.fields]),
        ("count", "How many buildings are there in the image?", str(spec.roofs)),
        ("count", "How many roads are present in the image?", str(spec.roads)),
        ("comp", "Are there more buildings than roads?", yes[spec.roofs > spec.roads]),
        ("comp", "Is the number of roads equal to the number of buildings?",
         yes[spec.roads == spec.roofs]),
    ]  # fmt: skip
    if spec.dataset == "LR":
        kind = "urban" if spec.roofs >= 8 else "rural"
        triples.append(("rural_urban", "Is it a rural or an urban area?", kind))
    else:
        area = round(spec.roofs * _ROOF_PX**2 * GSD["HR"] ** 2)
        triples.append(("area", "What is the area covered by buildings?", f"{area}m2"))
    if spec.defect == "duplicate":
        triples.append(("presence", "Is a water area present?", yes[not spec.water]))
    if spec.defect == "one_bad_count":
        triples.append(("count", "What is the number of water areas?", "several"))
    if spec.defect == "non_numeric_count":
        triples = [("count", "How many buildings are there in the image?", "many")]
    return triples


_ROOF_PX = 48  # HR roofs are 48 x 48 px (7.2 m); LR roofs 2 x 2 px (20 m)


def _scene(spec: ImageSpec, rng: np.random.Generator) -> np.ndarray:
    """Draw the image: fields or grass, roads, roofs and a pond over smooth noise."""
    size = SIZE[spec.dataset] if spec.defect != "wrong_size" else 256
    roof = _ROOF_PX if spec.dataset == "HR" else 2
    base = np.array([96, 128, 72], dtype=np.float32)
    img = np.broadcast_to(base[:, None, None], (3, size, size)).copy()
    coarse = rng.normal(0.0, 14.0, size=(3, size // 16 + 1, size // 16 + 1))
    img += np.kron(coarse, np.ones((16, 16)))[:, :size, :size]
    img += rng.normal(0.0, 5.0, size=img.shape)
    if spec.fields:
        for k in range(4):
            tone = np.array([150, 140, 80]) if k % 2 else np.array([110, 150, 70])
            img[:, size // 2 + k * size // 8 : size // 2 + (k + 1) * size // 8, : size // 2] = tone[
                :, None, None
            ]
    if spec.water:
        c = size // 4
        yy, xx = np.mgrid[:size, :size]
        pond = (yy - c) ** 2 + (xx - 3 * c) ** 2 < (size // 10) ** 2
        img[:, pond] = np.array([40, 70, 110])[:, None]
    width = max(size // 64, 2)
    for r in range(spec.roads):
        y = (r + 1) * size // (spec.roads + 1) + int(rng.integers(-3, 4))
        img[:, y : y + width, :] = 175.0
    placed = 0
    taken = np.zeros((size, size), dtype=bool)
    while placed < spec.roofs:
        y, x = (int(v) for v in rng.integers(0, size - roof, size=2))
        if taken[max(y - 2, 0) : y + roof + 2, max(x - 2, 0) : x + roof + 2].any():
            continue
        taken[y : y + roof, x : x + roof] = True
        img[:, y : y + roof, x : x + roof] = np.array([190, 80, 70])[:, None, None]
        placed += 1
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def _write_tif(path: Path, data: np.ndarray, spec: ImageSpec) -> None:
    lon, lat = PHILI_LONLAT if spec.split == "test_phili" else BASE_LONLAT[spec.dataset]
    step = 0.05 if spec.dataset == "LR" else 0.004
    crs = f"EPSG:{EPSG[spec.dataset]}"
    x, y = from_lonlat(lon + step * spec.image_id, lat + step * (spec.image_id % 3), crs)
    gsd = GSD[spec.dataset]
    transform = Affine(gsd, 0.0, round(x, 2), 0.0, -gsd, round(y, 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=3,
        dtype="uint8",
        crs=f"EPSG:{EPSG[spec.dataset]}",
        transform=transform,
    ) as ds:
        ds.write(data)


def _json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


_Entries = list[dict[str, Any]]


def _dataset_lists(dataset: str) -> tuple[_Entries, _Entries, _Entries]:
    """Every image, question and answer of a dataset (``active`` set per split later)."""
    images: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    specs = [s for s in IMAGES if s.dataset == dataset]
    for spec in specs:
        qids = []
        for qtype, text, answer in _questions(spec):
            qid, aid = len(questions), len(answers)
            qids.append(qid)
            answer_ids = [aid]
            if spec.defect == "answer_id_missing" and qtype == "count":
                answer_ids = [10_000 + aid]
            questions.append({
                "id": qid, "date_added": 1580000000.0, "img_id": spec.image_id,
                "people_id": 1, "type": qtype, "question": text,
                "answers_ids": answer_ids, "split": spec.split,
                "inactive": spec.defect == "all_inactive",
            })  # fmt: skip
            answers.append({
                "id": aid, "date_added": 1580000000.0, "question_id": qid, "people_id": 1,
                "answer": answer, "split": spec.split,
            })  # fmt: skip
        images.append({
            "id": spec.image_id, "date_added": 1580000000.0,
            "original_name": f"{'S2' if dataset == 'LR' else 'USGS'}_{spec.image_id:04d}.tif",
            "sensor": "Sentinel-2" if dataset == "LR" else "USGS", "people_id": 1,
            "type": "image", "questions_ids": qids, "split": spec.split,
        })  # fmt: skip
    if dataset == "LR":  # a question of the val split naming an image the list lacks
        questions.append({
            "id": len(questions), "date_added": 1580000000.0, "img_id": ORPHAN_QUESTION_IMAGE,
            "people_id": 1, "type": "presence", "question": "Is there a road?",
            "answers_ids": [len(answers)], "split": "val", "inactive": False,
        })  # fmt: skip
        answers.append({
            "id": len(answers), "date_added": 1580000000.0, "question_id": len(questions) - 1,
            "people_id": 1, "answer": "yes", "split": "val",
        })  # fmt: skip
    return images, questions, answers


def _for_split(entries: list[dict[str, Any]], split: str) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        row = {k: v for k, v in entry.items() if k not in ("split", "inactive")}
        row["active"] = entry["split"] == split and not entry.get("inactive", False)
        out.append(row)
    return out


def write(root: Path, seed: int) -> None:
    """Write the sample RSVQA-LR and RSVQA-HR under ``root`` (created if needed).

    The same seed gives byte-identical files.

    Args:
        root: Target folder (the ``sources.rsvqa.root``).
        seed: Seed of the pixel noise.
    """
    root.mkdir(parents=True, exist_ok=True)
    for n, spec in enumerate(IMAGES):
        if spec.defect == "missing_image":
            continue
        rng = np.random.default_rng([seed, n])
        path = root / IMAGE_DIR[spec.dataset] / f"{spec.image_id}.tif"
        _write_tif(path, _scene(spec, rng), spec)
    for dataset, prefix, splits in (
        ("LR", "LR_split", ("train", "val", "test")),
        ("HR", "USGS_split", ("train", "val", "test", "test_phili")),
    ):
        images, questions, answers = _dataset_lists(dataset)
        for split in splits:
            lists = {"images": images, "questions": questions, "answers": answers}
            for kind, entries in lists.items():
                _json(root / f"{prefix}_{split}_{kind}.json", {kind: _for_split(entries, split)})
