"""Region masks: set operations, morphology, feathering, resizing and IoU.

A mask is ``(H, W) float32`` in ``[0, 1]`` (1 = inside). Set operations work on soft
masks (max/min); morphology thresholds at 0.5 and returns a hard mask. Radii are in
pixels of the mask's own frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage


def as_mask(mask: np.ndarray) -> np.ndarray:
    """Any bool/uint8/float array to a ``float32`` mask in ``[0, 1]``."""
    mask = np.asarray(mask)
    if mask.dtype == np.uint8:
        return mask.astype(np.float32) / 255.0
    return np.clip(mask.astype(np.float32), 0.0, 1.0)


def binary(mask: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``(H, W) bool``: where the mask is at least ``threshold``."""
    return as_mask(mask) >= threshold


def union(*masks: np.ndarray) -> np.ndarray:
    """Pixels in any of the masks."""
    return np.maximum.reduce([as_mask(m) for m in masks])


def intersect(*masks: np.ndarray) -> np.ndarray:
    """Pixels in all of the masks."""
    return np.minimum.reduce([as_mask(m) for m in masks])


def subtract(mask: np.ndarray, *others: np.ndarray) -> np.ndarray:
    """Pixels in ``mask`` but in none of ``others``."""
    result = as_mask(mask)
    for other in others:
        result = np.minimum(result, 1.0 - as_mask(other))
    return result


def invert(mask: np.ndarray) -> np.ndarray:
    """Everything else: ``1 - mask``."""
    return 1.0 - as_mask(mask)


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow the region by ``radius`` pixels (hard mask out)."""
    hard = binary(mask).astype(np.uint8)
    if radius <= 0:
        return hard.astype(np.float32)
    return cv2.dilate(hard, _disk(radius)).astype(np.float32)


def erode(mask: np.ndarray, radius: int) -> np.ndarray:
    """Shrink the region by ``radius`` pixels (hard mask out)."""
    hard = binary(mask).astype(np.uint8)
    if radius <= 0:
        return hard.astype(np.float32)
    return cv2.erode(hard, _disk(radius), borderType=cv2.BORDER_REPLICATE).astype(np.float32)


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` grown by ``pixels`` (negative: shrunk); the mask itself for 0."""
    if pixels > 0:
        return dilate(mask, pixels)
    if pixels < 0:
        return erode(mask, -pixels)
    return mask


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill background pockets fully enclosed by the region."""
    return ndimage.binary_fill_holes(binary(mask)).astype(np.float32)


def remove_small_islands(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Drop connected components of the region smaller than ``min_area`` pixels."""
    hard = binary(mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(hard, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
    return keep[labels].astype(np.float32)


def feather(mask: np.ndarray, radius: float) -> np.ndarray:
    """Soft edge of width ``2 * radius`` centred on the region's boundary.

    Built from signed distances to the boundary, so the result is exactly 0 at every pixel
    farther than ``radius`` outside the region and exactly 1 farther than ``radius`` inside.
    """
    hard = binary(mask)
    if radius <= 0 or not hard.any() or hard.all():
        return hard.astype(np.float32)
    inside = cv2.distanceTransform(hard.astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform((~hard).astype(np.uint8), cv2.DIST_L2, 5)
    signed = np.where(hard, inside - 0.5, 0.5 - outside)
    return np.clip(0.5 + signed / (2.0 * radius), 0.0, 1.0).astype(np.float32)


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to ``size = (width, height)``: area averaging when shrinking, linear when growing."""
    mask = as_mask(mask)
    width, height = size
    if (mask.shape[1], mask.shape[0]) == (width, height):
        return mask
    shrinking = width * height < mask.shape[0] * mask.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return np.clip(cv2.resize(mask, (width, height), interpolation=interpolation), 0.0, 1.0)


def iou(prediction: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two masks, skipping pixels where ``ignore`` is true.

    Two empty masks count as a perfect match (1.0).
    """
    pred, true = binary(prediction), binary(truth)
    if ignore is not None:
        valid = ~np.asarray(ignore, dtype=bool)
        pred, true = pred & valid, true & valid
    union_area = np.count_nonzero(pred | true)
    if union_area == 0:
        return 1.0
    return float(np.count_nonzero(pred & true) / union_area)


def overlay(rgb: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = (30, 144, 255),
            opacity: float = 0.45, outline: int = 2) -> np.ndarray:
    """Draw a semi-transparent coloured mask with an outline over an ``(H, W, 3) uint8`` image."""
    hard = binary(mask)
    tint = np.array(color, dtype=np.float32)
    result = rgb.astype(np.float32)
    result[hard] = result[hard] * (1.0 - opacity) + tint * opacity
    if outline > 0 and hard.any():
        edge = hard & ~binary(erode(hard, outline))
        result[edge] = tint
    return result.astype(np.uint8)
