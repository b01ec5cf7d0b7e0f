"""The benchmark: synthetic data the real adapters read, the floor readers, the results file."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil
import pytest
import rasterio

from benchmarks import run as bench
from benchmarks.synthetic import SyntheticData, generate, read_strip_tiff, strip_layout, write_cogs
from eoinstruct.sources.bigearthnet_v1.adapter import BigEarthNetV1
from eoinstruct.sources.xbd.adapter import XBD


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> SyntheticData:
    """Three S2/S1 patch pairs, one xBD tile, two COG chips."""
    return generate(tmp_path_factory.mktemp("synthetic"), 3, xbd_ratio=0.3, cogs=2, seed=5)


def test_synthetic_bigearthnet_is_read_by_the_real_adapter(data: SyntheticData) -> None:
    adapter = BigEarthNetV1(data.bigearthnet_root, {"sensors": ["s2", "s1"]})
    units = adapter.list_units()
    assert len(units) == 6
    samples = [s for unit in units for s in adapter.read_unit(unit)]
    s2 = [s for s in samples if s.modality == "multispectral"]
    assert len(s2) == 3 and all(len(s.images[0].files) == 12 for s in s2)
    assert all(s.crs == "EPSG:32633" and s.footprint_wkt.startswith("POLYGON") for s in samples)
    assert {s.split for s in samples} <= {"train", "validation", "test"}
    # real sizes: 120/60/20 px, uint16; the header's corner is the patch's own corner
    patch = s2[1]
    sizes = {}
    for path in patch.images[0].files:
        with rasterio.open(path) as src:
            sizes[Path(path).stem.rsplit("_", 1)[1]] = (src.width, src.dtypes[0])
            corner = (src.transform.c, src.transform.f)
    assert sizes["B02"] == (120, "uint16") and sizes["B05"] == (60, "uint16")
    assert sizes["B01"] == (20, "uint16")
    assert corner == (300000 + 1200, 5400000)
    assert patch.images[0].width == 120


def test_synthetic_xbd_is_read_by_the_real_adapter(data: SyntheticData) -> None:
    adapter = XBD(data.xbd_root, {})
    units = adapter.list_units()
    assert len(units) == data.xbd_tiles == 1
    (sample,) = adapter.read_unit(units[0])
    assert [im.width for im in sample.images] == [1024, 1024]
    assert sample.crs == "EPSG:4326" and sample.footprint_wkt
    assert len(sample.labels.objects) >= 3
    assert {"disaster", "disaster_type", "sensor"} <= set(sample.tags)
    assert 0.4 < sample.gsd_m < 0.6


def test_strip_reader_matches_rasterio_and_refuses_compressed(
    data: SyntheticData, tmp_path: Path
) -> None:
    for path in data.files["ben_tif"][:14]:
        with rasterio.open(path) as src:
            expected = src.read(1)
        got = read_strip_tiff(path)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)
    (cog,) = write_cogs(tmp_path, 1)
    with pytest.raises(ValueError, match="compressed or tiled"):
        strip_layout(cog.read_bytes())
    with pytest.raises(ValueError):
        strip_layout(b"not a tiff")


def test_generate_is_deterministic_and_perturbs_each_patch(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", 2, xbd_ratio=0.5, cogs=1, seed=9)
    b = generate(tmp_path / "b", 2, xbd_ratio=0.5, cogs=1, seed=9)
    for kind, files in a.files.items():
        for pa_, pb in zip(files, b.files[kind], strict=True):
            assert pa_.read_bytes() == pb.read_bytes(), pa_
    b04 = [p for p in a.files["ben_tif"] if p.stem.endswith("_B04")]
    assert len(b04) == 2
    assert not np.array_equal(read_strip_tiff(b04[0]), read_strip_tiff(b04[1]))


def test_run_watched_counts_the_children_memory(tmp_path: Path) -> None:
    child = "import time; b = b'x' * (150 * 2**20); time.sleep(0.6)"
    parent = (
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    )
    wall, peak, _ = bench.run_watched([sys.executable, "-c", parent], tmp_path / "log", tmp_path)
    assert wall >= 0.6
    assert peak > 150  # the grandchild's 150 MB are included
    with pytest.raises(RuntimeError, match="failed"):
        bench.run_watched([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "l2", tmp_path)


def _inline_stage(cmd: Sequence[str], log_path: Path, cwd: Path) -> tuple[float, float, str]:
    """Run ``eoinstruct.cli`` in this process (Dask options dropped): fast, same outputs."""
    from eoinstruct.cli import main

    args = list(cmd[cmd.index("eoinstruct.cli") + 1 :])
    if "--executor" in args:
        at = args.index("--executor")
        del args[at : at + 4]  # --executor local --workers K
    buffer = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(buffer):
        assert main(args) == 0
    text = buffer.getvalue()
    log_path.write_text(text)
    return time.perf_counter() - started, psutil.Process().memory_info().rss / 2**20, text


def test_benchmark_results_have_every_field_and_consistent_ratios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "run_watched", _inline_stage)
    monkeypatch.setattr(bench, "startup_seconds", lambda: 0.5)
    out = tmp_path / "results.json"
    results = bench.run(
        n=4,
        out=out,
        scale=2,
        workers=(1, 2),
        xbd_ratio=0.25,
        partition_size=3,
        workdir=tmp_path / "work",
        echo=False,
    )
    on_disk = json.loads(out.read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert (tmp_path / "results.md").read_text().count("| ingest |") == 1
    floor = results["floor.total_s"]
    assert floor > 0
    parts = ("ben_tif_s", "xbd_png_decode_s", "json_s", "parquet_write_s")
    assert floor == pytest.approx(sum(results[f"floor.{p}"] for p in parts), abs=1e-4)
    readers = {
        k[len("floor.ben_tif_") : -2]: v
        for k, v in results.items()
        if k.startswith("floor.ben_tif_") and k.endswith("_s") and k != "floor.ben_tif_s"
    }
    assert {"numpy_strips", "rasterio"} <= set(readers)
    assert results["floor.ben_tif_s"] == min(readers.values())
    assert readers[results["floor.ben_tif_reader"]] == results["floor.ben_tif_s"]
    for build in ("inprocess.n", "inprocess.scaled", "dask1.n", "dask2.n"):
        walls = [results[f"{build}.stage.{s}.wall_s"] for s in bench.STAGES]
        assert all(w > 0 for w in walls)
        assert results[f"{build}.e2e.wall_s"] == pytest.approx(sum(walls), abs=0.01)
        assert results[f"{build}.e2e.peak_rss_mb"] == max(
            results[f"{build}.stage.{s}.peak_rss_mb"] for s in bench.STAGES
        )
        assert results[f"{build}.e2e.pairs"] > 0
        assert results[f"{build}.stage.score.input_mb"] > results[f"{build}.stage.ingest.input_mb"]
    for s in bench.STAGES:
        ratio = results[f"inprocess.n.stage.{s}.ratio_to_floor"]
        assert ratio == pytest.approx(results[f"inprocess.n.stage.{s}.wall_s"] / floor, abs=1e-3)
    assert results["inprocess.n.stage.ingest.items_read"] == results["data.n.units"] == 9
    # every target has a value and a verdict that agrees with it
    e2e = results["inprocess.n.e2e.wall_s"] / floor
    assert results["target.e2e_within_2x_floor.value"] == pytest.approx(e2e, abs=1e-3)
    assert results["target.e2e_within_2x_floor.met"] == (e2e <= 2.0)
    rss = results["inprocess.scaled.e2e.peak_rss_mb"] / results["inprocess.n.e2e.peak_rss_mb"]
    assert results["target.rss_flat.value"] == pytest.approx(rss, rel=0.01)
    assert results["target.rss_flat.met"] == (results["target.rss_flat.value"] <= 1.2)
    speedup = results["dask1.n.e2e.wall_s"] / results["dask2.n.e2e.wall_s"]
    assert results["target.scaling.value"] == pytest.approx(speedup, rel=0.01)
    assert results["target.scaling.met"] == (results["target.scaling.value"] >= 1.6)
    # projection: positive and consistent with its own inputs
    per_pair = results["projection.core_s_per_pair"]
    assert per_pair > 0
    assert results["projection.core_hours"] == pytest.approx(
        bench.TARGET_PAIRS * per_pair / 3600, rel=0.01
    )
    assert (
        results["projection.captioner.gpu_hours_long"]
        > results["projection.captioner.gpu_hours_short"]
        > 0
    )
    assert results["projection.captioner.source"].startswith("https://")
    assert results["machine.load_avg_start"] >= 0 and results["notes.limits"]
