"""validate regenerates only the pairs of files that are not the generate stage's current output.

The generate stage records each partition's fingerprint (code, settings, templates, the
SHA-256 of its input samples) and the SHA-256 of the pairs file it wrote; validate skips
making a pair again only where both still hold. These tests check that a pair changed after
generate wrote it is still rejected as inconsistent with its labels, and that a changed
sample file makes every pair of its partition checked by generating it again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.instructions.generated import current_pair_files
from eoinstruct.pipeline.instructions.pairs import pairs_columns
from eoinstruct.pipeline.io.parquet import read_pairs, write_table
from eoinstruct.pipeline.records import ImageRef, Labels, Sample, Turn, samples_table
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs
from eoinstruct.pipeline.stages import generate, validate
from eoinstruct.templates import load_templates

REPO = Path(__file__).resolve().parent.parent
CLASSES = (
    ("Pastures", "Coniferous forest"),
    ("Sea and ocean",),
    ("Non-irrigated arable land", "Pastures", "Mixed forest"),
    ("Discontinuous urban fabric", "Broad-leaved forest"),
)


def _sample(i: int, classes: tuple[str, ...]) -> Sample:
    bands = ("B02", "B03", "B04", "B08")
    files = tuple(f"{b}.tif" for b in bands)
    return Sample(
        sample_id=f"bigearthnet_v1:p{i}",
        source="bigearthnet_v1",
        native_id=f"p{i}",
        modality="multispectral",
        sensor="Sentinel-2 MSI",
        bands=bands,
        gsd_m=10.0,
        crs="EPSG:32633",
        footprint_wkt="",
        acquired=("2017-06-13T10:00:00Z",),
        images=(ImageRef("image", files, bands, "reflectance_1e4", 9, 9),),
        tags={},
        labels=Labels(scheme="clc43", classes=classes),
        licence="CDLA-Permissive-1.0",
        split="train",
    )


@pytest.fixture()
def params(tmp_path: Path):  # type: ignore[no-untyped-def]
    raw = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    raw["paths"] = {**raw["paths"], "work": str(tmp_path / "work"), "metrics": str(tmp_path / "m")}
    raw["audit"] = {**raw.get("audit", {}), "balance_min_pairs": 10**6, "max_flagged_rate": 1.0}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    p = load_params(tmp_path / "params.yaml")
    dedup = p.work_dir("dedup")
    samples = [_sample(i, c) for i, c in enumerate(CLASSES)]
    partition = Partition(name="bigearthnet_v1-00000", source="bigearthnet_v1")
    outputs = PartitionOutputs(dedup, partition)
    write_table(outputs.path("kept"), samples_table(samples))
    outputs.commit(StageStats(read=len(samples), kept=len(samples)), "test")
    generate.run(p, progress=False)
    return p


def _validated(p) -> tuple[int, list[list[str]]]:  # type: ignore[no-untyped-def]
    shutil.rmtree(p.state_dir("validate"), ignore_errors=True)
    validate.run(p, progress=False)
    stage = p.work_dir("validate")
    kept = pq.read_table(next((stage / "pairs").glob("*.parquet"))).num_rows
    rejected = pq.read_table(next((stage / "rejected").glob("*.parquet"))).to_pylist()
    return kept, [r["reasons"] for r in rejected]


def test_current_pairs_skip_regeneration_and_pass(params) -> None:  # type: ignore[no-untyped-def]
    current = current_pair_files(params, load_templates())
    pairs_file = next((params.work_dir("generate") / "pairs").glob("*.parquet"))
    assert set(current) == {pairs_file}
    kept, rejected = _validated(params)
    assert kept == len(read_pairs(pairs_file)[1]) > 0 and rejected == []


def test_a_pair_changed_after_generate_is_still_rejected(params) -> None:  # type: ignore[no-untyped-def]
    pairs_file = next((params.work_dir("generate") / "pairs").glob("*.parquet"))
    _, pairs = read_pairs(pairs_file)
    wrong = "Sea and ocean" if "Sea and ocean" not in pairs[0].turns[1].value else "Pastures"
    turns = (pairs[0].turns[0], Turn("gpt", wrong), *pairs[0].turns[2:])
    tampered = [pairs[0].__class__(**{**pairs[0].__dict__, "turns": turns}), *pairs[1:]]
    write_table(pairs_file, pairs_columns(tampered))
    assert current_pair_files(params, load_templates())  # the record still matches
    kept, rejected = _validated(params)
    assert kept == len(pairs) - 1
    assert len(rejected) == 1 and "answer_inconsistent_with_labels" in rejected[0]


def test_a_pair_of_a_current_file_is_not_regenerated(params, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = validate.make_pair
    monkeypatch.setattr(validate, "make_pair", lambda *a: calls.append("x") or real(*a))
    _validated(params)
    assert calls == []
    sample_file = next((params.work_dir("dedup") / "kept").glob("*.parquet"))
    sample_file.write_bytes(sample_file.read_bytes())  # same bytes: still current
    _validated(params)
    assert calls == []
    samples = [_sample(i, c) for i, c in enumerate(reversed(CLASSES))]  # labels changed
    write_table(sample_file, samples_table(samples))
    assert current_pair_files(params, load_templates()) == {}
    _, rejected = _validated(params)
    assert calls and any("answer_inconsistent_with_labels" in r for r in rejected)
