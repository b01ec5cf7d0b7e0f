"""Benchmark the build on synthetic data at real sizes: ``python -m benchmarks.run --n 200``.

What it measures, in one run on one machine (see ``benchmarks/README.md``):

1. **Stages.** Synthetic BigEarthNet v1 (S2 + S1) and xBD data (:mod:`benchmarks.synthetic`)
   are built stage by stage, each stage a subprocess ``python -m eoinstruct.cli --params P
   <stage>``; per stage: wall time, items/s, MB/s per core (input bytes: the files the stage
   reads), and peak RSS of the stage's process tree (polled every ~20 ms, Dask workers
   included). The in-stage time (``wall_seconds`` of ``_state/<stage>/_timings.json``, without
   the interpreter start and the Dask cluster start) is recorded beside it.
2. **I/O floor** on the same files: the fastest plain reader per format (tifffile if
   installed, a plain numpy strip reader, rasterio: the fastest counts) for the BigEarthNet
   GeoTIFFs, Pillow decode for the xBD PNGs, ``json.loads`` of the label files, and a plain
   pyarrow Parquet write of the same bytes; rasterio windowed reads of the COG chips are
   measured too (no adapter reads them yet). Stage times are reported as ratios to the floor.
3. **Memory**: peak RSS of the in-process build at N and at ``scale`` x N.
4. **Scaling**: the build at N with a local Dask cluster of 1 and 2 workers.
5. **Projection** to 11.11 M pairs (cores and hours) and the captioner's GPU-hours at a
   published vLLM throughput.

Results go to a flat JSON (``dvc metrics show benchmarks/results.json``), a Markdown summary
beside it and stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from benchmarks.synthetic import SyntheticData, generate, read_strip_tiff
from eoinstruct.pipeline.stages import REGISTRY

REPO = Path(__file__).resolve().parents[1]

STAGES: tuple[str, ...] = tuple(s.name for s in REGISTRY if s.partitioned)
"""Stages of the end-to-end build, in the CLI's order (``ingest`` … ``shard``; ``sample_data``
and the reports are left out). ``caption`` runs disabled (empty outputs): its cost is the GPU
projection's."""

TARGET_PAIRS = 11_110_000
"""Pairs in EarthDial-Instruct, the corpus size the projection is for."""

CAPTIONER_THROUGHPUT: dict[str, Any] = {
    "model": "Qwen3-VL-4B (a 4B VLM, the size of InternVL2-4B, EarthDial's base)",
    "engine": "vLLM, one 80 GB GPU",
    "requests_per_s_short": 11.9,
    "requests_per_s_long": 3.8,
    "source": "https://github.com/allenai/olmo-eval/pull/347",
    "note": "measured by the PR author: 11.9 it/s on chart_qa answers capped at 64 tokens, "
    "3.8 it/s on charxiv_reasoning with up to 1024 decoded tokens; a caption of ~100-300 "
    "tokens lies between",
}
"""The published vLLM VLM throughput the captioner projection uses (cited in the JSON)."""

POLL_S = 0.02

_STATS_LINE = re.compile(r"^(?P<stage>\w+): read (?P<read>\d+), kept (?P<kept>\d+)", re.M)


# -- running a stage and watching its memory ---------------------------------------------------


@dataclass
class StageRun:
    """One stage subprocess.

    Attributes:
        stage: Stage name.
        wall_s: Wall time of the subprocess, interpreter start included.
        inner_s: The stage's own ``wall_seconds`` (without interpreter and cluster start).
        peak_rss_mb: Peak of the summed RSS of the process and its children.
        read: Items the stage read (samples; pairs for ``shard``).
        kept: Items it passed on.
        input_bytes: Bytes of the files it read.
    """

    stage: str
    wall_s: float
    inner_s: float
    peak_rss_mb: float
    read: int
    kept: int
    input_bytes: int = 0


def tree_rss(proc: psutil.Process) -> int:
    """Return the summed RSS in bytes of a process and all its descendants (0 once gone)."""
    total = 0
    try:
        members = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


def run_watched(cmd: Sequence[str], log_path: Path, cwd: Path) -> tuple[float, float, str]:
    """Run a command, polling its process tree's RSS every :data:`POLL_S` seconds.

    Args:
        cmd: The command.
        log_path: File that receives stdout and stderr.
        cwd: Working directory.

    Returns:
        ``(wall seconds, peak RSS in MB, output text)``.

    Raises:
        RuntimeError: If the command fails (the message holds the end of its output).
    """
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "warning",
    }
    peak = 0
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        proc = psutil.Process(child.pid)
        while child.poll() is None:
            peak = max(peak, tree_rss(proc))
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{text[-3000:]}")
    return wall, peak / 2**20, text


def _parquet_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet")) if folder.is_dir() else 0


def stage_input_bytes(stage: str, work: Path, data: SyntheticData) -> int:
    """Bytes of the files a stage reads.

    ``ingest``: the label JSONs (xBD PNG headers are a few hundred bytes and left out);
    ``score``: every band file and image plus the samples; ``shard``: the rendered bands
    (S2 B02/B03/B04, S1 VV/VH, both xBD images) plus the validated pairs and kept samples;
    ``caption`` (disabled here): nothing; the others: the Parquet files of the stages they
    read. A stage unknown to this function counts 0.

    Args:
        stage: Stage name.
        work: The build's ``paths.work`` folder.
        data: The synthetic data.

    Returns:
        The byte count.
    """
    if stage == "ingest":
        return data.bytes_of(["ben_json", "xbd_json"])
    if stage == "enrich":
        return _parquet_bytes(work / "ingest" / "samples")
    if stage == "score":
        return _parquet_bytes(work / "enrich" / "samples") + data.bytes_of(["ben_tif", "xbd_png"])
    if stage == "filter":
        return _parquet_bytes(work / "enrich" / "samples") + _parquet_bytes(work / "score")
    if stage == "dedup":
        return _parquet_bytes(work / "filter" / "kept") + _parquet_bytes(work / "score")
    if stage in ("generate", "caption"):
        return _parquet_bytes(work / "dedup" / "kept") if stage == "generate" else 0
    if stage == "validate":
        return (
            _parquet_bytes(work / "generate" / "pairs")
            + _parquet_bytes(work / "caption" / "pairs")
            + _parquet_bytes(work / "dedup" / "kept")
        )
    if stage == "shard":
        rendered = [
            p
            for p in data.files.get("ben_tif", [])
            if p.stem.rsplit("_", 1)[-1] in ("B02", "B03", "B04", "VV", "VH")
        ]
        return (
            sum(p.stat().st_size for p in rendered)
            + data.bytes_of(["xbd_png"])
            + _parquet_bytes(work / "validate" / "pairs")
            + _parquet_bytes(work / "dedup" / "kept")
        )
    return 0  # a stage this benchmark does not know yet: its input is not counted


def write_params(root: Path, data: SyntheticData, partition_size: int) -> Path:
    """Write a params.yaml for a build of the synthetic data into ``root``.

    Starts from the repository's params.yaml; only ``bigearthnet_v1`` and ``xbd`` are enabled,
    OSM enrichment is off, and every path points into ``root``.

    Args:
        root: Build folder.
        data: The synthetic data.
        partition_size: ``ingest.partition_size``.

    Returns:
        The params file.
    """
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["paths"] = {
        "sample": str(root / "sample"),
        "work": str(root / "work"),
        "corpus": str(root / "corpus"),
        "metrics": str(root / "metrics"),
    }
    roots = {"bigearthnet_v1": data.bigearthnet_root, "xbd": data.xbd_root}
    for name, section in params["sources"].items():
        section["enabled"] = name in roots
        section["root"] = str(roots.get(name, root / "absent" / name))
    params["sources"]["bigearthnet_v1"]["sensors"] = ["s2", "s1"]
    params["osm"]["enabled"] = False
    if isinstance(params.get("caption"), dict):
        params["caption"]["enabled"] = False
    params["ingest"]["partition_size"] = partition_size
    params["executor"] = {"kind": "inprocess", "workers": 1, "scheduler": None}
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Build:
    """One build of every stage.

    Attributes:
        label: ``inprocess`` or ``local<k>``.
        units: Source units (S2 + S1 patches + xBD tiles).
        stages: The stage runs, in order.
        load_before: 1-minute load average before the build.
        load_after: 1-minute load average after it.
        per_source_s: In-stage seconds by source, summed over the stages' partitions.
        pairs_by_source: Pairs written, by source.
    """

    label: str
    units: int
    stages: list[StageRun] = field(default_factory=list)
    load_before: float = 0.0
    load_after: float = 0.0
    per_source_s: dict[str, float] = field(default_factory=dict)
    pairs_by_source: dict[str, int] = field(default_factory=dict)

    @property
    def wall_s(self) -> float:
        """Sum of the stages' subprocess wall times."""
        return sum(s.wall_s for s in self.stages)

    @property
    def inner_s(self) -> float:
        """Sum of the stages' in-stage times."""
        return sum(s.inner_s for s in self.stages)

    @property
    def peak_rss_mb(self) -> float:
        """Largest stage peak RSS."""
        return max((s.peak_rss_mb for s in self.stages), default=0.0)

    @property
    def pairs(self) -> int:
        """Pairs written to the corpus."""
        return sum(self.pairs_by_source.values())


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def run_build(
    root: Path,
    data: SyntheticData,
    partition_size: int,
    label: str = "inprocess",
    workers: int = 0,
    echo: bool = True,
) -> Build:
    """Build every stage of :data:`STAGES` on the synthetic data, one subprocess each.

    Args:
        root: Build folder (emptied first).
        data: The synthetic data.
        partition_size: Source units per partition.
        label: Name of the build in the results.
        workers: Local Dask workers (0: in-process).
        echo: Print a line per stage.

    Returns:
        The build's measurements.
    """
    shutil.rmtree(root, ignore_errors=True)
    params = write_params(root, data, partition_size)
    work = root / "work"
    build = Build(label=label, units=data.units, load_before=os.getloadavg()[0])
    executor = ["--executor", "local", "--workers", str(workers)] if workers else []
    for stage in STAGES:
        cmd = [sys.executable, "-m", "eoinstruct.cli", "--params", str(params), "--no-progress"]
        wall, peak, text = run_watched([*cmd, *executor, stage], root / f"{stage}.log", REPO)
        counts = {m["stage"]: m for m in _STATS_LINE.finditer(text)}
        line = counts.get(stage)
        timings = _read_json(work / "_state" / stage / "_timings.json")
        run = StageRun(
            stage=stage,
            wall_s=wall,
            inner_s=float(timings.get("wall_seconds", wall)),
            peak_rss_mb=peak,
            read=int(line["read"]) if line else 0,
            kept=int(line["kept"]) if line else 0,
            input_bytes=stage_input_bytes(stage, work, data),
        )
        build.stages.append(run)
        if echo:
            print(
                f"  [{label} n={data.units}] {stage:8s} {wall:7.2f} s "
                f"(in-stage {run.inner_s:6.2f} s) read {run.read:6d} "
                f"peak {peak:7.1f} MB",
                flush=True,
            )
    build.load_after = os.getloadavg()[0]
    build.per_source_s = _seconds_by_source(work)
    build.pairs_by_source = _pairs_by_source(work)
    return build


def _source_of(partition: str) -> str:
    return partition.rsplit("-", 1)[0]


def _seconds_by_source(work: Path) -> dict[str, float]:
    """Sum the partitions' recorded seconds over every stage (validate included), by source."""
    out: dict[str, float] = {}
    for path in sorted((work / "_state").glob("*/*.json")):
        if path.name.startswith("_"):
            continue
        seconds = _read_json(path).get("seconds")
        if isinstance(seconds, int | float):
            source = _source_of(path.stem)
            out[source] = out.get(source, 0.0) + float(seconds)
    return out


def _pairs_by_source(work: Path) -> dict[str, int]:
    """Pairs the shard stage wrote, by source (from its completion records)."""
    out: dict[str, int] = {}
    for path in sorted((work / "shard" / "_done").glob("*.json")):
        record = _read_json(path)
        stats = record.get("stats") or {}
        source = str(record.get("source") or _source_of(path.stem))
        out[source] = out.get(source, 0) + int(stats.get("kept", 0))
    return out


# -- the I/O floor ----------------------------------------------------------------------------


def _timed(fn: Any, items: Iterable[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - started


def _rasterio_read(path: Path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1)


def _pillow_decode(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)


def _cog_window_read(path: Path) -> np.ndarray:
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as src:
        return src.read(window=Window(0, 0, src.width, src.height))


def _json_read(path: Path) -> object:
    return json.loads(path.read_bytes())


def parquet_write_seconds(files: Sequence[Path], out: Path, rows_per_group: int = 64) -> float:
    """Time a plain pyarrow write of the files' bytes (path and content columns, no compression).

    Only the writer calls are timed; the files are read beforehand, batch by batch.

    Args:
        files: Files whose bytes are written.
        out: Parquet file to write (deleted afterwards).
        rows_per_group: Files per row group.

    Returns:
        Seconds spent writing.
    """
    schema = pa.schema([("path", pa.string()), ("data", pa.binary())])
    spent = 0.0
    writer = pq.ParquetWriter(out, schema, compression="none")
    try:
        for start in range(0, len(files), rows_per_group):
            batch = files[start : start + rows_per_group]
            table = pa.table(
                {"path": [p.name for p in batch], "data": [p.read_bytes() for p in batch]},
                schema=schema,
            )
            t0 = time.perf_counter()
            writer.write_table(table)
            spent += time.perf_counter() - t0
        t0 = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - t0
    finally:
        if out.exists():
            out.unlink()
    return spent


def measure_floor(data: SyntheticData, scratch: Path) -> dict[str, Any]:
    """Measure the I/O floor on the synthetic data (page cache warmed first, as for the build).

    Args:
        data: The synthetic data.
        scratch: Folder for the Parquet write.

    Returns:
        Seconds per component, the reader chosen for the GeoTIFFs, and the total.
    """
    inputs = [*data.files["ben_tif"], *data.files["ben_json"]]
    inputs += [*data.files["xbd_png"], *data.files["xbd_json"]]
    for path in [*inputs, *data.files["cog"]]:
        path.read_bytes()  # warm the page cache, as the stages find it
    tifs = data.files["ben_tif"]
    readers: dict[str, float] = {}
    try:
        import tifffile  # type: ignore[import-not-found]

        readers["tifffile"] = _timed(tifffile.imread, tifs)
    except ImportError:
        pass
    readers["numpy_strips"] = _timed(read_strip_tiff, tifs)
    readers["rasterio"] = _timed(_rasterio_read, tifs)
    best = min(readers, key=lambda k: readers[k])
    floor = {
        "ben_tif_reader": best,
        "ben_tif_s": readers[best],
        **{f"ben_tif_{name}_s": seconds for name, seconds in readers.items()},
        "tifffile_available": "tifffile" in readers,
        "xbd_png_decode_s": _timed(_pillow_decode, data.files["xbd_png"]),
        "json_s": _timed(_json_read, [*data.files["ben_json"], *data.files["xbd_json"]]),
        "parquet_write_s": parquet_write_seconds(inputs, scratch / "floor.parquet"),
        "cog_window_read_s": _timed(_cog_window_read, data.files["cog"]),
        "cog_files": len(data.files["cog"]),
        "cog_mb": data.bytes_of(["cog"]) / 1e6,
        "input_mb": sum(p.stat().st_size for p in inputs) / 1e6,
    }
    floor["total_s"] = (
        floor["ben_tif_s"] + floor["xbd_png_decode_s"] + floor["json_s"] + floor["parquet_write_s"]
    )
    return floor


def startup_seconds() -> float:
    """Time of ``python -m eoinstruct.cli --version`` (interpreter and CLI import), best of 3."""
    cmd = [sys.executable, "-m", "eoinstruct.cli", "--version"]
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


# -- results ------------------------------------------------------------------------------------


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _ratio(a: float, b: float) -> float:
    return _r(a / b, 3) if b > 0 else 0.0


def build_metrics(build: Build, floor_s: float | None, cores: int) -> dict[str, Any]:
    """Flat metrics of one build: per stage and end to end.

    Args:
        build: The build.
        floor_s: The I/O floor on the same data (``None``: no ratios).
        cores: Cores the build used (1 in-process, the worker count with Dask).

    Returns:
        ``{"stage.<name>.<metric>": value, ..., "e2e.<metric>": value}``.
    """
    out: dict[str, Any] = {}
    for s in build.stages:
        key = f"stage.{s.stage}"
        out[f"{key}.wall_s"] = _r(s.wall_s, 4)
        out[f"{key}.in_stage_s"] = _r(s.inner_s)
        out[f"{key}.items_read"] = s.read
        out[f"{key}.items_per_s"] = _r(s.read / s.wall_s if s.wall_s else 0.0, 2)
        out[f"{key}.units_per_s"] = _r(build.units / s.wall_s if s.wall_s else 0.0, 2)
        out[f"{key}.input_mb"] = _r(s.input_bytes / 1e6)
        out[f"{key}.mb_per_s_per_core"] = _r(s.input_bytes / 1e6 / s.wall_s / cores, 3)
        out[f"{key}.peak_rss_mb"] = _r(s.peak_rss_mb, 1)
        if floor_s:
            out[f"{key}.ratio_to_floor"] = _ratio(out[f"{key}.wall_s"], floor_s)
    out["e2e.wall_s"] = _r(build.wall_s, 4)
    out["e2e.in_stage_s"] = _r(build.inner_s)
    out["e2e.units_per_s"] = _r(build.units / build.wall_s, 2)
    out["e2e.pairs"] = build.pairs
    out["e2e.peak_rss_mb"] = _r(build.peak_rss_mb, 1)
    out["e2e.load_avg_before"] = _r(build.load_before, 2)
    out["e2e.load_avg_after"] = _r(build.load_after, 2)
    if floor_s:
        out["e2e.ratio_to_floor"] = _ratio(out["e2e.wall_s"], floor_s)
        out["e2e.in_stage_ratio_to_floor"] = _ratio(build.inner_s, floor_s)
    return out


def projection(
    build: Build, speedup: float | None, workers: int, throughput: Mapping[str, Any]
) -> dict[str, Any]:
    """Project the measured build to :data:`TARGET_PAIRS` pairs and the captioner's GPU-hours.

    Assumptions (also written to the results): the per-pair cost of the measured in-process
    build (its source mix, this machine's cores, interpreter starts amortised away: in-stage
    times) holds at scale; cores scale with the parallel efficiency measured with ``workers``
    Dask workers; one caption per source sample, samples = pairs / pairs-per-sample of the
    build.

    Args:
        build: The largest in-process build.
        speedup: Measured speed-up of ``workers`` Dask workers over 1 (``None`` if not run).
        workers: The worker count of that speed-up.
        throughput: The published captioner throughput (:data:`CAPTIONER_THROUGHPUT`).

    Returns:
        Flat ``projection.*`` metrics.
    """
    pairs = max(build.pairs, 1)
    per_pair = build.inner_s / pairs
    efficiency = min(1.0, speedup / workers) if speedup and workers > 1 else 1.0
    core_hours = TARGET_PAIRS * per_pair / 3600
    pairs_per_unit = pairs / max(build.units, 1)
    samples = TARGET_PAIRS / pairs_per_unit
    out: dict[str, Any] = {
        "projection.target_pairs": TARGET_PAIRS,
        "projection.pairs_per_source_unit": _r(pairs_per_unit),
        "projection.source_units_needed": round(samples),
        "projection.core_s_per_pair": _r(per_pair, 5),
        "projection.core_hours": _r(core_hours, 1),
        "projection.parallel_efficiency": _r(efficiency),
        "projection.hours_on_2_cores": _r(core_hours / (2 * efficiency), 1),
        "projection.hours_on_64_cores": _r(core_hours / (64 * efficiency), 2),
        "projection.cores_for_24h": math.ceil(core_hours / (24 * efficiency)),
    }
    for source, seconds in sorted(build.per_source_s.items()):
        n = build.pairs_by_source.get(source, 0)
        if n:
            out[f"projection.{source}.core_s_per_pair"] = _r(seconds / n, 5)
            out[f"projection.{source}.core_hours_if_all"] = _r(TARGET_PAIRS * seconds / n / 3600, 1)
    for kind in ("short", "long"):
        rate = float(throughput[f"requests_per_s_{kind}"])
        out[f"projection.captioner.gpu_hours_{kind}"] = _r(samples / rate / 3600, 1)
        out[f"projection.captioner.gpu_hours_one_per_pair_{kind}"] = _r(
            TARGET_PAIRS / rate / 3600, 1
        )
    out["projection.captioner.captions"] = round(samples)
    return out


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def markdown(results: Mapping[str, Any]) -> str:
    """Render the results as a Markdown summary (tables of stages, floor, targets, projection).

    Args:
        results: The flat results.

    Returns:
        The Markdown text.
    """
    r = results
    n = r["config.n"]
    lines = [
        f"Measured on {r['machine.cpus']} cores ({r['machine.platform']}), load average "
        f"{r['machine.load_avg_start']:.2f} at the start and {r['machine.load_avg_end']:.2f} "
        "at the end (other jobs shared the machine; timings are noisy).",
        "",
        f"Data: N = {n} BigEarthNet S2 patches + {n} S1 patches + {r['data.n.xbd_tiles']} xBD "
        f"1024x1024 pre/post tiles = {r['data.n.units']} source units "
        f"({r['data.n.input_mb']:.0f} MB), {r['data.n.cogs']} Sentinel-2 COG chips. "
        f"Command: `{r['config.command']}`.",
        "",
        "| stage | wall s | in-stage s | items | items/s | MB/s/core | peak RSS MB "
        f"(N / {r['config.scale']}N) | x floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for stage in _stages(r):
        k = f"inprocess.n.stage.{stage}"
        big = r.get(f"inprocess.scaled.stage.{stage}.peak_rss_mb", "-")
        lines.append(
            f"| {stage} | {_fmt(r[k + '.wall_s'])} | {_fmt(r[k + '.in_stage_s'])} | "
            f"{r[k + '.items_read']} | {_fmt(r[k + '.items_per_s'])} | "
            f"{_fmt(r[k + '.mb_per_s_per_core'])} | {_fmt(r[k + '.peak_rss_mb'])} / "
            f"{_fmt(big)} | {_fmt(r[k + '.ratio_to_floor'])} |"
        )
    lines.append(
        f"| **end to end** | {_fmt(r['inprocess.n.e2e.wall_s'])} | "
        f"{_fmt(r['inprocess.n.e2e.in_stage_s'])} | {r['inprocess.n.e2e.pairs']} pairs | | | "
        f"{_fmt(r['inprocess.n.e2e.peak_rss_mb'])} / "
        f"{_fmt(r.get('inprocess.scaled.e2e.peak_rss_mb', '-'))} | "
        f"{_fmt(r['inprocess.n.e2e.ratio_to_floor'])} |"
    )
    lines += [
        "",
        f"I/O floor on the same files: {_fmt(r['floor.total_s'])} s = BigEarthNet GeoTIFFs "
        f"{_fmt(r['floor.ben_tif_s'])} s ({r['floor.ben_tif_reader']}; rasterio "
        f"{_fmt(r['floor.ben_tif_rasterio_s'])} s; tifffile "
        f"{'measured' if r['floor.tifffile_available'] else 'not installed'}) + xBD PNG decode "
        f"{_fmt(r['floor.xbd_png_decode_s'])} s + label JSON {_fmt(r['floor.json_s'])} s + "
        f"pyarrow write {_fmt(r['floor.parquet_write_s'])} s. COG windowed reads: "
        f"{_fmt(r['floor.cog_window_read_s'])} s for {r['floor.cog_files']} chips "
        f"({_fmt(r['floor.cog_mb'])} MB). Interpreter + CLI start: "
        f"{_fmt(r['machine.cli_start_s'])} s per stage.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for key, text in (
        ("e2e_within_2x_floor", "end to end within 2x the I/O floor"),
        ("rss_flat", f"peak RSS at {r['config.scale']}N within 1.2x of N"),
        ("scaling", "2 workers at least 1.6x faster than 1"),
    ):
        if f"target.{key}.value" in r:
            met = "yes" if r[f"target.{key}.met"] else "no"
            lines.append(f"| {text} | {_fmt(r[f'target.{key}.value'])} | {met} |")
    lines += ["", "Scaling (local Dask cluster, same data):", ""]
    lines += ["| workers | wall s | in-stage s | peak RSS MB |", "|---|---|---|---|"]
    for w in r["config.workers"]:
        k = f"dask{w}.n.e2e"
        if f"{k}.wall_s" in r:
            lines.append(
                f"| {w} | {_fmt(r[k + '.wall_s'])} | {_fmt(r[k + '.in_stage_s'])} | "
                f"{_fmt(r[k + '.peak_rss_mb'])} |"
            )
    lines += [
        "",
        f"Projection to {r['projection.target_pairs']:,} pairs (per-pair cost of the "
        f"{r['config.scale']}N in-process build, in-stage times, its source mix): "
        f"{_fmt(r['projection.core_s_per_pair'])} core-s per pair, "
        f"{_fmt(r['projection.core_hours'])} core-hours; with the measured parallel efficiency "
        f"{_fmt(r['projection.parallel_efficiency'])}: {_fmt(r['projection.hours_on_2_cores'])} h "
        f"on 2 cores, {_fmt(r['projection.hours_on_64_cores'])} h on 64 cores, "
        f"{r['projection.cores_for_24h']} cores for 24 h. "
        f"{_fmt(r['projection.pairs_per_source_unit'])} pairs per source unit, so "
        f"{r['projection.source_units_needed']:,} source units.",
        "",
        f"Captioner: {r['projection.captioner.captions']:,} captions (one per source sample) at "
        f"{CAPTIONER_THROUGHPUT['requests_per_s_short']}-"
        f"{CAPTIONER_THROUGHPUT['requests_per_s_long']} requests/s per GPU "
        f"({CAPTIONER_THROUGHPUT['model']}, {CAPTIONER_THROUGHPUT['engine']}, "
        f"{CAPTIONER_THROUGHPUT['source']}): "
        f"{_fmt(r['projection.captioner.gpu_hours_short'])}-"
        f"{_fmt(r['projection.captioner.gpu_hours_long'])} GPU-hours; one caption per pair: "
        f"{_fmt(r['projection.captioner.gpu_hours_one_per_pair_short'])}-"
        f"{_fmt(r['projection.captioner.gpu_hours_one_per_pair_long'])} GPU-hours.",
    ]
    limits = r.get("notes.limits")
    if limits:
        lines += ["", "What limits the figures:", ""]
        lines += [f"- {item}" for item in limits]
    return "\n".join(lines) + "\n"


def _stages(results: Mapping[str, Any]) -> list[str]:
    """The stages a results mapping holds, in order (``config.stages``, else :data:`STAGES`)."""
    return list(results.get("config.stages") or STAGES)


def _limits(results: Mapping[str, Any]) -> list[str]:
    """Plain-language notes on what limits each target, from the measurements."""
    r = results
    notes: list[str] = []
    walls = {s: r[f"inprocess.n.stage.{s}.wall_s"] for s in _stages(r)}
    slowest = max(walls, key=lambda s: walls[s])
    start = r["machine.cli_start_s"]
    notes.append(
        f"end to end: the slowest stage is {slowest} ({walls[slowest]:.1f} s of "
        f"{r['inprocess.n.e2e.wall_s']:.1f} s); each of the {len(_stages(r))} stages also pays "
        f"{start:.1f} s of interpreter and import start-up; score and shard both read pixels "
        "(shard re-reads the rendered bands and re-encodes PNGs), while the floor reads "
        "each file once"
    )
    if "target.rss_flat.value" in r:
        growth = {
            s: r[f"inprocess.scaled.stage.{s}.peak_rss_mb"]
            - r[f"inprocess.n.stage.{s}.peak_rss_mb"]
            for s in _stages(r)
        }
        top = max(growth, key=lambda s: growth[s])
        notes.append(
            f"memory: peak RSS {r['inprocess.n.e2e.peak_rss_mb']:.0f} MB at N and "
            f"{r['inprocess.scaled.e2e.peak_rss_mb']:.0f} MB at {r['config.scale']}N, set by "
            f"the largest stage; partitions have a fixed size; the stage whose peak grew most "
            f"is {top} ({growth[top]:+.0f} MB)"
        )
    if "target.scaling.value" in r:
        notes.append(
            f"scaling: {r['target.scaling.value']:.2f}x in wall time, "
            f"{r.get('scaling.in_stage_speedup', 0):.2f}x in-stage; each Dask stage starts "
            "a new LocalCluster (a few seconds), 1 Dask worker is slower than in-process "
            f"({r.get('dask1.n.e2e.wall_s', 0):.0f} s vs {r['inprocess.n.e2e.wall_s']:.0f} s), "
            "and the machine is shared, so a second worker competes with other jobs for the "
            "second core"
        )
    return notes


def run(
    n: int,
    out: Path,
    scale: int = 10,
    workers: Sequence[int] = (1, 2),
    xbd_ratio: float = 0.1,
    partition_size: int = 25,
    workdir: Path | None = None,
    keep: bool = False,
    seed: int = 0,
    command: str = "",
    echo: bool = True,
) -> dict[str, Any]:
    """Run the whole benchmark and write ``out`` (JSON) and ``out`` with ``.md`` (Markdown).

    Args:
        n: BigEarthNet S2 patches (and S1 partners) of the base data set.
        out: The JSON results file.
        scale: Factor of the memory build (``scale`` x ``n``); 0 or 1 skips it.
        workers: Dask worker counts of the scaling builds (empty skips them).
        xbd_ratio: xBD tiles per S2 patch.
        partition_size: Source units per partition (the same in every build).
        workdir: Where data and builds go (default: a temporary folder, removed at the end).
        keep: Keep ``workdir``.
        seed: Seed of the synthetic data.
        command: The command line, recorded in the results.
        echo: Print progress and the summary.

    Returns:
        The flat results.
    """
    temporary = workdir is None
    base = Path(tempfile.mkdtemp(prefix="eoinstruct-bench-")) if workdir is None else workdir
    base.mkdir(parents=True, exist_ok=True)
    say = print if echo else (lambda *a, **k: None)
    results: dict[str, Any] = {
        "config.n": n,
        "config.scale": scale,
        "config.workers": list(workers),
        "config.stages": list(STAGES),
        "config.xbd_ratio": xbd_ratio,
        "config.partition_size": partition_size,
        "config.seed": seed,
        "config.command": command,
        "machine.cpus": os.cpu_count() or 1,
        "machine.platform": f"{platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}",
        "machine.load_avg_start": _r(os.getloadavg()[0], 2),
    }
    try:
        results["machine.cli_start_s"] = _r(startup_seconds())
        say(f"generating N={n} ...", flush=True)
        data = generate(base / "data_n", n, xbd_ratio=xbd_ratio, seed=seed)
        results.update(
            {
                "data.n.units": data.units,
                "data.n.s2_patches": data.s2_patches,
                "data.n.s1_patches": data.s1_patches,
                "data.n.xbd_tiles": data.xbd_tiles,
                "data.n.cogs": data.cogs,
                "data.n.input_mb": _r(
                    data.bytes_of(["ben_tif", "ben_json", "xbd_png", "xbd_json"]) / 1e6, 1
                ),
                "data.n.generate_s": _r(data.seconds),
            }
        )
        say(f"  {data.units} units in {data.seconds:.1f} s; measuring the I/O floor ...")
        floor = measure_floor(data, base)
        results.update(
            {f"floor.{k}": _r(v, 4) if isinstance(v, float) else v for k, v in floor.items()}
        )
        parts = ("ben_tif_s", "xbd_png_decode_s", "json_s", "parquet_write_s")
        floor_s = _r(sum(results[f"floor.{p}"] for p in parts), 4)
        results["floor.total_s"] = floor_s

        say("building in-process at N ...")
        main_build = run_build(base / "build_n", data, partition_size, echo=echo)
        results.update(
            {f"inprocess.n.{k}": v for k, v in build_metrics(main_build, floor_s, 1).items()}
        )
        results["target.e2e_within_2x_floor.value"] = results["inprocess.n.e2e.ratio_to_floor"]
        results["target.e2e_within_2x_floor.met"] = results["inprocess.n.e2e.ratio_to_floor"] <= 2.0

        scaled_build: Build | None = None
        if scale and scale > 1:
            say(f"generating {scale}N ...", flush=True)
            big = generate(base / "data_scaled", n * scale, xbd_ratio=xbd_ratio, seed=seed)
            results["data.scaled.units"] = big.units
            results["data.scaled.input_mb"] = _r(
                big.bytes_of(["ben_tif", "ben_json", "xbd_png", "xbd_json"]) / 1e6, 1
            )
            say(f"building in-process at {scale}N ({big.units} units) ...")
            scaled_build = run_build(base / "build_scaled", big, partition_size, echo=echo)
            metrics = build_metrics(scaled_build, None, 1)
            results.update({f"inprocess.scaled.{k}": v for k, v in metrics.items()})
            ratio = _ratio(scaled_build.peak_rss_mb, main_build.peak_rss_mb)
            results["target.rss_flat.value"] = ratio
            results["target.rss_flat.met"] = ratio <= 1.2
            shutil.rmtree(base / "build_scaled", ignore_errors=True)
            shutil.rmtree(base / "data_scaled", ignore_errors=True)

        dask_builds: dict[int, Build] = {}
        for w in workers:
            say(f"building with a local Dask cluster of {w} worker(s) at N ...")
            b = run_build(base / f"build_dask{w}", data, partition_size, f"dask{w}", w, echo)
            dask_builds[w] = b
            results.update({f"dask{w}.n.{k}": v for k, v in build_metrics(b, floor_s, w).items()})
            shutil.rmtree(base / f"build_dask{w}", ignore_errors=True)
        speedup: float | None = None
        top = max(workers) if workers else 0
        if 1 in dask_builds and top > 1:
            speedup = _ratio(dask_builds[1].wall_s, dask_builds[top].wall_s)
            results["target.scaling.value"] = speedup
            results["target.scaling.met"] = speedup >= 1.6
            results["scaling.in_stage_speedup"] = _ratio(
                dask_builds[1].inner_s, dask_builds[top].inner_s
            )
            results["scaling.workers"] = top

        basis = scaled_build or main_build
        in_stage_speedup = results.get("scaling.in_stage_speedup")
        results.update(projection(basis, in_stage_speedup, top, CAPTIONER_THROUGHPUT))
        results["projection.basis"] = "scaled" if scaled_build else "n"
        results["projection.assumptions"] = (
            "per-pair in-stage cost of the largest in-process build (its mix of BigEarthNet "
            "S2/S1 patches and xBD tiles, OSM off) holds at scale; interpreter and cluster "
            "start-up amortised away; cores scale with the measured in-stage parallel "
            "efficiency of the Dask build; one caption per source sample"
        )
        results["projection.captioner.source"] = CAPTIONER_THROUGHPUT["source"]
        results["projection.captioner.model"] = CAPTIONER_THROUGHPUT["model"]
        results["projection.captioner.requests_per_s_short"] = CAPTIONER_THROUGHPUT[
            "requests_per_s_short"
        ]
        results["projection.captioner.requests_per_s_long"] = CAPTIONER_THROUGHPUT[
            "requests_per_s_long"
        ]
        results["machine.load_avg_end"] = _r(os.getloadavg()[0], 2)
        results["notes.limits"] = _limits(results)
    finally:
        if temporary and not keep:
            shutil.rmtree(base, ignore_errors=True)

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    text = markdown(results)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    say("\n" + text)
    return results


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m benchmarks.run``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark every stage on synthetic data at real sizes (see "
        "benchmarks/README.md).",
    )
    parser.add_argument("--n", type=int, default=200, help="BigEarthNet S2 patches (and S1)")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results.json"), help="results JSON"
    )
    parser.add_argument("--scale", type=int, default=10, help="factor of the memory build")
    parser.add_argument(
        "--workers", default="1,2", help="Dask worker counts of the scaling builds ('' skips)"
    )
    parser.add_argument("--xbd-ratio", type=float, default=0.1, help="xBD tiles per S2 patch")
    parser.add_argument("--partition-size", type=int, default=25, help="units per partition")
    parser.add_argument("--workdir", type=Path, help="keep data and builds here")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    workers = [int(w) for w in str(args.workers).split(",") if w.strip()]
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else list(argv))
    run(
        n=args.n,
        out=args.out,
        scale=args.scale,
        workers=workers,
        xbd_ratio=args.xbd_ratio,
        partition_size=args.partition_size,
        workdir=args.workdir,
        keep=args.workdir is not None,
        seed=args.seed,
        command=command.strip(),
        echo=not args.quiet,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
