"""Dense optical flow between consecutive frames (OpenCV DIS), warping and occlusion.

A flow is ``(H, W, 2) float32`` in pixels of the full frame, ``(dx, dy)`` with x right and
y down. ``Flows.backward`` maps each pixel of the *current* frame to where it was in the
previous one, so anything of the previous frame (a mask, a painted frame) is carried to the
current one by :func:`warp` (backward warping: no holes). ``Flows.forward`` maps the
previous frame to the current one and serves the forward-backward consistency check
(Sundaram et al. 2010) that marks occluded or mis-tracked pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Flow is estimated on frames shrunk to this long side, with DIS "fast" refined down to half
# that resolution (finest scale 1, not the preset's 2): ~20 ms per flow on one core. On the
# coco128-seg clips of bench/bench_video.py the preset's coarser flow let carried masks drift
# (mean IoU over 60 frames 0.77 moving objects / 0.83 camera moves, even images); this
# gives 0.85 / 0.90 (480 px: 0.93 / 0.91 at twice the time).
FLOW_LONG_SIDE = 320
FINEST_SCALE = 1
# DIS builds an image pyramid and asserts when a level would be under a patch or two wide (a
# 320x8 flow image of an 1800x16 clip crashed it): thinner frames are padded to this side
# (edge copied) for the estimate, and the flow is cropped back.
FLOW_MIN_SIDE = 32


# A pixel whose grey level differs from the previous frame's (moved along the flow) by more
# than this has changed (lighting, a cut, something new): it is not "stable".
CHANGE_TOLERANCE = 20


@dataclass
class Flows:
    """``backward``: current -> previous; ``forward``: previous -> current (see module doc).
    ``stable``: ``(H, W) bool``, where the current frame is the previous one moved along the
    flow: not occluded (forward-backward consistent) and not changed (see :func:`unchanged`)."""

    backward: np.ndarray
    forward: np.ndarray
    stable: np.ndarray | None = None


def flow_image(rgb: np.ndarray, long_side: int = FLOW_LONG_SIDE) -> np.ndarray:
    """The ``(h, w) uint8`` grey frame DIS works on (shrunk so its long side is at most ``long_side``)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    scale = long_side / max(grey.shape)
    if scale < 1.0:
        # a thin side never shrinks below what it was, nor below 8 px
        size = (max(min(8, grey.shape[1]), round(grey.shape[1] * scale)),
                max(min(8, grey.shape[0]), round(grey.shape[0] * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def _padded(grey: np.ndarray) -> np.ndarray:
    """``grey`` grown (edge copied, right and bottom) to at least :data:`FLOW_MIN_SIDE` on each side."""
    height, width = grey.shape
    return cv2.copyMakeBorder(grey, 0, max(0, FLOW_MIN_SIDE - height), 0, max(0, FLOW_MIN_SIDE - width),
                              cv2.BORDER_REPLICATE)


class FlowEstimator:
    """DIS optical flow. Holds OpenCV state, so use one per video being processed."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST, finest_scale: int = FINEST_SCALE):
        self.dis = cv2.DISOpticalFlow_create(preset)
        self.dis.setFinestScale(finest_scale)

    def between(self, previous: np.ndarray, current: np.ndarray, size: tuple[int, int]) -> Flows:
        """Flows between two :func:`flow_image` frames (same shape, any shape), scaled to a full
        frame of ``size = (W, H)``."""
        height, width = current.shape
        backward = self.dis.calc(_padded(current), _padded(previous), None)[:height, :width]
        forward = self.dis.calc(_padded(previous), _padded(current), None)[:height, :width]
        small = Flows(backward, forward)
        stable = consistent(small) & unchanged(small, previous, current)
        stable = cv2.resize(stable.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        return Flows(upscale_flow(backward, size), upscale_flow(forward, size), stable)


def upscale_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a flow field to ``size = (W, H)`` and scale its vectors with it."""
    height, width = flow.shape[:2]
    if (width, height) == tuple(size):
        return flow
    resized = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)
    resized[:, :, 0] *= size[0] / width
    resized[:, :, 1] *= size[1] / height
    return resized


def sample_map(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps: pixel ``(x, y)`` reads from ``(x, y) + flow``."""
    height, width = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return xs + flow[:, :, 0], ys + flow[:, :, 1]


def warp(image: np.ndarray, flow: np.ndarray, *, outside: float | None = None) -> np.ndarray:
    """Carry ``image`` (of the previous frame) along ``flow`` (a backward flow) to the current frame.

    Pixels that come from outside the frame read ``outside`` when given, else the nearest edge.
    """
    map_x, map_y = sample_map(flow)
    if outside is None:
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=outside)


def consistent(flows: Flows) -> np.ndarray:
    """``(H, W) bool`` over the current frame: where following the backward flow and then the
    forward flow comes back (within ~0.7 px plus 1% of the motion), i.e. not occluded."""
    map_x, map_y = sample_map(flows.backward)
    forward_there = cv2.remap(flows.forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    loop = flows.backward + forward_there
    error = cv2.magnitude(loop[:, :, 0], loop[:, :, 1]) ** 2
    motion = (cv2.magnitude(flows.backward[:, :, 0], flows.backward[:, :, 1]) ** 2
              + cv2.magnitude(forward_there[:, :, 0], forward_there[:, :, 1]) ** 2)
    height, width = error.shape
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return (error <= 0.01 * motion + 0.5) & inside


def unchanged(flows: Flows, previous: np.ndarray, current: np.ndarray,
              tolerance: int = CHANGE_TOLERANCE) -> np.ndarray:
    """``(H, W) bool``: where the grey ``previous`` frame moved along the flow matches ``current``."""
    return cv2.absdiff(warp(previous, flows.backward), current) <= tolerance
