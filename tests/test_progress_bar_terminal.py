"""A stage's progress bar is tqdm's only where tqdm would show it: stderr is a terminal."""

from __future__ import annotations

import io

import pytest

from eoinstruct.pipeline.run import partitions


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_tqdm_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert isinstance(partitions._progress_bar(3, "ingest", True), partitions._QuietBar)
    assert isinstance(partitions._progress_bar(3, "ingest", False), partitions._QuietBar)


def test_tqdm_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from tqdm import tqdm

    monkeypatch.setattr("sys.stderr", _Terminal())
    bar = partitions._progress_bar(3, "ingest", True)
    try:
        assert isinstance(bar, tqdm) and not bar.disable
    finally:
        bar.close()
    assert isinstance(partitions._progress_bar(3, "ingest", False), partitions._QuietBar)
