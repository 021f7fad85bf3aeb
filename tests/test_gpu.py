"""The GPU paths: the Gatys engine, the SAM wrapper and the fast engine on CUDA (marked ``gpu``;
skipped without a CUDA GPU; ``bench/gpu_check.sh`` runs them). Random-weight networks: no
checkpoint travels to the GPU machine. ``VIRTART_GPU_TEST_DEVICE=cpu`` runs them on a CPU,
to check the tests themselves."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

DEVICE = os.environ.get("VIRTART_GPU_TEST_DEVICE", "cuda")
pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(DEVICE == "cuda" and not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return cv2.resize(data.astronaut(), (192, 192), interpolation=cv2.INTER_AREA)


def test_the_gatys_engine_lowers_the_style_loss_and_leaves_the_outside_alone(photo):
    from skimage import data

    from tests.support.tiny_models import random_vgg19
    from virtart.engines.base import Region
    from virtart.engines.gatys import GatysEngine
    from virtart.engines.registry import GatysOptions
    from virtart.pipeline import stylize

    engine = GatysEngine(random_vgg19(DEVICE, 1 if DEVICE == "cuda" else 8), DEVICE)
    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :96] = 1
    options = GatysOptions(steps=30 if DEVICE == "cuda" else 6, max_size=192, preview_every=5)
    previews = list(stylize(photo, [Region(mask, data.coffee(), feather=2)], engine=engine, options=options))
    first, last = previews[0].losses[0]["style"], previews[-1].losses[0]["style"]
    assert previews[-1].final and last < first
    result = previews[-1].image
    assert result.shape == photo.shape and np.array_equal(result[:, 110:], photo[:, 110:])


def test_the_sam_wrapper_gives_the_same_masks_as_on_the_cpu():
    from tests.support.tiny_models import tiny_sam
    from virtart.segmentation.sam import SamSegmenter

    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    image[60:180, 80:240] = (220, 40, 40)
    answers = []
    for device in (DEVICE, "cpu"):
        segmenter = SamSegmenter(tiny_sam(), name="sam-vit-b", device=device)
        state = segmenter.set_image(image)
        answers.append(segmenter.predict(state, [(160.0, 120.0, 1)]).mask)
    assert answers[0].shape == (240, 320)
    # TF32 convolutions on the GPU move logits slightly: a few boundary pixels may flip
    assert np.mean((answers[0] >= 0.5) != (answers[1] >= 0.5)) <= 0.03


def test_the_fast_engine_matches_the_cpu(photo):
    from skimage import data

    from virtart.engines.base import Region, StyleOptions
    from virtart.engines.fast import FastEngine
    from virtart.pipeline import stylize

    mask = np.zeros(photo.shape[:2], np.float32)
    mask[:, :96] = 1
    results = [list(stylize(photo, [Region(mask, data.coffee())], engine=FastEngine.from_registry(device=device),
                            options=StyleOptions(device=device)))[-1].image
               for device in (DEVICE, "cpu")]
    assert results[0].shape == photo.shape
    assert np.abs(results[0].astype(int) - results[1].astype(int)).mean() <= 2.0
