"""Edge measures: how well an alpha follows the true edge, and what painting does at a rim.

* :func:`boundary_f`: the DAVIS contour measure (Perazzi et al. 2016): precision and recall
  of the alpha's 0.5 contour against the true one, each within a tolerance of 0.8 % of the
  image diagonal, and their F.
* :func:`band_mae`: mean ``|alpha - truth|`` over pixels within 10 px of the true edge.
* :func:`rim_contrast` / :func:`rim_gradient`: on the painted side of a region's edge, how
  much brighter (in grey levels 0-255) or how much more textured (gradient magnitude) the
  ring 1-5 px from the edge is than the ring 8-16 px from it, relative to the same in the
  photo: 0 and x1 when the painting draws no contour along the edge.

Masks: ``(H, W)`` bool or float (thresholded at 0.5); ``ignore``: ``(H, W)`` bool pixels left
out of every measure (GrabCut's unknown band).
"""

from __future__ import annotations

import cv2
import numpy as np

BOUNDARY_TOLERANCE = 0.008  # of the image diagonal (DAVIS)
BAND_PX = 10
NEAR_RING = (1, 5)  # px from the edge, on the painted side
# The near ring past the reach of a 3x3 gradient of the photo's own contour (whose step the
# photo shows at 1-2 px and a painting that hides the contour does not).
NEAR_RING_BEYOND_CONTOUR = (3, 7)
FAR_RING = (8, 16)


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """``(H, W) bool``: pixels of the mask whose right, lower or lower-right neighbour differs
    (DAVIS ``seg2bmap`` at the mask's own size)."""
    hard = np.asarray(mask) >= 0.5
    edge = np.zeros_like(hard)
    edge[:, :-1] |= hard[:, :-1] != hard[:, 1:]
    edge[:-1, :] |= hard[:-1, :] != hard[1:, :]
    edge[:-1, :-1] |= hard[:-1, :-1] != hard[1:, 1:]
    return edge


def _disk(radius: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def boundary_f(alpha: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None) -> dict[str, float]:
    """``{"f", "precision", "recall"}`` of ``alpha``'s 0.5 contour against ``truth``'s."""
    pred_edge, true_edge = boundary_map(alpha), boundary_map(truth)
    if ignore is not None:
        pred_edge &= ~ignore
        true_edge &= ~ignore
    radius = int(np.ceil(BOUNDARY_TOLERANCE * np.hypot(*truth.shape[:2])))
    near_true = cv2.dilate(true_edge.astype(np.uint8), _disk(radius)) > 0
    near_pred = cv2.dilate(pred_edge.astype(np.uint8), _disk(radius)) > 0
    if not pred_edge.any() and not true_edge.any():
        return {"f": 1.0, "precision": 1.0, "recall": 1.0}
    precision = float(np.count_nonzero(pred_edge & near_true) / max(1, np.count_nonzero(pred_edge)))
    recall = float(np.count_nonzero(true_edge & near_pred) / max(1, np.count_nonzero(true_edge)))
    f = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"f": f, "precision": precision, "recall": recall}


def edge_distance(mask: np.ndarray) -> np.ndarray:
    """``(H, W) float32``: unsigned distance of each pixel centre to the mask's boundary."""
    hard = (np.asarray(mask) >= 0.5).astype(np.uint8)
    inside = cv2.distanceTransform(hard, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - hard, cv2.DIST_L2, 5)
    return np.where(hard > 0, inside, outside).astype(np.float32)


def band_mae(alpha: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None,
             band_px: float = BAND_PX) -> float:
    """Mean ``|alpha - truth|`` over the pixels within ``band_px`` of the true edge."""
    band = edge_distance(truth) <= band_px
    if ignore is not None:
        band &= ~ignore
    true = (np.asarray(truth) >= 0.5).astype(np.float32)
    return float(np.mean(np.abs(np.asarray(alpha, np.float32)[band] - true[band]))) if band.any() else 0.0


def _rings(truth: np.ndarray, painted_inside: bool,
           near_ring: tuple[float, float] = NEAR_RING) -> tuple[np.ndarray, np.ndarray]:
    """The near and far rings on the painted side of ``truth``'s edge."""
    hard = (np.asarray(truth) >= 0.5).astype(np.uint8)
    side = hard if painted_inside else 1 - hard
    depth = cv2.distanceTransform(side, cv2.DIST_L2, 5)
    near = (depth >= near_ring[0]) & (depth <= near_ring[1])
    far = (depth >= FAR_RING[0]) & (depth <= FAR_RING[1])
    return near, far


def _grey(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _gradient(rgb: np.ndarray) -> np.ndarray:
    grey = _grey(rgb)
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))


def rim_contrast(photo: np.ndarray, result: np.ndarray, truth: np.ndarray, painted_inside: bool,
                 near_ring: tuple[float, float] = NEAR_RING) -> float:
    """Grey levels by which the painted side's near ring (``near_ring`` px from the edge)
    outshines its far ring, minus the same in the photo (``photo``, ``result``:
    ``(H, W, 3) uint8``; ``truth``: the object)."""
    near, far = _rings(truth, painted_inside, near_ring)
    if not near.any() or not far.any():
        return 0.0
    painted, original = _grey(result), _grey(photo)
    return float((painted[near].mean() - painted[far].mean()) - (original[near].mean() - original[far].mean()))


def rim_gradient(photo: np.ndarray, result: np.ndarray, truth: np.ndarray, painted_inside: bool,
                 near_ring: tuple[float, float] = NEAR_RING) -> float:
    """Near-over-far ring ratio of gradient magnitude in the result, over the same in the photo."""
    near, far = _rings(truth, painted_inside, near_ring)
    if not near.any() or not far.any():
        return 1.0
    painted, original = _gradient(result), _gradient(photo)
    eps = 1e-3
    result_ratio = (painted[near].mean() + eps) / (painted[far].mean() + eps)
    photo_ratio = (original[near].mean() + eps) / (original[far].mean() + eps)
    return float(result_ratio / photo_ratio)
