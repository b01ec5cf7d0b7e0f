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
    "bigearthnet_v1": "eoinstruct.sources.bigearthnet_v1.sample:write",
    "xbd": "eoinstruct.sources.xbd.sample:write",
    "skyscript": "eoinstruct.sources.skyscript.sample:write",
    "starcop": "eoinstruct.sources.starcop.sample:write",
    "quakeset": "eoinstruct.sources.quakeset.sample:write",
    "bigearthnet_v2": "eoinstruct.sources.bigearthnet_v2.sample:write",
    "satlas": "eoinstruct.sources.satlas.sample:write",
    "stac": "eoinstruct.sources.stac.sample:write",
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
