"""Blending repainted pixels into the original photo.

Every pixel where all regions' alpha is exactly 0 is copied from the original, so it is
bit-identical to the input, however the stylised image was computed or resized.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from virtart import masks
from virtart.geometry import Box

if TYPE_CHECKING:  # base imports DEFAULT_FEATHER from here
    from virtart.engines.base import Region

# Rows blended at a time: the float copies of a large photo stay small.
COMPOSITE_ROWS = 512
DEFAULT_FEATHER = 4.0  # px of soft edge a region gets when its request names none


@dataclass
class Layer:
    """Repainted pixels for part of the photo.

    ``pixels``: ``(h, w, 3) uint8`` at the photo's full resolution, covering ``box``, which
    covers every non-zero alpha of the regions (indices) in ``regions``.
    """

    box: Box
    pixels: np.ndarray
    regions: tuple[int, ...]


def region_alphas(regions_masks: list[np.ndarray], feather: float | Sequence[float]) -> list[np.ndarray]:
    """Feathered ``(H, W) float32`` alpha for each region (``feather``: one radius in px, or one
    per region), later regions on top.

    Earlier regions lose the pixels a later region takes, so overlapping regions never
    mix two styles at full strength.
    """
    radii = [feather] * len(regions_masks) if isinstance(feather, (int, float)) else list(feather)
    alphas = [masks.feather(mask, radius) for mask, radius in zip(regions_masks, radii, strict=True)]
    for index in range(len(alphas) - 1):
        later = np.maximum.reduce(alphas[index + 1 :])
        alphas[index] = np.minimum(alphas[index], 1.0 - later)
    return alphas


def composite(original: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Blend ``(stylised, alpha)`` layers over ``original``, in order.

    ``original`` and each stylised image are ``(H, W, 3) uint8``; each alpha is
    ``(H, W) float32`` in ``[0, 1]``. Pixels with zero total alpha keep the original bytes.
    """
    result = original.astype(np.float32)
    touched = np.zeros(original.shape[:2], dtype=bool)
    for stylised, alpha in layers:
        a = alpha[:, :, None]
        result = result * (1.0 - a) + stylised.astype(np.float32) * a
        touched |= alpha > 0
    blended = np.clip(np.round(result), 0, 255).astype(np.uint8)
    return np.where(touched[:, :, None], blended, original)


def alphas_of(regions: list[Region]) -> list[np.ndarray]:
    """The regions' alphas: those the pipeline attached, else :func:`region_alphas` of their
    masks, each with its own feather."""
    if all(region.alpha is not None for region in regions):
        return [region.alpha for region in regions]
    return region_alphas([region.mask for region in regions], [region.feather for region in regions])


def composite_layers(photo: np.ndarray, layers: list[Layer], alphas: list[np.ndarray]) -> np.ndarray:
    """``photo`` ``(H, W, 3) uint8`` with each region's layer blended in through the region's
    alpha, regions in order (later on top). Only the layers' box is touched, in stripes."""
    result = photo.copy()
    if not layers:
        return result
    outer = layers[0].box.union(*(layer.box for layer in layers[1:]))
    original = outer.of(photo)
    by_region = {index: layer for layer in layers for index in layer.regions}
    canvases = []
    for index in sorted(by_region):
        layer = by_region[index]
        canvas = original.copy()
        layer.box.shifted(-outer.x0, -outer.y0).of(canvas)[:] = layer.pixels
        canvases.append((canvas, outer.of(alphas[index])))
    blended = outer.of(result)
    for top in range(0, blended.shape[0], COMPOSITE_ROWS):
        rows = slice(top, top + COMPOSITE_ROWS)
        blended[rows] = composite(original[rows], [(canvas[rows], alpha[rows]) for canvas, alpha in canvases])
    return result


def outside_changed_pixels(original: np.ndarray, result: np.ndarray, alphas: list[np.ndarray]) -> int:
    """How many pixels with zero alpha in every region differ from the original (must be 0)."""
    outside = ~np.logical_or.reduce([alpha > 0 for alpha in alphas])
    return int(np.count_nonzero(np.any(original != result, axis=2) & outside))
