"""Helpers to build the sample corpus into a temporary folder from the tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from eoinstruct.cli import main

REPO = Path(__file__).resolve().parents[1]


def make_params(
    root: Path,
    relative: bool = False,
    sources: tuple[str, ...] | None = None,
    **overrides: Any,
) -> Path:
    """Write a params.yaml whose paths all point into ``root``; return its path.

    With ``relative``, the paths are relative to ``root`` (run the build with ``root`` as
    the working directory): two such builds in different folders read and write the same
    relative paths, so even the intermediate files must be identical. ``sources`` keeps only
    those sources enabled (tests of stage machinery need not read every source).
    """
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    base = Path() if relative else root
    params["paths"] = {
        "sample": str(base / "sample"),
        "work": str(base / "work"),
        "corpus": str(base / "corpus"),
        "metrics": str(base / "metrics"),
    }
    for name in params["sources"]:
        params["sources"][name]["root"] = str(base / "sample" / name)
        if sources is not None and name not in sources:
            params["sources"][name]["enabled"] = False
    params["osm"]["extract"] = str(base / "sample" / "osm" / "extract.osm")
    params["earthdial"]["out"] = str(base / "earthdial")
    params["sources"]["stac"]["chips_dir"] = str(base / "work" / "stac_chips")
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        params[section][key] = value
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def build(root: Path, command: str = "all", **overrides: Any) -> Path:
    """Run ``eoinstruct <command>`` with params pointing into ``root``."""
    params = make_params(root, **overrides)
    assert main(["--params", str(params), "--no-progress", command]) == 0
    return params


def tree_digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under a folder, by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def band_tif(path: Path, data: Any, res: float, nodata: float | None = None) -> str:
    """Write one band as a north-up GeoTIFF in UTM 33N (EPSG:32633) and return its path.

    Args:
        path: Destination.
        data: A ``(height, width)`` numpy array (its dtype is the file's).
        res: Pixel size in metres.
        nodata: The band's nodata value, if any.
    """
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[1],
        height=data.shape[0],
        count=1,
        dtype=data.dtype,
        crs="EPSG:32633",
        transform=from_origin(500_000, 5_000_000, res, res),
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return str(path)
