"""Start-up of a command-line process: what only a process the CLI owns may change.

:func:`arrow_lists_without_pandas` saves every stage process 0.3–0.5 CPU-s of importing
pandas, which pyarrow does on its first conversion of a Python list only to ask whether the
list is a pandas object. It changes how pyarrow treats pandas objects for the rest of the
process (until a pandas conversion imports pandas), so it is called by the command line's
entry point alone, never on import: a notebook or test that imports the pipeline keeps
pyarrow as it is. The pipeline itself passes pyarrow lists, dicts and numpy arrays only.
"""

from __future__ import annotations

import sys

import pyarrow as pa


class _NoPandas:
    """A meta-path finder that reports pandas as absent (see :func:`arrow_lists_without_pandas`)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        """Refuse ``pandas`` and its submodules; leave every other module to the next finder."""
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def arrow_lists_without_pandas() -> None:
    """Let pyarrow convert Python lists (``Table.from_pylist``) without importing pandas.

    The first ``pa.array`` of a list asks pyarrow's pandas shim whether pandas is installed,
    which imports it. One conversion with pandas hidden answers that check once for the
    process. Afterwards a pandas object given to ``pa.array`` is read as a plain sequence
    (NaN stays NaN rather than null) until ``to_pandas``/``Table.from_pandas`` imports pandas,
    which is why only the CLI's own process calls this. Does nothing once pandas is imported.
    """
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
