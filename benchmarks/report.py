"""From measured builds to flat results (DVC metrics), targets, Markdown and the README block.

Every timed figure is the median of the repeats with ``_min`` and ``_max`` beside it. Keys are
flat, ``<build>.<scope>.<metric>``: ``inprocess.n.stage.dedup.wall_s``,
``inprocess.small.stage.shard.peak_rss_mb``, ``dask2.n.e2e.wall_s_max``,
``inprocess.n.ben.ratio_to_floor``, ``floor.ben_tif_tifffile_s``, ``target.scaling.met``…
Every value is a number, a boolean or a short string, so ``dvc metrics show
benchmarks/results.json`` lists them all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.measure import spread
from benchmarks.stages import Build

TARGET_PAIRS = 11_110_000
"""Pairs in EarthDial-Instruct, the corpus size the projection is for."""

TARGETS = {
    "ben_rate": ("ingest→shard BigEarthNet patches/s/core, net of start-ups", ">=", 100.0),
    "ben_floor": ("ingest→shard per patch, net, x the tifffile floor", "<=", 3.5),
    "ben_rate_wall": ("… per-stage subprocesses as `dvc repro` runs them", ">=", 100.0),
    "ben_floor_wall": ("… per-stage subprocesses, x the tifffile floor", "<=", 3.5),
    "rss_flat": ("peak RSS at N / (N / scale), worst stage", "<=", 1.2),
    "scaling": ("2 Dask workers vs the in-process run (`eoinstruct all`, wall)", ">=", 1.7),
}
"""Issue 19's targets: (what, comparison, threshold)."""

CAPTIONER_THROUGHPUT: dict[str, Any] = {
    "model": "Qwen3-VL-4B (a 4B VLM, the size of InternVL2-4B, EarthDial's base)",
    "engine": "vLLM, one 80 GB GPU",
    "requests_per_s_short": 11.9,
    "requests_per_s_long": 3.8,
    "source": "https://github.com/allenai/olmo-eval/pull/347",
}
"""The published vLLM VLM throughput the captioner projection uses (cited in the JSON)."""

README_START = "<!-- benchmarks:start (written by python -m benchmarks.run --readme) -->"
README_END = "<!-- benchmarks:end -->"


def _r(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def _put(out: dict[str, Any], key: str, values: Sequence[float], digits: int = 4) -> None:
    """Store the median of ``values`` at ``key`` and their min and max beside it."""
    median, low, high = spread(values)
    out[key], out[f"{key}_min"], out[f"{key}_max"] = (
        _r(median, digits),
        _r(low, digits),
        _r(high, digits),
    )


def build_metrics(
    builds: Sequence[Build],
    partitioned: Sequence[str],
    cli_start_s: float,
    floor: Mapping[str, Any] | None,
    cores: int,
    s2_patches: int,
) -> dict[str, Any]:
    """Flat metrics of the repeats of one build: per stage, end to end, BigEarthNet, load.

    ``net_s`` is a stage's wall time less the interpreter and CLI start (``cli_start_s``);
    ``tail_s`` what a partitioned stage does around its partitions (the card and manifest
    for ``shard``, the global decisions of ``dedup``, a Dask cluster's start); ``e2e`` sums
    the partitioned stages (``ingest`` … ``shard``), ``all`` every stage. The BigEarthNet
    figures charge the e2e net time to BigEarthNet by its share of the partition seconds.

    Args:
        builds: The repeats (same stages, same data).
        partitioned: The partitioned stages.
        cli_start_s: Interpreter and CLI start-up, seconds.
        floor: The decode floor (``None``: no ratios).
        cores: Cores the build used (1 in-process, the worker count with Dask).
        s2_patches: BigEarthNet S2 patches (each with its S1 partner) in the data.

    Returns:
        ``{"stage.<name>.<metric>": …, "e2e.<metric>": …, "ben.<metric>": …, …}``.
    """
    out: dict[str, Any] = {"repeats": len(builds)}
    names = [s.stage for s in builds[0].stages]
    floor_s = float(floor["total_s"]) if floor else 0.0
    for i, name in enumerate(names):
        runs = [b.stages[i] for b in builds]
        key = f"stage.{name}"
        nets = [max(r.wall_s - cli_start_s, 1e-3) for r in runs]  # start-up varies with load
        _put(out, f"{key}.wall_s", [r.wall_s for r in runs])
        _put(out, f"{key}.net_s", nets)
        _put(out, f"{key}.peak_rss_mb", [r.peak_rss_mb for r in runs], 1)
        if name in partitioned:
            _put(out, f"{key}.in_stage_s", [r.inner_s for r in runs])
            _put(out, f"{key}.tail_s", [n - r.inner_s for n, r in zip(nets, runs, strict=True)])
        read, kept = runs[0].read, runs[0].kept
        out[f"{key}.items_read"], out[f"{key}.items_kept"] = read, kept
        out[f"{key}.items_dropped"] = max(read - kept, 0) if name in partitioned else 0
        net = max(spread(nets)[0], 1e-3)
        out[f"{key}.items_per_s"] = _r(read / net if net else 0.0, 2)
        out[f"{key}.input_mb"] = _r(runs[0].input_bytes / 1e6)
        out[f"{key}.mb_per_s_per_core"] = _r(runs[0].input_bytes / 1e6 / net / cores, 3)
        if floor_s:
            out[f"{key}.ratio_to_floor"] = _r(net / floor_s, 3)
    idx = [i for i, n in enumerate(names) if n in partitioned]
    for scope, chosen in (("e2e", idx), ("all", list(range(len(names))))):
        _put(out, f"{scope}.wall_s", [sum(b.stages[i].wall_s for i in chosen) for b in builds])
        _put(
            out,
            f"{scope}.net_s",
            [sum(max(b.stages[i].wall_s - cli_start_s, 1e-3) for i in chosen) for b in builds],
        )
        _put(
            out,
            f"{scope}.peak_rss_mb",
            [max(b.stages[i].peak_rss_mb for i in chosen) for b in builds],
            1,
        )
    _put(out, "e2e.in_stage_s", [sum(b.stages[i].inner_s for i in idx) for b in builds])
    _put(out, "e2e.cpu_s", [sum(b.stages[i].cpu_s for i in idx) for b in builds])
    _put(out, "e2e.driver_cpu_s", [sum(b.stages[i].driver_cpu_s for i in idx) for b in builds])
    out["e2e.pairs"] = builds[0].pairs
    out["e2e.units"] = builds[0].units
    out["e2e.units_per_s_per_core"] = _r(builds[0].units / out["e2e.net_s"] / cores, 2)
    if floor_s:
        out["e2e.ratio_to_floor"] = _r(out["e2e.net_s"] / floor_s, 3)
    shares = []
    for b in builds:
        total = sum(b.per_source_s.values())
        shares.append(b.per_source_s.get("bigearthnet_v1", 0.0) / total if total else 0.0)
    share = statistics.median(shares)
    out["ben.share_of_partition_s"] = _r(share)
    if s2_patches and share:
        ms = [
            1000 * sum(max(b.stages[i].wall_s - cli_start_s, 1e-3) for i in idx) * s / s2_patches
            for b, s in zip(builds, shares, strict=True)
        ]
        walls = [
            1000 * sum(b.stages[i].wall_s for i in idx) * s / s2_patches
            for b, s in zip(builds, shares, strict=True)
        ]
        for suffix, values in (("", ms), ("_wall", walls)):
            _put(out, f"ben.ms_per_patch{suffix}", values, 3)
            per_patch = max(out[f"ben.ms_per_patch{suffix}"], 1e-9)
            out[f"ben.patches_per_s_per_core{suffix}"] = _r(1000 / per_patch / cores, 2)
            if floor and floor.get("ben_patch_ms"):
                out[f"ben.ratio_to_floor{suffix}"] = _r(per_patch / float(floor["ben_patch_ms"]), 3)
    _put(out, "load.avg_before", [b.load.load_before for b in builds], 2)
    _put(out, "load.avg_after", [b.load.load_after for b in builds], 2)
    _put(out, "load.others_cpu_share", [b.load.others_cpu_share for b in builds], 3)
    return out


def whole_metrics(runs: Sequence[Any]) -> dict[str, Any]:
    """Flat metrics of the repeats of one ``eoinstruct all`` run (:class:`WholeRun`).

    ``workers_cpu_s`` is the tree's CPU less the driver's (a local cluster's workers and
    nannies); ``driver_share`` the driver's share of the tree's CPU.
    """
    out: dict[str, Any] = {"repeats": len(runs)}
    _put(out, "wall_s", [r.wall_s for r in runs])
    _put(out, "cpu_s", [r.cpu_s for r in runs])
    _put(out, "driver_cpu_s", [r.driver_cpu_s for r in runs])
    _put(out, "workers_cpu_s", [max(r.cpu_s - r.driver_cpu_s, 0.0) for r in runs])
    _put(out, "in_stage_s", [r.in_stage_s for r in runs])
    _put(out, "task_cpu_s", [r.task_cpu_s for r in runs])
    # tasks the driver ran while the cluster started: their CPU is the driver's, not the
    # workers' (older results have no such field)
    _put(out, "driver_task_cpu_s", [getattr(r, "driver_task_cpu_s", 0.0) for r in runs])
    # outside the tasks: the driver's own work (imports, listing, global passes, the card,
    # the reports; with Dask also the scheduler) and, in workers, what is not a task
    _put(out, "outside_tasks_cpu_s", [max(r.cpu_s - r.task_cpu_s, 0.0) for r in runs])
    _put(out, "peak_rss_mb", [r.peak_rss_mb for r in runs], 1)
    out["driver_share"] = _r(out["driver_cpu_s"] / max(out["cpu_s"], 1e-9))
    out["tasks"] = runs[0].tasks
    out["pairs"] = runs[0].pairs
    out["units"] = runs[0].units
    _put(out, "load.avg_before", [r.load.load_before for r in runs], 2)
    _put(out, "load.avg_after", [r.load.load_after for r in runs], 2)
    _put(out, "load.others_cpu_share", [r.load.others_cpu_share for r in runs], 3)
    return out


def halves_metrics(runs: Sequence[Any]) -> dict[str, Any]:
    """Flat metrics of the repeats of the machine's ceiling (:class:`HalvesRun`)."""
    out: dict[str, Any] = {"whole_halves.n.repeats": len(runs)}
    values: dict[str, Any] = {}
    _put(values, "wall_s", [r.wall_s for r in runs])
    _put(values, "cpu_s", [r.cpu_s for r in runs])
    out.update({f"whole_halves.n.{k}": v for k, v in values.items()})
    out["whole_halves.n.units"] = runs[0].units if runs else 0
    return out


def source_metrics(
    builds: Sequence[Build], source: str, units: int, cli_start_s: float, partitioned: Sequence[str]
) -> dict[str, Any]:
    """Per-unit e2e time of one source of a mixed build (``<source>.unit.*``), by its share.

    The build's e2e wall and net times are charged to ``source`` by its share of the
    partition seconds, per unit of it (an xBD tile is a pre/post pair).
    """
    out: dict[str, Any] = {}
    walls, nets, shares = [], [], []
    for b in builds:
        total = sum(b.per_source_s.values())
        share = b.per_source_s.get(source, 0.0) / total if total else 0.0
        chosen = [s for s in b.stages if s.stage in partitioned]
        walls.append(1000 * share * sum(s.wall_s for s in chosen) / max(units, 1))
        nets.append(1000 * share * sum(max(s.wall_s - cli_start_s, 1e-3) for s in chosen)
                    / max(units, 1))  # fmt: skip
        shares.append(share)
    out[f"{source}.share_of_partition_s"] = _r(statistics.median(shares))
    _put(out, f"{source}.ms_per_unit", nets, 3)
    _put(out, f"{source}.ms_per_unit_wall", walls, 3)
    return out


def targets(results: Mapping[str, Any], stage_names: Sequence[str]) -> dict[str, Any]:
    """The targets' values and verdicts (``target.<name>.value`` / ``.met``) from the results."""
    r = results
    out: dict[str, Any] = {}
    values: dict[str, float] = {}
    if "inprocess.n.ben.patches_per_s_per_core" in r:
        values["ben_rate"] = r["inprocess.n.ben.patches_per_s_per_core"]
    if "inprocess.n.ben.ratio_to_floor" in r:
        values["ben_floor"] = r["inprocess.n.ben.ratio_to_floor"]
    if "inprocess.n.ben.patches_per_s_per_core_wall" in r:
        values["ben_rate_wall"] = r["inprocess.n.ben.patches_per_s_per_core_wall"]
    if "inprocess.n.ben.ratio_to_floor_wall" in r:
        values["ben_floor_wall"] = r["inprocess.n.ben.ratio_to_floor_wall"]
    if "inprocess.small.e2e.wall_s" in r:
        ratios = {
            s: r[f"inprocess.n.stage.{s}.peak_rss_mb"] / r[f"inprocess.small.stage.{s}.peak_rss_mb"]
            for s in stage_names
            if r.get(f"inprocess.small.stage.{s}.peak_rss_mb")
        }
        for s, v in ratios.items():
            out[f"rss_ratio.{s}"] = _r(v)
        worst = max(ratios, key=lambda s: ratios[s])
        values["rss_flat"] = ratios[worst]
        out["target.rss_flat.stage"] = worst
    whole = [k[: -len(".n.wall_s")] for k in r if k.startswith("whole_dask") and
             k.endswith(".n.wall_s")]  # fmt: skip
    if whole and "whole_inprocess.n.wall_s" in r:
        base = r["whole_inprocess.n.wall_s"]
        for label in whole:
            out[f"scaling.{label}_vs_inprocess"] = _r(base / r[f"{label}.n.wall_s"])
            out[f"scaling.{label}_cpu_vs_inprocess"] = _r(
                r[f"{label}.n.cpu_s"] / max(r["whole_inprocess.n.cpu_s"], 1e-9)
            )
            # the same tasks' CPU in a worker against in-process (the in-worker slowdown)
            out[f"scaling.{label}_task_cpu_vs_inprocess"] = _r(
                r[f"{label}.n.task_cpu_s"] / max(r["whole_inprocess.n.task_cpu_s"], 1e-9)
            )
            # workers' CPU outside the tasks, per task CPU (target < 5 %)
            workers, tasks = r[f"{label}.n.workers_cpu_s"], r[f"{label}.n.task_cpu_s"]
            in_workers = tasks - r.get(f"{label}.n.driver_task_cpu_s", 0.0)
            out[f"scaling.{label}_task_overhead"] = _r(
                max(workers - in_workers, 0.0) / max(in_workers, 1e-9)
            )
        if "whole_dask2.n.wall_s" in r:
            values["scaling"] = base / r["whole_dask2.n.wall_s"]
            out["target.scaling.basis"] = "eoinstruct all, one process"
        if "whole_halves.n.wall_s" in r:
            # the machine's ceiling for two processes, and how much of it Dask reaches
            ceiling = base / r["whole_halves.n.wall_s"]
            out["scaling.ceiling_two_halves"] = _r(ceiling)
            for label in whole:
                out[f"scaling.{label}_of_ceiling"] = _r(
                    base / r[f"{label}.n.wall_s"] / max(ceiling, 1e-9)
                )
    if "dask2.n.e2e.wall_s" in r:
        out["scaling.dask2_per_stage_vs_inprocess"] = _r(
            r["inprocess.n.e2e.wall_s"] / r["dask2.n.e2e.wall_s"]
        )
        if "scaling" not in values:
            values["scaling"] = r["inprocess.n.e2e.wall_s"] / r["dask2.n.e2e.wall_s"]
            out["target.scaling.basis"] = "per-stage subprocesses, e2e"
        out["scaling.dask2_in_stage_vs_inprocess"] = _r(
            r["inprocess.n.e2e.in_stage_s"] / max(r["dask2.n.e2e.in_stage_s"], 1e-9)
        )
    if "dask1.n.e2e.wall_s" in r:
        out["scaling.dask1_vs_inprocess"] = _r(
            r["inprocess.n.e2e.wall_s"] / r["dask1.n.e2e.wall_s"]
        )
        if "dask2.n.e2e.wall_s" in r:
            out["scaling.dask2_vs_dask1"] = _r(r["dask1.n.e2e.wall_s"] / r["dask2.n.e2e.wall_s"])
    for name, value in values.items():
        _, op, threshold = TARGETS[name]
        out[f"target.{name}.value"] = _r(value)
        out[f"target.{name}.threshold"] = threshold
        out[f"target.{name}.met"] = value >= threshold if op == ">=" else value <= threshold
    return out


def projection(results: Mapping[str, Any], basis: str) -> dict[str, Any]:
    """Project the in-process build ``basis`` (``n`` or ``small``) to :data:`TARGET_PAIRS`.

    The e2e net core-seconds per pair of that build hold at scale (its source mix, this
    machine's cores); one caption per source sample at the published vLLM throughput.
    """
    r = results
    pairs = max(int(r[f"inprocess.{basis}.e2e.pairs"]), 1)
    per_pair = r[f"inprocess.{basis}.e2e.net_s"] / pairs
    core_hours = TARGET_PAIRS * per_pair / 3600
    samples = TARGET_PAIRS / (pairs / max(int(r[f"inprocess.{basis}.e2e.units"]), 1))
    out: dict[str, Any] = {
        "projection.basis": basis,
        "projection.target_pairs": TARGET_PAIRS,
        "projection.core_s_per_pair": _r(per_pair, 5),
        "projection.core_hours": _r(core_hours, 1),
        "projection.cores_for_24h": math.ceil(core_hours / 24),
        "projection.source_units_needed": round(samples),
        "projection.captioner.source": CAPTIONER_THROUGHPUT["source"],
    }
    for kind in ("short", "long"):
        rate = float(CAPTIONER_THROUGHPUT[f"requests_per_s_{kind}"])
        out[f"projection.captioner.gpu_hours_{kind}"] = _r(samples / rate / 3600, 1)
    return out


def _f(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _mm(r: Mapping[str, Any], key: str) -> str:
    """``median (min–max)`` of a figure, or ``-``."""
    if key not in r:
        return "-"
    return f"{_f(r[key])} ({_f(r[key + '_min'])}–{_f(r[key + '_max'])})"


def load_sentence(r: Mapping[str, Any]) -> str:
    """One sentence on the machine and its load during the run."""
    # A Dask build's workers run in the cluster started for the run, outside the probe's
    # process tree: they count as "others" there, so only in-process builds tell the load.
    shares = [
        r[k] for k in r if k.startswith("inprocess") and k.endswith(".load.others_cpu_share_max")
    ]
    loads = [r[k] for k in r if k.endswith(".load.avg_before_max")]
    quiet = max(shares, default=0.0) < 0.1
    return (
        f"Measured on {r['machine.cpus']} CPUs ({r['machine.platform']}); load average "
        f"{r['machine.load_avg_start']:.2f} at the start, "
        f"{r.get('machine.load_avg_end', 0):.2f} at the "
        f"end, up to {max(loads, default=0.0):.2f} before a build; other processes used up to "
        f"{100 * max(shares, default=0.0):.0f} % of the machine's CPU time during an "
        "in-process build (in a Dask build the cluster's workers count as others). "
        + (f"Compiled modules: {r['machine.bytecode']}. " if r.get("machine.bytecode") else "")
        + (
            "The machine was quiet."
            if quiet
            else "**The machine was shared with other jobs: these timings are not final.**"
        )
    )


def markdown(r: Mapping[str, Any]) -> str:
    """Render the results as the Markdown summary ``results.md``."""
    scale = r["config.scale"]
    names = str(r["config.stages"]).split(",")
    lines = [
        load_sentence(r),
        "",
        f"Data: N = {r['config.n']} BigEarthNet S2 patches + their S1 partners = "
        f"{r['data.n.units']} source units ({r['data.n.input_mb']:.0f} MB), BigEarthNet only "
        "(xBD tiles have a build of their own, below); "
        f"{r['data.n.cogs']} COG chips for the floor table; every unit has its own "
        f"pixels (dedup dropped {r.get('inprocess.n.stage.dedup.items_dropped', '-')} at N). "
        f"Partitions of {r['config.partition_size']} units. "
        f"{r['config.repeats']} repeats of each build: medians, (min–max). Command: "
        f"`{r['config.command']}`.",
        "",
        f"**Headline (BigEarthNet, ingest → shard, in-process)**: "
        f"{_f(r.get('inprocess.n.ben.patches_per_s_per_core_wall', '-'))} patches/s/core, "
        f"{_f(r.get('inprocess.n.ben.ratio_to_floor_wall', '-'))}x the tifffile floor with one "
        "subprocess per stage as `dvc repro` runs them (start-ups included); "
        f"{_f(r.get('inprocess.n.ben.patches_per_s_per_core', '-'))} patches/s/core, "
        f"{_f(r.get('inprocess.n.ben.ratio_to_floor', '-'))}x the floor net of the "
        f"{_f(r['machine.cli_start_s'])} s start-up of each stage.",
        "",
        f"| stage | wall s | net s | in-stage s | read → kept | items/s | MB/s/core "
        f"| peak RSS MB N/{scale} | N | x floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in names:
        k = f"inprocess.n.stage.{s}"
        lines.append(
            f"| {s} | {_mm(r, k + '.wall_s')} | {_f(r[k + '.net_s'])} | "
            f"{_f(r.get(k + '.in_stage_s', '-'))} | {r[k + '.items_read']} → "
            f"{r[k + '.items_kept']} | {_f(r[k + '.items_per_s'])} | "
            f"{_f(r[k + '.mb_per_s_per_core'])} | "
            f"{_f(r.get(f'inprocess.small.stage.{s}.peak_rss_mb', '-'))} | "
            f"{_mm(r, k + '.peak_rss_mb')} | "
            f"{_f(r.get(k + '.ratio_to_floor', '-'))} |"
        )
    for scope, text in (("e2e", "**ingest → shard**"), ("all", "**every stage**")):
        k = f"inprocess.n.{scope}"
        lines.append(
            f"| {text} | {_mm(r, k + '.wall_s')} | {_f(r[k + '.net_s'])} | "
            f"{_f(r.get(k + '.in_stage_s', '-'))} | {r['inprocess.n.e2e.pairs']} pairs | | | "
            f"{_f(r.get(f'inprocess.small.{scope}.peak_rss_mb', '-'))} | "
            f"{_mm(r, k + '.peak_rss_mb')} | "
            f"{_f(r.get(k + '.ratio_to_floor', '-'))} |"
        )
    lines += [
        "",
        "net s = wall less the interpreter and CLI start "
        f"({_f(r['machine.cli_start_s'])} s per stage); in-stage = the partitions' own time; "
        "shard's net time includes writing the corpus card and the manifest "
        f"({_f(r.get('inprocess.n.stage.shard.tail_s', '-'))} s after the partitions).",
        "",
        "Decode floor on the same files (same run, page cache warm):",
        "",
        "| reader | s (min–max) | ms per BigEarthNet patch (14 GeoTIFFs) |",
        "|---|---|---|",
    ]
    for reader in ("tifffile", "numpy_strips", "rasterio"):
        key = f"floor.ben_tif_{reader}_s"
        if key in r:
            lines.append(
                f"| BigEarthNet GeoTIFFs, {reader} | {_mm(r, key)} | "
                f"{_f(1000 * r[key] / max(r['config.n'], 1))} |"
            )
    lines += [
        f"| xBD PNGs of the xBD build, Pillow decode | {_mm(r, 'floor.xbd_png_decode_s')} | |",
        f"| label JSONs | {_mm(r, 'floor.json_s')} | |",
        f"| pyarrow write of all bytes | {_mm(r, 'floor.parquet_write_s')} | |",
        f"| COG chips, rasterio window (not in the floor) | "
        f"{_mm(r, 'floor.cog_window_read_s')} | |",
        f"| **floor** ({r['floor.ben_tif_reader']} + PNG + JSON + write) | "
        f"{_f(r['floor.total_s'])} | {_f(r['floor.ben_patch_ms'])} |",
        "",
        "| target | measured | threshold | met |",
        "|---|---|---|---|",
    ]
    for name, (text, op, threshold) in TARGETS.items():
        if f"target.{name}.value" in r:
            extra = f" ({r['target.rss_flat.stage']})" if name == "rss_flat" else ""
            lines.append(
                f"| {text}{extra} | {_f(r[f'target.{name}.value'])} | {op} {_f(threshold)} | "
                f"{_f(r[f'target.{name}.met'])} |"
            )
    lines += [
        "",
        "Scaling, `eoinstruct all` in ONE process per executor (one local cluster for every "
        "stage, as a user running a cluster gets it: `eoinstruct all --skip sample_data --skip "
        "report --skip build_report`, i.e. fingerprint + ingest → shard, one start-up and the "
        "cluster's start included), on "
        f"{r.get('data.whole.units', r.get('data.n.units', '-'))} source units "
        f"({r.get('data.whole.s2_patches', r.get('data.n.s2_patches', '-'))} BigEarthNet "
        "patches and their S1 partners, their own pixels) in partitions of "
        f"{r.get('config.whole_partition_size', r.get('config.partition_size', '-'))} units; "
        "the three runs of each repeat back to back. "
        "CPU = the process tree's (driver + the cluster's workers); driver = the command's "
        "own process. The last row is the machine's own ceiling for two processes: two "
        "independent in-process runs, each on half as many units (their own pixels), started "
        "together (nothing shared but the machine):",
        "",
        "| run | wall s (min–max) | x in-process | CPU s | driver CPU s | workers CPU s "
        "| tasks' CPU s | in-stage s | tasks | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    if "whole_inprocess.n.wall_s" in r:
        whole_base = r["whole_inprocess.n.wall_s"]
        dask = {k.split(".")[0] for k in r if k.startswith("whole_dask") and k.endswith(".wall_s")}
        labels = ["whole_inprocess", *sorted(dask)]
        for label in labels:
            k = f"{label}.n"
            text = "in-process" if label == "whole_inprocess" else label[len("whole_") :]
            lines.append(
                f"| {text} | {_mm(r, k + '.wall_s')} | "
                f"{_f(round(whole_base / r[k + '.wall_s'], 3))} | {_f(r[k + '.cpu_s'])} | "
                f"{_f(r[k + '.driver_cpu_s'])} | {_f(r[k + '.workers_cpu_s'])} | "
                f"{_f(r[k + '.task_cpu_s'])} | {_f(r[k + '.in_stage_s'])} | {r[k + '.tasks']} | "
                f"{_f(r[k + '.peak_rss_mb'])} |"
            )
        if "whole_halves.n.wall_s" in r:
            k = "whole_halves.n"
            lines.append(
                f"| two halves at once | {_mm(r, k + '.wall_s')} | "
                f"{_f(round(whole_base / r[k + '.wall_s'], 3))} | {_f(r[k + '.cpu_s'])} | "
                "- | - | - | - | - | - |"
            )
        for label in labels[1:]:
            if "scaling.ceiling_two_halves" in r:
                lines.append(
                    f"\n{label[len('whole_') :]} reaches "
                    f"{_f(r.get(f'scaling.{label}_of_ceiling', '-'))} of the machine's ceiling "
                    f"({_f(r['scaling.ceiling_two_halves'])}x)."
                )
            lines.append(
                f"\n{label[len('whole_') :]}: the tasks' CPU is "
                f"{_f(r.get(f'scaling.{label}_task_cpu_vs_inprocess', '-'))}x the in-process "
                "tasks' (the in-worker slowdown); the workers spent "
                f"{_f(100 * r.get(f'scaling.{label}_task_overhead', 0.0))} % of the tasks' CPU "
                "outside them (event loop, heartbeats, comms, and pyarrow's pool threads doing "
                "the tasks' own reads and writes, which the in-process run also spends outside "
                "its tasks; target < 5 %); in all the run used "
                f"{_f(r.get(f'scaling.{label}_cpu_vs_inprocess', '-'))}x the in-process run's "
                "CPU; the "
                f"driver used {_f(r[f'{label}.n.driver_cpu_s'])} CPU-s against "
                f"{_f(r['whole_inprocess.n.outside_tasks_cpu_s'])} outside the tasks in-process "
                "(work that does not scale: listing, global passes, card, reports)."
            )
    lines += [
        "",
        "Scaling per stage subprocess (same data; ingest → shard; a Dask build connects every "
        "stage to one cluster started for the run, whose workers are outside the stages' "
        "process trees: CPU s is the stages' own):",
        "",
        "| run | wall s (min–max) | in-stage s | x in-process | CPU s | peak RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    base = r["inprocess.n.e2e.wall_s"]
    for label, text in (
        ("inprocess", "in-process"),
        ("dask1", "1 Dask worker"),
        ("dask2", "2 Dask workers"),
    ):
        k = f"{label}.n.e2e"
        if f"{k}.wall_s" in r:
            lines.append(
                f"| {text} | {_mm(r, k + '.wall_s')} | {_f(r[k + '.in_stage_s'])} | "
                f"{_f(round(base / r[k + '.wall_s'], 3))} | {_f(r.get(k + '.cpu_s', '-'))} | "
                f"{_f(r[k + '.peak_rss_mb'])} |"
            )
    if "xbd.n.e2e.wall_s" in r:
        lines += [
            "",
            f"xBD, a build of its own ({r['data.xbd.xbd_tiles']} 1024x1024 pre/post tiles + "
            f"{r['data.xbd.s2_patches']} BigEarthNet patches, in-process): ingest → shard "
            f"{_mm(r, 'xbd.n.e2e.wall_s')} s wall; per xBD tile "
            f"{_f(r.get('xbd.ms_per_unit_wall', '-'))} ms with per-stage start-ups, "
            f"{_f(r.get('xbd.ms_per_unit', '-'))} ms net (charged by xBD's "
            f"{_f(r.get('xbd.share_of_partition_s', '-'))} share of the partition seconds).",
        ]
    lines += ["", "Load around each build (medians of the repeats; max in brackets):", ""]
    lines += ["| build | load before | load after | others' CPU share |", "|---|---|---|---|"]
    builds = ["inprocess.n", "inprocess.small", "xbd.n"]
    builds += sorted({".".join(k.split(".")[:2]) for k in r if k.startswith(("dask", "whole_"))
                      and k.endswith(".load.avg_before")})  # fmt: skip
    for build in builds:
        k = f"{build}.load"
        if f"{k}.avg_before" in r:
            lines.append(
                f"| {build} | {_f(r[k + '.avg_before'])} ({_f(r[k + '.avg_before_max'])}) | "
                f"{_f(r[k + '.avg_after'])} ({_f(r[k + '.avg_after_max'])}) | "
                f"{_f(r[k + '.others_cpu_share'])} ({_f(r[k + '.others_cpu_share_max'])}) |"
            )
    if r.get("config.completed", "all") != "all":
        lines += ["", f"**Partial results: the run stopped after `{r['config.completed']}`.**"]
    if "projection.core_hours" not in r:
        return "\n".join(lines) + "\n"
    lines += [
        "",
        f"Projection to {r['projection.target_pairs']:,} pairs ({r['projection.basis']} build, "
        f"net ingest → shard time): {_f(r['projection.core_s_per_pair'])} core-s per pair, "
        f"{_f(r['projection.core_hours'])} core-hours, {r['projection.cores_for_24h']} "
        f"core{'' if r['projection.cores_for_24h'] == 1 else 's'} for 24 h; "
        "captioner, one caption per source unit at "
        f"{CAPTIONER_THROUGHPUT['requests_per_s_short']}–"
        f"{CAPTIONER_THROUGHPUT['requests_per_s_long']} requests/s "
        f"({CAPTIONER_THROUGHPUT['source']}): {_f(r['projection.captioner.gpu_hours_short'])}–"
        f"{_f(r['projection.captioner.gpu_hours_long'])} GPU-hours.",
    ]
    return "\n".join(lines) + "\n"


def readme_block(r: Mapping[str, Any]) -> str:
    """The few headline figures the README quotes (between :data:`README_START` and ``END``)."""
    figures = (
        (
            "ingest → shard, BigEarthNet patches/s/core, net of start-ups",
            "inprocess.n.ben.patches_per_s_per_core",
        ),
        ("… x the tifffile decode floor", "inprocess.n.ben.ratio_to_floor"),
        (
            "… per-stage subprocesses (`dvc repro`), patches/s/core",
            "inprocess.n.ben.patches_per_s_per_core_wall",
        ),
        ("… per-stage subprocesses, x the floor", "inprocess.n.ben.ratio_to_floor_wall"),
        (f"peak RSS N / (N/{r['config.scale']}), worst stage", "target.rss_flat.value"),
        ("2 Dask workers / in-process (`eoinstruct all`)", "target.scaling.value"),
        ("dedup dropped (synthetic units are distinct)", "inprocess.n.stage.dedup.items_dropped"),
    )
    rows = [f"| {text} | {_f(r.get(key, '-'))} |" for text, key in figures]
    return "\n".join(
        [
            README_START,
            load_sentence(r),
            f"N = {r['config.n']}, {r['config.repeats']} repeats (medians); every figure in "
            "[benchmarks/results.md](benchmarks/results.md).",
            "",
            "| figure | measured |",
            "|---|---|",
            *rows,
            README_END,
        ]
    )


def update_readme(path: Path, r: Mapping[str, Any]) -> bool:
    """Replace the block between the markers in ``path`` with :func:`readme_block`.

    Returns:
        Whether the file held the markers (and was rewritten).
    """
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    head, rest = text.split(README_START, 1)
    tail = rest.split(README_END, 1)[1]
    path.write_text(head + readme_block(r) + tail, encoding="utf-8")
    return True
