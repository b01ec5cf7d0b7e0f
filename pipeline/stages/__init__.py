"""One module per pipeline stage; each exposes ``run(params)`` called by the CLI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from eoinstruct.pipeline.accounting import StageStats
from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.run.backends import make_executor
from eoinstruct.pipeline.run.partitions import Partition, Step, run_partitions


def run_work_stage(
    params: Params,
    stage: str,
    partitions: Sequence[Partition],
    step: Step,
    config: Mapping[str, object],
    progress: bool = True,
) -> StageStats:
    """Run a stage whose outputs live in ``<paths.work>/<stage>``.

    Args:
        params: Parameters (for the work and state folders).
        stage: Stage name.
        partitions: The stage's partitions.
        step: The step function.
        config: Parameters the outputs depend on (part of every partition's fingerprint).
        progress: Show a progress bar.

    Returns:
        Counts summed over all partitions.
    """
    executor = make_executor(params.raw.get("executor"))
    try:
        return run_partitions(
            stage,
            params.work_dir(stage),
            partitions,
            step,
            config,
            progress=progress,
            state_dir=params.state_dir(stage),
            executor=executor,
        )
    finally:
        executor.close()
