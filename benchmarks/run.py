"""Benchmark the build on synthetic data at real sizes: ``python -m benchmarks.run --n 200``.

What it measures, in one run on one machine (see ``benchmarks/README.md``):

1. **Stages**: synthetic BigEarthNet v1 (S2 + S1) data (:mod:`benchmarks.synthetic`, every
   unit its own pixels; the headline figures) and, in a build of their own, xBD tiles, built
   by every stage of the registry's build order
   (:mod:`benchmarks.stages`: ``dedup`` and shard's card and manifest included, then
   ``report``, ``export`` and ``build_report``), each stage a subprocess of the CLI; wall time,
   in-stage time, items/s, MB/s per core and the peak RSS of its process tree.
2. **The decode floor** in the same run (:mod:`benchmarks.floor`): tifffile, a numpy strip
   reader and a rasterio loop on the same GeoTIFFs, Pillow on the PNGs, JSON, a Parquet write.
3. **Memory**: the in-process build at N against one at N / ``scale``, peak RSS per stage.
4. **Scaling**: ``eoinstruct all`` in ONE process, in-process against a local Dask cluster
   of K workers (wall, CPU of the driver and of the whole tree, tasks), and the per-stage
   builds with ``--executor local --workers K`` (one cluster for the run).
5. **Load**: load average before and after each build and other processes' CPU share.

Each build and each floor component is repeated ``--repeats`` times (3 by default): medians,
with min and max beside them. Results go to a flat JSON (``dvc metrics show
benchmarks/results.json``), a Markdown summary beside it (:mod:`benchmarks.report`) and, with
``--readme README.md``, the README's Benchmarks block. ``--quick`` is the tests' tiny run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.floor import measure_floor
from benchmarks.stages import (
    REPO,
    Build,
    HalvesRun,
    partitioned,
    run_build,
    run_halves,
    run_whole,
    stages,
)
from benchmarks.synthetic import SyntheticData, generate


@dataclass(frozen=True)
class Config:
    """What to run.

    Attributes:
        n: BigEarthNet S2 patches (and S1 partners) of the headline, BigEarthNet-only build.
        scale: The memory build has ``n // scale`` patches (peak RSS at N against N / scale);
            0 or 1 skips it.
        workers: Dask worker counts of the per-stage scaling builds (empty skips them).
        whole_workers: Dask workers of the whole-run scaling (``eoinstruct all`` in one
            process against the in-process one, and beside them two independent in-process
            runs on two halves of the data at once: the machine's ceiling; 0 skips all three).
        whole_scale: The whole-run scaling's data has ``n * whole_scale`` patches: a build
            long enough that a cluster's start and the run's serial work are the small part
            they are in a real build, not most of it.
        whole_partition_size: Source units per partition of the whole-run scaling (the
            params' advice for real data is about 1000; tasks of a few milliseconds would
            measure Dask's per-task cost, not the build).
        repeats: Repeats of every build and floor component.
        xbd_tiles: xBD tiles of the separate xBD build (with as many BigEarthNet patches; 0
            skips it).
        partition_size: Source units per partition (the same in every build; at most the
            memory build's units, so its partitions are full too).
        seed: Seed of the synthetic data.
        xbd_size: Side of the xBD images (the real 1024 but in ``--quick``).
    """

    n: int = 1000
    scale: int = 10
    workers: tuple[int, ...] = (2,)
    whole_workers: int = 2
    whole_scale: int = 10
    whole_partition_size: int = 500
    repeats: int = 3
    xbd_tiles: int = 10
    partition_size: int = 100
    seed: int = 0
    xbd_size: int = 1024


QUICK = Config(
    n=4,
    scale=2,
    workers=(2,),
    whole_workers=2,
    whole_scale=1,
    whole_partition_size=2,
    repeats=1,
    xbd_tiles=5,
    partition_size=2,
    xbd_size=256,
)
"""``--quick``: tiny N (5 xBD tiles of 256 px in their own build), one repeat (the tests'
run; its figures mean nothing)."""


def installed_bytecode(base: Path) -> str:
    """Let the measured processes cache their compiled modules, as an installed package does.

    ``pip`` compiles a package's modules at install and Python writes ``__pycache__`` on a
    checkout's first import, so a user's stage processes load bytecode. Where the
    environment forbids writing it (``PYTHONDONTWRITEBYTECODE``, e.g. a read-only CI image),
    every stage process would recompile the project's ≈ 35 modules it imports (≈ 35-40 ms
    each, measured): a cost of that setting, not of the pipeline. The benchmark's own
    subprocesses (stages, clusters) then write and read them under ``base/pycache`` instead
    (``PYTHONPYCACHEPREFIX``; nothing is written into the tree) until the run ends. An explicit
    prefix is kept.

    Args:
        base: The benchmark's working folder.

    Returns:
        How the measured processes get their bytecode (recorded in the results).
    """
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        return f"PYTHONPYCACHEPREFIX={os.environ['PYTHONPYCACHEPREFIX']} (the environment's)"
    if not os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "__pycache__ beside the modules (Python's default)"
    os.environ.pop("PYTHONDONTWRITEBYTECODE")
    os.environ["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    return (
        "cached in the benchmark's working directory (PYTHONPYCACHEPREFIX), as an installed "
        "package has them; the environment set PYTHONDONTWRITEBYTECODE"
    )


def startup_seconds() -> float:
    """Time of ``python -m eoinstruct.cli --version`` (interpreter and CLI import), best of 3."""
    cmd = [sys.executable, "-m", "eoinstruct.cli", "--version"]
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def _data_metrics(data: SyntheticData, scope: str) -> dict[str, Any]:
    return {
        f"data.{scope}.units": data.units,
        f"data.{scope}.s2_patches": data.s2_patches,
        f"data.{scope}.xbd_tiles": data.xbd_tiles,
        f"data.{scope}.cogs": data.cogs,
        f"data.{scope}.input_mb": round(
            data.bytes_of(["ben_tif", "ben_json", "xbd_png", "xbd_json"]) / 1e6, 1
        ),
        f"data.{scope}.generate_s": round(data.seconds, 3),
    }


def _repeat(
    base: Path,
    label: str,
    data: SyntheticData,
    config: Config,
    workers: int,
    say: Any,
    echo: bool,
) -> list[Build]:
    """Run one build ``config.repeats`` times (fresh folder each time, removed afterwards)."""
    builds = []
    for k in range(max(config.repeats, 1)):
        say(f"building {label} ({data.units} units), repeat {k + 1}/{config.repeats} ...")
        folder = base / f"build_{label}"
        builds.append(run_build(folder, data, config.partition_size, label, workers, echo))
        shutil.rmtree(folder, ignore_errors=True)
    return builds


def run(
    config: Config,
    out: Path,
    workdir: Path | None = None,
    command: str = "",
    readme: Path | None = None,
    echo: bool = True,
) -> dict[str, Any]:
    """Run the whole benchmark and write ``out`` (JSON) and ``out`` with ``.md`` (Markdown).

    Args:
        config: What to run.
        out: The results JSON.
        workdir: Where data and builds go (default: a temporary folder, removed at the end).
        command: The command line, recorded in the results.
        readme: A README whose Benchmarks block is rewritten from the results.
        echo: Print progress and the summary.

    Returns:
        The flat results (also written after each phase: ``config.completed`` says which
        builds the file holds).
    """
    base = Path(tempfile.mkdtemp(prefix="eoinstruct-bench-")) if workdir is None else workdir
    base.mkdir(parents=True, exist_ok=True)
    say = print if echo else (lambda *a, **k: None)
    names, parts = stages(), partitioned()
    results: dict[str, Any] = {
        "config.n": config.n,
        "config.scale": config.scale,
        "config.workers": ",".join(str(w) for w in config.workers),
        "config.whole_workers": config.whole_workers,
        "config.whole_scale": config.whole_scale,
        "config.whole_partition_size": config.whole_partition_size,
        "config.repeats": config.repeats,
        "config.stages": ",".join(names),
        "config.xbd_tiles": config.xbd_tiles,
        "config.partition_size": config.partition_size,
        "config.seed": config.seed,
        "config.command": command,
        "machine.cpus": os.cpu_count() or 1,
        "machine.platform": f"{platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}",
        "machine.load_avg_start": round(os.getloadavg()[0], 2),
    }
    saved_env = {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    results["machine.bytecode"] = installed_bytecode(base)
    try:
        cli_start = startup_seconds()
        results["machine.cli_start_s"] = round(cli_start, 3)
        say(f"generating N={config.n} (BigEarthNet only) ...", flush=True)
        shutil.rmtree(base / "data_n", ignore_errors=True)
        data = generate(base / "data_n", config.n, 0.0, None, config.seed, config.xbd_size)
        results.update(_data_metrics(data, "n"))
        say(f"  {data.units} units in {data.seconds:.1f} s; measuring the decode floor ...")
        floor = measure_floor(data, base, config.repeats)
        results.update(
            {f"floor.{k}": round(v, 4) if isinstance(v, float) else v for k, v in floor.items()}
        )

        def add(label: str, scope: str, builds: list[Build], cores: int, floored: bool) -> None:
            metrics = report.build_metrics(
                builds, parts, cli_start, floor if floored else None, cores, data.s2_patches
            )
            results.update({f"{label}.{scope}.{k}": v for k, v in metrics.items()})

        def checkpoint(phase: str) -> None:
            results["config.completed"] = phase
            results.update(report.targets(results, names))
            results.update(report.projection(results, "n"))
            results["machine.load_avg_end"] = round(os.getloadavg()[0], 2)
            _write(results, out, readme)

        add("inprocess", "n", _repeat(base, "inprocess", data, config, 0, say, echo), 1, True)
        checkpoint("inprocess.n")
        if config.whole_workers:
            _whole_scaling(base, data, config, results, say)
            checkpoint("whole")
        for w in config.workers:
            add(f"dask{w}", "n", _repeat(base, f"dask{w}", data, config, w, say, echo), w, True)
            checkpoint(f"dask{w}.n")
        small_n = config.n // config.scale if config.scale > 1 else 0
        if small_n:
            say(f"generating N/{config.scale} = {small_n} ...", flush=True)
            shutil.rmtree(base / "data_small", ignore_errors=True)
            small = generate(base / "data_small", small_n, 0.0, 0, config.seed + 1, config.xbd_size)
            results.update(_data_metrics(small, "small"))
            builds = _repeat(base, "inprocess_small", small, config, 0, say, echo)
            metrics = report.build_metrics(builds, parts, cli_start, None, 1, small.s2_patches)
            results.update({f"inprocess.small.{k}": v for k, v in metrics.items()})
            shutil.rmtree(base / "data_small", ignore_errors=True)
            checkpoint("inprocess.small")
        if config.xbd_tiles:
            say(f"generating the xBD build ({config.xbd_tiles} tiles) ...", flush=True)
            shutil.rmtree(base / "data_xbd", ignore_errors=True)
            tiles = generate(
                base / "data_xbd", config.xbd_tiles, 1.0, 0, config.seed + 2, config.xbd_size
            )
            results.update(_data_metrics(tiles, "xbd"))
            xfloor = measure_floor(tiles, base, config.repeats)
            results["floor.xbd_png_decode_s"] = round(float(xfloor["xbd_png_decode_s"]), 4)
            for key in ("_min", "_max"):
                if f"xbd_png_decode_s{key}" in xfloor:
                    results[f"floor.xbd_png_decode_s{key}"] = round(
                        float(xfloor[f"xbd_png_decode_s{key}"]), 4
                    )
            builds = _repeat(base, "xbd", tiles, config, 0, say, echo)
            metrics = report.build_metrics(builds, parts, cli_start, None, 1, tiles.s2_patches)
            results.update({f"xbd.n.{k}": v for k, v in metrics.items()})
            results.update(report.source_metrics(builds, "xbd", tiles.xbd_tiles, cli_start, parts))
            shutil.rmtree(base / "data_xbd", ignore_errors=True)
            checkpoint("xbd")
        checkpoint("all")
    finally:
        for key, value in saved_env.items():  # this process's environment as it was
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if workdir is None:
            shutil.rmtree(base, ignore_errors=True)
    say("\n" + report.markdown(results))
    return results


def _whole_scaling(
    base: Path, data: SyntheticData, config: Config, results: dict[str, Any], say: Any
) -> None:
    """The whole-run scaling: in-process, Dask and the machine's ceiling, repeats interleaved.

    On ``n * whole_scale`` patches in partitions of ``whole_partition_size`` units; each
    repeat runs the three back to back, so a drift of the machine's speed reaches all three.
    """
    big = config.n * max(config.whole_scale, 1)
    if big == config.n:
        whole = data
    else:
        say(f"generating the whole-run data: {big} patches ...", flush=True)
        shutil.rmtree(base / "data_whole", ignore_errors=True)
        whole = generate(base / "data_whole", big, 0.0, 0, config.seed + 3, config.xbd_size)
    results.update(_data_metrics(whole, "whole"))
    halves = tuple(
        generate(base / f"data_half{k}", big // 2, 0.0, 0, config.seed + 4 + k, config.xbd_size)
        for k in range(2)
    )
    dask = f"whole_dask{config.whole_workers}"
    runs: dict[str, list[Any]] = {"whole_inprocess": [], dask: []}
    ceiling: list[HalvesRun] = []
    part = config.whole_partition_size
    for k in range(max(config.repeats, 1)):
        for label, w in (("whole_inprocess", 0), (dask, config.whole_workers)):
            say(f"running `eoinstruct all` ({label}, {whole.units} units), repeat {k + 1} ...")
            folder = base / f"build_{label}"
            runs[label].append(run_whole(folder, whole, part, label, w))
            shutil.rmtree(folder, ignore_errors=True)
        say(f"running two in-process halves at once, repeat {k + 1} ...", flush=True)
        ceiling.append(run_halves(base / "build_halves", halves, part))
        shutil.rmtree(base / "build_halves", ignore_errors=True)
    for label, done in runs.items():
        results.update({f"{label}.n.{key}": v for key, v in report.whole_metrics(done).items()})
    results.update(report.halves_metrics(ceiling))
    for name in ("data_whole", "data_half0", "data_half1"):
        if whole is not data or name != "data_whole":
            shutil.rmtree(base / name, ignore_errors=True)


def _write(results: dict[str, Any], out: Path, readme: Path | None) -> None:
    """Write the results so far: the JSON, its Markdown and the README block."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(report.markdown(results), encoding="utf-8")
    if readme is not None:
        report.update_readme(readme, results)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m benchmarks.run``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Benchmark every stage on synthetic data at real sizes (see "
        "benchmarks/README.md).",
    )
    d = Config()
    parser.add_argument("--n", type=int, default=d.n, help="BigEarthNet S2 patches (and S1)")
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results.json"), help="results JSON"
    )
    parser.add_argument("--scale", type=int, default=d.scale, help="factor of the memory build")
    parser.add_argument(
        "--workers",
        default=",".join(str(w) for w in d.workers),
        help="Dask worker counts of the per-stage scaling builds ('' skips)",
    )
    parser.add_argument(
        "--whole-workers",
        type=int,
        default=d.whole_workers,
        help="Dask workers of the one-process `eoinstruct all` scaling runs (0 skips)",
    )
    parser.add_argument("--repeats", type=int, default=d.repeats, help="repeats per figure")
    parser.add_argument(
        "--xbd-tiles", type=int, default=d.xbd_tiles, help="xBD tiles of the xBD build (0 skips)"
    )
    parser.add_argument(
        "--partition-size", type=int, default=d.partition_size, help="units per partition"
    )
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of the synthetic data")
    parser.add_argument("--workdir", type=Path, help="keep data and builds here")
    parser.add_argument("--readme", type=Path, help="rewrite this README's Benchmarks block")
    parser.add_argument(
        "--quick", action="store_true", help="tiny N, one repeat (tests; figures mean nothing)"
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: rewrite the .md (and --readme) from the --out JSON",
    )
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    return parser


def render(out: Path, readme: Path | None = None) -> str:
    """Rewrite ``out``'s Markdown (and ``readme``'s block) from the results JSON ``out``."""
    results = json.loads(out.read_text(encoding="utf-8"))
    text = report.markdown(results)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    if readme is not None:
        report.update_readme(readme, results)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit status.
    """
    args = build_parser().parse_args(argv)
    if args.render:
        render(args.out, args.readme)
        return 0
    workers = tuple(int(w) for w in str(args.workers).split(",") if w.strip())
    config = (
        QUICK
        if args.quick
        else Config(
            n=args.n,
            scale=args.scale,
            workers=workers,
            whole_workers=args.whole_workers,
            repeats=args.repeats,
            xbd_tiles=args.xbd_tiles,
            partition_size=args.partition_size,
            seed=args.seed,
        )
    )
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else list(argv))
    run(config, args.out, args.workdir, command.strip(), args.readme, echo=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
