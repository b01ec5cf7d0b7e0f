"""Dask overhead on synthetic BigEarthNet: per-task cost, in-worker vs in-process, scaling.

Run from the repository root (``PYTHONPATH=.``)::

    python -m benchmarks.dask_overhead --n 120 --partition-size 20 --repeats 3 \\
        --out benchmarks/dask_overhead.json

It writes ``n`` synthetic BigEarthNet S2+S1 patches (:mod:`benchmarks.synthetic`), then:

1. **Per-task overhead**: a no-op step over ``tasks`` partitions on a warm one-worker cluster,
   the step carrying the stage's parameters (as a real step does), shipped once per stage
   (scattered, what :class:`~eoinstruct.pipeline.run.backends.DaskExecutor` does) and, for
   comparison, inside every task (what it did before).
2. **The score stage** (the heaviest per partition: it decodes every band; ingest and enrich
   run once before, in-process), ``repeats`` times each in-process, on one warm Dask worker
   (ours, and one with Dask's default worker environment) and on two, every repeat into a
   fresh output folder: CPU seconds (user and system, of the worker processes or of the
   in-process run: what the machine's load does not change), wall time, the seconds each
   partition took where it ran (its state record), and the task overhead
   (wall − work / workers) as a share of the wall time.

Clusters are started before the timed runs (as ``eoinstruct cluster start`` does for a run)
and their first, cold partitions are reported apart. The machine's load average is recorded
before and after: on a shared machine the figures are indicative only.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil
import yaml

from benchmarks.synthetic import generate
from eoinstruct.pipeline.config import Params, load_params
from eoinstruct.pipeline.run.backends import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    use_executor,
)

REPO = Path(__file__).resolve().parents[1]
SETUP = ("ingest", "enrich")
"""Stages run once, in-process, before the timed one."""
STAGE = "score"
"""The timed stage: it decodes every band of every patch (the heaviest per partition)."""


def write_params(root: Path, bigearthnet_root: Path, partition_size: int) -> Path:
    """A params.yaml reading only the synthetic BigEarthNet, every path inside ``root``."""
    params = yaml.safe_load((REPO / "params.yaml").read_text(encoding="utf-8"))
    params["paths"] = {k: str(root / k) for k in ("sample", "work", "corpus", "metrics")}
    for name, section in params["sources"].items():
        section["enabled"] = name == "bigearthnet_v1"
        section["root"] = str(bigearthnet_root if name == "bigearthnet_v1" else root / name)
    params["sources"]["bigearthnet_v1"]["sensors"] = ["s2", "s1"]
    params["osm"]["enabled"] = False
    params["ingest"]["partition_size"] = partition_size
    root.mkdir(parents=True, exist_ok=True)
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return path


def _noop(params: Params, item: int) -> int:
    return item + len(params.raw)


def task_overhead(executor: DaskExecutor, params: Params, tasks: int) -> dict[str, float]:
    """Seconds per task of a no-op step: shipped once (scattered) vs inside every task."""
    step = functools.partial(_noop, params)
    size = len(__import__("cloudpickle").dumps(step))
    out: dict[str, float] = {"step_pickle_bytes": float(size)}
    list(executor.map_unordered(step, range(4)))  # warm
    client = executor.client
    scattered, shipped = [], []
    for _ in range(3):  # interleaved, medians
        started = time.perf_counter()
        assert len(list(executor.map_unordered(step, range(tasks)))) == tasks
        scattered.append((time.perf_counter() - started) / tasks * 1000)
        started = time.perf_counter()
        client.gather(client.map(step, range(tasks), pure=False))
        shipped.append((time.perf_counter() - started) / tasks * 1000)
    out["scattered_ms_per_task"] = round(_median(scattered), 3)
    out["per_task_ms_per_task"] = round(_median(shipped), 3)
    return out


def run_stage_once(params: Params, executor: Executor) -> dict[str, Any]:
    """Run the stage into a fresh work folder; wall time and per-partition seconds."""
    from eoinstruct.pipeline.stages import stage

    shutil.rmtree(params.work_dir(STAGE), ignore_errors=True)
    shutil.rmtree(params.state_dir(STAGE), ignore_errors=True)
    with use_executor(executor):  # the stage runs on this executor (as in `all`)
        cpu = cpu_seconds(executor)
        started = time.perf_counter()
        stage(STAGE).runner()(params, progress=False)
        wall = time.perf_counter() - started
        after = cpu_seconds(executor)
    seconds = [
        float(json.loads(p.read_text())["seconds"])
        for p in sorted(params.state_dir(STAGE).glob("*.json"))
        if not p.name.startswith("_")
    ]
    return {
        "wall_s": wall,
        "partition_s": seconds,
        **{key: after[key] - cpu[key] for key in cpu},
    }


def cpu_seconds(executor: Executor) -> dict[str, float]:
    """CPU seconds (user, system) of this process (client and scheduler, or the whole
    in-process run) and of the executor's worker processes: independent of what else the
    machine runs, unlike wall times."""
    own = psutil.Process().cpu_times()
    user = system = 0.0
    if isinstance(executor, DaskExecutor):
        for times in executor.client.run(os.times).values():
            user, system = user + times[0], system + times[1]
    return {
        "cpu_s": own.user + own.system,
        "own_user_s": own.user,
        "own_sys_s": own.system,
        "worker_user_s": user,
        "worker_sys_s": system,
    }


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def summarize(label: str, workers: int, cold: dict[str, Any], runs: list[dict[str, Any]]) -> dict:
    """Medians over the warm runs, and the cold (first) run apart."""
    walls = [r["wall_s"] for r in runs]
    work = [sum(r["partition_s"]) for r in runs]
    overhead = [max(0.0, w - s / workers) / w for w, s in zip(walls, work, strict=True)]
    partition = [s for r in runs for s in r["partition_s"]]
    dask = label != "inprocess"
    work_cpu = [r["worker_user_s"] + r["worker_sys_s"] if dask else r["cpu_s"] for r in runs]
    client_cpu = [r["cpu_s"] if dask else 0.0 for r in runs]
    return {
        "partitions": len(cold["partition_s"]),
        "work_cpu_s_median": round(_median(work_cpu), 3),
        "work_user_cpu_s_median": round(
            _median([r["worker_user_s" if dask else "own_user_s"] for r in runs]), 3
        ),
        "work_sys_cpu_s_median": round(
            _median([r["worker_sys_s" if dask else "own_sys_s"] for r in runs]), 3
        ),
        "client_cpu_s_median": round(_median(client_cpu), 3),
        "label": label,
        "workers": workers,
        "wall_s": [round(w, 3) for w in walls],
        "wall_s_median": round(_median(walls), 3),
        "partition_s_median": round(_median(partition), 4),
        "work_s_median": round(_median(work), 3),
        "overhead_share_median": round(_median(overhead), 4),
        "cold_run_wall_s": round(cold["wall_s"], 3),
        "cold_partition_s_median": round(_median(cold["partition_s"]), 4),
        "cold_partition_s_max": round(max(cold["partition_s"], default=0.0), 4),
    }


def measure(
    params: Params, executors: dict[str, tuple[Executor, int]], repeats: int
) -> dict[str, dict[str, Any]]:
    """A cold run on each executor, then ``repeats`` rounds over all of them, interleaved (a
    change of the machine's load hits every executor alike)."""
    cold = {label: run_stage_once(params, ex) for label, (ex, _) in executors.items()}
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in executors}
    for _ in range(repeats):
        for label, (ex, _) in executors.items():
            runs[label].append(run_stage_once(params, ex))
    out = {}
    for label, (_, workers) in executors.items():
        out[label] = summarize(label, workers, cold[label], runs[label])
        print(json.dumps(out[label]), flush=True)
    return out


def run(n: int, partition_size: int, repeats: int, tasks: int, scratch: Path) -> dict[str, Any]:
    """Every measurement; returns the results document."""
    load_before = os.getloadavg()
    data = generate(scratch / "data", n, xbd_ratio=0.0, cogs=0)
    params = load_params(write_params(scratch / "build", data.bigearthnet_root, partition_size))
    from eoinstruct.pipeline.stages import stage

    for name in SETUP:
        stage(name).runner()(params, progress=False)
    results: dict[str, Any] = {
        "n_patches": n,
        "partition_size": partition_size,
        "repeats": repeats,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    one = DaskExecutor(workers=1)
    try:
        results["task_overhead"] = task_overhead(one, params, tasks)
    finally:
        one.close()
    print(json.dumps(results["task_overhead"]), flush=True)
    from distributed import LocalCluster

    # a plain LocalCluster (Dask's own worker environment), beside ours
    # (pipeline.run.cluster.local_cluster)
    plain = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    executors: dict[str, tuple[Executor, int]] = {
        "inprocess": (InProcessExecutor(), 1),
        "dask1": (DaskExecutor(workers=1), 1),
        "dask1_dask_env": (DaskExecutor(scheduler=plain.scheduler_address), 1),
        "dask2": (DaskExecutor(workers=2), 2),
    }
    try:
        by = measure(params, executors, repeats)
    finally:
        for ex, _ in executors.values():
            ex.close()
        plain.close()
    results["builds"] = by
    base = by["inprocess"]
    results["in_worker_vs_in_process_per_partition"] = round(
        by["dask1"]["partition_s_median"] / base["partition_s_median"], 3
    )
    for label in (
        "dask1",
        "dask1_dask_env",
        "dask2",
    ):  # CPU seconds: what the machine's load does not change
        results[f"{label}_cluster_cpu_vs_in_process_cpu"] = round(
            by[label]["work_cpu_s_median"] / base["work_cpu_s_median"], 3
        )
    results["speedup_dask2_vs_inprocess"] = round(
        base["wall_s_median"] / by["dask2"]["wall_s_median"], 3
    )
    results["speedup_dask2_vs_dask1"] = round(
        by["dask1"]["wall_s_median"] / by["dask2"]["wall_s_median"], 3
    )
    results["load_average_before"] = [round(x, 2) for x in load_before]
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="synthetic S2+S1 patches")
    parser.add_argument("--partition-size", type=int, default=25)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200, help="no-op tasks for the overhead")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dask-bench-") as scratch:
        results = run(args.n, args.partition_size, args.repeats, args.tasks, Path(scratch))
    text = json.dumps(results, indent=1, sort_keys=True) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
