"""Seeded mutations of the sample corpus and the runner that classifies what each one does.

Used by ``tests/test_fuzz.py``. Every registered source's sample corpus is written once; each
mutation changes one file of it in place (after saving its bytes), the source is read again
in-process, and the file is restored. A mutation declares the outcomes it may have:

- ``quarantined``: the units it concerns fail with a :class:`SourceError` (or are no longer
  listed, for a file that defines a unit), or a raster of theirs fails
  :func:`~eoinstruct.pipeline.io.rasters.read_image` with a :class:`RasterReadError` (what
  the score step does); every other unit reads as before.
- ``clean_stop``: :meth:`list_units` stops with a one-line :class:`SourceError` or
  :class:`SourceNotFoundError` (an index of the whole dataset is unreadable).
- ``harmless``: every record is identical to the unmutated run's (except the fields named in
  ``may_differ``).

Anything else is a failure: ``traceback`` (an exception the project does not declare),
``hang`` (over the time bound), ``silently_wrong`` (a record that differs from the unmutated
run's, or a record of a unit that should have been quarantined).
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import traceback
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from eoinstruct.pipeline.io.rasters import RasterReadError, read_image
from eoinstruct.pipeline.records import Sample, sample_to_row, to_json
from eoinstruct.sources.base import SourceError, SourceNotFoundError
from eoinstruct.sources.registry import make_adapter

RASTERS = (".tif", ".tiff", ".png", ".jpg", ".jpeg")
"""Suffixes (lower case) of image files."""

TIME_LIMIT_S = 10.0
"""Longest a mutated source may take to list and read its units (a hang otherwise)."""


class Hang(BaseException):
    """Raised by the alarm when a mutated read runs past :data:`TIME_LIMIT_S`."""


@dataclass(frozen=True)
class Mutation:
    """One change to one source's sample corpus and the outcomes it may have.

    Attributes:
        source: Source name.
        kind: The change (a key of :data:`OPERATIONS`).
        target: Path of the changed file, relative to the source root.
        expect: Allowed outcomes (``quarantined``, ``clean_stop``, ``harmless``), or
            ``("xfail_generic",)`` for a generic raster check that ``pipeline/io/rasters.py``
            lacks (the reason in ``note``).
        units: Units the change concerns (each must fail when ``quarantined`` is expected).
        note: Why the expectation is what it is, when it is not obvious.
        may_differ: Top-level record fields a ``harmless`` change may alter (free text).
    """

    source: str
    kind: str
    target: str
    expect: tuple[str, ...]
    units: tuple[str, ...] = ()
    note: str = ""
    may_differ: tuple[str, ...] = ()
    variant: int = 0


@dataclass
class Outcome:
    """What a mutation did: its class and a line saying why."""

    kind: str
    detail: str = ""


# --- file operations -------------------------------------------------------------------


def _truncate(path: Path, rng: random.Random) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: max(1, len(data) // 2)])


def _garbage(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    span = min(len(data), 48)
    data[:span] = rng.randbytes(span)
    path.write_bytes(bytes(data))


def _flip(path: Path, rng: random.Random) -> None:
    """Flip eight random bits past the first 64 bytes (the header stays intact)."""
    data = bytearray(path.read_bytes())
    if len(data) > 65:
        for _ in range(8):
            i = rng.randrange(64, len(data))
            data[i] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


def _pickle_bomb(path: Path, rng: random.Random) -> None:
    """A 200-byte pickle whose value holds 2**30 shared references (its repr never ends)."""
    import pickle

    value: list[object] = []
    for _ in range(30):
        value = [value, value]
    path.write_bytes(pickle.dumps(value, protocol=2))


def _delete(path: Path, rng: random.Random) -> None:
    path.unlink()


def _empty(path: Path, rng: random.Random) -> None:
    path.write_bytes(b"")


def renamed(path: Path) -> Path:
    """Where :func:`_rename` moves a file (``B04.tif`` → ``B04_renamed.tif``)."""
    return path.with_name(f"{path.stem}_renamed{path.suffix}")


def _rename(path: Path, rng: random.Random) -> None:
    path.rename(renamed(path))


def _deep_json(path: Path, rng: random.Random) -> None:
    depth = 200_000
    path.write_text('{"a": ' * depth + "1" + "}" * depth, encoding="utf-8")


def _json_leaves(value: Any, trail: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _json_leaves(value[key], (*trail, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_leaves(item, (*trail, i))
    else:
        yield trail, value


def _set_leaf(value: Any, trail: tuple[Any, ...], new: Any) -> Any:
    if not trail:
        return new
    value[trail[0]] = _set_leaf(value[trail[0]], trail[1:], new)
    return value


def _json_leaf(numeric: bool) -> Callable[[Path, random.Random], None]:
    """Replace one leaf of a JSON file: a number by NaN, or any leaf by a value of another type."""

    def change(path: Path, rng: random.Random) -> None:
        data = json.loads(path.read_text(encoding="utf-8"))
        leaves = [
            (trail, v)
            for trail, v in _json_leaves(data)
            if not numeric or (isinstance(v, int | float) and not isinstance(v, bool))
        ]
        if not leaves:  # nothing of that type: the whole document becomes a wrong type
            path.write_text("[1, 2, 3]" if isinstance(data, dict) else '{"x": 1}', "utf-8")
            return
        trail, old = rng.choice(leaves)
        new: Any = float("nan") if numeric else ({"x": [old]} if old is not None else [1])
        path.write_text(json.dumps(_set_leaf(data, trail, new)), encoding="utf-8")

    return change


def _csv_row(insert: str) -> Callable[[Path, random.Random], None]:
    """Insert ``insert`` in the middle of one data row of a CSV file."""

    def change(path: Path, rng: random.Random) -> None:
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        rows = [i for i, line in enumerate(lines) if i > 0 and line.strip()] or [0]
        i = rng.choice(rows)
        line = lines[i].rstrip("\r\n")
        cut = rng.randrange(1, max(2, len(line)))
        lines[i] = line[:cut] + insert + line[cut:] + "\n"
        path.write_text("".join(lines), encoding="utf-8")

    return change


def _other_size(path: Path, rng: random.Random) -> None:
    """Rewrite an image at three quarters of its width and height (same format)."""
    if path.suffix.lower() in (".tif", ".tiff"):
        import rasterio

        with rasterio.open(path) as src:
            profile = src.profile.copy()
            h, w = max(1, src.height * 3 // 4), max(1, src.width * 3 // 4)
            data = src.read()[:, :h, :w]
        profile.update(height=h, width=w)
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        profile["tiled"] = False
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
        return
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        fmt = im.format
        small = im.crop((0, 0, max(1, im.width * 3 // 4), max(1, im.height * 3 // 4)))
    small.save(path, format=fmt)


OPTIONAL_H5 = ("before",)
"""HDF5 datasets the layouts make optional (QuakeSet's ``before``): removing one is a valid
file, so the fuzz does not remove them."""


def _h5_drop(path: Path, rng: random.Random) -> None:
    """Delete one dataset of an HDF5 file, chosen among the deepest ones."""
    import h5py

    with h5py.File(path, "r+") as h5:
        names: list[str] = []
        h5.visit(names.append)
        names = [n for n in names if n.rsplit("/", 1)[-1] not in OPTIONAL_H5]
        deepest = max(n.count("/") for n in names)
        choice = rng.choice(sorted(n for n in names if n.count("/") == deepest))
        del h5[choice]


OPERATIONS: dict[str, Callable[[Path, random.Random], None]] = {
    "truncate": _truncate,
    "garbage_header": _garbage,
    "flip_bytes": _flip,
    "pickle_bomb": _pickle_bomb,
    "delete": _delete,
    "empty": _empty,
    "rename": _rename,
    "deep_json": _deep_json,
    "json_nan": _json_leaf(numeric=True),
    "json_wrong_type": _json_leaf(numeric=False),
    "csv_nul": _csv_row("\x00"),
    "csv_quote": _csv_row('"'),
    "other_size": _other_size,
    "h5_drop": _h5_drop,
}
"""Mutation kind → the change it makes to a file."""


# --- reading a source ------------------------------------------------------------------


@dataclass
class Reading:
    """One read of a source: records (as JSON) or the failure kind of every listed unit."""

    units: dict[str, str] = field(default_factory=dict)
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    stop: str = ""
    listed: set[str] = field(default_factory=set)


def _row(sample: Sample, skip: tuple[str, ...] = ()) -> str:
    """A record as JSON, without the fields in ``skip`` (``name`` or ``property:<key>``)."""
    row = sample_to_row(sample)
    props = {k[len("property:") :] for k in skip if k.startswith("property:")}
    if props:
        labels = dict(row["labels"])  # type: ignore[call-overload]
        labels["properties"] = [kv for kv in labels["properties"] if kv[0] not in props]
        row["labels"] = labels
    return to_json({k: v for k, v in row.items() if k not in skip})


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"over {seconds:g} s")

    old = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def read_source(name: str, options: dict[str, Any], only: Collection[str] = ()) -> Reading:
    """List and read every unit of a source (or only the listed ones of ``only``).

    Returns:
        Per unit, its records as one JSON text or ``error:<kind>``; ``stop`` holds the error
        line when listing fails cleanly. Undeclared exceptions propagate.
    """
    got = Reading()
    try:
        adapter = make_adapter(name, options)
        units = adapter.list_units()
    except (SourceError, SourceNotFoundError) as exc:
        got.stop = str(exc)
        return got
    got.listed = set(units)
    for unit in units:
        if only and unit not in only:
            continue
        try:
            samples = adapter.read_unit(unit)
        except SourceError as exc:
            got.units[unit] = f"error:{exc.kind}"
            continue
        got.samples[unit] = samples
        got.units[unit] = "\n".join(_row(s) for s in samples)
    return got


def unit_files(
    name: str, options: dict[str, Any], reading: Reading
) -> tuple[dict[str, set[Path]], dict[str, set[Path]]]:
    """Files of each unit: those it is read from (declared or referenced by its records), and
    the rasters its records reference (what the score step reads)."""
    adapter = make_adapter(name, options)
    files: dict[str, set[Path]] = {}
    pixels: dict[str, set[Path]] = {}
    for unit in reading.units:
        found = {p.resolve() for p in adapter.unit_files(unit)}
        shipped: set[Path] = set()
        for sample in reading.samples.get(unit, []):
            for image in sample.images:
                shipped.update(_file(f) for f in image.files)
            shipped.update(_file(f) for f in sample.labels.rasters.values())
        files[unit] = {p for p in found | shipped if p.is_file()}
        pixels[unit] = {p for p in shipped if p.is_file()}
    return files, pixels


def _file(reference: str) -> Path:
    """The file of a path written into a record (without a ``#xywh=`` window)."""
    return Path(reference.split("#", 1)[0]).resolve()


def _pixels_fail(samples: list[Sample], target: Path) -> bool:
    """Whether reading the images that use ``target`` (all, if none does) fails as score would."""
    images = [im for s in samples for im in s.images]
    using = [im for im in images if target.resolve() in {_file(f) for f in im.files}]
    for image in using or images:
        try:
            read_image(image)
        except RasterReadError:
            return True
    return False


def _without(reading: Reading, skip: tuple[str, ...]) -> Reading:
    units = {
        unit: text
        if text.startswith("error:")
        else "\n".join(_row(s, skip) for s in reading.samples[unit])
        for unit, text in reading.units.items()
    }
    return Reading(units=units, samples=reading.samples, stop=reading.stop, listed=reading.listed)


def classify(mutation: Mutation, base: Reading, got: Reading, target: Path) -> Outcome:
    """Compare a mutated read with the unmutated one and name the outcome."""
    if mutation.may_differ:  # compare without the free-text fields the mutation may alter
        base, got = _without(base, mutation.may_differ), _without(got, mutation.may_differ)
    if got.stop:
        if "\n" in got.stop.strip():
            return Outcome("traceback", f"multi-line stop: {got.stop[:200]!r}")
        return Outcome("clean_stop", got.stop[:160])
    concerned = set(mutation.units)
    quarantined: list[str] = []
    for unit, before in base.units.items():
        if unit in got.listed and unit not in got.units:
            continue  # not read: the mutation concerns other units only
        after = got.units.get(unit)
        if after is None or (after.startswith("error:") and not before.startswith("error:")):
            quarantined.append(unit)
            continue
        if after == before and unit not in concerned:
            continue
        if after.startswith("error:"):
            continue  # failed before and after (the kind may change)
        if after != before:
            if _pixels_fail(got.samples[unit], target):
                quarantined.append(unit)
                continue
            return Outcome("silently_wrong", f"unit {unit} gives another record")
        # the concerned unit's record is unchanged: its pixels must now fail to read
        if "quarantined" in mutation.expect and "harmless" not in mutation.expect:
            if not before.startswith("error:") and _pixels_fail(got.samples[unit], target):
                quarantined.append(unit)
            elif not before.startswith("error:"):
                return Outcome("silently_wrong", f"unit {unit} still gives its record")
    new_units = sorted(set(got.units) - set(base.units))
    if any(not got.units[u].startswith("error:") for u in new_units):
        return Outcome("silently_wrong", f"new unit(s) with records: {new_units[:3]}")
    if quarantined:
        return Outcome("quarantined", f"{len(quarantined)} unit(s): {quarantined[:2]}")
    return Outcome("harmless")


def run_mutation(
    mutation: Mutation,
    root: Path,
    options: dict[str, Any],
    base: Reading,
    seed: int,
) -> Outcome:
    """Apply a mutation, read the source, restore the file and classify what happened."""
    target = root / mutation.target
    saved = target.read_bytes()
    moved = [target, renamed(target)]
    rng = random.Random(
        f"{seed}:{mutation.source}:{mutation.kind}:{mutation.target}:{mutation.variant}"
    )
    if options.get("chips_dir"):  # outputs of the adapter (STAC chips) are read afresh
        shutil.rmtree(options["chips_dir"], ignore_errors=True)
    try:
        OPERATIONS[mutation.kind](target, rng)
        try:
            with _alarm(TIME_LIMIT_S):
                got = read_source(mutation.source, options, mutation.units)
                return classify(mutation, base, got, target)
        except Hang as exc:
            return Outcome("hang", str(exc))
        except RecursionError as exc:
            return Outcome("traceback", f"RecursionError: {str(exc)[:120]}")
        except Exception as exc:  # every undeclared exception is a traceback
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return Outcome(
                "traceback",
                f"{type(exc).__name__}: {str(exc)[:160]} at {Path(where.filename).name}:"
                f"{where.lineno}",
            )
    finally:
        for path in moved:
            if path.exists() and path != target:
                path.unlink()
        target.write_bytes(saved)


def copy_tree(src: Path, dst: Path) -> None:
    """Copy a sample root (the fuzz mutates its own copy)."""
    shutil.copytree(src, dst)
