"""Where a STAC chip lies: the asset headers, the chip grid and its alignment rule.

Holds the chip grid record (:class:`ChipGrid`), the reading of each asset's header (CRS,
transform, nodata, GCPs), :func:`chip_grid`, which picks the reference grid around the centre
point, the chip footprint in lon/lat, and :func:`units_by_place`, which groups samples whose
chips cover the same pixels.

Fact relied on (``shared/docs/source-formats.md`` §8):

- ``gsd`` is item-level on Landsat only (and ``lwir11`` has asset ``gsd`` 100 although the
  file is at 30 m); the adapter takes the pixel size from the file headers.

Decision:

- **Chip grid.** Every asset of an item is resampled (nearest neighbour) onto one reference
  grid: the CRS and pixel grid of the item's finest selected asset (10 m for S2, 30 m for
  Landsat), ``chip_size`` × ``chip_size`` pixels. The chip is centred on one point, taken in
  this order: ``chip_center`` [lon, lat]; the centre of ``aoi`` [west, south, east, north];
  the centre of the search ``bbox`` / ``intersects``; otherwise the centre of the reference
  asset's raster (an S2 MGRS tile's centre is the same on every date). The centre is snapped
  to the reference pixel grid. **Multi-temporal alignment rule:** items of the same place
  (same MGRS tile, or same WRS path/row, whose scenes shift by whole 30 m pixels between
  dates) chipped around the same point get the same window in map coordinates, to the pixel;
  ``labels.properties["chip_grid"]`` says which (``"<crs> <x0> <y0> <res> <w>x<h>"``), so
  change-detection pairs are the samples with equal ``chip_grid``. Set ``chip_center`` or
  ``aoi`` for Landsat and S1 time series: their default centres move between scenes. Where an
  item does not cover the centre, the chip is all NaN and the filter drops the sample for low
  coverage.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rasterio
import shapely
import shapely.affinity
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.transform import Affine, GCPTransformer
from rasterio.warp import transform as warp_transform
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.records import Sample
from eoinstruct.sources.base import SourceError
from eoinstruct.sources.geo import footprint_from_box
from eoinstruct.sources.stac.assets import _local_path
from eoinstruct.sources.stac.network import box_center, gdal_messages, raster_error
from eoinstruct.sources.stac.options import _Options


@dataclass(frozen=True)
class ChipGrid:
    """The reference grid of a chip.

    Attributes:
        crs: ``EPSG:<code>`` (or WKT) of the grid.
        transform: The affine transform as ``(a, b, c, d, e, f)``.
        width: Width in pixels.
        height: Height in pixels.
    """

    crs: str
    transform: tuple[float, float, float, float, float, float]
    width: int
    height: int

    @property
    def affine(self) -> Affine:
        """The transform as an :class:`~rasterio.transform.Affine`."""
        return Affine(*self.transform)

    @property
    def resolution(self) -> float:
        """Pixel size in CRS units."""
        return abs(self.transform[0])

    def bounds(self) -> tuple[float, float, float, float]:
        """Return ``(left, bottom, right, top)`` in the grid's CRS."""
        a, _, c, _, e, f = self.transform
        right, bottom = c + a * self.width, f + e * self.height
        return min(c, right), min(f, bottom), max(c, right), max(f, bottom)

    def key(self) -> str:
        """Return a text that is equal for two chips iff they cover the same pixels."""
        left, _, _, top = self.bounds()
        return f"{self.crs} {left:.3f} {top:.3f} {self.resolution:g} {self.width}x{self.height}"


def _check_exists(href: str, unit: str) -> None:
    path = _local_path(href)
    if path is not None and not path.is_file():
        raise SourceError("missing_file", f"{path}: file not found", unit)


def _crs_text(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


@dataclass(frozen=True)
class _Header:
    """What the header of one asset file says."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int
    nodata: float | None
    gcps: tuple[GroundControlPoint, ...]
    gcp_crs: CRS | None


def _read_header(href: str, unit: str) -> _Header:
    _check_exists(href, unit)
    with gdal_messages() as logged:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                with rasterio.open(href) as ds:
                    gcps, gcp_crs = ds.gcps
                    return _Header(
                        crs=ds.crs,
                        transform=ds.transform,
                        width=ds.width,
                        height=ds.height,
                        nodata=ds.nodata,
                        gcps=tuple(gcps),
                        gcp_crs=gcp_crs,
                    )
        except RasterioError as exc:
            raise raster_error(href, exc, unit, "cannot open", logged) from exc


def _utm_epsg(lon: float, lat: float) -> int:
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def chip_grid(
    unit: str, item: Mapping[str, Any], headers: Mapping[str, _Header], opts: _Options
) -> ChipGrid:
    """The chip grid: the finest gridded asset's pixel grid around the centre point.

    Args:
        unit: Unit id for errors.
        item: The item as a dict.
        headers: The header of each selected asset, by asset key.
        opts: The adapter's options (``chip_size``, ``chip_center``).

    Returns:
        The grid; for radar geometry (S1 GRD), a UTM grid at the product's pixel spacing.

    Raises:
        SourceError: ``bad_metadata`` if the reference grid is rotated or the item cannot be
            placed.
    """
    size = opts.size_for(str(item.get("collection")))
    gridded = {
        k: h for k, h in headers.items() if h.crs is not None and not h.transform.is_identity
    }
    if gridded:
        key = min(gridded, key=lambda k: (abs(gridded[k].transform.a), k))
        ref = gridded[key]
        t = ref.transform
        if t.b != 0 or t.d != 0:
            raise SourceError("bad_metadata", f"{unit}: asset {key} grid is rotated", unit)
        if opts.chip_center is not None:
            (x,), (y,) = warp_transform(
                "EPSG:4326", ref.crs, [opts.chip_center[0]], [opts.chip_center[1]]
            )
            col_c, row_c = ~t @ (x, y)
        else:
            col_c, row_c = ref.width / 2, ref.height / 2
        col0 = round(col_c - size / 2)
        row0 = round(row_c - size / 2)
        x0, y0 = t @ (col0, row0)
        assert ref.crs is not None
        crs = _crs_text(ref.crs)
        return ChipGrid(crs, (t.a, 0.0, x0, 0.0, t.e, y0), size, size)
    # Radar geometry (S1 GRD): a UTM grid at the product's pixel spacing.
    props = item.get("properties", {})
    spacing = props.get("sar:pixel_spacing_range", 10.0)
    res = float(spacing) if isinstance(spacing, int | float) and spacing > 0 else 10.0
    if opts.chip_center is not None:
        lon, lat = opts.chip_center
    else:
        lon, lat = _gcp_centre(unit, item, headers)
    epsg = _utm_epsg(lon, lat)
    (x,), (y,) = warp_transform("EPSG:4326", f"EPSG:{epsg}", [lon], [lat])
    x0 = round(x / res - size / 2) * res
    y0 = round(y / res + size / 2) * res
    return ChipGrid(f"EPSG:{epsg}", (res, 0.0, x0, 0.0, -res, y0), size, size)


def _gcp_centre(
    unit: str, item: Mapping[str, Any], headers: Mapping[str, _Header]
) -> tuple[float, float]:
    header = next(iter(headers.values()))
    if header.gcps and header.gcp_crs is not None:
        transformer = GCPTransformer(list(header.gcps))
        x, y = transformer.xy(header.height / 2, header.width / 2)
        (lon,), (lat,) = warp_transform(header.gcp_crs, "EPSG:4326", [x], [y])
        return float(lon), float(lat)
    bbox = item.get("bbox")
    if (
        isinstance(bbox, list)
        and len(bbox) == 4
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox)
    ):
        return box_center((bbox[0], bbox[1], bbox[2], bbox[3]))
    raise SourceError("bad_metadata", f"{unit}: cannot tell where the item is", unit)


def _footprint(grid: ChipGrid) -> str:
    """The chip rectangle in lon/lat as a counter-clockwise WKT polygon ("" if it fails).

    A chip that crosses the antimeridian gives a MULTIPOLYGON of its parts west and east of
    it (a plain polygon through its corners would span the rest of the globe).
    """
    left, bottom, right, top = grid.bounds()
    wkt = footprint_from_box((left, top, right, bottom), grid.crs)
    if not wkt:
        return wkt
    west, _, east, _ = shapely.from_wkt(wkt).bounds
    if east - west <= 180:
        return wkt
    xs, ys = [left, right, right, left], [top, top, bottom, bottom]
    lons, lats = warp_transform(grid.crs, "EPSG:4326", xs, ys)
    ring = Polygon([(x + 360 if x < 0 else x, y) for x, y in zip(lons, lats, strict=True)])
    parts = [
        ring.intersection(shapely.box(0, -90, 180, 90)),
        shapely.affinity.translate(ring.intersection(shapely.box(180, -90, 540, 90)), -360),
    ]
    polygons = [orient(p, 1.0) for p in parts if isinstance(p, Polygon) and p.area > 0]
    if not polygons:
        return ""
    shape_ = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    return str(shapely.to_wkt(shape_, rounding_precision=7))


def units_by_place(samples: Iterable[Sample]) -> dict[str, list[str]]:
    """Group samples whose chips cover the same pixels (candidates for change pairs).

    Args:
        samples: STAC samples.

    Returns:
        ``chip_grid`` → sample ids in acquisition order, only groups of two or more.
    """
    groups: dict[str, list[tuple[str, str]]] = {}
    for sample in samples:
        key = sample.labels.properties.get("chip_grid", "")
        if key:
            groups.setdefault(key, []).append(
                (sample.acquired[0] if sample.acquired else "", sample.sample_id)
            )
    return {k: [s for _, s in sorted(v)] for k, v in sorted(groups.items()) if len(v) > 1}
