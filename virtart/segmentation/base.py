"""The segmenter interface every backend implements.

Usage: ``state = segmenter.set_image(rgb)`` once per photo (cached by content hash), then
``segmenter.predict(state, points=[(x, y, label), ...], box=None)`` per click. Points and
boxes are in the original photo's pixel coordinates (x right, y down); label 1 includes,
0 excludes. Masks come back as ``(H, W) float32`` in ``{0, 1}`` at the photo's size.

Re-entrant: a segmenter holds only read-only models and a bounded cache of per-image
embeddings keyed by content hash; everything per user (points, previous logits) travels
in the returned :class:`Prediction` and is passed back by the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from virtart.errors import VirtArtError

Point = tuple[float, float, int]
Box = tuple[float, float, float, float]


@dataclass
class ImageState:
    """What ``set_image`` computed for one photo: its hash, size and backend-specific data."""

    key: str
    size: tuple[int, int]  # (width, height)
    data: Any = None


@dataclass
class Prediction:
    """A mask and what a follow-up click needs (e.g. SAM's low-res logits)."""

    mask: np.ndarray
    score: float = 1.0
    backend: str = ""
    extra: dict = field(default_factory=dict)


class Segmenter(Protocol):
    name: str

    def set_image(self, image: np.ndarray) -> ImageState: ...

    def predict(self, state: ImageState, points: list[Point], box: Box | None = None,
                previous: Prediction | None = None) -> Prediction: ...


def image_key(image: np.ndarray) -> str:
    """Content hash of an ``(H, W, 3) uint8`` image (shape included)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def check_prompts(size: tuple[int, int], points: list[Point], box: Box | None) -> None:
    """Raise :class:`VirtArtError` for clicks outside the image, no prompt, or a zero-area box."""
    width, height = size
    if not points and box is None:
        raise VirtArtError("no clicks: add at least one point (or a box)")
    for x, y, label in points:
        if not (0 <= x < width and 0 <= y < height):
            raise VirtArtError(f"click ({x:g}, {y:g}) is outside the {width}x{height} image")
        if label not in (0, 1):
            raise VirtArtError(f"click label must be 1 (include) or 0 (exclude), got {label}")
    if box is not None:
        x0, y0, x1, y1 = box
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise VirtArtError(f"the box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) has zero area")
