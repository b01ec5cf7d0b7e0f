"""A compact, column-wise index of the samples de-duplication and splitting compare.

One row per sample, in numpy arrays only (no Python object per sample): the id, codes of the
source, modality, sensor and acquisition dates, the content hash, the perceptual
hashes (flat, with offsets), the footprint centroid, the official split and the location keys
(flat, with offsets). A corpus of a million samples takes a few hundred bytes per sample.
It is built partition by partition (:class:`IndexBuilder`), so a stage streams its inputs and
never holds more than one partition's rows as Python objects.

Also here: :func:`pairs_in_runs`, every pair of rows with equal keys, in bounded batches (the
candidate generator of exact, near and location-key matches).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

SPLITS: tuple[str, ...] = ("train", "validation", "test")
"""The splits, from the least to the most restrictive (the codes of :attr:`SampleIndex.split`)."""

PAIR_BATCH = 1 << 15
"""Pairs generated at once by :func:`pairs_in_runs` (memory bound)."""


@dataclasses.dataclass(frozen=True)
class SampleIndex:
    """What de-duplication and splitting know of every sample, column by column.

    Attributes:
        ids: Sample ids, UTF-8 (``S`` dtype; byte order is code-point order).
        source: Code of the source in :attr:`sources`.
        sources: Source names.
        modality: Code of the modality in :attr:`modalities`.
        modalities: Modality names.
        sensor: Code of the sensor in :attr:`sensors`.
        sensors: Sensor names.
        content: Content hash (``S`` dtype: a SHA-256 hex digest's 32 bytes; empty: unknown).
        phash: Perceptual hashes of all samples, flat (0 where an image has none).
        phash_null: Per flat hash, whether the image has none.
        phash_offsets: Sample ``i``'s hashes are ``phash[phash_offsets[i]:phash_offsets[i+1]]``.
        lon: Centroid longitude (NaN: no usable footprint).
        lat: Centroid latitude (NaN: no usable footprint).
        dates: Code of the tuple of UTC dates in :attr:`date_sets`.
        date_sets: The distinct date tuples.
        split: Official split as an index of :data:`SPLITS` (-1: none or another value).
        place_keys: Location keys of all samples, flat (``S`` dtype).
        place_offsets: Offsets of each sample's keys in :attr:`place_keys`.
    """

    ids: np.ndarray
    source: np.ndarray
    sources: tuple[str, ...]
    modality: np.ndarray
    modalities: tuple[str, ...]
    sensor: np.ndarray
    sensors: tuple[str, ...]
    content: np.ndarray
    phash: np.ndarray
    phash_null: np.ndarray
    phash_offsets: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    dates: np.ndarray
    date_sets: tuple[tuple[str, ...], ...]
    split: np.ndarray
    place_keys: np.ndarray
    place_offsets: np.ndarray

    def __len__(self) -> int:
        """Number of samples."""
        return len(self.ids)

    def sample_id(self, i: int) -> str:
        """Return the id of row ``i``."""
        return bytes(self.ids[i]).decode()

    @property
    def located(self) -> np.ndarray:
        """Whether each sample has a centroid."""
        located: np.ndarray = ~(np.isnan(self.lon) | np.isnan(self.lat))
        return located

    @property
    def phash_count(self) -> np.ndarray:
        """Number of images (perceptual hash slots) per sample."""
        return np.diff(self.phash_offsets)

    def visiting_order(self, priority: Sequence[str]) -> np.ndarray:
        """Rows in the order (position of the source in ``priority``, sample id).

        Sources missing from ``priority`` come after the listed ones.
        """
        rank = {name: i for i, name in enumerate(priority)}
        source_rank = np.array([rank.get(s, len(rank)) for s in self.sources], dtype=np.int64)
        if not len(self):
            return np.zeros(0, dtype=np.int64)
        return np.lexsort((self.ids, source_rank[self.source]))

    @classmethod
    def from_entries(cls, entries: Iterable[Any]) -> SampleIndex:
        """Build an index from :class:`~eoinstruct.pipeline.quality.dedup.IndexEntry` objects."""
        builder = IndexBuilder()
        for e in entries:
            builder.add(
                e.sample_id, e.source, e.modality, e.sensor, e.content, e.phashes,
                e.lon, e.lat, e.dates, e.split, e.places,
            )  # fmt: skip
        return builder.finish()


class IndexBuilder:
    """Collects index rows, partition by partition, into a :class:`SampleIndex`."""

    def __init__(self) -> None:
        """Start an empty index."""
        self._codes: dict[str, dict[Any, int]] = {
            "source": {}, "modality": {}, "sensor": {}, "dates": {}
        }  # fmt: skip
        self._rows: dict[str, list[Any]] = {k: [] for k in _ROW_FIELDS}
        self._columns: dict[str, np.ndarray] = {}
        self._sizes: dict[str, int] = {}
        self._count = 0

    def __len__(self) -> int:
        """Number of rows added so far."""
        return self._count

    def _code(self, kind: str, value: Any) -> int:
        codes = self._codes[kind]
        code = codes.get(value)
        if code is None:
            code = codes[value] = len(codes)
        return code

    def add(
        self,
        sample_id: str,
        source: str,
        modality: str,
        sensor: str,
        content: str,
        phashes: Sequence[int | None],
        lon: float | None,
        lat: float | None,
        dates: Sequence[str],
        split: str,
        places: Sequence[str],
    ) -> None:
        """Add one sample (the fields of :class:`~eoinstruct.pipeline.quality.dedup.IndexEntry`)."""
        rows = self._rows
        self._count += 1
        rows["ids"].append(sample_id.encode())
        rows["source"].append(self._code("source", source))
        rows["modality"].append(self._code("modality", modality))
        rows["sensor"].append(self._code("sensor", sensor))
        rows["content"].append(_digest(content))
        rows["phash"].extend(0 if h is None else h for h in phashes)
        rows["phash_null"].extend(h is None for h in phashes)
        rows["phash_count"].append(len(phashes))
        located = lon is not None and lat is not None
        rows["lon"].append(lon if located else np.nan)
        rows["lat"].append(lat if located else np.nan)
        rows["dates"].append(self._code("dates", tuple(dates)))
        rows["split"].append(SPLITS.index(split) if split in SPLITS else -1)
        rows["place_keys"].extend(k.encode() for k in places)
        rows["place_count"].append(len(places))
        if len(rows["ids"]) >= 65_536:
            self.flush()

    def flush(self) -> None:
        """Move the rows added so far into the columns (call at the end of a partition).

        Columns grow by doubling their capacity (pages past the end are never touched, so
        they take no memory), so the index is never held twice, as joining chunks would.
        """
        for name, values in self._rows.items():
            if not values:
                continue
            chunk = np.array(values, dtype=_ROW_FIELDS[name])
            values.clear()
            column, size = self._columns.get(name), self._sizes.get(name, 0)
            dtype = chunk.dtype if column is None else np.promote_types(column.dtype, chunk.dtype)
            if column is None or size + len(chunk) > len(column) or dtype != column.dtype:
                capacity = max(2 * size, size + len(chunk), 1024)
                grown = np.empty(capacity, dtype=dtype)
                if column is not None:
                    grown[:size] = column[:size]
                column = self._columns[name] = grown
            column[size : size + len(chunk)] = chunk
            self._sizes[name] = size + len(chunk)

    def finish(self) -> SampleIndex:
        """Return the index of every sample added."""
        self.flush()
        col = {
            name: self._columns[name][: self._sizes[name]]
            if name in self._columns
            else np.zeros(0, _ROW_FIELDS[name])
            for name in _ROW_FIELDS
        }
        self._columns, self._sizes = {}, {}

        def names(kind: str) -> tuple[Any, ...]:
            return tuple(sorted(self._codes[kind], key=self._codes[kind].__getitem__))

        def offsets(counts: np.ndarray) -> np.ndarray:
            return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

        return SampleIndex(
            ids=col["ids"],
            source=col["source"],
            sources=names("source"),
            modality=col["modality"],
            modalities=names("modality"),
            sensor=col["sensor"],
            sensors=names("sensor"),
            content=col["content"],
            phash=col["phash"],
            phash_null=col["phash_null"],
            phash_offsets=offsets(col["phash_count"]),
            lon=col["lon"],
            lat=col["lat"],
            dates=col["dates"],
            date_sets=names("dates"),
            split=col["split"],
            place_keys=col["place_keys"],
            place_offsets=offsets(col["place_count"]),
        )


def _digest(content: str) -> bytes:
    """A content hash as stored: a SHA-256 hex digest as its 32 bytes, anything else as text.

    Other text is stored after 33 bytes 0xff, so it is longer than any digest and never equals
    one (``S`` arrays ignore trailing zero bytes: a digest takes at most 32).
    """
    if len(content) == 64:
        try:
            return bytes.fromhex(content)
        except ValueError:
            pass
    return b"\xff" * 33 + content.encode() if content else b""


_ROW_FIELDS: dict[str, Any] = {
    "ids": "S",
    "source": np.int32,
    "modality": np.int32,
    "sensor": np.int32,
    "content": "S",
    "phash": np.uint64,
    "phash_null": bool,
    "phash_count": np.int64,
    "lon": np.float64,
    "lat": np.float64,
    "dates": np.int32,
    "split": np.int8,
    "place_keys": "S",
    "place_count": np.int64,
}


def pairs_in_runs(
    keys: Sequence[np.ndarray], batch: int = PAIR_BATCH
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield every pair of rows whose keys are all equal, in batches.

    Rows are sorted by the keys (the first key most significant), ties kept in row order;
    each pair is yielded once as ``(later, earlier)`` row numbers, ``earlier`` before
    ``later`` in that sort (so in row order within a run of equal keys).

    Args:
        keys: Equal-length arrays; rows equal in all of them form a run.
        batch: About how many pairs a batch holds (memory bound).

    Yields:
        ``(later, earlier)`` arrays of row numbers.
    """
    n = len(keys[0]) if keys else 0
    if n < 2:
        return
    # positions in the narrowest integer type: these arrays are the pass's peak memory
    pos = np.int32 if n < 2**31 else np.int64
    order = np.lexsort((np.arange(n, dtype=pos), *reversed(list(keys)))).astype(pos, copy=False)
    same = np.ones(n - 1, dtype=bool)
    for key in keys:
        k = key[order]
        same &= k[1:] == k[:-1]
        del k
    start_of_run = np.concatenate([[True], ~same])
    del same
    run_start = np.maximum.accumulate(np.where(start_of_run, np.arange(n, dtype=pos), pos(0)))
    del start_of_run
    partners = np.arange(n, dtype=pos) - run_start
    total = np.cumsum(partners, dtype=np.int64)
    begin = 0
    while begin < n:
        done = total[begin] - partners[begin]
        end = max(begin + 1, int(np.searchsorted(total, done + batch, side="right")))
        counts = partners[begin:end]
        if counts.sum():
            later = np.repeat(np.arange(begin, end), counts)
            first = np.repeat(np.cumsum(counts) - counts, counts)
            earlier = run_start[later] + (np.arange(later.size) - first)
            yield order[later].astype(np.int64), order[earlier].astype(np.int64)
        begin = end
