"""eoinstruct: build instruction corpora for Earth observation.

``eoinstruct.build(params_path, stages=…)`` runs a build from Python
(:func:`eoinstruct.api.build`); the stages are in :mod:`eoinstruct.pipeline.stages`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "build"]


def build(*args: Any, **kwargs: Any) -> Any:
    """Run stages of a build; see :func:`eoinstruct.api.build` (imported on first use)."""
    from eoinstruct.api import build as _build

    return _build(*args, **kwargs)
