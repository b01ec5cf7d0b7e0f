"""Checks of adapter options (``sources.<name>`` in ``params.yaml``) that several sources share."""

from __future__ import annotations

from collections.abc import Sequence


def parse_sensors(value: object, known: Sequence[str], source: str) -> tuple[str, ...]:
    """Validate a ``sensors`` option: a sensor name or a list of them.

    Args:
        value: The option value.
        known: The sensor names the adapter knows.
        source: Source name used in the error message.

    Returns:
        The selected sensors, without duplicates, in the given order.

    Raises:
        ValueError: If a name is unknown or none is given.
    """
    names: list[object] = [value] if isinstance(value, str) else []
    if not names and isinstance(value, Sequence):
        names = list(value)
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(
            f"{source}: option sensors={value!r} is invalid; use a non-empty list of {list(known)}"
        )
    return tuple(str(n) for n in dict.fromkeys(names))
