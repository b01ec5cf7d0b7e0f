"""Stage ``sample_data``: write the embedded sample corpus under ``paths.sample``.

Each registered source's writer (``sources/<name>/sample.py``: ``write(root, seed)``) builds
its folder under a temporary name which then replaces the old one, so an interrupted run
never leaves a half-written source behind. Last, a synthetic OpenStreetMap extract
``osm/extract.osm`` is written over the footprints of the samples the adapters read from
those folders (except units a writer module lists in ``NO_OSM``, which must stay tag-poor),
so the enrich stage has features to find. Every sample file's modification time is derived
from its bytes (:func:`stamp_times`), so the sources' fingerprints are the same in every
checkout.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.enrich.sample_extract import write_extract
from eoinstruct.pipeline.settings_cache import require
from eoinstruct.sources.base import SourceError
from eoinstruct.sources.registry import entry, make_adapter, source_names, writer

OSM_DIR = "osm"
OSM_EXTRACT = "extract.osm"

log = logging.getLogger(__name__)

SAMPLE_EPOCH = 1_700_000_000
"""Base of the sample files' modification times (seconds since 1970; see :func:`stamp_times`)."""


def stamp_times(folder: Path) -> None:
    """Give every file a modification time derived from its bytes.

    ``SAMPLE_EPOCH`` plus up to 194 days taken from the file's SHA-256: the same on every
    machine and every run, and different when the bytes change. The source fingerprints
    (``fingerprint`` stage) and ingest's partition signatures use sizes and times, so the
    sample build's ``dvc.lock`` is the same in every checkout.

    Args:
        folder: A source's sample folder.
    """
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        offset = int.from_bytes(hashlib.sha256(path.read_bytes()).digest()[:3], "big")
        stamp = (SAMPLE_EPOCH + offset) * 1_000_000_000
        os.utime(path, ns=(stamp, stamp))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def run(params: Params, progress: bool = True) -> dict[str, int]:
    """Write every source's sample data.

    Args:
        params: Parameters (``paths.sample``, ``sample_data.seed``).
        progress: Unused (the stage is quick); accepted like every stage.

    Returns:
        Number of files written per source.
    """
    out = params.path_of("sample")
    seed = require(params.settings.sample_data, "sample_data").seed
    out.mkdir(parents=True, exist_ok=True)
    names = source_names()
    for stale in sorted(out.iterdir()):
        if stale.name not in names and stale.name != OSM_DIR:
            _remove(stale)
    counts: dict[str, int] = {}
    for name in names:
        final = out / name
        tmp = out / f".{name}.tmp-{os.getpid()}"
        _remove(tmp)
        writer(name)(tmp, seed)
        stamp_times(tmp)
        _remove(final)
        os.replace(tmp, final)
        counts[name] = sum(1 for p in final.rglob("*") if p.is_file())
        log.info("sample_data: %s: %d files in %s", name, counts[name], final)
    footprints = sample_footprints(out, params.section("sources"))
    write_extract(out / OSM_DIR / OSM_EXTRACT, footprints, seed)
    counts[OSM_DIR] = 1
    log.info("sample_data: osm: extract over %d footprints", len(footprints))
    return counts


def sample_footprints(out: Path, sources: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Read the sample sources with their adapters and collect their lon/lat footprints.

    Args:
        out: The sample corpus folder (one sub-folder per source).
        sources: The ``sources`` section of ``params.yaml`` (adapter options; roots are
            replaced by the sample folders, and STAC chips go to a scratch folder).

    Returns:
        Footprint WKTs, sorted and de-duplicated, without those of ``NO_OSM`` units.
    """
    import tempfile

    footprints: set[str] = set()
    with tempfile.TemporaryDirectory() as scratch:
        for name in source_names():
            excluded = set(getattr(entry(name).module("sample"), "NO_OSM", ()))
            options = {
                k: v for k, v in sources.get(name, {}).items() if k not in ("root", "enabled")
            }
            if "chips_dir" in options or name == "stac":
                options["chips_dir"] = str(Path(scratch) / f"{name}_chips")
            adapter = make_adapter(name, {**options, "root": str(out / name)})
            for unit in adapter.list_units():
                try:
                    samples = adapter.read_unit(unit)
                except SourceError:
                    continue
                for sample in samples:
                    if sample.footprint_wkt and sample.native_id not in excluded:
                        footprints.add(sample.footprint_wkt)
    return sorted(footprints)


def summarize(counts: dict[str, int]) -> str:
    """One line per source: the files its sample data holds (printed by the CLI)."""
    return "\n".join(f"sample_data: {source}: {n} files" for source, n in counts.items())
