"""The segmenter interface every backend implements.

Usage: ``state = segmenter.set_image(rgb)`` once per photo (cached by content hash), then
``segmenter.predict(state, points=[(x, y, label), ...], box=None, strokes=(), prior=None)``
per interaction. Points, boxes and strokes (polylines, :class:`Stroke`) are in the original
photo's pixel coordinates (x right, y down); label 1 includes, 0 excludes. ``prior`` is a
detected object's box holding the include clicks (:mod:`~virtart.segmentation.prompts`
drops it once one falls outside), which a backend may take as a box prompt. Masks come
back as ``(H, W) float32`` in ``{0, 1}`` at the photo's size.

Re-entrant: a segmenter holds only read-only models and a bounded cache of per-image
embeddings keyed by content hash; everything per user (points, previous logits) travels
in the returned :class:`Prediction` and is passed back by the caller.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np

from virtart.errors import VirtArtError
from virtart.geometry import Box  # the one box type; the segmenters import it from here

Point = tuple[float, float, int]


class Stroke(NamedTuple):
    """A brush stroke: a polyline of at least two ``(x, y)`` vertices, and its label (1 include, 0 exclude)."""

    points: tuple[tuple[float, float], ...]
    label: int = 1


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
                previous: Prediction | None = None, strokes: tuple[Stroke, ...] = (),
                prior: Box | None = None) -> Prediction: ...


def image_key(image: np.ndarray) -> str:
    """Content hash of an ``(H, W, 3) uint8`` image (shape included)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest()


def check_prompts(size: tuple[int, int], points: list[Point], box: Box | None,
                  strokes: tuple[Stroke, ...] | list[Stroke] = ()) -> None:
    """Raise :class:`VirtArtError` for no prompt at all, a click outside the image, a box of zero
    area or wholly outside it, or a stroke of fewer than two points or leaving the image."""
    width, height = size
    if not points and box is None and not strokes:
        raise VirtArtError("no clicks: add at least one point (or a box, or a brush stroke)")
    for x, y, label in points:
        if not (0 <= x < width and 0 <= y < height):
            raise VirtArtError(f"click ({x:g}, {y:g}) is outside the {width}x{height} image")
        _check_label(label, "click")
    if box is not None:
        x0, y0, x1, y1 = box
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise VirtArtError(f"the box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) has zero area")
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise VirtArtError(f"the box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) is outside the {width}x{height} image")
    for stroke in strokes:
        if len(stroke.points) < 2:
            raise VirtArtError("a brush stroke needs at least two points")
        for x, y in stroke.points:
            if not (0 <= x < width and 0 <= y < height):
                raise VirtArtError(f"the stroke point ({x:g}, {y:g}) is outside the {width}x{height} image")
        _check_label(stroke.label, "stroke")


def _check_label(label: int, what: str) -> None:
    if label not in (0, 1):
        raise VirtArtError(f"{what} label must be 1 (include) or 0 (exclude), got {label}")
