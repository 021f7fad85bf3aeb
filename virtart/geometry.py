"""Boxes and sizes in pixel coordinates, written once.

Coordinates are image pixels: ``x`` to the right, ``y`` down, origin at the top-left corner
of the top-left pixel. A :class:`Box` has exclusive ends, so ``image[box.y0:box.y1,
box.x0:box.x1]`` is its crop and ``box.width = x1 - x0``. Sizes are ``(width, height)``, as
OpenCV and Pillow take them; array shapes stay ``(height, width)``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np


class Box(NamedTuple):
    """``(x0, y0, x1, y1)`` pixel box, ends exclusive; unpacks like a tuple. Crops and unions
    (:meth:`around`, :meth:`of`) are in whole pixels; a prompt's box (what a user drew,
    :class:`~virtart.segmentation.prompts.Prompt`) may hold sub-pixel floats."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around(cls, mask: np.ndarray, threshold: float = 0.5) -> Box | None:
        """The smallest box holding every pixel of ``mask`` (``(H, W)``) at or above ``threshold``
        (``threshold=0`` with a strict test: every non-zero pixel); None when there is none."""
        inside = mask > 0 if threshold == 0 else mask >= threshold
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        if rows.size == 0:
            return None
        return cls(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)

    @classmethod
    def whole(cls, shape: tuple[int, ...]) -> Box:
        """The box of a whole ``(H, W, ...)`` array."""
        return cls(0, 0, int(shape[1]), int(shape[0]))

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)

    def of(self, array: np.ndarray) -> np.ndarray:
        """The crop (a view) of an ``(H, W, ...)`` array."""
        return array[self.y0 : self.y1, self.x0 : self.x1]

    def union(self, *others: Box) -> Box:
        boxes = (self, *others)
        return Box(min(b.x0 for b in boxes), min(b.y0 for b in boxes), max(b.x1 for b in boxes),
                   max(b.y1 for b in boxes))

    def grown(self, margin: int, shape: tuple[int, ...]) -> Box:
        """Grown by ``margin`` pixels on every side, clipped to an ``(H, W, ...)`` array."""
        return Box(max(0, self.x0 - margin), max(0, self.y0 - margin), min(int(shape[1]), self.x1 + margin),
                   min(int(shape[0]), self.y1 + margin))

    def scaled(self, sx: float, sy: float | None = None) -> Box:
        """The box in a frame scaled by ``(sx, sy)``, rounded outwards so it still covers it."""
        sy = sx if sy is None else sy
        return Box(math.floor(self.x0 * sx), math.floor(self.y0 * sy), math.ceil(self.x1 * sx),
                   math.ceil(self.y1 * sy))

    def shifted(self, dx: int, dy: int) -> Box:
        return Box(self.x0 + dx, self.y0 + dy, self.x1 + dx, self.y1 + dy)


def fit_long_side(size: tuple[int, int], long_side: float) -> tuple[int, int]:
    """``(width, height)`` scaled so the long side is ``long_side`` (up or down), aspect kept,
    each side rounded and at least 1."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def shrink_to(size: tuple[int, int], max_side: float | None) -> tuple[int, int]:
    """:func:`fit_long_side` when the long side exceeds ``max_side``, else ``size`` unchanged."""
    if not max_side or max(size) <= max_side:
        return size
    return fit_long_side(size, max_side)


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An ``(h, w, C)`` uint8 image at ``size = (width, height)``: area when shrinking (no
    aliasing), Lanczos when growing (sharp); the image itself when the size is unchanged."""
    if (image.shape[1], image.shape[0]) == tuple(size):
        return image
    growing = size[0] * size[1] > image.shape[0] * image.shape[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4 if growing else cv2.INTER_AREA)
