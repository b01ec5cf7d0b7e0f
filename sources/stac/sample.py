"""Writer of a tiny static STAC catalog of Sentinel-2, Landsat and Sentinel-1 scenes.

What is real (``shared/docs/source-formats.md`` §8, checked against the recorded Earth Search
responses in ``shared/peer-data`` §2):

- the catalog structure: ``catalog.json`` → ``<collection>/collection.json`` →
  ``<collection>/<item id>/<item id>.json``, written by pystac as a self-contained catalog
  (relative hrefs), with the asset files beside each item;
- the Earth Search collection ids ``sentinel-2-l2a``, ``landsat-c2-l2`` and
  ``sentinel-1-grd``, their asset keys (``coastal`` … ``swir22``; ``coastal`` … ``lwir11``;
  ``vv``/``vh`` with ``schema-calibration-<pol>``), asset fields (``eo:bands``, ``gsd``,
  ``proj:shape``, ``proj:transform``, ``raster:bands`` with the real scale, offset, nodata and
  data type) and item properties (``platform``, ``constellation``, ``eo:cloud_cover``,
  ``proj:epsg``, ``mgrs:*``, ``grid:code``, ``s2:*``, ``landsat:*``, ``sar:*``, ``sat:*``,
  ``start_datetime``/``end_datetime``);
- the place and grids: the point (-105.1019, 40.1672) (Longmont, Colorado) that the recorded
  Earth Search search used, MGRS tile 13TDE (10 m grid from x 399960, y 4500000, EPSG:32613)
  and WRS-2 path/row 033/032 (30 m grid from x 449085, y 4581915); item ids
  ``S2A_13TDE_20231008_0_L2A`` and ``LC08_L2SP_033032_20231008_02_T1`` are the recorded ones;
- dtypes and encodings: S2 uint16 ``DN = 10000·ρ + 1000`` (scale 0.0001, offset −0.1, nodata
  0); Landsat SR uint16 ``ρ = 2.75e-05·DN − 0.2``; ST_B10 uint16 ``T = 0.00341802·DN + 149`` K;
  Sentinel-1 GRD uint16 amplitude DN in radar geometry with GCPs (EPSG:4326), calibrated by
  ``σ0 = DN² / A²`` with A the ``sigmaNought`` table of the calibration XML (SAFE layout
  ``measurement/iw-vv.tiff``, ``annotation/calibration/calibration-iw-vv.xml``);
- assets are cloud-optimised GeoTIFFs (GDAL's COG driver, deflate).

What is synthetic: every pixel (one landscape shared by the three sensors: a warm, bright town
centre, fields in 400 m parcels, a reservoir 700 m east-south-east; July greener and hotter
than October; one parcel built over between the two S2 dates), the small extents (each asset
is an excerpt of its real tile/scene grid around the point: 120×120 px of S2 at 10 m,
80×80 px of Landsat at 30 m, 160×160 px of S1 GRD), the ids other than the two above, the
cloud covers and sun angles, the S1 geometry and calibration table. Items list only the data
assets (no ``visual``, ``scl``, ``thumbnail``, metadata files).

Content: S2 ``S2B_13TDE_20230724_0_L2A`` and ``S2A_13TDE_20231008_0_L2A`` (a change pair on
tile 13TDE); Landsat ``LC09_L2SP_033032_20230728_02_T1`` and ``LC08_L2SP_033032_20231008_02_T1``
(an urban-heat-island pair on path/row 033/032, whose scene grids are shifted by whole pixels
as real scenes are); S1 ``S1A_IW_GRDH_1SDV_20231007T005313_20231007T005338_050646_061A3B``. The
adapter chips all of them around :data:`~eoinstruct.sources.stac.sample_scene.CHIP_CENTER`.
Deliberately bad items (:data:`BAD_UNITS`):

- ``sentinel-2-l2a/S2A_13TDE_20230729_0_L2A``: ``B04.tif`` cut to 60 % of its bytes (header
  intact, tile data missing) → ingest fails ``corrupt_raster``.
- ``landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1``: the ``red`` asset's file is not there →
  ingest fails ``missing_file``.

This module writes the catalog, its collections and items; the assets are written by
:mod:`~eoinstruct.sources.stac.sample_optical` (S2, Landsat) and
:mod:`~eoinstruct.sources.stac.sample_sar` (S1 GRD) over the shared scene and landscape of
:mod:`~eoinstruct.sources.stac.sample_scene`.

Same seed, byte-identical files (COGs carry no timestamp; pystac writes no time).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pystac
from rasterio.warp import transform as warp_transform

from eoinstruct.sources.stac.sample_optical import (
    LANDSAT_SIZE,
    _landsat_assets,
    _s2_assets,
    landsat_transform,
)
from eoinstruct.sources.stac.sample_sar import _s1_assets, grd_geometry
from eoinstruct.sources.stac.sample_scene import EPSG, Scene, _Landscape

CATALOG_ID = "eoinstruct-sample-stac"

_S2_CONTEXT = "https://stac-extensions.github.io/{}/schema.json"

_EXTENSIONS = {
    "eo": _S2_CONTEXT.format("eo/v1.1.0"),
    "raster": _S2_CONTEXT.format("raster/v1.1.0"),
    "proj": _S2_CONTEXT.format("projection/v1.1.0"),
    "view": _S2_CONTEXT.format("view/v1.0.0"),
    "mgrs": _S2_CONTEXT.format("mgrs/v1.0.0"),
    "grid": _S2_CONTEXT.format("grid/v1.0.0"),
    "sar": _S2_CONTEXT.format("sar/v1.0.0"),
    "sat": _S2_CONTEXT.format("sat/v1.0.0"),
    "landsat": "https://landsat.usgs.gov/stac/landsat-extension/v1.1.1/schema.json",
}

_SENTINEL_LICENCE = "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"

_LANDSAT_LICENCE = "https://www.usgs.gov/core-science-systems/hdds/data-policy"

SCENES: tuple[Scene, ...] = (
    Scene(
        "sentinel-2-l2a",
        "S2B_13TDE_20230724_0_L2A",
        "2023-07-24T17:52:41.024000Z",
        "sentinel-2b",
        3.41,
        "summer",
    ),
    Scene(
        "sentinel-2-l2a",
        "S2A_13TDE_20231008_0_L2A",
        "2023-10-08T18:02:55.276000Z",
        "sentinel-2a",
        0.000299,
        "autumn",
    ),
    Scene(
        "sentinel-2-l2a",
        "S2A_13TDE_20230729_0_L2A",
        "2023-07-29T18:02:49.140000Z",
        "sentinel-2a",
        12.7,
        "summer",
        defect="corrupt_b04",
    ),
    Scene(
        "landsat-c2-l2",
        "LC09_L2SP_033032_20230728_02_T1",
        "2023-07-28T17:37:12.114081Z",
        "landsat-9",
        1.25,
        "summer",
        shift=(2, -1),
    ),
    Scene(
        "landsat-c2-l2",
        "LC08_L2SP_033032_20231008_02_T1",
        "2023-10-08T17:37:26.656958Z",
        "landsat-8",
        0.06,
        "autumn",
    ),
    Scene(
        "landsat-c2-l2",
        "LC08_L2SP_033032_20230720_02_T1",
        "2023-07-20T17:37:05.903214Z",
        "landsat-8",
        8.14,
        "summer",
        shift=(-1, 1),
        defect="missing_red",
    ),
    Scene(
        "sentinel-1-grd",
        "S1A_IW_GRDH_1SDV_20231007T005313_20231007T005338_050646_061A3B",
        "2023-10-07T00:53:25.614232Z",
        "sentinel-1a",
        None,
        "autumn",
    ),
)
"""The items of the sample catalog, in writing order."""

BAD_UNITS: dict[str, str] = {
    "sentinel-2-l2a/S2A_13TDE_20230729_0_L2A": "corrupt_raster",
    "landsat-c2-l2/LC08_L2SP_033032_20230720_02_T1": "missing_file",
}
"""Unit id → the ingest failure kind the adapter must report."""

GOOD_UNITS: tuple[str, ...] = tuple(
    sorted(f"{s.collection}/{s.item_id}" for s in SCENES if not s.defect)
)
"""Units that read into samples that pass the filter."""


def _footprint(scene: Scene, land: _Landscape) -> tuple[dict[str, Any], list[float]]:
    """Item geometry (the excerpt's outline in lon/lat) and bbox."""
    if scene.collection == "sentinel-1-grd":
        to_map = grd_geometry(land.centre)
        corners = [to_map(r, c) for r, c in ((0, 0), (0, 159), (159, 159), (159, 0))]
    else:
        half = 600.0 if scene.collection == "sentinel-2-l2a" else 1200.0
        cx, cy = land.centre
        corners = [
            (cx - half, cy - half),
            (cx + half, cy - half),
            (cx + half, cy + half),
            (cx - half, cy + half),
        ]
    lons, lats = warp_transform(f"EPSG:{EPSG}", "EPSG:4326", *map(list, zip(*corners, strict=True)))
    ring = [[round(lon, 6), round(lat, 6)] for lon, lat in zip(lons, lats, strict=True)]
    ring.append(ring[0])
    bbox = [min(lons), min(lats), max(lons), max(lats)]
    return {"type": "Polygon", "coordinates": [ring]}, [round(v, 6) for v in bbox]


def _properties(scene: Scene, land: _Landscape, rng: np.random.Generator) -> dict[str, Any]:
    sun_el = round(
        float(rng.uniform(55, 65) if scene.season == "summer" else rng.uniform(38, 44)), 4
    )
    sun_az = round(
        float(rng.uniform(125, 140) if scene.season == "summer" else rng.uniform(155, 165)), 4
    )
    props: dict[str, Any] = {"platform": scene.platform}
    if scene.collection == "sentinel-2-l2a":
        date = scene.item_id.split("_")[2]
        stamp = scene.when[:19].replace("-", "").replace(":", "")
        props.update(
            {
                "constellation": "sentinel-2",
                "instruments": ["msi"],
                "eo:cloud_cover": scene.cloud_cover,
                "proj:epsg": EPSG,
                "mgrs:utm_zone": 13,
                "mgrs:latitude_band": "T",
                "mgrs:grid_square": "DE",
                "grid:code": "MGRS-13TDE",
                "view:sun_azimuth": sun_az,
                "view:sun_elevation": sun_el,
                "s2:product_type": "S2MSI2A",
                "s2:processing_baseline": "05.09",
                "s2:product_uri": (
                    f"{scene.item_id[:3]}_MSIL2A_{stamp}_N0509_R141_T13TDE_{date}T233154.SAFE"
                ),
                "earthsearch:boa_offset_applied": True,
            }
        )
    elif scene.collection == "landsat-c2-l2":
        path_row = scene.item_id.split("_")[2]
        props.update(
            {
                "instruments": ["oli", "tirs"],
                "gsd": 30,
                "eo:cloud_cover": scene.cloud_cover,
                "view:off_nadir": 0,
                "view:sun_elevation": sun_el,
                "view:sun_azimuth": sun_az,
                "proj:epsg": EPSG,
                "proj:shape": [LANDSAT_SIZE, LANDSAT_SIZE],
                "proj:transform": list(landsat_transform(scene, land.centre))[:6],
                "landsat:cloud_cover_land": scene.cloud_cover,
                "landsat:wrs_type": "2",
                "landsat:wrs_path": path_row[:3],
                "landsat:wrs_row": path_row[3:],
                "landsat:collection_category": "T1",
                "landsat:collection_number": "02",
                "landsat:correction": "L2SP",
                "grid:code": f"WRS2-{path_row}",
                "sci:doi": "10.5066/P9OGBGM6",
            }
        )
    else:
        start = scene.item_id.split("_")[4]
        end = scene.item_id.split("_")[5]
        props.update(
            {
                "constellation": "sentinel-1",
                "sar:frequency_band": "C",
                "sar:center_frequency": 5.405,
                "sar:observation_direction": "right",
                "sar:instrument_mode": "IW",
                "sar:polarizations": ["VV", "VH"],
                "sar:product_type": "GRD",
                "sar:resolution_range": 20,
                "sar:resolution_azimuth": 22,
                "sar:pixel_spacing_range": 10,
                "sar:pixel_spacing_azimuth": 10,
                "sar:looks_range": 5,
                "sar:looks_azimuth": 1,
                "sar:looks_equivalent_number": 4.4,
                "sat:orbit_state": "ascending",
                "sat:absolute_orbit": 50646,
                "sat:relative_orbit": 56,
                "proj:epsg": 4326,
                "start_datetime": _stamp_iso(start),
                "end_datetime": _stamp_iso(end),
            }
        )
    return props


def _stamp_iso(stamp: str) -> str:
    return (
        datetime.strptime(stamp, "%Y%m%dT%H%M%S")
        .replace(tzinfo=UTC)
        .strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    )


_COLLECTIONS: dict[str, tuple[str, str, list[str]]] = {
    "sentinel-2-l2a": (
        "Sentinel-2 Level-2A",
        _SENTINEL_LICENCE,
        ["eo", "raster", "proj", "view", "mgrs", "grid"],
    ),
    "landsat-c2-l2": (
        "Landsat Collection 2 Level-2",
        _LANDSAT_LICENCE,
        ["eo", "raster", "proj", "view", "landsat", "grid"],
    ),
    "sentinel-1-grd": (
        "Sentinel-1 Level-1C Ground Range Detected (GRD)",
        _SENTINEL_LICENCE,
        ["sar", "sat", "proj", "raster"],
    ),
}


def write(root: Path, seed: int) -> None:
    """Write the sample STAC catalog under ``root`` (created if needed).

    Args:
        root: Output folder; it will hold ``catalog.json`` and one folder per collection.
        seed: Seed of the pixel draws; the same seed gives byte-identical files.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    land = _Landscape(seed)
    catalog = pystac.Catalog(
        id=CATALOG_ID,
        description="eoinstruct sample: Sentinel-2, Landsat and Sentinel-1 around Longmont, CO",
    )
    collections: dict[str, pystac.Collection] = {}
    for cid, (title, licence_href, _) in _COLLECTIONS.items():
        collection = pystac.Collection(
            id=cid,
            title=title,
            description=f"{title} (sample excerpt)",
            license="proprietary",
            extent=pystac.Extent(
                pystac.SpatialExtent([[-180.0, -90.0, 180.0, 90.0]]),
                pystac.TemporalExtent([[datetime(2015, 6, 27, tzinfo=UTC), None]]),
            ),
        )
        collection.add_link(pystac.Link("license", licence_href, title="licence"))
        catalog.add_child(collection)
        collections[cid] = collection

    for index, scene in enumerate(SCENES):
        rng = np.random.default_rng([seed, index])
        folder = root / scene.collection / scene.item_id
        folder.mkdir(parents=True, exist_ok=True)
        if scene.collection == "sentinel-2-l2a":
            assets = _s2_assets(folder, scene, land, rng)
        elif scene.collection == "landsat-c2-l2":
            assets = _landsat_assets(folder, scene, land, rng)
        else:
            assets = _s1_assets(folder, scene, land, rng)
        geometry, bbox = _footprint(scene, land)
        when = datetime.fromisoformat(scene.when.replace("Z", "+00:00"))
        item = pystac.Item(
            id=scene.item_id,
            geometry=geometry,
            bbox=bbox,
            datetime=when,
            properties=_properties(scene, land, rng),
            stac_extensions=[_EXTENSIONS[e] for e in _COLLECTIONS[scene.collection][2]],
            collection=scene.collection,
        )
        for key, asset in assets.items():
            item.add_asset(key, asset)
        collections[scene.collection].add_item(item)

    # A trailing slash: pystac takes a root whose name has a dot (".stac.tmp-1") for a file.
    catalog.normalize_hrefs(root.as_posix().rstrip("/") + "/")
    catalog.make_all_asset_hrefs_relative()
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
