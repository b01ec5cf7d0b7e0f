"""A stage's closing work beside the next stage's partitions (pipeline/run/epilogues.py)."""

import threading

import pytest

from eoinstruct.pipeline.run import epilogues
from eoinstruct.pipeline.run.epilogues import after_partitions, overlapped, settle


def test_outside_a_run_the_closing_work_is_done_at_once() -> None:
    done: list[str] = []
    after_partitions("filter", lambda: done.append(threading.current_thread().name))
    assert done == [threading.current_thread().name]
    with overlapped(enabled=False):  # an in-process run: at once as well
        after_partitions("filter", lambda: done.append("again"))
        assert done[-1] == "again"


def test_in_a_run_it_overlaps_the_next_stage_only() -> None:
    release = threading.Event()
    done: list[str] = []

    def slow() -> None:
        release.wait(5)
        done.append(threading.current_thread().name)

    with overlapped():
        after_partitions("filter", slow)
        settle(keep="filter")  # the next stage (dedup) starts: filter's work goes on
        assert done == []
        release.set()
        settle(keep="dedup")  # the one after it: filter's work is finished first
        assert done == ["filter-closing"]
    assert epilogues._PENDING is None


def test_a_failing_closing_work_stops_the_run_before_the_stage_after_next() -> None:
    def broken() -> None:
        raise OSError("metrics disk full")

    with pytest.raises(OSError, match="metrics disk full"), overlapped():
        after_partitions("dedup", broken)
        settle(keep="dedup")
        settle(keep="generate")
        pytest.fail("the run must stop before the stage after next")


def test_the_end_of_the_run_waits_for_every_closing_work() -> None:
    done: list[int] = []
    with overlapped():
        after_partitions("dedup", lambda: done.append(1))
        after_partitions("filter", lambda: done.append(2))
    assert sorted(done) == [1, 2]


def test_a_run_that_fails_still_waits_for_its_closing_work() -> None:
    done: list[int] = []
    release = threading.Event()

    def slow() -> None:
        release.wait(5)
        done.append(1)

    with pytest.raises(RuntimeError, match="stage failed"), overlapped():
        after_partitions("filter", slow)
        release.set()
        raise RuntimeError("stage failed")
    assert done == [1]
