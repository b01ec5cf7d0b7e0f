"""A stage's closing work that overlaps the next stage's partitions (``eoinstruct all``).

After its partitions, a stage may write figures that no stage after it reads until later in
the run (filter's and dedup's metrics and plots). Run by ``eoinstruct all`` on a cluster, that
work would leave every worker idle while the driver does it alone; inside :func:`overlapped`
it runs in a thread of the driver instead, beside the next stage's partitions on the workers.
Each such piece of work is finished before the stage after the next one starts
(:func:`settle`, called by the run before each stage) and before the run ends, and its error,
if any, stops the run there. Outside :func:`overlapped` (one stage per command, as DVC runs
them, or an in-process run, whose one core has nothing to overlap) it runs at once, as before.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _Closing:
    """One stage's closing work, running in a thread."""

    stage: str
    thread: threading.Thread
    error: list[BaseException] = field(default_factory=list)


_PENDING: list[_Closing] | None = None
"""The closing work started inside :func:`overlapped` (None: not inside it)."""


def after_partitions(stage: str, work: Callable[[], object]) -> None:
    """Do a stage's closing work: now, or beside the next stage inside :func:`overlapped`.

    Args:
        stage: The stage's name.
        work: What it writes after its partitions; nothing the next stage reads.
    """
    if _PENDING is None:
        work()
        return
    errors: list[BaseException] = []
    thread = threading.Thread(target=_catching(work, errors), name=f"{stage}-closing", daemon=True)
    closing = _Closing(stage, thread, errors)
    _PENDING.append(closing)
    closing.thread.start()


def _catching(work: Callable[[], object], errors: list[BaseException]) -> Callable[[], None]:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # raised in the run's thread by settle()
            errors.append(exc)

    return run


def settle(keep: str | None = None) -> None:
    """Finish every stage's closing work but that of ``keep``; raise the first error.

    Args:
        keep: The stage whose closing work may go on (the one that just ran), or None.

    Raises:
        BaseException: What a closing work raised.
    """
    if not _PENDING:
        return
    for closing in [c for c in _PENDING if c.stage != keep]:
        closing.thread.join()
        _PENDING.remove(closing)
        if closing.error:
            raise closing.error[0]


@contextlib.contextmanager
def overlapped(enabled: bool = True) -> Iterator[None]:
    """Let the stages run inside the block overlap their closing work with the next stage.

    Every closing work is finished when the block ends, even by an exception.

    Args:
        enabled: False runs every closing work at once (in-process runs).

    Raises:
        BaseException: A closing work's error, when the block itself raised none.
    """
    global _PENDING
    if not enabled or _PENDING is not None:
        yield
        return
    _PENDING = []
    try:
        yield
    except BaseException:
        pending, _PENDING = _PENDING, None
        for closing in pending:
            closing.thread.join()
            if closing.error:
                log.error("%s: closing work failed too: %s", closing.stage, closing.error[0])
        raise
    try:
        settle()
    finally:
        _PENDING = None
