"""Stage ``sample_data``: write the embedded sample corpus under ``paths.sample``.

Each source's writer builds its folder under a temporary name which then replaces the old
one, so an interrupted run never leaves a half-written source behind.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from pipeline.config import Params
from pipeline.sample_corpus import WRITERS, writer

log = logging.getLogger(__name__)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def run(params: Params) -> dict[str, int]:
    """Write every source's sample data.

    Args:
        params: Parameters (``paths.sample``, ``sample_data.seed``).

    Returns:
        Number of files written per source.
    """
    out = params.path_of("sample")
    seed = int(params.section("sample_data")["seed"])
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out.iterdir()):
        if stale.name not in WRITERS:
            _remove(stale)
    counts: dict[str, int] = {}
    for name in sorted(WRITERS):
        final = out / name
        tmp = out / f".{name}.tmp-{os.getpid()}"
        _remove(tmp)
        writer(name)(tmp, seed)
        _remove(final)
        os.replace(tmp, final)
        counts[name] = sum(1 for p in final.rglob("*") if p.is_file())
        log.info("sample_data: %s: %d files in %s", name, counts[name], final)
    return counts
