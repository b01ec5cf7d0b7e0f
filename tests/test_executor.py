import json

import pytest

from eoinstruct.pipeline.accounting import AccountingError, StageStats
from eoinstruct.pipeline.io.atomic import atomic_path, sweep_temporaries
from eoinstruct.pipeline.run.partitions import (
    Partition,
    completed_records,
    output_of,
    run_partitions,
)


def write_step(calls):
    def step(partition, outputs):
        calls.append(partition.name)
        outputs.path("out", ".txt").write_text(",".join(partition.items))
        stats = StageStats(read=len(partition.items), kept=len(partition.items))
        return stats

    return step


def parts(*names):
    return [Partition(name=n, source="s", items=(n, "x")) for n in names]


def test_rerun_skips_finished_partitions_and_redoes_changed_ones(tmp_path):
    st = tmp_path / "st"
    calls = []
    stats = run_partitions("st", tmp_path / "st", parts("a", "b"), write_step(calls), {"k": 1})
    assert calls == ["a", "b"] and stats.read == 4
    run_partitions("st", tmp_path / "st", parts("a", "b"), write_step(calls), {"k": 1})
    assert calls == ["a", "b"]  # nothing redone
    run_partitions("st", tmp_path / "st", parts("a", "b"), write_step(calls), {"k": 2})
    assert calls == ["a", "b", "a", "b"]  # params changed: everything redone
    (st / "out" / "b.txt").unlink()
    run_partitions("st", tmp_path / "st", parts("a", "b"), write_step(calls), {"k": 2})
    assert calls[-1] == "b" and len(calls) == 5  # a lost output is rebuilt


def test_partitions_that_disappear_are_cleaned_up(tmp_path):
    run_partitions("st", tmp_path / "st", parts("a", "b"), write_step([]), {})
    run_partitions("st", tmp_path / "st", parts("a"), write_step([]), {})
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "_state/st/_timings.json",
        "_state/st/a.json",
        "_state/st/lock",
        "st/_done/a.json",
        "st/_stats.json",
        "st/out/a.txt",
    ]
    summary = json.loads((tmp_path / "st" / "_stats.json").read_text())
    assert summary["read"] == 2 and summary["partitions"] == 1 and "seconds" not in summary


def test_crashed_step_leaves_no_output_and_no_record(tmp_path):
    def crash(partition, outputs):
        outputs.path("out", ".txt").write_text("half")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_partitions("st", tmp_path / "st", parts("a"), crash, {})
    # nothing but the stage's lock file (released with the process, kept for the next run)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["lock"]
    calls = []
    run_partitions("st", tmp_path / "st", parts("a"), write_step(calls), {})
    assert calls == ["a"]
    record = completed_records(tmp_path / "st")[0]
    assert output_of(tmp_path / "st", record, "out").read_text() == "a,x"


def test_leftover_temporaries_of_a_killed_run_are_swept(tmp_path):
    (tmp_path / "st" / "out").mkdir(parents=True)
    (tmp_path / "st" / "out" / ".a.txt.tmp-999").write_text("partial")
    run_partitions("st", tmp_path / "st", parts("a"), write_step([]), {})
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_broken_accounting_is_refused(tmp_path):
    def bad(partition, outputs):
        return StageStats(read=3, kept=1)

    with pytest.raises(AccountingError, match="read 3"):
        run_partitions("st", tmp_path / "st", parts("a"), bad, {})
    assert not (tmp_path / "st" / "_done" / "a.json").exists()


def test_input_content_is_part_of_the_fingerprint(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("1")
    calls = []
    part = [Partition(name="a", source="s", items=("a",), inputs=(src,))]
    run_partitions("st", tmp_path / "st", part, write_step(calls), {})
    run_partitions("st", tmp_path / "st", part, write_step(calls), {})
    src.write_text("2")
    run_partitions("st", tmp_path / "st", part, write_step(calls), {})
    assert calls == ["a", "a"]


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    final = tmp_path / "f.txt"
    final.write_text("old")
    with pytest.raises(ValueError), atomic_path(final) as tmp:
        tmp.write_text("new")
        raise ValueError
    assert final.read_text() == "old"
    assert sweep_temporaries(tmp_path) == []


def test_completion_records_are_identical_from_build_to_build(tmp_path):
    # fingerprints and times stay in the local state folder, out of the tracked outputs
    run_partitions("st", tmp_path / "one" / "st", parts("a"), write_step([]), {})
    run_partitions("st", tmp_path / "two" / "st", parts("a"), write_step([]), {})
    for name in ("_done/a.json", "_stats.json"):
        one = (tmp_path / "one" / "st" / name).read_bytes()
        assert one == (tmp_path / "two" / "st" / name).read_bytes()
        assert b"seconds" not in one and b"fingerprint" not in one


def test_missing_state_means_the_partition_is_redone(tmp_path):
    calls = []
    run_partitions("st", tmp_path / "st", parts("a"), write_step(calls), {})
    (tmp_path / "_state" / "st" / "a.json").unlink()
    run_partitions("st", tmp_path / "st", parts("a"), write_step(calls), {})
    assert calls == ["a", "a"]
