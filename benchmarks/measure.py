"""Measuring tools of the benchmark: a process tree's peak RSS, the machine's load, repeats.

- :func:`run_watched` runs a command and polls the summed RSS of its process tree (Dask
  workers included) every :data:`POLL_S` seconds; the command line also writes its own peak
  as it exits (``EOINSTRUCT_PEAK_RSS_FILE``), which no sampling can miss.
- :class:`LoadProbe` records what else the machine was doing around a build: the 1-minute
  load average before and after, and the share of the machine's CPU time that other processes
  used meanwhile (all busy CPU time, from ``psutil.cpu_times``, less this process's and its
  waited-for children's, from ``resource.getrusage``), so a result says how loaded the
  machine was.
- :func:`spread` reduces repeats to ``(median, min, max)``.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from eoinstruct.pipeline.run.startup import PEAK_RSS_ENV

POLL_S = 0.02
"""Seconds between two RSS samples of a running stage."""


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


def run_watched(
    cmd: Sequence[str], log_path: Path, cwd: Path, usage: dict[str, float] | None = None
) -> tuple[float, float, str]:
    """Run a command, polling its process tree's RSS every :data:`POLL_S` seconds.

    Args:
        cmd: The command.
        log_path: File that receives stdout and stderr.
        cwd: Working directory.
        usage: Receives ``cpu_s`` (CPU seconds of the command and of every descendant it
            waited for: a local Dask cluster's workers included; from ``wait4``) and
            ``driver_cpu_s`` (the command's own process alone, last sample).

    Returns:
        ``(wall seconds, peak RSS in MB, output text)``.

    Raises:
        RuntimeError: If the command fails (the message holds the end of its output).
    """
    peak_file = log_path.with_suffix(".peak_rss")
    peak_file.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "warning",
        PEAK_RSS_ENV: str(peak_file),  # the command's own peak, written as it exits
    }
    peak = 0
    _become_subreaper()
    known = {p.pid for p in psutil.Process().children()}
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        proc = psutil.Process(child.pid)
        driver = 0.0
        while True:
            pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                child.returncode = os.waitstatus_to_exitcode(status)
                break
            peak = max(peak, tree_rss(proc))
            try:
                times = proc.cpu_times()
                driver = times.user + times.system
            except psutil.Error:
                pass
            time.sleep(POLL_S)
        wall = time.perf_counter() - started
        orphans = _reap_orphans(known)
    try:  # exact where sampling missed the end of a short stage
        peak = max(peak, int(peak_file.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    if usage is not None:
        usage["cpu_s"] = rusage.ru_utime + rusage.ru_stime + orphans
        usage["driver_cpu_s"] = driver
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({child.returncode}):\n{text[-3000:]}")
    return wall, peak / 2**20, text


ORPHAN_WAIT_S = 5.0
"""Longest wait for the command's orphaned descendants to exit after it did."""


def _become_subreaper() -> None:
    """Adopt this process's orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``).

    A local Dask cluster's workers fork from a ``multiprocessing`` forkserver, which the
    command never waits for: it outlives the command by a moment and is then reparented. As a
    subreaper this process adopts it and, by waiting for it, gets its CPU time and that of the
    workers it waited for (:func:`_reap_orphans`). Elsewhere nothing happens.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans(known: set[int]) -> float:
    """Wait (at most :data:`ORPHAN_WAIT_S`) for adopted descendants; their CPU seconds.

    Args:
        known: This process's children before the command started (not waited for: a
            background cluster of an earlier command, say).

    Returns:
        The CPU seconds (user + system) of the orphans that exited, their waited-for
        descendants included.
    """
    total = 0.0
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while time.monotonic() < deadline:
        orphans = [p.pid for p in psutil.Process().children() if p.pid not in known]
        if not orphans:
            break
        for pid in orphans:
            try:
                done, _, rusage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            if done:
                total += rusage.ru_utime + rusage.ru_stime
        time.sleep(POLL_S)
    return total


def _own_cpu_s() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _busy_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (every CPU; idle and iowait left out)."""
    times = psutil.cpu_times()
    return float(sum(times)) - float(times.idle) - float(getattr(times, "iowait", 0.0))


@dataclass
class LoadProbe:
    """The machine's load around one measured run (``start()`` … ``stop()``).

    Attributes:
        load_before: 1-minute load average at ``start()``.
        load_after: 1-minute load average at ``stop()``.
        others_cpu_share: CPU time of other processes over the run, as a share of the
            machine's (``cpus`` x wall) CPU time: 0 on an idle machine, 0.5 when other jobs
            kept one of two cores busy.
        cpus: Logical CPUs.
    """

    load_before: float = 0.0
    load_after: float = 0.0
    others_cpu_share: float = 0.0
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    _t0: float = 0.0
    _busy0: float = 0.0
    _own0: float = 0.0

    def start(self) -> LoadProbe:
        """Record the starting load and CPU counters; return the probe."""
        self.load_before = os.getloadavg()[0]
        self._t0, self._busy0, self._own0 = time.perf_counter(), _busy_cpu_s(), _own_cpu_s()
        return self

    def stop(self) -> LoadProbe:
        """Record the end and compute :attr:`others_cpu_share`; return the probe."""
        wall = max(time.perf_counter() - self._t0, 1e-9)
        busy = _busy_cpu_s() - self._busy0
        own = _own_cpu_s() - self._own0
        self.load_after = os.getloadavg()[0]
        self.others_cpu_share = min(1.0, max(0.0, (busy - own) / (wall * self.cpus)))
        return self


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Return ``(median, min, max)`` of the repeats' values (zeros when there are none)."""
    if not values:
        return 0.0, 0.0, 0.0
    return float(statistics.median(values)), float(min(values)), float(max(values))
