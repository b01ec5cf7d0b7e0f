"""One shared ``inflect`` engine, imported without typeguard's run-time instrumentation.

The generator's grammar helpers and the audit's independent checks both ask ``inflect`` for
articles, plurals and number words. ``inflect`` decorates its methods with typeguard's
``@typechecked``, which re-parses and recompiles each of them when the module is imported:
3.2 s of every stage process that writes or audits text, more than some stages' work
(``python -X importtime -c "import inflect"``). Those wrappers only reject arguments of the
wrong type, and the project passes strings and integers; so the module is imported once with
``typechecked`` as the identity, and its engine shared.
"""

from __future__ import annotations

import functools
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import inflect


def _identity(target: Callable[..., Any] | None = None, **_: Any) -> Any:
    """``typechecked`` without the checks: ``@typechecked`` and ``@typechecked(...)`` alike."""
    if target is None:
        return lambda func: func
    return target


@functools.lru_cache(maxsize=1)
def engine() -> inflect.engine:
    """Return the process's ``inflect`` engine (imported on first use).

    Returns:
        An ``inflect.engine``.
    """
    if "inflect" not in sys.modules and "typeguard" not in sys.modules:
        # typeguard itself is slow to import (unittest.mock, asyncio: ~45 ms) and inflect only
        # takes ``typechecked`` from it: a stand-in module lends the identity for the import.
        stand_in = types.ModuleType("typeguard")
        stand_in.typechecked = _identity  # type: ignore[attr-defined]
        sys.modules["typeguard"] = stand_in
        try:
            import inflect
        finally:
            del sys.modules["typeguard"]
    elif "inflect" not in sys.modules:
        import typeguard

        original = typeguard.typechecked
        typeguard.typechecked = _identity  # type: ignore[assignment]
        try:
            import inflect
        finally:
            typeguard.typechecked = original
    import inflect

    return inflect.engine()
