"""Plots as files: one CSV table and one PNG chart per plot, drawn with Pillow.

The filter stage (``quality/plots.py``) and the build report (``corpus/html_report.py``) write
their plots through this module, so every plot is

- a CSV table with one series (one row per bar or bin), which ``dvc plots show`` draws with the
  ``x``/``y`` and axis titles of ``dvc.yaml``;
- a PNG of the same data (:func:`bars_png`, :func:`histogram_png`, :func:`map_png`) with its
  title and axis titles, which needs no browser, network or plotting library: the HTML report
  embeds it as a ``data:`` URI and ``<metrics>/plots/png/`` keeps a copy for viewers that show
  images (GitHub, ``dvc plots show metrics/plots/png``).

Charts are deterministic (fixed sizes, fonts and colours, no timestamps in the PNG), so a
rebuild that changes no number changes no file. :func:`replace_files` writes a folder's files
and removes the ones a previous build wrote that are no longer produced (a sensor or task that
went away).
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Sequence
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from eoinstruct.pipeline.io.files import replace_files as replace_files
from eoinstruct.pipeline.io.files import write_file as write_file

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
"""Series colours (the first is the colour of single-series charts)."""

INK, GRID, MARK = "#222222", "#d0d4dc", "#c03030"
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


TITLE, TEXT, SMALL = _font(14), _font(12), _font(11)


def _width(text: str, font: Font) -> int:
    left, _, right, _ = font.getbbox(text)
    return int(right - left)


def _fit(text: str, font: Font, width: int) -> str:
    if _width(text, font) <= width:
        return text
    while text and _width(text + "...", font) > width:
        text = text[:-1]
    return text + "..."


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def _canvas(width: int, height: int, title: str) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), _fit(title, TITLE, width - 20), fill=INK, font=TITLE)
    return image, draw


def _axis_titles(
    image: Image.Image, x_title: str, y_title: str, plot: tuple[int, int, int, int]
) -> None:
    """Write the x title 22 pixels under the plot area and the y title, turned, left of it."""
    left, top, right, bottom = plot
    draw = ImageDraw.Draw(image)
    x_text = _fit(x_title, TEXT, right - left)
    draw.text(((left + right - _width(x_text, TEXT)) // 2, bottom + 22), x_text, INK, font=TEXT)
    y_text = _fit(y_title, TEXT, bottom - top)
    label = Image.new("RGB", (_width(y_text, TEXT) + 4, 16), "white")
    ImageDraw.Draw(label).text((2, 0), y_text, fill=INK, font=TEXT)
    turned = label.rotate(90, expand=True)
    image.paste(turned, (6, (top + bottom - turned.height) // 2))


def to_png(image: Image.Image) -> bytes:
    """Encode a chart as a small PNG (an adaptive palette of 64 colours, no dithering).

    The palette is Pillow's fast octree (a chart's few flat colours and text greys come out
    within 14 levels of the drawing) and zlib's default level: a fifth of the time of a
    median-cut palette with ``optimize`` (level 9), in files of about the same size.
    """
    small = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """Return ``data:image/png;base64,…`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def bars_png(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    value_title: str,
    category_title: str,
    colour: str = PALETTE[0],
) -> bytes:
    """Draw horizontal bars, one per category, in the order given, values written at the ends.

    Args:
        title: The chart's title.
        bars: ``(category, value)`` pairs.
        value_title: Title of the value axis (under the bars).
        category_title: Title of the category axis (left, turned).
        colour: The bars' colour.

    Returns:
        PNG bytes.
    """
    row, width = 20, 640
    label_w = min(260, max([_width(name, SMALL) for name, _ in bars] + [40]) + 8)
    left, top = 26 + label_w, 34
    right = width - 60
    bottom = top + row * max(len(bars), 1)
    image, draw = _canvas(width, bottom + 50, title)
    peak = max([value for _, value in bars] + [0]) or 1
    for i, (name, value) in enumerate(bars):
        y = top + i * row
        text = _fit(name, SMALL, label_w - 8)
        draw.text((left - 6 - _width(text, SMALL), y + 3), text, fill=INK, font=SMALL)
        end = left + (right - left) * value / peak
        draw.rectangle([left, y + 3, max(end, left + 1), y + row - 3], fill=colour)
        draw.text((end + 4, y + 3), _number(value), fill=INK, font=SMALL)
    if not bars:
        draw.text((left, top + 3), "none", fill=INK, font=SMALL)
    draw.line([left, top, left, bottom], fill=INK)
    draw.line([left, bottom, right, bottom], fill=INK)
    for value in (0, peak):
        x = left + (right - left) * value / peak
        draw.line([x, bottom, x, bottom + 4], fill=INK)
        text = _number(value)
        draw.text((x - _width(text, SMALL) / 2, bottom + 6), text, fill=INK, font=SMALL)
    _axis_titles(image, value_title, category_title, (left, top, right, bottom))
    return to_png(image)


def histogram_png(
    title: str,
    bins: Sequence[tuple[float, float, float]],
    *,
    x_title: str,
    y_title: str,
    marks: Sequence[float] = (),
) -> bytes:
    """Draw a histogram: one bar per bin, ticks at both ends of the range, marks in red.

    Args:
        title: The chart's title.
        bins: ``(low, high, count)`` per bin, in order, adjacent.
        x_title: Title of the value axis.
        y_title: Title of the count axis.
        marks: Values drawn as red vertical lines (thresholds).

    Returns:
        PNG bytes.
    """
    width, height = 480, 300
    left, top, right, bottom = 70, 34, width - 16, height - 50
    image, draw = _canvas(width, height, title)
    low = bins[0][0] if bins else 0.0
    high = bins[-1][1] if bins else 1.0
    span = (high - low) or 1.0
    peak = max([count for _, _, count in bins] + [0]) or 1

    def x_of(value: float) -> float:
        return left + (right - left) * min(max((value - low) / span, 0.0), 1.0)

    for value in sorted({0, round(peak / 2) if peak >= 4 else 0, peak}):
        y = bottom - (bottom - top) * value / peak
        draw.line([left, y, right, y], fill=GRID)
        text = _number(value)
        draw.text((left - 6 - _width(text, SMALL), y - 7), text, fill=INK, font=SMALL)
    for b_low, b_high, count in bins:
        y = bottom - (bottom - top) * count / peak
        if count:
            draw.rectangle([x_of(b_low), y, max(x_of(b_high) - 1, x_of(b_low)), bottom], PALETTE[0])
    for value in marks:
        draw.line([x_of(value), top, x_of(value), bottom], fill=MARK, width=2)
    draw.line([left, bottom, right, bottom], fill=INK)
    draw.line([left, top, left, bottom], fill=INK)
    for value in (low, high):
        text = _number(value)
        x = x_of(value) - _width(text, SMALL) / 2
        x = min(max(x, left - 20), right - _width(text, SMALL))
        draw.text((x, bottom + 6), text, fill=INK, font=SMALL)
    _axis_titles(image, x_title, y_title, (left, top, right, bottom))
    return to_png(image)


def map_png(title: str, points: Sequence[Sequence[Any]]) -> bytes:
    """Draw points on an equirectangular world grid (30° graticule, no coastlines).

    Args:
        title: The chart's title.
        points: ``(lon, lat, group, …)``; each group (source) has its colour and legend entry.

    Returns:
        PNG bytes.
    """
    left, top, span_w, span_h = 44, 34, 720, 360
    right, bottom = left + span_w, top + span_h
    groups = sorted({str(p[2]) for p in points})
    legend_rows = (len(groups) + 4) // 5
    image, draw = _canvas(right + 16, bottom + 50 + 18 * legend_rows, title)
    colours = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    draw.rectangle([left, top, right, bottom], fill="#f4f8fb", outline="#999999")
    for lon in range(-180, 181, 30):
        x = left + (lon + 180) * span_w / 360
        draw.line([x, top, x, bottom], fill=GRID)
        if lon % 90 == 0:
            draw.text((x - _width(str(lon), SMALL) / 2, bottom + 4), str(lon), INK, SMALL)
    for lat in range(-90, 91, 30):
        y = top + (90 - lat) * span_h / 180
        draw.line([left, y, right, y], fill=GRID)
        draw.text((left - 6 - _width(str(lat), SMALL), y - 7), str(lat), INK, SMALL)
    for lon, lat, group, *_ in points:
        x = left + (float(lon) + 180) * span_w / 360
        y = top + (90 - float(lat)) * span_h / 180
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colours[str(group)], outline="white")
    for i, group in enumerate(groups):
        x, y = left + (i % 5) * 144, bottom + 44 + (i // 5) * 18
        draw.ellipse([x, y + 3, x + 9, y + 12], fill=colours[group])
        draw.text((x + 14, y), _fit(group, SMALL, 126), fill=INK, font=SMALL)
    _axis_titles(image, "longitude (°)", "latitude (°)", (left, top, right, bottom))
    return to_png(image)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Return a CSV table (Unix line ends)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def slug(text: str) -> str:
    """Return a file-name form of a name: ``Sentinel-2 MSI`` → ``sentinel-2_msi``."""
    out = "".join(c if c.isalnum() or c in "-." else "_" for c in text.strip().lower())
    return "_".join(part for part in out.split("_") if part) or "_"
