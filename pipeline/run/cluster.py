"""One local Dask cluster for a whole run: ``eoinstruct cluster start`` / ``cluster stop``.

DVC runs every stage as its own process, so a stage with ``--executor local`` would otherwise
start (and tear down) a :class:`distributed.LocalCluster` of its own: about 1.5 s per stage and
cold worker processes every time. ``eoinstruct cluster start --workers N`` starts one cluster in
a background process and records its address in a small state file,
``<paths.work>/_state/cluster.json`` (``{address, pid, workers, started, code}``); every stage run
with ``--executor local`` connects to it while it is alive (see
:func:`eoinstruct.pipeline.run.backends.make_executor`). ``eoinstruct cluster stop`` ends it.

A state file whose process is gone (a killed run, a reboot) is *stale*: it is ignored with a
warning, and the stage starts its own cluster as if there were none. So is a cluster started
with other code than the stage's (an edit since ``cluster start``): its workers imported the
old modules, so the stage starts its own cluster and says to restart the run's.

The background process is this module run as a script (``python -m ...cluster serve``): it
starts the cluster, writes the state file atomically, then waits until it gets SIGTERM/SIGINT or
its state file is removed or taken over, and closes the cluster.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"
"""Name of the state file, in ``<paths.work>/_state/``."""

START_TIMEOUT_S = 120.0
"""Longest wait for a background cluster to write its state file."""

STOP_TIMEOUT_S = 30.0
"""Longest wait for a background cluster to exit after SIGTERM."""


@dataclass(frozen=True)
class ClusterState:
    """What the state file records about a running background cluster.

    Attributes:
        address: The scheduler's address (``tcp://127.0.0.1:port``).
        pid: The background process that holds the cluster.
        workers: Its worker processes.
        started: Start time (seconds since the epoch).
        code: The code fingerprint its workers run
            (:func:`~eoinstruct.pipeline.run.fingerprint.code_fingerprint`): a stage whose own
            code differs does not use the cluster (its workers would run the old code).
    """

    address: str
    pid: int
    workers: int
    started: float
    code: str = ""

    def to_json(self) -> str:
        """The state file's text."""
        return json.dumps(self.__dict__, indent=1, sort_keys=True) + "\n"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a zombie child counts as gone).

    Args:
        pid: The process id.

    Returns:
        True if it runs.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:  # a child that exited but was not reaped yet is no cluster
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether another process's child exited and awaits its parent (Linux ``/proc``).

    A cluster process outlives the command that started it and is adopted by init or by a
    subreaper (the benchmark is one): until that parent reaps it, it is a zombie that
    ``kill(pid, 0)`` still finds.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False  # no /proc (not Linux): trust kill()
    return stat[stat.rfind(")") + 2 :].startswith("Z")


def read_state(path: Path) -> ClusterState | None:
    """Read a state file; ``None`` if it is missing or unreadable.

    Args:
        path: The state file.

    Returns:
        The recorded state.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return ClusterState(
            address=str(doc["address"]),
            pid=int(doc["pid"]),
            workers=int(doc["workers"]),
            started=float(doc["started"]),
            code=str(doc.get("code", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def running_cluster(path: Path) -> ClusterState | None:
    """The background cluster recorded at ``path``, if its process is alive.

    A state file naming a dead process (or one that cannot be read) is stale: it is ignored
    with a warning and left for ``cluster start`` to replace.

    Args:
        path: The state file.

    Returns:
        The live cluster's state, or ``None``.
    """
    if not path.exists():
        return None
    state = read_state(path)
    if state is None:
        log.warning("cluster state file %s is unreadable: ignored", path)
        return None
    if not pid_alive(state.pid):
        log.warning(
            "cluster state file %s names pid %d, which is not running (stale): ignored",
            path,
            state.pid,
        )
        return None
    return state


def _write_state(path: Path, state: ClusterState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, path)


def start_cluster(path: Path, workers: int, timeout: float = START_TIMEOUT_S) -> ClusterState:
    """Start a background local cluster and record it at ``path`` (or return the live one).

    Args:
        path: The state file (``<paths.work>/_state/cluster.json``).
        workers: Worker processes.
        timeout: Longest wait for the cluster to come up.

    Returns:
        The running cluster's state.

    Raises:
        RuntimeError: If the background process exits or does not come up in time (its log,
            ``cluster.log`` beside the state file, says why).
    """
    live = running_cluster(path)
    if live is not None:
        log.info("a cluster is already running at %s (pid %d)", live.address, live.pid)
        return live
    path.parent.mkdir(parents=True, exist_ok=True)
    logfile = path.with_suffix(".log")
    command = [sys.executable, "-m", __name__, "serve", str(path), "--workers", str(workers)]
    with logfile.open("wb") as out:
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(path)
        if state is not None and state.pid == proc.pid:
            return state
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the cluster process exited ({proc.returncode}): {tail}")
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"the cluster did not start within {timeout:.0f} s; see {logfile}")


def stop_cluster(path: Path, timeout: float = STOP_TIMEOUT_S) -> ClusterState | None:
    """Stop the background cluster recorded at ``path`` and remove the state file.

    Args:
        path: The state file.
        timeout: Longest wait for the process to exit before it is killed.

    Returns:
        The stopped cluster's state, or ``None`` if none was running (a stale file is removed).
    """
    state = running_cluster(path)
    if state is None:
        path.unlink(missing_ok=True)
        return None
    os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(state.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(state.pid):
        log.warning("cluster pid %d did not exit in %.0f s: killed", state.pid, timeout)
        os.kill(state.pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return state


QUIET_MONITORS: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "500ms",
}
"""Dask settings of a local cluster's scheduler, nannies and workers: no statistical profiler
(a 10 ms stack sampler in every worker, for the dashboard's profile), the dashboard's system
monitor every 5 s instead of 0.5 s, the nannies' memory check every 1 s instead of 0.1 s (the
memory limits still hold, a second later) and the event loops' blocked-loop check every 0.5 s
instead of 20 ms. Measured (2 workers started, warm, then idle 5 s): the workers' idle CPU
0.18 -> 0.02 s, the driver's (scheduler and nannies) 0.13 -> 0.02 s: 3.5 % of a core less
while a run lasts. What the workers compute is unchanged."""


def _forkserver_ready() -> bool:
    """Let worker processes fork from a server that imported Dask and the stages once.

    Dask spawns each worker as a new interpreter (``multiprocessing`` ``spawn``), which imports
    ``distributed`` (0.4 CPU-s), the command's main module and, on warming, every stage
    module (0.5 CPU-s) again, per worker. With ``forkserver`` one server process imports them
    (:data:`FORKSERVER_PRELOAD` and the partitioned stages) and forks each worker from that
    state. Dask's own forkserver set-up would import its optional packages (pandas…) into
    this process first; it is replaced by ours.

    Returns:
        Whether workers are to be started by the forkserver (not where it is unavailable).
    """
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    import distributed.utils

    from eoinstruct.pipeline.stages import build_order

    modules = [*FORKSERVER_PRELOAD, *(s.module for s in build_order() if s.partitioned)]
    multiprocessing.get_context("forkserver").set_forkserver_preload(modules)
    distributed.utils._forkserver_preload_set = True
    return True


FORKSERVER_PRELOAD = ("distributed", "eoinstruct.cli")
"""Modules the workers' forkserver imports before the stage modules."""


MALLOC_ENVIRON: dict[str, Any] = {"MALLOC_TRIM_THRESHOLD_": None}
"""Changes to Dask's default worker environment (``None``: left unset).

Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in every worker it spawns (so that freed memory
goes back to the OS at once). Setting any trim threshold also turns off glibc's *dynamic* mmap
threshold, so every allocation over 128 KiB (a band array, a rendering, a PNG buffer) stays a
fresh ``mmap`` whose pages fault in on first touch and are unmapped on free. Measured on the
score stage (2000 units, 20 partitions, one worker, ``getrusage(RUSAGE_THREAD)`` of the task
threads): 1.03 M minor page faults and 2.6 CPU-s of system time in a worker against 0.12 M and
1.0 CPU-s in-process (user time equal: 9.0 CPU-s); without the variable the worker's tasks
fault and spend as the in-process run does (0.12-0.14 M, 0.74-0.95 CPU-s). This was the
"in-worker slowdown". A worker of someone else's cluster (``--scheduler``) keeps its own
environment."""


def local_cluster(workers: int, **options: Any) -> Any:
    """A :class:`distributed.LocalCluster` set up for partition work.

    One thread per worker process: the steps hold the GIL most of the time (Python loops,
    Pillow, pyarrow conversions), so threads in one process do not add throughput, while
    processes do. Dask's nanny already sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS``/
    ``OPENBLAS_NUM_THREADS`` to 1 in each worker (``distributed.nanny.pre-spawn-environ``);
    ``GDAL_NUM_THREADS`` is set to 1 beside them, so N workers use N cores, not N × cores.

    A worker's tasks spend what the in-process run spends once Dask's malloc setting is
    undone (:data:`MALLOC_ENVIRON`: it made the tasks' system time 2.6x and their CPU
    1.15x in the committed benchmark; an earlier score-only experiment that dropped the
    variable, ``benchmarks/dask_overhead.json``, reported no change, measured per process
    rather than per task thread). Fixed costs per worker are cut by
    :data:`QUIET_MONITORS` and by forking the workers from a forkserver that imported
    everything once (:func:`_forkserver_ready`): 2 workers started and warmed cost 1.1 CPU-s
    instead of 2.0.

    Args:
        workers: Worker processes.
        **options: Further :class:`distributed.LocalCluster` arguments.

    Returns:
        The cluster (close it when done).
    """
    import dask
    from distributed import LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "GDAL_NUM_THREADS"):
        environ.setdefault(name, 1)
    # glibc's own dynamic thresholds, as in the in-process run (see MALLOC_ENVIRON)
    environ.update(MALLOC_ENVIRON)
    forkserver = _forkserver_ready()
    settings: dict[str, Any] = {"distributed.nanny.pre-spawn-environ": environ, **QUIET_MONITORS}
    if forkserver:
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(settings):
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: no clash with other clusters
            **options,
        )


def serve(path: Path, workers: int) -> int:
    """Run a cluster until SIGTERM/SIGINT or until the state file is no longer ours.

    Args:
        path: The state file to write.
        workers: Worker processes.

    Returns:
        The exit status.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    from eoinstruct.pipeline.run.fingerprint import code_fingerprint

    code = code_fingerprint()  # before the workers start: the code they import
    cluster = local_cluster(workers)
    state = ClusterState(
        address=str(cluster.scheduler_address),
        pid=os.getpid(),
        workers=workers,
        started=round(time.time(), 3),
        code=code,
    )
    _write_state(path, state)
    print(f"cluster at {state.address} with {workers} workers (pid {state.pid})", flush=True)
    try:
        while not stop.wait(1.0):
            current = read_state(path)
            if current is None or current.pid != state.pid:
                break  # removed or replaced: nobody will connect any more
    finally:
        cluster.close()
        current = read_state(path)
        if current is not None and current.pid == state.pid:
            path.unlink(missing_ok=True)
    return 0


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="background local Dask cluster (internal)")
    parser.add_argument("action", choices=["serve"])
    parser.add_argument("state", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return serve(args.state, args.workers)


if __name__ == "__main__":
    sys.exit(_main())
