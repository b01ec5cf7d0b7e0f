"""The corpus card's feature tables and storage figures (kept apart from ``card.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from eoinstruct.pipeline.corpus.layout import storage_figures

FEATURES: tuple[tuple[str, str, str], ...] = (
    ("sample_id", "string", "`<source>:<native id>`"),
    ("source", "string", "source adapter name"),
    ("modality", "string", "rgb, multispectral, sar, infrared, thermal or hyperspectral"),
    ("sensor", "string", "sensor or platform"),
    ("split", "string", "train, validation or test"),
    ("acquired", "list of string", "acquisition time per image (ISO 8601; empty if unknown)"),
    ("image_roles", "list of string", "role of each image (`image`, `pre`, `t0_bands`…)"),
    ("images", "list of Image", "RGB rendering of every image, in the order of `image_roles`"),
    (
        "arrays",
        "list of {role, npy, shape, dtype, bands, wavelengths_nm, gsd_m, scale, offset, unit, "
        "encoding, nodata}",
        "every image that is not 8-bit RGB or grey, lossless (`.npy` bytes; physical = stored × "
        "scale + offset; nodata → NaN)",
    ),
    (
        "dialogues",
        "list of {pair_id, task, template_id, paraphrase_id, answer_style, generator, "
        "generator_params, modality, image_roles, conversations}",
        "the sample's pairs; each pair's `<image>` tokens follow its `image_roles`; "
        "`generator` is the generator's name and version (`template/1`…)",
    ),
    ("metadata", "string (JSON)", "native id, bands, GSD, CRS, footprint, times, tags, labels…"),
)
"""Columns of a sample row (``data/*.parquet``)."""

PAIR_FEATURES: tuple[str, ...] = (
    "pair_id",
    "sample_id",
    "source",
    "split",
    "task",
    "template_id",
    "paraphrase_id",
    "answer_style",
    "modality",
    "sensor",
    "image_roles",
    "conversations",
    "generator",
    "generator_params",
)
"""Columns of the pair table (``pairs/*.parquet``)."""


def storage_lines(summary: Mapping[str, Any]) -> list[str]:
    """Return the card's storage line: bytes stored vs the unique images' bytes.

    Args:
        summary: The merged shard summary.

    Returns:
        One Markdown bullet, or nothing when the summary has no byte counts.
    """
    figures = storage_figures(dict(summary))
    if not figures.get("unique_images"):
        return []
    unique = int(figures["unique_images"])
    tars = (
        f", the tars {int(figures['tar_images']):,} image bytes "
        f"({figures['tar_images_ratio']:.2f}×) in {int(figures['tar_files']):,} file bytes "
        f"({figures['tar_files_ratio']:.2f}×)"
        if figures.get("tar_files")
        else " (no tars stored: each image once)"
    )
    return [
        f"- Storage: the unique images (each rendering and array once) are {unique:,} bytes; "
        f"Parquet holds {int(figures['parquet_images']):,} image bytes "
        f"({figures['parquet_images_ratio']:.2f}×) in {int(figures['parquet_files']):,} file "
        f"bytes ({figures['parquet_files_ratio']:.2f}×, text and pair table included){tars}.",
    ]


def tar_lines(summary: Mapping[str, Any]) -> list[str]:
    """Return the card's bullet on the WebDataset tars: stored, or how to produce them.

    Args:
        summary: The merged shard summary (``tar_files`` bytes > 0 when the build wrote tars).

    Returns:
        One Markdown bullet.
    """
    layout = (
        "same file stems, one key per sample: `<key>.json` (all columns but pixels; "
        "`arrays.<role>` describes each array), one `<key>.<role>.png` rendering per image and, "
        "for every image that is not 8-bit RGB or grey, `<key>.<role>.npy` (all bands). "
        "`wds.WebDataset(shards).decode('pil').compose(eoinstruct.pipeline.corpus.views."
        "wds_pairs)` yields one sample per pair."
    )
    if int(dict(summary.get("bytes", {})).get("tar_files", 0)):
        return [f"- `wds/*.tar`: the same samples as WebDataset shards, {layout}"]
    return [
        "- `wds/*.tar` (WebDataset) are not stored by the build: the Parquet shards are the one "
        "copy of every image. `eoinstruct webdataset` writes them from `data/*.parquet` into "
        "`wds/` (byte-identical to a build with `shard.webdataset: true`, and listed in "
        "`manifest.json` so that a publish uploads them); present here only if the manifest "
        f"lists them. The tars hold the same samples, {layout}"
    ]
