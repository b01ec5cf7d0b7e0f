"""Writers of the embedded sample corpus: tiny datasets in the sources' real layouts.

Each module writes one source under ``<paths.sample>/<source>/`` exactly as the publisher's
archives extract, with synthetic pixels and labels and a few deliberately broken units that
exercise the failure and filter paths. Same seed, byte-identical files.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

WRITERS: dict[str, str] = {
    "bigearthnet_v1": "eoinstruct.pipeline.sample_corpus.bigearthnet_v1:write",
    "xbd": "eoinstruct.pipeline.sample_corpus.xbd:write",
    "skyscript": "eoinstruct.pipeline.sample_corpus.skyscript:write",
    "starcop": "eoinstruct.pipeline.sample_corpus.starcop:write",
    "quakeset": "eoinstruct.pipeline.sample_corpus.quakeset:write",
    "bigearthnet_v2": "eoinstruct.pipeline.sample_corpus.bigearthnet_v2:write",
    "satlas": "eoinstruct.pipeline.sample_corpus.satlas:write",
    "stac": "eoinstruct.pipeline.sample_corpus.stac:write",
}
"""Source name → ``module:function`` writing that source's sample data."""


def writer(name: str) -> Callable[[Path, int], None]:
    """Return the sample-data writer of a source.

    Args:
        name: Source name.

    Returns:
        ``write(root, seed)``.
    """
    module, func = WRITERS[name].split(":")
    return getattr(importlib.import_module(module), func)
