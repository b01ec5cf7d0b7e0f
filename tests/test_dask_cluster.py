"""One Dask cluster per run: start / connect / stop, stale state files, identical outputs."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_helpers import make_params, tree_digest

from benchmarks.stages import driver_task_cpu
from eoinstruct.cli import main
from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.run.backends import (
    DaskExecutor,
    InProcessExecutor,
    enclosing_executor,
    executor_for,
    make_executor,
    shared_executor,
    use_executor,
)
from eoinstruct.pipeline.run.cluster import (
    ClusterState,
    pid_alive,
    read_state,
    running_cluster,
    stop_cluster,
)
from eoinstruct.pipeline.run.fingerprint import code_fingerprint
from eoinstruct.pipeline.run.partitions import Partition, run_partitions
from eoinstruct.pipeline.run.runner import cluster_state_file, stage_executor

pytest.importorskip("distributed")


def make_step():
    """A step whose output depends on its items only (a closure: the workers of a background
    cluster cannot import this test module, so it travels by value)."""

    def step(partition: Partition, outputs) -> StageStats:
        outputs.path("out", ".txt").write_text("|".join(partition.items) * 1000)
        return StageStats(read=len(partition.items), kept=len(partition.items))

    return step


step = make_step()


PARTS = [Partition(name=f"p{i:02d}", source="s", items=(str(i), "x" * i)) for i in range(12)]


def outputs_digest(stage_dir: Path) -> dict[str, str]:
    return tree_digest(stage_dir)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_stage_connects_to_the_run_cluster_which_outlives_it(tmp_path: Path, capsys) -> None:
    params_path = make_params(tmp_path)
    argv = ["--params", str(params_path), "--no-progress", "--executor", "local"]
    params = load_params(params_path).with_overrides({"executor.kind": "local"})
    state_file = cluster_state_file(params)
    assert main([*argv, "--workers", "1", "cluster", "start"]) == 0
    try:
        state = read_state(state_file)
        assert state is not None and pid_alive(state.pid)
        assert state.address.startswith("tcp://") and state.workers == 1
        assert state.code == code_fingerprint()
        assert main([*argv, "cluster", "status"]) == 0
        assert state.address in capsys.readouterr().out
        # a second start finds the live cluster instead of starting another
        assert main([*argv, "cluster", "start"]) == 0
        assert read_state(state_file) == state
        for run in ("one", "two"):  # two stage runs, one cluster
            with stage_executor(params) as executor:
                assert executor.name == f"local(1 workers, run cluster pid {state.pid})"
                run_partitions("st", tmp_path / run, PARTS, step, {}, executor=executor)
            assert running_cluster(state_file) == state  # closing the stage left it running
        run_partitions("st", tmp_path / "inprocess", PARTS, step, {})
        digest = outputs_digest(tmp_path / "inprocess")
        assert len(digest) == 2 * len(PARTS) + 1  # outputs, records, _stats.json
        assert outputs_digest(tmp_path / "one") == digest
    finally:
        assert main([*argv, "cluster", "stop"]) == 0
    assert not state_file.exists() and not pid_alive(state.pid)
    assert main([*argv, "cluster", "status"]) == 1
    assert main([*argv, "cluster", "stop"]) == 0  # nothing to stop is no error


def test_a_stale_state_file_is_ignored_with_a_warning(tmp_path: Path, caplog) -> None:
    state_file = tmp_path / "_state" / "cluster.json"
    state_file.parent.mkdir()
    stale = ClusterState(
        address="tcp://127.0.0.1:9", pid=dead_pid(), workers=2, started=0.0, code=code_fingerprint()
    )
    state_file.write_text(stale.to_json())
    caplog.set_level(logging.INFO)
    assert running_cluster(state_file) is None
    assert "not running (stale): ignored" in caplog.text
    caplog.clear()
    executor = make_executor({"kind": "local", "workers": 1}, state_file)
    try:
        assert executor.name == "local(1 workers)"  # its own cluster, and it says so
        assert "stale" in caplog.text and "starting a local one" in caplog.text
        run_partitions("st", tmp_path / "st", PARTS[:3], step, {}, executor=executor)
    finally:
        executor.close()
    assert stop_cluster(state_file) is None and not state_file.exists()


def test_a_cluster_running_other_code_is_not_used(tmp_path: Path, caplog) -> None:
    state_file = tmp_path / "cluster.json"
    # a live process (this one) that recorded another code fingerprint
    other = ClusterState(address="tcp://127.0.0.1:9", pid=os.getpid(), workers=1, started=0.0)
    state_file.write_text(other.to_json())
    assert running_cluster(state_file) == other
    with pytest.MonkeyPatch.context() as mp:
        from eoinstruct.pipeline.run import backends

        mp.setattr(backends, "DaskExecutor", lambda **kw: pytest.fail("must not connect"))
        assert backends._run_cluster(state_file) is None
    assert "runs other code" in caplog.text


def test_a_whole_run_shares_one_executor(monkeypatch) -> None:
    from eoinstruct.pipeline.run import backends

    made: list[Counting] = []

    class Counting(InProcessExecutor):
        closed = 0

        def close(self) -> None:
            self.closed += 1

    def make(settings, state_file=None):
        made.append(Counting())
        return made[-1]

    monkeypatch.setattr(backends, "make_executor", make)
    with shared_executor({"kind": "local"}) as run:
        for _ in range(3):  # three stages
            with executor_for({"kind": "local"}) as executor:
                assert executor is run
        assert len(made) == 1 and run.closed == 0
    assert run.closed == 1
    with executor_for({"kind": "local"}) as alone:  # outside a run: a new one per stage
        assert alone is not run
    assert len(made) == 2 and made[1].closed == 1


def test_a_local_cluster_starts_in_the_background_with_glibc_malloc_defaults(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    executor = make_executor({"kind": "local", "workers": 1}, tmp_path / "cluster.json")
    try:
        assert isinstance(executor, DaskExecutor)
        assert enclosing_executor() is None
        with use_executor(executor):
            assert enclosing_executor() is executor
            assert executor.client is not None  # started: the partitions run on the worker
            run_partitions("st", tmp_path / "dask", PARTS, step, {}, executor=executor)
        assert executor.ran_here == 0
        # Dask's MALLOC_TRIM_THRESHOLD_=65536 turned off glibc's dynamic mmap threshold:
        # 8x the page faults of the same task in-process (pipeline.run.cluster.MALLOC_ENVIRON)
        seen = executor.client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
        assert list(seen.values()) == [None]
        # the worker's warming gave pyarrow's pools one thread each (backends.one_arrow_thread)
        executor.client.gather(executor._warming)
        pools = executor.client.run(_arrow_pools)
        assert list(pools.values()) == [(1, 1)]
        # and left what it loaded out of garbage collection, as the CLI process does
        frozen = executor.client.run(gc.get_freeze_count)
        assert all(count > 10_000 for count in frozen.values())
    finally:
        executor.close()
    run_partitions("st", tmp_path / "inprocess", PARTS, step, {})
    assert outputs_digest(tmp_path / "dask") == outputs_digest(tmp_path / "inprocess")


def _arrow_pools() -> tuple[int, int]:
    """pyarrow's CPU and I/O pool sizes in this process."""
    import pyarrow as pa

    return pa.cpu_count(), pa.io_thread_count()


def make_where(driver: int):
    """A task that says which process ran it, slow in the driver (a closure, by value)."""

    def where(item: int) -> tuple[int, int]:
        import time

        if os.getpid() == driver:  # up to 20 s for the cluster to start, then fast
            time.sleep(0.05)
        return item, os.getpid()

    return where


def test_the_driver_runs_partitions_while_the_local_cluster_starts(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    executor = make_executor({"kind": "local", "workers": 1}, tmp_path / "cluster.json")
    try:
        assert isinstance(executor, DaskExecutor)
        # the constructor returned at once: the first items run here, the rest on the worker
        first = list(executor.map_unordered(make_where(os.getpid()), range(400)))
        here = sorted(item for item, pid in first if pid == os.getpid())
        there = sorted(item for item, pid in first if pid != os.getpid())
        assert sorted(item for item, _ in first) == list(range(400))
        assert here == list(range(len(here))) and len(here) == executor.ran_here > 0
        assert there and there[0] == len(here)  # taken over by the worker, none twice
        # once started, everything runs on the cluster
        later = list(executor.map_unordered(make_where(os.getpid()), range(4)))
        assert {pid for _, pid in later} == {pid for _, pid in first if pid != os.getpid()}
        assert executor.ran_here == len(here)
    finally:
        executor.close()
    # the benchmark counts that CPU as the driver's, from the log line
    log = tmp_path / "all.log"
    log.write_text(caplog.text)
    assert driver_task_cpu(log) == pytest.approx(executor.ran_here_cpu, abs=1e-3)
    assert executor.ran_here_cpu < 0.05 * executor.ran_here  # the tasks mostly slept


def test_a_zombie_adopted_by_another_parent_counts_as_gone() -> None:
    """A cluster process whose parent (a subreaper such as the benchmark) has not reaped it yet
    is gone for `cluster stop`, which would otherwise wait its whole timeout for it."""
    code = (
        "import os, subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'pass'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(5)\n"  # the child exits at once and stays a zombie of this process
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid)  # still a zombie of `parent`, not reaped by it
        assert Path(f"/proc/{pid}").exists()
        assert pid_alive(parent.pid)
    finally:
        parent.kill()
        parent.wait()


class _Done:
    """A stand-in for a Dask future: done or not."""

    def __init__(self, done: bool) -> None:
        self._done = done

    def done(self) -> bool:
        return self._done


def test_the_driver_imports_later_stages_only_while_the_workers_hold_work(monkeypatch) -> None:
    from eoinstruct.pipeline import stages as stage_registry

    loaded: list[str] = []
    partitioned = [s for s in stage_registry.build_order() if s.partitioned]
    monkeypatch.setattr(type(partitioned[0]), "load", lambda self: loaded.append(self.name))
    executor = DaskExecutor.__new__(DaskExecutor)  # no cluster: only the warming bookkeeping
    executor._driver_warm = False
    executor._warm_driver([_Done(True), _Done(False)])  # one task left: the stage may end now
    assert loaded == []
    for _ in partitioned:  # one module per result while two or more tasks run
        executor._warm_driver([_Done(False), _Done(False), _Done(True)])
    assert loaded == [s.name for s in partitioned]
    assert executor._driver_warm is True
    executor._warm_driver([_Done(False), _Done(False)])  # nothing more to import
    assert len(loaded) == len(partitioned)
