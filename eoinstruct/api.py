"""The Python API beside the command line: run a build, or some of its stages, from code.

Example::

    import eoinstruct

    results = eoinstruct.build("params.yaml", stages=["ingest", "enrich", "score", "filter"],
                               overrides={"filter.min_tags": 2})
    print(results["filter"].kept)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import Params, load_params
from eoinstruct.pipeline.stages import Stage, build_order, stage


def build(
    params: str | Path | Params = "params.yaml",
    stages: Sequence[str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Run stages of a build in order, as ``eoinstruct <stage>`` would.

    Args:
        params: A ``params.yaml`` path or loaded parameters (checked as a whole first).
        stages: Stage names to run, in any order (they run in build order); default: every
            stage that ``eoinstruct all`` runs.
        overrides: Dotted keys to set for this run (``{"filter.min_tags": 2}``).
        progress: Show progress bars.

    Returns:
        Stage name → what its ``run`` returned (counts for partitioned stages).

    Raises:
        ConfigError: If the parameters or an override are invalid.
        KeyError: If a stage name is unknown.
    """
    loaded = params if isinstance(params, Params) else load_params(Path(params))
    if overrides:
        loaded = loaded.with_overrides(overrides)
    chosen: list[Stage]
    if stages is None:
        chosen = list(build_order())
    else:
        wanted = {stage(name).name for name in stages}
        chosen = [s for s in build_order(include_frozen=True) if s.name in wanted]
    results: dict[str, Any] = {}
    for found in chosen:
        results[found.name] = found.runner()(loaded, progress=progress)
    return results
