"""Audit a published corpus: read its sample rows (without pixels) and audit every pair.

Each sample row holds its pairs in ``dialogues``
(:func:`eoinstruct.pipeline.corpus.views.pair_rows` explodes them); its ``metadata`` carries
the sample's labels, tags, image sizes and acquisition times, so the audit needs no raster and
no intermediate file: ``eoinstruct audit`` and the build report run it on exactly what ships.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq

from eoinstruct.pipeline.audit.item import AuditItem, from_corpus_row
from eoinstruct.pipeline.audit.report import AuditReport, audit_items
from eoinstruct.pipeline.corpus.views import pair_rows

SKIPPED_COLUMNS = frozenset({"images", "arrays"})
"""Columns the audit never reads (the pixels)."""


def corpus_files(corpus: Path) -> list[Path]:
    """The Parquet files of a corpus folder (``data/*.parquet``).

    Args:
        corpus: The corpus folder.

    Returns:
        The files, sorted.

    Raises:
        FileNotFoundError: If the folder has no ``data/*.parquet`` and no manifest (an empty
            corpus, every source empty or disabled, has only its manifest and card).
    """
    files = sorted((corpus / "data").glob("*.parquet"))
    if not files and not (corpus / "manifest.json").is_file():
        raise FileNotFoundError(f"{corpus}: no data/*.parquet (is it a corpus folder?)")
    return files


def corpus_items(corpus: Path) -> Iterator[AuditItem]:
    """Yield every pair of a corpus as the audit sees it.

    Args:
        corpus: The corpus folder.

    Yields:
        One item per pair, file by file.
    """
    for path in corpus_files(corpus):
        parquet = pq.ParquetFile(path)
        columns = [n for n in parquet.schema_arrow.names if n not in SKIPPED_COLUMNS]
        for batch in parquet.iter_batches(columns=columns, batch_size=1024):
            for row in batch.to_pylist():
                for pair in pair_rows(row):
                    yield from_corpus_row(pair)


def audit_corpus(corpus: Path) -> AuditReport:
    """Audit every pair of a corpus with the package's rules and templates.

    Args:
        corpus: The corpus folder.

    Returns:
        The report.
    """
    return audit_items(corpus_items(corpus))
