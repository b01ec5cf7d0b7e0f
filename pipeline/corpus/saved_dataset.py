"""A ``datasets`` dataset written in ``save_to_disk``'s layout without holding it in memory.

Used by the EarthDial export (:mod:`eoinstruct.pipeline.corpus.earthdial`), which keeps one
writer open per sub-dataset while it reads the corpus once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


class SavedDatasetWriter:
    """Writes one dataset in ``save_to_disk``'s layout, streaming, row by row.

    ``datasets.Dataset.from_generator`` + ``save_to_disk`` write every row twice (a cache file,
    then the saved copy read back through a memory map, whose pages count in the resident
    memory: it grew with the largest sub-dataset). Here ``datasets``' own ``ArrowWriter``
    writes the rows once, ``batch_rows`` at a time (the export: 32), into
    ``data-00000-of-00001.arrow`` beside the ``dataset_info.json`` and ``state.json`` that
    ``save_to_disk`` writes, so ``datasets.load_from_disk`` reads it as before. The writers of
    all sub-datasets are open at once, so each Parquet file of the corpus is read once per
    export (memory: ``batch_rows`` rows per sub-dataset, whatever the corpus size).
    """

    DATA_FILE = "data-00000-of-00001.arrow"

    def __init__(self, features: Any, dest: Path, name: str, batch_rows: int) -> None:
        """Create ``dest`` and open its Arrow file.

        Args:
            features: The ``datasets.Features`` of the rows.
            dest: The dataset folder (must not exist).
            name: The dataset's name (hashed into ``state.json``'s fingerprint).
            batch_rows: Rows buffered before each write.
        """
        from datasets.arrow_writer import ArrowWriter

        self.features, self.dest, self.name = features, dest, name
        dest.mkdir(parents=True)
        self.writer = ArrowWriter(
            features=features,
            path=str(dest / self.DATA_FILE),
            writer_batch_size=batch_rows,
            embed_local_files=True,
        )

    def write(self, row: dict[str, Any]) -> None:
        """Encode and write one row."""
        self.writer.write(self.features.encode_example(row))

    def close(self) -> None:
        """Close the Arrow file (after :meth:`finish`, or on an error)."""
        self.writer.close()

    def finish(self) -> int:
        """Write the rest of the rows, ``state.json`` and ``dataset_info.json``; return rows."""
        from dataclasses import asdict

        import datasets

        try:
            rows, size = self.writer.finalize()
        finally:
            self.writer.close()
        split = datasets.SplitInfo(name="train", num_bytes=size, num_examples=rows)
        split.dataset_name = "generator"
        info = datasets.DatasetInfo(
            features=self.features,
            builder_name="generator",
            dataset_name="generator",
            config_name="default",
            version="0.0.0",
            splits=datasets.SplitDict({"train": split}, dataset_name="generator"),
            download_size=0,
            dataset_size=size,
            size_in_bytes=size,
        )
        fingerprint = f"{self.name}|{rows}|{size}".encode()
        state = {
            "_data_files": [{"filename": self.DATA_FILE}],
            "_fingerprint": hashlib.sha256(fingerprint).hexdigest()[:16],
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": "train",
        }
        (self.dest / "state.json").write_text(
            json.dumps(state, indent=2, sort_keys=True), encoding="utf-8"
        )
        described = asdict(info)
        (self.dest / "dataset_info.json").write_text(
            json.dumps({k: described[k] for k in sorted(described)}, indent=2), encoding="utf-8"
        )
        return int(rows)
