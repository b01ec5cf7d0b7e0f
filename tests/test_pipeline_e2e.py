"""The whole build on the embedded sample corpus: outputs, accounting, determinism, resume."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from build_helpers import REPO, build, make_params, tree_digest
from PIL import Image

from eoinstruct.cli import main
from eoinstruct.pipeline.run.partitions import completed_records
from eoinstruct.pipeline.stages import accounted
from eoinstruct.sources.fmow import sample as fmow_corpus
from eoinstruct.sources.so2sat import sample as so2sat_corpus
from eoinstruct.sources.treesatai import sample as treesatai_corpus


@pytest.fixture(scope="module")
def built(sample_build: Path) -> Path:
    """The shared sample build (``conftest.sample_build``): read, never changed."""
    return sample_build


UNGEOREFERENCED = {"hrsid", "hit_uav", "levircd", "dior", "dota", "so2sat"}
"""Sources whose samples have no footprint (exempt from ``no_geolocation``)."""


def ledger(root: Path, stage: str, kind: str) -> dict[str, str]:
    rows = []
    for path in sorted((root / "work" / stage / kind).glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    key = "kind" if kind == "failed" else "reason"
    return {row["item"]: row[key] for row in rows}


def test_every_deliberately_broken_unit_ends_where_it_should(built: Path) -> None:
    ingest_failed = ledger(built, "ingest", "failed")
    assert ingest_failed == {
        "s2/S2A_MSIL2A_20170613T101031_90_01": "missing_band",
        "s1/S1A_IW_GRDH_1SDV_20170613T165043_33UUP_90_05": "malformed_label",
        "train/hurricane-harvey_00000900": "malformed_label",
        "train/hurricane-harvey_00000904": "missing_file",
        "images3/w600100200_US_20.jpg": "missing_file",
        "images3/n600100203_DE_19.jpg": "malformed_label",
        "ang20191025t165545_r6573_c24_w151_h151": "missing_file",
        "ang20190930t171842_r4410_c305_w151_h151": "bad_metadata",
        "618090219/patch_2": "missing_file",
        "619224085/patch_0": "bad_metadata",
        "s2/S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_62_45": "missing_band",
        "sentinel2/1311_2862": "malformed_label",
        "sentinel2/1312_2862": "missing_band",
        "sentinel-2-l2a/S2A_13TDE_20230729_0_L2A": "corrupt_raster",
        "landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1": "missing_file",
        "trainval/000900": "malformed_label",
        "trainval/000901": "malformed_label",
        "trainval/000902": "malformed_label",
        "-/000903": "missing_file",
        "train/P0900": "malformed_label",
        "train/P0901": "missing_file",
        "train/P0902": "malformed_label",
        "train/P0903": "malformed_label",
        "lr_train_6": "malformed_label",
        "lr_val_7": "missing_file",
        "lr_val_9": "bad_metadata",
        "hr_train_6": "malformed_label",
        "hr_val_7": "malformed_label",
        "hr_test_8": "corrupt_raster",
        "train2017/P0009_0_800_800_1600": "malformed_label",  # hrsid
        "train2017/P0009_800_1600_0_800": "malformed_label",
        "train2017/P0009_800_1600_800_1600": "malformed_label",
        "train2017/P0010_0_800_0_800": "missing_file",
        "train2017/P0010_0_800_800_1600": "corrupt_raster",
        "0_60_30_0_09001": "malformed_label",  # hit_uav
        "0_60_30_0_09002": "malformed_label",
        "0_60_30_0_09003": "malformed_label",
        "0_60_30_0_09004": "missing_file",
        "0_60_30_0_09005": "corrupt_raster",
        **treesatai_corpus.BAD_UNITS,
        **so2sat_corpus.BAD_UNITS,
        **fmow_corpus.BAD_UNITS,
        "train/train_3": "corrupt_raster",  # levircd: A/B sizes differ
        "train/train_4": "missing_file",  # levircd: no label
        "val/val_2": "malformed_label",  # levircd: a mask that is not binary
        "test/test_3": "corrupt_raster",  # levircd: truncated PNG
    }
    assert ledger(built, "score", "failed") == {
        "bigearthnet_v1:S2A_MSIL2A_20170613T101031_90_02": "corrupt_raster",
        "skyscript:images2/a600100201_CH_19.jpg": "corrupt_raster",
        "bigearthnet_v2:S1A_IW_GRDH_1SDV_20170613T165043_33UUP_63_45": "corrupt_raster",
        "satlas:sentinel2/1312_2861": "corrupt_raster",
    }
    assert ledger(built, "filter", "dropped") == {
        "bigearthnet_v1:S2A_MSIL2A_20170613T101031_90_03": "low_coverage",
        "bigearthnet_v1:S2A_MSIL2A_20170613T101031_90_04": "too_bright",
        "xbd:hurricane-harvey_00000901": "too_dark",
        "xbd:hurricane-harvey_00000902": "too_few_tags",
        "xbd:hurricane-harvey_00000903": "no_geolocation",
        "skyscript:images2/w600100202_US_21.jpg": "too_dark",
        "starcop:ang20191021t160052_r8192_c0_w512_h512": "low_coverage",
        # DOTA chips showing fewer than three classes (filter.min_tags)
        **{
            f"dota:{chip}": "too_few_tags"
            for chip in (
                "train/P0011_x192_y0",
                "train/P0011_x344_y0",
                "train/P0012_x0_y192",
                "train/P0012_x0_y304",
                "val/P0013_x0_y0",
                "val/P0013_x192_y0",
                "val/P0013_x224_y0",
            )
        },
    }
    # the BigEarthNet v1 copies of reBEN patches (same place and date) are removed once
    assert ledger(built, "dedup", "dropped") == {
        f"bigearthnet_v1:{name}": "duplicate_place_time"
        for name in (
            "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_62_44",
            "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_62_45",
            "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_63_44",
            "S2A_MSIL2A_20170613T101031_62_44",
            "S2A_MSIL2A_20170613T101031_63_44",
            "S2A_MSIL2A_20170613T101031_63_45",
        )
    }


def test_accounting_identity_holds_for_every_stage_and_source(built: Path) -> None:
    report = json.loads((built / "metrics" / "report.json").read_text())
    assert report["accounting_ok"] is True
    for name, stats in report["stages"].items():
        dropped, failed = sum(stats["dropped"].values()), sum(stats["failed"].values())
        assert stats["read"] == stats["kept"] + dropped + failed, name
    for source, stages in report["sources"].items():
        for name, stats in stages.items():
            dropped, failed = sum(stats["dropped"].values()), sum(stats["failed"].values())
            assert stats["read"] == stats["kept"] + dropped + failed, (source, name)
    assert all(link["equal"] for link in report["links"])
    # 21 BigEarthNet units, 16 xBD tiles, 11 SkyScript images, 7 STARCOP events,
    # 8 QuakeSet patches, 8 reBEN units, 7 SatlasPretrain tiles, 7 STAC items and 2 STAC
    # time series (one S2 tile, one Landsat path/row), 14 fMoW sequence folders, 11 LEVIR-CD
    # pairs, 10 DIOR units, 7 DOTA images, 18 RSVQA images (LR and HR), 17 HRSID chips and
    # 13 HIT-UAV frames, 11 TreeSatAI patches and 18 So2Sat patches (3 HDF5 files)
    assert report["stages"]["ingest"]["read"] == 206
    assert report["stages"]["shard"]["kept"] == report["corpus"]["pairs"] > 0
    assert set(report["corpus"]["sources"]) >= {
        "bigearthnet_v1",
        "bigearthnet_v2",
        "xbd",
        "skyscript",
        "satlas",
        "starcop",
        "quakeset",
        "stac",
        "fmow",
        "levircd",
        "dior",
        "dota",
        "rsvqa",
        "treesatai",
        "so2sat",
    }
    # every task family of the templates, over several modalities and both temporal types
    assert {
        "classification",
        "detection",
        "grounding",
        "vqa",
        "captioning",
        "change_detection",
        "methane",
        "disaster_assessment",
        "earthquake",
        "multi_turn",
        "urban_heat_island",
    } <= set(report["corpus"]["tasks"])
    modalities = {"rgb", "multispectral", "sar", "infrared", "hyperspectral", "thermal"}
    assert modalities <= set(report["families"]["by_modality"])
    assert set(report["families"]["by_temporal"]) == {"single", "multi"}
    assert report["stages"]["validate"]["dropped"] == {}, "a template produced invalid pairs"


def _summary(built: Path) -> dict[str, dict[str, object]]:
    metrics = built / "metrics"
    rows = {"summary.json": json.loads((metrics / "summary.json").read_text())}
    for path in sorted((metrics / "summary").rglob("*.json")):
        rows[path.relative_to(metrics).as_posix()] = json.loads(path.read_text())
    return rows


def test_summary_metrics_agree_with_the_report(built: Path) -> None:
    report = json.loads((built / "metrics" / "report.json").read_text())
    rows = _summary(built)
    sample_ids = set()
    for path in (built / "corpus" / "data").glob("*.parquet"):
        sample_ids |= set(pq.read_table(path, columns=["sample_id"]).column(0).to_pylist())
    assert rows["summary.json"] == {
        "pairs": report["corpus"]["pairs"],
        "samples": len(sample_ids),
        "sources": len(report["corpus"]["sources"]),
        "accounting_ok": True,
    }
    for dim, key in (("split", "splits"), ("modality", "modalities"), ("task", "tasks")):
        found = {
            name.split("/")[-1][: -len(".json")]: row["pairs"]
            for name, row in rows.items()
            if name.startswith(f"summary/{dim}/")
        }
        assert found == report["corpus"][key], dim
    stage_rows = sorted(n for n in rows if n.count("/") == 2 and n.startswith("summary/stage/"))
    order = [n.split("-", 1)[1][: -len(".json")] for n in stage_rows]
    assert order == [s.name for s in accounted()] and set(order) == set(report["stages"])
    for name in stage_rows:
        stats = report["stages"][name.split("-", 1)[1][: -len(".json")]]
        assert rows[name] == {
            "read": stats["read"],
            "kept": stats["kept"],
            "dropped": sum(stats["dropped"].values()),
            "failed": sum(stats["failed"].values()),
        }
        for outcome in ("dropped", "failed"):
            for reason, n in stats[outcome].items():
                row = rows[f"{name[: -len('.json')]}/{reason}.json"]
                assert row == {outcome: n, "share": round(n / stats["read"], 4)}
    # a few numbers per file and few distinct keys: `dvc metrics show` stays narrow
    assert all(len(row) <= 4 for row in rows.values())
    assert len({key for row in rows.values() for key in row}) <= 10


def test_every_plot_table_is_declared_in_dvc_yaml_and_holds_one_series(built: Path) -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    declared = {
        path.replace("${paths.metrics}/", ""): props
        for entry in stages.values()
        for item in entry.get("plots", [])
        for path, props in item.items()
    }
    metrics = built / "metrics"
    tables = sorted((metrics / "plots").rglob("*.csv"))
    assert len(tables) > 50
    for table in tables:
        name = table.relative_to(metrics).as_posix()
        key = name if name in declared else name.rsplit("/", 1)[0]
        assert key in declared, f"{name} is in no dvc.yaml plot"
        props = declared[key]
        assert props["x_label"] and props["y_label"]
        with table.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows, name
        assert {props["x"], props["y"]} <= set(rows[0]), name
        # one series: each bar or bin appears once (the map's points excepted)
        category = props["y"] if props["template"].startswith("bar") else props["x"]
        if props["template"] != "scatter":
            values = [row[category] for row in rows]
            assert len(values) == len(set(values)), f"{name}: {category} repeats"
        png = metrics / "plots" / "png" / table.relative_to(metrics / "plots")
        assert Image.open(png.with_suffix(".png")).format == "PNG"
    pngs = {
        p.relative_to(metrics / "plots" / "png").with_suffix("")
        for p in (metrics / "plots" / "png").rglob("*.png")
    }
    assert pngs == {t.relative_to(metrics / "plots").with_suffix("") for t in tables}


def test_corpus_loads_with_datasets(built: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import datasets

    from eoinstruct.pipeline.corpus.views import pairs

    samples = datasets.load_dataset(str(built / "corpus"), cache_dir=str(tmp_path / "hf-cache"))
    assert set(samples) == {"train", "validation", "test"}
    report = json.loads((built / "metrics" / "report.json").read_text())
    sample_rows = [row for split in samples.values() for row in split]
    assert len({r["sample_id"] for r in sample_rows}) == len(sample_rows)  # each sample once
    ds = pairs(samples)  # the per-pair training view, one line away
    rows = [row for split in ds.values() for row in split]
    assert len(rows) == report["corpus"]["pairs"] == sum(len(r["dialogues"]) for r in sample_rows)
    assert len({r["pair_id"] for r in rows}) == len(rows)
    assert {"bigearthnet_v1", "bigearthnet_v2", "xbd"} <= {r["source"] for r in rows}
    for row in rows:
        turns = row["conversations"]
        assert isinstance(turns, list) and len(turns) >= 2 and len(turns) % 2 == 0
        assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
        human = row["conversations"][0]["value"]
        assert human.count("<image>") == len(row["images"]) == len(row["image_roles"])
        for image in row["images"]:
            assert isinstance(image, Image.Image)
            assert image.mode == "RGB" and min(image.size) >= 32
        assert {a["role"] for a in row["arrays"]} <= set(row["image_roles"])
        meta = json.loads(row["metadata"])
        # sources that publish no coordinates (params.yaml filter.exempt)
        assert meta["footprint_wkt"].startswith("POLYGON") or row["source"] in UNGEOREFERENCED
    xbd_pairs = [r for r in rows if r["source"] == "xbd" and r["image_roles"] == ["pre", "post"]]
    assert xbd_pairs and all(len(r["images"]) == 2 for r in xbd_pairs)
    # STAC change pairs (one tile, two dates) and sequences of three or more images
    stac_change = [r for r in rows if r["source"] == "stac" and r["image_roles"] == ["t0", "t1"]]
    assert {r["template_id"] for r in stac_change} >= {"stac_vegetation_change"}
    sequences = [r for r in rows if len(r["image_roles"]) >= 3]
    assert {r["source"] for r in sequences} >= {"satlas", "quakeset", "fmow"}
    for row in stac_change + sequences:
        assert "_temp_" in row["conversations"][0]["value"].split("\n")[0]


def _physical(item: dict) -> np.ndarray:
    stored = np.load(io.BytesIO(item["npy"]), allow_pickle=False)
    assert list(stored.shape) == item["shape"] and str(stored.dtype) == item["dtype"]
    return stored.astype(np.float32) * np.float32(item["scale"]) + np.float32(item["offset"])


def test_sample_rows_ship_every_band_once(built: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import datasets

    ds = datasets.load_dataset(str(built / "corpus"), cache_dir=str(tmp_path / "hf-cache"))
    rows = [row for split in ds.values() for row in split]
    for row in rows:
        roles = row["image_roles"]
        assert len(row["images"]) == len(roles) == len(row["acquired"])
        used = {r for d in row["dialogues"] for r in d["image_roles"]}
        assert used <= set(roles)
        for item in row["arrays"]:
            assert len(item["bands"]) == len(item["wavelengths_nm"]) == item["shape"][0]
            assert item["unit"] and item["encoding"]
    by_source: dict[str, list[dict]] = {}
    for row in rows:
        by_source.setdefault(row["source"], []).append(row)
    # BigEarthNet Sentinel-2: all 12 bands, reflectance x 1e4, scale stated
    s2 = [r for r in by_source["bigearthnet_v1"] if r["modality"] == "multispectral"]
    item = s2[0]["arrays"][0]
    assert (
        item["shape"] == [12, 120, 120] and item["bands"][0] == "B01" and len(item["bands"]) == 12
    )
    assert item["scale"] == pytest.approx(1e-4) and item["nodata"] == 0
    assert item["wavelengths_nm"][3] == pytest.approx(665)
    reflectance = _physical(item)
    assert 0 <= float(np.nanmax(reflectance)) <= 1.5
    # SAR: VV/VH, their unit stated (dB for BigEarthNet S1, linear power for QuakeSet)
    sar = [a for r in rows for a in r["arrays"] if a["encoding"] in ("sar_db", "sar_linear")]
    assert {tuple(a["bands"]) for a in sar} >= {("VV", "VH")}
    assert {a["unit"].split(",")[-1].strip() for a in sar if a["encoding"] == "sar_db"} == {"dB"}
    assert all("linear" in a["unit"] for a in sar if a["encoding"] == "sar_linear")
    # STARCOP: the TOA bands and mag1c, each with a rendering
    for row in by_source["starcop"]:
        assert {"image", "mag1c"} <= {a["role"] for a in row["arrays"]}
        assert len(row["images"]) == len(row["image_roles"])
    # Satlas: the extra Sentinel-2 bands no pair shows are shipped too, dated like their step
    bands = [
        (r, a) for r in by_source["satlas"] for a in r["arrays"] if a["role"].endswith("_bands")
    ]
    assert bands and all(a["dtype"] == "uint8" and len(a["bands"]) >= 1 for _, a in bands)
    for row, a in bands:
        step = a["role"].split("_")[0]
        dates = dict(zip(row["image_roles"], row["acquired"], strict=True))
        assert dates[a["role"]] == dates[step] != ""
    # Landsat: SR and ST both shipped
    landsat = [r for r in by_source["stac"] if "thermal" in r["image_roles"]]
    assert landsat and all(
        {"image", "thermal"} <= {a["role"] for a in r["arrays"]} for r in landsat
    )


def test_stored_image_bytes_are_within_1_2x_of_the_unique_images(
    built: Path, sample_tars: Path
) -> None:
    from eoinstruct.pipeline.corpus.layout import merge_summaries, storage_figures

    paths = sorted((built / "work" / "shard" / "summary").glob("*.json"))
    figures = storage_figures(merge_summaries(paths))
    assert not (built / "corpus" / "wds").exists()  # shard.webdataset: false, one copy
    tars = sum(p.stat().st_size for p in sample_tars.glob("*.tar"))  # on demand
    parquet = sum(
        p.stat().st_size
        for d in ("data", "pairs")
        for p in (built / "corpus" / d).glob("*.parquet")
    )
    assert figures.get("tar_files", 0) == figures.get("tar_images", 0) == 0
    assert figures["parquet_files"] == parquet
    unique = figures["unique_images"]
    assert unique > 0
    assert figures["parquet_images"] <= 1.2 * unique
    assert tars <= 1.2 * unique and parquet <= 1.2 * unique
    card = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    assert f"{int(unique):,} bytes" in card


def test_tar_shards_read_with_webdataset(built: Path, sample_tars: Path) -> None:
    import webdataset as wds

    from eoinstruct.pipeline.corpus.views import wds_pairs

    tars = sorted(str(p) for p in sample_tars.glob("*.tar"))
    keys, pair_ids = set(), set()
    for sample in wds.WebDataset(tars, shardshuffle=False):
        doc = json.loads(sample["json"])
        for role in doc["image_roles"]:
            Image.open(io.BytesIO(sample[f"{role}.png"])).verify()
        assert set(doc["arrays"]) == {k[:-4] for k in sample if k.endswith(".npy")}
        keys.add(doc["sample_id"])
        pair_ids |= {d["pair_id"] for d in doc["dialogues"]}
    parquet_ids, table_ids = set(), set()
    for path in (built / "corpus" / "data").glob("*.parquet"):
        parquet_ids |= set(pq.read_table(path, columns=["sample_id"]).column(0).to_pylist())
    for path in (built / "corpus" / "pairs").glob("*.parquet"):
        table_ids |= set(pq.read_table(path, columns=["pair_id"]).column(0).to_pylist())
    assert keys == parquet_ids and pair_ids == table_ids
    per_pair = wds.WebDataset(tars, shardshuffle=False).decode("pil").compose(wds_pairs)
    seen = []
    for pair in per_pair:
        doc = pair["json"]
        seen.append(pair["__key__"])
        assert all(isinstance(pair[f"{r}.png"], Image.Image) for r in doc["image_roles"])
        assert all(isinstance(pair[f"{r}.npy"], np.ndarray) for r in doc["rasters"])
    assert sorted(seen) == sorted(table_ids)


def test_corpus_folder_holds_only_published_files(built: Path) -> None:
    names = {p.relative_to(built / "corpus").parts[0] for p in (built / "corpus").rglob("*")}
    published = {"README.md", "data", "pairs"}  # wds/ only on demand
    assert published <= names <= published | {"manifest.json"}


@pytest.mark.slow
def test_two_builds_give_byte_identical_shards(built: Path, tmp_path: Path) -> None:
    # The second build lives elsewhere: no absolute path may leak into the shards.
    build(tmp_path)
    assert tree_digest(tmp_path / "corpus") == tree_digest(built / "corpus")
    assert tree_digest(tmp_path / "sample") == tree_digest(built / "sample")
    # and the same metrics, plots and charts (timings aside)
    metrics = tree_digest(tmp_path / "metrics")
    assert metrics.pop("timings.json") and metrics == {
        k: v for k, v in tree_digest(built / "metrics").items() if k != "timings.json"
    }


@pytest.mark.slow
def test_rerun_resumes_only_missing_partitions(tmp_path: Path) -> None:
    params = build(tmp_path, sources=("bigearthnet_v1", "xbd", "quakeset"))
    first = tree_digest(tmp_path / "corpus")
    victim = sorted((tmp_path / "corpus" / "data").glob("train-xbd-*.parquet"))[0]
    victim.unlink()
    records = {r["partition"]: r for r in completed_records(tmp_path / "work" / "score")}
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "work" / "score").rglob("*.parquet")}
    assert main(["--params", str(params), "--no-progress", "all"]) == 0
    assert tree_digest(tmp_path / "corpus") == first
    # earlier stages were skipped: their files were not rewritten
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert {r["partition"] for r in completed_records(tmp_path / "work" / "score")} == set(records)


def test_missing_params_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    assert main(["--params", str(tmp_path / "nope.yaml"), "ingest"]) == 2
    assert "not found" in capsys.readouterr().err


def test_running_a_stage_before_its_upstream_is_a_clear_error(tmp_path: Path, capsys) -> None:
    params = make_params(tmp_path)
    assert main(["--params", str(params), "--no-progress", "score"]) == 2
    assert "run the upstream stage first" in capsys.readouterr().err


def test_missing_dataset_root_names_the_param(tmp_path: Path, capsys) -> None:
    params = make_params(tmp_path)
    assert not (tmp_path / "sample").exists()
    assert main(["--params", str(params), "--no-progress", "ingest"]) == 2
    err = capsys.readouterr().err
    assert "params.yaml" in err and "does not exist" in err
    assert os.path.exists(params)


@pytest.mark.slow
def test_dask_local_cluster_build_is_identical_to_in_process(built: Path, tmp_path: Path) -> None:
    params = make_params(tmp_path)
    argv = ["--params", str(params), "--no-progress", "--executor", "local", "--workers", "2"]
    assert main([*argv, "all"]) == 0
    assert tree_digest(tmp_path / "corpus") == tree_digest(built / "corpus")
    # filter's and dedup's figures, written beside the next stage's partitions on a cluster
    for name in ("filter.json", "dedup.json", "audit.json"):
        assert (tmp_path / "metrics" / name).read_bytes() == (built / "metrics" / name).read_bytes()
    assert not list((tmp_path / "work" / "_rendered").glob("*.arrow"))  # consumed by shard
    timings = json.loads((tmp_path / "work" / "_state" / "score" / "_timings.json").read_text())
    assert timings["executor"] == "local(2 workers)"


def test_unknown_executor_is_a_clear_error(tmp_path: Path, capsys) -> None:
    params = build(tmp_path, command="sample-data")
    text = params.read_text().replace("kind: inprocess", "kind: spark")
    params.write_text(text)
    assert main(["--params", str(params), "--no-progress", "ingest"]) == 2
    assert "executor.kind" in capsys.readouterr().err


def test_every_first_turn_tag_is_earthdial_or_a_listed_addition(built: Path) -> None:
    from eoinstruct.pipeline.instructions.tags import leading_tags, tag_kind

    seen: dict[str, int] = {}
    for path in sorted((built / "corpus" / "pairs").glob("*.parquet")):
        for conv in pq.read_table(path, columns=["conversations"]).column(0).to_pylist():
            turns = json.loads(conv) if isinstance(conv, str) else conv
            for tag in leading_tags(turns[0]["value"]):
                seen[tag] = seen.get(tag, 0) + 1
    assert {tag_kind(t) for t in seen} <= {"earthdial", "earthdial-eval", "added"}
    assert "[s1_vh_10]" in seen and "[hr_rgb_temp_0.5]" in seen and "[s2_ms_10]" in seen
    card = (built / "corpus" / "README.md").read_text(encoding="utf-8")
    for tag, n in seen.items():
        assert f"| `{tag}` | {n} |" in card
