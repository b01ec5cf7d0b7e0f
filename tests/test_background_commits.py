"""Partition commits finished by a background thread (pipeline/run/commits.py)."""

import threading
from pathlib import Path

import pytest

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.io import atomic
from eoinstruct.pipeline.run import commits
from eoinstruct.pipeline.run.partitions import Partition, completed_records, run_partitions


def parts(*names: str) -> list[Partition]:
    return [Partition(name=n, source="s", items=(n, "x")) for n in names]


def step(partition: Partition, outputs) -> StageStats:
    outputs.path("out", ".txt").write_text(",".join(partition.items) * 1000)
    outputs.path("other", ".bin").write_bytes(partition.name.encode() * 77)
    return StageStats(read=2, kept=2)


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "_state" not in p.parts
    }


def test_deferred_commits_write_the_same_files_as_synchronous_ones(tmp_path, monkeypatch):
    names = [f"p{i:02d}" for i in range(12)]
    run_partitions("st", tmp_path / "a" / "st", parts(*names), step, {"k": 1})
    seen: list[tuple[str, list[str]]] = []
    real = atomic.flush_files

    def spy(paths, whole_file_system=True):
        assert whole_file_system  # no hand-off cache is pending: one syncfs per batch
        seen.append((threading.current_thread().name, [Path(p).name for p in paths]))
        real(paths, whole_file_system)

    monkeypatch.setattr(commits, "flush_files", spy)
    run_partitions("st", tmp_path / "b" / "st", parts(*names), step, {"k": 1})
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    # the temporary files of all 12 partitions were flushed on the committer thread (some
    # batched), then the records once more by the run's thread when it drained the commits
    assert {name for name, _ in seen[:-1]} == {"eoinstruct-commits"}
    assert seen[-1][0] == "MainThread"
    flushed = [f for _, files in seen[:-1] for f in files]
    assert len(flushed) == 24 and all(".tmp-" in f for f in flushed)
    assert seen[-1][1] == ["_done"]
    assert [r["partition"] for r in completed_records(tmp_path / "b" / "st")] == names


def test_a_failing_step_keeps_the_commits_queued_before_it(tmp_path):
    def crash_third(partition: Partition, outputs) -> StageStats:
        if partition.name == "c":
            raise RuntimeError("killed")
        return step(partition, outputs)

    with pytest.raises(RuntimeError, match="killed"):
        run_partitions("st", tmp_path / "st", parts("a", "b", "c", "d"), crash_third, {})
    records = completed_records(tmp_path / "st")
    assert [r["partition"] for r in records] == ["a", "b"]
    assert not list(tmp_path.rglob("*.tmp-*"))
    assert commits.active() is None
    calls: list[str] = []

    def counting(partition: Partition, outputs) -> StageStats:
        calls.append(partition.name)
        return step(partition, outputs)

    run_partitions("st", tmp_path / "st", parts("a", "b", "c", "d"), counting, {})
    assert calls == ["c", "d"]  # a and b were recorded by the committer before the error


def test_a_failing_commit_stops_the_run_with_its_error(tmp_path, monkeypatch):
    def broken(paths, whole_file_system=True):
        raise OSError("disk gone")

    monkeypatch.setattr(commits, "flush_files", broken)
    with pytest.raises(OSError, match="disk gone"):
        run_partitions("st", tmp_path / "st", parts("a", "b", "c"), step, {})
    assert not (tmp_path / "st" / "_done").is_dir() or not list(
        (tmp_path / "st" / "_done").iterdir()
    )
    assert not (tmp_path / "st" / "_stats.json").exists()
    assert commits.active() is None


def test_a_pending_handoff_cache_is_not_flushed_by_the_commits(tmp_path, monkeypatch):
    """While ``<work>/_rendered`` holds files, commits flush their own files one by one:
    a ``syncfs`` would write the cache (never meant for the disk) too."""
    work = tmp_path / "work"
    (work / atomic.HANDOFF_CACHE).mkdir(parents=True)
    (work / atomic.HANDOFF_CACHE / "p.arrow").write_bytes(b"x" * 1000)
    modes: list[bool] = []
    real = atomic.flush_files

    def spy(paths, whole_file_system=True):
        modes.append(whole_file_system)
        real(paths, whole_file_system)

    monkeypatch.setattr(commits, "flush_files", spy)
    states = work / "_state" / "st"
    run_partitions("st", work / "st", parts("a", "b"), step, {}, state_dir=states)
    assert modes and not any(modes)
    assert [r["partition"] for r in completed_records(work / "st")] == ["a", "b"]
    (work / atomic.HANDOFF_CACHE / "p.arrow").unlink()
    assert not atomic.handoff_cache_pending(work)
    modes.clear()
    run_partitions("st", work / "st2", parts("a"), step, {}, state_dir=work / "_state" / "st2")
    assert modes and all(modes)


class ElsewhereExecutor:
    """Runs tasks in this process as a cluster's worker would: the run defers each task's
    commits to the process's committer and drains it through :meth:`run_everywhere`.
    ``lose``: the worker dies before its queued commits finish (the committer is dropped
    undrained, as a killed worker's queue is)."""

    name = "elsewhere"

    def __init__(self, lose: bool = False) -> None:
        self.lose = lose
        self.drained: list[int] = []
        self.active_in_task: list[bool] = []

    def map_unordered(self, fn, items):
        for item in items:
            yield fn(item)
            self.active_in_task.append(commits.active() is None)  # reset after each task

    def run_everywhere(self, fn):
        if self.lose:
            commits._PROCESS = None  # dropped undrained
            return [0]
        self.drained.append(fn())
        return self.drained[-1:]

    def close(self) -> None:
        pass


def test_a_cluster_run_defers_its_tasks_commits_and_drains_every_worker(tmp_path):
    names = [f"p{i:02d}" for i in range(6)]
    run_partitions("st", tmp_path / "a" / "st", parts(*names), step, {"k": 1})
    seen_threads: list[str] = []

    def watched(partition: Partition, outputs) -> StageStats:
        stats = step(partition, outputs)
        seen_threads.append(type(commits.active()).__name__)
        return stats

    executor = ElsewhereExecutor()
    run_partitions("st", tmp_path / "b" / "st", parts(*names), watched, {"k": 1}, executor=executor)
    assert seen_threads == ["BackgroundCommits"] * 6  # each task's commit was deferred
    assert executor.drained == [6] and executor.active_in_task == [True] * 6
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    assert commits._PROCESS is None


def test_a_worker_lost_with_queued_commits_fails_the_stage_and_a_rerun_redoes_them(
    tmp_path, monkeypatch
):
    names = ["a", "b", "c"]
    gate = threading.Event()
    made: list[commits.BackgroundCommits] = []

    class Recorded(commits.BackgroundCommits):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    real = commits.flush_files

    def stuck(paths, whole_file_system=True):  # the lost worker's committer never gets through
        if threading.current_thread() is made[0]._thread:
            gate.wait(10)
            raise OSError("the worker is gone")
        real(paths, whole_file_system)

    monkeypatch.setattr(commits, "BackgroundCommits", Recorded)
    monkeypatch.setattr(commits, "flush_files", stuck)
    try:
        with pytest.raises(RuntimeError, match=r"3 partitions' commits were lost .* run the stage"):
            run_partitions(
                "st", tmp_path / "st", parts(*names), step, {}, executor=ElsewhereExecutor(True)
            )
        calls: list[str] = []

        def counting(partition: Partition, outputs) -> StageStats:
            calls.append(partition.name)
            return step(partition, outputs)

        run_partitions("st", tmp_path / "st", parts(*names), counting, {})
        assert sorted(calls) == names  # nothing was recorded: all redone
        assert [r["partition"] for r in completed_records(tmp_path / "st")] == names
    finally:
        gate.set()  # the lost worker's committer ends without finishing anything
        made[0]._thread.join(5)


@pytest.mark.parametrize("executor", [None, ElsewhereExecutor()], ids=["in-process", "cluster"])
def test_a_consumed_hand_off_file_goes_once_its_partition_is_recorded(tmp_path, executor):
    cache = tmp_path / "_cache"
    cache.mkdir()
    for name in ("a", "b", "c"):
        (cache / f"{name}.arrow").write_bytes(b"x" * 100)
    seen: list[tuple[str, bool]] = []

    def consuming(partition: Partition, outputs) -> StageStats:
        if partition.name == "c":
            raise RuntimeError("killed")
        outputs.consumed(cache / f"{partition.name}.arrow")
        # still there while the step runs: deleted only after the records are written
        seen.append((partition.name, (cache / f"{partition.name}.arrow").exists()))
        return step(partition, outputs)

    with pytest.raises(RuntimeError, match="killed"):
        run_partitions(
            "st", tmp_path / "st", parts("a", "b", "c"), consuming, {}, executor=executor
        )
    assert seen == [("a", True), ("b", True)]
    assert [r["partition"] for r in completed_records(tmp_path / "st")] == ["a", "b"]
    assert sorted(p.name for p in cache.iterdir()) == ["c.arrow"]  # the failed one's stays


def test_a_partition_with_a_hand_off_cache_is_committed_in_the_background_one_file_at_a_time(
    tmp_path, monkeypatch
):
    work = tmp_path / "work"
    seen: list[tuple[str, bool]] = []
    real = atomic.flush_files

    def spy(paths, whole_file_system=True):
        seen.append((threading.current_thread().name, whole_file_system))
        real(paths, whole_file_system)

    def caching(partition: Partition, outputs) -> StageStats:
        outputs.path("cache", ".arrow", transient=True).write_bytes(b"c" * 5000)
        return step(partition, outputs)

    monkeypatch.setattr(commits, "flush_files", spy)
    states = work / "_state" / "st"
    run_partitions("st", work / "st", parts("a", "b"), caching, {}, state_dir=states)
    # on the committer thread, never a syncfs (it would write the cache); the drain neither
    assert {name for name, _ in seen[:-1]} == {"eoinstruct-commits"}
    assert seen and not any(whole for _, whole in seen)
    assert sorted(p.name for p in (work / "_cache").iterdir()) == ["a.arrow", "b.arrow"]
    assert [r["partition"] for r in completed_records(work / "st")] == ["a", "b"]
    assert not list(work.rglob("*.tmp-*"))
