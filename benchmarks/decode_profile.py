"""Per-stage CPU seconds and raster file opens of a build, run in-process.

``python -m benchmarks.decode_profile <build folder> <scratch folder>``: copies a finished
benchmark build (its ``params.yaml`` and sources), runs every partitioned stage in this process
and prints, per stage, the CPU seconds (``time.process_time``: robust to a loaded machine,
unlike wall time) and the raster files opened (``rasterio.open``, ``PIL.Image.open`` and
``tifffile.TiffFile``, the fast GeoTIFF path of :mod:`eoinstruct.pipeline.io.geotiff`), as
one JSON line. Compare two checkouts by running it with each on ``PYTHONPATH`` over the same
build, alternating, and taking medians of three.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import PIL.Image
import rasterio
import tifffile

from eoinstruct.pipeline.config import load_params
from eoinstruct.pipeline.stages import REGISTRY


def profile(build: Path, scratch: Path) -> dict[str, dict[str, float]]:
    """Run every partitioned stage (the captioner aside) over a copy of a build's params.

    Args:
        build: A folder holding a ``params.yaml`` whose paths point into it.
        scratch: Where the copy is built (emptied first).

    Returns:
        Stage → ``{"cpu_s": …, "opens": …}``.
    """
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    text = (build / "params.yaml").read_text(encoding="utf-8").replace(str(build), str(scratch))
    (scratch / "params.yaml").write_text(text, encoding="utf-8")
    params = load_params(scratch / "params.yaml")
    opens = [0]
    real_rasterio, real_pillow, real_tiff = rasterio.open, PIL.Image.open, tifffile.TiffFile

    def counted(function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            opens[0] += 1
            return function(*args, **kwargs)

        return wrapper

    rasterio.open = counted(real_rasterio)
    PIL.Image.open = counted(real_pillow)
    tifffile.TiffFile = counted(real_tiff)
    out: dict[str, dict[str, float]] = {}
    try:
        for stage in REGISTRY:
            if not stage.partitioned or stage.name == "caption":
                continue
            module = importlib.import_module(f"eoinstruct.pipeline.stages.{stage.name}")
            opens[0] = 0
            started = time.process_time()
            module.run(params, progress=False)
            out[stage.name] = {"cpu_s": round(time.process_time() - started, 3), "opens": opens[0]}
    finally:
        rasterio.open, PIL.Image.open = real_rasterio, real_pillow
        tifffile.TiffFile = real_tiff
    return out


if __name__ == "__main__":
    print(json.dumps(profile(Path(sys.argv[1]), Path(sys.argv[2]))))
