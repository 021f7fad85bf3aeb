"""Per-superpixel deep features of the checkpoint-free segmenter (virtart/segmentation/deep_features.py)."""

from __future__ import annotations

import numpy as np
import pytest

from virtart.segmentation.deep_features import SuperpixelFeatures, feature_log_ratio, superpixel_means


def test_superpixel_means_are_whitened_pca_scores():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.repeat(np.arange(48).reshape(6, 8), 10, axis=0), 10, axis=1).astype(np.int32)  # 60 x 80
    cells = rng.normal(size=(15, 20, 32)).astype(np.float32)  # each superpixel covers whole cells
    scores = superpixel_means(labels, 48, cells, dims=4)
    assert scores.shape == (48, 4) and scores.dtype == np.float32
    assert np.allclose(scores.mean(axis=0), 0, atol=1e-4)
    assert np.allclose(scores.var(axis=0), 1, atol=1e-3)  # equal areas: plain unit variance


def test_log_ratio_favours_the_side_a_node_resembles():
    rng = np.random.default_rng(1)
    features = np.concatenate([rng.normal(-2, 0.3, (30, 3)), rng.normal(2, 0.3, (50, 3))]).astype(np.float32)
    area = np.ones(80, np.float32)
    obj = np.arange(80) < 30
    ratio = feature_log_ratio(features, area, obj)
    assert (ratio[:30] > 0).all() and (ratio[30:] < 0).all()
    assert not feature_log_ratio(features, area, np.zeros(80, bool)).any()  # one side empty: no opinion


def test_vgg_features_per_superpixel_separate_two_textures():
    """Stripes vs flat of the same mean colour: the deep scores tell them apart."""
    features = SuperpixelFeatures(size=128, dims=4)
    rgb = np.full((96, 128, 3), 128, np.uint8)
    rgb[:, 64:][::2] = 40
    rgb[:, 64:][1::2] = 216
    labels = (np.arange(128)[None, :] // 16 + 8 * (np.arange(96)[:, None] // 24)).astype(np.int32)  # 4 x 8 blocks
    scores = features(rgb, labels, 32)
    if scores is None:
        pytest.skip("the offline VGG-16 is not installed")
    column = np.arange(32) % 8
    first = scores[:, 0]  # the strongest component: flat vs striped
    flat, striped = first[column < 3], first[(column == 5) | (column == 6)]  # away from the seam and the border
    assert abs(flat.mean() - striped.mean()) > 5 * max(flat.std(), striped.std(), 0.05)
