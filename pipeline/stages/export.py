"""Stage ``export``: the EarthDial export of the corpus (``pipeline/corpus/earthdial.py``).

Reads ``<paths.corpus>/data/*.parquet`` (one row per sample, exploded into pairs) and writes
``<earthdial.out>`` (default ``data/earthdial``): one ``save_to_disk`` dataset per sub-dataset
and ``mixture_<split>.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.earthdial import export_earthdial

DEFAULT_OUT = "data/earthdial"


def run(params: Params, progress: bool = True) -> dict[str, Any]:
    """Write the EarthDial export.

    Args:
        params: Parameters: ``paths.corpus`` and the optional section ``earthdial`` with
            ``out``, ``image_tokens`` (``after_tags`` or ``first``), ``repeat_time``
            (per source, ``default`` for the rest) and ``annotation_root``.
        progress: Unused (the stage is quick); accepted like every stage.

    Returns:
        The mixtures by split.
    """
    options = params.settings.earthdial
    return export_earthdial(
        params.path_of("corpus"),
        Path(options.out or DEFAULT_OUT),
        image_tokens=options.image_tokens,
        repeat_time=dict(options.repeat_time),
        annotation_root=options.annotation_root,
    )


def summarize(mixtures: dict[str, Any]) -> str:
    """One line: the exported subsets per split (printed by the CLI)."""
    per_split = ", ".join(f"{split}: {len(subsets)}" for split, subsets in mixtures.items())
    return f"export: subsets per split: {per_split or 'none'}"
