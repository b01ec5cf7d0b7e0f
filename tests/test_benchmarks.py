"""The benchmark: synthetic data the real adapters read, the floor readers, the results file."""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import psutil
import pytest
import rasterio

from benchmarks import floor as bench_floor
from benchmarks import measure, stages
from benchmarks import run as bench
from benchmarks.report import README_END, README_START, TARGETS, update_readme
from benchmarks.synthetic import SyntheticData, generate, write_cogs
from benchmarks.tiff import read_strip_tiff, strip_layout
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
    usage: dict[str, float] = {}
    spin = "import time; t = time.process_time(); exec('while time.process_time() - t < 0.3: pass')"
    parent += f"; subprocess.run([sys.executable, '-c', {spin!r}], check=True)"
    # the command's own CPU first (a bare interpreter start can round to 0 clock ticks)
    parent = spin.replace("0.3", "0.1") + "; " + parent
    wall, peak, _ = measure.run_watched(
        [sys.executable, "-c", parent], tmp_path / "log", tmp_path, usage
    )
    assert wall >= 0.6
    assert peak > 150  # the grandchild's 150 MB are included
    assert usage["cpu_s"] >= 0.3 + usage["driver_cpu_s"] * 0.5  # the waited-for child's CPU
    assert 0.05 < usage["driver_cpu_s"] < usage["cpu_s"]
    with pytest.raises(RuntimeError, match="failed"):
        measure.run_watched(
            [sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "l2", tmp_path
        )


def _inline_stage(
    cmd: Sequence[str], log_path: Path, cwd: Path, usage: dict[str, float] | None = None
) -> tuple[float, float, str]:
    """Run ``eoinstruct.cli`` in this process (Dask options dropped): fast, same outputs."""
    from eoinstruct.cli import main

    args = list(cmd[cmd.index("eoinstruct.cli") + 1 :])
    if "--executor" in args:
        at = args.index("--executor")
        del args[at : at + 4]  # --executor local --workers K
    buffer = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(buffer):
        assert main(args) == 0
    text = buffer.getvalue()
    log_path.write_text(text)
    if usage is not None:
        usage["cpu_s"] = usage["driver_cpu_s"] = time.process_time() - cpu
    return time.perf_counter() - started, psutil.Process().memory_info().rss / 2**20, text


def test_the_stage_list_is_the_registry_build_order() -> None:
    from eoinstruct.pipeline.stages import build_order

    names = stages.stages()
    built = tuple(s.name for s in build_order() if s.name != "sample_data")
    assert tuple(n for n in names if n in built) == built  # every stage of a build, in order
    assert set(names) - set(built) == set(stages.ON_DEMAND)  # and the on-demand export
    assert {"dedup", "shard", "export"} <= set(names)
    assert stages.partitioned()[0] == "ingest" and stages.partitioned()[-1] == "shard"


def test_spread_and_load_probe() -> None:
    assert measure.spread([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    assert measure.spread([]) == (0.0, 0.0, 0.0)
    probe = measure.LoadProbe().start()
    sum(i * i for i in range(200_000))  # this process's own work is not "others"
    probe.stop()
    assert 0.0 <= probe.others_cpu_share <= 1.0 and probe.load_before >= 0 and probe.cpus >= 1


def test_floor_has_tifffile_and_medians(data: SyntheticData, tmp_path: Path) -> None:
    floor = bench_floor.measure_floor(data, tmp_path, repeats=3)
    assert floor["tifffile_available"] and floor["ben_tif_reader"] == "tifffile"
    for reader in bench_floor.READERS:
        key = f"ben_tif_{reader}_s"
        assert floor[f"{key}_min"] <= floor[key] <= floor[f"{key}_max"]
    assert floor["ben_tif_s"] == floor["ben_tif_tifffile_s"]
    assert floor["ben_patch_ms"] == pytest.approx(1000 * floor["ben_tif_s"] / data.s2_patches)
    assert floor["total_s"] == pytest.approx(sum(floor[p] for p in bench_floor.FLOOR_PARTS))
    tif = data.files["ben_tif"][0]
    assert np.array_equal(bench_floor.tifffile_read(tif), read_strip_tiff(tif))


def test_quick_benchmark_measures_every_stage_and_dedup_keeps_every_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(measure, "run_watched", _inline_stage)
    monkeypatch.setattr(bench, "startup_seconds", lambda: 0.01)
    out = tmp_path / "results.json"
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Benchmarks\n\n{README_START}\nold\n{README_END}\n\nrest\n")
    command = ["--quick", "--out", str(out), "--workdir", str(tmp_path / "w")]
    assert bench.main([*command, "--readme", str(readme), "--quiet"]) == 0
    results = json.loads(out.read_text())
    # flat, DVC-metrics friendly: every value a number, a boolean or a string
    assert all(isinstance(v, int | float | str | bool) for v in results.values())
    cfg = bench.QUICK
    assert results["config.repeats"] == cfg.repeats and results["config.n"] == cfg.n
    names = results["config.stages"].split(",")
    assert names == list(stages.stages())
    # distinct synthetic images: the xBD tiles are more than the old 4 templates, none dropped
    assert results["data.n.xbd_tiles"] == 0  # the headline build is BigEarthNet only
    assert results["data.xbd.xbd_tiles"] == cfg.xbd_tiles  # xBD in a build of its own
    assert results["xbd.ms_per_unit_wall"] >= results["xbd.ms_per_unit"] > 0
    assert results["inprocess.n.ben.share_of_partition_s"] == 1.0
    assert results["inprocess.n.ben.ms_per_patch_wall"] > results["inprocess.n.ben.ms_per_patch"]
    for label in ("whole_inprocess.n", "whole_dask2.n"):  # `eoinstruct all`, one process
        assert results[f"{label}.pairs"] == results["inprocess.n.e2e.pairs"]
        assert results[f"{label}.tasks"] > 0 and results[f"{label}.cpu_s"] > 0
        assert results[f"{label}.wall_s_min"] <= results[f"{label}.wall_s"]
    whole = results["whole_inprocess.n.wall_s"] / results["whole_dask2.n.wall_s"]
    assert results["target.scaling.basis"].startswith("eoinstruct all")
    # the machine's ceiling beside it: two independent in-process halves at once
    assert results["whole_halves.n.units"] == results["data.whole.units"]
    assert results["whole_halves.n.cpu_s"] > 0 and results["whole_halves.n.wall_s"] > 0
    ceiling = results["whole_inprocess.n.wall_s"] / results["whole_halves.n.wall_s"]
    assert results["scaling.ceiling_two_halves"] == pytest.approx(ceiling, rel=0.01)
    assert results["scaling.whole_dask2_of_ceiling"] == pytest.approx(whole / ceiling, rel=0.01)
    for build in ("inprocess.n", "inprocess.small", "xbd.n", "dask2.n"):
        assert results[f"{build}.stage.dedup.items_read"] > 0
        assert results[f"{build}.stage.dedup.items_dropped"] == 0
        assert results[f"{build}.stage.filter.items_dropped"] == 0  # every sample passes
        for s in names:
            key = f"{build}.stage.{s}"
            assert results[f"{key}.wall_s_min"] <= results[f"{key}.wall_s"]
            assert results[f"{key}.wall_s"] <= results[f"{key}.wall_s_max"]
            assert results[f"{key}.peak_rss_mb"] > 0
        e2e = sum(results[f"{build}.stage.{s}.wall_s"] for s in stages.partitioned())
        assert results[f"{build}.e2e.wall_s"] == pytest.approx(e2e, abs=0.01)
        assert results[f"{build}.e2e.pairs"] > 0
        assert results[f"{build}.load.others_cpu_share"] >= 0
    assert results["inprocess.n.stage.ingest.items_read"] == results["data.n.units"]
    assert results["inprocess.n.stage.shard.tail_s"] >= 0  # card + manifest, measured
    # the floor is tifffile's, and the BigEarthNet ratio is stated against it
    assert results["floor.ben_tif_reader"] == "tifffile"
    ratio = results["inprocess.n.ben.ms_per_patch"] / results["floor.ben_patch_ms"]
    assert results["inprocess.n.ben.ratio_to_floor"] == pytest.approx(ratio, rel=0.01)
    # every target has a value and a verdict that agrees with it
    for name, (_, op, threshold) in TARGETS.items():
        value = results[f"target.{name}.value"]
        assert results[f"target.{name}.met"] == (
            value >= threshold if op == ">=" else value <= threshold
        )
    assert results["target.scaling.value"] == pytest.approx(whole, rel=0.01)
    worst = max(results[f"rss_ratio.{s}"] for s in names)
    assert results["target.rss_flat.value"] == pytest.approx(worst, abs=1e-3)
    # the summary and the README block come from the same results
    md = out.with_suffix(".md").read_text()
    assert md.count("| dedup |") == 1 and "tifffile" in md
    assert "| two halves at once |" in md and "of the machine's ceiling" in md
    text = readme.read_text()
    assert "old" not in text and text.endswith("rest\n")
    assert f"| {results['target.scaling.value']:,.3f}".rstrip("0").rstrip(".") in text
    assert not update_readme(tmp_path / "results.md", results)  # no markers: left alone


def test_a_stage_faster_than_the_measured_start_up_gives_finite_rates() -> None:
    from benchmarks.report import build_metrics
    from benchmarks.stages import Build, StageRun

    build = Build(label="x", units=3, per_source_s={"bigearthnet_v1": 1.0})
    build.stages = [StageRun("ingest", 0.2, 0.1, 50.0, 3, 3, 1000)]
    out = build_metrics([build], ("ingest",), 0.5, {"total_s": 1.0, "ben_patch_ms": 1.0}, 1, 3)
    assert out["stage.ingest.net_s"] > 0 and math.isfinite(out["stage.ingest.mb_per_s_per_core"])
    assert out["ben.patches_per_s_per_core"] > 0
