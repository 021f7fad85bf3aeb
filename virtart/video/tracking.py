"""Regions that follow their objects: each mask is carried to the next frame by the flow.

A region's mask is chosen on one keyframe (``(H, W) float32`` in ``[0, 1]``, the frame's
pixels). :class:`MaskTracker` moves every mask along the backward flow to each next frame
(or previous frame, when tracking back from a keyframe in the middle), keeps it a hard mask
(threshold 0.5, so the outline does not blur away over hundreds of frames), drops specks
the warp leaves behind, and drops a region quietly once it has left the frame.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from virtart import masks as mask_ops
from virtart.geometry import Box
from virtart.video.flow import Flows, warp

# A region whose area falls under this share of the frame, or under this share of its area
# on the first frame, has left it (a sliver stuck at the border is not the object any more).
MIN_AREA_FRACTION = 2e-4
MIN_AREA_KEPT = 0.05
# Warped masks grow specks at flow discontinuities; components under this share of the
# region's area are removed.
SPECK_FRACTION = 0.02

# Motion fits use at most this many flow vectors from inside a region (eroded by EDGE px, where
# DIS smears object motion into the background).
FIT_POINTS = 2000
EDGE = 3

Refiner = Callable[[np.ndarray, np.ndarray], np.ndarray]


class MaskTracker:
    """Carries region masks from frame to frame.

    ``masks``: each region's mask on the starting frame. ``refine(frame, carried_mask)``, if
    given, re-cuts a carried mask on the new frame (a segmenter with the carried mask as its
    prior) and returns a mask of the same shape.

    Sub-pixel motion must not be rounded away frame after frame (a region moving 0.3 px per
    frame would never move), so each region keeps an *anchor* mask and the similarity that
    has moved it since; the anchor is replaced only where the motion is not rigid or a
    re-cut changed the outline.
    """

    def __init__(self, masks: list[np.ndarray], refine: Refiner | None = None):
        self.masks: list[np.ndarray | None] = [mask_ops.binary(mask).astype(np.float32) for mask in masks]
        self.anchors: list[np.ndarray | None] = [mask.copy() for mask in self.masks]
        self.moves: list[np.ndarray] = [np.eye(3, dtype=np.float64) for _ in masks]
        self.areas = [int(np.count_nonzero(mask)) for mask in self.masks]
        self.refine = refine

    def restart(self, index: int, mask: np.ndarray) -> None:
        """Track region ``index`` again from ``mask`` on the current frame (an object that came back)."""
        self.masks[index] = self.anchors[index] = mask_ops.binary(mask).astype(np.float32)
        self.moves[index] = np.eye(3, dtype=np.float64)
        self.areas[index] = int(np.count_nonzero(self.masks[index]))

    @property
    def alive(self) -> list[bool]:
        """Whether each region is still in the frame."""
        return [mask is not None for mask in self.masks]

    def step(self, flows: Flows, frame: np.ndarray | None = None) -> list[np.ndarray | None]:
        """Carry every live mask onto the current frame of ``flows`` (``frame``, the ``(H, W, 3)
        uint8`` image, is only needed to re-cut); None for dropped regions."""
        height, width = flows.backward.shape[:2]
        minimum = MIN_AREA_FRACTION * height * width
        for index, mask in enumerate(self.masks):
            if mask is None:
                continue
            matrix = region_motion(mask, flows)
            if matrix is not None:
                self.moves[index] = np.vstack([matrix, (0.0, 0.0, 1.0)]) @ self.moves[index]
                soft = cv2.warpAffine(self.anchors[index], self.moves[index][:2].astype(np.float32), (width, height),
                                      flags=cv2.INTER_LINEAR, borderValue=0.0)
            else:  # not rigid: pixel by pixel; the soft warp keeps sub-pixel motion, the anchor restarts
                soft = warp(mask, flows.backward, outside=0.0)
            carried = mask_ops.binary(soft).astype(np.float32)
            if self.refine is not None and frame is not None and carried.any():
                refined = mask_ops.binary(self.refine(frame, carried)).astype(np.float32)
                if not np.array_equal(refined, carried):
                    matrix, carried = None, refined
            area = np.count_nonzero(carried)
            if area < max(minimum, MIN_AREA_KEPT * self.areas[index]):
                self.masks[index] = self.anchors[index] = None
                continue
            carried = mask_ops.remove_small_islands(carried, max(1, int(SPECK_FRACTION * area)))
            self.masks[index] = carried
            if matrix is None:
                self.anchors[index], self.moves[index] = carried, np.eye(3, dtype=np.float64)
        return list(self.masks)


def region_motion(mask: np.ndarray, flows: Flows) -> np.ndarray | None:
    """The ``2x3`` similarity (rotation, scale, shift) moving the region from the previous frame
    to the current one, fitted with RANSAC to the forward flow inside the region; None when the
    region has too few pixels or the fit fails."""
    inner = mask_ops.binary(mask_ops.erode(mask, EDGE))
    ys, xs = np.nonzero(inner)
    if xs.size < 50:
        return None
    pick = np.linspace(0, xs.size - 1, min(FIT_POINTS, xs.size)).astype(np.int64)
    ys, xs = ys[pick], xs[pick]
    origins = np.stack([xs, ys], axis=1).astype(np.float32)
    targets = origins + flows.forward[ys, xs]
    matrix, inliers = cv2.estimateAffinePartial2D(origins, targets, method=cv2.RANSAC, ransacReprojThreshold=1.0)
    if matrix is None or inliers is None or inliers.mean() < 0.5:
        return None
    return matrix.astype(np.float32)



def grabcut_recut(frame: np.ndarray, carried: np.ndarray, band: int = 6, long_side: int = 320) -> np.ndarray:
    """Re-cut a carried mask on ``frame`` with GrabCut, the carried mask as its prior: pixels
    ``band`` px inside it are object, far outside background, the band between is decided by
    the colour models. Works on the mask's box shrunk to ``long_side`` px (~45 ms a frame here).

    On the coco128-seg clips of bench/bench_video.py it raises the mean IoU over 60 frames from
    0.863 to 0.895 (even photos, 24 clips) and from 0.910 to 0.934 (odd), for ~45 ms more per
    frame (2-3x the tracking time), so it is offered (``virtart video --recut``) rather than
    on by default, where the fast path's throughput matters more."""
    box = Box.around(carried)
    if box is None:
        return carried
    x0, y0, x1, y1 = box.grown(3 * band, carried.shape)
    scale = min(1.0, long_side / max(x1 - x0, y1 - y0))
    size = (max(8, round((x1 - x0) * scale)), max(8, round((y1 - y0) * scale)))
    crop = cv2.resize(frame[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    prior = mask_ops.binary(mask_ops.resize_mask(carried[y0:y1, x0:x1], size))
    radius = max(2, round(band * scale))
    labels = np.full(prior.shape, cv2.GC_BGD, np.uint8)
    labels[mask_ops.binary(mask_ops.dilate(prior, radius))] = cv2.GC_PR_BGD
    labels[prior] = cv2.GC_PR_FGD
    labels[mask_ops.binary(mask_ops.erode(prior, radius))] = cv2.GC_FGD
    if not (labels == cv2.GC_FGD).any():
        return carried
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), labels, None, *models, 2, cv2.GC_INIT_WITH_MASK)
    cut = ((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)).astype(np.float32)
    result = np.zeros_like(carried, dtype=np.float32)
    result[y0:y1, x0:x1] = mask_ops.resize_mask(cut, (x1 - x0, y1 - y0))
    return mask_ops.binary(result).astype(np.float32)
