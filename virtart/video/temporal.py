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

import numpy as np

from virtart.engines.base import Engine, Region
from virtart.engines.fast import FastEngine, working_scale
from virtart.engines.registry import GatysOptions
from virtart.geometry import Box, fit_long_side, resize_image
from virtart.video.flow import Flows, warp

# Paints a box of the frame: (frame at working size, box in frame pixels, working pixels per
# frame pixel (x, y)) -> the box's painted pixels, (h, w, 3) uint8 at the frame's resolution.
Painter = Callable[[np.ndarray, Box, tuple[float, float]], np.ndarray]


def fast_painter(engine: FastEngine, vector: np.ndarray) -> Painter:
    """The fast engine with a region's style vector (computed once per video)."""
    return lambda working, box, scales: engine.stylise_box(working, box, scales, vector)


def quality_painter(engine: Engine, style: np.ndarray) -> Painter:
    """The Quality (Gatys) engine on the box at working size: started from the fast engine's
    result and stopped when converged, as for a photo. For short clips on a GPU."""
    options = GatysOptions()

    def paint(working: np.ndarray, box: Box, scales: tuple[float, float]) -> np.ndarray:
        inner = box.scaled(*scales)
        inner = Box(inner.x0, inner.y0, min(inner.x1, working.shape[1]), min(inner.y1, working.shape[0]))
        crop = np.ascontiguousarray(inner.of(working))
        whole = np.ones(crop.shape[:2], np.float32)
        final = list(engine.run(crop, [Region(whole, style, alpha=whole, feather=0.0)], options))[-1]
        return resize_image(final.layers[0].pixels, box.size)

    return paint

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

    ``painter``: paints the region's box (:func:`fast_painter`, :func:`quality_painter`);
    ``working_size``: long side, in pixels, at which the region's box is painted.
    """

    def __init__(self, painter: Painter, working_size: int | None, keep: float = KEEP):
        self.painter, self.working_size, self.keep = painter, working_size, keep
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
        """Stylize the region's box on ``frame`` and blend it with the carried paint."""
        height, width = frame.shape[:2]
        box = Box.around(alpha, threshold=0)
        if box is None:
            return
        box = box.grown(BOX_MARGIN, frame.shape)
        scale = working_scale(box, self.working_size)
        working = frame
        if scale < 1.0:
            working = resize_image(frame, fit_long_side((width, height), max(width, height) * scale))
        scales = (working.shape[1] / width, working.shape[0] / height)
        fresh = self.painter(working, box, scales).astype(np.float32)
        if self.canvas is None:
            self.canvas = np.zeros((height, width, 3), np.float32)
            self.known = np.zeros((height, width), np.float32)
        rows, cols = slice(box[1], box[3]), slice(box[0], box[2])
        weight = (self.keep * np.clip(self.known[rows, cols], 0.0, 1.0))[:, :, None]
        self.canvas[rows, cols] = fresh + weight * (self.canvas[rows, cols] - fresh)
        self.known[rows, cols] = 1.0

    def layer(self, original: np.ndarray, box: tuple[int, int, int, int], strength_weight: float) -> np.ndarray:
        """The paint over ``box`` as ``(h, w, 3) uint8``, faded into ``original`` (the frame's
        pixels in ``box``) by ``strength_weight`` (1 = full paint)."""
        if self.canvas is None:
            return original
        canvas = self.canvas[box[1] : box[3], box[0] : box[2]]
        if strength_weight < 1.0:
            canvas = original + strength_weight * (canvas - original)
        return np.clip(np.round(canvas), 0, 255).astype(np.uint8)
