"""The command line's exit without the interpreter's teardown keeps what a normal exit does."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from eoinstruct.pipeline.run.startup import FULL_EXIT_ENV, PEAK_RSS_ENV

_SCRIPT = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from pathlib import Path
    from eoinstruct.pipeline.run.startup import exit_without_teardown

    out = Path(sys.argv[1])
    atexit.register(lambda: (out / "atexit").write_text("ran"))

    def late() -> None:
        time.sleep(0.2)
        (out / "thread").write_text("done")

    threading.Thread(target=late).start()  # not a daemon: waited for, as Python does
    print("buffered", end="")  # no newline: still in stdout's buffer at the exit
    exit_without_teardown(3)
    """
)


def _run(tmp_path: Path, full: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FULL_EXIT_ENV}
    if full:
        env[FULL_EXIT_ENV] = "1"
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_exit_keeps_status_threads_atexit_and_buffered_output(tmp_path: Path) -> None:
    for full in (False, True):
        for name in ("atexit", "thread"):
            (tmp_path / name).unlink(missing_ok=True)
        done = _run(tmp_path, full)
        assert done.returncode == 3, done.stderr
        assert done.stdout == "buffered"
        assert (tmp_path / "thread").read_text() == "done"
        assert (tmp_path / "atexit").read_text() == "ran"


def test_the_exit_writes_the_peak_rss_where_asked(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        from eoinstruct.pipeline.run.startup import exit_without_teardown
        block = b"x" * (256 * 2**20)  # 256 MiB written, then freed before the exit
        del block
        exit_without_teardown(0)
        """
    )
    peak = tmp_path / "peak"
    env = {**os.environ, PEAK_RSS_ENV: str(peak)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(peak.read_text()) > 256 * 2**20  # the peak, not the RSS at the exit
