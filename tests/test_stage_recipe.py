"""The "add a stage" recipe of docs/architecture.md, followed for the smallest real stage.

A stage is one module with ``run(params, progress)`` — here an :class:`ItemStage` that counts
the validated pairs per task — plus one registry entry. The runner owns its loop, ledger,
resume and accounting; the command line gets its subcommand from the registry.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from build_helpers import make_params

from eoinstruct.cli import build_parser, main
from eoinstruct.pipeline.run.partitions import completed_records
from eoinstruct.pipeline.stages import Stage, register_stage, unregister_stage

STAGE_MODULE = '''
"""Stage ``pairs_per_task``: one row per validated pair with its task."""

from collections.abc import Iterable

import pyarrow as pa

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.io.parquet import iter_pairs, write_table
from eoinstruct.pipeline.records import InstructionPair
from eoinstruct.pipeline.run.partitions import Partition, PartitionOutputs, partitions_from
from eoinstruct.pipeline.run.runner import ItemStage, Ledger, run_work_stage


class CountStep(ItemStage[InstructionPair, dict]):
    name = "pairs_per_task"
    failures_kind = None

    def items(self, partition: Partition) -> Iterable[InstructionPair]:
        return iter_pairs(partition.inputs[0])

    def item_id(self, item: InstructionPair) -> str:
        return item.pair_id

    def process(self, item: InstructionPair, ledger: Ledger) -> list[dict]:
        ledger.stats.produced[f"task:{item.task}"] += 1
        return [{"pair_id": item.pair_id, "task": item.task}]

    def write(self, partition, outputs: PartitionOutputs, kept, ledger) -> None:
        write_table(outputs.path("tasks"), pa.Table.from_pylist(kept))


def run(params: Params, progress: bool = True) -> StageStats:
    partitions = partitions_from([(params.work_dir("validate"), "pairs")])
    return run_work_stage(params, "pairs_per_task", partitions, CountStep(), {}, progress)
'''


@pytest.fixture
def plugin_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    package = tmp_path / "plugin" / "toy_stages"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "pairs_per_task.py").write_text(textwrap.dedent(STAGE_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    register_stage(
        Stage(
            "pairs_per_task",
            "count the validated pairs per task",
            inputs=("validate",),
            partitioned=True,
            module_name="toy_stages.pairs_per_task",
        )
    )
    yield
    unregister_stage("pairs_per_task")
    sys.modules.pop("toy_stages.pairs_per_task", None)
    sys.modules.pop("toy_stages", None)


@pytest.mark.slow
def test_a_new_stage_is_one_module_and_one_registry_entry(plugin_stage, tmp_path: Path):
    root = tmp_path / "build"
    root.mkdir()
    params = make_params(root, sources=("bigearthnet_v1", "xbd"))
    assert "pairs-per-task" in build_parser().format_help()
    # `all` runs the registered stage after the built-in ones
    assert main(["--params", str(params), "--no-progress", "all"]) == 0
    validated = completed_records(root / "work" / "validate")
    counted = completed_records(root / "work" / "pairs_per_task")
    assert [r["partition"] for r in counted] == [r["partition"] for r in validated]
    kept = sum(r["stats"]["kept"] for r in validated)
    assert sum(r["stats"]["read"] for r in counted) == kept > 0
    rows = [
        row
        for path in sorted((root / "work" / "pairs_per_task" / "tasks").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert len(rows) == kept
    by_task: dict[str, int] = {}
    for record in validated:
        for key, n in record["stats"]["produced"].items():
            if key.startswith("pairs:"):
                by_task[key.split(":", 1)[1]] = by_task.get(key.split(":", 1)[1], 0) + n
    assert {t: sum(1 for r in rows if r["task"] == t) for t in by_task} == by_task
    # its own subcommand, resumable like every stage: nothing is redone
    before = {p: p.stat().st_mtime_ns for p in (root / "work" / "pairs_per_task").rglob("*")}
    assert main(["--params", str(params), "--no-progress", "pairs-per-task"]) == 0
    after = {p: p.stat().st_mtime_ns for p in (root / "work" / "pairs_per_task").rglob("*")}
    assert {p: t for p, t in after.items() if p.name != "_stats.json"} == {
        p: t for p, t in before.items() if p.name != "_stats.json"
    }
