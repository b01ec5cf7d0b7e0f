"""The decode floor: the plainest readers of the same files, timed in the same run as the build.

Per component, ``repeats`` passes over every file (page cache warmed first, as the stages find
it); the median pass counts, min and max are kept beside it:

- BigEarthNet GeoTIFFs with **tifffile** (the floor the targets are stated against), a plain
  numpy strip reader (:func:`benchmarks.tiff.read_strip_tiff`) and a rasterio open/read loop
  (what the adapters do per band);
- the xBD PNGs decoded by Pillow, the label JSONs parsed, and a plain pyarrow Parquet write
  (no compression) of all these files' bytes;
- rasterio windowed reads of the COG chips (reported, not part of the floor: no adapter
  reads COGs).

``ben_patch_ms`` is tifffile's time for one BigEarthNet patch: its 12 S2 bands and its S1
partner's VV/VH, the 14 GeoTIFFs the build reads per patch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.measure import spread
from benchmarks.synthetic import SyntheticData
from benchmarks.tiff import read_strip_tiff

READERS = ("tifffile", "numpy_strips", "rasterio")
"""The BigEarthNet GeoTIFF readers timed (tifffile when installed)."""

FLOOR_PARTS = ("ben_tif_s", "xbd_png_decode_s", "json_s", "parquet_write_s")
"""Components whose medians sum to ``floor.total_s``."""


def _timed(fn: Callable[[Any], Any], items: Iterable[Any]) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return time.perf_counter() - started


def tifffile_read(path: Path) -> np.ndarray:
    """Read a GeoTIFF's first page with tifffile (the floor's reader).

    Raises:
        ImportError: If tifffile is not installed (``pip install -e .[dev]``).
    """
    import tifffile

    return np.asarray(tifffile.imread(path))


def rasterio_read(path: Path) -> np.ndarray:
    """Open a raster with rasterio and read its first band."""
    import rasterio

    with rasterio.open(path) as src:
        return np.asarray(src.read(1))


def pillow_decode(path: Path) -> np.ndarray:
    """Decode an image file to an RGB array with Pillow."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB") if image.mode != "RGB" else image)


def cog_window_read(path: Path) -> np.ndarray:
    """Read every band of a COG through one rasterio window."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as src:
        return np.asarray(src.read(window=Window(0, 0, src.width, src.height)))


def json_read(path: Path) -> object:
    """Parse a JSON file."""
    return json.loads(path.read_bytes())


def parquet_write_seconds(files: Sequence[Path], out: Path, rows_per_group: int = 64) -> float:
    """Time a plain pyarrow write of the files' bytes (path and content columns, no compression).

    Only the writer calls are timed; the files are read beforehand, batch by batch.

    Args:
        files: Files whose bytes are written.
        out: Parquet file to write (deleted afterwards).
        rows_per_group: Files per row group.

    Returns:
        Seconds spent writing.
    """
    schema = pa.schema([("path", pa.string()), ("data", pa.binary())])
    spent = 0.0
    writer = pq.ParquetWriter(out, schema, compression="none")
    try:
        for start in range(0, len(files), rows_per_group):
            batch = files[start : start + rows_per_group]
            table = pa.table(
                {"path": [p.name for p in batch], "data": [p.read_bytes() for p in batch]},
                schema=schema,
            )
            t0 = time.perf_counter()
            writer.write_table(table)
            spent += time.perf_counter() - t0
        t0 = time.perf_counter()
        writer.close()
        spent += time.perf_counter() - t0
    finally:
        if out.exists():
            out.unlink()
    return spent


def _have_tifffile() -> bool:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        return False
    return True


def measure_floor(data: SyntheticData, scratch: Path, repeats: int = 3) -> dict[str, Any]:
    """Measure the decode floor on the synthetic data: medians of ``repeats`` passes.

    Args:
        data: The synthetic data.
        scratch: Folder for the Parquet write.
        repeats: Passes per component.

    Returns:
        Flat figures (``floor.`` prefix left to the caller): per component ``<name>_s``
        (median), ``<name>_s_min``, ``<name>_s_max``; ``ben_tif_reader`` (``tifffile``, or the
        fastest reader when tifffile is missing), ``ben_tif_s``, ``ben_patch_ms``,
        ``total_s`` (sum of the :data:`FLOOR_PARTS` medians) and sizes.
    """
    inputs = [*data.files["ben_tif"], *data.files["ben_json"]]
    inputs += [*data.files["xbd_png"], *data.files["xbd_json"]]
    for path in [*inputs, *data.files.get("cog", [])]:
        path.read_bytes()  # warm the page cache, as the stages find it
    tifs = data.files["ben_tif"]
    parts: dict[str, Callable[[], float]] = {}
    if _have_tifffile():
        parts["ben_tif_tifffile_s"] = lambda: _timed(tifffile_read, tifs)
    parts["ben_tif_numpy_strips_s"] = lambda: _timed(read_strip_tiff, tifs)
    parts["ben_tif_rasterio_s"] = lambda: _timed(rasterio_read, tifs)
    parts["xbd_png_decode_s"] = lambda: _timed(pillow_decode, data.files["xbd_png"])
    parts["json_s"] = lambda: _timed(json_read, [*data.files["ben_json"], *data.files["xbd_json"]])
    parts["parquet_write_s"] = lambda: parquet_write_seconds(inputs, scratch / "floor.parquet")
    parts["cog_window_read_s"] = lambda: _timed(cog_window_read, data.files.get("cog", []))
    out: dict[str, Any] = {}
    for name, measure in parts.items():
        median, low, high = spread([measure() for _ in range(max(repeats, 1))])
        out[name], out[f"{name}_min"], out[f"{name}_max"] = median, low, high
    readers = {name: out[f"ben_tif_{name}_s"] for name in READERS if f"ben_tif_{name}_s" in out}
    best = "tifffile" if "tifffile" in readers else min(readers, key=lambda k: readers[k])
    out["ben_tif_reader"] = best
    out["tifffile_available"] = "tifffile" in readers
    for suffix in ("", "_min", "_max"):
        out[f"ben_tif_s{suffix}"] = out[f"ben_tif_{best}_s{suffix}"]
    out["ben_patch_ms"] = 1000 * out["ben_tif_s"] / max(data.s2_patches, 1)
    out["total_s"] = sum(out[p] for p in FLOOR_PARTS)
    out["cog_files"] = len(data.files.get("cog", []))
    out["cog_mb"] = data.bytes_of(["cog"]) / 1e6
    out["input_mb"] = sum(p.stat().st_size for p in inputs) / 1e6
    out["repeats"] = max(repeats, 1)
    return out
