"""What the shard stage writes per sample: one Parquet row, its pair rows and one tar key.

A sample is stored once, with every image it has (not only the images its pairs show):

- ``images``: one RGB rendering per image (PNG, or the source's own 8-bit RGB bytes), in the
  order of ``image_roles``;
- ``arrays``: for every image that is not 8-bit RGB or grey (multispectral, SAR, thermal,
  hyperspectral, a single 8-bit band…), the raster itself, losslessly: ``.npy`` bytes of
  (bands, height, width) with ``shape``, ``dtype``, ``bands``, ``wavelengths_nm`` (centre
  wavelengths from the source's facts, null where none), ``gsd_m``, ``scale``/``offset``
  (physical value = stored × scale + offset), ``unit``, ``encoding`` and ``nodata``;
- ``dialogues``: one entry per pair (``pair_id``, ``task``, ``generator``, ``answer_style``,
  the pair's ``image_roles`` and ``conversations``…);
- ``acquired``: one date per image (see :func:`acquired_per_image`).

The same content goes to the WebDataset tar under the key :func:`sample_key`: ``<key>.json``
(everything but the pixels; ``arrays`` described by role), ``<key>.<role>.png`` and
``<key>.<role>.npy``. The per-pair views are in :mod:`eoinstruct.pipeline.corpus.views`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eoinstruct.pipeline.corpus.arrays import ENCODING_UNITS as ENCODING_UNITS
from eoinstruct.pipeline.corpus.arrays import _rounded as _rounded
from eoinstruct.pipeline.corpus.arrays import band_wavelengths as band_wavelengths
from eoinstruct.pipeline.corpus.arrays import needs_array as needs_array
from eoinstruct.pipeline.corpus.arrays import npy_bytes as npy_bytes
from eoinstruct.pipeline.corpus.arrays import stored_array as stored_array
from eoinstruct.pipeline.instructions.tags import leading_tags, pair_modality
from eoinstruct.pipeline.records import InstructionPair, Sample, to_json

if TYPE_CHECKING:
    import pyarrow as pa

TIME_ROLE = re.compile(r"^(t\d+)(?:_.+)?$")


class BlobRef:
    """One value of a binary Arrow array, referenced rather than copied.

    Attributes:
        buffer: The array's data buffer (for a rendering cache, a slice of the memory map).
        start: Offset of the value's first byte in ``buffer``.
        end: Offset after its last byte.
    """

    __slots__ = ("buffer", "end", "start")

    def __init__(self, buffer: pa.Buffer, start: int, end: int) -> None:
        self.buffer = buffer
        self.start = start
        self.end = end

    def __len__(self) -> int:
        return self.end - self.start

    def view(self) -> memoryview:
        """Return the value's bytes as a memoryview of the buffer (no copy)."""
        return memoryview(self.buffer)[self.start : self.end]

    def __bytes__(self) -> bytes:
        return bytes(self.view())


Blob = bytes | BlobRef
"""Encoded pixels: bytes decoded here, or a value of the rendering cache."""


def sample_key(sample_id: str) -> str:
    """Return the WebDataset key of a sample (ids may hold ``.`` and ``/``, keys may not)."""
    return hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:24]


def acquired_per_image(sample: Sample) -> list[str]:
    """Return one acquisition time per image, in the order of ``sample.images``.

    ``Sample.acquired`` has one time per distinct date: with one date every image gets it; with
    one per image they pair up in order; time-series roles ``t<i>`` and ``t<i>_<x>`` (a
    time step's extra bands) share the ``i``-th date. Otherwise (a source that documents no
    dates, such as QuakeSet) the time is ``""``.

    Args:
        sample: The sample.

    Returns:
        ISO 8601 strings, ``""`` where unknown.
    """
    dates = list(sample.acquired)
    images = sample.images
    if len(dates) == 1:
        return [dates[0]] * len(images)
    steps = [TIME_ROLE.match(im.role) for im in images]
    if dates and all(steps):
        order = list(dict.fromkeys(m.group(1) for m in steps if m))
        if len(order) == len(dates):
            return [dates[order.index(m.group(1))] for m in steps if m]
    if len(dates) == len(images):
        return dates
    return [""] * len(images)


def json_nodata(value: float | None) -> float | str | None:
    """The ``nodata`` of an array as JSON writes it (``"NaN"`` for NaN)."""
    if value is not None and math.isnan(value):
        return "NaN"
    return value


def pair_modalities(sample: Sample, pairs: Sequence[InstructionPair]) -> list[str]:
    """Each pair's :func:`pair_modality`, computed once per image set the sample's pairs show."""
    by_roles: dict[tuple[str, ...], str] = {}
    for pair in pairs:
        if pair.image_roles not in by_roles:
            by_roles[pair.image_roles] = pair_modality(sample, pair.image_roles)
    return [by_roles[pair.image_roles] for pair in pairs]


@functools.lru_cache(maxsize=1024)  # a build has a few task/sensor tag lines
def _tags_before_image(head: str) -> tuple[str, ...]:
    return tuple(leading_tags(head))


def first_tags(first_turn: str) -> tuple[str, ...]:
    """The tags before a first turn's first ``<image>`` (memoised: a build repeats them).

    Args:
        first_turn: A pair's first human turn.

    Returns:
        As :func:`~eoinstruct.pipeline.instructions.tags.leading_tags`.
    """
    return _tags_before_image(first_turn.split("<image>", 1)[0])


@functools.lru_cache(maxsize=256)  # a build has one or two generator settings
def _params_json(items: tuple[tuple[str, Any], ...]) -> str:
    """``to_json`` of a pair's ``generator_params`` given as its items."""
    return to_json(dict(items))


def dialogue(pair: InstructionPair, sample: Sample, modality: str | None = None) -> dict[str, Any]:
    """Return one pair as an item of its sample's ``dialogues`` (generator_params as JSON).

    Args:
        pair: The pair.
        sample: Its sample.
        modality: The pair's :func:`pair_modality`, where the caller has it.

    Returns:
        The item.
    """
    params = pair.generator_params
    try:
        params_json = _params_json(tuple(params.items()))
    except TypeError:  # an unhashable value (a list): encoded as it is
        params_json = to_json(dict(params))
    return {
        "pair_id": pair.pair_id,
        "task": pair.task,
        "template_id": pair.template_id,
        "paraphrase_id": pair.paraphrase_id,
        "answer_style": pair.answer_style,
        "generator": pair.generator,
        "generator_params": params_json,
        "modality": pair_modality(sample, pair.image_roles) if modality is None else modality,
        "image_roles": list(pair.image_roles),
        "conversations": [{"from": t.speaker, "value": t.value} for t in pair.turns],
    }


class _Encoded(str):
    """A value already serialised by :func:`to_json` (spliced by :func:`_doc_json`)."""


def _doc_json(doc: Mapping[str, Any]) -> str:
    """``to_json(doc)``, with the :class:`_Encoded` top-level values spliced in as they are.

    The metadata is serialised once for the Parquet row; the tar's JSON (whose size also
    counts towards ``shard.max_bytes``) reuses that text instead of encoding it again. The
    plain values between two spliced ones (in sorted key order) are encoded by one
    :func:`to_json` of their dict, not one call per key.
    """
    parts: list[str] = []
    plain: dict[str, Any] = {}
    for name, value in sorted(doc.items()):
        if isinstance(value, _Encoded):
            if plain:
                parts.append(to_json(plain)[1:-1])
                plain = {}
            parts.append(f"{to_json(name)}:{value}")
        else:
            plain[name] = value
    if plain:
        parts.append(to_json(plain)[1:-1])
    return "{" + ",".join(parts) + "}"


def sample_records(
    sample: Sample,
    pairs: Sequence[InstructionPair],
    split: str,
    rendered: Mapping[str, Blob],
    arrays: Mapping[str, tuple[Blob, dict[str, Any]]],
    metadata: Mapping[str, Any],
    modalities: Sequence[str] | None = None,
    tar_json: bool = True,
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Blob]]:
    """Return a sample's Parquet row, its pair-table rows and its tar members.

    Args:
        sample: The sample.
        pairs: Its pairs, in order.
        split: Its split.
        rendered: Role → RGB rendering bytes, for every image.
        arrays: Role → (``.npy`` bytes, description) for the images that ship an array.
        metadata: The sample's metadata (JSON-ready).
        modalities: Each pair's :func:`pair_modality`, where the caller has them.
        tar_json: Build the tar's ``json`` member (without it, :class:`TarDocSize` gives its
            size where a caller needs only that).

    Returns:
        The row, the pair rows, and the tar members (``json``, ``<role>.png``, ``<role>.npy``).
    """
    key = sample_key(sample.sample_id)
    roles = [im.role for im in sample.images]
    if modalities is None:
        dialogues = [dialogue(p, sample) for p in pairs]
    else:
        dialogues = [dialogue(p, sample, m) for p, m in zip(pairs, modalities, strict=True)]
    metadata_json = to_json(dict(metadata))
    acquired = acquired_per_image(sample)
    row = {
        "sample_id": sample.sample_id,
        "source": sample.source,
        "modality": sample.modality,
        "sensor": sample.sensor,
        "split": split,
        "acquired": acquired,
        "image_roles": roles,
        "images": [{"bytes": rendered[r], "path": f"{key}.{r}.png"} for r in roles],
        "arrays": [{**arrays[r][1], "npy": arrays[r][0]} for r in roles if r in arrays],
        "dialogues": dialogues,
        "metadata": metadata_json,
    }
    pair_rows = [
        {
            "pair_id": d["pair_id"],
            "sample_id": sample.sample_id,
            "source": sample.source,
            "split": split,
            "task": d["task"],
            "template_id": d["template_id"],
            "paraphrase_id": d["paraphrase_id"],
            "answer_style": d["answer_style"],
            "modality": d["modality"],
            "sensor": sample.sensor,
            "image_roles": d["image_roles"],
            "conversations": d["conversations"],
            "generator": d["generator"],
            "generator_params": d["generator_params"],
        }
        for d in dialogues
    ]
    members: dict[str, Blob] = {}
    if tar_json:
        infos = {r: info for r, (_, info) in arrays.items()}
        members["json"] = tar_document(sample, pairs, split, row, infos)
    for role in roles:
        members[f"{role}.png"] = rendered[role]
        if role in arrays:
            members[f"{role}.npy"] = arrays[role][0]
    return row, pair_rows, members


def tar_document(
    sample: Sample,
    pairs: Sequence[InstructionPair],
    split: str,
    row: Mapping[str, Any],
    arrays: Mapping[str, Mapping[str, Any]],
) -> bytes:
    """Return a sample's tar JSON member (everything but the pixels), UTF-8.

    Args:
        sample: The sample.
        pairs: Its pairs, in the order of ``row["dialogues"]``.
        split: Its split.
        row: Its Parquet row (:func:`sample_records`).
        arrays: Role → description of each stored array (without its bytes).

    Returns:
        The JSON bytes.
    """
    roles = row["image_roles"]
    doc = {
        "sample_id": sample.sample_id,
        "source": sample.source,
        "modality": sample.modality,
        "sensor": sample.sensor,
        "split": split,
        "acquired": row["acquired"],
        "image_roles": roles,
        "metadata": _Encoded(row["metadata"]),
        "arrays": {
            r: {**arrays[r], "nodata": json_nodata(arrays[r]["nodata"])}
            for r in roles
            if r in arrays
        },
        "dialogues": [
            {**d, "generator_params": dict(p.generator_params)}
            for d, p in zip(row["dialogues"], pairs, strict=True)
        ],
    }
    return _doc_json(doc).encode("utf-8")


_DOC_OVERHEAD = 512
"""Bytes that bound a tar document's keys, braces and separators outside its dialogues."""

_ITEM_OVERHEAD = 512
"""Bytes that bound one dialogue item's keys, braces and separators (its values apart)."""

_TURN_OVERHEAD = 64
"""Bytes that bound one turn's ``{"from":…,"value":…}`` around its two strings."""


_ITEM_TEXT = (
    "pair_id",
    "task",
    "template_id",
    "paraphrase_id",
    "answer_style",
    "generator",
    "modality",
)
"""The scalar values of a dialogue item (``paraphrase_id`` an int, bounded by its text)."""


def _text_bound(text: str | None) -> int:
    """An upper bound of the JSON bytes of a string (a character: at most 6, an escape)."""
    return 6 * len(text or "") + 8


class TarDocSize:
    """The byte size of a sample's tar JSON member without building it (tars off).

    ``shard.max_bytes`` counts the tar's JSON, so the split points need its exact size; it
    matters only where a file nears the limit. :attr:`upper` bounds it from the lengths of
    its strings (no serialising); :meth:`exact` builds the document (:func:`tar_document`).

    Args:
        sample: The sample.
        pairs: Its pairs.
        split: Its split.
        row: Its Parquet row.
        arrays: Role → description of each stored array.
    """

    def __init__(
        self,
        sample: Sample,
        pairs: Sequence[InstructionPair],
        split: str,
        row: Mapping[str, Any],
        arrays: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self._args = (sample, pairs, split, row, arrays)
        metadata = row["metadata"]
        upper = _DOC_OVERHEAD + (len(metadata) if metadata.isascii() else 4 * len(metadata))
        upper += sum(
            _text_bound(t)
            for t in (sample.sample_id, sample.source, sample.modality, sample.sensor, split)
        )
        upper += sum(_text_bound(a) for a in row["acquired"])
        upper += sum(_text_bound(r) for r in row["image_roles"])
        if arrays:
            described = {r: {**a, "nodata": json_nodata(a["nodata"])} for r, a in arrays.items()}
            upper += 4 * len(to_json(described))
        for item in row["dialogues"]:
            upper += _ITEM_OVERHEAD + 4 * len(item["generator_params"])
            upper += 6 * sum(len(str(item[k])) for k in _ITEM_TEXT) + 8 * len(_ITEM_TEXT)
            upper += sum(_text_bound(r) for r in item["image_roles"])
            for turn in item["conversations"]:
                upper += _TURN_OVERHEAD + _text_bound(turn["from"]) + _text_bound(turn["value"])
        self.upper = upper
        """An upper bound of :meth:`exact`."""

    def exact(self) -> int:
        """The JSON member's size in bytes (the document built and serialised)."""
        return len(tar_document(*self._args))
