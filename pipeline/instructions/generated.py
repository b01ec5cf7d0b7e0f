"""Which pairs files of the generate stage are its current output (validate trusts their turns).

The generate stage fingerprints each partition (:func:`fingerprint_config` and the inputs, see
:func:`~eoinstruct.pipeline.run.partitions.partition_fingerprint`) and records the SHA-256 of
the pairs file it wrote. Generating is deterministic, so a pairs file whose partition
fingerprint still equals the one computed now, and whose bytes still have the recorded
SHA-256, holds exactly the pairs that making them again would give: the validate stage then
skips making them again (it still computes each pair's expected values and audits it).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.instructions.pairs import GENERATOR
from eoinstruct.pipeline.run.partitions import partition_fingerprint, partitions_from
from eoinstruct.pipeline.run.records import completed_records, output_of, read_record
from eoinstruct.pipeline.settings_cache import require

if TYPE_CHECKING:  # the models import pydantic
    from eoinstruct.pipeline.config import Params
    from eoinstruct.pipeline.settings import GenerateSettings
    from eoinstruct.templates import Template

STAGE = "generate"


def fingerprint_config(settings: GenerateSettings, templates: list[Template]) -> dict[str, Any]:
    """The parameters every partition's pairs depend on (part of its fingerprint).

    Args:
        settings: The ``generate`` section.
        templates: All templates.

    Returns:
        Settings, generator version and the templates' ids and digests.
    """
    return {
        "generate": settings.as_dict(),
        "generator": GENERATOR,
        "templates": [t.id for t in templates],
        "template_text": [[t.id, t.digest()] for t in templates],
    }


def current_pair_files(params: Params, templates: list[Template]) -> dict[Path, str]:
    """The pair files of finished partitions that this code would write again byte for byte.

    A partition is current when its recorded fingerprint (stage, code, settings, templates and
    the SHA-256 of its input samples, see
    :func:`~eoinstruct.pipeline.run.partitions.partition_fingerprint`) equals the one computed
    now: generating is deterministic, so its pairs file is then the one these samples give.
    Its content is vouched for only by the SHA-256 its completion record holds; a reader
    compares that with the file it reads (a pair changed since does not match).

    Args:
        params: Parameters (work and state folders, section ``generate``).
        templates: All templates.

    Returns:
        Pairs file → the SHA-256 its completion record holds (missing: not current or never
        recorded; its pairs must be checked by generating them again).
    """
    settings = require(params.settings.generate, "generate")
    config = fingerprint_config(settings, templates)
    stage_dir, states = params.work_dir(STAGE), params.state_dir(STAGE)
    try:
        partitions = partitions_from([(params.work_dir("dedup"), "kept")])
        records = {str(r["partition"]): r for r in completed_records(stage_dir)}
    except FileNotFoundError:
        return {}
    current: dict[Path, str] = {}
    for partition in partitions:
        record, state = records.get(partition.name), read_record(states, partition.name)
        if record is None or state is None:
            continue
        if state.get("fingerprint") != partition_fingerprint(STAGE, config, partition):
            continue
        path = output_of(stage_dir, record, "pairs")
        outputs: Any = record["outputs"]
        entry = outputs.get(path.relative_to(stage_dir).as_posix()) if path is not None else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if path is not None and isinstance(digest, str):
            current[path] = digest
    return current
