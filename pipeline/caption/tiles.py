"""The image tile cap: how many InternVL tiles (and image tokens) a captioned image costs.

InternVL2's dynamic tiling (``dynamic_preprocess`` in its model card, ``max_dynamic_patch`` in
vLLM's InternVL processor) picks the grid of ``i x j`` 448-px tiles, with ``i * j`` at most
``max_dynamic_patch`` (12 by default), whose aspect ratio is closest to the image's; between
grids of the same ratio it takes the larger one when the image's area exceeds half the grid's.
The image is resized to the grid and cut into tiles, plus one thumbnail tile when there are
several. Each tile costs 256 image tokens (InternVL2: 448 px, 14-px patches, pixel shuffle 0.5),
so a large square image costs 10 tiles (2,560 tokens) and a 2:1 one up to 13 (3,328 tokens).

``caption.max_dynamic_patch`` (default 1) caps it: the image sent is downscaled (aspect kept)
to the largest size whose tiling under the engine's default ``max_dynamic_patch`` gives at
most the cap's tiles (:func:`capped_size`), whatever the engine. An image far from square gets
its grid from its aspect ratio whatever its size; for those, start vLLM with
``--mm-processor-kwargs '{"max_dynamic_patch": N}'`` (its InternVL processor reads it; vLLM
0.32 refuses the same field per request unless started with ``--trust-request-mm-kwargs``,
then ``caption.extra_body: {mm_processor_kwargs: {max_dynamic_patch: N}}`` sends it).
"""

from __future__ import annotations

import io
import math

from PIL import Image, UnidentifiedImageError

from eoinstruct.pipeline.io.rasters import RasterReadError

TILE_PX = 448
"""InternVL2's tile side, pixels."""

TOKENS_PER_TILE = 256
"""Image tokens per tile (InternVL2: (448 / 14)² patches, pixel shuffle 0.5)."""

ENGINE_MAX_PATCH = 12
"""InternVL2's default ``max_dynamic_patch`` (its ``config.json``), what an engine that ignores
the request's cap tiles with."""


def _grids(max_num: int) -> list[tuple[int, int]]:
    grids = {(i, j) for i in range(1, max_num + 1) for j in range(1, max_num // i + 1)}
    return sorted(grids, key=lambda g: g[0] * g[1])


def internvl_grid(width: float, height: float, max_num: int = ENGINE_MAX_PATCH) -> tuple[int, int]:
    """Return the ``(columns, rows)`` grid InternVL's dynamic tiling gives an image.

    Args:
        width: Image width, pixels.
        height: Image height, pixels.
        max_num: ``max_dynamic_patch``: most tiles in the grid.

    Returns:
        The grid.
    """
    aspect = width / height
    area = width * height
    best, best_diff = (1, 1), math.inf
    for columns, rows in _grids(max(1, max_num)):
        diff = abs(aspect - columns / rows)
        if diff < best_diff:
            best, best_diff = (columns, rows), diff
        elif diff == best_diff and area > 0.5 * TILE_PX * TILE_PX * columns * rows:
            best = (columns, rows)
    return best


def internvl_tiles(width: float, height: float, max_num: int = ENGINE_MAX_PATCH) -> int:
    """Return the tiles InternVL makes of an image: the grid's, plus a thumbnail if several.

    Args:
        width: Image width, pixels.
        height: Image height, pixels.
        max_num: ``max_dynamic_patch``.

    Returns:
        Tiles (each :data:`TOKENS_PER_TILE` image tokens).
    """
    columns, rows = internvl_grid(width, height, max_num)
    n = columns * rows
    return n + 1 if n > 1 else n


def capped_size(width: int, height: int, max_tiles: int) -> tuple[int, int]:
    """Return the size to send an image at so that it costs at most ``max_tiles`` tiles.

    The largest downscale (aspect kept, never an upscale) whose tiling under the engine's
    default :data:`ENGINE_MAX_PATCH` makes at most ``max_tiles`` tiles. An image whose aspect
    ratio alone selects a larger grid (far from square) is sent with at most ``max_tiles``
    tiles' worth of pixels (the server's ``--mm-processor-kwargs`` enforces the cap).

    Args:
        width: Image width, pixels.
        height: Image height, pixels.
        max_tiles: The cap (``caption.max_dynamic_patch``); 0: no cap.

    Returns:
        ``(width, height)`` to send (the same when within the cap).
    """
    if max_tiles <= 0 or internvl_tiles(width, height) <= max_tiles:
        return width, height
    longest = max(width, height)

    def size(side: int) -> tuple[int, int]:
        scale = side / longest
        return max(1, round(width * scale)), max(1, round(height * scale))

    if internvl_tiles(width / longest, height / longest) > max_tiles:  # the aspect decides
        # no size gives fewer tiles: send at most max_tiles tiles' worth of pixels
        scale = min(1.0, math.sqrt(max_tiles * TILE_PX * TILE_PX / (width * height)))
        return max(1, int(width * scale)), max(1, int(height * scale))
    low, high = 1, longest  # tiles(size(low)) <= cap < tiles(size(high)); monotone in size
    while high - low > 1:
        middle = (low + high) // 2
        if internvl_tiles(*size(middle)) <= max_tiles:
            low = middle
        else:
            high = middle
    return size(low)


def cap_image(data: bytes, max_tiles: int) -> bytes:
    """Return encoded image bytes downscaled to :func:`capped_size` (unchanged when within).

    Args:
        data: PNG or JPEG bytes.
        max_tiles: The cap; 0: no cap.

    Returns:
        The bytes to send: the original, or a PNG of the downscaled image.

    Raises:
        RasterReadError: ``corrupt_raster`` if the bytes are not an image.
    """
    if max_tiles <= 0:
        return data
    try:
        with Image.open(io.BytesIO(data)) as image:
            target = capped_size(image.width, image.height, max_tiles)
            if target == (image.width, image.height):
                return data
            resized = image.convert("RGB").resize(target, Image.Resampling.BICUBIC)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise RasterReadError("corrupt_raster", f"image to caption: {exc}") from exc
    out = io.BytesIO()
    resized.save(out, format="PNG", compress_level=1)
    return out.getvalue()
