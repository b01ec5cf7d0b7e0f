"""xBD / xView2 building-damage pairs: one pre/post tile pair becomes one :class:`Sample`.

Layout facts this adapter relies on (see ``docs/source-formats.md`` section 5, which cites
torchgeo ``torchgeo/datasets/xview.py`` and DIUx-xView/xView2_baseline):

- The challenge tarballs extract to split folders ``train/`` and ``test/``, each holding
  ``images/<disaster>_<8-digit id>_{pre,post}_disaster.png``, ``labels/<same stem>.json`` and
  ``targets/<same stem>_target.png`` (torchgeo ``XView2._load_files``).
- A pre and a post file pair up by the same ``<disaster>_<id>``; the disaster is the text
  before the id (xView2_baseline ``utils/split_into_disasters.py``).
- Label JSON: ``{"features": {"lng_lat": [...], "xy": [...]}, "metadata": {...}}`` where each
  feature is ``{"properties": {"feature_type", "subtype" (post only), "uid"}, "wkt"}``; ``xy``
  holds pixel-space polygons and ``lng_lat`` the same polygons in EPSG:4326
  (xView2_baseline ``spacenet/inference/inference.py`` and ``model/process_data.py``).
- Damage subtypes: ``no-damage``, ``minor-damage``, ``major-damage``, ``destroyed``,
  ``un-classified``.

Facts checked against real files in ``shared/peer-data`` (README sections 4a, 4b): real label
files of ``joplin-tornado_00000050`` follow that schema, ``capture_date`` reads like
``2011-05-29T17:29:25.433Z``, ``sensor`` like ``WORLDVIEW02`` / ``QUICKBIRD02``, and the
``xy`` and ``lng_lat`` vertices of a building correspond one to one, related by an affine
transform to within 0.01 px. Real images (``hurricane-matthew_00000351``) are 1024x1024 RGB
PNGs; they carry a ``tRNS`` chunk marking ``(0, 0, 0)`` transparent, so rasterio reports
nodata ``(0, 0, 0)`` for them.

UNVERIFIED: the folder names ``tier3/`` and ``hold/`` (mapped to the train and validation
splits), that tile ids are unique across split folders, the licence (CC BY-NC-SA 4.0), the
meaning of metadata ``gsd`` (on joplin it is 2.35 m while the fitted pixel size is about
0.45 m, so it is probably the multispectral GSD, not the pixel size of the pan-sharpened PNG;
it is passed on unchanged as the brief asks), and the formats of metadata values in files
other than the ones above.

Decisions:

- Units are ``"<split folder>/<disaster>_<id>"`` for every pre or post image **or** label file
  found, so a tile missing some of its four files is still listed and fails in
  :meth:`XBD.read_unit` with ``missing_file`` naming the file (the ingest stage then counts
  it, instead of the tile silently vanishing). torchgeo's fixture, which has images and
  targets but no label JSON, therefore lists every tile and fails each one.
- Targets are not read: damage comes from the post label's polygons, which carry more than
  the rasterised masks.
- ``sample_id`` is ``xbd:<disaster>_<id>``. If the same ``<disaster>_<id>`` occurs in more than
  one split folder under the root (present on disk, whatever ``splits`` selects, so ids do not
  change with the options), the folder is kept: ``xbd:<split folder>/<disaster>_<id>``.
- Objects come from the post label only (``image_role="post"``); the pre label is read for its
  capture date and as a fallback for georeferencing, and is validated like the post label.
- Georeferencing: xBD PNGs have no CRS, so a pixel→lon/lat affine transform is fitted over the
  matched vertices (:func:`fit_pixel_to_lonlat`). The footprint is kept only if the fit has at
  least 3 points, spread at least :data:`MIN_SPREAD_PX` across its narrowest direction, and an
  RMS residual of at most :data:`MAX_FIT_RMS_PX` pixels and maps the image corners to valid
  lon/lat; the post label is fitted first, then the pre label. Otherwise ``crs`` and
  ``footprint_wkt`` stay empty (the filter stage drops such samples as ``no_geolocation``).
- ``tags`` hold the raw, non-empty metadata values ``disaster``, ``disaster_type``, ``sensor``
  (no file-name fallback, so a blank label gives no tags); ``labels.properties["disaster"]``
  falls back to the file-name prefix and ``disaster_type`` is left out when empty.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from PIL import Image, UnidentifiedImageError
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.polygon import orient

from eoinstruct.pipeline.records import ImageRef, Labels, ObjectLabel, Sample
from eoinstruct.sources.base import SourceAdapter, SourceError, SourceNotFoundError, facts_of

SPLIT_MAP: dict[str, str] = {
    "train": "train",
    "tier3": "train",
    "test": "test",
    "hold": "validation",
}
"""Split folder under the root → the sample's split (``tier3``/``hold`` are UNVERIFIED)."""

SENSOR_NAMES: dict[str, str] = {
    "WORLDVIEW02": "WorldView-2",
    "WORLDVIEW03_VNIR": "WorldView-3",
    "GEOEYE01": "GeoEye-1",
    "QUICKBIRD02": "QuickBird-2",
}
"""Metadata ``sensor`` values → sensor names; unknown values are kept as they are."""

DEFAULT_SENSOR = "Maxar VHR"
"""Sensor of a sample whose label metadata gives none."""

MAX_FIT_RMS_PX = 2.0
"""Largest RMS residual, in pixels, of an accepted pixel→lon/lat fit."""

MIN_SPREAD_PX = 1.0
"""Smallest RMS spread, in pixels, of the fit's points across their narrowest direction."""

MAX_FIT_CONDITION = 1e4
"""Largest condition number of the fit's linear part (a larger one is a degenerate mapping)."""

PHASES: tuple[str, str] = ("pre", "post")

_FILE_RE = re.compile(r"^(?P<stem>(?P<disaster>.+)_(?P<tile>\d+))_(?P<phase>pre|post)_disaster$")
_UNIT_RE = re.compile(r"^(?P<folder>[^/]+)/(?P<stem>(?P<disaster>.+)_(?P<tile>\d+))$")


@dataclass(frozen=True)
class AffineFit:
    """A least-squares affine transform from pixel ``(x, y)`` to ``(lon, lat)``.

    ``lon = a*x + b*y + c`` and ``lat = d*x + e*y + f``.

    Attributes:
        coefficients: ``(a, b, c, d, e, f)``.
        n_points: Number of vertex pairs the fit used.
        rms_px: RMS residual expressed in pixels (lon/lat residuals mapped back through the
            inverse of the linear part).
        max_px: Largest residual in pixels.
    """

    coefficients: tuple[float, float, float, float, float, float]
    n_points: int
    rms_px: float
    max_px: float

    def apply(self, x: float, y: float) -> tuple[float, float]:
        """Map one pixel position to lon/lat.

        Args:
            x: Column in pixels (0 is the left edge of the image).
            y: Row in pixels (0 is the top edge).

        Returns:
            ``(lon, lat)`` in degrees.
        """
        a, b, c, d, e, f = self.coefficients
        return a * x + b * y + c, d * x + e * y + f

    def pixel_size_m(self) -> tuple[float, float]:
        """Approximate ground size of one pixel.

        Returns:
            ``(width, height)`` of a pixel in metres, on a spherical Earth at the latitude of
            the image origin.
        """
        a, b, _, d, e, _ = self.coefficients
        lat = math.radians(self.apply(0.0, 0.0)[1])
        m_per_deg = 111_320.0
        width = math.hypot(a * m_per_deg * math.cos(lat), d * m_per_deg)
        height = math.hypot(b * m_per_deg * math.cos(lat), e * m_per_deg)
        return width, height

    def footprint_wkt(self, width: int, height: int) -> str:
        """Map the image rectangle to a lon/lat polygon.

        Args:
            width: Image width in pixels.
            height: Image height in pixels.

        Returns:
            WKT of the rectangle ``(0, 0)`` to ``(width, height)`` in EPSG:4326 (lon lat order,
            counter-clockwise, coordinates rounded to 1e-10 degrees).
        """
        corners = [(0.0, 0.0), (float(width), 0.0), (float(width), float(height))]
        corners.append((0.0, float(height)))
        polygon = orient(Polygon([self.apply(x, y) for x, y in corners]), 1.0)
        return shapely.to_wkt(polygon, rounding_precision=10)


def fit_pixel_to_lonlat(
    pixel_xy: Sequence[tuple[float, float]] | np.ndarray,
    lonlat: Sequence[tuple[float, float]] | np.ndarray,
) -> AffineFit | None:
    """Fit a pixel→lon/lat affine transform to corresponding points by least squares.

    xBD label files give every building twice, in pixels (``features.xy``) and in EPSG:4326
    (``features.lng_lat``), with corresponding vertices; fitting over all of them recovers the
    image's georeferencing, which the PNGs lack. The points are centred before solving, for
    precision at the 1e-9 degree level.

    Args:
        pixel_xy: ``(x, y)`` pixel positions, shape ``(n, 2)``.
        lonlat: The matching ``(lon, lat)`` positions in degrees, shape ``(n, 2)``.

    Returns:
        The fit, or ``None`` if it is degenerate: fewer than 3 points, points spread less than
        :data:`MIN_SPREAD_PX` across their narrowest direction (collinear), non-finite
        values, or a linear part with a condition number above :data:`MAX_FIT_CONDITION`.
        The caller judges the residual (:attr:`AffineFit.rms_px`).

    Raises:
        ValueError: If the two inputs do not both have shape ``(n, 2)``.
    """
    pixels = np.asarray(pixel_xy, dtype=np.float64).reshape(-1, 2)
    world = np.asarray(lonlat, dtype=np.float64).reshape(-1, 2)
    if pixels.shape != world.shape:
        raise ValueError(f"{len(pixels)} pixel points but {len(world)} lon/lat points")
    n = len(pixels)
    if n < 3 or not (np.isfinite(pixels).all() and np.isfinite(world).all()):
        return None
    pixel_mean = pixels.mean(axis=0)
    world_mean = world.mean(axis=0)
    centred = pixels - pixel_mean
    spread = np.linalg.svd(centred, compute_uv=False)
    if spread[-1] / math.sqrt(n) < MIN_SPREAD_PX:
        return None
    # world - world_mean = centred @ linear.T
    solution, *_ = np.linalg.lstsq(centred, world - world_mean, rcond=None)
    linear = solution.T  # rows: lon, lat; columns: x, y
    if not np.isfinite(linear).all() or np.linalg.cond(linear) > MAX_FIT_CONDITION:
        return None
    offset = world_mean - linear @ pixel_mean
    residual_world = world - (pixels @ linear.T + offset)
    residual_px = np.linalg.solve(linear, residual_world.T).T
    distances = np.hypot(residual_px[:, 0], residual_px[:, 1])
    coefficients = (
        float(linear[0, 0]),
        float(linear[0, 1]),
        float(offset[0]),
        float(linear[1, 0]),
        float(linear[1, 1]),
        float(offset[1]),
    )
    return AffineFit(
        coefficients=coefficients,
        n_points=n,
        rms_px=float(math.sqrt(float(np.mean(distances**2)))),
        max_px=float(distances.max()),
    )


@dataclass(frozen=True)
class _Feature:
    feature_type: str
    subtype: str
    uid: str
    wkt: str
    geometry: Polygon | MultiPolygon


@dataclass(frozen=True)
class _Label:
    path: Path
    xy: tuple[_Feature, ...]
    lng_lat: tuple[_Feature, ...]
    metadata: Mapping[str, Any]


class XBD(SourceAdapter):
    """Reader of xBD (xView2) tiles: each pre/post pair with its post-disaster building damage.

    Options (``sources.xbd`` in ``params.yaml``):
        splits: Split folders to read (any of :data:`SPLIT_MAP`); default all present.

    Args:
        root: The folder holding ``train/``, ``test/`` (and ``tier3/``, ``hold/``).
        options: The adapter's options.

    Raises:
        SourceNotFoundError: If ``root`` does not exist.
        ValueError: If ``splits`` names a folder that is not an xBD split.
    """

    facts = facts_of(__package__)

    def __init__(self, root: Path, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(root, options)
        splits = self.options.get("splits")
        if splits is None:
            self.splits: tuple[str, ...] = tuple(SPLIT_MAP)
        else:
            names = (splits,) if isinstance(splits, str) else tuple(str(s) for s in splits)
            unknown = [s for s in names if s not in SPLIT_MAP]
            if unknown:
                raise ValueError(
                    f"xbd: unknown split folder(s) {unknown} in sources.xbd.splits "
                    f"(params.yaml); expected some of {list(SPLIT_MAP)}"
                )
            self.splits = names
        self._stem_folders: dict[str, list[str]] | None = None

    # -- listing ------------------------------------------------------------------------------

    def _stems(self, folder: str) -> set[str]:
        """Return the tile stems with any pre/post image or label file in a split folder."""
        stems: set[str] = set()
        for sub, suffix in (("images", ".png"), ("labels", ".json")):
            directory = self.root / folder / sub
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.suffix != suffix or path.name.startswith("."):
                    continue  # dot files: e.g. macOS ``._*`` companions inside tarballs
                match = _FILE_RE.match(path.stem)
                if match:
                    stems.add(match["stem"])
        return stems

    def _present_folders(self, folders: Iterable[str]) -> list[str]:
        return [
            f
            for f in folders
            if (self.root / f / "images").is_dir() or (self.root / f / "labels").is_dir()
        ]

    def list_units(self) -> list[str]:
        """List ``"<split folder>/<disaster>_<id>"`` for every tile with any image or label.

        Returns:
            Sorted unit ids.

        Raises:
            SourceNotFoundError: If none of the selected split folders has ``images/`` or
                ``labels/``.
        """
        folders = self._present_folders(self.splits)
        if not folders:
            raise SourceNotFoundError(
                f"xbd: no split folder among {list(self.splits)} with images/ or labels/ under "
                f"{self.root}; extract the xView2 tarballs there or fix sources.xbd.root / "
                "sources.xbd.splits in params.yaml"
            )
        return sorted(f"{folder}/{stem}" for folder in folders for stem in self._stems(folder))

    def _native_id(self, folder: str, stem: str) -> str:
        if self._stem_folders is None:
            index: dict[str, list[str]] = {}
            for other in self._present_folders(SPLIT_MAP):
                for s in self._stems(other):
                    index.setdefault(s, []).append(other)
            self._stem_folders = index
        if len(self._stem_folders.get(stem, [folder])) > 1:
            return f"{folder}/{stem}"
        return stem

    # -- reading ------------------------------------------------------------------------------

    def unit_files(self, unit: str) -> list[Path]:
        """List a tile's image and label files that exist (for change detection on re-runs).

        Args:
            unit: ``<split folder>/<disaster>_<id>``.

        Returns:
            Existing pre/post image and label paths, sorted.
        """
        match = _UNIT_RE.match(unit)
        if not match:
            return []
        base = self.root / match["folder"]
        stem = match["stem"]
        paths = [base / "images" / f"{stem}_{p}_disaster.png" for p in PHASES]
        paths += [base / "labels" / f"{stem}_{p}_disaster.json" for p in PHASES]
        return sorted(p for p in paths if p.is_file())

    def read_unit(self, unit: str) -> list[Sample]:
        """Read one tile pair into one sample.

        Args:
            unit: ``"<split folder>/<disaster>_<id>"`` from :meth:`list_units`.

        Returns:
            A list with one sample.

        Raises:
            SourceError: ``missing_file`` if an image or label file of either phase is
                missing; ``malformed_label`` for unreadable JSON, missing ``features`` or a bad
                WKT; ``bad_metadata`` for an unparseable ``gsd`` or ``capture_date``;
                ``corrupt_raster`` if a PNG header cannot be read or is not 8-bit RGB.
            ValueError: If ``unit`` is not of the form above.
        """
        match = _UNIT_RE.match(unit)
        if not match or match["folder"] not in SPLIT_MAP:
            raise ValueError(f"xbd: bad unit id {unit!r}; expected '<split>/<disaster>_<id>'")
        folder, stem = match["folder"], match["stem"]
        base = self.root / folder
        images = {p: base / "images" / f"{stem}_{p}_disaster.png" for p in PHASES}
        label_paths = {p: base / "labels" / f"{stem}_{p}_disaster.json" for p in PHASES}
        missing = [str(p) for p in (*images.values(), *label_paths.values()) if not p.is_file()]
        if missing:
            raise SourceError("missing_file", f"xbd {unit}: missing {', '.join(missing)}", unit)

        labels = {p: _read_label(label_paths[p], unit) for p in PHASES}
        sizes = {p: _png_size(images[p], unit) for p in PHASES}
        post_meta = labels["post"].metadata

        raw_sensor = _text(post_meta.get("sensor"))
        raw_disaster = _text(post_meta.get("disaster"))
        raw_type = _text(post_meta.get("disaster_type"))
        sensor = SENSOR_NAMES.get(raw_sensor, raw_sensor) or DEFAULT_SENSOR
        gsd = _gsd(post_meta.get("gsd"), labels["post"].path, unit)

        acquired: list[str] = []
        for phase in PHASES:
            date = _iso_date(labels[phase].metadata.get("capture_date"), labels[phase].path, unit)
            if date and date not in acquired:
                acquired.append(date)

        crs, footprint = "", ""
        width, height = sizes["post"]
        for phase in ("post", "pre"):
            fit = _fit_label(labels[phase])
            if (
                fit is not None
                and fit.rms_px <= MAX_FIT_RMS_PX
                and _plausible_lonlat(fit, width, height)
            ):
                crs, footprint = "EPSG:4326", fit.footprint_wkt(width, height)
                # The metadata ``gsd`` is the multispectral GSD (2.35 m on the real Joplin
                # tile, whose pixels measure 0.45 m); the fitted pixel size is what the
                # image shows, so it is the sample's GSD when the fit exists.
                gsd = round(sum(fit.pixel_size_m()) / 2, 2)
                break

        objects = tuple(
            ObjectLabel(
                category=f.feature_type,
                attribute=f.subtype,
                image_role="post",
                bbox=tuple(float(v) for v in f.geometry.bounds),  # type: ignore[arg-type]
                polygon_wkt=f.wkt,
                uid=f.uid,
            )
            for f in labels["post"].xy
        )
        properties = {"disaster": raw_disaster or match["disaster"]}
        metadata_gsd = _gsd(post_meta.get("gsd"), labels["post"].path, unit)
        if metadata_gsd is not None:
            properties["metadata_gsd_m"] = f"{metadata_gsd:g}"
        if raw_type:
            properties["disaster_type"] = raw_type
        raw_tags = {"disaster": raw_disaster, "disaster_type": raw_type, "sensor": raw_sensor}
        tags = {k: v for k, v in raw_tags.items() if v}
        native_id = self._native_id(folder, stem)
        sample = Sample(
            sample_id=f"{self.name}:{native_id}",
            source=self.name,
            native_id=native_id,
            modality="rgb",
            sensor=sensor,
            bands=("R", "G", "B"),
            gsd_m=gsd,
            crs=crs,
            footprint_wkt=footprint,
            acquired=tuple(acquired),
            images=tuple(
                ImageRef(
                    role=p,
                    files=(str(images[p]),),
                    bands=("R", "G", "B"),
                    encoding="uint8",
                    width=sizes[p][0],
                    height=sizes[p][1],
                )
                for p in PHASES
            ),
            tags=tags,
            labels=Labels(scheme="", classes=(), objects=objects, properties=properties),
            licence=self.licence,
            split=SPLIT_MAP[folder],
        )
        return [sample]


# -- helpers ----------------------------------------------------------------------------------


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _malformed(path: Path, unit: str, why: str) -> SourceError:
    return SourceError("malformed_label", f"xbd {unit}: {path}: {why}", unit)


def _read_label(path: Path, unit: str) -> _Label:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _malformed(path, unit, f"not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), dict):
        raise _malformed(path, unit, "no 'features' object")
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _malformed(path, unit, "'metadata' is not an object")
    if "xy" not in data["features"]:
        raise _malformed(path, unit, "no features.xy list")
    parsed: dict[str, tuple[_Feature, ...]] = {}
    for key in ("xy", "lng_lat"):
        items = data["features"].get(key, [])
        if not isinstance(items, list):
            raise _malformed(path, unit, f"features.{key} is not a list")
        parsed[key] = tuple(
            _parse_feature(item, f"features.{key}[{i}]", path, unit) for i, item in enumerate(items)
        )
    return _Label(path=path, xy=parsed["xy"], lng_lat=parsed["lng_lat"], metadata=metadata)


def _parse_feature(item: object, where: str, path: Path, unit: str) -> _Feature:
    if not isinstance(item, dict) or not isinstance(item.get("properties"), dict):
        raise _malformed(path, unit, f"{where} has no 'properties' object")
    props = item["properties"]
    text = item.get("wkt")
    if not isinstance(text, str):
        raise _malformed(path, unit, f"{where} has no 'wkt' text")
    try:
        geometry = shapely.from_wkt(text)
    except shapely.errors.ShapelyError as exc:
        raise _malformed(path, unit, f"{where}: unparseable WKT {text[:60]!r}") from exc
    if not isinstance(geometry, Polygon | MultiPolygon) or geometry.is_empty:
        raise _malformed(path, unit, f"{where}: not a non-empty polygon: {text[:60]!r}")
    feature_type = _text(props.get("feature_type"))
    if not feature_type:
        raise _malformed(path, unit, f"{where} has no properties.feature_type")
    return _Feature(
        feature_type=feature_type,
        subtype=_text(props.get("subtype")),
        uid=_text(props.get("uid")),
        wkt=text,
        geometry=geometry,
    )


def _rings(geometry: Polygon | MultiPolygon) -> list[np.ndarray]:
    polygons = list(geometry.geoms) if isinstance(geometry, MultiPolygon) else [geometry]
    rings: list[np.ndarray] = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            rings.append(np.asarray(ring.coords, dtype=np.float64)[:-1, :2])
    return rings


def _fit_label(label: _Label) -> AffineFit | None:
    """Fit over the vertices of the buildings present in both lists (matched by uid)."""
    world_by_uid: dict[str, list[_Feature]] = {}
    for feature in label.lng_lat:
        if feature.uid:
            world_by_uid.setdefault(feature.uid, []).append(feature)
    pixel_parts: list[np.ndarray] = []
    world_parts: list[np.ndarray] = []
    for feature in label.xy:
        candidates = world_by_uid.get(feature.uid)
        if not candidates:
            continue
        world_feature = candidates.pop(0)
        pixel_rings, world_rings = _rings(feature.geometry), _rings(world_feature.geometry)
        if len(pixel_rings) != len(world_rings):
            continue
        for p_ring, w_ring in zip(pixel_rings, world_rings, strict=True):
            if p_ring.shape == w_ring.shape:
                pixel_parts.append(p_ring)
                world_parts.append(w_ring)
    if not pixel_parts:
        return None
    return fit_pixel_to_lonlat(np.vstack(pixel_parts), np.vstack(world_parts))


def _plausible_lonlat(fit: AffineFit, width: int, height: int) -> bool:
    for x, y in ((0, 0), (width, 0), (width, height), (0, height)):
        lon, lat = fit.apply(x, y)
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
            return False
    return True


def _png_size(path: Path, unit: str) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            mode, size = image.mode, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceError(
            "corrupt_raster", f"xbd {unit}: {path}: unreadable ({exc})", unit
        ) from exc
    if mode not in ("RGB", "RGBA"):
        raise SourceError(
            "corrupt_raster",
            f"xbd {unit}: {path}: expected an 8-bit RGB PNG, got mode {mode}",
            unit,
        )
    return int(size[0]), int(size[1])


def _gsd(value: object, path: Path, unit: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        gsd = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise SourceError("bad_metadata", f"xbd {unit}: {path}: gsd {value!r}", unit) from exc
    return gsd if math.isfinite(gsd) and gsd > 0 else None


def _iso_date(value: object, path: Path, unit: str) -> str:
    """Normalise a capture date to ``YYYY-MM-DDThh:mm:ssZ`` (UTC, seconds truncated)."""
    text = _text(value)
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SourceError(
            "bad_metadata", f"xbd {unit}: {path}: capture_date {text!r} is not ISO 8601", unit
        ) from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
