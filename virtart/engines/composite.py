"""Blending repainted pixels into the original photo.

Every pixel where all regions' alpha is exactly 0 is copied from the original, so it is
bit-identical to the input, however the stylised image was computed or resized.
"""

from __future__ import annotations

import numpy as np

from virtart import masks


def region_alphas(regions_masks: list[np.ndarray], feather: float) -> list[np.ndarray]:
    """Feathered ``(H, W) float32`` alpha for each region, later regions on top.

    Earlier regions lose the pixels a later region takes, so overlapping regions never
    mix two styles at full strength.
    """
    alphas = [masks.feather(mask, feather) for mask in regions_masks]
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


def outside_changed_pixels(original: np.ndarray, result: np.ndarray, alphas: list[np.ndarray]) -> int:
    """How many pixels with zero alpha in every region differ from the original (must be 0)."""
    outside = ~np.logical_or.reduce([alpha > 0 for alpha in alphas])
    return int(np.count_nonzero(np.any(original != result, axis=2) & outside))
