"""No flicker: each region's painting is carried along the flow and only refreshed where needed.

A feed-forward stylizer paints every frame a little differently, so strokes shimmer. Each
region keeps a *canvas*: ``(H, W, 3) float32`` painted pixels over the whole frame (only
those near the region matter) and ``known``, ``(H, W) float32``, where the canvas holds
real paint. Per frame the canvas is moved along the backward flow; on a refresh frame the
stylizer paints the region's box again and the new paint is blended with the carried one
where the scene did not change (non-occluded, and the frame matches the previous frame
moved along the flow): ``canvas = fresh + keep * (carried - fresh)``. Between refreshes the
carried canvas is used as it is, so the stylizer need not run on every frame.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from virtart.geometry import Box
from virtart.video.flow import Flows, warp

# Paints a box of a frame: ``(frame (H, W, 3) uint8, box in frame pixels)`` -> the box's
# painted pixels, ``(h, w, 3) uint8`` at the frame's resolution (None: nothing painted).
Painter = Callable[[np.ndarray, Box], "np.ndarray | None"]

# Share of the carried paint kept on a refresh where the scene did not change. Higher keeps
# strokes steadier but lets the paint lag behind changes of lighting and shape.
KEEP = 0.8
# A region whose alpha has more than this share of its pixels without carried paint (a scene
# cut, a fast new area) is repainted at once instead of at the next refresh; until then a
# few unknown pixels show the paint the flow brought there (occlusions, sub-pixel texture
# mismatches make a few per cent of a region "unknown" on every frame).
MAX_UNKNOWN = 0.25
# Paint is made on the region's box grown by this many pixels, so a region that moves a
# little before the next refresh still finds paint.
BOX_MARGIN = 24


class RegionCanvas:
    """One region's paint across frames (see the module docstring).

    ``painter``: paints a box of a frame (the photo path on that box:
    :func:`virtart.video.pipeline.region_painter`).
    """

    def __init__(self, painter: Painter, keep: float = KEEP):
        self.painter, self.keep = painter, keep
        self.canvas: np.ndarray | None = None
        self.known: np.ndarray | None = None

    def carry(self, flows: Flows) -> None:
        """Move the paint to the current frame; paint where the scene changed is no longer known."""
        if self.canvas is None:
            return
        self.canvas = warp(self.canvas, flows.backward)
        self.known = warp(self.known, flows.backward, outside=0.0) * flows.stable

    def forget(self) -> None:
        """Drop the carried paint (the region starts afresh)."""
        self.canvas = self.known = None

    def needs_paint(self, alpha: np.ndarray) -> bool:
        """Whether too much of the region lacks carried paint."""
        if self.known is None:
            return True
        inside = alpha > 0
        missing = np.count_nonzero(inside & (self.known < 0.5))
        return missing > MAX_UNKNOWN * max(1, np.count_nonzero(inside))

    def paint(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        """Paint the region's box on ``frame`` afresh and blend it with the carried paint."""
        height, width = frame.shape[:2]
        box = Box.around(alpha, threshold=0)
        if box is None:
            return
        box = box.grown(BOX_MARGIN, frame.shape)
        fresh = self.painter(frame, box)
        if fresh is None:
            return
        fresh = fresh.astype(np.float32)
        if self.canvas is None:
            self.canvas = np.zeros((height, width, 3), np.float32)
            self.known = np.zeros((height, width), np.float32)
        rows, cols = slice(box[1], box[3]), slice(box[0], box[2])
        weight = self.keep * np.clip(self.known[rows, cols], 0.0, 1.0)
        self.canvas[rows, cols] = cv2.blendLinear(self.canvas[rows, cols], fresh, weight, 1.0 - weight)
        self.known[rows, cols] = 1.0

    def pixels(self, box: Box) -> np.ndarray | None:
        """The paint over ``box`` as ``(h, w, 3) uint8`` (None before the first paint)."""
        if self.canvas is None:
            return None
        return cv2.convertScaleAbs(box.of(self.canvas))  # rounded and saturated; paint is never negative
