"""Start-up of a command-line process: what only a process the CLI owns may change.

:func:`arrow_lists_without_pandas` saves every stage process 0.3–0.5 CPU-s of importing
pandas, which pyarrow does on its first conversion of a Python list only to ask whether the
list is a pandas object. It changes how pyarrow treats pandas objects for the rest of the
process (until a pandas conversion imports pandas), so it is called by the command line's
entry point alone, never on import: a notebook or test that imports the pipeline keeps
pyarrow as it is. The pipeline itself passes pyarrow lists, dicts and numpy arrays only.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections.abc import Iterable
from typing import Any, NoReturn

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


PLUGIN_LOADER = "pydantic.plugin._loader"
_PLUGINS_OFF = ("__all__", "1", "true")


def _get_plugins() -> Iterable[object]:
    """Pydantic's ``get_plugins`` while ``PYDANTIC_DISABLE_PLUGINS`` turns them all off.

    Returns:
        No plugins; once the variable no longer disables them, pydantic's own loader's
        answer (the stand-in removes itself and imports the real module).
    """
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") in _PLUGINS_OFF:
        return ()
    if isinstance(sys.modules.get(PLUGIN_LOADER), _PluginLoader):
        del sys.modules[PLUGIN_LOADER]
    real: Any = importlib.import_module(PLUGIN_LOADER)
    return real.get_plugins()  # type: ignore[no-any-return]


class _PluginLoader(types.ModuleType):
    """The stand-in module of :func:`pydantic_plugins_unscanned`."""


def pydantic_plugins_unscanned() -> None:
    """Spare a process with pydantic's plugins disabled the import of ``importlib.metadata``.

    With ``PYDANTIC_DISABLE_PLUGINS=__all__`` pydantic's plugin loader returns no plugins
    without looking for any, but it is imported at the first model class and its module
    imports ``importlib.metadata`` (≈ 20 ms of each stage's start-up) for the entry points
    it then does not read. A stand-in loader that answers the same (no plugins) while the
    variable says so, and defers to the real loader once it does not, is put in its place.
    Does nothing when the variable does not disable every plugin or the loader is imported.
    """
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") not in _PLUGINS_OFF:
        return
    if PLUGIN_LOADER in sys.modules:
        return
    stand_in = _PluginLoader(PLUGIN_LOADER, _PluginLoader.__doc__)
    stand_in.get_plugins = _get_plugins  # type: ignore[attr-defined]
    sys.modules[PLUGIN_LOADER] = stand_in


FULL_EXIT_ENV = "EOINSTRUCT_FULL_EXIT"
"""Set to ``1`` to leave the process through the interpreter's full teardown (for tools that
need it, e.g. a leak checker)."""


PEAK_RSS_ENV = "EOINSTRUCT_PEAK_RSS_FILE"
"""Where the command line writes its process's peak RSS in bytes (Linux ``VmHWM``) as it
exits: the benchmark's exact memory figure for a stage too short to sample reliably."""


def peak_rss_bytes() -> int:
    """This process's peak resident set size in bytes (Linux ``VmHWM``); 0 without ``/proc``.

    Not ``ru_maxrss``: it keeps the high-water mark of the process image before ``exec``, i.e.
    of the parent that forked it.
    """
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def write_peak_rss(path: str) -> None:
    """Write :func:`peak_rss_bytes` to ``path`` (nothing where it is unknown).

    The benchmark then has only its samples of the RSS.

    Args:
        path: The file to write.
    """
    peak = peak_rss_bytes()
    if peak:
        with open(path, "w", encoding="utf-8") as out:
            out.write(str(peak))


def exit_without_teardown(status: int) -> NoReturn:
    """End the command-line process with ``status``, skipping the interpreter's teardown.

    Python's exit waits for non-daemon threads, runs the :mod:`atexit` handlers (logging's
    flush, :func:`weakref.finalize` callbacks, Dask's), flushes the standard streams, then
    frees every module and object one by one: with numpy, pyarrow, Pillow and the pipeline
    loaded that last part is 25–70 ms of every stage process, for memory the system takes
    back anyway. This does the first three, exactly as Python would, then
    :func:`os._exit`. Every file the pipeline writes is closed by its ``with`` block (and
    flushed to disk by its commit) before the command returns, so nothing is left to a
    destructor. Called by the command line's entry point alone; with
    :data:`FULL_EXIT_ENV` set to ``1`` it is plain :func:`sys.exit`.

    With :data:`PEAK_RSS_ENV` set, the process's peak RSS is written there first.

    Args:
        status: The exit status.
    """
    if os.environ.get(PEAK_RSS_ENV):
        write_peak_rss(os.environ[PEAK_RSS_ENV])
    if os.environ.get(FULL_EXIT_ENV) == "1":
        sys.exit(status)
    import atexit
    import threading

    current = threading.current_thread()
    for thread in threading.enumerate():  # as the interpreter's shutdown does
        if thread is not current and not thread.daemon and thread.is_alive():
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken pipe: as the interpreter ignores
                pass
    os._exit(status)
