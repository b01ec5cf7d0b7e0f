"""Stage ``build_report``: the HTML build report and plot tables (``corpus/html_report.py``)."""

from __future__ import annotations

from pathlib import Path

from eoinstruct.pipeline.config import Params
from eoinstruct.pipeline.corpus.html_report import build_html_report


def run(params: Params, progress: bool = True) -> Path:
    """Write ``<paths.metrics>/report.html`` and ``<paths.metrics>/plots/*.csv``.

    Args:
        params: Parameters.
        progress: Unused (the stage is quick); accepted like every stage.

    Returns:
        The path of the HTML report.
    """
    return build_html_report(params)
