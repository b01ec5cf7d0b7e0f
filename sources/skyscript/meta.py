"""SkyScript's meta pickles: loading them safely and checking what they hold.

Holds :class:`RestrictedUnpickler` and :func:`load_pickle_restricted`, the parsed record
:class:`Meta` (box, time, centre tags, surrounding tags) with :func:`parse_meta` and its field
checks, and :func:`surrounding_summary`, which folds the surrounding objects' tags into
``surrounding:<key>`` tags.

Layout facts relied on (``shared/docs/source-formats.md`` §3, which cites
wangzhecheng/SkyScript ``README.md`` and ``image_sources.py``; torchgeo's layout fixture
``tests/data/skyscript`` in ``shared/peer-data`` §1d):

- Meta: ``meta2/`` … ``meta7/``, one ``<stem>.pickle`` per image: a dict with ``box``
  ``(west, south, east, north)`` in degrees, ``time`` ``(year, month, day, hour, minute)``,
  ``center_tags`` ``{key: value}`` of the focus object and ``surrounding_tags``, a list of
  such dicts, one per surrounding object. The folder names ``metaN/`` are inferred from the
  zip names (UNVERIFIED); meta for ``imagesN/x.jpg`` is looked up at ``metaN/x.pickle``.

**Security.** The meta files are Python pickles downloaded from the internet; a pickle can run
any code when loaded. They are read only with :class:`RestrictedUnpickler`, whose
``find_class`` refuses every global: only pickles made of dicts, lists, tuples, strings,
numbers, booleans and ``None`` load, and anything naming a class or function (``os.system``,
``numpy`` scalars…) fails as ``malformed_label`` before it can be called. Files over
:data:`MAX_META_BYTES` are refused unread.

UNVERIFIED: that the pickles hold only plain Python types (a pickle with numpy scalars would
be refused), the time zone of ``time``.
"""

from __future__ import annotations

import io
import math
import pickle
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from eoinstruct.sources.base import SourceError, short_repr

MAX_META_BYTES = 16 * 1024 * 1024
"""Meta pickles larger than this are refused unread (real ones hold a few tags)."""

MAX_SURROUNDING_VALUES = 10
"""Values listed per ``surrounding:<key>`` tag; the rest are summarised as ``+N more``."""

_Fail = Callable[[str, str], SourceError]


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global, so loading can run no code.

    Plain dicts, lists, tuples, sets of literals, strings, bytes, numbers, booleans and
    ``None`` need no global and load as usual; any pickle that names a module attribute (a
    class to instantiate, a function to call such as ``os.system``) fails in
    :meth:`find_class`, before the object is looked up, let alone called.
    """

    def find_class(self, module: str, name: str) -> Any:
        """Refuse every global.

        Args:
            module: The global's module.
            name: The global's name.

        Raises:
            pickle.UnpicklingError: Always.
        """
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


def load_pickle_restricted(path: Path, unit: str = "") -> object:
    """Load a pickle file with :class:`RestrictedUnpickler`.

    Args:
        path: The pickle file.
        unit: The unit being read, for error messages.

    Returns:
        The unpickled object (made only of built-in containers and scalars).

    Raises:
        SourceError: ``malformed_label`` if the file is larger than :data:`MAX_META_BYTES`,
            is not a valid pickle, or names any global; ``missing_file`` if it cannot be
            opened.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_META_BYTES + 1)
    except FileNotFoundError as exc:
        raise SourceError("missing_file", f"skyscript {unit}: {path}: not found", unit) from exc
    except OSError as exc:
        raise SourceError("missing_file", f"skyscript {unit}: {path}: {exc}", unit) from exc
    if len(data) > MAX_META_BYTES:
        raise SourceError(
            "malformed_label",
            f"skyscript {unit}: {path}: meta pickle larger than {MAX_META_BYTES} bytes",
            unit,
        )
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # a crafted pickle can raise almost any exception type
        raise SourceError(
            "malformed_label",
            f"skyscript {unit}: {path}: not a plain-data pickle ({type(exc).__name__}: {exc})",
            unit,
        ) from exc


@dataclass(frozen=True)
class Meta:
    """The content of a meta pickle, validated.

    Attributes:
        box: ``(west, south, east, north)`` in degrees, or ``None`` if absent.
        time: ISO 8601 acquisition time, or ``""`` if absent.
        center_tags: Tags of the focus object (values as text).
        surrounding_tags: Tags of each surrounding object (values as text).
    """

    box: tuple[float, float, float, float] | None
    time: str
    center_tags: dict[str, str] = field(default_factory=dict)
    surrounding_tags: tuple[dict[str, str], ...] = ()


def parse_meta(data: object, path: Path, unit: str = "") -> Meta:
    """Validate an unpickled meta dict.

    Args:
        data: What the pickle held.
        path: The pickle file, for messages.
        unit: The unit being read, for messages.

    Returns:
        The validated meta.

    Raises:
        SourceError: ``malformed_label`` if ``data`` is not a dict or the tags are not
            dicts of text; ``bad_metadata`` for a ``box`` or ``time`` that is not a valid
            lon/lat box or date.
    """

    def fail(kind: str, why: str) -> SourceError:
        return SourceError(kind, f"skyscript {unit}: {path}: {why}", unit)

    if not isinstance(data, dict):
        raise fail("malformed_label", f"meta is a {type(data).__name__}, not a dict")
    return Meta(
        box=_parse_box(data.get("box"), fail),
        time=_parse_time(data.get("time"), fail),
        center_tags=_parse_tags(data.get("center_tags"), "center_tags", fail),
        surrounding_tags=_parse_surrounding(data.get("surrounding_tags"), fail),
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse_box(value: object, fail: _Fail) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    if not isinstance(value, tuple | list) or len(value) != 4 or not all(map(_is_number, value)):
        raise fail("bad_metadata", f"box {short_repr(value)} is not four numbers")
    west, south, east, north = (float(v) for v in value)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise fail("bad_metadata", f"box {short_repr(value)} is not finite")
    if not (-180.0 <= west < east <= 180.0 and -90.0 <= south < north <= 90.0):
        raise fail(
            "bad_metadata", f"box {short_repr(value)} is not (west, south, east, north) in degrees"
        )
    return west, south, east, north


def _parse_time(value: object, fail: _Fail) -> str:
    if value is None:
        return ""
    if (
        not isinstance(value, tuple | list)
        or not 3 <= len(value) <= 6
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise fail(
            "bad_metadata", f"time {short_repr(value)} is not (year, month, day, hour, minute)"
        )
    parts = [*value, 0, 0, 0][:6]
    year, month, day, hour, minute, second = parts
    try:
        moment = datetime(year, month, day, hour, minute, second)
    except (ValueError, OverflowError) as exc:
        raise fail("bad_metadata", f"time {short_repr(value)} is not a date ({exc})") from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value)
    return None


def _parse_tags(value: object, where: str, fail: _Fail) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("malformed_label", f"{where} is a {type(value).__name__}, not a dict")
    tags: dict[str, str] = {}
    for key, raw in value.items():
        text = _tag_text(raw)
        if not isinstance(key, str) or (text is None and raw is not None):
            raise fail(
                "malformed_label",
                f"{where} entry {short_repr(key, 60)}: {short_repr(raw, 60)} is not a tag",
            )
        if key.strip() and text:
            tags[key.strip()] = text
    return tags


def _parse_surrounding(value: object, fail: _Fail) -> tuple[dict[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise fail("malformed_label", f"surrounding_tags is a {type(value).__name__}, not a list")
    return tuple(_parse_tags(item, f"surrounding_tags[{i}]", fail) for i, item in enumerate(value))


def surrounding_summary(objects: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Summarise the surrounding objects' tags as one tag per key.

    Args:
        objects: Tags of each surrounding object.

    Returns:
        ``surrounding:<key>`` → ``"value (count); …"``, values by falling count then
        alphabetically, at most :data:`MAX_SURROUNDING_VALUES` of them (then ``+N more``).
    """
    counts: dict[str, Counter[str]] = {}
    for tags in objects:
        for key, value in tags.items():
            counts.setdefault(key, Counter())[value] += 1
    summary: dict[str, str] = {}
    for key in sorted(counts):
        ranked = sorted(counts[key].items(), key=lambda kv: (-kv[1], kv[0]))
        parts = [f"{value} ({n})" for value, n in ranked[:MAX_SURROUNDING_VALUES]]
        if len(ranked) > MAX_SURROUNDING_VALUES:
            parts.append(f"+{len(ranked) - MAX_SURROUNDING_VALUES} more")
        summary[f"surrounding:{key}"] = "; ".join(parts)
    return summary
