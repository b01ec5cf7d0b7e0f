"""Every error the command line can meet is one line saying what to do (the traceback only
with ``--debug``), and a stage's output folder is locked against a second run."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from build_helpers import make_params

from eoinstruct import cli
from eoinstruct.cli import EXIT_LOCKED, explain, main
from eoinstruct.pipeline.enrich.osm.match import OsmError
from eoinstruct.pipeline.errors import StageFailed


def _no_sources(tmp_path: Path) -> Path:
    """A params.yaml with every source disabled (ingest runs, with no partition)."""
    path = make_params(tmp_path)
    params = yaml.safe_load(path.read_text())
    for options in params["sources"].values():
        options["enabled"] = False
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("eoinstruct ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_second_run_on_a_locked_folder_refuses_and_a_killed_holder_leaves_no_stale_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = _no_sources(tmp_path)
    lock = tmp_path / "work" / "_state" / "ingest" / "lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, os, time
                fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, str(os.getpid()).encode())
                print("locked", flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["--params", str(params), "--no-progress", "ingest"]) == EXIT_LOCKED
        line = _one_error_line(capsys.readouterr().err)
        assert "in use by another run" in line and f"pid {holder.pid}" in line
        assert not (tmp_path / "work" / "ingest" / "_stats.json").exists()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # the holder was SIGKILLed: its lock file stays, its lock does not
    assert lock.is_file()
    assert main(["--params", str(params), "--no-progress", "ingest"]) == 0
    assert (tmp_path / "work" / "ingest" / "_stats.json").is_file()


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/data/work/x.parquet"), 1, "disk full"),
        (RecursionError("maximum recursion depth exceeded"), 1, "nested too deeply"),
        (OsmError("Overpass answered 504\nafter 3 tries"), 1, "osm.overpass_url"),
        (StageFailed("3 of 4 captioned samples failed"), 1, "3 of 4"),
        (PermissionError(errno.EACCES, "Permission denied", "/root/x"), 1, "permissions"),
        (FileNotFoundError("data/work/ingest/_done does not exist"), 2, "does not exist"),
        (MemoryError(), 1, "out of memory"),
        (RuntimeError("boom " * 400), 1, "--debug"),
    ],
)
def test_each_error_is_one_bounded_line_saying_what_to_do(
    error: BaseException, status: int, words: str
) -> None:
    code, message = explain(error)
    assert code == status and words in message
    assert "\n" not in message and len(message) <= cli.MESSAGE_CHARS + 200


def test_cli_prints_one_line_and_debug_shows_the_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    params = _no_sources(tmp_path)

    def deep(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded while decoding a JSON object")

    monkeypatch.setattr(cli, "run_stage", deep)
    assert main(["--params", str(params), "--no-progress", "enrich"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("eoinstruct enrich: error: ") and "--debug" in line
    with pytest.raises(RecursionError):
        main(["--params", str(params), "--no-progress", "--debug", "enrich"])
