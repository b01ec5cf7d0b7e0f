"""Tests of the RSVQA adapter (RSVQA-LR and RSVQA-HR) and its sample-corpus writer.

There is no RSVQA material in ``shared/peer-data``, so the real layout is tested through the
sample corpus (``sources/rsvqa/sample.py``, written from the layout facts of
``shared/docs/source-formats.md`` section 12) and edited copies of it: ids that are not list
positions, partial splits, the specification's ``quesiton_id`` spelling, sub-folders.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely

from eoinstruct.pipeline.quality.scores import count_tag_fields, geolocation_problem
from eoinstruct.pipeline.records import sample_from_row, samples_table
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.rsvqa import sample as corpus
from eoinstruct.sources.rsvqa.adapter import RSVQA
from eoinstruct.sources.rsvqa.answers import answer_problem

SEED = 11
GOOD = {
    f"{s.dataset.lower()}_{s.split}_{s.image_id}": s
    for s in corpus.IMAGES
    if s.split and s.defect in ("", "duplicate", "one_bad_count")
}
ROOF_RGB = (190, 80, 70)


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rsvqa") / "RSVQA"
    corpus.write(root, SEED)
    return root


@pytest.fixture(scope="module")
def adapter(sample_root: Path) -> RSVQA:
    return RSVQA(sample_root)


def _copy(sample_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "RSVQA"
    shutil.copytree(sample_root, root)
    return root


def _edit(path: Path, kind: str, edit) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(path.read_text(encoding="utf-8"))
    edit(doc[kind])
    path.write_text(json.dumps(doc), encoding="utf-8")


def test_writer_is_deterministic(tmp_path: Path, sample_root: Path) -> None:
    corpus.write(tmp_path / "again", SEED)
    files = sorted(p.relative_to(sample_root) for p in sample_root.rglob("*") if p.is_file())
    again = sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*"))
    assert files == [p for p in again if (tmp_path / "again" / p).is_file()]
    for p in files:
        assert (sample_root / p).read_bytes() == (tmp_path / "again" / p).read_bytes(), p


def test_writer_writes_the_release_layout(sample_root: Path) -> None:
    for split in ("train", "val", "test"):
        for kind in ("questions", "answers", "images"):
            doc = json.loads((sample_root / f"LR_split_{split}_{kind}.json").read_text())
            assert list(doc) == [kind]
            assert all(entry["id"] == i for i, entry in enumerate(doc[kind]))
            assert any(entry["active"] for entry in doc[kind])
    for split in ("train", "val", "test", "test_phili"):
        assert (sample_root / f"USGS_split_{split}_images.json").is_file()
    with rasterio.open(sample_root / "Images_LR" / "0.tif") as ds:
        assert (ds.count, ds.width, ds.height, ds.dtypes[0]) == (3, 256, 256, "uint8")
        assert ds.crs.to_epsg() == 32631 and ds.transform.a == 10.0
    with rasterio.open(sample_root / "Data" / "0.tif") as ds:
        assert (ds.count, ds.width, ds.height) == (3, 512, 512)
        assert ds.transform.a == pytest.approx(0.15)
    assert not (sample_root / "Images_LR" / "7.tif").exists()


def test_lists_active_images_and_orphan_questions(adapter: RSVQA) -> None:
    units = adapter.list_units()
    assert units == sorted(units)
    assert set(units) == set(GOOD) | set(corpus.BAD_UNITS)
    assert not any(u.endswith("_8") and u.startswith("lr") for u in units)  # inactive image


@pytest.mark.parametrize("unit", sorted(GOOD))
def test_reads_good_image(adapter: RSVQA, unit: str) -> None:
    spec = GOOD[unit]
    (sample,) = adapter.read_unit(unit)
    assert sample.sample_id == f"rsvqa:{unit}" and sample.modality == "rgb"
    assert sample.split == {"val": "validation", "test_phili": "test"}.get(spec.split, spec.split)
    assert sample.gsd_m == pytest.approx(corpus.GSD[spec.dataset])
    assert geolocation_problem(sample) == ""
    assert shapely.from_wkt(sample.footprint_wkt).area > 0
    assert sample.tags["rsvqa_dataset"] == spec.dataset
    assert count_tag_fields(sample) >= 3
    assert sample_from_row(samples_table([sample]).to_pylist()[0]) == sample
    props = sample.labels.properties
    types = {k.removeprefix("rsvqa_") for k in props if k != "rsvqa_dropped"}
    assert types == ({"presence", "comp", "count", "rural_urban"} if spec.dataset == "LR"
                     else {"presence", "comp", "count", "area"})  # fmt: skip
    for qtype in types:
        for _, question, answer in json.loads(props[f"rsvqa_{qtype}"]):
            assert question.endswith("?") and answer_problem(qtype, answer) == ""


@pytest.mark.parametrize("unit", sorted(GOOD))
def test_answers_are_true_of_the_drawn_pixels(adapter: RSVQA, unit: str) -> None:
    spec = GOOD[unit]
    (sample,) = adapter.read_unit(unit)
    with rasterio.open(sample.images[0].files[0]) as ds:
        pixels = ds.read()
    roof = np.all(pixels == np.array(ROOF_RGB)[:, None, None], axis=0)
    side = corpus._ROOF_PX if spec.dataset == "HR" else 2
    roofs = int(roof.sum()) // side**2
    answers = {
        q: a
        for qtype in ("presence", "count", "area")
        for _, q, a in json.loads(sample.labels.properties.get(f"rsvqa_{qtype}", "[]"))
    }
    assert answers["How many buildings are there in the image?"] == str(roofs)
    assert answers["Is there a building in the image?"] == ("yes" if roofs else "no")
    if spec.dataset == "HR":
        area = round(int(roof.sum()) * 0.15**2)
        assert answers["What is the area covered by buildings?"] == f"{area}m2"


@pytest.mark.parametrize("unit", sorted(corpus.BAD_UNITS))
def test_bad_units_fail_with_their_kind(adapter: RSVQA, unit: str) -> None:
    kind = corpus.BAD_UNITS[unit].split(":")[0]
    with pytest.raises(SourceError) as err:
        adapter.read_unit(unit)
    assert err.value.kind == kind, str(err.value)


def test_partly_broken_units_keep_their_good_pairs(adapter: RSVQA) -> None:
    (dup,) = adapter.read_unit("lr_train_2")
    dropped = json.loads(dup.labels.properties["rsvqa_dropped"])
    assert [r for _, r in dropped] == ["same_question_other_answer"] * 2
    presence = json.loads(dup.labels.properties["rsvqa_presence"])
    assert "Is a water area present?" not in [q for _, q, _ in presence]
    (bad_count,) = adapter.read_unit("hr_train_1")
    assert [r for _, r in json.loads(bad_count.labels.properties["rsvqa_dropped"])] == [
        "count_not_a_number"
    ]
    assert "several" not in bad_count.labels.properties["rsvqa_count"]


def test_unit_files(adapter: RSVQA, sample_root: Path) -> None:
    files = adapter.unit_files("hr_test_phili_4")
    assert sample_root / "Data" / "4.tif" in files
    assert sample_root / "USGS_split_test_phili_questions.json" in files
    assert adapter.unit_files("nonsense") == []


def test_id_that_is_not_its_position(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path)

    def shift(questions: list[dict]) -> None:  # type: ignore[type-arg]
        questions[0]["id"] = 999

    _edit(root / "LR_split_train_questions.json", "questions", shift)
    with pytest.raises(SourceError, match="list positions") as err:
        RSVQA(root).read_unit("lr_train_0")
    assert err.value.kind == "bad_metadata"


def test_question_naming_another_image(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path)

    def move(questions: list[dict]) -> None:  # type: ignore[type-arg]
        questions[0]["img_id"] = 1

    _edit(root / "LR_split_train_questions.json", "questions", move)
    with pytest.raises(SourceError) as err:
        RSVQA(root).read_unit("lr_train_0")
    assert err.value.kind == "bad_metadata"


def test_specification_spelling_quesiton_id(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path)

    def respell(answers: list[dict]) -> None:  # type: ignore[type-arg]
        for a in answers:
            a["quesiton_id"] = a.pop("question_id")

    _edit(root / "USGS_split_train_answers.json", "answers", respell)
    (sample,) = RSVQA(root).read_unit("hr_train_0")
    assert "rsvqa_area" in sample.labels.properties


def test_answer_of_another_question(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path)

    def swap(answers: list[dict]) -> None:  # type: ignore[type-arg]
        answers[0]["question_id"] = 5

    _edit(root / "USGS_split_train_answers.json", "answers", swap)
    with pytest.raises(SourceError) as err:
        RSVQA(root).read_unit("hr_train_0")
    assert err.value.kind == "malformed_label"


def test_partial_split_and_bad_json(tmp_path: Path, sample_root: Path) -> None:
    root = _copy(sample_root, tmp_path)
    (root / "LR_split_test_answers.json").unlink()
    with pytest.raises(SourceNotFoundError, match=r"LR_split_test_answers\.json"):
        RSVQA(root).list_units()
    (root / "LR_split_test_answers.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SourceNotFoundError, match="JSON"):
        RSVQA(root).list_units()


def test_datasets_and_folder_options(tmp_path: Path, sample_root: Path) -> None:
    assert all(u.startswith("lr_") for u in RSVQA(sample_root, {"datasets": ["LR"]}).list_units())
    root = tmp_path / "both"
    for name, keep in (("RSVQA_LR", ("Images_LR", "LR_split")), ("RSVQA_HR", ("Data", "USGS"))):
        (root / name).mkdir(parents=True)
        for path in sample_root.iterdir():
            if path.name.startswith(keep):
                copy = shutil.copytree if path.is_dir() else shutil.copy
                copy(path, root / name / path.name)
    adapter = RSVQA(root, {"lr_dir": "RSVQA_LR", "hr_dir": "RSVQA_HR"})
    assert adapter.list_units() == RSVQA(sample_root).list_units()
    assert adapter.read_unit("hr_val_2")[0].images[0].files[0].startswith(str(root / "RSVQA_HR"))
    with pytest.raises(ValueError, match="datasets"):
        RSVQA(sample_root, {"datasets": ["MR"]})
    with pytest.raises(ValueError, match="relative"):
        RSVQA(sample_root, {"lr_dir": "../x"})


def test_missing_root_mentions_params(tmp_path: Path) -> None:
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml"):
        RSVQA(tmp_path / "nowhere")
    with pytest.raises(SourceNotFoundError, match=r"params\.yaml") as err:
        RSVQA(tmp_path).list_units()
    assert "zenodo" in str(err.value)


@pytest.mark.parametrize(
    ("qtype", "answer", "ok"),
    [
        ("count", "12", True),
        ("count", "0", True),
        ("count", "012", False),
        ("count", "-3", False),
        ("count", "many", False),
        ("count", "between 10 and 100", True),
        ("area", "0m2", True),
        ("area", "1234m2", True),
        ("area", "between 10m2 and 100m2", True),
        ("area", "1234", False),
        ("area", "12 m2", False),
        ("presence", "yes", True),
        ("presence", "Yes", False),
        ("comp", "maybe", False),
        ("rural_urban", "urban", True),
        ("rural_urban", "suburban", False),
    ],
)
def test_answer_forms(qtype: str, answer: str, ok: bool) -> None:
    assert (answer_problem(qtype, answer) == "") is ok
