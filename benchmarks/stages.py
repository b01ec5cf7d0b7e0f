"""One build of the synthetic data, stage by stage, as the command line runs it.

The stage list is the stage registry's build order (:func:`stages`: every stage ``eoinstruct
all`` runs except ``sample_data``), so a stage added to, or changed in, the registry is measured
without an edit here: ``ingest`` … ``dedup`` … ``shard`` (whose tail writes the corpus card and
the manifest), then ``report``, ``export`` and ``build_report``. Each stage is a subprocess
``python -m eoinstruct.cli --params P [--executor local --workers K] <command>``
(:func:`benchmarks.measure.run_watched`); per stage: wall time, the in-stage time (the
partitions' ``wall_seconds`` from ``_state/<stage>/_timings.json``), items read and kept, input
bytes and the peak RSS of its process tree. A Dask build starts one cluster for the run
(``eoinstruct cluster start``) that every stage connects to; its workers are not children of a
stage's process, so their memory is not in the stage's peak RSS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from benchmarks import measure
from benchmarks.measure import LoadProbe
from benchmarks.synthetic import SyntheticData
from eoinstruct.pipeline.stages import build_order

REPO = Path(__file__).resolve().parents[1]

_STATS_LINE = re.compile(r"^(?P<stage>\w+): read (?P<read>\d+), kept (?P<kept>\d+)", re.M)


ON_DEMAND = ("export",)
"""Frozen stages users run by hand after a build (measured too; ``publish`` needs the Hub)."""


def stages() -> tuple[str, ...]:
    """The stages measured, in the registry's order: every stage of a build (``sample_data``
    left out) and the on-demand :data:`ON_DEMAND` ones."""
    return tuple(
        s.name
        for s in build_order(include_frozen=True)
        if s.name != "sample_data" and (not s.frozen or s.name in ON_DEMAND)
    )


def partitioned() -> tuple[str, ...]:
    """The partitioned stages (``ingest`` … ``shard``): the end-to-end figures' stages."""
    return tuple(s.name for s in build_order() if s.partitioned)


def whole_run_skips() -> tuple[str, ...]:
    """Stages the whole-run measurement leaves out of ``eoinstruct all``: ``sample_data`` (the
    synthetic roots are the sources) and the reports after ``shard`` (serial, measured per
    stage), so it covers what the e2e figures do: ``fingerprint`` + ``ingest`` … ``shard``."""
    order = [s.name for s in build_order()]
    last = max(i for i, s in enumerate(build_order()) if s.partitioned)
    return ("sample_data", *order[last + 1 :])


def _command(name: str) -> str:
    return next(s.command for s in build_order(include_frozen=True) if s.name == name)


@dataclass
class StageRun:
    """One stage subprocess.

    Attributes:
        stage: Stage name.
        wall_s: Wall time of the subprocess, interpreter start included.
        inner_s: The partitions' ``wall_seconds`` (0 for a stage without partitions).
        peak_rss_mb: Peak of the summed RSS of the process and its children.
        read: Items the stage read (samples; pairs for ``shard``).
        kept: Items it passed on.
        input_bytes: Bytes of the files it read.
        cpu_s: CPU seconds of the process and the descendants it waited for.
        driver_cpu_s: CPU seconds of the stage's own process (with Dask: the driver).
        task_cpu_s: CPU seconds of the threads that ran the partitions (``task_cpu_seconds``
            of ``_timings.json``: the tasks' own, wherever they ran).
    """

    stage: str
    wall_s: float
    inner_s: float
    peak_rss_mb: float
    read: int
    kept: int
    input_bytes: int = 0
    cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    task_cpu_s: float = 0.0


@dataclass
class Build:
    """One build of every stage.

    Attributes:
        label: ``inprocess`` or ``dask<k>``.
        units: Source units (S2 + S1 patches + xBD tiles).
        stages: The stage runs, in order.
        load: The machine's load around the build.
        per_source_s: Partition seconds by source, summed over the stages.
        pairs_by_source: Pairs written, by source.
    """

    label: str
    units: int
    stages: list[StageRun] = field(default_factory=list)
    load: LoadProbe = field(default_factory=LoadProbe)
    per_source_s: dict[str, float] = field(default_factory=dict)
    pairs_by_source: dict[str, int] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        """Pairs written to the corpus."""
        return sum(self.pairs_by_source.values())


def _parquet_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*.parquet")) if folder.is_dir() else 0


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def stage_input_bytes(stage: str, root: Path, data: SyntheticData) -> int:
    """Bytes of the files a stage reads.

    ``ingest``: the label JSONs (PNG headers are a few hundred bytes and left out); ``score``:
    every band file and image plus the samples; ``shard``: the rendered bands (S2
    B02/B03/B04, S1 VV/VH, both xBD images) plus the validated pairs and kept samples;
    ``export`` and ``build_report``: the corpus; the other partitioned stages: the Parquet
    files of the stages they read. Any other stage counts 0.

    Args:
        stage: Stage name.
        root: The build folder (``work/`` and ``corpus/`` inside).
        data: The synthetic data.

    Returns:
        The byte count.
    """
    work = root / "work"
    reads: dict[str, tuple[str, ...]] = {
        "enrich": ("ingest/samples",),
        "filter": ("enrich/samples", "score"),
        "dedup": ("filter/kept", "score"),
        "generate": ("dedup/kept",),
        "validate": ("generate/pairs", "caption/pairs", "dedup/kept"),
    }
    if stage == "ingest":
        return data.bytes_of(["ben_json", "xbd_json"])
    if stage == "score":
        return _parquet_bytes(work / "enrich" / "samples") + data.bytes_of(["ben_tif", "xbd_png"])
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
    if stage in ("export", "build_report"):
        return _folder_bytes(root / "corpus")
    return sum(_parquet_bytes(work / sub) for sub in reads.get(stage, ()))


def _relocate(value: Any, root: Path) -> Any:
    """Point every ``data/…`` path of a params tree into ``root``."""
    if isinstance(value, dict):
        return {k: _relocate(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_relocate(v, root) for v in value]
    if isinstance(value, str) and value.startswith("data/"):
        return str(root / value[len("data/") :])
    return value


def write_params(root: Path, data: SyntheticData, partition_size: int) -> Path:
    """Write a params.yaml for a build of the synthetic data into ``root``.

    Starts from the repository's params.yaml; only ``bigearthnet_v1`` and ``xbd`` are enabled,
    OSM enrichment and the captioner are off, and every path points into ``root``.

    Args:
        root: Build folder.
        data: The synthetic data.
        partition_size: ``ingest.partition_size``.

    Returns:
        The params file.
    """
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params = _relocate(params, root)
    params["paths"] = {
        "sample": str(root / "sample"),
        "work": str(root / "work"),
        "corpus": str(root / "corpus"),
        "metrics": str(root / "metrics"),
    }
    roots = {"bigearthnet_v1": data.bigearthnet_root}
    if data.xbd_tiles:
        roots["xbd"] = data.xbd_root
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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def run_build(
    root: Path,
    data: SyntheticData,
    partition_size: int,
    label: str = "inprocess",
    workers: int = 0,
    echo: bool = True,
) -> Build:
    """Build every stage of :func:`stages` on the synthetic data, one subprocess each.

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
    build = Build(label=label, units=data.units)
    executor = ["--executor", "local", "--workers", str(workers)] if workers else []
    cmd = [sys.executable, "-m", "eoinstruct.cli", "--params", str(params), "--no-progress"]
    if workers:  # one cluster for the whole run, as `eoinstruct cluster start` gives users
        subprocess.run([*cmd, *executor, "cluster", "start"], cwd=REPO, check=True)
    build.load.start()
    try:
        _run_stages(build, cmd, executor, root, data, label, echo)
    finally:
        build.load.stop()
        if workers:
            subprocess.run([*cmd, "cluster", "stop"], cwd=REPO, check=False)
    build.per_source_s = _seconds_by_source(work)
    build.pairs_by_source = _pairs_by_source(work)
    return build


def _run_stages(
    build: Build,
    cmd: list[str],
    executor: list[str],
    root: Path,
    data: SyntheticData,
    label: str,
    echo: bool,
) -> None:
    """Run and measure every stage of :func:`stages`, one subprocess each, into ``build``."""
    work = root / "work"
    for name in stages():
        usage: dict[str, float] = {}
        wall, peak, text = measure.run_watched(
            [*cmd, *executor, _command(name)], root / f"{name}.log", REPO, usage
        )
        counts = {m["stage"]: m for m in _STATS_LINE.finditer(text)}
        line = counts.get(name)
        timings = _read_json(work / "_state" / name / "_timings.json")
        run = StageRun(
            stage=name,
            wall_s=wall,
            inner_s=float(timings.get("wall_seconds", 0.0)),
            peak_rss_mb=peak,
            read=int(line["read"]) if line else 0,
            kept=int(line["kept"]) if line else 0,
            input_bytes=stage_input_bytes(name, root, data),
            cpu_s=usage.get("cpu_s", 0.0),
            driver_cpu_s=usage.get("driver_cpu_s", 0.0),
            task_cpu_s=float(timings.get("task_cpu_seconds", 0.0)),
        )
        build.stages.append(run)
        if echo:
            print(
                f"  [{label} n={data.units}] {name:12s} {wall:7.2f} s "
                f"(in-stage {run.inner_s:6.2f} s) read {run.read:6d} kept {run.kept:6d} "
                f"peak {peak:7.1f} MB",
                flush=True,
            )


@dataclass
class WholeRun:
    """One ``eoinstruct all`` run: every stage in ONE process and one executor.

    This is where a user running a cluster gets the scaling: one local cluster (or one
    client to ``--scheduler``) for every stage, one interpreter start.

    Attributes:
        label: ``whole_inprocess`` or ``whole_dask<k>``.
        units: Source units.
        wall_s: Wall time of the command (``all`` less :func:`whole_run_skips`: one start-up,
            the cluster's start, ``fingerprint`` and ``ingest`` … ``shard``).
        cpu_s: CPU seconds of the process tree (the local cluster's workers included).
        driver_cpu_s: CPU seconds of the command's own process (with Dask: the driver).
        in_stage_s: The partitioned stages' ``wall_seconds`` summed.
        task_cpu_s: The partitioned stages' ``task_cpu_seconds`` summed: the CPU of the
            threads that ran the partitions (in a worker: without its event loop, heartbeats
            and comms).
        driver_task_cpu_s: The part of ``task_cpu_s`` the driver ran itself while the local
            cluster started (:class:`~eoinstruct.pipeline.run.backends.DaskExecutor`; from the
            command's log): in ``driver_cpu_s``, not in the workers'.
        tasks: Partition tasks run (one per partition and partitioned stage).
        peak_rss_mb: Peak RSS of the process tree.
        pairs: Pairs written.
        load: The machine's load around the run.
    """

    label: str
    units: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    driver_cpu_s: float = 0.0
    in_stage_s: float = 0.0
    task_cpu_s: float = 0.0
    driver_task_cpu_s: float = 0.0
    tasks: int = 0
    peak_rss_mb: float = 0.0
    pairs: int = 0
    load: LoadProbe = field(default_factory=LoadProbe)


def run_whole(
    root: Path,
    data: SyntheticData,
    partition_size: int,
    label: str = "whole_inprocess",
    workers: int = 0,
) -> WholeRun:
    """Run ``eoinstruct [--executor local --workers K] all`` once on the synthetic data.

    Args:
        root: Build folder (emptied first).
        data: The synthetic data.
        partition_size: Source units per partition.
        label: Name of the run in the results.
        workers: Local Dask workers (0: in-process).

    Returns:
        The run's measurements.
    """
    shutil.rmtree(root, ignore_errors=True)
    params = write_params(root, data, partition_size)
    executor = ["--executor", "local", "--workers", str(workers)] if workers else []
    cmd = [sys.executable, "-m", "eoinstruct.cli", "--params", str(params), "--no-progress"]
    run = WholeRun(label=label, units=data.units)
    usage: dict[str, float] = {}
    run.load.start()
    try:
        skips = [arg for name in whole_run_skips() for arg in ("--skip", name)]
        wall, peak, _ = measure.run_watched(
            [*cmd, *executor, "all", *skips], root / "all.log", REPO, usage
        )
    finally:
        run.load.stop()
    work = root / "work"
    run.wall_s, run.peak_rss_mb = wall, peak
    run.cpu_s, run.driver_cpu_s = usage.get("cpu_s", 0.0), usage.get("driver_cpu_s", 0.0)
    for name in partitioned():
        timings = _read_json(work / "_state" / name / "_timings.json")
        run.in_stage_s += float(timings.get("wall_seconds", 0.0))
        run.task_cpu_s += float(timings.get("task_cpu_seconds", 0.0))
        run.tasks += sum(
            1 for p in (work / "_state" / name).glob("*.json") if not p.name.startswith("_")
        )
    run.pairs = sum(_pairs_by_source(work).values())
    run.driver_task_cpu_s = driver_task_cpu(root / "all.log")
    return run


@dataclass
class HalvesRun:
    """Two independent in-process ``eoinstruct all`` runs, each on half the data, at once.

    The machine's own ceiling for two processes: no driver, no barrier, nothing shared but
    the machine (its cores, caches, memory bandwidth and disk), so ``in-process wall / wall``
    is the best speed-up any two-process run of the same work can reach here.

    Attributes:
        units: Source units of both halves.
        wall_s: From the start of both to the end of the later one.
        cpu_s: CPU seconds of both process trees.
    """

    units: int
    wall_s: float = 0.0
    cpu_s: float = 0.0


def run_halves(root: Path, halves: Sequence[SyntheticData], partition_size: int) -> HalvesRun:
    """Run ``eoinstruct all`` in-process on each half at once (see :class:`HalvesRun`).

    Args:
        root: Folder of the two builds (emptied first).
        halves: The two halves of the data (their own roots and pixels).
        partition_size: Source units per partition.

    Returns:
        The measurements.

    Raises:
        RuntimeError: If either run fails (with the end of its log).
    """
    shutil.rmtree(root, ignore_errors=True)
    skips = [arg for name in whole_run_skips() for arg in ("--skip", name)]
    cmds, logs = [], []
    for k, half in enumerate(halves):
        params = write_params(root / f"half{k}", half, partition_size)
        cmds.append([sys.executable, "-m", "eoinstruct.cli", "--params", str(params),
                     "--no-progress", "all", *skips])  # fmt: skip
        logs.append(root / f"half{k}" / "all.log")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    run = HalvesRun(units=sum(h.units for h in halves))
    handles = [open(log, "w", encoding="utf-8") for log in logs]
    try:
        started = time.perf_counter()
        procs = [
            subprocess.Popen(cmd, stdout=h, stderr=subprocess.STDOUT, cwd=REPO, env=env)
            for cmd, h in zip(cmds, handles, strict=True)
        ]
        left = {p.pid: p for p in procs}
        while left:
            for pid in list(left):
                done, status, usage = os.wait4(pid, os.WNOHANG)
                if done:
                    left.pop(pid).returncode = os.waitstatus_to_exitcode(status)
                    run.cpu_s += usage.ru_utime + usage.ru_stime
            time.sleep(measure.POLL_S)
        run.wall_s = time.perf_counter() - started
    finally:
        for h in handles:
            h.close()
    for proc, log in zip(procs, logs, strict=True):
        if proc.returncode != 0:
            text = log.read_text(encoding="utf-8", errors="replace")
            raise RuntimeError(f"a half run failed ({proc.returncode}):\n{text[-3000:]}")
    return run


_DRIVER_RAN = re.compile(r"the driver ran \d+ partitions \(([0-9.]+) CPU-s\)")


def driver_task_cpu(log: Path) -> float:
    """CPU seconds of the partitions a Dask run's driver ran itself while its cluster started.

    Args:
        log: The command's log.

    Returns:
        The seconds (0 without such a line: in-process, or the cluster was up in time).
    """
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0.0
    return sum(float(m.group(1)) for m in _DRIVER_RAN.finditer(text))


def _source_of(partition: str) -> str:
    return partition.rsplit("-", 1)[0]


def _seconds_by_source(work: Path) -> dict[str, float]:
    """Sum the partitions' recorded seconds over every stage, by source."""
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
