"""Parquet reading and writing shared by the stages, plus the failure and drop ledgers.

Every intermediate file is written with the same settings (zstd, fixed row-group size), so
that the same rows give the same bytes. Ledgers are Parquet files listing every unit a stage
failed on (with the error) or dropped (with the reason): nothing disappears unrecorded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from eoinstruct.pipeline.records import (
    PAIR_SCHEMA,
    SAMPLE_SCHEMA,
    InstructionPair,
    Sample,
    Turn,
    pair_from_row,
    sample_from_row,
)

ROW_GROUP_SIZE = 1024

FAILURE_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("partition", pa.string()),
        ("source", pa.string()),
        ("item", pa.string()),
        ("kind", pa.string()),
        ("message", pa.string()),
    ]
)
"""One row per unit a stage could not process."""

DROP_SCHEMA = pa.schema(
    [
        ("stage", pa.string()),
        ("partition", pa.string()),
        ("source", pa.string()),
        ("item", pa.string()),
        ("reason", pa.string()),
        ("reasons", pa.list_(pa.string())),
        ("detail", pa.string()),
    ]
)
"""One row per unit a stage removed on purpose; ``reason`` is the first of ``reasons``."""


@dataclass(frozen=True)
class Failure:
    """A unit that could not be processed."""

    item: str
    kind: str
    message: str


@dataclass(frozen=True)
class Drop:
    """A unit removed on purpose, with every reason that applied (first one counts)."""

    item: str
    reasons: tuple[str, ...]
    detail: str = ""


def write_table(path: Path, table: pa.Table, row_group_size: int = ROW_GROUP_SIZE) -> None:
    """Write a table to Parquet with the project's fixed settings.

    Args:
        path: Destination (normally a temporary path from the executor).
        table: The table.
        row_group_size: Rows per row group.
    """
    pq.write_table(
        table,
        path,
        compression="zstd",
        row_group_size=row_group_size,
        write_statistics=True,
    )


def release_arrow_memory() -> None:
    """Hand the pages of Arrow's freed buffers back to the system.

    pyarrow's default pool (mimalloc) keeps them for reuse, and a stage that builds one table
    per partition then grows its peak RSS with the number of partitions (generate: 100 MB at
    200 samples, 121 MB at 2,000; 100 MB with this after each partition). Call it once a
    partition's tables are written and dropped.
    """
    pa.default_memory_pool().release_unused()


def write_failures(
    path: Path, stage: str, partition: str, source: str, failures: Sequence[Failure]
) -> None:
    """Write a failure ledger (possibly empty).

    Args:
        path: Destination.
        stage: Stage name.
        partition: Partition name.
        source: Source name.
        failures: The failures, in processing order.
    """
    rows = [
        {
            "stage": stage,
            "partition": partition,
            "source": source,
            "item": f.item,
            "kind": f.kind,
            "message": f.message,
        }
        for f in failures
    ]
    write_table(path, pa.Table.from_pylist(rows, schema=FAILURE_SCHEMA))


def write_drops(path: Path, stage: str, partition: str, source: str, drops: Sequence[Drop]) -> None:
    """Write a drop ledger (possibly empty).

    Args:
        path: Destination.
        stage: Stage name.
        partition: Partition name.
        source: Source name.
        drops: The drops, in processing order.
    """
    rows = [
        {
            "stage": stage,
            "partition": partition,
            "source": source,
            "item": d.item,
            "reason": d.reasons[0],
            "reasons": list(d.reasons),
            "detail": d.detail,
        }
        for d in drops
    ]
    write_table(path, pa.Table.from_pylist(rows, schema=DROP_SCHEMA))


def read_columns(path: Path, columns: Sequence[str]) -> pa.Table:
    """Read some columns of one Parquet file, as ``pq.read_table(path, columns=…)`` does.

    A dotted name (``labels.properties``) selects a nested field, named by its last part
    (``properties``). Read through :class:`pyarrow.parquet.ParquetFile`, without
    ``pyarrow.dataset`` (≈ 0.2 CPU-s to import in each stage process).

    Args:
        path: The file.
        columns: Top-level or dotted column names.

    Returns:
        A table with one column per name, in the order given.
    """
    table = pq.ParquetFile(path).read(columns=list(columns), use_threads=False)
    names, arrays = [], []
    for column in columns:
        top, *rest = column.split(".")
        array = table.column(top)
        for part in rest:  # flatten(): a null parent makes its fields null, as read_table does
            index = array.type.get_field_index(part)
            array = pa.chunked_array(
                [chunk.flatten()[index] for chunk in array.chunks], type=array.type[index].type
            )
        names.append(rest[-1] if rest else top)
        arrays.append(array)
    return pa.table(arrays, names=names)


def iter_rows(path: Path, batch_size: int = 256) -> Iterator[dict[str, object]]:
    """Yield the rows of a Parquet file as dicts, one batch in memory at a time.

    Args:
        path: The file.
        batch_size: Rows per batch read.

    Yields:
        Rows.
    """
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=batch_size):
        yield from batch.to_pylist()


def read_samples_table(path: Path) -> pa.Table:
    """Read a samples file whole as an Arrow table with exactly :data:`SAMPLE_SCHEMA`.

    For stages that pass samples through by columns (take rows, replace a column) instead of
    one :class:`Sample` per row. Parquet names a list's child ``element`` where the schema says
    ``item``; the table is cast back, so writing it gives the same bytes as
    ``samples_table`` of the same samples.

    Args:
        path: A file with :data:`~eoinstruct.pipeline.records.SAMPLE_SCHEMA`.

    Returns:
        The table.
    """
    table = pq.ParquetFile(path).read(use_threads=False)
    return pa.Table.from_arrays(table.columns, schema=SAMPLE_SCHEMA)


def take_rows(table: pa.Table, rows: Sequence[int]) -> pa.Table:
    """Return the given rows of a table, in that order (increasing), in one chunk.

    Like ``table.take(rows)`` for sorted rows, but by slices of consecutive rows: ``take``
    imports ``pyarrow.compute``, which builds its Python wrappers (≈ 70 ms of a stage
    process) for one call. All rows give the table itself.

    Args:
        table: The table.
        rows: Row numbers, increasing.

    Returns:
        The rows as a table with the same schema.
    """
    if len(rows) == table.num_rows:
        return table  # increasing and as many as the table: every row, in order
    runs: list[pa.Table] = []
    start = end = -1
    for row in rows:
        if row != end:
            if end > start:
                runs.append(table.slice(start, end - start))
            start = row
        end = row + 1
    if end > start:
        runs.append(table.slice(start, end - start))
    return pa.concat_tables(runs).combine_chunks() if runs else table.slice(0, 0)


def iter_samples(path: Path) -> Iterator[Sample]:
    """Yield the samples stored in a Parquet file.

    Args:
        path: A file with :data:`~eoinstruct.pipeline.records.SAMPLE_SCHEMA`.

    Yields:
        Samples, in file order.
    """
    for row in iter_rows(path):
        yield sample_from_row(row)


def iter_pairs(path: Path) -> Iterator[InstructionPair]:
    """Yield the instruction pairs stored in a Parquet file.

    Args:
        path: A file with :data:`~eoinstruct.pipeline.records.PAIR_SCHEMA`.

    Yields:
        Pairs, in file order.
    """
    for row in iter_rows(path):
        yield pair_from_row(row)


def read_pairs(path: Path) -> tuple[pa.Table, list[InstructionPair]]:
    """Read a pair file whole: its table (:data:`PAIR_SCHEMA`) and its pairs, by columns.

    The same pairs as :func:`iter_pairs`, built from one
    ``to_pylist`` per column instead of one dict per row; the table lets the stage write its
    kept rows as they were read; the shard stage reads its pairs with it.

    Args:
        path: A file with :data:`PAIR_SCHEMA`.

    Returns:
        The table (cast back to the schema's names) and its pairs, in file order.
    """
    read = pq.ParquetFile(path).read(use_threads=False)
    table = pa.Table.from_arrays(read.columns, schema=PAIR_SCHEMA)
    flat_names = [name for name in PAIR_SCHEMA.names if name != "conversations"]
    col = [table.column(name).to_pylist() for name in flat_names]
    turns = table.column("conversations").combine_chunks()
    starts = turns.offsets.to_pylist()
    flat = turns.values
    speakers = flat.field("from").to_pylist()
    texts = flat.field("value").to_pylist()
    shared: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}  # a build has one or two
    pairs = []
    for n, (
        pair_id,
        sample_id,
        source,
        task,
        template_id,
        paraphrase_id,
        generator,
        params,
        roles,
        split,
        style,
    ) in enumerate(zip(*col, strict=True)):
        key = tuple(params or ())
        generator_params = shared.get(key)
        if generator_params is None:
            generator_params = shared[key] = {str(k): str(v) for k, v in key}
        pairs.append(
            InstructionPair(
                pair_id=str(pair_id),
                sample_id=str(sample_id),
                source=str(source),
                task=str(task),
                template_id=str(template_id),
                paraphrase_id=int(paraphrase_id),
                generator=str(generator),
                generator_params=generator_params,
                image_roles=tuple(roles),
                turns=tuple(Turn(speakers[i], texts[i]) for i in range(starts[n], starts[n + 1])),
                split=str(split or ""),
                answer_style=str(style or ""),
            )
        )
    return table, pairs
