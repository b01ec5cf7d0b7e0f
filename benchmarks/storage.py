"""Bytes on disk of a finished build (sources excluded) against the corpus's unique bytes.

Counts what ``du`` counts (allocated blocks, every hard-linked inode once) under
``paths.work`` (its ``_rendered`` renderings, a cache the shard stage deletes, also on their
own: counted once, in ``renderings``), ``paths.corpus``, ``earthdial.out`` (written on
demand: usually absent) and
``.dvc/cache``, and compares the total with the unique image bytes the dataset card states
(each rendering and array once, from the shard stage's summaries) and with the corpus's own
bytes. Prints one JSON object.

Run from the repository root after ``dvc repro``: ``python -m benchmarks.storage``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.corpus.layout import merge_summaries, storage_figures, summary_paths
from eoinstruct.pipeline.io.rendered import RENDER_CACHE


def disk_bytes(folder: Path, seen: set[tuple[int, int]]) -> int:
    """Allocated bytes under a folder, each inode once across calls (``du``'s rule).

    Args:
        folder: The folder (missing: 0).
        seen: ``(device, inode)`` pairs counted so far; updated.

    Returns:
        Bytes (512-byte blocks × 512).
    """
    total = 0
    if not folder.exists():
        return 0
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            st = os.lstat(os.path.join(dirpath, name))
            key = (st.st_dev, st.st_ino)
            if key not in seen:
                seen.add(key)
                total += st.st_blocks * 512
    return total


def measure(params_path: Path) -> dict[str, Any]:
    """Measure the build described by a params file (relative paths from the current folder).

    Args:
        params_path: The build's ``params.yaml``.

    Returns:
        Bytes per folder, their total, the unique image bytes and the ratios.
    """
    params = load_params(params_path)
    # the score stage's renderings (each image once, PNG or original bytes, and its array):
    # what the shard stage copies instead of decoding the pixels a second time
    renderings = params.path_of("work") / RENDER_CACHE
    folders = {
        "renderings": renderings,
        "work": params.path_of("work"),
        "corpus": params.path_of("corpus"),
        "export": Path(params.settings.earthdial.out),
        "dvc_cache": params_path.parent / ".dvc" / "cache",
    }
    seen: set[tuple[int, int]] = set()
    sizes = {name: disk_bytes(path, seen) for name, path in folders.items()}
    total = sum(sizes.values())
    unique = int(storage_figures(merge_summaries(summary_paths(params))).get("unique_images", 0))
    return {
        "bytes": sizes,
        "total": total,
        "unique_images": unique,
        "total_vs_unique_images": round(total / unique, 3) if unique else None,
        "total_vs_corpus": round(total / sizes["corpus"], 3) if sizes["corpus"] else None,
        "renderings_vs_unique_images": round(sizes["renderings"] / unique, 3) if unique else None,
        "without_renderings_vs_corpus": (
            round((total - sizes["renderings"]) / sizes["corpus"], 3) if sizes["corpus"] else None
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Print the measurement as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.params), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
