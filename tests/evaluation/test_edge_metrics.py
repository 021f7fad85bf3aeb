"""Rim measures (virtart.evaluation.edge_metrics): what the near ring sees of the photo's contour."""

import numpy as np

from virtart.evaluation import edge_metrics


def test_the_photos_own_contour_step_lowers_the_rim_gradient_only_in_the_default_ring():
    rng = np.random.default_rng(0)
    texture = rng.normal(0, 6, (120, 160)).astype(np.float32)
    obj = np.zeros((120, 160), bool)
    obj[30:90, 40:120] = True
    photo = np.clip(100 + texture + 80 * obj, 0, 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)
    # A painting of the object that keeps its texture but not the step at its contour.
    painted = np.clip(140 + texture, 0, 255).astype(np.uint8)[:, :, None].repeat(3, axis=2)
    result = np.where(obj[:, :, None], painted, photo)
    default = edge_metrics.rim_gradient(photo, painted, obj, painted_inside=True)
    beyond = edge_metrics.rim_gradient(photo, painted, obj, True, edge_metrics.NEAR_RING_BEYOND_CONTOUR)
    assert default < 0.8 and 0.85 < beyond < 1.15
    assert abs(edge_metrics.rim_contrast(photo, result, obj, True, edge_metrics.NEAR_RING_BEYOND_CONTOUR)) < 2
