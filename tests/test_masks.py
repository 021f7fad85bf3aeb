import numpy as np
import pytest

from virtart import masks
from virtart.geometry import Box


@pytest.fixture()
def square() -> np.ndarray:
    mask = np.zeros((40, 50), np.float32)
    mask[10:30, 15:35] = 1
    return mask


def test_set_operations(square):
    other = np.zeros_like(square)
    other[20:40, 25:50] = 1
    assert masks.union(square, other).sum() == 400 + 500 - 100
    assert masks.intersect(square, other).sum() == 100
    assert masks.subtract(square, other).sum() == 300
    assert masks.invert(square).sum() == square.size - 400


def test_morphology(square):
    assert masks.dilate(square, 2).sum() > square.sum()
    assert masks.erode(square, 2).sum() < square.sum()
    holed = square.copy()
    holed[18:22, 23:27] = 0
    assert masks.fill_holes(holed).sum() == square.sum()
    speckled = square.copy()
    speckled[2, 2] = 1
    assert masks.remove_small_islands(speckled, 10).sum() == square.sum()


def test_feather_is_exact_outside_band(square):
    soft = masks.feather(square, 4)
    outside = masks.dilate(square, 5) == 0
    assert np.all(soft[outside] == 0)
    assert np.all(soft[masks.erode(square, 5) == 1] == 1)
    assert 0 < soft[10, 25] < 1


def test_resize_and_iou(square):
    big = masks.resize_mask(square, (100, 80))
    assert big.shape == (80, 100)
    assert masks.iou(masks.resize_mask(big, (50, 40)), square) > 0.95
    ignore = np.zeros_like(square, dtype=bool)
    assert masks.iou(square, square, ignore) == 1.0
    assert masks.iou(np.zeros_like(square), np.zeros_like(square)) == 1.0
    assert Box.around(square) == (15, 10, 35, 30)
    assert Box.around(np.zeros_like(square)) is None


def test_overlay_marks_region(square):
    rgb = np.zeros((40, 50, 3), np.uint8)
    drawn = masks.overlay(rgb, square)
    assert drawn[20, 25].any() and not drawn[0, 0].any()


def test_box_geometry():
    from virtart.geometry import Box, fit_long_side, shrink_to

    box = Box(10, 20, 30, 60)
    assert box.size == (20, 40) and box.long_side == 40
    assert box.grown(15, (70, 35)) == Box(0, 5, 35, 70)
    assert box.union(Box(0, 50, 12, 80)) == Box(0, 20, 30, 80)
    assert box.scaled(0.5) == Box(5, 10, 15, 30) and Box(1, 1, 3, 3).scaled(0.5) == Box(0, 0, 2, 2)
    assert box.of(np.zeros((100, 100))).shape == (40, 20)
    assert Box.around(np.zeros((5, 5))) is None and Box.whole((5, 7, 3)) == Box(0, 0, 7, 5)
    assert fit_long_side((4000, 2630), 2048) == (2048, 1347) and fit_long_side((30, 10), 60) == (60, 20)
    assert shrink_to((300, 200), 512) == (300, 200) and shrink_to((1000, 1), 100) == (100, 1)
