"""The simulated-user click protocol: click placement, ignored pixels, NoC and mIoU arithmetic."""

from __future__ import annotations

import json

import numpy as np
import pytest

from virtart.errors import VirtArtError
from virtart.evaluation.click_protocol import (
    ImageResult,
    find_pairs,
    masked_iou,
    next_click,
    run_image,
    split_ground_truth,
    summarize,
)
from virtart.segmentation.base import ImageState, Prediction


def square_gt(size=(40, 60), box=(10, 30, 20, 40)) -> np.ndarray:
    gt = np.zeros(size, np.uint8)
    y0, y1, x0, x1 = box
    gt[y0:y1, x0:x1] = 255
    return gt


def test_first_click_is_the_deepest_interior_point():
    obj, ignored = split_ground_truth(square_gt())
    x, y, label = next_click(np.zeros_like(obj), obj, ignored)
    assert label == 1
    assert (x, y) in {(29, 19), (30, 19), (29, 20), (30, 20)}  # the square's centre


def test_border_counts_as_boundary():
    gt = np.zeros((20, 20), np.uint8)
    gt[:, :10] = 255  # object touching the left edge: its centre is at x ~ 4.5, not x = 0
    obj, ignored = split_ground_truth(gt)
    x, _, _ = next_click(np.zeros_like(obj), obj, ignored)
    assert 3 <= x <= 6


def test_false_positive_gets_an_exclude_click():
    obj, ignored = split_ground_truth(square_gt())
    pred = obj.copy()
    pred[0:12, 0:12] = True  # a large false-positive blob, no missed pixels
    x, y, label = next_click(pred, obj, ignored)
    assert label == 0 and x < 12 and y < 12


def test_ignored_pixels_neither_count_nor_attract_clicks():
    gt = square_gt()
    gt[0:10, 0:10] = 128
    obj, ignored = split_ground_truth(gt)
    pred = obj | ignored  # wrong only where ignored
    assert masked_iou(pred, obj, ignored) == 1.0
    assert next_click(pred, obj, ignored) is None


def test_noc_and_miou_arithmetic():
    a = ImageResult("a", ious=[0.5, 0.86, 0.91, 0.95, 0.96])
    b = ImageResult("b", ious=[0.2, 0.3, 0.4, 0.5, 0.6])
    assert a.noc(0.85, 5) == 2 and a.noc(0.90, 5) == 3
    assert b.noc(0.90, 5) == 5  # never reached: capped at max clicks
    summary = summarize([a, b], max_clicks=5)
    assert summary["noc90"] == pytest.approx(4.0)
    assert summary["miou_1click"] == pytest.approx(0.35)
    assert summary["miou_5click"] == pytest.approx(0.78)
    assert summary["nof90"] == 1
    json.dumps(summary)  # serialisable as it is


class GroundTruthPainter:
    """A test double that paints a disc of fixed radius at each include click (no model involved)."""

    name = "painter"

    def set_image(self, image):
        return ImageState("k", (image.shape[1], image.shape[0]))

    def predict(self, state, points, box=None, previous=None, strokes=(), prior=None):
        w, h = state.size
        yy, xx = np.mgrid[0:h, 0:w]
        mask = np.zeros((h, w), bool)
        for x, y, label in points:
            disc = (xx - x) ** 2 + (yy - y) ** 2 <= 36
            mask = mask | disc if label == 1 else mask & ~disc
        return Prediction(mask.astype(np.float32))


def test_run_image_records_one_iou_per_click():
    gt = square_gt()
    image = np.zeros((*gt.shape, 3), np.uint8)
    result = run_image(GroundTruthPainter(), image, gt, max_clicks=6, name="sq")
    assert len(result.ious) == 6 and len(result.click_seconds) == 6
    assert result.ious[-1] > result.ious[0] > 0
    with pytest.raises(VirtArtError):
        run_image(GroundTruthPainter(), image, np.zeros_like(gt), max_clicks=2)


def test_find_pairs_matches_stems(tmp_path):
    (tmp_path / "im").mkdir()
    (tmp_path / "gt").mkdir()
    for name in ("a.jpg", "b.png", "notes.txt"):
        (tmp_path / "im" / name).write_bytes(b"")
    (tmp_path / "gt" / "a.bmp").write_bytes(b"")
    pairs = find_pairs(tmp_path / "im", tmp_path / "gt")
    assert [p[0] for p in pairs] == ["a"]
    with pytest.raises(VirtArtError, match="does not exist"):
        find_pairs(tmp_path / "missing", tmp_path / "gt")


def test_robustness_figures_count_harmful_clicks_and_the_worst_drop():
    a = ImageResult("a", ious=[0.5, 0.9, 0.8, 0.95], click_seconds=[0.1, 0.1, 0.1, 0.1])
    b = ImageResult("b", ious=[0.6, 0.62, 0.6, 0.6], click_seconds=[0.1, 0.1, 0.1, 0.0])  # last: padding
    summary = summarize([a, b], max_clicks=4, curves=False)
    assert summary["miou_per_click"] == pytest.approx([0.55, 0.76, 0.70, 0.775])
    assert summary["harmful_rate"] == pytest.approx(1 / 5)  # a's 0.9 -> 0.8 of five made interactions
    assert summary["worst_drop"] == pytest.approx(0.1)
    assert summary["mean_curve_worst_fall"] == pytest.approx(0.06)
    assert summary["nof90"] == 1
